/**
 * Flattened devicetree (DTB, version 17) writer and a small parser.
 *
 * Layout written: 40-byte header, memory reservation block (8-byte aligned,
 * terminated by a zero entry), structure block, strings block (property names
 * de-duplicated), total size padded to a multiple of 8. All big-endian, as the
 * Devicetree Specification requires.
 */

const FDT_MAGIC = 0xd00dfeed;
const FDT_BEGIN_NODE = 1;
const FDT_END_NODE = 2;
const FDT_PROP = 3;
const FDT_NOP = 4;
const FDT_END = 9;
const HEADER_SIZE = 40;

/** One property: a name and its raw (already encoded) value. */
export interface FdtProp {
  name: string;
  value: Uint8Array;
}

/** One node of the tree. The root node's name is the empty string. */
export interface FdtNode {
  name: string;
  props: FdtProp[];
  children: FdtNode[];
}

/**
 * Convenience values accepted by {@link node}:
 * - `true`: empty property (e.g. `interrupt-controller;`)
 * - `number` / `number[]`: 32-bit cells
 * - `bigint` / `bigint[]`: 64-bit values (two cells each)
 * - `string`: NUL-terminated string
 * - `string[]`: string list
 * - `Uint8Array`: raw bytes (use {@link cells}, {@link u64s}, … to build mixes)
 */
export type FdtValue =
  true | number | number[] | bigint | bigint[] | string | string[] | Uint8Array;

/** A memory reservation entry. */
export interface FdtReservation {
  address: bigint;
  size: bigint;
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

function encodeString(s: string): Uint8Array {
  if (s.includes('\0')) throw new Error('fdt: string contains NUL');
  const b = textEncoder.encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/** 32-bit big-endian cells. */
export function cells(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => {
    if (!Number.isInteger(v) || v < -0x8000_0000 || v > 0xffff_ffff) {
      throw new RangeError(`fdt: cell value ${v} out of range`);
    }
    dv.setUint32(i * 4, v >>> 0);
  });
  return out;
}

/** 64-bit big-endian values (each two cells, high first). */
export function u64s(...values: Array<bigint | number>): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => {
    const b = BigInt(v);
    if (b < 0n || b > 0xffff_ffff_ffff_ffffn) throw new RangeError(`fdt: u64 ${b} out of range`);
    dv.setBigUint64(i * 8, b);
  });
  return out;
}

/** A NUL-terminated string value. */
export function str(s: string): Uint8Array {
  return encodeString(s);
}

/** A string list value (each NUL-terminated, concatenated). */
export function strings(...list: string[]): Uint8Array {
  return concat(list.map(encodeString));
}

/** Concatenate byte arrays (e.g. a phandle cell followed by specifier cells; snapshot sections). */
export function concat(parts: Uint8Array[]): Uint8Array {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(len);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Encode a convenience value into raw property bytes. */
export function encodeValue(v: FdtValue): Uint8Array {
  if (v === true) return new Uint8Array(0);
  if (v instanceof Uint8Array) return v.slice();
  if (typeof v === 'number') return cells(v);
  if (typeof v === 'bigint') return u64s(v);
  if (typeof v === 'string') return encodeString(v);
  if (v.length === 0) return new Uint8Array(0);
  if (typeof v[0] === 'number') return cells(...(v as number[]));
  if (typeof v[0] === 'bigint') return u64s(...(v as bigint[]));
  return strings(...(v as string[]));
}

function checkName(name: string, what: string): void {
  if (name.includes('\0') || name.includes('/')) {
    throw new Error(`fdt: invalid ${what} name ${JSON.stringify(name)}`);
  }
}

/**
 * Build a node. `props` may be an object (insertion order kept) or a list of
 * `[name, value]` pairs; values are encoded with {@link encodeValue}.
 */
export function node(
  name: string,
  props: Record<string, FdtValue> | Array<[string, FdtValue]> = {},
  children: FdtNode[] = [],
): FdtNode {
  checkName(name, 'node');
  const entries = Array.isArray(props) ? props : Object.entries(props);
  const seen = new Set<string>();
  const out: FdtProp[] = [];
  for (const [pname, v] of entries) {
    checkName(pname, 'property');
    if (pname === '') throw new Error('fdt: empty property name');
    if (seen.has(pname)) throw new Error(`fdt: duplicate property ${pname} in ${name}`);
    seen.add(pname);
    out.push({ name: pname, value: encodeValue(v) });
  }
  const names = new Set<string>();
  for (const c of children) {
    if (c.name === '') throw new Error(`fdt: child of ${name} has an empty name`);
    if (names.has(c.name)) throw new Error(`fdt: duplicate node ${c.name} in ${name}`);
    names.add(c.name);
  }
  return { name, props: out, children: [...children] };
}

export interface SerializeOptions {
  /** Physical id of the boot CPU (header field). Default 0. */
  bootCpuId?: number;
  /** Memory reservation entries. Default none. */
  memReserve?: FdtReservation[];
}

/** Serialize a tree (whose root is named "") to DTB v17 bytes. */
export function serializeFdt(root: FdtNode, opts: SerializeOptions = {}): Uint8Array {
  if (root.name !== '') throw new Error('fdt: root node must have an empty name');
  // Strings block, de-duplicated.
  const strOffsets = new Map<string, number>();
  const strParts: Uint8Array[] = [];
  let strSize = 0;
  const nameOff = (n: string): number => {
    let off = strOffsets.get(n);
    if (off === undefined) {
      off = strSize;
      const b = encodeString(n);
      strParts.push(b);
      strSize += b.length;
      strOffsets.set(n, off);
    }
    return off;
  };

  // Structure block: compute as a list of words/bytes in a growable buffer.
  let buf = new Uint8Array(4096);
  let len = 0;
  const ensure = (n: number): void => {
    if (len + n <= buf.length) return;
    let cap = buf.length * 2;
    while (cap < len + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(buf.subarray(0, len));
    buf = nb;
  };
  const u32 = (v: number): void => {
    ensure(4);
    buf[len] = v >>> 24;
    buf[len + 1] = (v >>> 16) & 0xff;
    buf[len + 2] = (v >>> 8) & 0xff;
    buf[len + 3] = v & 0xff;
    len += 4;
  };
  const bytesPadded = (b: Uint8Array): void => {
    const padded = (b.length + 3) & ~3;
    ensure(padded);
    buf.set(b, len);
    buf.fill(0, len + b.length, len + padded);
    len += padded;
  };
  const emit = (n: FdtNode): void => {
    u32(FDT_BEGIN_NODE);
    bytesPadded(encodeString(n.name));
    for (const p of n.props) {
      u32(FDT_PROP);
      u32(p.value.length);
      u32(nameOff(p.name));
      bytesPadded(p.value);
    }
    for (const c of n.children) emit(c);
    u32(FDT_END_NODE);
  };
  emit(root);
  u32(FDT_END);
  const structSize = len;

  const rsv = opts.memReserve ?? [];
  const offRsv = HEADER_SIZE; // already 8-byte aligned
  const rsvSize = (rsv.length + 1) * 16;
  const offStruct = offRsv + rsvSize;
  const offStrings = offStruct + structSize;
  const total = (offStrings + strSize + 7) & ~7;

  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, FDT_MAGIC);
  dv.setUint32(4, total);
  dv.setUint32(8, offStruct);
  dv.setUint32(12, offStrings);
  dv.setUint32(16, offRsv);
  dv.setUint32(20, 17);
  dv.setUint32(24, 16);
  dv.setUint32(28, (opts.bootCpuId ?? 0) >>> 0);
  dv.setUint32(32, strSize);
  dv.setUint32(36, structSize);
  rsv.forEach((r, i) => {
    dv.setBigUint64(offRsv + i * 16, BigInt.asUintN(64, r.address));
    dv.setBigUint64(offRsv + i * 16 + 8, BigInt.asUintN(64, r.size));
  });
  out.set(buf.subarray(0, structSize), offStruct);
  let o = offStrings;
  for (const p of strParts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Result of {@link parseFdt}. */
export interface ParsedFdt {
  root: FdtNode;
  memReserve: FdtReservation[];
  bootCpuId: number;
  version: number;
  lastCompVersion: number;
}

/** Parse DTB bytes (version 16 or 17). Throws `Error` on malformed input. */
export function parseFdt(bytes: Uint8Array): ParsedFdt {
  const fail = (msg: string): never => {
    throw new Error(`fdt: ${msg}`);
  };
  if (bytes.length < HEADER_SIZE) fail('too short');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0) !== FDT_MAGIC) fail('bad magic');
  const total = dv.getUint32(4);
  const offStruct = dv.getUint32(8);
  const offStrings = dv.getUint32(12);
  const offRsv = dv.getUint32(16);
  const version = dv.getUint32(20);
  const lastCompVersion = dv.getUint32(24);
  const bootCpuId = dv.getUint32(28);
  const strSize = dv.getUint32(32);
  const structSize = dv.getUint32(36);
  if (total > bytes.length) fail('totalsize exceeds buffer');
  if (version < 16 || lastCompVersion > 17) fail(`unsupported version ${version}`);
  if (offStrings + strSize > total) fail('strings block out of bounds');
  if (offStruct + structSize > total) fail('struct block out of bounds');

  const memReserve: FdtReservation[] = [];
  for (let o = offRsv; ; o += 16) {
    if (o + 16 > total) fail('reservation block out of bounds');
    const address = dv.getBigUint64(o);
    const size = dv.getBigUint64(o + 8);
    if (address === 0n && size === 0n) break;
    memReserve.push({ address, size });
  }

  const cstr = (start: number, limit: number): { s: string; end: number } => {
    let e = start;
    while (e < limit && bytes[e] !== 0) e++;
    if (e >= limit) fail('unterminated string');
    return { s: textDecoder.decode(bytes.subarray(start, e)), end: e + 1 };
  };
  const structEnd = offStruct + structSize;
  let p = offStruct;
  const word = (): number => {
    if (p + 4 > structEnd) fail('struct block truncated');
    const v = dv.getUint32(p);
    p += 4;
    return v;
  };
  const stack: FdtNode[] = [];
  let root: FdtNode | undefined;
  for (;;) {
    const tok = word();
    if (tok === FDT_BEGIN_NODE) {
      const { s, end } = cstr(p, structEnd);
      p = (end + 3) & ~3;
      const n: FdtNode = { name: s, props: [], children: [] };
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(n);
      else if (root) fail('multiple root nodes');
      else root = n;
      stack.push(n);
    } else if (tok === FDT_END_NODE) {
      if (stack.length === 0) fail('unbalanced END_NODE');
      stack.pop();
    } else if (tok === FDT_PROP) {
      const plen = word();
      const noff = word();
      const cur = stack[stack.length - 1];
      if (!cur) fail('property outside a node');
      if (p + plen > structEnd) fail('property value out of bounds');
      if (noff >= strSize) fail('property name offset out of bounds');
      const name = cstr(offStrings + noff, offStrings + strSize).s;
      cur!.props.push({ name, value: new Uint8Array(bytes.subarray(p, p + plen)) });
      p = (p + plen + 3) & ~3;
    } else if (tok === FDT_NOP) {
      continue;
    } else if (tok === FDT_END) {
      break;
    } else {
      fail(`bad token 0x${tok.toString(16)}`);
    }
  }
  if (!root) fail('no root node');
  if (stack.length !== 0) fail('unterminated node');
  return { root: root!, memReserve, bootCpuId, version, lastCompVersion };
}

/** Find a node by absolute path ("/", "/soc/serial@10000000"). */
export function findNode(root: FdtNode, path: string): FdtNode | undefined {
  let cur: FdtNode | undefined = root;
  for (const part of path.split('/').filter((x) => x !== '')) {
    cur = cur.children.find((c: FdtNode) => c.name === part);
    if (!cur) return undefined;
  }
  return cur;
}

/** A property's raw value, if present. */
export function getProp(n: FdtNode, name: string): Uint8Array | undefined {
  return n.props.find((p) => p.name === name)?.value;
}

/** Decode a value as a list of NUL-terminated strings. */
export function propStrings(v: Uint8Array): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < v.length; i++) {
    if (v[i] === 0) {
      out.push(textDecoder.decode(v.subarray(start, i)));
      start = i + 1;
    }
  }
  if (start < v.length) out.push(textDecoder.decode(v.subarray(start)));
  return out;
}

/** Decode a value as a single string (the first of a list). */
export function propString(v: Uint8Array): string {
  return propStrings(v)[0] ?? '';
}

/** Decode a value as 32-bit big-endian cells (a trailing partial cell is ignored). */
export function propCells(v: Uint8Array): number[] {
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  const out: number[] = [];
  for (let i = 0; i + 4 <= v.length; i += 4) out.push(dv.getUint32(i));
  return out;
}

/** Decode a value as 64-bit big-endian values. */
export function propU64s(v: Uint8Array): bigint[] {
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  const out: bigint[] = [];
  for (let i = 0; i + 8 <= v.length; i += 8) out.push(dv.getBigUint64(i));
  return out;
}

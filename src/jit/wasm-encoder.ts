/**
 * Just enough of the WebAssembly binary format (core spec §5) to write the
 * JIT's modules: a growable byte buffer with LEB128, and the opcodes used.
 */

export const I32 = 0x7f;
export const I64 = 0x7e;
export const F64 = 0x7c;
export const VOID = 0x40;

/** Opcodes (core spec §5.4). */
export const Op = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  brTable: 0x0e,
  call: 0x10,
  drop: 0x1a,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  globalGet: 0x23,
  globalSet: 0x24,
  i64Load: 0x29,
  i64Load8S: 0x30,
  i64Load8U: 0x31,
  i64Load16S: 0x32,
  i64Load16U: 0x33,
  i64Load32S: 0x34,
  i64Load32U: 0x35,
  i32Load: 0x28,
  f64Load: 0x2b,
  i32Store: 0x36,
  i64Store: 0x37,
  f64Store: 0x39,
  i64Store8: 0x3c,
  i64Store16: 0x3d,
  i64Store32: 0x3e,
  i32Const: 0x41,
  i64Const: 0x42,
  f64Const: 0x44,
  select: 0x1b,
  i32Eqz: 0x45,
  i32Eq: 0x46,
  i32GeS: 0x4e,
  i32LeU: 0x4d,
  i64Eqz: 0x50,
  i64Eq: 0x51,
  i64Ne: 0x52,
  i64LtS: 0x53,
  i64LtU: 0x54,
  i64GeS: 0x59,
  i64GeU: 0x5a,
  f64Eq: 0x61,
  f64Ne: 0x62,
  f64Lt: 0x63,
  f64Gt: 0x64,
  f64Le: 0x65,
  f64Ge: 0x66,
  i32Clz: 0x67,
  i32Ctz: 0x68,
  i32Popcnt: 0x69,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32And: 0x71,
  i32Or: 0x72,
  i32Shl: 0x74,
  i32ShrS: 0x75,
  i32ShrU: 0x76,
  i32Rotl: 0x77,
  i32Rotr: 0x78,
  i64Clz: 0x79,
  i64Ctz: 0x7a,
  i64Popcnt: 0x7b,
  i64Add: 0x7c,
  i64Sub: 0x7d,
  i64Mul: 0x7e,
  i64And: 0x83,
  i64Or: 0x84,
  i64Xor: 0x85,
  i64Shl: 0x86,
  i64ShrS: 0x87,
  i64ShrU: 0x88,
  i64Rotl: 0x89,
  i64Rotr: 0x8a,
  f64Abs: 0x99,
  f64Neg: 0x9a,
  f64Sqrt: 0x9f,
  f64Add: 0xa0,
  f64Sub: 0xa1,
  f64Mul: 0xa2,
  f64Div: 0xa3,
  i32WrapI64: 0xa7,
  i64ExtendI32S: 0xac,
  i64ExtendI32U: 0xad,
  i64ReinterpretF64: 0xbd,
  f64ReinterpretI64: 0xbf,
  i32Extend16S: 0xc1,
  i64Extend8S: 0xc2,
  i64Extend16S: 0xc3,
  i64Extend32S: 0xc4,
} as const;

export class Bytes {
  private buf = new Uint8Array(256);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  u8(b: number): this {
    this.room(1);
    this.buf[this.length++] = b;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }

  /** Unsigned LEB128 of a non-negative integer below 2^32. */
  uleb(v: number): this {
    let n = v >>> 0;
    do {
      const b = n & 0x7f;
      n >>>= 7;
      this.u8(n !== 0 ? b | 0x80 : b);
    } while (n !== 0);
    return this;
  }

  /** Signed LEB128 of an integer (any size; exact for safe integers and bigints). */
  sleb(v: number | bigint): this {
    if (typeof v === 'number' && v >= -0x8000_0000 && v <= 0x7fff_ffff) {
      let n = v | 0;
      for (;;) {
        const b = n & 0x7f;
        n >>= 7;
        if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return this.u8(b);
        this.u8(b | 0x80);
      }
    }
    let n = BigInt(v);
    for (;;) {
      const b = Number(n & 0x7fn);
      n >>= 7n;
      if ((n === 0n && (b & 0x40) === 0) || (n === -1n && (b & 0x40) !== 0)) return this.u8(b);
      this.u8(b | 0x80);
    }
  }

  name(s: string): this {
    const b = new TextEncoder().encode(s);
    return this.uleb(b.length).bytes(b);
  }

  /** A size-prefixed vector or section payload. */
  sized(inner: Bytes): this {
    return this.uleb(inner.length).bytes(inner.view());
  }

  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

export interface FuncType {
  params: number[];
  results: number[];
}

export type Import =
  | { module: string; name: string; kind: 'func'; type: number }
  | { module: string; name: string; kind: 'memory' }
  | { module: string; name: string; kind: 'global'; valType: number; mutable: boolean };

export interface FuncBody {
  type: number;
  /** Runs of locals beyond the parameters: [count, type]. */
  locals: Array<[number, number]>;
  /** Instructions, without the final `end`. */
  code: Bytes;
}

/**
 * Assemble a module from types, imports and functions (core spec §5.5). The
 * functions are exported by their index ("0", "1", …) for the host to place
 * in the core's table. The module never imports the table: an engine keeps
 * every instance that imported a table alive for as long as the table
 * lives (V8 registers importers with the table to patch their dispatch
 * tables), so evicted code would never be freed.
 */
export function encodeModule(
  types: FuncType[],
  imports: Import[],
  funcs: FuncBody[],
): Uint8Array<ArrayBuffer> {
  const out = new Bytes();
  out.bytes(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
  const section = (id: number, body: Bytes): void => {
    out.u8(id).sized(body);
  };

  const t = new Bytes().uleb(types.length);
  for (const ft of types) {
    t.u8(0x60).uleb(ft.params.length);
    for (const p of ft.params) t.u8(p);
    t.uleb(ft.results.length);
    for (const r of ft.results) t.u8(r);
  }
  section(1, t);

  const im = new Bytes().uleb(imports.length);
  for (const i of imports) {
    im.name(i.module).name(i.name);
    if (i.kind === 'func') im.u8(0x00).uleb(i.type);
    else if (i.kind === 'memory') im.u8(0x02).u8(0x00).uleb(0);
    else
      im.u8(0x03)
        .u8(i.valType)
        .u8(i.mutable ? 1 : 0);
  }
  section(2, im);

  const fs = new Bytes().uleb(funcs.length);
  for (const f of funcs) fs.uleb(f.type);
  section(3, fs);

  const importedFuncs = imports.filter((i) => i.kind === 'func').length;
  const ex = new Bytes().uleb(funcs.length);
  funcs.forEach((_, i) =>
    ex
      .name(String(i))
      .u8(0x00)
      .uleb(importedFuncs + i),
  );
  section(7, ex);

  const code = new Bytes().uleb(funcs.length);
  for (const f of funcs) {
    const body = new Bytes().uleb(f.locals.length);
    for (const [count, type] of f.locals) body.uleb(count).u8(type);
    body.bytes(f.code.view()).u8(Op.end);
    code.sized(body);
  }
  section(10, code);
  return new Uint8Array(out.view());
}

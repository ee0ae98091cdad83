/**
 * 9P2000.L wire format: message layouts, a strict decoder and an encoder.
 *
 * Every message is `size[4] type[1] tag[2] body`, little-endian; strings are
 * `len[2] bytes[len]` and are kept as raw bytes (Linux file names need not be
 * UTF-8); a qid is `type[1] version[4] path[8]`. Each message's body is one
 * row in LAYOUTS, so decoding, encoding and the TypeScript types all come
 * from the same table.
 *
 * The decoder treats its input as hostile: every length and count is checked
 * against the bytes that are really there, a body must be consumed exactly,
 * and a walk carries at most MAXWELEM names. It never throws: a bad message
 * yields an errno, which the server sends back as Rlerror.
 *
 * No `node:` imports: this module is shared by the device and the tests, and
 * would serve a browser host as well.
 */

/** Linux errno values (asm-generic, as on riscv64), as sent in Rlerror. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ETXTBSY: 26,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  EMLINK: 31,
  ERANGE: 34,
  EDEADLK: 35,
  ENAMETOOLONG: 36,
  ENOLCK: 37,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ELOOP: 40,
  ENODATA: 61,
  EPROTO: 71,
  EBADMSG: 74,
  EOVERFLOW: 75,
  EMSGSIZE: 90,
  EOPNOTSUPP: 95,
  ESTALE: 116,
  EDQUOT: 122,
} as const;

/** Linux errno for a host error code name (`ENOENT`, …); EIO for anything unknown. */
export function errnoFromCode(code: unknown): number {
  if (typeof code === 'string') {
    if (code === 'ENOTSUP') return Errno.EOPNOTSUPP;
    if (code === 'EWOULDBLOCK') return Errno.EAGAIN;
    if (Object.prototype.hasOwnProperty.call(Errno, code)) {
      return Errno[code as keyof typeof Errno];
    }
  }
  return Errno.EIO;
}

/** An error that becomes an Rlerror with this errno. */
export class P9Error extends Error {
  constructor(
    readonly errno: number,
    message?: string,
  ) {
    super(message ?? `errno ${errno}`);
    this.name = 'P9Error';
  }
}

export const HEADER_SIZE = 7;
/** Rread/Rreaddir header: size[4] type[1] tag[2] count[4]. */
export const RREAD_HEADER = 11;
/** Twrite header: size[4] type[1] tag[2] fid[4] offset[8] count[4]. */
export const TWRITE_HEADER = 23;
export const NOTAG = 0xffff;
export const NOFID = 0xffff_ffff;
export const NONUNAME = 0xffff_ffff;
/** Most names in one Twalk (Plan 9's MAXWELEM). */
export const MAXWELEM = 16;
export const VERSION_9P2000L = '9P2000.L';

export const QT = { DIR: 0x80, APPEND: 0x40, EXCL: 0x20, AUTH: 0x08, SYMLINK: 0x02, FILE: 0 };

/** Directory entry types (Linux DT_*), as in Rreaddir. */
export const DT = { UNKNOWN: 0, FIFO: 1, CHR: 2, DIR: 4, BLK: 6, REG: 8, LNK: 10, SOCK: 12 };

/** Tgetattr request mask / Rgetattr valid bits. */
export const GETATTR = {
  MODE: 0x1n,
  NLINK: 0x2n,
  UID: 0x4n,
  GID: 0x8n,
  RDEV: 0x10n,
  ATIME: 0x20n,
  MTIME: 0x40n,
  CTIME: 0x80n,
  INO: 0x100n,
  SIZE: 0x200n,
  BLOCKS: 0x400n,
  BASIC: 0x7ffn,
  BTIME: 0x800n,
  GEN: 0x1000n,
  DATA_VERSION: 0x2000n,
  ALL: 0x3fffn,
};

/** Tsetattr valid bits. */
export const SETATTR = {
  MODE: 0x1,
  UID: 0x2,
  GID: 0x4,
  SIZE: 0x8,
  ATIME: 0x10,
  MTIME: 0x20,
  CTIME: 0x40,
  ATIME_SET: 0x80,
  MTIME_SET: 0x100,
};

/** Tlopen/Tlcreate flags (Linux's generic open flag values, as the protocol defines them). */
export const LFLAG = {
  ACCMODE: 0o3,
  WRONLY: 0o1,
  RDWR: 0o2,
  CREATE: 0o100,
  EXCL: 0o200,
  NOCTTY: 0o400,
  TRUNC: 0o1000,
  APPEND: 0o2000,
  NONBLOCK: 0o4000,
  DSYNC: 0o10000,
  FASYNC: 0o20000,
  DIRECT: 0o40000,
  LARGEFILE: 0o100000,
  DIRECTORY: 0o200000,
  NOFOLLOW: 0o400000,
  NOATIME: 0o1000000,
  CLOEXEC: 0o2000000,
  SYNC: 0o4000000,
};

export const LOCK_TYPE = { RDLCK: 0, WRLCK: 1, UNLCK: 2 };
export const LOCK_STATUS = { SUCCESS: 0, BLOCKED: 1, ERROR: 2, GRACE: 3 };
export const LOCK_FLAG_BLOCK = 1;
/** Tunlinkat flag: remove a directory. */
export const AT_REMOVEDIR = 0x200;

export interface Qid {
  type: number;
  version: number;
  path: bigint;
}

type Kind = 'u8' | 'u16' | 'u32' | 'u64' | 'str' | 'qid' | 'data' | 'strs' | 'qids';
type Field = readonly [string, Kind];
type KindType<K extends Kind> = K extends 'u64'
  ? bigint
  : K extends 'str' | 'data'
    ? Uint8Array
    : K extends 'qid'
      ? Qid
      : K extends 'strs'
        ? Uint8Array[]
        : K extends 'qids'
          ? Qid[]
          : number;
type Body<F extends readonly Field[]> = { [E in F[number] as E[0]]: KindType<E[1]> };

/**
 * Message type number → [name, body layout]. `data` is count[4] bytes[count];
 * `strs`/`qids` are count[2] followed by that many strings/qids.
 */
export const LAYOUTS = {
  6: ['Tlerror', []],
  7: ['Rlerror', [['ecode', 'u32']]],
  8: ['Tstatfs', [['fid', 'u32']]],
  9: [
    'Rstatfs',
    [
      ['type', 'u32'],
      ['bsize', 'u32'],
      ['blocks', 'u64'],
      ['bfree', 'u64'],
      ['bavail', 'u64'],
      ['files', 'u64'],
      ['ffree', 'u64'],
      ['fsid', 'u64'],
      ['namelen', 'u32'],
    ],
  ],
  12: [
    'Tlopen',
    [
      ['fid', 'u32'],
      ['flags', 'u32'],
    ],
  ],
  13: [
    'Rlopen',
    [
      ['qid', 'qid'],
      ['iounit', 'u32'],
    ],
  ],
  14: [
    'Tlcreate',
    [
      ['fid', 'u32'],
      ['name', 'str'],
      ['flags', 'u32'],
      ['mode', 'u32'],
      ['gid', 'u32'],
    ],
  ],
  15: [
    'Rlcreate',
    [
      ['qid', 'qid'],
      ['iounit', 'u32'],
    ],
  ],
  16: [
    'Tsymlink',
    [
      ['fid', 'u32'],
      ['name', 'str'],
      ['symtgt', 'str'],
      ['gid', 'u32'],
    ],
  ],
  17: ['Rsymlink', [['qid', 'qid']]],
  18: [
    'Tmknod',
    [
      ['dfid', 'u32'],
      ['name', 'str'],
      ['mode', 'u32'],
      ['major', 'u32'],
      ['minor', 'u32'],
      ['gid', 'u32'],
    ],
  ],
  19: ['Rmknod', [['qid', 'qid']]],
  20: [
    'Trename',
    [
      ['fid', 'u32'],
      ['dfid', 'u32'],
      ['name', 'str'],
    ],
  ],
  21: ['Rrename', []],
  22: ['Treadlink', [['fid', 'u32']]],
  23: ['Rreadlink', [['target', 'str']]],
  24: [
    'Tgetattr',
    [
      ['fid', 'u32'],
      ['mask', 'u64'],
    ],
  ],
  25: [
    'Rgetattr',
    [
      ['valid', 'u64'],
      ['qid', 'qid'],
      ['mode', 'u32'],
      ['uid', 'u32'],
      ['gid', 'u32'],
      ['nlink', 'u64'],
      ['rdev', 'u64'],
      ['size', 'u64'],
      ['blksize', 'u64'],
      ['blocks', 'u64'],
      ['atimeSec', 'u64'],
      ['atimeNsec', 'u64'],
      ['mtimeSec', 'u64'],
      ['mtimeNsec', 'u64'],
      ['ctimeSec', 'u64'],
      ['ctimeNsec', 'u64'],
      ['btimeSec', 'u64'],
      ['btimeNsec', 'u64'],
      ['gen', 'u64'],
      ['dataVersion', 'u64'],
    ],
  ],
  26: [
    'Tsetattr',
    [
      ['fid', 'u32'],
      ['valid', 'u32'],
      ['mode', 'u32'],
      ['uid', 'u32'],
      ['gid', 'u32'],
      ['size', 'u64'],
      ['atimeSec', 'u64'],
      ['atimeNsec', 'u64'],
      ['mtimeSec', 'u64'],
      ['mtimeNsec', 'u64'],
    ],
  ],
  27: ['Rsetattr', []],
  30: [
    'Txattrwalk',
    [
      ['fid', 'u32'],
      ['newfid', 'u32'],
      ['name', 'str'],
    ],
  ],
  31: ['Rxattrwalk', [['size', 'u64']]],
  32: [
    'Txattrcreate',
    [
      ['fid', 'u32'],
      ['name', 'str'],
      ['attrSize', 'u64'],
      ['flags', 'u32'],
    ],
  ],
  33: ['Rxattrcreate', []],
  40: [
    'Treaddir',
    [
      ['fid', 'u32'],
      ['offset', 'u64'],
      ['count', 'u32'],
    ],
  ],
  41: ['Rreaddir', [['data', 'data']]],
  50: [
    'Tfsync',
    [
      ['fid', 'u32'],
      ['datasync', 'u32'],
    ],
  ],
  51: ['Rfsync', []],
  52: [
    'Tlock',
    [
      ['fid', 'u32'],
      ['type', 'u8'],
      ['flags', 'u32'],
      ['start', 'u64'],
      ['length', 'u64'],
      ['procId', 'u32'],
      ['clientId', 'str'],
    ],
  ],
  53: ['Rlock', [['status', 'u8']]],
  54: [
    'Tgetlock',
    [
      ['fid', 'u32'],
      ['type', 'u8'],
      ['start', 'u64'],
      ['length', 'u64'],
      ['procId', 'u32'],
      ['clientId', 'str'],
    ],
  ],
  55: [
    'Rgetlock',
    [
      ['type', 'u8'],
      ['start', 'u64'],
      ['length', 'u64'],
      ['procId', 'u32'],
      ['clientId', 'str'],
    ],
  ],
  70: [
    'Tlink',
    [
      ['dfid', 'u32'],
      ['fid', 'u32'],
      ['name', 'str'],
    ],
  ],
  71: ['Rlink', []],
  72: [
    'Tmkdir',
    [
      ['dfid', 'u32'],
      ['name', 'str'],
      ['mode', 'u32'],
      ['gid', 'u32'],
    ],
  ],
  73: ['Rmkdir', [['qid', 'qid']]],
  74: [
    'Trenameat',
    [
      ['olddirfid', 'u32'],
      ['oldname', 'str'],
      ['newdirfid', 'u32'],
      ['newname', 'str'],
    ],
  ],
  75: ['Rrenameat', []],
  76: [
    'Tunlinkat',
    [
      ['dirfid', 'u32'],
      ['name', 'str'],
      ['flags', 'u32'],
    ],
  ],
  77: ['Runlinkat', []],
  100: [
    'Tversion',
    [
      ['msize', 'u32'],
      ['version', 'str'],
    ],
  ],
  101: [
    'Rversion',
    [
      ['msize', 'u32'],
      ['version', 'str'],
    ],
  ],
  102: [
    'Tauth',
    [
      ['afid', 'u32'],
      ['uname', 'str'],
      ['aname', 'str'],
      ['nUname', 'u32'],
    ],
  ],
  103: ['Rauth', [['aqid', 'qid']]],
  104: [
    'Tattach',
    [
      ['fid', 'u32'],
      ['afid', 'u32'],
      ['uname', 'str'],
      ['aname', 'str'],
      ['nUname', 'u32'],
    ],
  ],
  105: ['Rattach', [['qid', 'qid']]],
  108: ['Tflush', [['oldtag', 'u16']]],
  109: ['Rflush', []],
  110: [
    'Twalk',
    [
      ['fid', 'u32'],
      ['newfid', 'u32'],
      ['wnames', 'strs'],
    ],
  ],
  111: ['Rwalk', [['wqids', 'qids']]],
  116: [
    'Tread',
    [
      ['fid', 'u32'],
      ['offset', 'u64'],
      ['count', 'u32'],
    ],
  ],
  117: ['Rread', [['data', 'data']]],
  118: [
    'Twrite',
    [
      ['fid', 'u32'],
      ['offset', 'u64'],
      ['data', 'data'],
    ],
  ],
  119: ['Rwrite', [['count', 'u32']]],
  120: ['Tclunk', [['fid', 'u32']]],
  121: ['Rclunk', []],
  122: ['Tremove', [['fid', 'u32']]],
  123: ['Rremove', []],
} as const satisfies Record<number, readonly [string, readonly Field[]]>;

type Layouts = typeof LAYOUTS;
type TypeNum = keyof Layouts;
/** Message name → its body type, e.g. `MsgBody<'Twalk'>` = `{ fid; newfid; wnames }`. */
export type MsgName = Layouts[TypeNum][0];
type NumOf<N extends MsgName> = { [K in TypeNum]: Layouts[K][0] extends N ? K : never }[TypeNum];
export type MsgBody<N extends MsgName> = Body<Layouts[NumOf<N>][1]>;

/**
 * A decoded message: `op` (its name, e.g. 'Twalk') and tag, plus the body's
 * fields (no body field is called `op` or `tag`).
 */
export type Message<N extends MsgName = MsgName> = N extends MsgName
  ? { op: N; tag: number } & MsgBody<N>
  : never;

const TYPE_OF = new Map<string, number>();
for (const [num, [name]] of Object.entries(LAYOUTS)) TYPE_OF.set(name, Number(num));

/** The type number of a message name. */
export function typeOf(name: MsgName): number {
  return TYPE_OF.get(name)!;
}

export function nameOf(type: number): MsgName | undefined {
  return (LAYOUTS as Record<number, readonly [MsgName, readonly Field[]]>)[type]?.[0];
}

// ---------------------------------------------------------------------------
// Decoding

class Truncated extends Error {}

class Reader {
  private readonly dv: DataView;
  pos: number;
  constructor(
    private readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = start;
  }
  private need(n: number): number {
    const p = this.pos;
    if (n > this.end - p) throw new Truncated();
    this.pos = p + n;
    return p;
  }
  u8(): number {
    return this.dv.getUint8(this.need(1));
  }
  u16(): number {
    return this.dv.getUint16(this.need(2), true);
  }
  u32(): number {
    return this.dv.getUint32(this.need(4), true);
  }
  u64(): bigint {
    return this.dv.getBigUint64(this.need(8), true);
  }
  bytes(n: number): Uint8Array {
    const p = this.need(n);
    return this.buf.subarray(p, p + n);
  }
  qid(): Qid {
    return { type: this.u8(), version: this.u32(), path: this.u64() };
  }
}

function readField(r: Reader, kind: Kind): unknown {
  switch (kind) {
    case 'u8':
      return r.u8();
    case 'u16':
      return r.u16();
    case 'u32':
      return r.u32();
    case 'u64':
      return r.u64();
    case 'str':
      return r.bytes(r.u16());
    case 'data':
      return r.bytes(r.u32());
    case 'qid':
      return r.qid();
    case 'strs':
    case 'qids': {
      const n = r.u16();
      if (n > MAXWELEM) throw new P9Error(Errno.EINVAL, `more than ${MAXWELEM} walk elements`);
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) out.push(kind === 'strs' ? r.bytes(r.u16()) : r.qid());
      return out;
    }
  }
}

export type DecodeResult =
  { ok: true; msg: Message } | { ok: false; tag: number; errno: number; reason: string };

/**
 * Decode one message from `buf` (which must start at the size field). Bytes
 * after `size` are ignored; `maxSize` bounds `size` (the negotiated msize).
 * Never throws.
 */
export function decodeMessage(buf: Uint8Array, maxSize = Infinity): DecodeResult {
  const tag = buf.length >= HEADER_SIZE ? buf[5]! | (buf[6]! << 8) : NOTAG;
  const bad = (errno: number, reason: string): DecodeResult => ({ ok: false, tag, errno, reason });
  if (buf.length < HEADER_SIZE) return bad(Errno.EPROTO, 'message shorter than its header');
  const size = (buf[0]! | (buf[1]! << 8) | (buf[2]! << 16) | (buf[3]! << 24)) >>> 0;
  if (size < HEADER_SIZE) return bad(Errno.EPROTO, `size ${size} is below the header size`);
  if (size > buf.length)
    return bad(Errno.EPROTO, `size ${size} exceeds the ${buf.length} bytes sent`);
  if (size > maxSize) return bad(Errno.EMSGSIZE, `size ${size} exceeds msize ${maxSize}`);
  const type = buf[4]!;
  const layout = (LAYOUTS as Record<number, readonly [MsgName, readonly Field[]]>)[type];
  if (layout === undefined || !layout[0].startsWith('T')) {
    return bad(Errno.EOPNOTSUPP, `unknown or unsupported message type ${type}`);
  }
  const r = new Reader(buf, HEADER_SIZE, size);
  const msg: Record<string, unknown> = { op: layout[0], tag };
  try {
    for (const [field, kind] of layout[1]) msg[field] = readField(r, kind);
  } catch (e) {
    if (e instanceof P9Error) return bad(e.errno, e.message);
    return bad(Errno.EPROTO, `${layout[0]} is truncated`);
  }
  if (r.pos !== size) return bad(Errno.EPROTO, `${layout[0]} has ${size - r.pos} trailing bytes`);
  return { ok: true, msg: msg as Message };
}

// ---------------------------------------------------------------------------
// Encoding

function fieldSize(kind: Kind, value: unknown): number {
  switch (kind) {
    case 'u8':
      return 1;
    case 'u16':
      return 2;
    case 'u32':
      return 4;
    case 'u64':
      return 8;
    case 'qid':
      return 13;
    case 'str':
      return 2 + (value as Uint8Array).length;
    case 'data':
      return 4 + (value as Uint8Array).length;
    case 'strs':
      return 2 + (value as Uint8Array[]).reduce((n, s) => n + 2 + s.length, 0);
    case 'qids':
      return 2 + 13 * (value as Qid[]).length;
  }
}

/** Little-endian writer over a fixed buffer. */
export class Writer {
  readonly dv: DataView;
  pos = 0;
  constructor(readonly buf: Uint8Array) {
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  u8(v: number): void {
    this.dv.setUint8(this.pos, v);
    this.pos += 1;
  }
  u16(v: number): void {
    this.dv.setUint16(this.pos, v, true);
    this.pos += 2;
  }
  u32(v: number): void {
    this.dv.setUint32(this.pos, v >>> 0, true);
    this.pos += 4;
  }
  u64(v: bigint): void {
    this.dv.setBigUint64(this.pos, BigInt.asUintN(64, v), true);
    this.pos += 8;
  }
  bytes(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  str(s: Uint8Array): void {
    if (s.length > 0xffff) throw new RangeError('9p string longer than 65535 bytes');
    this.u16(s.length);
    this.bytes(s);
  }
  qid(q: Qid): void {
    this.u8(q.type);
    this.u32(q.version);
    this.u64(q.path);
  }
}

function writeField(w: Writer, kind: Kind, value: unknown): void {
  switch (kind) {
    case 'u8':
      return w.u8(value as number);
    case 'u16':
      return w.u16(value as number);
    case 'u32':
      return w.u32(value as number);
    case 'u64':
      return w.u64(value as bigint);
    case 'qid':
      return w.qid(value as Qid);
    case 'str':
      return w.str(value as Uint8Array);
    case 'data':
      w.u32((value as Uint8Array).length);
      return w.bytes(value as Uint8Array);
    case 'strs':
      w.u16((value as Uint8Array[]).length);
      for (const s of value as Uint8Array[]) w.str(s);
      return;
    case 'qids':
      w.u16((value as Qid[]).length);
      for (const q of value as Qid[]) w.qid(q);
      return;
  }
}

/** Encode any message (T or R) from its name, tag and body fields. */
export function encodeMessage<N extends MsgName>(
  name: N,
  tag: number,
  body: MsgBody<N>,
): Uint8Array {
  const type = typeOf(name);
  const fields = (LAYOUTS as Record<number, readonly [MsgName, readonly Field[]]>)[type]![1];
  const values = body as Record<string, unknown>;
  let size = HEADER_SIZE;
  for (const [f, kind] of fields) size += fieldSize(kind, values[f]);
  const w = new Writer(new Uint8Array(size));
  w.u32(size);
  w.u8(type);
  w.u16(tag);
  for (const [f, kind] of fields) writeField(w, kind, values[f]);
  return w.buf;
}

export function encodeRlerror(tag: number, errno: number): Uint8Array {
  return encodeMessage('Rlerror', tag, { ecode: errno });
}

/** The size a string takes on the wire. */
export function strSize(s: Uint8Array): number {
  return 2 + s.length;
}

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();
/** UTF-8 bytes of a string (for names and versions in tests and replies). */
export function bytesOf(s: string): Uint8Array {
  return utf8.encode(s);
}
/** A name for messages and logs (invalid UTF-8 replaced). */
export function textOf(b: Uint8Array): string {
  return utf8d.decode(b);
}

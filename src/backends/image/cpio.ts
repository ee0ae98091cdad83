/**
 * Writer for "newc" cpio archives (the SVR4 portable format without CRC,
 * magic "070701"), the format the Linux kernel unpacks as an initramfs.
 *
 * Pure: no I/O, no node: imports. The caller collects entries and gets one
 * byte array back.
 *
 * Layout of one member: a 110-byte ASCII header (magic + 13 eight-digit hex
 * fields), the NUL-terminated path name, padding to a multiple of 4 bytes,
 * the file data (for symlinks: the link target, without NUL), padding to a
 * multiple of 4. The archive ends with a member named "TRAILER!!!".
 */

export type CpioEntryType = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo';

export interface CpioEntry {
  /** Path inside the archive, e.g. "bin/busybox". A leading "/" or "./" is removed. */
  name: string;
  type: CpioEntryType;
  /** Permission bits (e.g. 0o755). File type bits are added from `type`. */
  mode: number;
  /** Contents of a regular file. */
  data?: Uint8Array;
  /** Target of a symbolic link. */
  target?: string;
  uid?: number;
  gid?: number;
  /** Modification time, seconds since the epoch. */
  mtime?: number;
  /** Device numbers for 'char' and 'block' entries. */
  major?: number;
  minor?: number;
}

const TYPE_BITS: Record<CpioEntryType, number> = {
  file: 0o100000,
  dir: 0o040000,
  symlink: 0o120000,
  char: 0o020000,
  block: 0o060000,
  fifo: 0o010000,
};

const HEADER_SIZE = 110;
const MAX_FIELD = 0xffffffff;

function normaliseName(name: string): string {
  let n = name;
  while (n.startsWith('./')) n = n.slice(2);
  while (n.startsWith('/')) n = n.slice(1);
  while (n.length > 1 && n.endsWith('/')) n = n.slice(0, -1);
  if (n === '') n = '.';
  return n;
}

function hex8(value: number, what: string): string {
  if (!Number.isInteger(value) || value < 0 || value > MAX_FIELD) {
    throw new RangeError(`cpio: ${what} out of range: ${value}`);
  }
  return value.toString(16).padStart(8, '0');
}

const pad4 = (n: number): number => (4 - (n % 4)) % 4;

/** Build a newc cpio archive from `entries`, in the order given. */
export function writeCpio(entries: readonly CpioEntry[]): Uint8Array {
  const enc = new TextEncoder();
  const chunks: Uint8Array[] = [];
  let total = 0;
  const push = (b: Uint8Array): void => {
    chunks.push(b);
    total += b.length;
  };
  const zeros = (n: number): void => {
    if (n > 0) push(new Uint8Array(n));
  };

  const seen = new Set<string>();
  let ino = 1;

  const member = (
    name: string,
    mode: number,
    body: Uint8Array,
    e: Partial<CpioEntry>,
    nlink: number,
    inode: number,
  ): void => {
    const nameBytes = enc.encode(name);
    const header =
      '070701' +
      hex8(inode, 'inode') +
      hex8(mode, 'mode') +
      hex8(e.uid ?? 0, 'uid') +
      hex8(e.gid ?? 0, 'gid') +
      hex8(nlink, 'nlink') +
      hex8(e.mtime ?? 0, 'mtime') +
      hex8(body.length, 'file size') +
      hex8(0, 'dev major') +
      hex8(0, 'dev minor') +
      hex8(e.major ?? 0, 'rdev major') +
      hex8(e.minor ?? 0, 'rdev minor') +
      hex8(nameBytes.length + 1, 'name size') +
      hex8(0, 'check');
    push(enc.encode(header));
    push(nameBytes);
    zeros(1 + pad4(HEADER_SIZE + nameBytes.length + 1));
    push(body);
    zeros(pad4(body.length));
  };

  for (const e of entries) {
    const name = normaliseName(e.name);
    if (name === 'TRAILER!!!') throw new Error('cpio: reserved entry name TRAILER!!!');
    if (name.split('/').includes('..')) throw new Error(`cpio: ".." in entry name: ${e.name}`);
    if (seen.has(name)) throw new Error(`cpio: duplicate entry: ${name}`);
    seen.add(name);
    if (!Number.isInteger(e.mode) || e.mode < 0 || e.mode > 0o7777) {
      throw new RangeError(`cpio: bad permission bits for ${name}: ${e.mode}`);
    }
    const mode = TYPE_BITS[e.type] | e.mode;
    let body: Uint8Array;
    switch (e.type) {
      case 'file':
        body = e.data ?? new Uint8Array(0);
        break;
      case 'symlink':
        if (e.target === undefined || e.target === '') {
          throw new Error(`cpio: symlink without target: ${name}`);
        }
        body = enc.encode(e.target);
        break;
      default:
        if (e.data !== undefined && e.data.length > 0) {
          throw new Error(`cpio: only regular files carry data: ${name}`);
        }
        body = new Uint8Array(0);
    }
    member(name, mode, body, e, e.type === 'dir' ? 2 : 1, ino++);
  }
  member('TRAILER!!!', 0, new Uint8Array(0), {}, 1, 0);

  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** One member as read back by {@link readCpio}. */
export interface CpioMember {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  major: number;
  minor: number;
  data: Uint8Array;
}

/**
 * Parse a newc cpio archive (used by tests and sanity checks of built
 * images). Stops at the trailer; throws on malformed input.
 */
export function readCpio(archive: Uint8Array): CpioMember[] {
  const dec = new TextDecoder();
  const out: CpioMember[] = [];
  let off = 0;
  const field = (i: number): number => {
    const s = dec.decode(archive.subarray(off + 6 + i * 8, off + 14 + i * 8));
    if (!/^[0-9a-fA-F]{8}$/.test(s)) throw new Error(`cpio: bad header field at ${off}`);
    return parseInt(s, 16);
  };
  for (;;) {
    if (off + HEADER_SIZE > archive.length) throw new Error('cpio: truncated archive');
    const magic = dec.decode(archive.subarray(off, off + 6));
    if (magic !== '070701' && magic !== '070702') {
      throw new Error(`cpio: bad magic at offset ${off}`);
    }
    const mode = field(1);
    const uid = field(2);
    const gid = field(3);
    const mtime = field(5);
    const size = field(6);
    const major = field(9);
    const minor = field(10);
    const nameSize = field(11);
    const nameStart = off + HEADER_SIZE;
    if (nameSize < 1 || nameStart + nameSize > archive.length) {
      throw new Error('cpio: truncated name');
    }
    const name = dec.decode(archive.subarray(nameStart, nameStart + nameSize - 1));
    const dataStart = nameStart + nameSize + pad4(HEADER_SIZE + nameSize);
    if (dataStart + size > archive.length) throw new Error(`cpio: truncated data for ${name}`);
    if (name === 'TRAILER!!!') break;
    out.push({
      name,
      mode,
      uid,
      gid,
      mtime,
      major,
      minor,
      data: archive.slice(dataStart, dataStart + size),
    });
    off = dataStart + size + pad4(size);
  }
  return out;
}

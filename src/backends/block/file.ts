/**
 * A disk on a host file or host block device: positional, asynchronous I/O
 * through an fs.promises FileHandle (libuv's thread pool), so the guest runs
 * on while the host reads and writes. Raw images of any size: offsets are
 * JS numbers (exact to 8 PiB); sparse files stay sparse (holes read as zeros,
 * only written blocks take space).
 */
import * as fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import type { BlockBackend } from '../../devices/virtio/blk.js';

const ZERO_CHUNK = 1 << 20;
let zeroes: Uint8Array | undefined;
/** A shared read-only buffer of zeros for write-zeroes. */
export function zeroChunk(): Uint8Array {
  return (zeroes ??= new Uint8Array(ZERO_CHUNK));
}

/** Total length of a buffer list. */
export function totalLength(buffers: readonly Uint8Array[]): number {
  let n = 0;
  for (const b of buffers) n += b.length;
  return n;
}

/** Views of bytes [start, start + len) of the concatenation of `buffers`. */
export function sliceBuffers(
  buffers: readonly Uint8Array[],
  start: number,
  len: number,
): Uint8Array[] {
  const out: Uint8Array[] = [];
  let skip = start;
  let left = len;
  for (const b of buffers) {
    if (left <= 0) break;
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    const n = Math.min(b.length - skip, left);
    out.push(b.subarray(skip, skip + n));
    left -= n;
    skip = 0;
  }
  return out;
}

/** Fill all of `buffers` from `fh` at `pos`; bytes past the end of the file read as zeros. */
export async function readFully(fh: FileHandle, buffers: Uint8Array[], pos: number): Promise<void> {
  let bufs = buffers.filter((b) => b.length > 0);
  while (bufs.length > 0) {
    const { bytesRead } = await fh.readv(bufs, pos);
    if (bytesRead === 0) {
      for (const b of bufs) b.fill(0);
      return;
    }
    pos += bytesRead;
    bufs = sliceBuffers(bufs, bytesRead, totalLength(bufs) - bytesRead);
  }
}

/** Write all of `buffers` to `fh` at `pos`. */
export async function writeFully(
  fh: FileHandle,
  buffers: Uint8Array[],
  pos: number,
): Promise<void> {
  let bufs = buffers.filter((b) => b.length > 0);
  while (bufs.length > 0) {
    const { bytesWritten } = await fh.writev(bufs, pos);
    if (bytesWritten <= 0) throw new Error('write made no progress');
    pos += bytesWritten;
    bufs = sliceBuffers(bufs, bytesWritten, totalLength(bufs) - bytesWritten);
  }
}

/** Write `length` zero bytes at `pos`, a chunk at a time. */
export async function writeZeroesTo(fh: FileHandle, pos: number, length: number): Promise<void> {
  const z = zeroChunk();
  for (let done = 0; done < length;) {
    const n = Math.min(z.length, length - done);
    await writeFully(fh, [z.subarray(0, n)], pos + done);
    done += n;
  }
}

/** Size in bytes of a host block device (Linux: /sys/dev/block/MAJ:MIN/size, in 512-byte units). */
export function blockDeviceSize(st: fs.Stats): number {
  const major = Math.floor(st.rdev / 256) & 0xfff;
  const minor = (st.rdev & 0xff) | (Math.floor(st.rdev / 4096) & ~0xff);
  const text = fs.readFileSync(`/sys/dev/block/${major}:${minor}/size`, 'utf8');
  const sectors = Number(text.trim());
  if (!Number.isSafeInteger(sectors)) throw new Error(`unexpected size "${text.trim()}"`);
  return sectors * 512;
}

/**
 * Counts operations in flight so close() can wait for them: a guest that
 * powers off may leave reads running, and a handle must not close under them.
 */
export class OpTracker {
  private readonly ops = new Set<Promise<unknown>>();

  run<T>(p: Promise<T>): Promise<T> {
    this.ops.add(p);
    const done = (): void => void this.ops.delete(p);
    p.then(done, done);
    return p;
  }

  async drain(): Promise<void> {
    while (this.ops.size > 0) await Promise.allSettled([...this.ops]);
  }
}

/** A raw disk image (or host block device) opened with a FileHandle. */
export class FileDisk implements BlockBackend {
  readonly size: number;
  readonly readOnly: boolean;
  private readonly fh: FileHandle;
  private readonly ops = new OpTracker();
  private closed = false;

  constructor(fh: FileHandle, size: number, readOnly: boolean) {
    this.fh = fh;
    this.size = size;
    this.readOnly = readOnly;
  }

  /** Open `file` (already checked and locked by the caller). */
  static async open(file: string, size: number, readOnly: boolean): Promise<FileDisk> {
    const fh = await open(file, readOnly ? 'r' : 'r+');
    return new FileDisk(fh, size, readOnly);
  }

  read(offset: number, buffers: Uint8Array[]): Promise<void> {
    return this.ops.run(readFully(this.fh, buffers, offset));
  }

  write(offset: number, buffers: Uint8Array[]): Promise<void> {
    if (this.readOnly) return Promise.reject(new Error('read-only disk'));
    return this.ops.run(writeFully(this.fh, buffers, offset));
  }

  flush(): Promise<void> {
    if (this.readOnly) return Promise.resolve();
    return this.ops.run(this.fh.datasync());
  }

  discard(): Promise<void> {
    // Node has no hole punching; discarded blocks keep their bytes (allowed).
    return Promise.resolve();
  }

  writeZeroes(offset: number, length: number): Promise<void> {
    if (this.readOnly) return Promise.reject(new Error('read-only disk'));
    return this.ops.run(writeZeroesTo(this.fh, offset, length));
  }

  /** Wait for I/O in flight, make writes durable, close the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.ops.drain();
    try {
      if (!this.readOnly) await this.fh.datasync();
    } finally {
      await this.fh.close();
    }
  }
}

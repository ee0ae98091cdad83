/**
 * Copy-on-write overlay: the guest writes go to an overlay file, the base
 * image is only ever read, and the overlay persists across runs until it is
 * committed into the base or discarded (`colinux disk commit|discard`).
 *
 * Overlay file format ("COLXCOW1", all integers little-endian):
 *
 *   0      header, 4 KiB
 *            0  magic "COLXCOW1"           8 bytes
 *            8  version (1)                u32
 *           12  flags (bit 0: a commit is in progress)   u32
 *           16  block size (power of two, >= 4096)       u32
 *           24  virtual disk size in bytes              u64
 *           32  bitmap offset (4096)                     u64
 *           40  bitmap length in bytes                   u64
 *           48  data offset (block aligned)              u64
 *           56  base size in bytes when created          u64
 *           64  base mtime in ns when created            u64
 *           72  base path length                         u32
 *           76  base path, UTF-8 (absolute)
 *   4096   bitmap: bit i set = block i is in the overlay (LSB first)
 *   data   block i at data offset + i * block size (the file is sparse:
 *          only blocks the guest wrote take space)
 *
 * A block is present once it was written in full: a partial write to an
 * absent block first fills the rest of the block from the base. Bitmap
 * changes are written after the data is durable, at every guest FLUSH and
 * at close, so a crash never exposes a block whose data is not there; a
 * guest write that was followed by a completed FLUSH is never lost.
 */
import * as fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import type { BlockBackend } from '../../devices/virtio/blk.js';
import { OpTracker, readFully, sliceBuffers, totalLength, writeFully, zeroChunk } from './file.js';

export const OVERLAY_MAGIC = 'COLXCOW1';
const VERSION = 1;
const HEADER_SIZE = 4096;
const FLAG_COMMITTING = 1;
const BITMAP_PAGE = 4096;
const MAX_BITMAP_BYTES = 32 << 20;

export class OverlayError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OverlayError';
  }
}

export interface OverlayHeader {
  flags: number;
  blockSize: number;
  size: number;
  bitmapOffset: number;
  bitmapBytes: number;
  dataOffset: number;
  baseSize: number;
  baseMtimeNs: bigint;
  basePath: string;
}

function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

export function encodeHeader(h: OverlayHeader): Uint8Array {
  const buf = new Uint8Array(HEADER_SIZE);
  const dv = new DataView(buf.buffer);
  buf.set(new TextEncoder().encode(OVERLAY_MAGIC), 0);
  dv.setUint32(8, VERSION, true);
  dv.setUint32(12, h.flags, true);
  dv.setUint32(16, h.blockSize, true);
  dv.setBigUint64(24, BigInt(h.size), true);
  dv.setBigUint64(32, BigInt(h.bitmapOffset), true);
  dv.setBigUint64(40, BigInt(h.bitmapBytes), true);
  dv.setBigUint64(48, BigInt(h.dataOffset), true);
  dv.setBigUint64(56, BigInt(h.baseSize), true);
  dv.setBigUint64(64, h.baseMtimeNs, true);
  const p = new TextEncoder().encode(h.basePath);
  if (p.length > HEADER_SIZE - 76)
    throw new OverlayError('base image path too long for the overlay header');
  dv.setUint32(72, p.length, true);
  buf.set(p, 76);
  return buf;
}

/** Parse a header; throws OverlayError naming what is wrong. */
export function decodeHeader(buf: Uint8Array, file: string): OverlayHeader {
  if (buf.length < HEADER_SIZE || new TextDecoder().decode(buf.subarray(0, 8)) !== OVERLAY_MAGIC) {
    throw new OverlayError(`${file} is not a colinux overlay (no ${OVERLAY_MAGIC} header)`);
  }
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const version = dv.getUint32(8, true);
  if (version !== VERSION)
    throw new OverlayError(`${file}: overlay version ${version} is not supported`);
  const num = (off: number): number => {
    const v = dv.getBigUint64(off, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER))
      throw new OverlayError(`${file}: corrupt overlay header`);
    return Number(v);
  };
  const pathLen = dv.getUint32(72, true);
  if (pathLen > HEADER_SIZE - 76) throw new OverlayError(`${file}: corrupt overlay header`);
  const h: OverlayHeader = {
    flags: dv.getUint32(12, true),
    blockSize: dv.getUint32(16, true),
    size: num(24),
    bitmapOffset: num(32),
    bitmapBytes: num(40),
    dataOffset: num(48),
    baseSize: num(56),
    baseMtimeNs: dv.getBigUint64(64, true),
    basePath: new TextDecoder().decode(buf.subarray(76, 76 + pathLen)),
  };
  const blocks = Math.ceil(h.size / h.blockSize);
  if (
    h.blockSize < 4096 ||
    (h.blockSize & (h.blockSize - 1)) !== 0 ||
    h.bitmapOffset !== HEADER_SIZE ||
    h.bitmapBytes !== Math.ceil(blocks / 8) ||
    h.dataOffset < h.bitmapOffset + h.bitmapBytes ||
    h.dataOffset % h.blockSize !== 0
  ) {
    throw new OverlayError(`${file}: corrupt overlay header`);
  }
  return h;
}

/** Layout for a new overlay over a base of `size` bytes. */
export function newHeader(size: number, basePath: string, baseMtimeNs: bigint): OverlayHeader {
  let blockSize = 4096;
  while (Math.ceil(Math.ceil(size / blockSize) / 8) > MAX_BITMAP_BYTES) blockSize *= 2;
  const bitmapBytes = Math.ceil(Math.ceil(size / blockSize) / 8);
  return {
    flags: 0,
    blockSize,
    size,
    bitmapOffset: HEADER_SIZE,
    bitmapBytes,
    dataOffset: roundUp(HEADER_SIZE + roundUp(bitmapBytes, BITMAP_PAGE), blockSize),
    baseSize: size,
    baseMtimeNs,
    basePath,
  };
}

/** Read and parse the header of an overlay file. */
export async function readHeader(file: string): Promise<OverlayHeader> {
  const fh = await open(file, 'r');
  try {
    const buf = new Uint8Array(HEADER_SIZE);
    await readFully(fh, [buf], 0);
    return decodeHeader(buf, file);
  } finally {
    await fh.close();
  }
}

/** Does this file start with the overlay magic? */
export function isOverlayFile(file: string): boolean {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(8);
      fs.readSync(fd, buf, 0, 8, 0);
      return buf.toString('latin1') === OVERLAY_MAGIC;
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false;
  }
}

/** Create an empty overlay file (sparse) for a base; fails if `file` exists. */
export async function createOverlay(
  file: string,
  basePath: string,
  baseSize: number,
  baseMtimeNs: bigint,
): Promise<void> {
  const h = newHeader(baseSize, basePath, baseMtimeNs);
  const fh = await open(file, 'wx', 0o644);
  try {
    await writeFully(fh, [encodeHeader(h)], 0);
    await fh.truncate(h.dataOffset + h.size);
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

/** An async mutex: run() calls execute one at a time, in order. */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.tail.then(fn, fn);
    this.tail = p.catch(() => undefined);
    return p;
  }
}

/** The read/write view of base + overlay. */
export class OverlayDisk implements BlockBackend {
  readonly size: number;
  readonly readOnly = false;
  readonly header: OverlayHeader;
  private readonly base: FileHandle;
  private readonly fh: FileHandle;
  private readonly bitmap: Uint8Array;
  private readonly dirtyPages = new Set<number>();
  private readonly alloc = new Mutex();
  private readonly meta = new Mutex();
  private readonly ops = new OpTracker();
  private closed = false;

  private constructor(base: FileHandle, fh: FileHandle, header: OverlayHeader, bitmap: Uint8Array) {
    this.base = base;
    this.fh = fh;
    this.header = header;
    this.size = header.size;
    this.bitmap = bitmap;
  }

  /**
   * Open `file` as the overlay of the base opened as `base` (read-only).
   * The caller checked the header matches the base (see checkBase()).
   */
  static async open(file: string, base: FileHandle, header: OverlayHeader): Promise<OverlayDisk> {
    const fh = await open(file, 'r+');
    try {
      const bitmap = new Uint8Array(roundUp(header.bitmapBytes, BITMAP_PAGE));
      await readFully(fh, [bitmap.subarray(0, header.bitmapBytes)], header.bitmapOffset);
      return new OverlayDisk(base, fh, header, bitmap);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  /** Number of blocks present in the overlay. */
  get usedBlocks(): number {
    return countBits(this.bitmap);
  }

  private present(block: number): boolean {
    return (this.bitmap[block >>> 3]! & (1 << (block & 7))) !== 0;
  }

  private markPresent(first: number, last: number): void {
    for (let b = first; b <= last; b++) {
      const byte = b >>> 3;
      const m = 1 << (b & 7);
      if ((this.bitmap[byte]! & m) === 0) {
        this.bitmap[byte]! |= m;
        this.dirtyPages.add(Math.floor(byte / BITMAP_PAGE));
      }
    }
  }

  read(offset: number, buffers: Uint8Array[]): Promise<void> {
    return this.ops.run(this.doRead(offset, buffers));
  }

  private async doRead(offset: number, buffers: Uint8Array[]): Promise<void> {
    const len = totalLength(buffers);
    const bs = this.header.blockSize;
    const jobs: Promise<void>[] = [];
    let pos = offset;
    while (pos < offset + len) {
      // A run of blocks that are all present, or all absent.
      const inOverlay = this.present(Math.floor(pos / bs));
      let end = (Math.floor(pos / bs) + 1) * bs;
      while (end < offset + len && this.present(end / bs) === inOverlay) end += bs;
      end = Math.min(end, offset + len);
      const part = sliceBuffers(buffers, pos - offset, end - pos);
      jobs.push(
        inOverlay
          ? readFully(this.fh, part, this.header.dataOffset + pos)
          : readFully(this.base, part, pos),
      );
      pos = end;
    }
    await Promise.all(jobs);
  }

  write(offset: number, buffers: Uint8Array[]): Promise<void> {
    return this.ops.run(this.doWrite(offset, buffers));
  }

  private allPresent(first: number, last: number): boolean {
    for (let b = first; b <= last; b++) if (!this.present(b)) return false;
    return true;
  }

  private async doWrite(offset: number, buffers: Uint8Array[]): Promise<void> {
    const len = totalLength(buffers);
    if (len === 0) return;
    const bs = this.header.blockSize;
    const first = Math.floor(offset / bs);
    const last = Math.floor((offset + len - 1) / bs);
    // Blocks already in the overlay never leave it: write in place.
    if (this.allPresent(first, last)) {
      await writeFully(this.fh, buffers, this.header.dataOffset + offset);
      return;
    }
    // Allocating writes, one at a time: fill partial absent edge blocks
    // from the base so every present block is whole.
    await this.alloc.run(async () => {
      const list = [...buffers];
      let start = offset;
      let end = offset + len;
      const blockStart = first * bs;
      const blockEnd = Math.min((last + 1) * bs, this.size);
      if (start > blockStart && !this.present(first)) {
        const head = new Uint8Array(start - blockStart);
        await readFully(this.base, [head], blockStart);
        list.unshift(head);
        start = blockStart;
      }
      if (end < blockEnd && !this.present(last)) {
        const tail = new Uint8Array(blockEnd - end);
        await readFully(this.base, [tail], end);
        list.push(tail);
        end = blockEnd;
      }
      await writeFully(this.fh, list, this.header.dataOffset + start);
      // Blocks wholly covered now hold their final data.
      const firstFull = Math.ceil(start / bs);
      const lastFull = end >= this.size ? last : Math.floor(end / bs) - 1;
      if (lastFull >= firstFull) this.markPresent(firstFull, lastFull);
    });
  }

  /** Make written data durable, then the bitmap pages that point to it. */
  flush(): Promise<void> {
    return this.ops.run(
      this.meta.run(async () => {
        await this.fh.datasync();
        if (this.dirtyPages.size === 0) return;
        await this.writeBitmap();
        await this.fh.datasync();
      }),
    );
  }

  private async writeBitmap(): Promise<void> {
    const pages = [...this.dirtyPages].sort((a, b) => a - b);
    this.dirtyPages.clear();
    for (const p of pages) {
      const from = p * BITMAP_PAGE;
      const to = Math.min(from + BITMAP_PAGE, this.header.bitmapBytes);
      if (to > from) {
        await writeFully(
          this.fh,
          [this.bitmap.subarray(from, to)],
          this.header.bitmapOffset + from,
        );
      }
    }
  }

  discard(): Promise<void> {
    return Promise.resolve();
  }

  async writeZeroes(offset: number, length: number): Promise<void> {
    const z = zeroChunk();
    for (let done = 0; done < length;) {
      const n = Math.min(z.length, length - done);
      await this.write(offset + done, [z.subarray(0, n)]);
      done += n;
    }
  }

  /** Wait for I/O in flight, persist everything, close both files. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.ops.drain();
    try {
      await this.fh.datasync();
      if (this.dirtyPages.size > 0) {
        await this.writeBitmap();
        await this.fh.datasync();
      }
    } finally {
      await this.fh.close();
      await this.base.close();
    }
  }
}

export function countBits(bytes: Uint8Array): number {
  let n = 0;
  for (let v of bytes) {
    while (v) {
      v &= v - 1;
      n++;
    }
  }
  return n;
}

/** Is the base still the file the overlay was made from? Returns a problem, or undefined. */
export function baseMismatch(
  h: OverlayHeader,
  baseSize: number,
  baseMtimeNs: bigint,
): string | undefined {
  if (baseSize !== h.baseSize) {
    return `the base image is ${baseSize} bytes but was ${h.baseSize} when the overlay was made`;
  }
  if (baseMtimeNs !== h.baseMtimeNs)
    return 'the base image was modified after the overlay was made';
  return undefined;
}

/**
 * Copy every block of the overlay into the base (opened for writing) and make
 * the base durable; the caller then deletes the overlay. Copying again after
 * an interruption gives the same result. `progress(done, total)` counts blocks.
 */
export async function commitBlocks(
  overlay: FileHandle,
  base: FileHandle,
  h: OverlayHeader,
  progress?: (done: number, total: number) => void,
): Promise<number> {
  const bitmap = new Uint8Array(h.bitmapBytes);
  await readFully(overlay, [bitmap], h.bitmapOffset);
  const blocks = Math.ceil(h.size / h.blockSize);
  const total = countBits(bitmap);
  const runMax = Math.max(1, Math.floor((4 << 20) / h.blockSize));
  let done = 0;
  const buf = new Uint8Array(runMax * h.blockSize);
  for (let b = 0; b < blocks;) {
    if ((bitmap[b >>> 3]! & (1 << (b & 7))) === 0) {
      b++;
      continue;
    }
    let e = b + 1;
    while (e < blocks && e - b < runMax && bitmap[e >>> 3]! & (1 << (e & 7))) e++;
    const start = b * h.blockSize;
    const len = Math.min(e * h.blockSize, h.size) - start;
    const part = buf.subarray(0, len);
    await readFully(overlay, [part], h.dataOffset + start);
    await writeFully(base, [part], start);
    done += e - b;
    progress?.(done, total);
    b = e;
  }
  await base.datasync();
  return done;
}

/** Set or clear the header's committing flag, durably. */
export async function setCommitting(fh: FileHandle, h: OverlayHeader, on: boolean): Promise<void> {
  h.flags = on ? h.flags | FLAG_COMMITTING : h.flags & ~FLAG_COMMITTING;
  await writeFully(fh, [encodeHeader(h)], 0);
  await fh.datasync();
}

export function isCommitting(h: OverlayHeader): boolean {
  return (h.flags & FLAG_COMMITTING) !== 0;
}

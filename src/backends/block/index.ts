/**
 * Host side of colinux's block devices (`cobdN=`): opens a raw image, a host
 * block device, or a base image with a copy-on-write overlay, with the
 * checks and locks that keep images safe, and returns a BlockBackend for
 * virtio-blk. Also the `colinux disk` operations (create, info, commit,
 * discard).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open } from 'node:fs/promises';
import type { BlockBackend } from '../../devices/virtio/blk.js';
import { FileDisk, blockDeviceSize } from './file.js';
import { ImageLock, LockError, lockImage } from './lock.js';
import {
  OverlayDisk,
  OverlayError,
  baseMismatch,
  commitBlocks,
  countBits,
  createOverlay,
  isCommitting,
  isOverlayFile,
  readHeader,
  setCommitting,
  type OverlayHeader,
} from './overlay.js';

export { LockError, OverlayError, isOverlayFile };

/** A problem with a disk the user named: the message says what and how to fix it. */
export class DiskError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DiskError';
  }
}

export interface DiskSpec {
  /** How messages name it, e.g. `cobd0=disk.img`. */
  name: string;
  /** The image file or host block device. */
  path: string;
  /** The guest may only read. */
  readOnly?: boolean;
  /** Copy-on-write overlay file (created when missing); the image itself is then only read. */
  overlay?: string;
}

/** An open disk: a BlockBackend plus close(). */
export interface OpenDisk extends BlockBackend {
  /** What it is, for messages: `disk.img (raw, 4.0 GiB, read-write)`. */
  readonly description: string;
  /** Finish I/O in flight, make writes durable, close files, release locks. */
  close(): Promise<void>;
}

function errnoOf(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

export function formatSize(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${bytes} bytes` : `${v.toFixed(1)} ${units[u]}`;
}

/** Parse `4G`, `512M`, `100K`, `1T`, `1048576` (binary units, bytes without a suffix). */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGTP]?)(?:i?B)?$/i.exec(text.trim());
  if (!m) return undefined;
  const mult = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40, P: 2 ** 50 }[
    m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G' | 'T' | 'P'
  ];
  const n = Math.round(Number(m[1]) * mult);
  return Number.isSafeInteger(n) ? n : undefined;
}

interface Target {
  real: string;
  st: fs.Stats;
  size: number;
  mtimeNs: bigint;
}

/** Resolve, stat and size an image or block device; DiskError with the fix if unusable. */
function inspect(name: string, file: string): Target {
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch (e) {
    const code = errnoOf(e);
    if (code === 'ENOENT') {
      throw new DiskError(
        `${name}: no such file; create an image with: colinux disk create ${file} 4G`,
      );
    }
    if (code === 'EACCES') throw new DiskError(`${name}: permission denied reaching ${file}`);
    throw new DiskError(`${name}: ${(e as Error).message}`);
  }
  const st = fs.statSync(real);
  const big = fs.statSync(real, { bigint: true });
  if (st.isDirectory()) {
    throw new DiskError(`${name}: is a directory; give a disk image file or a block device`);
  }
  let size: number;
  if (st.isFile()) {
    size = st.size;
  } else if (st.isBlockDevice()) {
    try {
      size = blockDeviceSize(st);
    } catch (e) {
      throw new DiskError(
        `${name}: cannot find the size of block device ${real} (${(e as Error).message}); host block devices are supported on Linux`,
      );
    }
  } else {
    throw new DiskError(`${name}: ${real} is neither a regular file nor a block device`);
  }
  if (size < 512) {
    throw new DiskError(
      `${name}: ${size} bytes is smaller than one 512-byte sector; make the image larger (colinux disk create …)`,
    );
  }
  return { real, st, size, mtimeNs: st.isFile() ? big.mtimeNs : 0n };
}

function openErrorText(name: string, t: Target, e: unknown, writing: boolean): DiskError {
  const code = errnoOf(e);
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    const dev = t.st.isBlockDevice();
    const what = code === 'EROFS' ? 'on a read-only filesystem' : 'permission denied';
    const fix = dev
      ? 'run colinux as root or as a member of the group owning the device (often "disk")'
      : "fix the file's permissions";
    return new DiskError(
      `${name}: cannot open ${t.real} for ${writing ? 'writing' : 'reading'} (${what}); ${fix}${writing ? ', or add ,ro (read-only) or ,cow (writes go to an overlay file)' : ''}`,
    );
  }
  if (code === 'EBUSY') {
    return new DiskError(
      `${name}: ${t.real} is busy (mounted or in use on the host); unmount it first`,
    );
  }
  return new DiskError(`${name}: cannot open ${t.real}: ${(e as Error).message}`);
}

function wrapLock<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof LockError) throw new DiskError(e.message);
    throw e;
  }
}

class ManagedDisk implements OpenDisk {
  readonly size: number;
  readonly readOnly: boolean;
  readonly description: string;
  private readonly inner: BlockBackend & { close(): Promise<void> };
  private readonly locks: ImageLock[];
  private closing: Promise<void> | undefined;

  constructor(
    inner: BlockBackend & { close(): Promise<void> },
    locks: ImageLock[],
    description: string,
  ) {
    this.inner = inner;
    this.locks = locks;
    this.size = inner.size;
    this.readOnly = inner.readOnly;
    this.description = description;
  }
  read(offset: number, buffers: Uint8Array[]): Promise<void> {
    return this.inner.read(offset, buffers);
  }
  write(offset: number, buffers: Uint8Array[]): Promise<void> {
    return this.inner.write(offset, buffers);
  }
  flush(): Promise<void> {
    return this.inner.flush();
  }
  discard(offset: number, length: number): Promise<void> {
    return this.inner.discard(offset, length);
  }
  writeZeroes(offset: number, length: number): Promise<void> {
    return this.inner.writeZeroes(offset, length);
  }
  close(): Promise<void> {
    this.closing ??= this.inner.close().finally(() => {
      for (const l of this.locks) l.release();
    });
    return this.closing;
  }
}

/** Open a disk for a VM. Throws DiskError (clear message) for anything the user can fix. */
export async function openDisk(spec: DiskSpec): Promise<OpenDisk> {
  const { name } = spec;
  const t = inspect(name, spec.path);
  if (spec.overlay !== undefined) return openWithOverlay(spec, t, spec.overlay);
  const readOnly = spec.readOnly ?? false;
  const lock = wrapLock(() => lockImage(t.real, t.st, readOnly ? 'read' : 'write', name));
  try {
    const disk = await FileDisk.open(t.real, t.size, readOnly).catch((e: unknown) => {
      throw openErrorText(name, t, e, !readOnly);
    });
    const kind = t.st.isBlockDevice() ? 'host block device' : 'raw';
    return new ManagedDisk(
      disk,
      [lock],
      `${spec.path} (${kind}, ${formatSize(t.size)}, ${readOnly ? 'read-only' : 'read-write'})`,
    );
  } catch (e) {
    lock.release();
    throw e;
  }
}

async function openWithOverlay(
  spec: DiskSpec,
  base: Target,
  overlayPath: string,
): Promise<OpenDisk> {
  const { name } = spec;
  const ov = path.resolve(overlayPath);
  if (ov === base.real || (fs.existsSync(ov) && fs.realpathSync(ov) === base.real)) {
    throw new DiskError(`${name}: the overlay cannot be the image itself; name another file`);
  }
  const locks: ImageLock[] = [];
  const release = (): void => locks.forEach((l) => l.release());
  try {
    locks.push(wrapLock(() => lockImage(base.real, base.st, 'read', name)));
    let header: OverlayHeader;
    if (!fs.existsSync(ov)) {
      try {
        await createOverlay(ov, base.real, base.size, base.mtimeNs);
      } catch (e) {
        throw new DiskError(
          `${name}: cannot create the overlay ${ov} (${errnoOf(e) ?? (e as Error).message}); check that its directory exists and is writable`,
        );
      }
    }
    const ovStat = fs.statSync(ov);
    if (!ovStat.isFile()) throw new DiskError(`${name}: overlay ${ov} is not a regular file`);
    locks.push(
      wrapLock(() => lockImage(fs.realpathSync(ov), ovStat, 'write', `${name} (overlay ${ov})`)),
    );
    try {
      header = await readHeader(ov);
    } catch (e) {
      if (e instanceof OverlayError) throw new DiskError(`${name}: ${e.message}`);
      throw openErrorText(name, { ...base, real: ov, st: ovStat }, e, false);
    }
    if (isCommitting(header)) {
      throw new DiskError(
        `${name}: a commit of overlay ${ov} was interrupted; finish it with: colinux disk commit ${ov}`,
      );
    }
    const problem = baseMismatch(
      header,
      base.size,
      base.st.isFile() ? base.mtimeNs : header.baseMtimeNs,
    );
    if (problem) {
      throw new DiskError(
        `${name}: overlay ${ov} does not match ${spec.path}: ${problem}; discard the overlay (colinux disk discard ${ov}) or use the original base image`,
      );
    }
    const baseFh = await open(base.real, 'r').catch((e: unknown) => {
      throw openErrorText(name, base, e, false);
    });
    let disk: OverlayDisk;
    try {
      disk = await OverlayDisk.open(ov, baseFh, header);
    } catch (e) {
      await baseFh.close();
      throw openErrorText(name, { ...base, real: ov, st: ovStat }, e, true);
    }
    return new ManagedDisk(
      disk,
      locks,
      `${spec.path} (${formatSize(base.size)}, copy-on-write in ${ov}, ${formatSize(disk.usedBlocks * header.blockSize)} changed)`,
    );
  } catch (e) {
    release();
    throw e;
  }
}

// ---------------------------------------------------------------------------
// `colinux disk …` operations

/** Create a sparse raw image of `size` bytes (a multiple of 512). */
export async function createImage(file: string, size: number): Promise<void> {
  if (!Number.isSafeInteger(size) || size < 512 || size % 512 !== 0) {
    throw new DiskError(`size ${size}: give a multiple of 512 bytes, e.g. 4G`);
  }
  let fh;
  try {
    fh = await open(file, 'wx', 0o644);
  } catch (e) {
    const code = errnoOf(e);
    if (code === 'EEXIST')
      throw new DiskError(`${file} already exists; remove it or choose another name`);
    throw new DiskError(`cannot create ${file}: ${(e as Error).message}`);
  }
  try {
    await fh.truncate(size);
  } finally {
    await fh.close();
  }
}

/** Find the overlay a command means: the overlay file itself, or a base with `<base>.cow` next to it. */
export function resolveOverlay(file: string): string {
  if (isOverlayFile(file)) return path.resolve(file);
  const guess = `${file}.cow`;
  if (isOverlayFile(guess)) return path.resolve(guess);
  if (!fs.existsSync(file)) throw new DiskError(`${file}: no such file`);
  throw new DiskError(`${file} is not a colinux overlay (and ${guess} is not one either)`);
}

export interface DiskInfo {
  file: string;
  kind: 'raw' | 'block device' | 'overlay';
  size: number;
  /** For an overlay: its base, and how much of the disk it holds. */
  base?: string;
  changedBytes?: number;
  blockSize?: number;
  committing?: boolean;
  problem?: string;
}

/** Bytes of the disk held by `used` overlay blocks (the last block may be short). */
function changedBytes(h: OverlayHeader, used: number, lastBlockPresent: boolean): number {
  const short = h.size % h.blockSize;
  return used * h.blockSize - (lastBlockPresent && short !== 0 ? h.blockSize - short : 0);
}

export async function diskInfo(file: string): Promise<DiskInfo> {
  if (isOverlayFile(file)) {
    const h = await readHeader(file).catch((e: unknown) => {
      throw new DiskError((e as Error).message);
    });
    const fh = await open(file, 'r');
    let used = 0;
    let lastBlockPresent = false;
    try {
      const bitmap = new Uint8Array(h.bitmapBytes);
      await fh.read(bitmap, 0, bitmap.length, h.bitmapOffset);
      used = countBits(bitmap);
      const last = Math.ceil(h.size / h.blockSize) - 1;
      lastBlockPresent = (bitmap[last >>> 3]! & (1 << (last & 7))) !== 0;
    } finally {
      await fh.close();
    }
    let problem: string | undefined;
    try {
      const st = fs.statSync(h.basePath, { bigint: true });
      problem = baseMismatch(h, Number(st.size), st.isFile() ? st.mtimeNs : h.baseMtimeNs);
    } catch {
      problem = 'the base image is missing';
    }
    return {
      file,
      kind: 'overlay',
      size: h.size,
      base: h.basePath,
      changedBytes: changedBytes(h, used, lastBlockPresent),
      blockSize: h.blockSize,
      committing: isCommitting(h),
      problem,
    };
  }
  const t = inspect(file, file);
  return { file, kind: t.st.isBlockDevice() ? 'block device' : 'raw', size: t.size };
}

/**
 * Write an overlay's blocks into its base image, then delete the overlay.
 * Safe to run again if interrupted. Returns the number of bytes copied.
 */
export async function commitOverlay(
  overlayFile: string,
  progress?: (done: number, total: number) => void,
): Promise<number> {
  const ov = path.resolve(overlayFile);
  const h = await readHeader(ov).catch((e: unknown) => {
    throw new DiskError((e as Error).message);
  });
  const base = inspect(`base ${h.basePath}`, h.basePath);
  if (!isCommitting(h)) {
    const problem = baseMismatch(h, base.size, base.st.isFile() ? base.mtimeNs : h.baseMtimeNs);
    if (problem) throw new DiskError(`cannot commit ${ov}: ${problem}`);
  }
  const locks = [
    wrapLock(() => lockImage(fs.realpathSync(ov), fs.statSync(ov), 'write', `overlay ${ov}`)),
  ];
  try {
    locks.push(wrapLock(() => lockImage(base.real, base.st, 'write', `base ${h.basePath}`)));
    const ovFh = await open(ov, 'r+');
    try {
      const baseFh = await open(base.real, 'r+').catch((e: unknown) => {
        throw openErrorText(`base ${h.basePath}`, base, e, true);
      });
      try {
        await setCommitting(ovFh, h, true);
        const bitmap = new Uint8Array(h.bitmapBytes);
        await ovFh.read(bitmap, 0, bitmap.length, h.bitmapOffset);
        const last = Math.ceil(h.size / h.blockSize) - 1;
        const lastPresent = (bitmap[last >>> 3]! & (1 << (last & 7))) !== 0;
        const blocks = await commitBlocks(ovFh, baseFh, h, progress);
        await ovFh.close().catch(() => undefined);
        fs.unlinkSync(ov);
        return changedBytes(h, blocks, lastPresent);
      } finally {
        await baseFh.close();
      }
    } finally {
      await ovFh.close().catch(() => undefined);
    }
  } finally {
    locks.forEach((l) => l.release());
  }
}

/** Delete an overlay (its changes are lost); refuses while a VM uses it. */
export function discardOverlay(overlayFile: string): void {
  const ov = path.resolve(overlayFile);
  if (!isOverlayFile(ov)) throw new DiskError(`${ov} is not a colinux overlay; not deleting it`);
  const lock = wrapLock(() =>
    lockImage(fs.realpathSync(ov), fs.statSync(ov), 'write', `overlay ${ov}`),
  );
  try {
    fs.unlinkSync(ov);
  } finally {
    lock.release();
  }
}

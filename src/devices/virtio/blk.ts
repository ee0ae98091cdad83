/**
 * virtio-blk (virtio 1.2 §5.2): the guest's /dev/vdX on a host block backend.
 *
 * One request queue. Every request is started as soon as it is popped and
 * completes asynchronously (the guest keeps running while the host does the
 * I/O); many may be in flight. The host side is a `BlockBackend`
 * (src/backends/block implements it on files, overlays and host devices);
 * this file has no host dependencies.
 *
 * Requests: IN, OUT, FLUSH (waits for the writes already in flight, then the
 * backend's flush, i.e. fdatasync), GET_ID, DISCARD, WRITE_ZEROES. Errors
 * from the backend become VIRTIO_BLK_S_IOERR; malformed requests get IOERR or
 * UNSUPP; a request without a header or a status byte is a driver bug and
 * sets DEVICE_NEEDS_RESET.
 */
import type { DeviceFactory } from '../../machine/device.js';
import type { Chain, Virtqueue } from './virtqueue.js';
import { VIRTIO_ID, virtioMmio, type VirtioDevice, type VirtioHost } from './mmio.js';

export const SECTOR = 512;

/** The host side of a disk. Offsets and lengths are in bytes, always multiples of 512. */
export interface BlockBackend {
  /** Size in bytes; the guest sees floor(size / 512) sectors. */
  readonly size: number;
  /** The guest may not write (VIRTIO_BLK_F_RO). */
  readonly readOnly: boolean;
  /** Fill `buffers` (in order) from byte `offset`. Rejects on a host I/O error. */
  read(offset: number, buffers: Uint8Array[]): Promise<void>;
  /** Write `buffers` (in order) at byte `offset`. */
  write(offset: number, buffers: Uint8Array[]): Promise<void>;
  /** Make every completed write durable (fdatasync). */
  flush(): Promise<void>;
  /** The guest no longer needs these bytes (may do nothing). */
  discard(offset: number, length: number): Promise<void>;
  /** Make these bytes read as zeros. */
  writeZeroes(offset: number, length: number): Promise<void>;
}

// Feature bits (virtio 1.2 §5.2.3).
export const VIRTIO_BLK_F_SIZE_MAX = 1;
export const VIRTIO_BLK_F_SEG_MAX = 2;
export const VIRTIO_BLK_F_RO = 5;
export const VIRTIO_BLK_F_BLK_SIZE = 6;
export const VIRTIO_BLK_F_FLUSH = 9;
export const VIRTIO_BLK_F_DISCARD = 13;
export const VIRTIO_BLK_F_WRITE_ZEROES = 14;

// Request types and status values (§5.2.6).
export const VIRTIO_BLK_T_IN = 0;
export const VIRTIO_BLK_T_OUT = 1;
export const VIRTIO_BLK_T_FLUSH = 4;
export const VIRTIO_BLK_T_GET_ID = 8;
export const VIRTIO_BLK_T_DISCARD = 11;
export const VIRTIO_BLK_T_WRITE_ZEROES = 13;
export const VIRTIO_BLK_S_OK = 0;
export const VIRTIO_BLK_S_IOERR = 1;
export const VIRTIO_BLK_S_UNSUPP = 2;

export const VIRTIO_BLK_ID_BYTES = 20;
const WRITE_ZEROES_FLAG_UNMAP = 1;
const HEADER = 16;
const SEGMENT = 16;

// Limits offered in the config space.
export const BLK_QUEUE_SIZE = 256;
/** Data segments per request (two more descriptors carry the header and the status). */
export const BLK_SEG_MAX = BLK_QUEUE_SIZE - 2;
/** Largest single data segment: 1 MiB. */
export const BLK_SIZE_MAX = 1 << 20;
/** Largest data transfer per request: what seg_max × size_max allows. */
export const BLK_MAX_REQUEST_BYTES = BLK_SEG_MAX * BLK_SIZE_MAX;
/**
 * Host memory for reads in flight (they land in host buffers first): a
 * request that would exceed it waits until earlier ones complete, so a
 * driver cannot make the host allocate without bound.
 */
export const BLK_READ_BUDGET_BYTES = 64 << 20;
export const BLK_MAX_DISCARD_SECTORS = 1 << 22; // 2 GiB
export const BLK_MAX_DISCARD_SEG = 32;
export const BLK_MAX_WRITE_ZEROES_SECTORS = 1 << 22;
export const BLK_MAX_WRITE_ZEROES_SEG = 32;

// Config space offsets (struct virtio_blk_config).
const CFG_CAPACITY = 0x00;
const CFG_SIZE_MAX = 0x08;
const CFG_SEG_MAX = 0x0c;
const CFG_BLK_SIZE = 0x14;
const CFG_MAX_DISCARD_SECTORS = 0x24;
const CFG_MAX_DISCARD_SEG = 0x28;
const CFG_DISCARD_SECTOR_ALIGNMENT = 0x2c;
const CFG_MAX_WRITE_ZEROES_SECTORS = 0x30;
const CFG_MAX_WRITE_ZEROES_SEG = 0x34;
const CFG_WRITE_ZEROES_MAY_UNMAP = 0x38;
const CONFIG_SIZE = 0x3c;

export interface VirtioBlkOptions {
  /** The device ID string (GET_ID, /sys/block/vdX/serial): at most 20 bytes. */
  id?: string;
  /** Told why the device set DEVICE_NEEDS_RESET. */
  onError?: (reason: string) => void;
}

class RequestError extends Error {
  constructor(readonly status: number) {
    super(`virtio-blk status ${status}`);
  }
}

export class VirtioBlk implements VirtioDevice {
  readonly deviceId = VIRTIO_ID.block;
  readonly features: bigint;
  readonly queueSizes = [BLK_QUEUE_SIZE];
  readonly config = new Uint8Array(CONFIG_SIZE);
  private readonly host: VirtioHost;
  private readonly backend: BlockBackend;
  private readonly id: Uint8Array;
  private readonly sectors: number;
  /** Writes in flight (FLUSH waits for these). */
  private readonly writes = new Set<Promise<unknown>>();
  /** Requests in flight, for tests and a clean shutdown. */
  private readonly inFlight = new Set<Promise<void>>();
  /** Bytes of read buffers in flight, and reads waiting for budget. */
  private readBytes = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(host: VirtioHost, backend: BlockBackend, opts: VirtioBlkOptions = {}) {
    this.host = host;
    this.backend = backend;
    this.sectors = Math.floor(backend.size / SECTOR);
    const id = new TextEncoder().encode(opts.id ?? '');
    this.id = new Uint8Array(VIRTIO_BLK_ID_BYTES);
    this.id.set(id.subarray(0, VIRTIO_BLK_ID_BYTES));
    let f = 0n;
    for (const b of [
      VIRTIO_BLK_F_SIZE_MAX,
      VIRTIO_BLK_F_SEG_MAX,
      VIRTIO_BLK_F_BLK_SIZE,
      VIRTIO_BLK_F_FLUSH,
      VIRTIO_BLK_F_DISCARD,
      VIRTIO_BLK_F_WRITE_ZEROES,
    ])
      f |= 1n << BigInt(b);
    if (backend.readOnly) f |= 1n << BigInt(VIRTIO_BLK_F_RO);
    this.features = f;
    const dv = new DataView(this.config.buffer);
    dv.setBigUint64(CFG_CAPACITY, BigInt(this.sectors), true);
    dv.setUint32(CFG_SIZE_MAX, BLK_SIZE_MAX, true);
    dv.setUint32(CFG_SEG_MAX, BLK_SEG_MAX, true);
    dv.setUint32(CFG_BLK_SIZE, SECTOR, true);
    dv.setUint32(CFG_MAX_DISCARD_SECTORS, BLK_MAX_DISCARD_SECTORS, true);
    dv.setUint32(CFG_MAX_DISCARD_SEG, BLK_MAX_DISCARD_SEG, true);
    dv.setUint32(CFG_DISCARD_SECTOR_ALIGNMENT, 8, true);
    dv.setUint32(CFG_MAX_WRITE_ZEROES_SECTORS, BLK_MAX_WRITE_ZEROES_SECTORS, true);
    dv.setUint32(CFG_MAX_WRITE_ZEROES_SEG, BLK_MAX_WRITE_ZEROES_SEG, true);
    dv.setUint8(CFG_WRITE_ZEROES_MAY_UNMAP, 0);
  }

  notify(q: Virtqueue): void {
    for (let chain = q.pop(); chain; chain = q.pop()) this.begin(q, chain);
  }

  reset(): void {
    // In-flight host I/O finishes on its own; its chains are invalid now, so
    // the results are dropped (reads land in host buffers, never in RAM).
    // Reads still waiting for budget start, see an invalid chain and stop.
  }

  /** Resolves when every request started so far has completed. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private begin(q: Virtqueue, chain: Chain): void {
    if (chain.readable < HEADER || chain.writable < 1) {
      this.host.fail(
        `virtio-blk: request ${chain.head} has ${chain.readable < HEADER ? 'no 16-byte header' : 'no status byte'}`,
      );
      return;
    }
    const p = this.execute(chain)
      .then(
        (written) => this.complete(q, chain, VIRTIO_BLK_S_OK, written),
        (e: unknown) =>
          this.complete(q, chain, e instanceof RequestError ? e.status : VIRTIO_BLK_S_IOERR, 0),
      )
      // Never an unhandled rejection: a bug here stops the device, not the host.
      .catch((e: unknown) => this.host.fail(`virtio-blk: internal error: ${String(e)}`))
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private complete(q: Virtqueue, chain: Chain, status: number, written: number): void {
    if (!chain.valid) return;
    chain.write(chain.writable - 1, Uint8Array.of(status));
    q.push(chain, written + 1);
    q.notify();
  }

  /** Run one request; resolves with the number of data bytes written for the driver. */
  private async execute(chain: Chain): Promise<number> {
    const hdr = new DataView(chain.bytes(0, HEADER).buffer);
    const type = hdr.getUint32(0, true);
    const sector = hdr.getBigUint64(8, true);
    const dataOut = chain.readable - HEADER; // driver→device payload
    const dataIn = chain.writable - 1; // device→driver payload (status byte excluded)
    switch (type) {
      case VIRTIO_BLK_T_IN: {
        const offset = this.range(sector, dataIn);
        await this.reserve(dataIn);
        try {
          if (!chain.valid) return 0;
          const buf = new Uint8Array(dataIn);
          if (dataIn > 0) await this.backend.read(offset, [buf]);
          // Only now, and only if the chain is still valid, does guest RAM change.
          chain.write(0, buf);
        } finally {
          this.release(dataIn);
        }
        return dataIn;
      }
      case VIRTIO_BLK_T_OUT: {
        if (this.backend.readOnly) throw new RequestError(VIRTIO_BLK_S_IOERR);
        const offset = this.range(sector, dataOut);
        if (dataOut > 0) await this.track(this.backend.write(offset, chain.readableViews(HEADER)));
        return 0;
      }
      case VIRTIO_BLK_T_FLUSH:
        await Promise.allSettled([...this.writes]);
        if (!this.backend.readOnly) await this.backend.flush();
        return 0;
      case VIRTIO_BLK_T_GET_ID: {
        return chain.write(0, this.id.subarray(0, Math.min(dataIn, VIRTIO_BLK_ID_BYTES)));
      }
      case VIRTIO_BLK_T_DISCARD:
      case VIRTIO_BLK_T_WRITE_ZEROES: {
        const zeroes = type === VIRTIO_BLK_T_WRITE_ZEROES;
        const maxSeg = zeroes ? BLK_MAX_WRITE_ZEROES_SEG : BLK_MAX_DISCARD_SEG;
        const maxSectors = zeroes ? BLK_MAX_WRITE_ZEROES_SECTORS : BLK_MAX_DISCARD_SECTORS;
        if (dataOut === 0 || dataOut % SEGMENT !== 0 || dataOut / SEGMENT > maxSeg) {
          throw new RequestError(VIRTIO_BLK_S_UNSUPP);
        }
        const segs = new DataView(chain.bytes(HEADER, dataOut).buffer);
        const ranges: Array<[number, number]> = [];
        for (let o = 0; o < dataOut; o += SEGMENT) {
          const start = segs.getBigUint64(o, true);
          const count = segs.getUint32(o + 8, true);
          const flags = segs.getUint32(o + 12, true);
          // Discard takes no flags; write-zeroes only UNMAP (which we may ignore).
          if (flags & ~(zeroes ? WRITE_ZEROES_FLAG_UNMAP : 0))
            throw new RequestError(VIRTIO_BLK_S_UNSUPP);
          if (count > maxSectors) throw new RequestError(VIRTIO_BLK_S_IOERR);
          ranges.push([this.range(start, count * SECTOR, maxSectors * SECTOR), count * SECTOR]);
        }
        if (this.backend.readOnly) throw new RequestError(VIRTIO_BLK_S_IOERR);
        for (const [offset, length] of ranges) {
          if (length === 0) continue;
          if (zeroes) await this.track(this.backend.writeZeroes(offset, length));
          else await this.backend.discard(offset, length);
        }
        return 0;
      }
      default:
        throw new RequestError(VIRTIO_BLK_S_UNSUPP);
    }
  }

  /** Byte offset of `sector`, after checking [sector, sector + bytes) is on the disk. */
  private range(sector: bigint, bytes: number, max = BLK_MAX_REQUEST_BYTES): number {
    if (bytes % SECTOR !== 0 || bytes > max) throw new RequestError(VIRTIO_BLK_S_IOERR);
    const end = sector + BigInt(bytes / SECTOR);
    if (end > BigInt(this.sectors)) throw new RequestError(VIRTIO_BLK_S_IOERR);
    return Number(sector) * SECTOR;
  }

  /** Wait until `bytes` more of read buffers fit the budget (one request always fits). */
  private async reserve(bytes: number): Promise<void> {
    while (this.readBytes > 0 && this.readBytes + bytes > BLK_READ_BUDGET_BYTES) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.readBytes += bytes;
  }

  private release(bytes: number): void {
    this.readBytes -= bytes;
    for (const w of this.waiting.splice(0)) w();
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.writes.add(p);
    const done = (): void => void this.writes.delete(p);
    p.then(done, done);
    return p;
  }
}

/** The DeviceFactory for one virtio-blk disk on `backend`. */
export function virtioBlk(backend: BlockBackend, opts: VirtioBlkOptions = {}): DeviceFactory {
  return virtioMmio((host) => new VirtioBlk(host, backend, opts), { onError: opts.onError });
}

/**
 * The split virtqueue (virtio 1.2 §2.7), device side. Every virtio device in
 * colinux (blk, net, console, 9p, rng) uses this one implementation through
 * the MMIO transport (./mmio.ts); a device file holds only its own request
 * format and logic.
 *
 * ## Using it from a device
 *
 * The transport owns the queues and calls `VirtioDevice.notify(queue)` when
 * the driver kicks one. A device then drains it:
 *
 *     notify(q: Virtqueue): void {
 *       for (let chain = q.pop(); chain; chain = q.pop()) {
 *         const hdr = chain.bytes(0, 16);        // copy of driver→device bytes
 *         …                                      // may go async; keep `chain`
 *         chain.write(0, reply);                 // device→driver bytes
 *         q.push(chain, reply.length);           // return it (used ring)
 *       }
 *       q.notify();                              // interrupt, if the driver wants one
 *     }
 *
 * - `pop(): Chain | undefined` takes the next available descriptor chain,
 *   fully validated, or returns undefined when there is none, the queue is not
 *   ready, or the queue is broken.
 * - A `Chain` is a request as two byte streams, whatever the driver's
 *   descriptor layout (the spec forbids relying on it): `readable` bytes
 *   driver→device, then `writable` bytes device→driver.
 *     `read(offset, dest)`      copy readable bytes [offset, …) into dest → count
 *     `bytes(offset, len)`      the same, as a new array (clipped at the end)
 *     `write(offset, src)`      copy src into the writable bytes at offset → count
 *     `fill(offset, len, v)`    fill writable bytes → count
 *     `readableViews(offset, len)` / `writableViews(offset, len)`
 *                               live views into guest RAM (zero copy, e.g.
 *                               for writev); use them before `push()` only
 *     `valid`                   false once the queue was reset or broke: all
 *                               methods then do nothing, `push` returns false
 *   Offsets and lengths are clipped; nothing a device or driver does with a
 *   chain throws.
 * - `push(chain, written)` puts the chain on the used ring with `written`
 *   bytes (the number of writable bytes the device filled, from offset 0).
 *   Chains may be pushed in any order, from any later (async) callback.
 * - `notify()` raises the used-buffer interrupt if the driver asked for one,
 *   honouring VIRTIO_F_EVENT_IDX (`used_event`) or VIRTQ_AVAIL_F_NO_INTERRUPT.
 *   Call it once after a batch of pushes.
 * - `setNotifications(false)` asks the driver not to kick while the device is
 *   polling anyway; after `setNotifications(true)` pop() again (entries added
 *   in between were not announced).
 * - `pending` (available, not yet popped), `inFlight` (popped, not pushed).
 *
 * ## Hostile drivers
 *
 * Every guest value is checked where it is read. Descriptor loops, chains
 * longer than the queue (or an indirect table), nested indirect tables,
 * buffers or rings outside guest RAM, readable descriptors after writable
 * ones, a head index out of range or already in flight, an avail index that
 * moved by more than the queue size: the queue becomes *broken* and calls
 * `QueueHost.fail(reason)` (the transport sets DEVICE_NEEDS_RESET); pop()
 * then returns nothing until the driver resets the device. Nothing here
 * throws, loops without bound or touches memory outside guest RAM.
 *
 * Guest RAM views come from `GuestMemory.view()`; they stay valid for the
 * machine's lifetime (RAM never moves), so ring views are taken once when
 * the queue is enabled.
 */
import type { GuestMemory } from '../../machine/device.js';

export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
export const VIRTQ_USED_F_NO_NOTIFY = 1;

/** Largest split-queue size the spec allows. */
export const MAX_QUEUE_SIZE = 32768;
/** Largest indirect table we accept, in descriptors (the spec sets no limit; Linux uses far fewer). */
export const MAX_INDIRECT_DESCRIPTORS = 4096;
/** Sum of a chain's readable (or writable) lengths must fit the used ring's u32. */
const MAX_CHAIN_BYTES = 0xffff_ffff;
const DESC_SIZE = 16;

/** What a queue needs from its transport. */
export interface QueueHost {
  memory: GuestMemory;
  /** Raise the used-buffer interrupt (InterruptStatus bit 0). */
  interrupt(): void;
  /** The driver broke the rules: set DEVICE_NEEDS_RESET and stop the device. */
  fail(reason: string): void;
  /**
   * Deterministic mode: completions reach the used ring in the order the
   * chains were popped, once none is in flight, instead of as the host
   * finishes them (which depends on its timing).
   */
  ordered?: boolean;
}

/** Ring addresses and negotiated options for `Virtqueue.enable()`. */
export interface QueueConfig {
  size: number;
  /** Descriptor table, driver (avail) ring, device (used) ring: guest physical addresses. */
  desc: number;
  driver: number;
  device: number;
  /** VIRTIO_RING_F_EVENT_IDX negotiated. */
  eventIdx: boolean;
  /** VIRTIO_RING_F_INDIRECT_DESC negotiated. */
  indirect: boolean;
}

/** Plain, versioned queue state (between requests; chains in flight are not saved). */
export interface VirtqueueState {
  v: 1;
  ready: boolean;
  config: QueueConfig | null;
  lastAvail: number;
  usedIdx: number;
  signalledUsed: number;
  notifications: boolean;
}

/**
 * A descriptor chain taken from the available ring: `readable` bytes the
 * driver wrote, followed by `writable` bytes for the device's answer.
 * Buffers are kept as (address, length) pairs, already checked to lie in RAM.
 */
export class Chain {
  /** Head descriptor index (the id returned on the used ring). */
  readonly head: number;
  /** Total driver→device bytes. */
  readonly readable: number;
  /** Total device→driver bytes. */
  readonly writable: number;
  /** @internal */
  readonly generation: number;
  private readonly queue: Virtqueue;
  /** Flattened [address, length, …] of the readable, then the writable buffers. */
  private readonly rsegs: number[];
  private readonly wsegs: number[];

  /** @internal Chains are made by Virtqueue.pop(). */
  constructor(
    queue: Virtqueue,
    generation: number,
    head: number,
    rsegs: number[],
    readable: number,
    wsegs: number[],
    writable: number,
  ) {
    this.queue = queue;
    this.generation = generation;
    this.head = head;
    this.rsegs = rsegs;
    this.readable = readable;
    this.wsegs = wsegs;
    this.writable = writable;
  }

  /** False once the queue was reset, disabled or broke since this chain was popped. */
  get valid(): boolean {
    return this.queue.owns(this);
  }

  /** Copy readable bytes from `offset` into `dest`; returns the number copied. */
  read(offset: number, dest: Uint8Array): number {
    let done = 0;
    for (const v of this.readableViews(offset, dest.length)) {
      dest.set(v, done);
      done += v.length;
    }
    return done;
  }

  /** A copy of readable bytes [offset, offset + len), shorter if the chain ends first. */
  bytes(offset: number, len: number): Uint8Array {
    const n = Math.max(0, Math.min(len, this.readable - Math.max(0, offset)));
    const out = new Uint8Array(this.valid ? n : 0);
    this.read(offset, out);
    return out;
  }

  /** Copy `src` into the writable bytes at `offset`; returns the number copied. */
  write(offset: number, src: Uint8Array): number {
    let done = 0;
    for (const v of this.writableViews(offset, src.length)) {
      v.set(src.subarray(done, done + v.length));
      done += v.length;
    }
    return done;
  }

  /** Fill `len` writable bytes at `offset` with `value`; returns the number filled. */
  fill(offset: number, len: number, value = 0): number {
    let done = 0;
    for (const v of this.writableViews(offset, len)) {
      v.fill(value);
      done += v.length;
    }
    return done;
  }

  /** Live views of readable bytes [offset, offset + len) (default: to the end). Empty if invalid. */
  readableViews(offset = 0, len = Infinity): Uint8Array[] {
    return this.views(this.rsegs, offset, len);
  }

  /** Live views of writable bytes [offset, offset + len) (default: to the end). Empty if invalid. */
  writableViews(offset = 0, len = Infinity): Uint8Array[] {
    return this.views(this.wsegs, offset, len);
  }

  private views(segs: number[], offset: number, len: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    if (!this.valid || !(offset >= 0) || !(len > 0)) return out;
    const memory = this.queue.memory;
    let skip = offset;
    let left = len;
    for (let i = 0; i < segs.length && left > 0; i += 2) {
      const segLen = segs[i + 1]!;
      if (skip >= segLen) {
        skip -= segLen;
        continue;
      }
      const n = Math.min(segLen - skip, left);
      const v = memory.view(segs[i]! + skip, n);
      if (!v) break; // cannot happen: checked at pop()
      out.push(v);
      left -= n;
      skip = 0;
    }
    return out;
  }
}

/** Read a little-endian u64 address as a JS number; -1 if it is beyond 2^53 (never RAM). */
function readAddr(dv: DataView, off: number): number {
  const lo = dv.getUint32(off, true);
  const hi = dv.getUint32(off + 4, true);
  return hi >= 0x20_0000 ? -1 : hi * 0x1_0000_0000 + lo;
}

function dataView(v: Uint8Array): DataView {
  return new DataView(v.buffer, v.byteOffset, v.byteLength);
}

/** One split virtqueue, device side. Created and configured by the transport. */
export class Virtqueue {
  /** Queue index within its device. */
  readonly index: number;
  /** Largest size the device accepts (QueueNumMax). */
  readonly maxSize: number;
  /** @internal */
  readonly memory: GuestMemory;
  private readonly host: QueueHost;

  private cfg: QueueConfig | null = null;
  private desc: DataView | null = null;
  private avail: DataView | null = null;
  private used: DataView | null = null;
  private lastAvail = 0;
  private usedIdx = 0;
  private signalledUsed = 0;
  private notifications = true;
  private broken = false;
  private generation = 0;
  private heads: Uint8Array = new Uint8Array(0);
  private inFlightCount = 0;
  /** Ordered mode: chains completed while others are in flight, with their pop order. */
  private held: Array<{ chain: Chain; written: number; seq: number }> = [];
  private popSeq = 0;
  private readonly seqOf = new WeakMap<Chain, number>();

  constructor(index: number, maxSize: number, host: QueueHost) {
    if (!Number.isInteger(maxSize) || maxSize < 1 || maxSize > MAX_QUEUE_SIZE) {
      throw new RangeError(`virtqueue ${index}: bad maximum size ${maxSize}`);
    }
    this.index = index;
    this.maxSize = maxSize;
    this.memory = host.memory;
    this.host = host;
  }

  /** Enabled and usable (QueueReady = 1, not broken). */
  get ready(): boolean {
    return this.cfg !== null && !this.broken;
  }

  /** The negotiated size (0 when not enabled). */
  get size(): number {
    return this.cfg?.size ?? 0;
  }

  /** Entries on the available ring not yet popped (0 if not ready or the index is bogus). */
  get pending(): number {
    if (!this.ready) return 0;
    const n = (this.avail!.getUint16(2, true) - this.lastAvail) & 0xffff;
    return n <= this.cfg!.size ? n : 0;
  }

  /** Chains popped and not yet pushed. */
  get inFlight(): number {
    return this.inFlightCount;
  }

  /** @internal Does `chain` belong to the current life of this queue? */
  owns(chain: Chain): boolean {
    return chain.generation === this.generation && !this.broken && this.cfg !== null;
  }

  /**
   * Enable the queue (the driver wrote QueueReady = 1). Checks the size (a
   * power of two up to maxSize) and that the three rings lie in guest RAM
   * with their required alignment; on failure the queue stays disabled and
   * the host's fail() is called. Returns whether it is enabled.
   */
  enable(cfg: QueueConfig): boolean {
    this.disable();
    if (!this.attach(cfg)) return false;
    // A fresh ring: both indices start at 0 (virtio 1.2 §2.7.13).
    this.used!.setUint16(0, 0, true);
    this.used!.setUint16(2, 0, true);
    this.publishAvailEvent();
    return true;
  }

  /** Validate `cfg` and take views of the rings. */
  private attach(cfg: QueueConfig): boolean {
    const { size } = cfg;
    if (!Number.isInteger(size) || size < 1 || size > this.maxSize || (size & (size - 1)) !== 0) {
      this.fail(`queue size ${size} is not a power of two from 1 to ${this.maxSize}`);
      return false;
    }
    const rings: Array<[string, number, number, number]> = [
      ['descriptor table', cfg.desc, DESC_SIZE * size, 16],
      ['driver ring', cfg.driver, 6 + 2 * size, 2],
      ['device ring', cfg.device, 6 + 8 * size, 4],
    ];
    const views: DataView[] = [];
    for (const [what, addr, len, align] of rings) {
      const v =
        Number.isSafeInteger(addr) && addr % align === 0 ? this.memory.view(addr, len) : undefined;
      if (!v) {
        this.fail(
          `${what} at 0x${addr.toString(16)} (${len} bytes) is misaligned or outside guest RAM`,
        );
        return false;
      }
      views.push(dataView(v));
    }
    [this.desc, this.avail, this.used] = views as [DataView, DataView, DataView];
    this.cfg = { ...cfg };
    this.heads = new Uint8Array(size);
    this.notifications = true;
    return true;
  }

  /** Disable the queue and forget everything in flight (device reset, QueueReady = 0). */
  disable(): void {
    this.cfg = null;
    this.desc = this.avail = this.used = null;
    this.lastAvail = this.usedIdx = this.signalledUsed = 0;
    this.broken = false;
    this.generation++;
    this.inFlightCount = 0;
    this.held = [];
    this.heads = new Uint8Array(0);
  }

  /** Stop using the queue until it is disabled (called by the transport when the device broke). */
  halt(): void {
    if (this.broken) return;
    this.broken = true;
    this.generation++;
  }

  private fail(reason: string): undefined {
    this.halt();
    this.host.fail(`queue ${this.index}: ${reason}`);
    return undefined;
  }

  /** Take the next available chain, validated; undefined if none (or the queue broke). */
  pop(): Chain | undefined {
    if (!this.ready) return undefined;
    const cfg = this.cfg!;
    const avail = this.avail!;
    const size = cfg.size;
    const availIdx = avail.getUint16(2, true);
    const waiting = (availIdx - this.lastAvail) & 0xffff;
    if (waiting === 0) {
      this.publishAvailEvent();
      return undefined;
    }
    if (waiting > size) {
      return this.fail(
        `available index moved by ${waiting} (from ${this.lastAvail} to ${availIdx}), more than the queue size ${size}`,
      );
    }
    const head = avail.getUint16(4 + 2 * (this.lastAvail % size), true);
    if (head >= size) return this.fail(`available ring entry ${head} is not below the queue size`);
    if (this.heads[head]) return this.fail(`descriptor ${head} is made available while in use`);
    const chain = this.walk(head);
    if (!chain) return undefined;
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
    this.heads[head] = 1;
    this.inFlightCount++;
    if (this.host.ordered) this.seqOf.set(chain, this.popSeq++);
    this.publishAvailEvent();
    return chain;
  }

  /** Follow the chain starting at `head`, checking every descriptor. */
  private walk(head: number): Chain | undefined {
    const cfg = this.cfg!;
    let table = this.desc!;
    let tableLen = cfg.size;
    let limit = cfg.size;
    let indirect = false;
    let seen = 0;
    let i = head;
    const rsegs: number[] = [];
    const wsegs: number[] = [];
    let readable = 0;
    let writable = 0;
    for (;;) {
      if (++seen > limit) {
        return this.fail(
          indirect
            ? `indirect table of chain ${head} loops or is longer than its ${tableLen} entries`
            : `chain ${head} loops or is longer than the queue size ${cfg.size}`,
        );
      }
      const off = i * DESC_SIZE;
      const addr = readAddr(table, off);
      const len = table.getUint32(off + 8, true);
      const flags = table.getUint16(off + 12, true);
      const next = table.getUint16(off + 14, true);
      if (flags & VIRTQ_DESC_F_INDIRECT) {
        if (!cfg.indirect) return this.fail(`chain ${head}: indirect descriptor not negotiated`);
        if (indirect)
          return this.fail(`chain ${head}: indirect descriptor inside an indirect table`);
        if (flags & VIRTQ_DESC_F_NEXT)
          return this.fail(`chain ${head}: indirect descriptor with NEXT set`);
        if (len === 0 || len % DESC_SIZE !== 0 || len / DESC_SIZE > MAX_INDIRECT_DESCRIPTORS) {
          return this.fail(
            `chain ${head}: indirect table length ${len} is not a multiple of ${DESC_SIZE} up to ${MAX_INDIRECT_DESCRIPTORS * DESC_SIZE}`,
          );
        }
        const v = addr >= 0 ? this.memory.view(addr, len) : undefined;
        if (!v) return this.fail(`chain ${head}: indirect table outside guest RAM`);
        table = dataView(v);
        tableLen = limit = len / DESC_SIZE;
        indirect = true;
        seen = 0;
        i = 0;
        continue;
      }
      if (len > 0) {
        if (addr < 0 || !this.memory.view(addr, len)) {
          return this.fail(
            `chain ${head}: buffer at 0x${addr < 0 ? 'beyond 2^53' : addr.toString(16)} (${len} bytes) outside guest RAM`,
          );
        }
        if (flags & VIRTQ_DESC_F_WRITE) {
          wsegs.push(addr, len);
          writable += len;
        } else {
          if (wsegs.length > 0)
            return this.fail(`chain ${head}: device-readable buffer after a device-writable one`);
          rsegs.push(addr, len);
          readable += len;
        }
        if (readable > MAX_CHAIN_BYTES || writable > MAX_CHAIN_BYTES)
          return this.fail(`chain ${head}: more than 4 GiB of buffers`);
      }
      if (!(flags & VIRTQ_DESC_F_NEXT)) break;
      if (next >= tableLen)
        return this.fail(`chain ${head}: next index ${next} beyond the table of ${tableLen}`);
      i = next;
    }
    return new Chain(this, this.generation, head, rsegs, readable, wsegs, writable);
  }

  /**
   * Return a chain on the used ring, with `written` bytes (clamped to the
   * chain's writable length). Returns false (and does nothing) if the chain
   * is from before a reset, already pushed, or the queue broke.
   */
  push(chain: Chain, written: number): boolean {
    if (!this.owns(chain) || !this.heads[chain.head]) return false;
    if (this.host.ordered) {
      if (this.held.some((h) => h.chain === chain)) return false;
      this.held.push({ chain, written, seq: this.seqOf.get(chain) ?? 0 });
      this.inFlightCount--;
      if (this.inFlightCount > 0) return true;
      const done = this.held.sort((a, b) => a.seq - b.seq);
      this.held = [];
      for (const h of done) this.writeUsed(h.chain, h.written);
      return true;
    }
    this.writeUsed(chain, written);
    this.inFlightCount--;
    return true;
  }

  private writeUsed(chain: Chain, written: number): void {
    const size = this.cfg!.size;
    const used = this.used!;
    const n = Math.max(0, Math.min(Math.floor(written) || 0, chain.writable));
    const slot = 4 + 8 * (this.usedIdx % size);
    used.setUint32(slot, chain.head, true);
    used.setUint32(slot + 4, n, true);
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    used.setUint16(2, this.usedIdx, true);
    this.heads[chain.head] = 0;
  }

  /** Raise the interrupt for chains pushed since the last notify(), if the driver wants it. */
  notify(): void {
    if (!this.ready) return;
    const cfg = this.cfg!;
    const now = this.usedIdx;
    const old = this.signalledUsed;
    if (now === old) return;
    this.signalledUsed = now;
    let wanted: boolean;
    if (cfg.eventIdx) {
      const usedEvent = this.avail!.getUint16(4 + 2 * cfg.size, true);
      // virtio 1.2 §2.7.10: interrupt if used_event lies in [old, now).
      wanted = ((now - usedEvent - 1) & 0xffff) < ((now - old) & 0xffff);
    } else {
      wanted = (this.avail!.getUint16(0, true) & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
    }
    if (wanted) this.host.interrupt();
  }

  /**
   * Ask the driver to kick (true, the default) or not to bother (false)
   * when it adds buffers. After re-enabling, pop() again: buffers added
   * while disabled were not announced.
   */
  setNotifications(enabled: boolean): void {
    this.notifications = enabled;
    if (!this.ready) return;
    if (this.cfg!.eventIdx) this.publishAvailEvent();
    else this.used!.setUint16(0, enabled ? 0 : VIRTQ_USED_F_NO_NOTIFY, true);
  }

  /** With event idx: ask to be kicked when the driver adds the entry after those seen. */
  private publishAvailEvent(): void {
    if (!this.cfg!.eventIdx || !this.notifications) return;
    this.used!.setUint16(4 + 8 * this.cfg!.size, this.lastAvail, true);
  }

  save(): VirtqueueState {
    return {
      v: 1,
      ready: this.ready,
      config: this.cfg ? { ...this.cfg } : null,
      lastAvail: this.lastAvail,
      usedIdx: this.usedIdx,
      signalledUsed: this.signalledUsed,
      notifications: this.notifications,
    };
  }

  restore(state: VirtqueueState): void {
    this.disable();
    if (state.v !== 1) throw new Error(`virtqueue ${this.index}: unknown state version`);
    if (state.config && state.ready && this.attach(state.config)) {
      this.lastAvail = state.lastAvail & 0xffff;
      this.usedIdx = state.usedIdx & 0xffff;
      this.signalledUsed = state.signalledUsed & 0xffff;
      this.notifications = state.notifications;
    }
  }
}

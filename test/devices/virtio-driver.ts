/**
 * Test helpers for virtio: guest RAM as a plain array, and a small driver that
 * lays out split rings and descriptor chains in it, like a guest would (or,
 * for the hostile tests, like a guest must not).
 */
import type { GuestMemory } from '../../src/machine/device.js';
import {
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
} from '../../src/devices/virtio/virtqueue.js';
import {
  STATUS_ACKNOWLEDGE,
  STATUS_DRIVER,
  STATUS_DRIVER_OK,
  STATUS_FEATURES_OK,
} from '../../src/devices/virtio/mmio.js';

export const RAM_BASE = 0x8000_0000;

export class FakeMemory implements GuestMemory {
  readonly ram: Uint8Array;
  readonly dv: DataView;
  constructor(size = 1 << 20) {
    this.ram = new Uint8Array(size);
    this.dv = new DataView(this.ram.buffer);
  }
  view(pa: bigint | number, len: number): Uint8Array | undefined {
    const off = Number(pa) - RAM_BASE;
    if (!(off >= 0) || len < 0 || off + len > this.ram.length) return undefined;
    return this.ram.subarray(off, off + len);
  }
  u16(pa: number): number {
    return this.dv.getUint16(pa - RAM_BASE, true);
  }
  u32(pa: number): number {
    return this.dv.getUint32(pa - RAM_BASE, true);
  }
  setU16(pa: number, v: number): void {
    this.dv.setUint16(pa - RAM_BASE, v, true);
  }
  setU32(pa: number, v: number): void {
    this.dv.setUint32(pa - RAM_BASE, v, true);
  }
  setU64(pa: number, v: bigint): void {
    this.dv.setBigUint64(pa - RAM_BASE, v, true);
  }
  write(pa: number, bytes: Uint8Array): void {
    this.ram.set(bytes, pa - RAM_BASE);
  }
  read(pa: number, len: number): Uint8Array {
    return this.ram.slice(pa - RAM_BASE, pa - RAM_BASE + len);
  }
}

/** One descriptor as the test writes it. */
export interface Desc {
  addr: number | bigint;
  len: number;
  flags?: number;
  next?: number;
}

/** A buffer of a chain: `data` for driver→device, `len` (writable) for device→driver. */
export type Buf = { out: Uint8Array } | { in: number };

/** Ring layout of one queue in FakeMemory, and a driver that uses it. */
export class RingDriver {
  readonly mem: FakeMemory;
  readonly size: number;
  readonly desc: number;
  readonly avail: number;
  readonly used: number;
  /** Next free data address (bump allocator). */
  private heap: number;
  private nextDesc = 0;
  availIdx = 0;
  usedSeen = 0;

  constructor(mem: FakeMemory, size: number, base = RAM_BASE + 0x1000) {
    this.mem = mem;
    this.size = size;
    this.desc = base;
    this.avail = base + 16 * size;
    this.used = Math.ceil((this.avail + 6 + 2 * size) / 4096) * 4096;
    this.heap = this.used + 6 + 8 * size + 4096;
  }

  /** Allocate guest memory for data. */
  alloc(len: number, align = 16): number {
    this.heap = Math.ceil(this.heap / align) * align;
    const a = this.heap;
    this.heap += len;
    if (this.heap > RAM_BASE + this.mem.ram.length) throw new Error('fake RAM exhausted');
    return a;
  }

  writeDesc(table: number, i: number, d: Desc): void {
    const off = table + 16 * i;
    this.mem.setU64(off, BigInt(d.addr));
    this.mem.setU32(off + 8, d.len);
    this.mem.setU16(off + 12, d.flags ?? 0);
    this.mem.setU16(off + 14, d.next ?? 0);
  }

  /** Publish `head` on the avail ring (and bump idx by `bump`, normally 1). */
  publish(head: number, bump = 1): void {
    this.mem.setU16(this.avail + 4 + 2 * (this.availIdx % this.size), head);
    this.availIdx = (this.availIdx + bump) & 0xffff;
    this.mem.setU16(this.avail + 2, this.availIdx);
  }

  /** Set the raw avail idx. */
  setAvailIdx(v: number): void {
    this.availIdx = v & 0xffff;
    this.mem.setU16(this.avail + 2, this.availIdx);
  }

  /** Place buffers as a chain of direct descriptors; returns [head, addresses]. */
  addChain(bufs: Buf[], publish = true): { head: number; addrs: number[] } {
    const addrs: number[] = [];
    const ids: number[] = [];
    for (let k = 0; k < bufs.length; k++) ids.push((this.nextDesc + k) % this.size);
    this.nextDesc = (this.nextDesc + bufs.length) % this.size;
    bufs.forEach((b, k) => {
      const len = 'out' in b ? b.out.length : b.in;
      const a = this.alloc(Math.max(len, 1));
      if ('out' in b) this.mem.write(a, b.out);
      addrs.push(a);
      this.writeDesc(this.desc, ids[k]!, {
        addr: a,
        len,
        flags: ('in' in b ? VIRTQ_DESC_F_WRITE : 0) | (k < bufs.length - 1 ? VIRTQ_DESC_F_NEXT : 0),
        next: ids[k + 1] ?? 0,
      });
    });
    if (publish) this.publish(ids[0]!);
    return { head: ids[0]!, addrs };
  }

  /** Place buffers in an indirect table referenced by one descriptor; returns [head, addresses]. */
  addIndirect(bufs: Buf[], publish = true): { head: number; addrs: number[]; table: number } {
    const table = this.alloc(16 * bufs.length);
    const addrs: number[] = [];
    bufs.forEach((b, k) => {
      const len = 'out' in b ? b.out.length : b.in;
      const a = this.alloc(Math.max(len, 1));
      if ('out' in b) this.mem.write(a, b.out);
      addrs.push(a);
      this.writeDesc(table, k, {
        addr: a,
        len,
        flags: ('in' in b ? VIRTQ_DESC_F_WRITE : 0) | (k < bufs.length - 1 ? VIRTQ_DESC_F_NEXT : 0),
        next: k + 1,
      });
    });
    const head = this.nextDesc;
    this.nextDesc = (this.nextDesc + 1) % this.size;
    this.writeDesc(this.desc, head, {
      addr: table,
      len: 16 * bufs.length,
      flags: VIRTQ_DESC_F_INDIRECT,
    });
    if (publish) this.publish(head);
    return { head, addrs, table };
  }

  /** New used entries since the last call: [id, len]. */
  takeUsed(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    const idx = this.mem.u16(this.used + 2);
    while (this.usedSeen !== idx) {
      const slot = this.used + 4 + 8 * (this.usedSeen % this.size);
      out.push([this.mem.u32(slot), this.mem.u32(slot + 4)]);
      this.usedSeen = (this.usedSeen + 1) & 0xffff;
    }
    return out;
  }

  /** used_event (driver → device, after the avail ring). */
  setUsedEvent(v: number): void {
    this.mem.setU16(this.avail + 4 + 2 * this.size, v);
  }
  /** avail_event (device → driver, after the used ring). */
  availEvent(): number {
    return this.mem.u16(this.used + 4 + 8 * this.size);
  }
  setAvailFlags(v: number): void {
    this.mem.setU16(this.avail, v);
  }
}

/** Register access of a virtio-mmio transport under test. */
export interface MmioRegs {
  read(offset: number, size: number): number;
  write(offset: number, size: number, value: number): void;
}

/**
 * The driver's side of device initialisation (virtio 1.2 §3.1.1 over the
 * MMIO registers of §4.2.2): accept the offered features that are in
 * `accept` (default: all), set up queue i with the rings of `queues[i]`, and
 * set DRIVER_OK. Returns the features the device offered.
 */
export function bringUp(t: MmioRegs, queues: RingDriver | RingDriver[], accept = ~0n): bigint {
  const W = (off: number, v: number): void => t.write(off, 4, v);
  W(0x70, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
  W(0x14, 0);
  const lo = t.read(0x10, 4);
  W(0x14, 1);
  const hi = t.read(0x10, 4);
  const offered = BigInt(lo >>> 0) | (BigInt(hi >>> 0) << 32n);
  const want = offered & accept;
  W(0x24, 0);
  W(0x20, Number(want & 0xffff_ffffn));
  W(0x24, 1);
  W(0x20, Number(want >> 32n));
  W(0x70, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
  for (const [i, d] of (Array.isArray(queues) ? queues : [queues]).entries()) {
    W(0x30, i);
    W(0x38, d.size);
    W(0x80, d.desc >>> 0);
    W(0x90, d.avail >>> 0);
    W(0xa0, d.used >>> 0);
    W(0x44, 1);
  }
  W(0x70, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
  return offered;
}

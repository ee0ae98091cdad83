/**
 * The physical address bus for memory-mapped devices.
 *
 * Maps non-overlapping ranges of the 32-bit physical address space onto
 * {@link MmioDevice}s. RAM is not on this bus: the CPU reaches it directly.
 * An access that does not fall entirely inside one device's window is
 * "unmapped" (`read` returns `undefined`, `write` returns `false`) and the CPU
 * turns it into an access fault.
 */

import type { AccessWidth, MmioDevice } from './device.js';

/** One mapped window. */
export interface BusMapping {
  readonly base: number;
  readonly size: number;
  readonly end: number;
  readonly dev: MmioDevice;
}

const ADDR_LIMIT = 0x1_0000_0000;

function isAddr(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n < ADDR_LIMIT;
}

export class Bus {
  /** Sorted by base, non-overlapping. */
  private maps: BusMapping[] = [];
  /** Last mapping hit: consecutive accesses usually go to the same device. */
  private last: BusMapping | undefined;

  /**
   * Map `dev` at `[base, base + dev.size)`. Throws if the window is empty,
   * leaves the 32-bit space, or overlaps an existing mapping.
   */
  map(base: number, dev: MmioDevice): void {
    const size = dev.size;
    if (!isAddr(base)) throw new RangeError(`bus: bad base address ${base}`);
    if (!Number.isInteger(size) || size <= 0 || base + size > ADDR_LIMIT) {
      throw new RangeError(`bus: bad size ${size} at 0x${base.toString(16)}`);
    }
    const end = base + size;
    for (const m of this.maps) {
      if (base < m.end && m.base < end) {
        throw new Error(
          `bus: [0x${base.toString(16)}, 0x${end.toString(16)}) overlaps ` +
            `[0x${m.base.toString(16)}, 0x${m.end.toString(16)})`,
        );
      }
    }
    this.maps.push({ base, size, end, dev });
    this.maps.sort((a, b) => a.base - b.base);
    this.last = undefined;
  }

  /** Remove the mapping that starts at `base`; returns whether one was removed. */
  unmap(base: number): boolean {
    const i = this.maps.findIndex((m) => m.base === base);
    if (i < 0) return false;
    this.maps.splice(i, 1);
    this.last = undefined;
    return true;
  }

  /** The mapping containing `addr`, if any. */
  find(addr: number): BusMapping | undefined {
    const last = this.last;
    if (last !== undefined && addr >= last.base && addr < last.end) return last;
    const maps = this.maps;
    let lo = 0;
    let hi = maps.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const m = maps[mid]!;
      if (addr < m.base) hi = mid - 1;
      else if (addr < m.end) {
        this.last = m;
        return m;
      } else lo = mid + 1;
    }
    return undefined;
  }

  /** Read `width` bytes at `addr`; `undefined` if not entirely inside one device. */
  read(addr: number, width: AccessWidth): number | undefined {
    const m = this.find(addr);
    if (m === undefined || addr + width > m.end) return undefined;
    return m.dev.read(addr - m.base, width) >>> 0;
  }

  /** Write the low `width` bytes of `value` at `addr`; `false` if unmapped. */
  write(addr: number, width: AccessWidth, value: number): boolean {
    const m = this.find(addr);
    if (m === undefined || addr + width > m.end) return false;
    m.dev.write(addr - m.base, width, width === 4 ? value >>> 0 : value & ((1 << (8 * width)) - 1));
    return true;
  }

  /** 8-byte read, split into two 4-byte device reads (low word first). */
  read64(addr: number): bigint | undefined {
    const m = this.find(addr);
    if (m === undefined || addr + 8 > m.end) return undefined;
    const off = addr - m.base;
    const lo = m.dev.read(off, 4) >>> 0;
    const hi = m.dev.read(off + 4, 4) >>> 0;
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** 8-byte write, split into two 4-byte device writes (low word first). */
  write64(addr: number, value: bigint): boolean {
    const m = this.find(addr);
    if (m === undefined || addr + 8 > m.end) return false;
    const off = addr - m.base;
    m.dev.write(off, 4, Number(value & 0xffff_ffffn));
    m.dev.write(off + 4, 4, Number((value >> 32n) & 0xffff_ffffn));
    return true;
  }

  /** The mapped windows, sorted by base address. */
  ranges(): Array<{ base: number; size: number }> {
    return this.maps.map((m) => ({ base: m.base, size: m.size }));
  }
}

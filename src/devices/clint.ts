/**
 * CLINT (core-local interruptor), SiFive layout, one hart.
 *
 *   0x0000  msip      (4 bytes, bit 0 = machine software interrupt pending)
 *   0x4000  mtimecmp  (8 bytes)
 *   0xbff8  mtime     (8 bytes, read-only here)
 *
 * The timer state itself lives in the hart (HartTimerPort): this device only
 * exposes it. Writes to `mtime` are ignored: the machine's clock is the host's
 * (or the instruction count in deterministic mode) and is never set by the
 * guest. Any access width at any offset is accepted; bytes outside the three
 * registers read 0 and ignore writes.
 */

import type { AccessWidth, HartTimerPort, MmioDevice, Snapshottable } from '../machine/device.js';

export const CLINT_SIZE = 0x10000;
const MSIP = 0x0000;
const MTIMECMP = 0x4000;
const MTIME = 0xbff8;

export interface ClintState {
  version: 1;
  msip: boolean;
  /** Decimal string of the 64-bit mtimecmp (the hart also holds it). */
  mtimecmp: string;
}

function readBytes(value: bigint, byteOff: number, width: number): number {
  const mask = (1n << BigInt(8 * width)) - 1n;
  return Number((value >> BigInt(8 * byteOff)) & mask);
}

function writeBytes(old: bigint, byteOff: number, width: number, value: number): bigint {
  const shift = BigInt(8 * byteOff);
  const mask = ((1n << BigInt(8 * width)) - 1n) << shift;
  const v = (BigInt(value >>> 0) << shift) & mask;
  return BigInt.asUintN(64, (old & ~mask) | v);
}

export class Clint implements MmioDevice, Snapshottable<ClintState> {
  readonly size = CLINT_SIZE;
  private msip = false;
  /** mtime latched by a read of its low word, so a following high-word read does not tear. */
  private latchedTime: bigint | undefined;

  constructor(private readonly port: HartTimerPort) {}

  read(offset: number, width: AccessWidth): number {
    const latched = this.latchedTime;
    this.latchedTime = undefined;
    if (offset < 0 || offset + width > this.size) return 0;
    if (offset >= MSIP && offset + width <= MSIP + 4) {
      return readBytes(this.msip ? 1n : 0n, offset - MSIP, width);
    }
    if (offset >= MTIMECMP && offset + width <= MTIMECMP + 8) {
      return readBytes(this.port.getMtimecmp(), offset - MTIMECMP, width);
    }
    if (offset >= MTIME && offset + width <= MTIME + 8) {
      const off = offset - MTIME;
      let t: bigint;
      if (off === 4 && width === 4 && latched !== undefined) t = latched;
      else t = this.port.now();
      if (off === 0 && width === 4) this.latchedTime = t;
      return readBytes(t, off, width);
    }
    return 0;
  }

  write(offset: number, width: AccessWidth, value: number): void {
    this.latchedTime = undefined;
    if (offset < 0 || offset + width > this.size) return;
    if (offset >= MSIP && offset + width <= MSIP + 4) {
      if (offset === MSIP) this.setMsip((value & 1) !== 0);
      return;
    }
    if (offset >= MTIMECMP && offset + width <= MTIMECMP + 8) {
      const cur = this.port.getMtimecmp();
      this.port.setMtimecmp(writeBytes(cur, offset - MTIMECMP, width, value));
    }
    // mtime writes and everything else: ignored.
  }

  private setMsip(level: boolean): void {
    this.msip = level;
    this.port.msip.set(level);
  }

  save(): ClintState {
    return { version: 1, msip: this.msip, mtimecmp: this.port.getMtimecmp().toString() };
  }

  restore(state: ClintState): void {
    if (state.version !== 1) throw new Error(`clint: unsupported state version ${state.version}`);
    this.latchedTime = undefined;
    this.setMsip(state.msip);
    this.port.setMtimecmp(BigInt.asUintN(64, BigInt(state.mtimecmp)));
  }
}

/**
 * SiFive test finisher ("sifive,test0", used as a syscon for poweroff and
 * reboot). One write-only 32-bit register at offset 0:
 *
 *   0x5555               pass: power off, exit code 0
 *   0x3333 | code << 16  fail: power off with exit code `code`
 *   0x7777               reset
 *
 * 16-bit writes are accepted too (exit code 0). Other values, offsets and
 * byte writes are ignored; everything reads 0.
 */

import type { AccessWidth, MmioDevice, Snapshottable } from '../machine/device.js';

export const SYSCON_SIZE = 0x1000;
export const SYSCON_PASS = 0x5555;
export const SYSCON_FAIL = 0x3333;
export const SYSCON_RESET = 0x7777;

export interface SifiveTestOptions {
  onPowerOff?: (exitCode: number) => void;
  onReset?: () => void;
}

export interface SifiveTestState {
  version: 1;
}

export class SifiveTest implements MmioDevice, Snapshottable<SifiveTestState> {
  readonly size = SYSCON_SIZE;
  onPowerOff: ((exitCode: number) => void) | undefined;
  onReset: (() => void) | undefined;

  constructor(opts: SifiveTestOptions = {}) {
    this.onPowerOff = opts.onPowerOff;
    this.onReset = opts.onReset;
  }

  read(_offset: number, _width: AccessWidth): number {
    return 0;
  }

  write(offset: number, width: AccessWidth, value: number): void {
    if (offset !== 0 || width === 1) return; // 16- or 32-bit writes
    const v = value >>> 0;
    const cmd = v & 0xffff;
    if (cmd === SYSCON_PASS) this.onPowerOff?.(0);
    else if (cmd === SYSCON_FAIL) this.onPowerOff?.(v >>> 16);
    else if (cmd === SYSCON_RESET) this.onReset?.();
  }

  save(): SifiveTestState {
    return { version: 1 };
  }

  restore(state: SifiveTestState): void {
    if (state.version !== 1)
      throw new Error(`sifive-test: unsupported state version ${state.version}`);
  }
}

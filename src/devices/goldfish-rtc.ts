/**
 * Goldfish RTC: a 64-bit nanosecond wall clock with one alarm.
 *
 *   0x00 TIME_LOW        R: low 32 bits of the time, latches the high half
 *                        W: replace the low 32 bits of the time
 *   0x04 TIME_HIGH       R: the latched high 32 bits   W: replace the high 32 bits
 *   0x08 ALARM_LOW       R/W: low 32 bits of the alarm; a write arms the alarm
 *   0x0c ALARM_HIGH      R/W: high 32 bits of the alarm
 *   0x10 IRQ_ENABLED     R/W: bit 0 enables the alarm interrupt
 *   0x14 CLEAR_ALARM     W: disarm the alarm
 *   0x18 ALARM_STATUS    R: 1 while the alarm is armed
 *   0x1c CLEAR_INTERRUPT W: acknowledge the interrupt
 *
 * Guest time = host clock + offset; setting the time only changes the offset.
 * The alarm fires when guest time reaches it: call `update()` from the run
 * loop (it is also checked on every register access); `nextAlarmDelayNs()`
 * tells when. Registers are 32-bit: other widths and offsets read 0 and are
 * ignored on write.
 */

import type { AccessWidth, IrqLine, MmioDevice, Snapshottable } from '../machine/device.js';

export const RTC_SIZE = 0x1000;

const TIME_LOW = 0x00;
const TIME_HIGH = 0x04;
const ALARM_LOW = 0x08;
const ALARM_HIGH = 0x0c;
const IRQ_ENABLED = 0x10;
const CLEAR_ALARM = 0x14;
const ALARM_STATUS = 0x18;
const CLEAR_INTERRUPT = 0x1c;

const U32 = 0xffff_ffffn;

/** Host wall clock in nanoseconds since the Unix epoch. */
export function defaultRtcClock(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

export interface GoldfishRtcState {
  version: 1;
  /** Decimal strings of 64-bit values. */
  offset: string;
  alarm: string;
  armed: boolean;
  irqEnabled: boolean;
  irqPending: boolean;
  latchedHigh: number;
}

export class GoldfishRtc implements MmioDevice, Snapshottable<GoldfishRtcState> {
  readonly size = RTC_SIZE;
  /** Guest time minus host time, in ns (wraps modulo 2^64). */
  private offset = 0n;
  private alarm = 0n;
  private armed = false;
  private irqEnabled = false;
  private irqPending = false;
  private latchedHigh = 0;
  private irqLevel = false;

  constructor(
    private readonly irq?: IrqLine,
    private readonly clock: () => bigint = defaultRtcClock,
  ) {}

  /** Current guest time in ns. */
  now(): bigint {
    return BigInt.asUintN(64, this.clock() + this.offset);
  }

  /** Fire the alarm if its time has come. */
  update(): void {
    if (this.armed && this.now() >= this.alarm) {
      this.armed = false;
      this.irqPending = true;
    }
    this.setIrq();
  }

  /** Nanoseconds until the armed alarm fires (0 if due), or undefined if none is armed. */
  nextAlarmDelayNs(): bigint | undefined {
    if (!this.armed) return undefined;
    const d = this.alarm - this.now();
    return d > 0n ? d : 0n;
  }

  private setIrq(): void {
    const lvl = this.irqPending && this.irqEnabled;
    if (lvl !== this.irqLevel) {
      this.irqLevel = lvl;
      this.irq?.set(lvl);
    }
  }

  private setTime(t: bigint): void {
    this.offset = BigInt.asUintN(64, t - this.clock());
  }

  read(offset: number, width: AccessWidth): number {
    if (width !== 4) return 0;
    let v = 0;
    switch (offset) {
      case TIME_LOW: {
        const t = this.now();
        this.latchedHigh = Number(t >> 32n);
        v = Number(t & U32);
        break;
      }
      case TIME_HIGH:
        v = this.latchedHigh;
        break;
      case ALARM_LOW:
        v = Number(this.alarm & U32);
        break;
      case ALARM_HIGH:
        v = Number(this.alarm >> 32n);
        break;
      case IRQ_ENABLED:
        v = this.irqEnabled ? 1 : 0;
        break;
      case ALARM_STATUS:
        this.update();
        v = this.armed ? 1 : 0;
        break;
      default:
        v = 0;
    }
    this.update();
    return v >>> 0;
  }

  write(offset: number, width: AccessWidth, value: number): void {
    if (width !== 4) return;
    const v = BigInt(value >>> 0);
    switch (offset) {
      case TIME_LOW:
        this.setTime((this.now() & ~U32) | v);
        break;
      case TIME_HIGH:
        this.setTime((this.now() & U32) | (v << 32n));
        break;
      case ALARM_LOW:
        this.alarm = (this.alarm & ~U32) | v;
        this.armed = true;
        break;
      case ALARM_HIGH:
        this.alarm = (this.alarm & U32) | (v << 32n);
        break;
      case IRQ_ENABLED:
        this.irqEnabled = (value & 1) !== 0;
        break;
      case CLEAR_ALARM:
        this.armed = false;
        break;
      case CLEAR_INTERRUPT:
        this.irqPending = false;
        break;
      default:
        break;
    }
    this.update();
  }

  save(): GoldfishRtcState {
    return {
      version: 1,
      offset: this.offset.toString(),
      alarm: this.alarm.toString(),
      armed: this.armed,
      irqEnabled: this.irqEnabled,
      irqPending: this.irqPending,
      latchedHigh: this.latchedHigh,
    };
  }

  restore(s: GoldfishRtcState): void {
    if (s.version !== 1) throw new Error(`goldfish-rtc: unsupported state version ${s.version}`);
    this.offset = BigInt.asUintN(64, BigInt(s.offset));
    this.alarm = BigInt.asUintN(64, BigInt(s.alarm));
    this.armed = !!s.armed;
    this.irqEnabled = !!s.irqEnabled;
    this.irqPending = !!s.irqPending;
    this.latchedHigh = s.latchedHigh >>> 0;
    this.irqLevel = this.irqPending && this.irqEnabled;
    this.irq?.set(this.irqLevel);
    this.update();
  }
}

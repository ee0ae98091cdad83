/**
 * SiFive GPIO controller (`sifive,gpio0`, as on the FU540/FU740), the part of
 * the board the host's power button is wired to. Linux drives it with
 * drivers/gpio/gpio-sifive.c; a gpio-keys node in the device tree turns a pin
 * into a KEY_POWER button.
 *
 * Registers (32-bit, one bit per pin):
 *   0x00 input_val   (RO) pin levels of input-enabled pins
 *   0x04 input_en
 *   0x08 output_en
 *   0x0c output_val
 *   0x10 pue         (pull-up enable; stored only)
 *   0x14 ds          (drive strength; stored only)
 *   0x18 rise_ie  0x1c rise_ip
 *   0x20 fall_ie  0x24 fall_ip
 *   0x28 high_ie  0x2c high_ip
 *   0x30 low_ie   0x34 low_ip
 *   0x38 iof_en   0x3c iof_sel (stored only)
 *   0x40 out_xor
 *
 * The `*_ip` bits are write-1-to-clear. rise/fall latch on an edge of the pin
 * (an input pin's level as driven by the host, or an output pin's value);
 * high/low are set again at once while the level still holds, as on the
 * real chip. Each pin has its own interrupt line (to a PLIC source), high
 * while any of its pending bits is enabled.
 *
 * The host drives pins with `setPin`; `onInputRead` tells it when the guest
 * sampled `input_val`, which is how a momentary button knows the guest has
 * seen it pressed (see Machine.pressPowerButton).
 *
 * Accesses that are not 4 bytes wide and aligned read 0 and are ignored.
 */
import type { AccessWidth, IrqLine, MmioDevice, Snapshottable } from '../machine/device.js';

export const SIFIVE_GPIO_SIZE = 0x1000;
export const SIFIVE_GPIO_MAX_PINS = 32;

const INPUT_VAL = 0x00;
const INPUT_EN = 0x04;
const OUTPUT_EN = 0x08;
const OUTPUT_VAL = 0x0c;
const PUE = 0x10;
const DS = 0x14;
const RISE_IE = 0x18;
const RISE_IP = 0x1c;
const FALL_IE = 0x20;
const FALL_IP = 0x24;
const HIGH_IE = 0x28;
const HIGH_IP = 0x2c;
const LOW_IE = 0x30;
const LOW_IP = 0x34;
const IOF_EN = 0x38;
const IOF_SEL = 0x3c;
const OUT_XOR = 0x40;

export interface SifiveGpioOptions {
  /** Interrupt line of each pin (the number of pins is the number of lines, 1..32). */
  irqs: IrqLine[];
  /** Initial level of the host-driven pins (bit n = pin n; default all high, i.e. pulled up). */
  pins?: number;
  /** The guest read input_val: the value it got, and which pins were input-enabled. */
  onInputRead?: (value: number, inputEnabled: number) => void;
}

export interface SifiveGpioState {
  version: 1;
  pins: number;
  regs: Record<string, number>;
}

const STORED = [
  'inputEn',
  'outputEn',
  'outputVal',
  'pue',
  'ds',
  'riseIe',
  'riseIp',
  'fallIe',
  'fallIp',
  'highIe',
  'highIp',
  'lowIe',
  'lowIp',
  'iofEn',
  'iofSel',
  'outXor',
] as const;
type StoredReg = (typeof STORED)[number];

export class SifiveGpio implements MmioDevice, Snapshottable<SifiveGpioState> {
  readonly size = SIFIVE_GPIO_SIZE;
  readonly pinCount: number;
  private readonly mask: number;
  private readonly irqs: IrqLine[];
  private readonly irqLevel: boolean[];
  private readonly onInputRead: ((value: number, inputEnabled: number) => void) | undefined;
  /** Levels the host drives on the pins. */
  private pins: number;
  /** The level each pin had at the last evaluation (for edge detection). */
  private level: number;
  private readonly r: Record<StoredReg, number> = {
    inputEn: 0,
    outputEn: 0,
    outputVal: 0,
    pue: 0,
    ds: 0,
    riseIe: 0,
    riseIp: 0,
    fallIe: 0,
    fallIp: 0,
    highIe: 0,
    highIp: 0,
    lowIe: 0,
    lowIp: 0,
    iofEn: 0,
    iofSel: 0,
    outXor: 0,
  };

  constructor(opts: SifiveGpioOptions) {
    const n = opts.irqs.length;
    if (n < 1 || n > SIFIVE_GPIO_MAX_PINS) {
      throw new RangeError(`sifive-gpio: 1 to ${SIFIVE_GPIO_MAX_PINS} pins, got ${n}`);
    }
    this.pinCount = n;
    this.mask = n === 32 ? 0xffff_ffff : (1 << n) - 1;
    this.irqs = opts.irqs;
    this.irqLevel = opts.irqs.map(() => false);
    this.onInputRead = opts.onInputRead;
    this.pins = (opts.pins ?? 0xffff_ffff) & this.mask;
    this.level = this.effective();
    this.latchLevels();
  }

  // ---- host side -----------------------------------------------------------

  /** Drive pin `n` high (true) or low (false). */
  setPin(n: number, high: boolean): void {
    if (!Number.isInteger(n) || n < 0 || n >= this.pinCount) {
      throw new RangeError(`sifive-gpio: no pin ${n}`);
    }
    const bit = 1 << n;
    this.pins = (high ? this.pins | bit : this.pins & ~bit) & this.mask;
    this.evaluate();
  }

  /** The level the host drives on pin `n`. */
  pin(n: number): boolean {
    return ((this.pins >>> n) & 1) === 1;
  }

  // ---- model -----------------------------------------------------------------

  /** Pin levels as the controller sees them: outputs drive their own pins. */
  private effective(): number {
    const out = (this.r.outputVal ^ this.r.outXor) & this.r.outputEn;
    return ((this.pins & ~this.r.outputEn) | out) & this.mask;
  }

  private latchLevels(): void {
    this.r.highIp |= this.level;
    this.r.lowIp |= ~this.level & this.mask;
  }

  private evaluate(): void {
    const now = this.effective();
    const changed = now ^ this.level;
    this.r.riseIp |= changed & now;
    this.r.fallIp |= changed & ~now & this.mask;
    this.level = now;
    this.latchLevels();
    this.updateIrqs();
  }

  private updateIrqs(): void {
    const r = this.r;
    const active =
      (r.riseIp & r.riseIe) | (r.fallIp & r.fallIe) | (r.highIp & r.highIe) | (r.lowIp & r.lowIe);
    for (let n = 0; n < this.pinCount; n++) {
      const lvl = ((active >>> n) & 1) === 1;
      if (lvl !== this.irqLevel[n]) {
        this.irqLevel[n] = lvl;
        this.irqs[n]!.set(lvl);
      }
    }
  }

  // ---- MMIO ------------------------------------------------------------------

  read(offset: number, width: AccessWidth): number {
    if (width !== 4 || (offset & 3) !== 0) return 0;
    const r = this.r;
    switch (offset) {
      case INPUT_VAL: {
        const v = (this.level & r.inputEn) >>> 0;
        this.onInputRead?.(v, r.inputEn >>> 0);
        return v;
      }
      case INPUT_EN:
        return r.inputEn >>> 0;
      case OUTPUT_EN:
        return r.outputEn >>> 0;
      case OUTPUT_VAL:
        return r.outputVal >>> 0;
      case PUE:
        return r.pue >>> 0;
      case DS:
        return r.ds >>> 0;
      case RISE_IE:
        return r.riseIe >>> 0;
      case RISE_IP:
        return r.riseIp >>> 0;
      case FALL_IE:
        return r.fallIe >>> 0;
      case FALL_IP:
        return r.fallIp >>> 0;
      case HIGH_IE:
        return r.highIe >>> 0;
      case HIGH_IP:
        return r.highIp >>> 0;
      case LOW_IE:
        return r.lowIe >>> 0;
      case LOW_IP:
        return r.lowIp >>> 0;
      case IOF_EN:
        return r.iofEn >>> 0;
      case IOF_SEL:
        return r.iofSel >>> 0;
      case OUT_XOR:
        return r.outXor >>> 0;
      default:
        return 0;
    }
  }

  write(offset: number, width: AccessWidth, value: number): void {
    if (width !== 4 || (offset & 3) !== 0) return;
    const v = value & this.mask;
    const r = this.r;
    switch (offset) {
      case INPUT_EN:
        r.inputEn = v;
        break;
      case OUTPUT_EN:
        r.outputEn = v;
        break;
      case OUTPUT_VAL:
        r.outputVal = v;
        break;
      case PUE:
        r.pue = v;
        break;
      case DS:
        r.ds = v;
        break;
      case RISE_IE:
        r.riseIe = v;
        break;
      case RISE_IP:
        r.riseIp &= ~v;
        break;
      case FALL_IE:
        r.fallIe = v;
        break;
      case FALL_IP:
        r.fallIp &= ~v;
        break;
      case HIGH_IE:
        r.highIe = v;
        break;
      case HIGH_IP:
        r.highIp &= ~v;
        break;
      case LOW_IE:
        r.lowIe = v;
        break;
      case LOW_IP:
        r.lowIp &= ~v;
        break;
      case IOF_EN:
        r.iofEn = v;
        break;
      case IOF_SEL:
        r.iofSel = v;
        break;
      case OUT_XOR:
        r.outXor = v;
        break;
      default:
        return; // input_val is read-only; unknown offsets are ignored
    }
    this.evaluate();
  }

  // ---- snapshot --------------------------------------------------------------

  save(): SifiveGpioState {
    return { version: 1, pins: this.pins >>> 0, regs: { ...this.r, level: this.level >>> 0 } };
  }

  restore(s: SifiveGpioState): void {
    if (s.version !== 1) throw new Error(`sifive-gpio: unsupported state version ${s.version}`);
    const num = (x: unknown): number =>
      typeof x === 'number' && Number.isFinite(x) ? x & this.mask : 0;
    for (const k of STORED) this.r[k] = num(s.regs[k]);
    this.pins = num(s.pins);
    this.level = num(s.regs['level']);
    this.evaluate();
  }
}

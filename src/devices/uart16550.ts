/**
 * NS16550A UART, register-compatible with what Linux's 8250 driver expects.
 *
 * Registers (byte offsets, reg-shift 0):
 *   0  RBR (read) / THR (write)      DLL when LCR.DLAB = 1
 *   1  IER                           DLM when LCR.DLAB = 1
 *   2  IIR (read) / FCR (write)
 *   3  LCR
 *   4  MCR
 *   5  LSR
 *   6  MSR
 *   7  SCR
 *
 * Transmission is instantaneous: each THR write is handed to `onTransmit`, so
 * THR and the transmitter are always empty (LSR.THRE = LSR.TEMT = 1). The
 * THRE interrupt is raised when ETBEI goes from 0 to 1 (THR being empty) and
 * after each THR write; it is cleared by reading IIR while it is the reported
 * source, or by writing THR.
 *
 * Receive side: a FIFO (16 bytes by default, as on the real chip; 1 byte in
 * 16450 mode) filled by `pushInput`, which accepts only what fits and returns
 * the count (back-pressure). `onRxSpace` fires when room appears after a
 * push was refused. With FIFOs enabled, "received data available" (IIR 0x4)
 * is reported at or above the FCR trigger level, and the character time-out
 * indication (IIR 0xC) is reported at once for data below it (there is no
 * real line timing to wait for).
 *
 * Loopback (MCR.LOOP): transmitted bytes go to the receiver instead of
 * `onTransmit`, and MSR reflects MCR (RTS->CTS, DTR->DSR, OUT1->RI,
 * OUT2->DCD). Outside loopback the modem inputs read as CTS, DSR and DCD
 * asserted.
 *
 * Interrupt priority (highest first): receiver line status (overrun/break),
 * received data / time-out, THR empty, modem status. The output line is high
 * whenever IIR reports a source; MCR.OUT2 does not gate it (the board wires
 * the output straight to the PLIC).
 *
 * Any other offset reads 0 and ignores writes; wider accesses act on the
 * byte at `offset` (upper bytes read 0).
 */

import type { AccessWidth, IrqLine, MmioDevice, Snapshottable } from '../machine/device.js';

export const UART_SIZE = 0x100;
/** Input clock used by the device tree (clock-frequency). */
export const UART_CLOCK_HZ = 3686400;

// IER bits
const IER_ERBFI = 0x01;
const IER_ETBEI = 0x02;
const IER_ELSI = 0x04;
const IER_EDSSI = 0x08;
// IIR values
const IIR_NONE = 0x01;
const IIR_RLS = 0x06;
const IIR_RDA = 0x04;
const IIR_CTI = 0x0c;
const IIR_THRE = 0x02;
const IIR_MSI = 0x00;
const IIR_FIFO = 0xc0;
// FCR bits
const FCR_ENABLE = 0x01;
const FCR_CLEAR_RX = 0x02;
// LCR
const LCR_DLAB = 0x80;
// MCR
const MCR_DTR = 0x01;
const MCR_RTS = 0x02;
const MCR_OUT1 = 0x04;
const MCR_OUT2 = 0x08;
const MCR_LOOP = 0x10;
// LSR
const LSR_DR = 0x01;
const LSR_OE = 0x02;
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;
const LSR_ERR_MASK = 0x1e; // OE PE FE BI
// MSR
const MSR_DCTS = 0x01;
const MSR_DDSR = 0x02;
const MSR_TERI = 0x04;
const MSR_DDCD = 0x08;
const MSR_CTS = 0x10;
const MSR_DSR = 0x20;
const MSR_RI = 0x40;
const MSR_DCD = 0x80;

/** The real chip's FIFO depth; loopback (used by driver probes) never holds more. */
const HW_FIFO = 16;
const TRIGGER_LEVELS = [1, 4, 8, 14];

export interface Uart16550Options {
  /** Interrupt output (to a PLIC source). */
  irq?: IrqLine;
  /** Called for each transmitted byte (outside loopback). */
  onTransmit?: (byte: number) => void;
  /** Called when receive room appears after `pushInput` refused some bytes. */
  onRxSpace?: () => void;
  /** Receive FIFO depth in FIFO mode, at least 16 (default 16). */
  rxFifoSize?: number;
}

export interface Uart16550State {
  version: 1;
  rx: number[];
  ier: number;
  lcr: number;
  mcr: number;
  lsrErr: number;
  msrDelta: number;
  scr: number;
  dll: number;
  dlm: number;
  fifoEnabled: boolean;
  trigger: number;
  thrIpending: boolean;
}

export class Uart16550 implements MmioDevice, Snapshottable<Uart16550State> {
  readonly size = UART_SIZE;
  private readonly irq: IrqLine | undefined;
  onTransmit: ((byte: number) => void) | undefined;
  onRxSpace: (() => void) | undefined;
  private readonly fifoSize: number;

  private rx: Uint8Array;
  private rxHead = 0;
  private rxCount = 0;
  private rxBlocked = false;

  private ier = 0;
  private lcr = 0;
  private mcr = 0;
  private lsrErr = 0;
  private msrDelta = 0;
  private scr = 0;
  private dll = 0;
  private dlm = 0;
  private fifoEnabled = false;
  private trigger = 1;
  private thrIpending = false;
  private irqLevel = false;

  constructor(opts: Uart16550Options = {}) {
    this.irq = opts.irq;
    this.onTransmit = opts.onTransmit;
    this.onRxSpace = opts.onRxSpace;
    const size = Math.floor(opts.rxFifoSize ?? HW_FIFO);
    this.fifoSize = Number.isFinite(size) && size > HW_FIFO ? size : HW_FIFO;
    this.rx = new Uint8Array(this.fifoSize);
  }

  // ---- host side -------------------------------------------------------

  /**
   * Has the guest driver enabled receive interrupts? Before that (and across
   * the FIFO reset a driver does when it opens the port) bytes would be lost,
   * so hosts hold input back until this is true.
   */
  receiverReady(): boolean {
    return (this.ier & IER_ERBFI) !== 0;
  }

  /** Bytes `pushInput` would accept now. */
  rxSpace(): number {
    if (this.mcr & MCR_LOOP) return 0; // receiver is disconnected from the line
    return this.capacity() - this.rxCount;
  }

  /** Queue received bytes; returns how many were accepted (the rest must be retried). */
  pushInput(bytes: Uint8Array): number {
    const n = Math.min(bytes.length, this.rxSpace());
    for (let i = 0; i < n; i++) this.rxPush(bytes[i]!);
    if (n < bytes.length) this.rxBlocked = true;
    if (n > 0) this.update();
    return n;
  }

  // ---- FIFO helpers ------------------------------------------------------

  private capacity(): number {
    if (!this.fifoEnabled) return 1;
    return this.mcr & MCR_LOOP ? HW_FIFO : this.fifoSize;
  }

  private rxPush(b: number): void {
    this.rx[(this.rxHead + this.rxCount) % this.rx.length] = b;
    this.rxCount++;
  }

  private rxClear(): void {
    this.rxHead = 0;
    this.rxCount = 0;
    this.signalSpace();
  }

  private signalSpace(): void {
    if (this.rxBlocked && this.rxSpace() > 0) {
      this.rxBlocked = false;
      this.onRxSpace?.();
    }
  }

  private rxPop(): number {
    if (this.rxCount === 0) return 0;
    const b = this.rx[this.rxHead]!;
    this.rxHead = (this.rxHead + 1) % this.rx.length;
    this.rxCount--;
    return b;
  }

  // ---- status ------------------------------------------------------------

  private lsr(): number {
    return (this.rxCount > 0 ? LSR_DR : 0) | this.lsrErr | LSR_THRE | LSR_TEMT;
  }

  private modemInputs(): number {
    if (this.mcr & MCR_LOOP) {
      const m = this.mcr;
      return (
        (m & MCR_RTS ? MSR_CTS : 0) |
        (m & MCR_DTR ? MSR_DSR : 0) |
        (m & MCR_OUT1 ? MSR_RI : 0) |
        (m & MCR_OUT2 ? MSR_DCD : 0)
      );
    }
    return MSR_CTS | MSR_DSR | MSR_DCD;
  }

  /** Interrupt identification (without the FIFO bits) of the highest-priority pending source. */
  private iid(): number {
    const ier = this.ier;
    if (ier & IER_ELSI && this.lsrErr & LSR_ERR_MASK) return IIR_RLS;
    if (ier & IER_ERBFI && this.rxCount > 0) {
      if (!this.fifoEnabled || this.rxCount >= this.trigger) return IIR_RDA;
      return IIR_CTI;
    }
    if (ier & IER_ETBEI && this.thrIpending) return IIR_THRE;
    if (ier & IER_EDSSI && this.msrDelta !== 0) return IIR_MSI;
    return IIR_NONE;
  }

  private update(): void {
    const lvl = this.iid() !== IIR_NONE;
    if (lvl !== this.irqLevel) {
      this.irqLevel = lvl;
      this.irq?.set(lvl);
    }
  }

  private setModemDeltas(oldIn: number, newIn: number): void {
    const changed = oldIn ^ newIn;
    if (changed & MSR_CTS) this.msrDelta |= MSR_DCTS;
    if (changed & MSR_DSR) this.msrDelta |= MSR_DDSR;
    if (changed & MSR_DCD) this.msrDelta |= MSR_DDCD;
    if (oldIn & MSR_RI && !(newIn & MSR_RI)) this.msrDelta |= MSR_TERI;
  }

  // ---- MMIO ------------------------------------------------------------------

  read(offset: number, _width: AccessWidth): number {
    switch (offset) {
      case 0: {
        if (this.lcr & LCR_DLAB) return this.dll;
        const b = this.rxPop();
        this.signalSpace();
        this.update();
        return b;
      }
      case 1:
        return this.lcr & LCR_DLAB ? this.dlm : this.ier;
      case 2: {
        const id = this.iid();
        if (id === IIR_THRE) {
          this.thrIpending = false;
          this.update();
        }
        return id | (this.fifoEnabled ? IIR_FIFO : 0);
      }
      case 3:
        return this.lcr;
      case 4:
        return this.mcr;
      case 5: {
        const v = this.lsr();
        if (this.lsrErr !== 0) {
          this.lsrErr = 0;
          this.update();
        }
        return v;
      }
      case 6: {
        const v = this.modemInputs() | this.msrDelta;
        if (this.msrDelta !== 0) {
          this.msrDelta = 0;
          this.update();
        }
        return v;
      }
      case 7:
        return this.scr;
      default:
        return 0;
    }
  }

  write(offset: number, _width: AccessWidth, value: number): void {
    const v = value & 0xff;
    switch (offset) {
      case 0:
        if (this.lcr & LCR_DLAB) this.dll = v;
        else this.transmit(v);
        break;
      case 1:
        if (this.lcr & LCR_DLAB) {
          this.dlm = v;
        } else {
          const old = this.ier;
          this.ier = v & 0x0f;
          if (this.ier & IER_ETBEI && !(old & IER_ETBEI)) this.thrIpending = true;
          else if (!(this.ier & IER_ETBEI)) this.thrIpending = false;
          this.update();
        }
        break;
      case 2:
        this.writeFcr(v);
        break;
      case 3:
        this.lcr = v;
        break;
      case 4: {
        const oldIn = this.modemInputs();
        const wasLoop = (this.mcr & MCR_LOOP) !== 0;
        this.mcr = v & 0x1f;
        this.setModemDeltas(oldIn, this.modemInputs());
        if (wasLoop && !(this.mcr & MCR_LOOP)) this.signalSpace();
        this.update();
        break;
      }
      case 7:
        this.scr = v;
        break;
      default:
        break; // LSR, MSR (factory test registers) and unknown offsets: ignored
    }
  }

  private transmit(b: number): void {
    if (this.mcr & MCR_LOOP) {
      if (this.rxCount < this.capacity()) this.rxPush(b);
      else this.lsrErr |= LSR_OE;
    } else {
      this.onTransmit?.(b);
    }
    // The byte left THR at once: THR is empty again.
    this.thrIpending = (this.ier & IER_ETBEI) !== 0;
    this.update();
  }

  private writeFcr(v: number): void {
    const enable = (v & FCR_ENABLE) !== 0;
    if (enable !== this.fifoEnabled) {
      this.fifoEnabled = enable;
      this.rxClear();
    }
    if (enable) {
      if (v & FCR_CLEAR_RX) this.rxClear();
      // FCR_CLEAR_TX: the transmit FIFO is always empty.
      this.trigger = TRIGGER_LEVELS[(v >>> 6) & 3]!;
    }
    this.update();
  }

  // ---- snapshot --------------------------------------------------------------

  save(): Uart16550State {
    const rx: number[] = [];
    for (let i = 0; i < this.rxCount; i++) rx.push(this.rx[(this.rxHead + i) % this.rx.length]!);
    return {
      version: 1,
      rx,
      ier: this.ier,
      lcr: this.lcr,
      mcr: this.mcr,
      lsrErr: this.lsrErr,
      msrDelta: this.msrDelta,
      scr: this.scr,
      dll: this.dll,
      dlm: this.dlm,
      fifoEnabled: this.fifoEnabled,
      trigger: this.trigger,
      thrIpending: this.thrIpending,
    };
  }

  restore(s: Uart16550State): void {
    if (s.version !== 1) throw new Error(`uart16550: unsupported state version ${s.version}`);
    this.ier = s.ier & 0x0f;
    this.lcr = s.lcr & 0xff;
    this.mcr = s.mcr & 0x1f;
    this.lsrErr = s.lsrErr & LSR_ERR_MASK;
    this.msrDelta = s.msrDelta & 0x0f;
    this.scr = s.scr & 0xff;
    this.dll = s.dll & 0xff;
    this.dlm = s.dlm & 0xff;
    this.fifoEnabled = !!s.fifoEnabled;
    this.trigger = TRIGGER_LEVELS.includes(s.trigger) ? s.trigger : 1;
    this.thrIpending = !!s.thrIpending;
    this.rxHead = 0;
    this.rxCount = 0;
    const cap = this.capacity();
    for (const b of s.rx.slice(0, cap)) this.rxPush(b & 0xff);
    this.rxBlocked = false;
    this.irqLevel = this.iid() !== IIR_NONE;
    this.irq?.set(this.irqLevel);
  }
}

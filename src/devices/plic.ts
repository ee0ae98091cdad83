/**
 * PLIC (platform-level interrupt controller), following the RISC-V PLIC
 * specification's memory map, with sources 1..95 and two contexts for one
 * hart: context 0 = M-mode (drives MEIP), context 1 = S-mode (drives SEIP).
 *
 *   0x000000 + 4*src          priority of source `src` (0 = never interrupts)
 *   0x001000 + 4*word         pending bits (read-only)
 *   0x002000 + 0x80*ctx + 4*w enable bits of context `ctx`
 *   0x200000 + 0x1000*ctx     priority threshold of context `ctx`
 *   0x200004 + 0x1000*ctx     claim (read) / complete (write)
 *
 * Sources are level-triggered. The gateway forwards a request while the line
 * is high and the source is not claimed; once claimed, the source is gated
 * until the target writes its id to complete, after which a still-high line
 * becomes pending again. A line dropping before the claim withdraws the
 * request (the pending bit follows the level while not claimed), so guests
 * don't see stale interrupts from devices whose condition was already
 * cleared.
 *
 * Registers are 32-bit: accesses that are not 4 bytes wide and 4-byte aligned
 * read 0 and are ignored on write.
 */

import type { AccessWidth, IrqLine, MmioDevice, Snapshottable } from '../machine/device.js';

export const PLIC_SIZE = 0x600000;
export const PLIC_NUM_SOURCES = 95;
export const PLIC_NUM_CONTEXTS = 2;
/** Priorities and thresholds are 3-bit (0..7). */
export const PLIC_MAX_PRIORITY = 7;

const WORDS = (PLIC_NUM_SOURCES + 1 + 31) >>> 5; // 3
/** Bits of valid sources in each word (bit 0 of word 0 is source 0, hardwired to 0). */
const VALID_MASK: number[] = Array.from({ length: WORDS }, (_, w) => {
  let m = 0;
  for (let b = 0; b < 32; b++) {
    const id = w * 32 + b;
    if (id >= 1 && id <= PLIC_NUM_SOURCES) m |= 1 << b;
  }
  return m >>> 0;
});

const PENDING_BASE = 0x1000;
const ENABLE_BASE = 0x2000;
const ENABLE_STRIDE = 0x80;
const CONTEXT_BASE = 0x200000;
const CONTEXT_STRIDE = 0x1000;

export interface PlicState {
  version: 1;
  priority: number[]; // index = source id (0 unused)
  pending: number[]; // WORDS words
  claimed: number[];
  level: number[];
  enable: number[][]; // [ctx][word]
  threshold: number[]; // [ctx]
}

export class Plic implements MmioDevice, Snapshottable<PlicState> {
  readonly size = PLIC_SIZE;
  private readonly priority = new Uint32Array(PLIC_NUM_SOURCES + 1);
  private readonly pending = new Uint32Array(WORDS);
  private readonly claimed = new Uint32Array(WORDS);
  private readonly level = new Uint32Array(WORDS);
  private readonly enable: Uint32Array[] = [];
  private readonly threshold = new Uint32Array(PLIC_NUM_CONTEXTS);
  private readonly outLevel: boolean[] = [];
  private readonly lines: IrqLine[] = [];

  /** `outputs[ctx]` is the hart input context `ctx` drives (0: MEIP, 1: SEIP). */
  constructor(private readonly outputs: readonly IrqLine[]) {
    if (outputs.length !== PLIC_NUM_CONTEXTS) {
      throw new Error(`plic: need ${PLIC_NUM_CONTEXTS} context outputs`);
    }
    for (let c = 0; c < PLIC_NUM_CONTEXTS; c++) {
      this.enable.push(new Uint32Array(WORDS));
      this.outLevel.push(false);
    }
    for (let id = 0; id <= PLIC_NUM_SOURCES; id++) {
      const n = id;
      this.lines.push({ set: (lvl: boolean) => this.setLevel(n, lvl) });
    }
  }

  /** The input line of source `n` (1..95). */
  sourceLine(n: number): IrqLine {
    if (!Number.isInteger(n) || n < 1 || n > PLIC_NUM_SOURCES) {
      throw new RangeError(`plic: no source ${n}`);
    }
    return this.lines[n]!;
  }

  /** Current output level of context `ctx` (for tests and the run loop). */
  contextLevel(ctx: number): boolean {
    return this.outLevel[ctx] ?? false;
  }

  private setLevel(id: number, high: boolean): void {
    const w = id >>> 5;
    const bit = 1 << (id & 31);
    const was = (this.level[w]! & bit) !== 0;
    if (was === high) return;
    if (high) this.level[w]! |= bit;
    else this.level[w]! &= ~bit;
    if ((this.claimed[w]! & bit) === 0) {
      if (high) this.pending[w]! |= bit;
      else this.pending[w]! &= ~bit;
      this.update();
    }
  }

  /** Best pending, enabled source for `ctx` with priority above the threshold; 0 if none. */
  private best(ctx: number): number {
    const en = this.enable[ctx]!;
    const thr = this.threshold[ctx]!;
    let bestId = 0;
    let bestPrio = thr;
    for (let w = 0; w < WORDS; w++) {
      let bits = this.pending[w]! & en[w]!;
      while (bits !== 0) {
        const b = 31 - Math.clz32(bits & -bits);
        bits &= bits - 1;
        const id = w * 32 + b;
        const p = this.priority[id]!;
        if (p > bestPrio) {
          bestPrio = p;
          bestId = id;
        }
      }
    }
    return bestId;
  }

  private update(): void {
    for (let c = 0; c < PLIC_NUM_CONTEXTS; c++) {
      const lvl = this.best(c) !== 0;
      if (lvl !== this.outLevel[c]) {
        this.outLevel[c] = lvl;
        this.outputs[c]!.set(lvl);
      }
    }
  }

  private claim(ctx: number): number {
    const id = this.best(ctx);
    if (id !== 0) {
      const w = id >>> 5;
      const bit = 1 << (id & 31);
      this.pending[w]! &= ~bit;
      this.claimed[w]! |= bit;
      this.update();
    }
    return id;
  }

  private complete(ctx: number, id: number): void {
    if (!Number.isInteger(id) || id < 1 || id > PLIC_NUM_SOURCES) return;
    const w = id >>> 5;
    const bit = 1 << (id & 31);
    // Silently ignored unless the source is enabled for this target and in flight.
    if ((this.enable[ctx]![w]! & bit) === 0 || (this.claimed[w]! & bit) === 0) return;
    this.claimed[w]! &= ~bit;
    if ((this.level[w]! & bit) !== 0) this.pending[w]! |= bit;
    this.update();
  }

  read(offset: number, width: AccessWidth): number {
    if (width !== 4 || (offset & 3) !== 0 || offset < 0 || offset >= this.size) return 0;
    if (offset < PENDING_BASE) {
      const id = offset >>> 2;
      return id <= PLIC_NUM_SOURCES ? this.priority[id]! : 0;
    }
    if (offset < ENABLE_BASE) {
      const w = (offset - PENDING_BASE) >>> 2;
      return w < WORDS ? this.pending[w]! >>> 0 : 0;
    }
    if (offset < CONTEXT_BASE) {
      const rel = offset - ENABLE_BASE;
      const ctx = Math.floor(rel / ENABLE_STRIDE);
      const w = (rel % ENABLE_STRIDE) >>> 2;
      if (ctx >= PLIC_NUM_CONTEXTS || w >= WORDS) return 0;
      return this.enable[ctx]![w]! >>> 0;
    }
    const rel = offset - CONTEXT_BASE;
    const ctx = Math.floor(rel / CONTEXT_STRIDE);
    const reg = rel % CONTEXT_STRIDE;
    if (ctx >= PLIC_NUM_CONTEXTS) return 0;
    if (reg === 0) return this.threshold[ctx]!;
    if (reg === 4) return this.claim(ctx);
    return 0;
  }

  write(offset: number, width: AccessWidth, value: number): void {
    if (width !== 4 || (offset & 3) !== 0 || offset < 0 || offset >= this.size) return;
    value >>>= 0;
    if (offset < PENDING_BASE) {
      const id = offset >>> 2;
      if (id >= 1 && id <= PLIC_NUM_SOURCES) {
        this.priority[id] = value & PLIC_MAX_PRIORITY;
        this.update();
      }
      return;
    }
    if (offset < ENABLE_BASE) return; // pending bits are read-only
    if (offset < CONTEXT_BASE) {
      const rel = offset - ENABLE_BASE;
      const ctx = Math.floor(rel / ENABLE_STRIDE);
      const w = (rel % ENABLE_STRIDE) >>> 2;
      if (ctx >= PLIC_NUM_CONTEXTS || w >= WORDS) return;
      this.enable[ctx]![w] = value & VALID_MASK[w]!;
      this.update();
      return;
    }
    const rel = offset - CONTEXT_BASE;
    const ctx = Math.floor(rel / CONTEXT_STRIDE);
    const reg = rel % CONTEXT_STRIDE;
    if (ctx >= PLIC_NUM_CONTEXTS) return;
    if (reg === 0) {
      this.threshold[ctx] = value & PLIC_MAX_PRIORITY;
      this.update();
    } else if (reg === 4) {
      this.complete(ctx, value);
    }
  }

  save(): PlicState {
    return {
      version: 1,
      priority: Array.from(this.priority),
      pending: Array.from(this.pending),
      claimed: Array.from(this.claimed),
      level: Array.from(this.level),
      enable: this.enable.map((e) => Array.from(e)),
      threshold: Array.from(this.threshold),
    };
  }

  restore(state: PlicState): void {
    if (state.version !== 1) throw new Error(`plic: unsupported state version ${state.version}`);
    const words = (dst: Uint32Array, src: readonly number[] | undefined, mask?: number[]): void => {
      for (let i = 0; i < dst.length; i++) {
        const v = (src?.[i] ?? 0) >>> 0;
        dst[i] = mask ? v & mask[i]! : v;
      }
    };
    for (let id = 0; id <= PLIC_NUM_SOURCES; id++) {
      this.priority[id] = id === 0 ? 0 : (state.priority[id] ?? 0) & PLIC_MAX_PRIORITY;
    }
    words(this.pending, state.pending, VALID_MASK);
    words(this.claimed, state.claimed, VALID_MASK);
    words(this.level, state.level, VALID_MASK);
    for (let c = 0; c < PLIC_NUM_CONTEXTS; c++) {
      words(this.enable[c]!, state.enable[c], VALID_MASK);
      this.threshold[c] = (state.threshold[c] ?? 0) & PLIC_MAX_PRIORITY;
    }
    for (let c = 0; c < PLIC_NUM_CONTEXTS; c++) {
      const lvl = this.best(c) !== 0;
      this.outLevel[c] = lvl;
      this.outputs[c]!.set(lvl);
    }
  }
}

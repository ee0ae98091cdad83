// The core's side of the JIT (the translator itself is host code, src/jit).
//
// Block entries are counted by the linear-memory address of their first
// instruction (physical pc + a constant); an entry that becomes hot is hart.jitQueued
// for the host, which compiles it into a wasm function sharing this memory
// and installs it in the exported function table. A translation never bakes
// in the virtual pc (it is a parameter) and reads the TLB tables selected at
// run time, so one translation of a physical page serves every mapping and
// privilege level that may fetch it.
//
// Translated function: (vpc: i64, n: i32) -> i32. It runs at most n
// instructions (the dispatcher only calls it when n >= its maximum length),
// returns the budget left and leaves the next pc in jitPc; when an
// instruction faults, excCause is set and jitPc is the faulting pc.

import * as S from './state';
import { hart } from './state';
import * as M from './mmu';
import { tlbLookup, loadSlow, storeSlow, extendLoad } from './mmu';
import { pageGen, pageHeat, markCodePage, codePagesReset } from './codepages';
import { mul128 } from './fpu';
import * as F from './fpu';
import { execFp } from './fp';
import { decode, Op } from '../../build/decoder';
import * as C from './csr';
import { bitmanip } from './bitmanip';

export let jitOn: bool = false;
// The host enabled the JIT; jitOn is that unless a debugger paused it.
let jitWanted: bool = false;
let jitPaused: bool = false;
export let jitPc: u64 = 0;
// Set by the slow-path helpers: 0 go on, 1 the access faulted, 2 stop after this instruction.
// Zero whenever translated code is entered.
export let jitStatus: i32 = 0;
// Set by a store that hit a page with translations.
export let jitCodeWritten: bool = false;

let threshold: u32 = 50;
// Entries a page must see before its entries are counted one by one (a
// quarter of the threshold: a block that gets hot is delayed little).
let pageHot: u32 = 12;
// Leave run() as soon as an entry is hart.jitQueued, so it is translated before it
// runs at all (tests: every instruction of a program then runs translated).
let eager: bool = false;
// Instructions retired by translated code, and calls into it (for statistics).
export let jitRetired: u64 = 0;
export let jitCalls: u64 = 0;

const CACHE_BITS: u32 = S.JIT_CACHE_BITS;
const CACHE_MASK: usize = (1 << CACHE_BITS) - 1;
// Entry: tag (linear address of the block), page word it was made under,
// function index (0 = none), hit count (untranslated) or maximum length.
// (Both in the hart's block.)
const QUEUE_SIZE: u32 = S.JIT_QUEUE_SIZE;
@inline function jitCache(): usize {
  return S.hartAddr() + S.HART_JIT_CACHE;
}
@inline function jitQueueArea(): usize {
  return S.hartAddr() + S.HART_JIT_QUEUE;
}
const NEVER: u32 = 0xffff_ffff;

@inline function entryOf(host: usize): usize {
  return jitCache() + (((host >> 1) & CACHE_MASK) << 4);
}

/**
 * Run translated blocks from `pc` while they exist, budget `n` allows and
 * nothing needs the interpreter. Returns the budget left; the next pc is in jitPc.
 */
export function jitDispatch(pc: u64, n: i32): i32 {
  for (;;) {
    if ((<u32>pc & 0xfff) > 0xffc) break;
    const host = tlbLookup(M.fetchTable, pc, 1); // the check above keeps 4 bytes in the page
    if (host == 0) break;
    const page = (host - S.ramOffset) >> 12;
    // A page still cold is counted as a whole, not yet entry by entry (it
    // has no translations: they need entries counted to the threshold).
    const heat = pageHeat + (page << 2);
    const h = load<u32>(heat);
    if (h < pageHot) {
      store<u32>(heat, h + 1);
      break;
    }
    const current = load<u32>(pageGen + (page << 2));
    const e = entryOf(host);
    if (load<u32>(e) != <u32>host) {
      store<u32>(e, <u32>host);
      store<u32>(e, 0, 4);
      store<u32>(e, 0, 8);
      store<u32>(e, 0, 12);
    }
    const fn = load<u32>(e, 8);
    const word = load<u32>(e, 4);
    if (fn == 0 || word != current) {
      // A translation, or a refusal, made under an older page word is void.
      if (word != 0 && word != current) {
        store<u32>(e, 0, 4);
        store<u32>(e, 0, 8);
        store<u32>(e, 0, 12);
      }
      const c = load<u32>(e, 12);
      if (c != NEVER) {
        if (c + 1 >= threshold && hart.jitQueued < QUEUE_SIZE) {
          store<u32>(jitQueueArea() + (<usize>hart.jitQueued << 2), <u32>host);
          hart.jitQueued++;
          store<u32>(e, NEVER, 12);
          if (eager) {
            hart.exitRequest = S.EXIT_TRANSLATE;
            hart.attention = true;
          }
        } else {
          store<u32>(e, c + 1, 12);
        }
      }
      break;
    }
    if (n < <i32>load<u32>(e, 12)) break;
    const before = n;
    jitCalls++;
    n = call_indirect<i32>(fn, pc, n);
    jitRetired += <u64>(before - n);
    pc = jitPc;
    if (jitStatus != 0) {
      if (jitStatus == 2) {
        if (pendingRd != 0) store<u64>(S.xregBase() + (<usize>pendingRd << 3), pendingValue);
        pc += pendingLen;
      }
      jitStatus = 0;
      break;
    }
    if (hart.attention || n <= 0) break;
  }
  jitPc = pc;
  return n;
}

// ---- Host interface (src/jit) ----

export function jitEnable(on: bool, hot: u32, translateFirst: bool): void {
  jitWanted = on;
  jitOn = on && !jitPaused;
  eager = translateFirst;
  threshold = hot == 0 ? 1 : hot;
  pageHot = threshold >> 2;
}

/** While a debugger has breakpoints or watchpoints armed, translated code is not entered. */
export function jitPause(paused: bool): void {
  jitPaused = paused;
  jitOn = jitWanted && !paused;
}

export function jitQueue(): usize { return jitQueueArea(); }
export function jitInstructions(): u64 { return jitRetired; }
export function jitCallCount(): u64 { return jitCalls; }
export function jitQueued(): u32 { return hart.jitQueued; }
export function jitClearQueue(): void { hart.jitQueued = 0; }

/** Mark the page of `host` as code before reading it; returns the page word to install under (0 = don't). */
export function jitMarkCode(host: usize): u32 {
  const v = markCodePage(host);
  if (v != 0) M.dropStoreEntries(host & ~(<usize>0xfff));
  return v;
}

/** Install function `fn` for the block at `host` if its page is still unchanged since `word` was taken. */
export function jitInstall(host: usize, word: u32, fn: u32, maxLen: u32): bool {
  if (load<u32>(pageGen + (((host - S.ramOffset) >> 12) << 2)) != word) return false;
  const e = entryOf(host);
  store<u32>(e, <u32>host);
  store<u32>(e, word, 4);
  store<u32>(e, fn, 8);
  store<u32>(e, maxLen, 12);
  return true;
}

/**
 * The block at `host` is not worth translating while its page word is `word`
 * (0: not while this entry lasts).
 */
export function jitReject(host: usize, word: u32): void {
  const e = entryOf(host);
  if (load<u32>(e) != <u32>host) return;
  store<u32>(e, word, 4);
  store<u32>(e, 0, 8);
  store<u32>(e, NEVER, 12);
}

/**
 * The host evicted the functions in table slots [lo, hi): forget every entry
 * that calls one. Their blocks are counted again from zero and may be
 * translated anew.
 */
export function jitDropSlots(lo: u32, hi: u32): void {
  for (let i: usize = 0; i <= CACHE_MASK; i++) {
    const e = jitCache() + (i << 4);
    const fn = load<u32>(e, 8);
    if (fn >= lo && fn < hi) {
      store<u32>(e, 0, 4);
      store<u32>(e, 0, 8);
      store<u32>(e, 0, 12);
    }
  }
}

/** Forget every translation (the host is about to reuse the table). */
export function jitFlush(): void {
  memory.fill(jitCache(), 0, 16 << CACHE_BITS);
  hart.jitQueued = 0;
  codePagesReset();
}

// ---- Helpers called by translated code ----

// `info` describes the instruction: funct3 (bits 0-2), rd (bits 3-7), and
// bit 8 set for a 16-bit encoding. When the access must end the block after
// it (a device raised an interrupt, code was overwritten), the result and the
// pc step are left pending for the dispatcher, since the translated code
// leaves with its registers as before this instruction.

let pendingRd: u32 = 0;
let pendingValue: u64 = 0;
let pendingLen: u64 = 0;

@inline function stopAfter(info: u32, value: u64): void {
  jitStatus = 2;
  pendingRd = (info >> 3) & 31;
  pendingValue = value;
  pendingLen = (info & 0x100) != 0 ? 2 : 4;
}

export function jitLoad(va: u64, info: u32): u64 {
  const f3 = info & 7;
  const v = extendLoad(loadSlow(va, <u32>1 << (f3 & 3)), f3);
  if (hart.excCause >= 0) jitStatus = 1;
  else if (hart.attention) stopAfter(info, v);
  return v;
}

export function jitStore(va: u64, v: u64, info: u32): i32 {
  jitCodeWritten = false;
  storeSlow(va, <u32>1 << (info & 3), v);
  if (hart.excCause >= 0) jitStatus = 1;
  else if (hart.attention || jitCodeWritten) stopAfter(info & ~(<u32>0xf8), 0);
  return jitStatus;
}

/**
 * One F/D instruction, or a CSR instruction on fflags, frm or fcsr (`inst`,
 * expanded from `raw` if that is a 16-bit encoding), for translated code,
 * by the interpreter's own executors. The integer register it reads is
 * already in the register file and the one it writes (`xrd`, 0 if none) is
 * read back from there. Returns jitStatus: 0 done; 1 it trapped
 * (an illegal encoding, FS off, or a load/store fault, exactly as the
 * interpreter raises them); 2 it is done but the block must stop after it.
 */
export function jitFp(inst: u32, raw: u32, xrd: u32): i32 {
  // x0's slot may hold what an interpreted instruction "wrote" to x0 just
  // before translated code was entered; an FP load or store may read it.
  store<u64>(S.xregBase(), 0);
  jitCodeWritten = false;
  const op = decode(inst);
  let ok: bool;
  if (op >= Op.CSRRW && op <= Op.CSRRCI) {
    // fflags, frm or fcsr (the translator hands over no other CSR): FP state,
    // read and written as the interpreter does, FS check included.
    const rd = (inst >> 7) & 31;
    const rs1 = (inst >> 15) & 31;
    ok = C.csrInstruction((inst >> 12) & 7, inst >> 20, rs1, S.getX(rs1));
    if (ok && rd != 0) S.setX(rd, C.csrValue);
  } else {
    ok = execFp(op, inst);
  }
  if (!ok) S.raise(S.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw);
  if (hart.excCause >= 0) jitStatus = 1;
  // Stopping skips the block's epilogue write-back of the integer register
  // the instruction wrote (the block's copy of it is stale): hand it over.
  else if (hart.attention || jitCodeWritten) stopAfter(((raw & 3) != 3 ? 0x100 : 0) | (xrd << 3), S.getX(xrd));
  return jitStatus;
}

/**
 * a·b + c on binary64 bit patterns for translated code, where the host's
 * arithmetic gives it (fpu.ts hostFma64; the caller checked FS, the rounding
 * mode and the inexact flag); all ones otherwise, a NaN that hostFma64
 * never returns, and the caller's helper does the instruction.
 */
export function jitFma(a: u64, b: u64, c: u64): u64 {
  const r = F.hostFma64(a, b, c);
  return F.hostOk ? r : 0xffff_ffff_ffff_ffff;
}

// MULH (1), MULHSU (2), MULHU (3), DIV (4), DIVU (5), REM (6), REMU (7);
// +8: the W forms DIVW .. REMUW; then the bit manipulation instructions
// translated code leaves to the interpreter's executor: CLMUL (16),
// CLMULH (17), CLMULR (18), ORC.B (19), REV8 (20).
export function jitMulDiv(op: u32, a: u64, b: u64): u64 {
  switch (op) {
    case 1: { mul128(a, b); let r = F.wHi; if (<i64>a < 0) r -= b; if (<i64>b < 0) r -= a; return r; }
    case 2: { mul128(a, b); let r = F.wHi; if (<i64>a < 0) r -= b; return r; }
    case 3: { mul128(a, b); return F.wHi; }
    case 4:
      if (b == 0) return 0xffff_ffff_ffff_ffff;
      if (a == 0x8000_0000_0000_0000 && b == 0xffff_ffff_ffff_ffff) return a;
      return <u64>(<i64>a / <i64>b);
    case 5: return b == 0 ? 0xffff_ffff_ffff_ffff : a / b;
    case 6:
      if (b == 0) return a;
      if (a == 0x8000_0000_0000_0000 && b == 0xffff_ffff_ffff_ffff) return 0;
      return <u64>(<i64>a % <i64>b);
    case 7: return b == 0 ? a : a % b;
    case 12: {
      const x = <i32>a; const y = <i32>b;
      if (y == 0) return 0xffff_ffff_ffff_ffff;
      if (x == i32.MIN_VALUE && y == -1) return <u64><i64>x;
      return <u64><i64>(x / y);
    }
    case 13: {
      const x = <u32>a; const y = <u32>b;
      if (y == 0) return 0xffff_ffff_ffff_ffff;
      return <u64><i64><i32>(x / y);
    }
    case 14: {
      const x = <i32>a; const y = <i32>b;
      if (y == 0) return <u64><i64>x;
      if (x == i32.MIN_VALUE && y == -1) return 0;
      return <u64><i64>(x % y);
    }
    case 15: {
      const x = <u32>a; const y = <u32>b;
      if (y == 0) return <u64><i64><i32>x;
      return <u64><i64><i32>(x % y);
    }
    case 16: return bitmanip(Op.CLMUL, a, b, 0);
    case 17: return bitmanip(Op.CLMULH, a, b, 0);
    case 18: return bitmanip(Op.CLMULR, a, b, 0);
    case 19: return bitmanip(Op.ORC_B, a, 0, 0);
    case 20: return bitmanip(Op.REV8, a, 0, 0);
  }
  return 0;
}

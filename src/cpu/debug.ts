// Debugger stops: breakpoints and watchpoints a host debugger (the GDB
// stub, src/debug) sets on virtual addresses. They are not guest-visible
// triggers: a hit leaves run() with EXIT_DEBUG before the instruction
// executes, as GDB expects of RISC-V (it steps over a watchpoint itself).
//
// A VM without a debugger pays nothing: the checks sit on slow paths only.
// A page with a breakpoint never becomes the fetch page, so each of its
// fetches goes through fetchSlow, which checks; a page with a watchpoint
// never enters the load or store TLB, so each access to it takes
// loadSlow/storeSlow/atomicPointer, which check. While anything is armed
// translated code is not entered (it would skip both).

import { hart, raise, PRV_U, PRV_S, PRV_M, CAUSE_BREAKPOINT } from './state';

export const MAX_BREAKPOINTS: u32 = 64;
export const MAX_WATCHPOINTS: u32 = 16;

// The exception cause a hit raises through the usual helper path; it is no
// architectural cause, and exceptionTrap turns it into EXIT_DEBUG.
export const CAUSE_DEBUG_STOP: i64 = 0x7fff;

// What the last stop was (for the host's stop reply).
export const STOP_NONE: u32 = 0;
export const STOP_BREAK: u32 = 1;
export const STOP_WATCH_WRITE: u32 = 2;
export const STOP_WATCH_READ: u32 = 3;
export const STOP_WATCH_ACCESS: u32 = 4;

// Watchpoint kinds (bits): what accesses it stops on.
export const WATCH_READ: u32 = 1;
export const WATCH_WRITE: u32 = 2;

const BREAKS: usize = memory.data(<i32>MAX_BREAKPOINTS * 8, 8);
// Watchpoint: first byte, last byte (inclusive), kind.
const WATCHES: usize = memory.data(<i32>MAX_WATCHPOINTS * 24, 8);
let breakCount: u32 = 0;
let watchCount: u32 = 0;

export let breakArmed: bool = false;
export let watchArmed: bool = false;
// A stop was raised during this run() (exceptionTrap saw CAUSE_DEBUG_STOP).
export let stopPending: bool = false;
export let stopKind: u32 = STOP_NONE;
export let stopAddr: u64 = 0;
// A breakpoint at this pc is passed over once: resuming at a breakpoint
// must execute it rather than stop again at once.
export let passPc: u64 = 0xffff_ffff_ffff_ffff;
// Take no interrupts (the host sets this while single-stepping, so a step
// does not land in a handler).
export let noIrq: bool = false;

export function setNoIrq(on: bool): void {
  noIrq = on;
  // Interrupts held back meanwhile are looked at again.
  hart.attention = true;
}

export function setPassPc(pc: u64): void {
  passPc = pc;
}

/** Add (on) or remove a breakpoint at virtual address va; false if the table is full. */
export function setBreak(va: u64, on: bool): bool {
  for (let i: u32 = 0; i < breakCount; i++) {
    const at = BREAKS + (<usize>i << 3);
    if (load<u64>(at) != va) continue;
    if (!on) {
      breakCount--;
      store<u64>(at, load<u64>(BREAKS + (<usize>breakCount << 3)));
    }
    breakArmed = breakCount > 0;
    return true;
  }
  if (!on) return true;
  if (breakCount >= MAX_BREAKPOINTS) return false;
  store<u64>(BREAKS + (<usize>breakCount << 3), va);
  breakCount++;
  breakArmed = true;
  return true;
}

/** Add or remove a watchpoint on [va, va + len) for `kind` accesses; false if full or malformed. */
export function setWatch(va: u64, len: u64, kind: u32, on: bool): bool {
  if (len == 0 || len > 4096 || va + (len - 1) < va || kind == 0 || kind > 3) return false;
  const last = va + (len - 1);
  for (let i: u32 = 0; i < watchCount; i++) {
    const at = WATCHES + <usize>i * 24;
    if (load<u64>(at) != va || load<u64>(at, 8) != last || load<u32>(at, 16) != kind) continue;
    if (!on) {
      watchCount--;
      memory.copy(at, WATCHES + <usize>watchCount * 24, 24);
    }
    watchArmed = watchCount > 0;
    return true;
  }
  if (!on) return true;
  if (watchCount >= MAX_WATCHPOINTS) return false;
  const at = WATCHES + <usize>watchCount * 24;
  store<u64>(at, va);
  store<u64>(at, last, 8);
  store<u32>(at, kind, 16);
  watchCount++;
  watchArmed = true;
  return true;
}

export function clearAll(): void {
  breakCount = 0;
  watchCount = 0;
  breakArmed = false;
  watchArmed = false;
  passPc = 0xffff_ffff_ffff_ffff;
}

/** Does the page with virtual page number vpn hold a breakpoint? */
export function pageHasBreak(vpn: u64): bool {
  for (let i: u32 = 0; i < breakCount; i++) {
    if (load<u64>(BREAKS + (<usize>i << 3)) >> 12 == vpn) return true;
  }
  return false;
}

/** Fetch at va: raise a stop if a breakpoint is there (and it is not the one passed over). */
export function breakHit(va: u64): bool {
  if (va == passPc) {
    passPc = 0xffff_ffff_ffff_ffff;
    return false;
  }
  passPc = 0xffff_ffff_ffff_ffff;
  for (let i: u32 = 0; i < breakCount; i++) {
    if (load<u64>(BREAKS + (<usize>i << 3)) == va) {
      stopKind = STOP_BREAK;
      stopAddr = va;
      raise(<u64>CAUSE_DEBUG_STOP, va);
      return true;
    }
  }
  return false;
}

/** May the page at va enter the load/store TLB (it holds no watched byte)? */
export function pageUnwatched(va: u64): bool {
  const lo = va & ~(<u64>0xfff);
  const hi = lo + 0xfff;
  for (let i: u32 = 0; i < watchCount; i++) {
    const at = WATCHES + <usize>i * 24;
    if (load<u64>(at) <= hi && load<u64>(at, 8) >= lo) return false;
  }
  return true;
}

/** A data access of `size` bytes at va, reading and/or writing (`kind`): raise a stop if watched. */
export function watchHit(va: u64, size: u32, kind: u32): bool {
  const last = va + <u64>(size - 1);
  for (let i: u32 = 0; i < watchCount; i++) {
    const at = WATCHES + <usize>i * 24;
    const wk = load<u32>(at, 16);
    if ((wk & kind) == 0 || load<u64>(at) > last || load<u64>(at, 8) < va) continue;
    stopKind = wk == 3 ? STOP_WATCH_ACCESS : wk == WATCH_WRITE ? STOP_WATCH_WRITE : STOP_WATCH_READ;
    stopAddr = load<u64>(at);
    raise(<u64>CAUSE_DEBUG_STOP, va);
    return true;
  }
  return false;
}

/** exceptionTrap saw CAUSE_DEBUG_STOP: run() leaves before the instruction. */
export function noteStop(): void {
  stopPending = true;
  hart.attention = true;
}

/** run() is leaving for the stop: returns whether one was pending, and clears it. */
export function takeStop(): bool {
  const was = stopPending;
  stopPending = false;
  return was;
}

// ---- Sdtrig: the guest's own triggers ----
//
// Two triggers, each of type 6 (mcontrol6) or 15 (disabled), matching an
// address on execute, load or store in the privilege levels its m/s/u bits
// name, with match 0 (equal), 2 (at least) or 3 (below); the action is a
// breakpoint exception (cause 3, tval = the address) before the instruction
// executes or the access happens. They use the checks above: a page an
// execute trigger may match is never the fetch page, a page a load or store
// trigger may match never enters the data TLB. The other mcontrol6 fields
// are WARL zero: no debug mode (dmode, action 1), no chains, hit bits or
// sizes. tcontrol is there: a trigger fires in M-mode only while its mte
// bit is set, and a trap into M-mode clears it (keeping it in mpte until
// mret), so M-mode triggers do not catch their own trap handler. Sdtrig 1.0
// (debug spec chapter 5).

export const TRIGGERS: u32 = 2;
const TYPE_SHIFT: u64 = 60;
const TYPE_MCONTROL6: u64 = 6;
const TYPE_DISABLED: u64 = 15;
const MC_LOAD: u64 = 1;
const MC_STORE: u64 = 2;
const MC_EXECUTE: u64 = 4;
const MC_U: u64 = 8;
const MC_S: u64 = 16;
const MC_M: u64 = 64;
const MC_MATCH_SHIFT: u64 = 7;
/** tinfo: the types supported (bits 6 and 15), version 1 (Sdtrig 1.0) in bits 31:24. */
export const TINFO: u64 = (<u64>1 << 24) | (<u64>1 << 15) | (<u64>1 << 6);

export let trigExec: bool = false;
export let trigData: bool = false;

@inline function tdata1Of(i: u32): u64 {
  return i == 0 ? hart.tdata1a : hart.tdata1b;
}
@inline function tdata2Of(i: u32): u64 {
  return i == 0 ? hart.tdata2a : hart.tdata2b;
}

/** The value tdata1 takes when `v` is written: unsupported types and fields become what we have. */
export function legalTdata1(v: u64): u64 {
  if (v >> TYPE_SHIFT != TYPE_MCONTROL6) return TYPE_DISABLED << TYPE_SHIFT;
  let match = (v >> MC_MATCH_SHIFT) & 0xf;
  if (match != 2 && match != 3) match = 0;
  return (TYPE_MCONTROL6 << TYPE_SHIFT) | (match << MC_MATCH_SHIFT) |
    (v & (MC_M | MC_S | MC_U | MC_EXECUTE | MC_STORE | MC_LOAD));
}

/** Recompute which checks the triggers need (after a write or a state load). */
export function triggersChanged(): void {
  trigExec = false;
  trigData = false;
  for (let i: u32 = 0; i < TRIGGERS; i++) {
    const t = tdata1Of(i);
    if (t >> TYPE_SHIFT != TYPE_MCONTROL6 || (t & (MC_M | MC_S | MC_U)) == 0) continue;
    if ((t & MC_EXECUTE) != 0) trigExec = true;
    if ((t & (MC_LOAD | MC_STORE)) != 0) trigData = true;
  }
}

export function tdata1Write(v: u64): void {
  const t = legalTdata1(v);
  if (hart.tselect == 0) hart.tdata1a = t;
  else hart.tdata1b = t;
}

export function tdata2Write(v: u64): void {
  if (hart.tselect == 0) hart.tdata2a = v;
  else hart.tdata2b = v;
}

export function tselectWrite(v: u64): void {
  // WARL: only existing triggers can be selected.
  if (v < <u64>TRIGGERS) hart.tselect = v;
}

export function tdata1Read(): u64 {
  return tdata1Of(<u32>hart.tselect);
}
export function tdata2Read(): u64 {
  return tdata2Of(<u32>hart.tselect);
}

export const TCONTROL_MTE: u64 = 1 << 3;
export const TCONTROL_MPTE: u64 = 1 << 7;

/** A trap into M-mode: M-mode triggers wait until mret (mpte keeps mte). */
export function tcontrolTrap(): void {
  const t = hart.tcontrol;
  hart.tcontrol = (t & TCONTROL_MTE) != 0 ? TCONTROL_MPTE : 0;
}

/** mret: mte comes back from mpte. */
export function tcontrolMret(): void {
  const t = hart.tcontrol;
  hart.tcontrol = (t & TCONTROL_MPTE) | ((t & TCONTROL_MPTE) != 0 ? TCONTROL_MTE : 0);
}

@inline function privBit(): u64 {
  const p = hart.priv;
  return p == PRV_U ? MC_U : p == PRV_S ? MC_S : MC_M;
}

/** Does trigger i, armed for `kinds`, match the bytes [lo, hi] in the current privilege level? */
function triggerMatches(i: u32, kinds: u64, lo: u64, hi: u64): bool {
  const t = tdata1Of(i);
  if (t >> TYPE_SHIFT != TYPE_MCONTROL6 || (t & kinds) == 0 || (t & privBit()) == 0) return false;
  if (hart.priv == PRV_M && (hart.tcontrol & TCONTROL_MTE) == 0) return false;
  const a = tdata2Of(i);
  const match = (t >> MC_MATCH_SHIFT) & 0xf;
  if (match == 2) return hi >= a;
  if (match == 3) return lo < a;
  return lo <= a && a <= hi;
}

/** Could a trigger for `kinds` match anything in the page at `lo` (any privilege level)? */
function triggerInPage(kinds: u64, lo: u64): bool {
  for (let i: u32 = 0; i < TRIGGERS; i++) {
    const t = tdata1Of(i);
    if (t >> TYPE_SHIFT != TYPE_MCONTROL6 || (t & kinds) == 0) continue;
    const match = (t >> MC_MATCH_SHIFT) & 0xf;
    if (match != 0 || tdata2Of(i) >> 12 == lo >> 12) return true;
  }
  return false;
}

/** Fetch at va: a debugger's breakpoint stops, a guest trigger raises a breakpoint exception. */
export function fetchCheck(va: u64): bool {
  if (breakArmed && breakHit(va)) return true;
  if (!trigExec) return false;
  for (let i: u32 = 0; i < TRIGGERS; i++) {
    if (triggerMatches(i, MC_EXECUTE, va, va)) {
      raise(CAUSE_BREAKPOINT, va);
      return true;
    }
  }
  return false;
}

/** May the page at vpn be cached as the fetch page (no breakpoint or execute trigger can hit in it)? */
export function fetchPageFree(vpn: u64): bool {
  if (breakArmed && pageHasBreak(vpn)) return false;
  return !trigExec || !triggerInPage(MC_EXECUTE, vpn << 12);
}

/** A data access (`kind`: WATCH_READ and/or WATCH_WRITE): a watchpoint stops, a trigger raises. */
export function dataCheck(va: u64, size: u32, kind: u32): bool {
  if (watchArmed && watchHit(va, size, kind)) return true;
  if (!trigData) return false;
  const kinds: u64 = ((kind & WATCH_READ) != 0 ? MC_LOAD : 0) | ((kind & WATCH_WRITE) != 0 ? MC_STORE : 0);
  for (let i: u32 = 0; i < TRIGGERS; i++) {
    if (triggerMatches(i, kinds, va, va + <u64>(size - 1))) {
      raise(CAUSE_BREAKPOINT, va);
      return true;
    }
  }
  return false;
}

/** May the page at va enter the data TLB (no watchpoint, no load or store trigger can hit in it)? */
export function dataPageFree(va: u64): bool {
  if (watchArmed && !pageUnwatched(va)) return false;
  return !trigData || !triggerInPage(MC_LOAD | MC_STORE, va);
}

/** Is any check armed (translated code skips them, so it is not entered)? */
export function anyArmed(): bool {
  return breakArmed || watchArmed || trigExec || trigData;
}

/** The trigger state loaded from outside is one a hart can hold. */
export function triggerStateValid(): bool {
  return hart.tselect < <u64>TRIGGERS && legalTdata1(hart.tdata1a) == hart.tdata1a &&
    legalTdata1(hart.tdata1b) == hart.tdata1b &&
    (hart.tcontrol & ~(TCONTROL_MTE | TCONTROL_MPTE)) == 0;
}

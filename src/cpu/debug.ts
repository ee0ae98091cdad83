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

import { hart, raise } from './state';

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

// The hart as seen by the host: everything the machine layer may call.
// Values wider than 32 bits cross as i64 (BigInt on the JS side); none of
// these are on the per-instruction path.

import * as S from './state';
import { hart } from './state';
import * as C from './csr';
import * as M from './mmu';
import { run as runLoop } from './execute';
import { MIP_MSIP, MIP_MEIP, MIP_SEIP, PRV_M, PRV_S, PRV_U } from './state';
import { pmpReset, pmpStateValid, pmpChanged } from './pmp';

export { addMmioRange } from './mmu';
export {
  jitEnable, jitQueue, jitInstructions, jitCallCount, jitQueued, jitClearQueue, jitMarkCode, jitInstall, jitReject, jitFlush, jitDropSlots,
  jitLoad, jitStore, jitMulDiv, jitFp, jitFma, jitPc, jitStatus,
} from './jit';
export { loadTable, storeTable, tlbIndexMask } from './mmu';
import { codePagesInit, codePagesBytes, codeWrittenRange } from './codepages';
import { expandCompressed } from './compressed';
import { jitFlush as jitFlushEntries } from './jit';
import * as J from './jit';
import * as D from './debug';
import * as T from './trace';
import { decode } from '../../build/decoder';
import { lacking } from './extensions';
export { setDisabledExtensions } from './extensions';

// Linear memory (imported: the host creates it, so that it can be shared):
//   [0, __heap_base)        the core's constant data
//   hart block              HART_BYTES (state.ts)
//   guest RAM               from a 64 KiB boundary, + a 64 KiB guard page
//   code-page table         two words per RAM page (codepages.ts)
// Each part's offset follows from the RAM size alone, so layout() and init()
// compute the same plan.
@inline function hartBlock(): usize {
  return (__heap_base + 63) & ~(<usize>63);
}
@inline function ramStart(): usize {
  return (hartBlock() + S.HART_BYTES + 0xffff) & ~(<usize>0xffff);
}
// A guard page after RAM keeps 4-byte fetches at its very end inside memory.
@inline function tableStart(ramBytes: u32): u64 {
  return <u64>ramStart() + <u64>ramBytes + 0x1_0000;
}
@inline function memoryEnd(ramBytes: u32): u64 {
  return (tableStart(ramBytes) + <u64>codePagesBytes(<u64>ramBytes) + 0xffff) & ~(<u64>0xffff);
}

/**
 * Bytes of linear memory needed for `ramBytes` of guest RAM (0 if more than
 * wasm32 can address). The host grows the memory to that size, then calls
 * init(ramBytes).
 */
export function layout(ramBytes: u32): usize {
  const end = memoryEnd(ramBytes);
  return end > 0xffff_0000 ? 0 : <usize>end;
}

/** Take the memory layout() planned; returns guest RAM's linear-memory offset, or 0 if memory is too small. */
export function init(ramBytes: u32): usize {
  const end = memoryEnd(ramBytes);
  if (end > 0xffff_0000 || (<u64>memory.size() << 16) < end) return 0;
  hart = changetype<S.Hart>(hartBlock());
  S.ramOffset = ramStart();
  S.ramSize = <u64>ramBytes;
  codePagesInit(<usize>tableStart(ramBytes), <u64>ramBytes);
  reset();
  return ramStart();
}

export function reset(): void {
  for (let i = 0; i < 32; i++) {
    store<u64>(S.xregBase() + (<usize>i << 3), 0);
    store<u64>(S.fregBase() + (<usize>i << 3), 0);
  }
  hart.pc = S.RAM_BASE;
  hart.priv = PRV_M;
  hart.excCause = -1;
  hart.instret = 0;
  hart.attention = false;
  hart.exitRequest = 0;
  hart.reservation = -1;
  hart.mstatus = (<u64>2 << 32) | (<u64>2 << 34);
  hart.medeleg = 0;
  hart.mideleg = 0;
  hart.mie = 0;
  hart.mipSw = 0;
  hart.mipHw = 0;
  hart.mtvec = 0;
  hart.mcounteren = 0;
  // Svadu's updates on from reset, as a hart without Svade has always done them.
  hart.menvcfg = S.MENVCFG_ADUE;
  hart.mstateen0 = 0;
  hart.mstateenSe = 0;
  // Sdtrig: both triggers disabled (type 15).
  hart.tselect = 0;
  hart.tdata1a = D.legalTdata1(0);
  hart.tdata1b = D.legalTdata1(0);
  hart.tdata2a = 0;
  hart.tdata2b = 0;
  hart.tcontrol = 0;
  D.triggersChanged();
  hart.satp = 0;
  hart.stimecmp = 0xffff_ffff_ffff_ffff;
  hart.mtimecmp = 0xffff_ffff_ffff_ffff;
  hart.fflags = 0;
  hart.frm = 0;
  hart.mcycleOffset = 0;
  hart.minstretOffset = 0;
  hart.jitQueued = 0;
  pmpReset();
  M.flushAll();
  M.selectTables();
}

/** Run up to `budget` instructions; returns the exit reason (EXIT_* in state.ts). */
export function run(budget: i32): i32 {
  C.updateTimers(C.currentTime());
  return runLoop(budget);
}

export function getPc(): u64 { return hart.pc; }
export function setPc(v: u64): void { hart.pc = v; M.invalidateFetch(); }
export function getPriv(): u32 { return hart.priv; }
export function setPriv(p: u32): void {
  hart.priv = p == 0 || p == 1 || p == 3 ? p : PRV_M;
  M.selectTables();
  hart.attention = true;
}
export function getX(i: u32): u64 { return i > 0 && i < 32 ? S.getX(i) : 0; }
export function setX(i: u32, v: u64): void { if (i > 0 && i < 32) S.setX(i, v); }
export function getF(i: u32): u64 { return i < 32 ? load<u64>(S.fregBase() + (<usize>i << 3)) : 0; }
export function setF(i: u32, v: u64): void { if (i < 32) store<u64>(S.fregBase() + (<usize>i << 3), v); }
export function getInstret(): u64 { return hart.instret; }
export function setHartId(id: u64): void { hart.hartid = id; }
export function setHostSbi(on: bool): void { hart.hostSbi = on; }

/** Read a CSR with machine privilege (for the host); returns 0 for CSRs that do not exist. */
export function readCsr(addr: u32): u64 {
  const p = hart.priv;
  hart.priv = PRV_M;
  const ok = C.csrRead(addr);
  hart.priv = p;
  return ok ? C.csrValue : 0;
}

/** Write a CSR with machine privilege (for the host: boot setup, SBI). */
export function writeCsr(addr: u32, v: u64): bool {
  const p = hart.priv;
  hart.priv = PRV_M;
  const ok = C.csrWrite(addr, v);
  hart.priv = p;
  M.selectTables();
  return ok;
}

// Interrupt lines driven by devices.
export const LINE_MSIP: u32 = 0;
export const LINE_MEIP: u32 = 1;
export const LINE_SEIP: u32 = 2;
export function setLine(line: u32, level: bool): void {
  const mask = line == LINE_MSIP ? MIP_MSIP : line == LINE_MEIP ? MIP_MEIP : MIP_SEIP;
  C.setMipHw(mask, level);
}

export function getMtimecmp(): u64 { return hart.mtimecmp; }
export function setMtimecmp(v: u64): void {
  hart.mtimecmp = v;
  C.updateTimers(C.currentTime());
}
export function getStimecmp(): u64 { return hart.stimecmp; }
/** SBI set_timer: program the supervisor timer compare (also clears a pending STIP when in the future). */
export function setStimecmp(v: u64): void {
  hart.stimecmp = v;
  C.updateTimers(C.currentTime());
}
/** Earliest pending timer deadline in ticks (for sleeping in WFI); u64 max if none is armed. */
export function nextDeadline(): u64 {
  let d: u64 = 0xffff_ffff_ffff_ffff;
  if ((hart.mie & S.MIP_MTIP) != 0 && hart.mtimecmp < d) d = hart.mtimecmp;
  if (C.stce() && (hart.mie & S.MIP_STIP) != 0 && hart.stimecmp < d) d = hart.stimecmp;
  return d;
}
export function pollTimers(): void {
  C.updateTimers(C.currentTime());
}
/** True if an interrupt is pending and enabled in mie (what wakes WFI). */
export function interruptWaiting(): bool {
  return C.wfiWake();
}

/** Watch the HTIF `tohost` word at physical address `pa` (0 disables). */
export function setHtif(pa: u64): void {
  M.htifTohost = pa;
  M.htifValue = 0;
  M.flushAll();
  M.selectTables();
}
export function getHtifValue(): u64 { return M.htifValue; }

/** Ask run() to return `reason` before the next instruction. */
export function requestExit(reason: i32): void {
  hart.exitRequest = reason;
  hart.attention = true;
}

export function ramOffset(): usize { return S.ramOffset; }

/** The host wrote guest RAM [pa, pa + len) directly (DMA, loaders): drop translations there. */
export function hostWrote(pa: u64, len: u64): void {
  codeWrittenRange(pa, len);
}

/**
 * For the translator: the instruction (Op: its index in src/isa/instructions.ts
 * + 1; 0 if illegal) a 32-bit encoding is, by the decoder the interpreter uses.
 */
export function decodeInsn(inst: u32): u32 {
  if ((inst & 3) != 3) return 0;
  const op = decode(inst);
  // An extension the machine lacks: illegal for the translator too.
  return lacking(op) ? 0 : <u32>op;
}

/** The 32-bit form of the compressed instruction `c`, or 0 if it is illegal (for the JIT). */
export function expandRvc(c: u32): u32 {
  return expandCompressed(c & 0xffff);
}

/** Linear-memory address of the hart's architectural state (HART_STATE_BYTES bytes; state.ts). */
export function hartState(): usize { return S.hartAddr(); }
export function hartStateBytes(): usize { return S.HART_STATE_BYTES; }

/**
 * The host wrote the hart's architectural state (restoring a snapshot, which
 * is untrusted). Returns false, leaving the hart unusable until reset(), if
 * it holds values no hart can (a privilege level or CSR field software cannot
 * set); else rebuilds everything derived from it (PMP count, TLB, fetch
 * page, JIT entries, timer lines) and clears what only lives during a run.
 */
export function hartStateLoaded(): bool {
  const p = hart.priv;
  if ((p != PRV_M && p != PRV_S && p != PRV_U) || !C.csrStateValid() || !pmpStateValid()) return false;
  hart.excCause = -1;
  hart.exitRequest = 0;
  pmpChanged();
  M.invalidateFetch();
  C.triggersRearmed();
  jitFlushEntries();
  C.updateTimers(C.currentTime());
  hart.attention = true;
  return true;
}

/** Linear-memory address of the integer register file. */
export function xregs(): usize { return S.xregBase(); }

// The FP state translated code reads and writes in place (src/jit/codegen.ts).
export function fregs(): usize { return S.fregBase(); }
export function mstatusAddr(): usize { return changetype<usize>(hart) + offsetof<S.Hart>('mstatus'); }
export function fflagsAddr(): usize { return changetype<usize>(hart) + offsetof<S.Hart>('fflags'); }
export function frmAddr(): usize { return changetype<usize>(hart) + offsetof<S.Hart>('frm'); }

// ---- Debugger (src/debug: the GDB stub) ----

function debugArmedChanged(): void {
  J.jitPause(D.anyArmed());
  M.invalidateFetch();
}

/** Add or remove a debugger breakpoint at virtual address va; false if the table is full. */
export function debugSetBreak(va: u64, on: bool): bool {
  const ok = D.setBreak(va, on);
  debugArmedChanged();
  return ok;
}

/** Add or remove a watchpoint on [va, va + len) (kind: 1 read, 2 write, 3 both); false if refused. */
export function debugSetWatch(va: u64, len: u64, kind: u32, on: bool): bool {
  const ok = D.setWatch(va, len, kind, on);
  // Watched pages must leave the data TLB (and the others may come back).
  M.flushAll();
  M.selectTables();
  debugArmedChanged();
  return ok;
}

export function debugClear(): void {
  D.clearAll();
  M.flushAll();
  M.selectTables();
  debugArmedChanged();
}

/** Resuming at pc: a breakpoint there is passed over once. */
export function debugResumeAt(pc: u64): void {
  D.setPassPc(pc);
  M.invalidateFetch();
}

/** Hold interrupts back (single-stepping) or let them in again. */
export function debugNoIrq(on: bool): void {
  D.setNoIrq(on);
}

/** Why the last EXIT_DEBUG happened (debug.ts STOP_*), and the address. */
export function debugStopKind(): u32 { return D.stopKind; }
export function debugStopAddr(): u64 { return D.stopAddr; }

/** Physical address of va under the current satp for a debugger, or u64 max. */
export function debugTranslate(va: u64): u64 {
  return M.debugTranslate(va);
}

// ---- Trap trace (trace=traps,irqs; src/debug/trace.ts) ----

export { traceEnable, traceBuffer, traceClear } from './trace';
export function traceEntries(): u32 { return T.traceCount; }
export function traceEntryBytes(): u32 { return T.TRACE_ENTRY_BYTES; }
export function traceLost(): u32 { return T.traceDropped; }

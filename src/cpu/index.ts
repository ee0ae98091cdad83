// The hart as seen by the host: everything the machine layer may call.
// Values wider than 32 bits cross as i64 (BigInt on the JS side); none of
// these are on the per-instruction path.

import * as S from './state';
import * as C from './csr';
import * as M from './mmu';
import { run as runLoop } from './execute';
import { MIP_MSIP, MIP_MEIP, MIP_SEIP, PRV_M } from './state';
import { pmpReset } from './pmp';

export { addMmioRange } from './mmu';
export {
  jitEnable, jitQueue, jitInstructions, jitCallCount, jitQueued, jitClearQueue, jitMarkCode, jitInstall, jitReject, jitFlush, jitDropSlots,
  jitLoad, jitStore, jitMulDiv, jitFp, jitPc, jitStatus,
} from './jit';
export { loadTable, storeTable, tlbIndexMask } from './mmu';
import { codePagesInit, codePagesBytes, codeWrittenRange } from './codepages';
import { expandCompressed } from './compressed';

/** Reserve `ramBytes` of guest RAM after the core's own data; returns its linear-memory offset. */
export function init(ramBytes: u32): usize {
  const start = (<usize>memory.size()) << 16;
  const ramPages = (<u64>ramBytes + 0x1_ffff) >> 16; // + a guard page for 4-byte fetches at the end
  const tablePages = (<u64>codePagesBytes(<u64>ramBytes) + 0xffff) >> 16;
  if (memory.grow(<i32>(ramPages + tablePages)) < 0) return 0;
  S.ramOffset = start;
  S.ramSize = <u64>ramBytes;
  codePagesInit(start + <usize>(ramPages << 16), <u64>ramBytes);
  reset();
  return start;
}

export function reset(): void {
  for (let i = 0; i < 32; i++) {
    store<u64>(S.XREGS + (<usize>i << 3), 0);
    store<u64>(S.FREGS + (<usize>i << 3), 0);
  }
  S.pc = S.RAM_BASE;
  S.priv = PRV_M;
  S.excCause = -1;
  S.instret = 0;
  S.attention = false;
  S.exitRequest = 0;
  S.reservation = -1;
  C.mstatus = (<u64>2 << 32) | (<u64>2 << 34);
  C.medeleg = 0;
  C.mideleg = 0;
  C.mie = 0;
  C.mipSw = 0;
  C.mipHw = 0;
  C.mtvec = 0;
  C.mcounteren = 0;
  C.menvcfg = 0;
  C.satp = 0;
  C.stimecmp = 0xffff_ffff_ffff_ffff;
  C.mtimecmp = 0xffff_ffff_ffff_ffff;
  C.fflags = 0;
  C.frm = 0;
  C.mcycleOffset = 0;
  C.minstretOffset = 0;
  pmpReset();
  M.flushAll();
  M.selectTables();
}

/** Run up to `budget` instructions; returns the exit reason (EXIT_* in state.ts). */
export function run(budget: i32): i32 {
  C.updateTimers(C.currentTime());
  return runLoop(budget);
}

export function getPc(): u64 { return S.pc; }
export function setPc(v: u64): void { S.pc = v; M.invalidateFetch(); }
export function getPriv(): u32 { return S.priv; }
export function setPriv(p: u32): void {
  S.priv = p == 0 || p == 1 || p == 3 ? p : PRV_M;
  M.selectTables();
  S.attention = true;
}
export function getX(i: u32): u64 { return i > 0 && i < 32 ? S.getX(i) : 0; }
export function setX(i: u32, v: u64): void { if (i > 0 && i < 32) S.setX(i, v); }
export function getF(i: u32): u64 { return i < 32 ? load<u64>(S.FREGS + (<usize>i << 3)) : 0; }
export function setF(i: u32, v: u64): void { if (i < 32) store<u64>(S.FREGS + (<usize>i << 3), v); }
export function getInstret(): u64 { return S.instret; }
export function setHartId(id: u64): void { S.hartid = id; }
export function setHostSbi(on: bool): void { S.hostSbi = on; }

/** Read a CSR with machine privilege (for the host); returns 0 for CSRs that do not exist. */
export function readCsr(addr: u32): u64 {
  const p = S.priv;
  S.priv = PRV_M;
  const ok = C.csrRead(addr);
  S.priv = p;
  return ok ? C.csrValue : 0;
}

/** Write a CSR with machine privilege (for the host: boot setup, SBI). */
export function writeCsr(addr: u32, v: u64): bool {
  const p = S.priv;
  S.priv = PRV_M;
  const ok = C.csrWrite(addr, v);
  S.priv = p;
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

export function getMtimecmp(): u64 { return C.mtimecmp; }
export function setMtimecmp(v: u64): void {
  C.mtimecmp = v;
  C.updateTimers(C.currentTime());
}
export function getStimecmp(): u64 { return C.stimecmp; }
/** SBI set_timer: program the supervisor timer compare (also clears a pending STIP when in the future). */
export function setStimecmp(v: u64): void {
  C.stimecmp = v;
  C.updateTimers(C.currentTime());
}
/** Earliest pending timer deadline in ticks (for sleeping in WFI); u64 max if none is armed. */
export function nextDeadline(): u64 {
  let d: u64 = 0xffff_ffff_ffff_ffff;
  if ((C.mie & S.MIP_MTIP) != 0 && C.mtimecmp < d) d = C.mtimecmp;
  if (C.stce() && (C.mie & S.MIP_STIP) != 0 && C.stimecmp < d) d = C.stimecmp;
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
  S.exitRequest = reason;
  S.attention = true;
}

export function ramOffset(): usize { return S.ramOffset; }

/** The host wrote guest RAM [pa, pa + len) directly (DMA, loaders): drop translations there. */
export function hostWrote(pa: u64, len: u64): void {
  codeWrittenRange(pa, len);
}

/** The 32-bit form of the compressed instruction `c`, or 0 if it is illegal (for the JIT). */
export function expandRvc(c: u32): u32 {
  return expandCompressed(c & 0xffff);
}

/** Linear-memory address of the integer register file. */
export function xregs(): usize { return S.XREGS; }

// Trap entry and return (privileged spec §3.1.6, §3.3.2, §10.1).

import * as S from './state';
import { hart } from './state';
import * as C from './csr';
import {
  PRV_M, PRV_S, PRV_U, MSTATUS_SIE, MSTATUS_MIE, MSTATUS_SPIE, MSTATUS_MPIE, MSTATUS_SPP,
  MSTATUS_MPP, MSTATUS_MPP_SHIFT, MSTATUS_MPRV,
} from './state';
import { selectTables, invalidateFetch } from './mmu';
import * as T from './trace';
import * as D from './debug';

/** Enter the trap handler for `cause` taken at `epc`; returns the new pc. */
export function takeTrap(epc: u64, cause: u64, tval: u64, interrupt: bool): u64 {
  hart.reservation = -1;
  const from = hart.priv;
  const deleg = from <= PRV_S && (((interrupt ? hart.mideleg : hart.medeleg) >> cause) & 1) != 0;
  let target: u64;
  let ms = hart.mstatus;
  if (deleg) {
    hart.scause = interrupt ? (<u64>1 << 63) | cause : cause;
    hart.sepc = epc;
    hart.stval = tval;
    ms = (ms & ~(MSTATUS_SPIE | MSTATUS_SIE | MSTATUS_SPP)) |
      ((ms & MSTATUS_SIE) != 0 ? MSTATUS_SPIE : 0) |
      (from == PRV_S ? MSTATUS_SPP : 0);
    hart.priv = PRV_S;
    target = hart.stvec;
  } else {
    hart.mcause = interrupt ? (<u64>1 << 63) | cause : cause;
    hart.mepc = epc;
    hart.mtval = tval;
    ms = (ms & ~(MSTATUS_MPIE | MSTATUS_MIE | MSTATUS_MPP)) |
      ((ms & MSTATUS_MIE) != 0 ? MSTATUS_MPIE : 0) |
      (<u64>from << MSTATUS_MPP_SHIFT);
    hart.priv = PRV_M;
    target = hart.mtvec;
    D.tcontrolTrap();
    if (hart.hostSbi) {
      hart.exitRequest = S.EXIT_MACHINE_TRAP;
    }
  }
  hart.mstatus = ms;
  if (T.traceOn) T.traceTrap(interrupt ? (<u64>1 << 63) | cause : cause, epc, tval, from, hart.priv);
  selectTables();
  invalidateFetch();
  hart.attention = true;
  const base = target & ~(<u64>3);
  if (interrupt && (target & 3) == 1) return base + 4 * cause;
  return base;
}

/** mret: returns the new pc. */
export function mret(): u64 {
  let ms = hart.mstatus;
  const mpp = <u32>((ms & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT);
  ms = (ms & ~(MSTATUS_MIE | MSTATUS_MPP)) | ((ms & MSTATUS_MPIE) != 0 ? MSTATUS_MIE : 0) | MSTATUS_MPIE;
  if (mpp != PRV_M) ms &= ~MSTATUS_MPRV;
  hart.mstatus = ms;
  hart.priv = mpp;
  hart.reservation = -1;
  D.tcontrolMret();
  selectTables();
  invalidateFetch();
  hart.attention = true;
  return hart.mepc;
}

/** sret: returns the new pc. */
export function sret(): u64 {
  let ms = hart.mstatus;
  const spp = (ms & MSTATUS_SPP) != 0 ? PRV_S : PRV_U;
  ms = (ms & ~(MSTATUS_SIE | MSTATUS_SPP | MSTATUS_MPRV)) | ((ms & MSTATUS_SPIE) != 0 ? MSTATUS_SIE : 0) | MSTATUS_SPIE;
  hart.mstatus = ms;
  hart.priv = spp;
  hart.reservation = -1;
  selectTables();
  invalidateFetch();
  hart.attention = true;
  return hart.sepc;
}

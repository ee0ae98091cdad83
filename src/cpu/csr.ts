// Control and status registers (privileged spec chapters 2, 3, 10), and the
// interrupt-pending logic that depends on them.

import * as S from './state';
import {
  PRV_M, PRV_S, PRV_U, hart, MIP_SSIP, MIP_MSIP, MIP_STIP, MIP_MTIP, MIP_SEIP, MIP_MEIP,
  MSTATUS_SIE, MSTATUS_MIE, MSTATUS_SPIE, MSTATUS_UBE, MSTATUS_MPIE, MSTATUS_SPP, MSTATUS_VS,
  MSTATUS_MPP, MSTATUS_FS, MSTATUS_XS, MSTATUS_MPRV, MSTATUS_SUM, MSTATUS_MXR, MSTATUS_TVM,
  MSTATUS_TW, MSTATUS_TSR, MSTATUS_UXL, MSTATUS_SXL, MSTATUS_SD, MSTATUS_MPP_SHIFT,
  MENVCFG_STCE, MENVCFG_PBMTE, MENVCFG_ADUE,
} from './state';
import { selectTables, flushTlb } from './mmu';
import * as M from './mmu';
import * as D from './debug';
import * as J from './jit';
import { hostTime } from './host';
import { readPmpcfg, writePmpcfg, readPmpaddr, writePmpaddr } from './pmp';

// RV64 with A, C, D, F, I, M, S, U.
export const MISA: u64 = (<u64>2 << 62) | 0x14112d;


const ENVCFG_FIOM: u64 = 1;
// Zicbom/Zicboz (privileged spec, xenvcfg): CBIE (bits 5:4; 10 is reserved
// and reads as 00), CBCFE (bit 6), CBZE (bit 7).
const ENVCFG_CBIE: u64 = 3 << 4;
const ENVCFG_CBCFE: u64 = 1 << 6;
const ENVCFG_CBZE: u64 = 1 << 7;
const ENVCFG_CBO: u64 = ENVCFG_CBIE | ENVCFG_CBCFE | ENVCFG_CBZE;
// Smstateen/Ssstateen (privileged spec, "State Enable" extension): below M,
// sstateenN needs mstateenN.SE (bit 63), senvcfg needs mstateen0.ENVCFG.
// No other guarded state exists here, so the other bits read zero, and so
// does every bit of sstateenN.
const STATEEN_SE: u64 = <u64>1 << 63;
const STATEEN_ENVCFG: u64 = <u64>1 << 62;

/** mstateenN (N = 0..3) as software reads it. */
function mstateen(n: u32): u64 {
  if (n == 0) return hart.mstateen0;
  return ((hart.mstateenSe >> n) & 1) != 0 ? STATEEN_SE : 0;
}

/** May the current privilege (below M) reach state guarded by `bit` of mstateenN? */
@inline function stateenAllows(n: u32, bit: u64): bool {
  return hart.priv == S.PRV_M || (mstateen(n) & bit) != 0;
}

/**
 * May the current privilege run a cache-block operation of `kind` (0
 * cbo.inval, 1 cbo.clean/flush, 2 cbo.zero)? M always; S if menvcfg allows;
 * U if menvcfg and senvcfg both do. Otherwise it is illegal.
 */
export function cboAllowed(kind: u32): bool {
  if (hart.priv == S.PRV_M) return true;
  const field = kind == 0 ? ENVCFG_CBIE : kind == 1 ? ENVCFG_CBCFE : ENVCFG_CBZE;
  if ((hart.menvcfg & field) == 0) return false;
  return hart.priv != S.PRV_U || (hart.senvcfg & field) != 0;
}

/** An envcfg value with the reserved CBIE encoding 10 made 00 (WARL). */
@inline function envcfgCbo(v: u64): u64 {
  return (v & ENVCFG_CBIE) == (2 << 4) ? v & ~ENVCFG_CBIE : v;
}

const MSTATUS_WRITABLE: u64 =
  MSTATUS_SIE | MSTATUS_MIE | MSTATUS_SPIE | MSTATUS_MPIE | MSTATUS_SPP | MSTATUS_MPP |
  MSTATUS_FS | MSTATUS_MPRV | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR;
const SSTATUS_READABLE: u64 =
  MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_UBE | MSTATUS_SPP | MSTATUS_VS | MSTATUS_FS | MSTATUS_XS |
  MSTATUS_SUM | MSTATUS_MXR | MSTATUS_UXL | MSTATUS_SD;
const SSTATUS_WRITABLE: u64 = MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_FS | MSTATUS_SUM | MSTATUS_MXR;
const MIE_WRITABLE: u64 = MIP_SSIP | MIP_MSIP | MIP_STIP | MIP_MTIP | MIP_SEIP | MIP_MEIP;
const MIDELEG_WRITABLE: u64 = MIP_SSIP | MIP_STIP | MIP_SEIP;
// All synchronous causes except ecall-from-M (11) and the reserved 10 and 14.
const MEDELEG_WRITABLE: u64 = 0xb3ff;

@inline export function stce(): bool {
  return (hart.menvcfg & MENVCFG_STCE) != 0;
}

export function readMip(): u64 {
  let sw = hart.mipSw;
  if (stce()) sw &= ~MIP_STIP;
  return sw | hart.mipHw;
}

/** Set or clear hardware-driven mip bits (device lines, timers). */
export function setMipHw(mask: u64, level: bool): void {
  const old = hart.mipHw;
  hart.mipHw = level ? old | mask : old & ~mask;
  if (hart.mipHw != old) hart.attention = true;
}

/** Recompute the timer lines from the current time. */
export function updateTimers(now: u64): void {
  setMipHw(MIP_MTIP, now >= hart.mtimecmp);
  setMipHw(MIP_STIP, stce() && now >= hart.stimecmp);
}

export function currentTime(): u64 {
  return <u64>hostTime();
}

/** Cause number of the highest-priority interrupt to take now, or -1. Privileged spec §3.1.9. */
export function pendingInterrupt(): i32 {
  const pending = readMip() & hart.mie;
  if (pending == 0) return -1;
  const mEnabled = hart.priv < PRV_M || (hart.mstatus & MSTATUS_MIE) != 0;
  const m = pending & ~hart.mideleg;
  if (m != 0 && mEnabled) return pickInterrupt(m);
  const sEnabled = hart.priv < PRV_S || (hart.priv == PRV_S && (hart.mstatus & MSTATUS_SIE) != 0);
  const s = pending & hart.mideleg;
  if (s != 0 && sEnabled) return pickInterrupt(s);
  return -1;
}

function pickInterrupt(bits: u64): i32 {
  if (bits & MIP_MEIP) return 11;
  if (bits & MIP_MSIP) return 3;
  if (bits & MIP_MTIP) return 7;
  if (bits & MIP_SEIP) return 9;
  if (bits & MIP_SSIP) return 1;
  if (bits & MIP_STIP) return 5;
  return -1;
}

/** True if an interrupt is pending and locally enabled, regardless of global enables (WFI wake-up). */
export function wfiWake(): bool {
  return (readMip() & hart.mie) != 0;
}

function mstatusRead(): u64 {
  let v = hart.mstatus;
  if ((v & MSTATUS_FS) == MSTATUS_FS) v |= MSTATUS_SD;
  return v;
}

export function writeMstatus(v: u64): void {
  const old = hart.mstatus;
  let n = (old & ~MSTATUS_WRITABLE) | (v & MSTATUS_WRITABLE);
  // MPP is WARL: the reserved encoding 2 (H) reads back as U.
  if (((n & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT) == 2) n &= ~MSTATUS_MPP;
  n = (n & ~(MSTATUS_UXL | MSTATUS_SXL | MSTATUS_SD)) | (<u64>2 << 32) | (<u64>2 << 34);
  hart.mstatus = n;
  if (((old ^ n) & MSTATUS_MXR) != 0) flushTlb();
  selectTables();
  hart.attention = true;
}

/** Mark the FP state dirty (after any FP register or fcsr write). */
@inline export function setFsDirty(): void {
  hart.mstatus |= MSTATUS_FS;
}

@inline export function fpEnabled(): bool {
  return (hart.mstatus & MSTATUS_FS) != 0;
}

/** Is the counter CSR (0..31) readable at the current privilege? */
function counterAllowed(n: u32): bool {
  if (hart.priv == PRV_M) return true;
  if (((hart.mcounteren >> n) & 1) == 0) return false;
  if (hart.priv == PRV_U && ((hart.scounteren >> n) & 1) == 0) return false;
  return true;
}

/**
 * Read CSR `addr`. Returns false (and leaves `csrValue` untouched) if the
 * access is illegal at the current privilege; the caller raises the exception.
 */
export let csrValue: u64 = 0;

/**
 * 1 while an instruction runs (run() sets it), 0 for the host's accesses.
 * Inside an instruction hart.instret already counts that instruction: a
 * counter read shows the instructions retired before it, and a write sets
 * the value the next instruction reads, with no increment of its own on top
 * (the writing instruction's retirement is absorbed; as Spike does, and
 * riscv-tests' rv64mi instret_overflow expects).
 */
export let retiring: u64 = 0;

export function csrRead(addr: u32): bool {
  if (hart.priv < ((addr >> 8) & 3)) return false;
  let v: u64 = 0;
  switch (addr) {
    case 0x001: if (!fpEnabled()) return false; v = hart.fflags; break;
    case 0x002: if (!fpEnabled()) return false; v = hart.frm; break;
    case 0x003: if (!fpEnabled()) return false; v = (hart.frm << 5) | hart.fflags; break;
    case 0xc00: if (!counterAllowed(0)) return false; v = hart.instret - retiring + hart.mcycleOffset; break;
    case 0xc01: if (!counterAllowed(1)) return false; v = currentTime(); break;
    case 0xc02: if (!counterAllowed(2)) return false; v = hart.instret - retiring + hart.minstretOffset; break;
    case 0x100: v = mstatusRead() & SSTATUS_READABLE; break;
    case 0x104: v = hart.mie & hart.mideleg; break;
    case 0x105: v = hart.stvec; break;
    case 0x106: v = hart.scounteren; break;
    case 0x10a: if (!stateenAllows(0, STATEEN_ENVCFG)) return false; v = hart.senvcfg; break;
    case 0x10c: case 0x10d: case 0x10e: case 0x10f: // sstateen0..3: nothing to enable
      if (!stateenAllows(addr - 0x10c, STATEEN_SE)) return false;
      v = 0;
      break;
    case 0x30c: case 0x30d: case 0x30e: case 0x30f: v = mstateen(addr - 0x30c); break;
    // Sdtrig (debug.ts): tselect, tdata1, tdata2, tdata3 (none of its fields), tinfo.
    case 0x7a0: v = hart.tselect; break;
    case 0x7a1: v = D.tdata1Read(); break;
    case 0x7a2: v = D.tdata2Read(); break;
    case 0x7a3: v = 0; break;
    case 0x7a4: v = D.TINFO; break;
    case 0x7a5: v = hart.tcontrol; break;
    case 0x140: v = hart.sscratch; break;
    case 0x141: v = hart.sepc; break;
    case 0x142: v = hart.scause; break;
    case 0x143: v = hart.stval; break;
    case 0x144: v = readMip() & hart.mideleg; break;
    case 0x14d:
      if (hart.priv < PRV_M && (!stce() || (hart.mcounteren & 2) == 0)) return false;
      v = hart.stimecmp;
      break;
    case 0x180:
      if (hart.priv == PRV_S && (hart.mstatus & MSTATUS_TVM) != 0) return false;
      v = hart.satp;
      break;
    case 0x300: v = mstatusRead(); break;
    case 0x301: v = MISA; break;
    case 0x302: v = hart.medeleg; break;
    case 0x303: v = hart.mideleg; break;
    case 0x304: v = hart.mie; break;
    case 0x305: v = hart.mtvec; break;
    case 0x306: v = hart.mcounteren; break;
    case 0x30a: v = hart.menvcfg; break;
    case 0x320: v = hart.mcountinhibit; break;
    case 0x340: v = hart.mscratch; break;
    case 0x341: v = hart.mepc; break;
    case 0x342: v = hart.mcause; break;
    case 0x343: v = hart.mtval; break;
    case 0x344: v = readMip(); break;
    case 0x34a: v = 0; break; // mtinst
    case 0x34b: v = 0; break; // mtval2
    case 0xb00: v = hart.instret - retiring + hart.mcycleOffset; break;
    case 0xb02: v = hart.instret - retiring + hart.minstretOffset; break;
    case 0xf11: v = 0; break; // mvendorid: non-commercial
    case 0xf12: v = 0; break; // marchid
    case 0xf13: v = 0; break; // mimpid
    case 0xf14: v = hart.hartid; break;
    case 0xf15: v = 0; break; // mconfigptr
    default:
      if (addr >= 0x3a0 && addr <= 0x3af) {
        if ((addr & 1) != 0) return false; // odd pmpcfg do not exist on RV64
        v = readPmpcfg(addr - 0x3a0);
        break;
      }
      if (addr >= 0x3b0 && addr <= 0x3ef) {
        v = readPmpaddr(addr - 0x3b0);
        break;
      }
      if ((addr >= 0xc03 && addr <= 0xc1f)) {
        if (!counterAllowed(addr - 0xc00)) return false;
        v = 0;
        break;
      }
      if ((addr >= 0xb03 && addr <= 0xb1f) || (addr >= 0x323 && addr <= 0x33f)) {
        v = 0;
        break;
      }
      return false;
  }
  csrValue = v;
  return true;
}

/** Is `addr` writable at the current privilege (existence is checked by the read)? */
export function csrWritable(addr: u32): bool {
  return (addr >> 10) != 3 && hart.priv >= ((addr >> 8) & 3);
}

/** A trigger changed: pages it may match must leave the fetch page and the TLB; translated code waits. */
export function triggersRearmed(): void {
  D.triggersChanged();
  M.flushAll();
  selectTables();
  J.jitPause(D.anyArmed());
}

/**
 * CSRRW, CSRRS, CSRRC and their immediate forms (`f3`) on CSR `addr`, with
 * `src` the value of register rs1 (the immediate forms use `rs1` itself).
 * Returns false if the instruction is illegal; else the old value, for rd,
 * is in csrValue. CSRRS/CSRRC with rs1 = x0 (or an immediate 0) do not
 * write, so they may read a read-only CSR (Zicsr, unprivileged spec §7.1).
 */
export function csrInstruction(f3: u32, addr: u32, rs1: u32, src: u64): bool {
  const kind = f3 & 3;
  const writes = kind == 1 || rs1 != 0;
  if (writes && !csrWritable(addr)) return false;
  if (!csrRead(addr)) return false;
  const old = csrValue;
  if (writes) {
    const v: u64 = f3 >= 5 ? <u64>rs1 : src;
    if (!csrWrite(addr, kind == 1 ? v : kind == 2 ? old | v : old & ~v)) return false;
  }
  csrValue = old;
  return true;
}

/** Write CSR `addr`; returns false if the write is illegal. */
export function csrWrite(addr: u32, v: u64): bool {
  switch (addr) {
    // The FP CSRs return at once: they change nothing the run loop must look
    // at again (the attention below), and C code writes fflags in hot loops.
    case 0x001: hart.fflags = <u32>v & 0x1f; setFsDirty(); return true;
    case 0x002: hart.frm = <u32>v & 7; setFsDirty(); return true;
    case 0x003: hart.fflags = <u32>v & 0x1f; hart.frm = (<u32>v >> 5) & 7; setFsDirty(); return true;
    case 0x100: writeMstatus((hart.mstatus & ~SSTATUS_WRITABLE) | (v & SSTATUS_WRITABLE)); break;
    case 0x104: {
      const m = MIE_WRITABLE & hart.mideleg;
      hart.mie = (hart.mie & ~m) | (v & m);
      break;
    }
    case 0x105: hart.stvec = legalTvec(v); break;
    case 0x106: hart.scounteren = v & 0xffff_ffff; break;
    case 0x10a: if (!stateenAllows(0, STATEEN_ENVCFG)) return false; hart.senvcfg = envcfgCbo(v & (ENVCFG_FIOM | ENVCFG_CBO)); break;
    case 0x10c: case 0x10d: case 0x10e: case 0x10f:
      if (!stateenAllows(addr - 0x10c, STATEEN_SE)) return false;
      break;
    case 0x30c: hart.mstateen0 = v & (STATEEN_SE | STATEEN_ENVCFG); break;
    case 0x7a0: D.tselectWrite(v); break;
    case 0x7a1: D.tdata1Write(v); triggersRearmed(); break;
    case 0x7a2: D.tdata2Write(v); triggersRearmed(); break;
    case 0x7a3: case 0x7a4: break; // no tdata3 fields; tinfo is read-only
    case 0x7a5: hart.tcontrol = v & (D.TCONTROL_MTE | D.TCONTROL_MPTE); break;
    case 0x30d: case 0x30e: case 0x30f: {
      const b = <u64>1 << <u64>(addr - 0x30c);
      hart.mstateenSe = (v & STATEEN_SE) != 0 ? hart.mstateenSe | b : hart.mstateenSe & ~b;
      break;
    }
    case 0x140: hart.sscratch = v; break;
    case 0x141: hart.sepc = v & ~(<u64>1); break;
    case 0x142: hart.scause = v; break;
    case 0x143: hart.stval = v; break;
    case 0x144: {
      const m = MIP_SSIP & hart.mideleg;
      hart.mipSw = (hart.mipSw & ~m) | (v & m);
      break;
    }
    case 0x14d:
      if (hart.priv < PRV_M && (!stce() || (hart.mcounteren & 2) == 0)) return false;
      hart.stimecmp = v;
      updateTimers(currentTime());
      break;
    case 0x180: {
      if (hart.priv == PRV_S && (hart.mstatus & MSTATUS_TVM) != 0) return false;
      const mode = v >> 60;
      if (mode != 0 && mode != 8 && mode != 9) break; // unsupported mode: no effect
      hart.satp = v; // MODE, ASID (16 bits, 59:44) and PPN (43:0) are all writable
      flushTlb();
      selectTables();
      break;
    }
    case 0x300: writeMstatus(v); break;
    case 0x301: break; // misa: WARL, fixed
    case 0x302: hart.medeleg = v & MEDELEG_WRITABLE; break;
    case 0x303: hart.mideleg = v & MIDELEG_WRITABLE; break;
    case 0x304: hart.mie = v & MIE_WRITABLE; break;
    case 0x305: hart.mtvec = legalTvec(v); break;
    case 0x306: hart.mcounteren = v & 0xffff_ffff; break;
    case 0x30a:
      hart.menvcfg = envcfgCbo(
        v & (MENVCFG_STCE | MENVCFG_PBMTE | MENVCFG_ADUE | ENVCFG_FIOM | ENVCFG_CBO),
      );
      // Which PTE bits are reserved depends on PBMTE: cached translations go.
      flushTlb();
      updateTimers(currentTime());
      break;
    case 0x320: hart.mcountinhibit = v & 0xffff_fffd; break;
    case 0x340: hart.mscratch = v; break;
    case 0x341: hart.mepc = v & ~(<u64>1); break;
    case 0x342: hart.mcause = v; break;
    case 0x343: hart.mtval = v; break;
    case 0x344: {
      let m = MIP_SSIP | MIP_SEIP;
      if (!stce()) m |= MIP_STIP;
      hart.mipSw = (hart.mipSw & ~m) | (v & m);
      break;
    }
    case 0x34a: case 0x34b: break;
    case 0xb00: hart.mcycleOffset = v - hart.instret; break;
    case 0xb02: hart.minstretOffset = v - hart.instret; break;
    default:
      if (addr >= 0x3a0 && addr <= 0x3af) {
        if ((addr & 1) != 0) return false;
        writePmpcfg(addr - 0x3a0, v);
        break;
      }
      if (addr >= 0x3b0 && addr <= 0x3ef) {
        writePmpaddr(addr - 0x3b0, v);
        break;
      }
      if ((addr >= 0xb03 && addr <= 0xb1f) || (addr >= 0x323 && addr <= 0x33f)) break;
      return false;
  }
  hart.attention = true;
  return true;
}

/**
 * Could software have put the CSRs in this state (every WARL field legal)?
 * For state loaded from outside the hart (a snapshot), which is untrusted.
 */
export function csrStateValid(): bool {
  const ms = hart.mstatus;
  const xl = (<u64>2 << 32) | (<u64>2 << 34);
  if ((ms & ~(MSTATUS_WRITABLE | MSTATUS_UXL | MSTATUS_SXL)) != 0 || (ms & (MSTATUS_UXL | MSTATUS_SXL)) != xl) return false;
  if (((ms & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT) == 2) return false;
  if (hart.fflags > 0x1f || hart.frm > 7) return false;
  const mode = hart.satp >> 60;
  if (mode != 0 && mode != 8 && mode != 9) return false;
  if ((hart.medeleg & ~MEDELEG_WRITABLE) != 0 || (hart.mideleg & ~MIDELEG_WRITABLE) != 0) return false;
  if ((hart.mie & ~MIE_WRITABLE) != 0 || (hart.menvcfg & ~(MENVCFG_STCE | MENVCFG_PBMTE | MENVCFG_ADUE | ENVCFG_FIOM | ENVCFG_CBO)) != 0) return false;
  if (envcfgCbo(hart.menvcfg) != hart.menvcfg || envcfgCbo(hart.senvcfg) != hart.senvcfg) return false;
  if ((hart.mstateen0 & ~(STATEEN_SE | STATEEN_ENVCFG)) != 0 || (hart.mstateenSe & ~<u64>0xe) != 0) return false;
  if (!D.triggerStateValid()) return false;
  if ((hart.senvcfg & ~(ENVCFG_FIOM | ENVCFG_CBO)) != 0 || ((hart.mepc | hart.sepc) & 1) != 0) return false;
  return legalTvec(hart.mtvec) == hart.mtvec && legalTvec(hart.stvec) == hart.stvec;
}

function legalTvec(v: u64): u64 {
  // Modes: 0 direct, 1 vectored; reserved modes fall back to direct.
  if ((v & 3) >= 2) return v & ~(<u64>3);
  return v;
}

// Keep the unused-import checker quiet about names only used in masks.
export const _PRV_U: u32 = PRV_U;

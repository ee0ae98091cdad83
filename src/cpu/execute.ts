// The interpreter: fetch, decode and execute until the budget is spent or
// something needs the host. Unprivileged spec chapters 2 (RV64I), 13 (M),
// 14 (A); privileged spec for SYSTEM. Instructions are decoded by the one
// instruction table (src/isa/instructions.ts, through the generated
// build/decoder.ts), so every encoding it does not hold traps as illegal.

import * as S from './state';
import { hart } from './state';
import {
  xregBase, PRV_M, PRV_S, PRV_U, CAUSE_ILLEGAL_INSTRUCTION, CAUSE_BREAKPOINT, CAUSE_USER_ECALL,
  CAUSE_MISALIGNED_FETCH, EXIT_BUDGET, EXIT_WFI, EXIT_ECALL, MSTATUS_TW, MSTATUS_TVM,
  MSTATUS_TSR,
} from './state';
import * as M from './mmu';
import { loadInt, storeInt, fetchSlow, atomicPointer, flushTlb, ACC_LOAD, ACC_STORE } from './mmu';
import * as C from './csr';
import { pendingInterrupt, wfiWake } from './csr';
import { takeTrap, mret, sret } from './trap';
import { expandCompressed } from './compressed';
import { bitmanip } from './bitmanip';
import { lacking } from './extensions';
import { execFp } from './fp';
import { decode, Op } from '../../build/decoder';
import * as F from './fpu';
import { mul128 } from './fpu';
import * as J from './jit';
import * as D from './debug';
import * as T from './trace';

// startInstret + budget of the current run(): with the budget left, the
// instructions retired so far (for the trap trace).
let runEnd: u64 = 0;

@inline function rX(i: u32): u64 {
  return load<u64>(xregBase() + ((<usize>i) << 3));
}
@inline function wX(i: u32, v: u64): void {
  store<u64>(xregBase() + ((<usize>i) << 3), v);
}
@inline function xget(base: usize, i: u32): u64 {
  return load<u64>(base + ((<usize>i) << 3));
}
@inline function xset(base: usize, i: u32, v: u64): void {
  store<u64>(base + ((<usize>i) << 3), v);
}
@inline function sext32(v: u64): u64 {
  return <u64><i64><i32>v;
}
@inline function immI(inst: u32): u64 {
  return <u64><i64>((<i32>inst) >> 20);
}
@inline function immS(inst: u32): u64 {
  return <u64><i64>(((<i32>inst >> 25) << 5) | ((inst >> 7) & 0x1f));
}
@inline function immB(inst: u32): u64 {
  return <u64><i64>(((<i32>inst >> 31) << 12) | ((inst & 0x80) << 4) | ((inst >> 20) & 0x7e0) | ((inst >> 7) & 0x1e));
}
@inline function immJ(inst: u32): u64 {
  return <u64><i64>(((<i32>inst >> 31) << 20) | (inst & 0xff000) | ((inst >> 9) & 0x800) | ((inst >> 20) & 0x7fe));
}

function mulhu(a: u64, b: u64): u64 {
  mul128(a, b);
  return F.wHi;
}
function mulh(a: u64, b: u64): u64 {
  let r = mulhu(a, b);
  if (<i64>a < 0) r -= b;
  if (<i64>b < 0) r -= a;
  return r;
}
function mulhsu(a: u64, b: u64): u64 {
  let r = mulhu(a, b);
  if (<i64>a < 0) r -= b;
  return r;
}

function divs(a: u64, b: u64): u64 {
  if (b == 0) return 0xffff_ffff_ffff_ffff;
  if (a == 0x8000_0000_0000_0000 && b == 0xffff_ffff_ffff_ffff) return a;
  return <u64>(<i64>a / <i64>b);
}
function rems(a: u64, b: u64): u64 {
  if (b == 0) return a;
  if (a == 0x8000_0000_0000_0000 && b == 0xffff_ffff_ffff_ffff) return 0;
  return <u64>(<i64>a % <i64>b);
}
function divw(a: u64, b: u64): u64 {
  const x = <i32>a;
  const y = <i32>b;
  if (y == 0) return 0xffff_ffff_ffff_ffff;
  if (x == i32.MIN_VALUE && y == -1) return sext32(<u64><u32>x);
  return sext32(<u64><u32>(x / y));
}
function remw(a: u64, b: u64): u64 {
  const x = <i32>a;
  const y = <i32>b;
  if (y == 0) return sext32(<u64><u32>x);
  if (x == i32.MIN_VALUE && y == -1) return 0;
  return sext32(<u64><u32>(x % y));
}
function divuw(a: u64, b: u64): u64 {
  const x = <u32>a;
  const y = <u32>b;
  if (y == 0) return 0xffff_ffff_ffff_ffff;
  return sext32(<u64>(x / y));
}
function remuw(a: u64, b: u64): u64 {
  const x = <u32>a;
  const y = <u32>b;
  if (y == 0) return sext32(<u64>x);
  return sext32(<u64>(x % y));
}

const RVC_CACHE: usize = memory.data(65536 * 4, 16);

/** Take the exception raised by a helper; returns the handler's pc. */
function exceptionTrap(pc: u64, left: i32): u64 {
  const cause = <u64>hart.excCause;
  hart.excCause = -1;
  if (cause == <u64>D.CAUSE_DEBUG_STOP) {
    // A debugger's breakpoint or watchpoint: no trap; run() leaves at pc.
    D.noteStop();
    return pc;
  }
  return instructionTrap(pc, cause, hart.excTval, left);
}

function illegal(pc: u64, raw: u32, left: i32): u64 {
  return instructionTrap(pc, CAUSE_ILLEGAL_INSTRUCTION, <u64>raw, left);
}

/** An exception of the instruction at pc (`left`: the budget left, for the trap trace's count). */
function instructionTrap(pc: u64, cause: u64, tval: u64, left: i32): u64 {
  if (T.traceOn) T.setTraceAt(runEnd - <u64>left - 1);
  return takeTrap(pc, cause, tval, false);
}

/** Execute one AMO/LR/SC (decode.ts accepted the encoding); a fault is left in hart.excCause. */
function execAmo(inst: u32, rd: u32, rs1: u32, rs2: u32): void {
  const size: u32 = ((inst >> 12) & 7) == 2 ? 4 : 8;
  const f5 = inst >> 27;
  const va = rX(rs1);
  if (f5 == 2) { // LR
    const p = atomicPointer(va, size, ACC_LOAD);
    if (hart.excCause >= 0) return;
    wX(rd, size == 4 ? sext32(<u64>load<u32>(p)) : load<u64>(p));
    hart.reservation = <i64>p;
    return;
  }
  const src = rX(rs2);
  const p = atomicPointer(va, size, ACC_STORE);
  if (hart.excCause >= 0) return;
  if (f5 == 3) { // SC
    if (hart.reservation == <i64>p) {
      if (size == 4) store<u32>(p, <u32>src);
      else store<u64>(p, src);
      wX(rd, 0);
    } else {
      wX(rd, 1);
    }
    hart.reservation = -1;
    return;
  }
  const old: u64 = size == 4 ? sext32(<u64>load<u32>(p)) : load<u64>(p);
  let nv: u64;
  switch (f5) {
    case 0x01: nv = src; break; // AMOSWAP
    case 0x00: nv = old + src; break; // AMOADD
    case 0x04: nv = old ^ src; break; // AMOXOR
    case 0x0c: nv = old & src; break; // AMOAND
    case 0x08: nv = old | src; break; // AMOOR
    case 0x10: // AMOMIN
      nv = size == 4 ? (<i32>old < <i32>src ? old : src) : (<i64>old < <i64>src ? old : src);
      break;
    case 0x14: // AMOMAX
      nv = size == 4 ? (<i32>old > <i32>src ? old : src) : (<i64>old > <i64>src ? old : src);
      break;
    case 0x18: // AMOMINU
      nv = size == 4 ? (<u32>old < <u32>src ? old : src) : (old < src ? old : src);
      break;
    default: // AMOMAXU
      nv = size == 4 ? (<u32>old > <u32>src ? old : src) : (old > src ? old : src);
  }
  if (size == 4) store<u32>(p, <u32>nv);
  else store<u64>(p, nv);
  wX(rd, old);
}

/**
 * Run up to `budget` instructions. Returns an EXIT_* reason; hart.pc holds the
 * next instruction to execute.
 */
export function run(budget: i32): i32 {
  // The hart and its registers stay put during a run: keep their addresses in locals.
  const hr = hart;
  const xr = S.xregBase();
  let pc = hr.pc;
  let n = budget;
  const startInstret = hr.instret;
  runEnd = startInstret + <u64>budget;
  let exit = EXIT_BUDGET;
  // pc after the last instruction when it fell through; anything else is a
  // block entry, where translated code may take over.
  let seqPc: u64 = 1;
  C.retiring = 1;

  while (n > 0) {
    if (hr.attention) {
      hr.attention = false;
      if (D.takeStop()) {
        // The stopped instruction did not execute: it is not counted.
        n++;
        exit = S.EXIT_DEBUG;
        break;
      }
      if (hr.exitRequest != 0) {
        exit = hr.exitRequest;
        hr.exitRequest = 0;
        break;
      }
      const cause = D.noIrq ? -1 : pendingInterrupt();
      if (cause >= 0) {
        if (T.traceOn) T.setTraceAt(runEnd - <u64>n);
        pc = takeTrap(pc, <u64>cause, 0, true);
      }
    }
    if (pc != seqPc && J.jitOn) {
      n = J.jitDispatch(pc, n);
      pc = J.jitPc;
      if (hr.excCause >= 0) {
        pc = exceptionTrap(pc, n);
        continue;
      }
      seqPc = pc;
      if (n <= 0 || hr.attention) continue;
    }
    n--;

    let inst: u32;
    if ((pc >> 12) == M.fetchVpn && (<u32>pc & 0xfff) <= 0xffc) {
      inst = load<u32>(<usize>(pc + M.fetchAdd));
    } else {
      inst = fetchSlow(pc);
      if (hr.excCause >= 0) {
        pc = exceptionTrap(pc, n);
        continue;
      }
    }
    store<u64>(xr, 0);
    let len: u64 = 4;
    let raw = inst;
    if ((inst & 3) != 3) {
      raw = inst & 0xffff;
      // Expansions are memoised per 16-bit encoding; 1 marks an illegal one
      // (a real expansion always ends in binary 11).
      const slot = RVC_CACHE + (<usize>raw << 2);
      inst = load<u32>(slot);
      if (inst == 0) {
        inst = expandCompressed(raw);
        if (inst == 0) inst = 1;
        store<u32>(slot, inst);
      }
      len = 2;
    }
    const op = decode(inst);
    const rd = (inst >> 7) & 31;
    const rs1 = (inst >> 15) & 31;
    const rs2 = (inst >> 20) & 31;

    switch (op) {
      case Op.LUI: xset(xr, rd, <u64><i64><i32>(inst & 0xffff_f000)); break;
      case Op.AUIPC: xset(xr, rd, pc + <u64><i64><i32>(inst & 0xffff_f000)); break;
      case Op.JAL: {
        const target = pc + immJ(inst);
        xset(xr, rd, pc + len);
        pc = target;
        continue;
      }
      case Op.JALR: {
        const target = (xget(xr, rs1) + immI(inst)) & ~(<u64>1);
        xset(xr, rd, pc + len);
        pc = target;
        continue;
      }
      case Op.BEQ: if (xget(xr, rs1) == xget(xr, rs2)) { pc += immB(inst); continue; } break;
      case Op.BNE: if (xget(xr, rs1) != xget(xr, rs2)) { pc += immB(inst); continue; } break;
      case Op.BLT: if (<i64>xget(xr, rs1) < <i64>xget(xr, rs2)) { pc += immB(inst); continue; } break;
      case Op.BGE: if (<i64>xget(xr, rs1) >= <i64>xget(xr, rs2)) { pc += immB(inst); continue; } break;
      case Op.BLTU: if (xget(xr, rs1) < xget(xr, rs2)) { pc += immB(inst); continue; } break;
      case Op.BGEU: if (xget(xr, rs1) >= xget(xr, rs2)) { pc += immB(inst); continue; } break;
      case Op.LB: case Op.LH: case Op.LW: case Op.LD: case Op.LBU: case Op.LHU: case Op.LWU: {
        const v = loadInt(xget(xr, rs1) + immI(inst), (inst >> 12) & 7);
        if (hr.excCause >= 0) { pc = exceptionTrap(pc, n); continue; }
        xset(xr, rd, v);
        break;
      }
      case Op.SB: case Op.SH: case Op.SW: case Op.SD:
        storeInt(xget(xr, rs1) + immS(inst), <u32>1 << ((inst >> 12) & 3), xget(xr, rs2));
        if (hr.excCause >= 0) { pc = exceptionTrap(pc, n); continue; }
        break;
      case Op.ADDI: xset(xr, rd, xget(xr, rs1) + immI(inst)); break;
      case Op.SLTI: xset(xr, rd, <i64>xget(xr, rs1) < <i64>immI(inst) ? 1 : 0); break;
      case Op.SLTIU: xset(xr, rd, xget(xr, rs1) < immI(inst) ? 1 : 0); break;
      case Op.XORI: xset(xr, rd, xget(xr, rs1) ^ immI(inst)); break;
      case Op.ORI: xset(xr, rd, xget(xr, rs1) | immI(inst)); break;
      case Op.ANDI: xset(xr, rd, xget(xr, rs1) & immI(inst)); break;
      case Op.SLLI: xset(xr, rd, xget(xr, rs1) << <u64>((inst >> 20) & 63)); break;
      case Op.SRLI: xset(xr, rd, xget(xr, rs1) >> <u64>((inst >> 20) & 63)); break;
      case Op.SRAI: xset(xr, rd, <u64>(<i64>xget(xr, rs1) >> <i64>((inst >> 20) & 63))); break;
      case Op.ADD: xset(xr, rd, xget(xr, rs1) + xget(xr, rs2)); break;
      case Op.SUB: xset(xr, rd, xget(xr, rs1) - xget(xr, rs2)); break;
      case Op.SLL: xset(xr, rd, xget(xr, rs1) << (xget(xr, rs2) & 63)); break;
      case Op.SLT: xset(xr, rd, <i64>xget(xr, rs1) < <i64>xget(xr, rs2) ? 1 : 0); break;
      case Op.SLTU: xset(xr, rd, xget(xr, rs1) < xget(xr, rs2) ? 1 : 0); break;
      case Op.XOR: xset(xr, rd, xget(xr, rs1) ^ xget(xr, rs2)); break;
      case Op.SRL: xset(xr, rd, xget(xr, rs1) >> (xget(xr, rs2) & 63)); break;
      case Op.SRA: xset(xr, rd, <u64>(<i64>xget(xr, rs1) >> <i64>(xget(xr, rs2) & 63))); break;
      case Op.OR: xset(xr, rd, xget(xr, rs1) | xget(xr, rs2)); break;
      case Op.AND: xset(xr, rd, xget(xr, rs1) & xget(xr, rs2)); break;
      case Op.ADDIW: xset(xr, rd, sext32(xget(xr, rs1) + immI(inst))); break;
      case Op.SLLIW: xset(xr, rd, sext32(<u64>(<u32>xget(xr, rs1) << rs2))); break;
      case Op.SRLIW: xset(xr, rd, sext32(<u64>(<u32>xget(xr, rs1) >> rs2))); break;
      case Op.SRAIW: xset(xr, rd, sext32(<u64><u32>(<i32>xget(xr, rs1) >> rs2))); break;
      case Op.ADDW: xset(xr, rd, sext32(xget(xr, rs1) + xget(xr, rs2))); break;
      case Op.SUBW: xset(xr, rd, sext32(xget(xr, rs1) - xget(xr, rs2))); break;
      case Op.SLLW: xset(xr, rd, sext32(<u64>(<u32>xget(xr, rs1) << (<u32>xget(xr, rs2) & 31)))); break;
      case Op.SRLW: xset(xr, rd, sext32(<u64>(<u32>xget(xr, rs1) >> (<u32>xget(xr, rs2) & 31)))); break;
      case Op.SRAW: xset(xr, rd, sext32(<u64><u32>(<i32>xget(xr, rs1) >> (<i32>xget(xr, rs2) & 31)))); break;
      case Op.MUL: xset(xr, rd, xget(xr, rs1) * xget(xr, rs2)); break;
      case Op.MULH: xset(xr, rd, mulh(xget(xr, rs1), xget(xr, rs2))); break;
      case Op.MULHSU: xset(xr, rd, mulhsu(xget(xr, rs1), xget(xr, rs2))); break;
      case Op.MULHU: xset(xr, rd, mulhu(xget(xr, rs1), xget(xr, rs2))); break;
      case Op.DIV: xset(xr, rd, divs(xget(xr, rs1), xget(xr, rs2))); break;
      case Op.DIVU: { const b = xget(xr, rs2); xset(xr, rd, b == 0 ? 0xffff_ffff_ffff_ffff : xget(xr, rs1) / b); break; }
      case Op.REM: xset(xr, rd, rems(xget(xr, rs1), xget(xr, rs2))); break;
      case Op.REMU: { const b = xget(xr, rs2); xset(xr, rd, b == 0 ? xget(xr, rs1) : xget(xr, rs1) % b); break; }
      case Op.MULW: xset(xr, rd, sext32(<u64>(<u32>xget(xr, rs1) * <u32>xget(xr, rs2)))); break;
      case Op.DIVW: xset(xr, rd, divw(xget(xr, rs1), xget(xr, rs2))); break;
      case Op.DIVUW: xset(xr, rd, divuw(xget(xr, rs1), xget(xr, rs2))); break;
      case Op.REMW: xset(xr, rd, remw(xget(xr, rs1), xget(xr, rs2))); break;
      case Op.REMUW: xset(xr, rd, remuw(xget(xr, rs1), xget(xr, rs2))); break;
      case Op.LR_W: case Op.SC_W: case Op.AMOSWAP_W: case Op.AMOADD_W: case Op.AMOXOR_W:
      case Op.AMOAND_W: case Op.AMOOR_W: case Op.AMOMIN_W: case Op.AMOMAX_W: case Op.AMOMINU_W:
      case Op.AMOMAXU_W: case Op.LR_D: case Op.SC_D: case Op.AMOSWAP_D: case Op.AMOADD_D:
      case Op.AMOXOR_D: case Op.AMOAND_D: case Op.AMOOR_D: case Op.AMOMIN_D: case Op.AMOMAX_D:
      case Op.AMOMINU_D: case Op.AMOMAXU_D:
        execAmo(inst, rd, rs1, rs2);
        if (hr.excCause >= 0) { pc = exceptionTrap(pc, n); continue; }
        break;
      case Op.SH1ADD: case Op.SH2ADD: case Op.SH3ADD: case Op.ADD_UW: case Op.SH1ADD_UW:
      case Op.SH2ADD_UW: case Op.SH3ADD_UW: case Op.SLLI_UW: case Op.ANDN: case Op.ORN:
      case Op.XNOR: case Op.CLZ: case Op.CTZ: case Op.CPOP: case Op.CLZW: case Op.CTZW:
      case Op.CPOPW: case Op.SEXT_B: case Op.SEXT_H: case Op.ZEXT_H: case Op.MIN: case Op.MINU:
      case Op.MAX: case Op.MAXU: case Op.ROL: case Op.ROR: case Op.RORI: case Op.ROLW:
      case Op.RORW: case Op.RORIW: case Op.ORC_B: case Op.REV8: case Op.CLMUL: case Op.CLMULH:
      case Op.CLMULR: case Op.BCLR: case Op.BEXT: case Op.BINV: case Op.BSET: case Op.BCLRI:
      case Op.BEXTI: case Op.BINVI: case Op.BSETI: case Op.CZERO_EQZ: case Op.CZERO_NEZ:
        if (lacking(op)) { pc = illegal(pc, raw, n); continue; }
        xset(xr, rd, bitmanip(op, xget(xr, rs1), xget(xr, rs2), inst));
        break;
      case Op.FENCE: case Op.FENCE_I: // one hart, and stores to code already dropped its translations
        break;
      case Op.CBO_INVAL: case Op.CBO_CLEAN: case Op.CBO_FLUSH: case Op.CBO_ZERO: {
        // Cache-block operations on 64-byte blocks (Zicbom, Zicboz).
        const kind: u32 = op == Op.CBO_INVAL ? 0 : op == Op.CBO_ZERO ? 2 : 1;
        if (lacking(op) || !C.cboAllowed(kind)) { pc = illegal(pc, raw, n); continue; }
        if (kind == 2) {
          // A store of 64 zero bytes; the block is in one page, so the first
          // store faults (tval = the block's address) or none does.
          const base = xget(xr, rs1) & ~(<u64>63);
          for (let i: u64 = 0; i < 64; i += 8) {
            storeInt(base + i, 8, 0);
            if (hr.excCause >= 0) break;
          }
        } else {
          M.cboCheck(xget(xr, rs1) & ~(<u64>63));
        }
        if (hr.excCause >= 0) { pc = exceptionTrap(pc, n); continue; }
        break;
      }
      case Op.MOP_R: case Op.MOP_RR: // may-be-operations: no extension gives them a meaning yet
        if (lacking(op)) { pc = illegal(pc, raw, n); continue; }
        xset(xr, rd, 0);
        break;
      case Op.WRS_NTO: case Op.WRS_STO: // Zawrs: the stall may end at once (one hart)
        if (lacking(op)) { pc = illegal(pc, raw, n); continue; }
        break;
      case Op.ECALL:
        if (hr.priv != PRV_S || !hr.hostSbi) {
          pc = instructionTrap(pc, CAUSE_USER_ECALL + <u64>hr.priv, 0, n);
          continue;
        }
        pc += 4;
        exit = EXIT_ECALL;
        break;
      case Op.EBREAK:
        pc = instructionTrap(pc, CAUSE_BREAKPOINT, pc, n);
        continue;
      case Op.MRET:
        if (hr.priv != PRV_M) { pc = illegal(pc, raw, n); continue; }
        pc = mret();
        continue;
      case Op.SRET:
        if (hr.priv == PRV_U || (hr.priv == PRV_S && (hr.mstatus & MSTATUS_TSR) != 0)) { pc = illegal(pc, raw, n); continue; }
        pc = sret();
        continue;
      case Op.WFI:
        if (hr.priv == PRV_U || (hr.priv == PRV_S && (hr.mstatus & MSTATUS_TW) != 0)) { pc = illegal(pc, raw, n); continue; }
        pc += 4;
        if (wfiWake()) continue;
        exit = EXIT_WFI;
        break;
      case Op.SFENCE_W_INVAL: case Op.SFENCE_INVAL_IR: // Svinval: the fences; nothing to wait for here
        if (hr.priv == PRV_U) { pc = illegal(pc, raw, n); continue; }
        break;
      case Op.SFENCE_VMA: case Op.SINVAL_VMA: // SINVAL.VMA invalidates as SFENCE.VMA does (Svinval)
        if (hr.priv == PRV_U || (hr.priv == PRV_S && (hr.mstatus & MSTATUS_TVM) != 0)) { pc = illegal(pc, raw, n); continue; }
        if (rs1 != 0) M.flushPage(xget(xr, rs1));
        else flushTlb();
        M.invalidateFetch();
        break;
      case Op.CSRRW: case Op.CSRRS: case Op.CSRRC: case Op.CSRRWI: case Op.CSRRSI: case Op.CSRRCI: {
        // instret and cycle read the count of the instructions before this one.
        hr.instret = startInstret + <u64>(budget - n);
        if (!C.csrInstruction((inst >> 12) & 7, inst >> 20, rs1, xget(xr, rs1))) { pc = illegal(pc, raw, n); continue; }
        xset(xr, rd, C.csrValue);
        break;
      }
      case Op.ILLEGAL:
        pc = illegal(pc, raw, n);
        continue;
      default: { // F and D
        if (!execFp(op, inst)) { pc = illegal(pc, raw, n); continue; }
        if (hr.excCause >= 0) { pc = exceptionTrap(pc, n); continue; }
        break;
      }
    }
    if (exit != EXIT_BUDGET) break;
    pc += len;
    seqPc = pc;
  }
  if (D.takeStop()) {
    // A debugger stop on the budget's last instruction.
    n++;
    exit = S.EXIT_DEBUG;
  }
  hr.pc = pc;
  hr.instret = startInstret + <u64>(budget - n);
  C.retiring = 0;
  // x0's slot holds whatever the last instruction "wrote" to x0 (it is
  // re-zeroed before each one); leave it zero for everyone else.
  store<u64>(xregBase(), 0);
  return exit;
}

// Keep referenced for misaligned-fetch semantics: with C, IALIGN is 16 and
// jumps clear bit 0, so a misaligned fetch cannot occur.
export const _IALIGN_NOTE: u64 = CAUSE_MISALIGNED_FETCH;
export const _PRV_U: u32 = PRV_U;

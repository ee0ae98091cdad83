// The interpreter: fetch, decode and execute until the budget is spent or
// something needs the host. Unprivileged spec chapters 2 (RV64I), 7 (M),
// 8 (A); privileged spec for SYSTEM.

import * as S from './state';
import { hart } from './state';
import {
  xregBase, PRV_M, PRV_S, PRV_U, CAUSE_ILLEGAL_INSTRUCTION, CAUSE_BREAKPOINT, CAUSE_USER_ECALL,
  CAUSE_MISALIGNED_FETCH, EXIT_BUDGET, EXIT_WFI, EXIT_ECALL, MSTATUS_TW, MSTATUS_TVM,
  MSTATUS_TSR,
} from './state';
import * as M from './mmu';
import { tlbLookup, loadSlow, storeSlow, fetchSlow, atomicPointer, flushTlb, ACC_LOAD, ACC_STORE } from './mmu';
import * as C from './csr';
import { csrRead, csrWrite, csrWritable, pendingInterrupt, wfiWake } from './csr';
import { takeTrap, mret, sret } from './trap';
import { expandCompressed } from './compressed';
import { execFp, execFpLoad, execFpStore } from './fp';
import * as F from './fpu';
import { mul128 } from './fpu';
import * as J from './jit';

@inline function rX(i: u32): u64 {
  return load<u64>(xregBase() + ((<usize>i) << 3));
}
@inline function wX(i: u32, v: u64): void {
  store<u64>(xregBase() + ((<usize>i) << 3), v);
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
function exceptionTrap(pc: u64): u64 {
  const cause = <u64>hart.excCause;
  hart.excCause = -1;
  return takeTrap(pc, cause, hart.excTval, false);
}

function illegal(pc: u64, raw: u32): u64 {
  return takeTrap(pc, CAUSE_ILLEGAL_INSTRUCTION, <u64>raw, false);
}

/** Execute one AMO/LR/SC; returns false if the encoding is illegal. */
function execAmo(inst: u32, rd: u32, rs1: u32, rs2: u32): bool {
  const f3 = (inst >> 12) & 7;
  if (f3 != 2 && f3 != 3) return false;
  const size: u32 = f3 == 2 ? 4 : 8;
  const f5 = inst >> 27;
  const va = rX(rs1);
  if (f5 == 2) { // LR
    if (rs2 != 0) return false;
    const p = atomicPointer(va, size, ACC_LOAD);
    if (hart.excCause >= 0) return true;
    wX(rd, size == 4 ? sext32(<u64>load<u32>(p)) : load<u64>(p));
    hart.reservation = <i64>p;
    return true;
  }
  const src = rX(rs2);
  const p = atomicPointer(va, size, ACC_STORE);
  if (hart.excCause >= 0) return true;
  if (f5 == 3) { // SC
    if (hart.reservation == <i64>p) {
      if (size == 4) store<u32>(p, <u32>src);
      else store<u64>(p, src);
      wX(rd, 0);
    } else {
      wX(rd, 1);
    }
    hart.reservation = -1;
    return true;
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
    case 0x1c: // AMOMAXU
      nv = size == 4 ? (<u32>old > <u32>src ? old : src) : (old > src ? old : src);
      break;
    default:
      return false;
  }
  if (size == 4) store<u32>(p, <u32>nv);
  else store<u64>(p, nv);
  wX(rd, old);
  return true;
}

/**
 * Run up to `budget` instructions. Returns an EXIT_* reason; hart.pc holds the
 * next instruction to execute.
 */
export function run(budget: i32): i32 {
  let pc = hart.pc;
  let n = budget;
  const startInstret = hart.instret;
  let exit = EXIT_BUDGET;
  // pc after the last instruction when it fell through; anything else is a
  // block entry, where translated code may take over.
  let seqPc: u64 = 1;

  while (n > 0) {
    if (hart.attention) {
      hart.attention = false;
      if (hart.exitRequest != 0) {
        exit = hart.exitRequest;
        hart.exitRequest = 0;
        break;
      }
      const cause = pendingInterrupt();
      if (cause >= 0) pc = takeTrap(pc, <u64>cause, 0, true);
    }
    if (pc != seqPc && J.jitOn) {
      n = J.jitDispatch(pc, n);
      pc = J.jitPc;
      if (hart.excCause >= 0) {
        pc = exceptionTrap(pc);
        continue;
      }
      seqPc = pc;
      if (n <= 0 || hart.attention) continue;
    }
    n--;

    let inst: u32;
    if ((pc >> 12) == M.fetchVpn && (<u32>pc & 0xfff) <= 0xffc) {
      inst = load<u32>(<usize>(pc + M.fetchAdd));
    } else {
      inst = fetchSlow(pc);
      if (hart.excCause >= 0) {
        pc = exceptionTrap(pc);
        continue;
      }
    }
    store<u64>(xregBase(), 0);
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
      if (inst == 1) {
        pc = illegal(pc, raw);
        continue;
      }
    }
    const rd = (inst >> 7) & 31;
    const rs1 = (inst >> 15) & 31;
    const rs2 = (inst >> 20) & 31;
    const f3 = (inst >> 12) & 7;

    switch (inst & 0x7f) {
      case 0x37: // LUI
        wX(rd, <u64><i64><i32>(inst & 0xffff_f000));
        break;
      case 0x17: // AUIPC
        wX(rd, pc + <u64><i64><i32>(inst & 0xffff_f000));
        break;
      case 0x6f: { // JAL
        const target = pc + immJ(inst);
        wX(rd, pc + len);
        pc = target;
        continue;
      }
      case 0x67: { // JALR
        if (f3 != 0) { pc = illegal(pc, raw); continue; }
        const target = (rX(rs1) + immI(inst)) & ~(<u64>1);
        wX(rd, pc + len);
        pc = target;
        continue;
      }
      case 0x63: { // BRANCH
        const a = rX(rs1);
        const b = rX(rs2);
        let taken: bool;
        switch (f3) {
          case 0: taken = a == b; break;
          case 1: taken = a != b; break;
          case 4: taken = <i64>a < <i64>b; break;
          case 5: taken = <i64>a >= <i64>b; break;
          case 6: taken = a < b; break;
          case 7: taken = a >= b; break;
          default: pc = illegal(pc, raw); continue;
        }
        if (taken) {
          pc += immB(inst);
          continue;
        }
        break;
      }
      case 0x03: { // LOAD
        const va = rX(rs1) + immI(inst);
        let v: u64;
        switch (f3) {
          case 0: { const h = tlbLookup(M.loadTable, va, 1); v = h ? <u64><i64>load<i8>(h) : <u64><i64><i8>loadSlow(va, 1); break; }
          case 1: { const h = tlbLookup(M.loadTable, va, 2); v = h ? <u64><i64>load<i16>(h) : <u64><i64><i16>loadSlow(va, 2); break; }
          case 2: { const h = tlbLookup(M.loadTable, va, 4); v = h ? <u64><i64>load<i32>(h) : <u64><i64><i32>loadSlow(va, 4); break; }
          case 3: { const h = tlbLookup(M.loadTable, va, 8); v = h ? load<u64>(h) : loadSlow(va, 8); break; }
          case 4: { const h = tlbLookup(M.loadTable, va, 1); v = h ? <u64>load<u8>(h) : loadSlow(va, 1); break; }
          case 5: { const h = tlbLookup(M.loadTable, va, 2); v = h ? <u64>load<u16>(h) : loadSlow(va, 2); break; }
          case 6: { const h = tlbLookup(M.loadTable, va, 4); v = h ? <u64>load<u32>(h) : loadSlow(va, 4); break; }
          default: pc = illegal(pc, raw); continue;
        }
        if (hart.excCause >= 0) { pc = exceptionTrap(pc); continue; }
        wX(rd, v);
        break;
      }
      case 0x23: { // STORE
        const va = rX(rs1) + immS(inst);
        const v = rX(rs2);
        if (f3 > 3) { pc = illegal(pc, raw); continue; }
        const size: u32 = 1 << f3;
        const h = tlbLookup(M.storeTable, va, size);
        if (h) {
          if (f3 == 0) store<u8>(h, <u8>v);
          else if (f3 == 1) store<u16>(h, <u16>v);
          else if (f3 == 2) store<u32>(h, <u32>v);
          else store<u64>(h, v);
        } else {
          storeSlow(va, size, v);
          if (hart.excCause >= 0) { pc = exceptionTrap(pc); continue; }
        }
        break;
      }
      case 0x13: { // OP-IMM
        const a = rX(rs1);
        const imm = immI(inst);
        switch (f3) {
          case 0: wX(rd, a + imm); break;
          case 1:
            if ((inst >> 26) != 0) { pc = illegal(pc, raw); continue; }
            wX(rd, a << (imm & 63));
            break;
          case 2: wX(rd, <i64>a < <i64>imm ? 1 : 0); break;
          case 3: wX(rd, a < imm ? 1 : 0); break;
          case 4: wX(rd, a ^ imm); break;
          case 5: {
            const top = inst >> 26;
            if (top == 0) wX(rd, a >> (imm & 63));
            else if (top == 0x10) wX(rd, <u64>(<i64>a >> <i64>(imm & 63)));
            else { pc = illegal(pc, raw); continue; }
            break;
          }
          case 6: wX(rd, a | imm); break;
          default: wX(rd, a & imm); break;
        }
        break;
      }
      case 0x1b: { // OP-IMM-32
        const a = rX(rs1);
        if (f3 == 0) {
          wX(rd, sext32(a + immI(inst)));
        } else if (f3 == 1) {
          if ((inst >> 25) != 0) { pc = illegal(pc, raw); continue; }
          wX(rd, sext32(<u64>(<u32>a << rs2)));
        } else if (f3 == 5) {
          const top = inst >> 25;
          if (top == 0) wX(rd, sext32(<u64>(<u32>a >> rs2)));
          else if (top == 0x20) wX(rd, sext32(<u64><u32>(<i32>a >> rs2)));
          else { pc = illegal(pc, raw); continue; }
        } else {
          pc = illegal(pc, raw);
          continue;
        }
        break;
      }
      case 0x33: { // OP
        const a = rX(rs1);
        const b = rX(rs2);
        const f7 = inst >> 25;
        if (f7 == 0) {
          switch (f3) {
            case 0: wX(rd, a + b); break;
            case 1: wX(rd, a << (b & 63)); break;
            case 2: wX(rd, <i64>a < <i64>b ? 1 : 0); break;
            case 3: wX(rd, a < b ? 1 : 0); break;
            case 4: wX(rd, a ^ b); break;
            case 5: wX(rd, a >> (b & 63)); break;
            case 6: wX(rd, a | b); break;
            default: wX(rd, a & b); break;
          }
        } else if (f7 == 0x20) {
          if (f3 == 0) wX(rd, a - b);
          else if (f3 == 5) wX(rd, <u64>(<i64>a >> <i64>(b & 63)));
          else { pc = illegal(pc, raw); continue; }
        } else if (f7 == 1) {
          switch (f3) {
            case 0: wX(rd, a * b); break;
            case 1: wX(rd, mulh(a, b)); break;
            case 2: wX(rd, mulhsu(a, b)); break;
            case 3: wX(rd, mulhu(a, b)); break;
            case 4: wX(rd, divs(a, b)); break;
            case 5: wX(rd, b == 0 ? 0xffff_ffff_ffff_ffff : a / b); break;
            case 6: wX(rd, rems(a, b)); break;
            default: wX(rd, b == 0 ? a : a % b); break;
          }
        } else {
          pc = illegal(pc, raw);
          continue;
        }
        break;
      }
      case 0x3b: { // OP-32
        const a = rX(rs1);
        const b = rX(rs2);
        const f7 = inst >> 25;
        if (f7 == 0) {
          if (f3 == 0) wX(rd, sext32(a + b));
          else if (f3 == 1) wX(rd, sext32(<u64>(<u32>a << (<u32>b & 31))));
          else if (f3 == 5) wX(rd, sext32(<u64>(<u32>a >> (<u32>b & 31))));
          else { pc = illegal(pc, raw); continue; }
        } else if (f7 == 0x20) {
          if (f3 == 0) wX(rd, sext32(a - b));
          else if (f3 == 5) wX(rd, sext32(<u64><u32>(<i32>a >> (<i32>b & 31))));
          else { pc = illegal(pc, raw); continue; }
        } else if (f7 == 1) {
          switch (f3) {
            case 0: wX(rd, sext32(<u64>(<u32>a * <u32>b))); break;
            case 4: wX(rd, divw(a, b)); break;
            case 5: wX(rd, divuw(a, b)); break;
            case 6: wX(rd, remw(a, b)); break;
            case 7: wX(rd, remuw(a, b)); break;
            default: pc = illegal(pc, raw); continue;
          }
        } else {
          pc = illegal(pc, raw);
          continue;
        }
        break;
      }
      case 0x2f: { // AMO
        if (!execAmo(inst, rd, rs1, rs2)) { pc = illegal(pc, raw); continue; }
        if (hart.excCause >= 0) { pc = exceptionTrap(pc); continue; }
        break;
      }
      case 0x0f: // MISC-MEM: FENCE, FENCE.I (no decode cache, nothing to flush)
        if (f3 > 1) { pc = illegal(pc, raw); continue; }
        break;
      case 0x73: { // SYSTEM
        if (f3 == 0) {
          if (rd != 0) { pc = illegal(pc, raw); continue; }
          const f7 = inst >> 25;
          if (inst == 0x0000_0073) { // ECALL
            if (hart.priv == PRV_S && hart.hostSbi) {
              pc += 4;
              exit = EXIT_ECALL;
              break;
            }
            pc = takeTrap(pc, CAUSE_USER_ECALL + <u64>hart.priv, 0, false);
            continue;
          }
          if (inst == 0x0010_0073) { // EBREAK
            pc = takeTrap(pc, CAUSE_BREAKPOINT, pc, false);
            continue;
          }
          if (inst == 0x3020_0073) { // MRET
            if (hart.priv != PRV_M) { pc = illegal(pc, raw); continue; }
            pc = mret();
            continue;
          }
          if (inst == 0x1020_0073) { // SRET
            if (hart.priv == PRV_U || (hart.priv == PRV_S && (hart.mstatus & MSTATUS_TSR) != 0)) { pc = illegal(pc, raw); continue; }
            pc = sret();
            continue;
          }
          if (inst == 0x1050_0073) { // WFI
            if (hart.priv == PRV_U || (hart.priv == PRV_S && (hart.mstatus & MSTATUS_TW) != 0)) { pc = illegal(pc, raw); continue; }
            pc += 4;
            if (!wfiWake()) {
              exit = EXIT_WFI;
              break;
            }
            continue;
          }
          if (f7 == 0x09) { // SFENCE.VMA
            if (hart.priv == PRV_U || (hart.priv == PRV_S && (hart.mstatus & MSTATUS_TVM) != 0)) { pc = illegal(pc, raw); continue; }
            if (rs1 != 0) M.flushPage(rX(rs1));
            else flushTlb();
            M.invalidateFetch();
            break;
          }
          pc = illegal(pc, raw);
          continue;
        }
        if (f3 == 4) { pc = illegal(pc, raw); continue; }
        // Zicsr
        const csr = inst >> 20;
        const op = f3 & 3;
        const writes = op == 1 || rs1 != 0;
        hart.instret = startInstret + <u64>(budget - n);
        if (writes && !csrWritable(csr)) { pc = illegal(pc, raw); continue; }
        if (!csrRead(csr)) { pc = illegal(pc, raw); continue; }
        const old = C.csrValue;
        if (writes) {
          const src: u64 = f3 >= 5 ? <u64>rs1 : rX(rs1);
          const nv = op == 1 ? src : op == 2 ? old | src : old & ~src;
          if (!csrWrite(csr, nv)) { pc = illegal(pc, raw); continue; }
        }
        wX(rd, old);
        break;
      }
      case 0x07: // LOAD-FP
        if (!execFpLoad(inst, rd, rs1, f3)) { pc = illegal(pc, raw); continue; }
        if (hart.excCause >= 0) { pc = exceptionTrap(pc); continue; }
        break;
      case 0x27: // STORE-FP
        if (!execFpStore(inst, rs1, rs2, f3)) { pc = illegal(pc, raw); continue; }
        if (hart.excCause >= 0) { pc = exceptionTrap(pc); continue; }
        break;
      case 0x43: case 0x47: case 0x4b: case 0x4f: case 0x53:
        if (!execFp(inst, rd, rs1, rs2, f3)) { pc = illegal(pc, raw); continue; }
        break;
      default:
        pc = illegal(pc, raw);
        continue;
    }
    if (exit != EXIT_BUDGET) break;
    pc += len;
    seqPc = pc;
  }
  hart.pc = pc;
  hart.instret = startInstret + <u64>(budget - n);
  // x0's slot holds whatever the last instruction "wrote" to x0 (it is
  // re-zeroed before each one); leave it zero for everyone else.
  store<u64>(xregBase(), 0);
  return exit;
}

// Keep referenced for misaligned-fetch semantics: with C, IALIGN is 16 and
// jumps clear bit 0, so a misaligned fetch cannot occur.
export const _IALIGN_NOTE: u64 = CAUSE_MISALIGNED_FETCH;
export const _PRV_U: u32 = PRV_U;

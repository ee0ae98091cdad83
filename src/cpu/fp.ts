// F and D instruction execution: register file conventions (NaN-boxing),
// rounding-mode resolution, fflags accumulation and mstatus.FS. The
// arithmetic itself is in fpu.ts. Unprivileged spec chapters 11 (F), 12 (D).

import * as S from './state';
import { hart } from './state';
import { fregBase, xregBase } from './state';
import * as M from './mmu';
import { tlbLookup, loadSlow, storeSlow } from './mmu';
import * as C from './csr';
import { fpEnabled, setFsDirty } from './csr';
import * as F from './fpu';

const BOX: u64 = 0xffff_ffff_0000_0000;
const CANON_S: u32 = 0x7fc0_0000;

@inline function rX(i: u32): u64 {
  return load<u64>(xregBase() + ((<usize>i) << 3));
}
@inline function wX(i: u32, v: u64): void {
  store<u64>(xregBase() + ((<usize>i) << 3), v);
}
@inline function rD(i: u32): u64 {
  return load<u64>(fregBase() + ((<usize>i) << 3));
}
@inline function wD(i: u32, v: u64): void {
  store<u64>(fregBase() + ((<usize>i) << 3), v);
}
/** A single read from an FP register: improperly NaN-boxed values read as the canonical NaN. */
@inline function rS(i: u32): u32 {
  const v = load<u64>(fregBase() + ((<usize>i) << 3));
  return (v & BOX) == BOX ? <u32>v : CANON_S;
}
@inline function wS(i: u32, v: u32): void {
  store<u64>(fregBase() + ((<usize>i) << 3), BOX | <u64>v);
}
@inline function sext32(v: u64): u64 {
  return <u64><i64><i32>v;
}

function flushFlags(): void {
  if (F.fflagsAcc != 0) {
    hart.fflags |= F.fflagsAcc;
    F.fflagsAcc = 0;
    setFsDirty();
  }
}

/** The host may compute this operation: round to nearest even, inexact already raised. */
@inline function hostRounding(rm: i32): bool {
  return rm == 0 && (hart.fflags & 1) != 0;
}

/** Resolve the rm field (7 = dynamic); -1 if the result is a reserved mode. */
@inline function roundingMode(f3: u32): i32 {
  const rm = f3 == 7 ? hart.frm : f3;
  return rm > 4 ? -1 : <i32>rm;
}

export function execFpLoad(inst: u32, rd: u32, rs1: u32, f3: u32): bool {
  if (!fpEnabled() || (f3 != 2 && f3 != 3)) return false;
  const va = rX(rs1) + <u64><i64>((<i32>inst) >> 20);
  if (f3 == 2) {
    const h = tlbLookup(M.loadTable, va, 4);
    const v = h ? load<u32>(h) : <u32>loadSlow(va, 4);
    if (hart.excCause >= 0) return true;
    wS(rd, v);
  } else {
    const h = tlbLookup(M.loadTable, va, 8);
    const v = h ? load<u64>(h) : loadSlow(va, 8);
    if (hart.excCause >= 0) return true;
    wD(rd, v);
  }
  setFsDirty();
  return true;
}

export function execFpStore(inst: u32, rs1: u32, rs2: u32, f3: u32): bool {
  if (!fpEnabled() || (f3 != 2 && f3 != 3)) return false;
  const va = rX(rs1) + <u64><i64>(((<i32>inst >> 25) << 5) | ((inst >> 7) & 0x1f));
  const size: u32 = f3 == 2 ? 4 : 8;
  // FSW stores the low 32 bits as they are, without NaN-box checking.
  const v = rD(rs2);
  const h = tlbLookup(M.storeTable, va, size);
  if (h) {
    if (size == 4) store<u32>(h, <u32>v);
    else store<u64>(h, v);
  } else {
    storeSlow(va, size, v);
  }
  return true;
}

/** OP-FP and the fused multiply-add opcodes. Returns false for illegal encodings. */
export function execFp(inst: u32, rd: u32, rs1: u32, rs2: u32, f3: u32): bool {
  if (!fpEnabled()) return false;
  const opcode = inst & 0x7f;
  const fmt = (inst >> 25) & 3;
  if (opcode != 0x53) {
    // FMADD 0x43, FMSUB 0x47, FNMSUB 0x4b, FNMADD 0x4f
    if (fmt > 1) return false;
    const rm = roundingMode(f3);
    if (rm < 0) return false;
    const rs3 = inst >> 27;
    const negProduct = opcode == 0x4b || opcode == 0x4f;
    const negAddend = opcode == 0x47 || opcode == 0x4f;
    if (fmt == 0) {
      const a = rS(rs1) ^ (negProduct ? 0x8000_0000 : 0);
      const c = rS(rs3) ^ (negAddend ? 0x8000_0000 : 0);
      wS(rd, F.f32_fma(a, rS(rs2), c, <u32>rm));
    } else {
      const a = rD(rs1) ^ (negProduct ? 0x8000_0000_0000_0000 : 0);
      const c = rD(rs3) ^ (negAddend ? 0x8000_0000_0000_0000 : 0);
      wD(rd, F.f64_fma(a, rD(rs2), c, <u32>rm));
    }
    flushFlags();
    setFsDirty();
    return true;
  }
  const f7 = inst >> 25;
  const dbl = (f7 & 1) != 0;
  if ((f7 & 2) != 0) return false; // H and Q formats are not implemented
  switch (f7 >> 2) {
    case 0x00: case 0x01: case 0x02: case 0x03: { // FADD FSUB FMUL FDIV
      const rm = roundingMode(f3);
      if (rm < 0) return false;
      const op = f7 >> 2;
      if (hostRounding(rm)) {
        if (!dbl) {
          const r = F.hostF32(op, rS(rs1), rS(rs2));
          if (F.hostOk) {
            wS(rd, r);
            break;
          }
        } else {
          const r = F.hostF64(op, rD(rs1), rD(rs2));
          if (F.hostOk) {
            wD(rd, r);
            break;
          }
        }
      }
      if (!dbl) {
        const a = rS(rs1);
        const b = rS(rs2);
        wS(rd, op == 0 ? F.f32_add(a, b, <u32>rm) : op == 1 ? F.f32_sub(a, b, <u32>rm) : op == 2 ? F.f32_mul(a, b, <u32>rm) : F.f32_div(a, b, <u32>rm));
      } else {
        const a = rD(rs1);
        const b = rD(rs2);
        wD(rd, op == 0 ? F.f64_add(a, b, <u32>rm) : op == 1 ? F.f64_sub(a, b, <u32>rm) : op == 2 ? F.f64_mul(a, b, <u32>rm) : F.f64_div(a, b, <u32>rm));
      }
      break;
    }
    case 0x0b: { // FSQRT
      if (rs2 != 0) return false;
      const rm = roundingMode(f3);
      if (rm < 0) return false;
      if (hostRounding(rm)) {
        if (!dbl) {
          const a = rS(rs1);
          const r = F.hostSqrt32(a);
          if (F.hostOk) {
            wS(rd, r);
            break;
          }
        } else {
          const a = rD(rs1);
          const r = F.hostSqrt64(a);
          if (F.hostOk) {
            wD(rd, r);
            break;
          }
        }
      }
      if (!dbl) wS(rd, F.f32_sqrt(rS(rs1), <u32>rm));
      else wD(rd, F.f64_sqrt(rD(rs1), <u32>rm));
      break;
    }
    case 0x04: { // FSGNJ, FSGNJN, FSGNJX
      if (f3 > 2) return false;
      if (!dbl) {
        const a = rS(rs1);
        const b = rS(rs2);
        const sign = f3 == 0 ? b : f3 == 1 ? ~b : a ^ b;
        wS(rd, (a & 0x7fff_ffff) | (sign & 0x8000_0000));
      } else {
        const a = rD(rs1);
        const b = rD(rs2);
        const sign = f3 == 0 ? b : f3 == 1 ? ~b : a ^ b;
        wD(rd, (a & 0x7fff_ffff_ffff_ffff) | (sign & 0x8000_0000_0000_0000));
      }
      setFsDirty();
      return true;
    }
    case 0x05: { // FMIN, FMAX
      if (f3 > 1) return false;
      if (!dbl) wS(rd, f3 == 0 ? F.f32_min(rS(rs1), rS(rs2)) : F.f32_max(rS(rs1), rS(rs2)));
      else wD(rd, f3 == 0 ? F.f64_min(rD(rs1), rD(rs2)) : F.f64_max(rD(rs1), rD(rs2)));
      break;
    }
    case 0x08: { // FCVT.S.D (fmt S, rs2 = 1) / FCVT.D.S (fmt D, rs2 = 0)
      const rm = roundingMode(f3);
      if (rm < 0) return false;
      if (!dbl) {
        if (rs2 != 1) return false;
        wS(rd, F.f64_to_f32(rD(rs1), <u32>rm));
      } else {
        if (rs2 != 0) return false;
        wD(rd, F.f32_to_f64(rS(rs1)));
      }
      break;
    }
    case 0x14: { // FLE, FLT, FEQ
      let r: u32;
      if (f3 == 0) r = dbl ? F.f64_le(rD(rs1), rD(rs2)) : F.f32_le(rS(rs1), rS(rs2));
      else if (f3 == 1) r = dbl ? F.f64_lt(rD(rs1), rD(rs2)) : F.f32_lt(rS(rs1), rS(rs2));
      else if (f3 == 2) r = dbl ? F.f64_eq(rD(rs1), rD(rs2)) : F.f32_eq(rS(rs1), rS(rs2));
      else return false;
      wX(rd, <u64>r);
      flushFlags();
      return true;
    }
    case 0x18: { // FCVT.{W,WU,L,LU}.{S,D}
      const rm = roundingMode(f3);
      if (rm < 0) return false;
      const r = <u32>rm;
      let v: u64;
      if (!dbl) {
        const a = rS(rs1);
        switch (rs2) {
          case 0: v = sext32(<u64><u32>F.f32_to_i32(a, r)); break;
          case 1: v = sext32(<u64><u32>F.f32_to_u32(a, r)); break;
          case 2: v = <u64>F.f32_to_i64(a, r); break;
          case 3: v = <u64>F.f32_to_u64(a, r); break;
          default: return false;
        }
      } else {
        const a = rD(rs1);
        switch (rs2) {
          case 0: v = sext32(<u64><u32>F.f64_to_i32(a, r)); break;
          case 1: v = sext32(<u64><u32>F.f64_to_u32(a, r)); break;
          case 2: v = <u64>F.f64_to_i64(a, r); break;
          case 3: v = <u64>F.f64_to_u64(a, r); break;
          default: return false;
        }
      }
      wX(rd, v);
      flushFlags();
      return true;
    }
    case 0x1a: { // FCVT.{S,D}.{W,WU,L,LU}
      const rm = roundingMode(f3);
      if (rm < 0) return false;
      const r = <u32>rm;
      const x = rX(rs1);
      if (!dbl) {
        switch (rs2) {
          case 0: wS(rd, F.i32_to_f32(<i32>x, r)); break;
          case 1: wS(rd, F.u32_to_f32(<u32>x, r)); break;
          case 2: wS(rd, F.i64_to_f32(<i64>x, r)); break;
          case 3: wS(rd, F.u64_to_f32(x, r)); break;
          default: return false;
        }
      } else {
        switch (rs2) {
          case 0: wD(rd, F.i32_to_f64(<i32>x, r)); break;
          case 1: wD(rd, F.u32_to_f64(<u32>x, r)); break;
          case 2: wD(rd, F.i64_to_f64(<i64>x, r)); break;
          case 3: wD(rd, F.u64_to_f64(x, r)); break;
          default: return false;
        }
      }
      break;
    }
    case 0x1c: { // FMV.X.W / FMV.X.D (f3 0), FCLASS (f3 1)
      if (rs2 != 0) return false;
      if (f3 == 0) {
        // FMV.X.W moves the raw low 32 bits, sign-extended, with no NaN-box check.
        wX(rd, dbl ? rD(rs1) : sext32(rD(rs1)));
      } else if (f3 == 1) {
        wX(rd, <u64>(dbl ? F.f64_classify(rD(rs1)) : F.f32_classify(rS(rs1))));
      } else {
        return false;
      }
      return true;
    }
    case 0x1e: { // FMV.W.X / FMV.D.X
      if (rs2 != 0 || f3 != 0) return false;
      if (dbl) wD(rd, rX(rs1));
      else wS(rd, <u32>rX(rs1));
      setFsDirty();
      return true;
    }
    default:
      return false;
  }
  flushFlags();
  setFsDirty();
  return true;
}

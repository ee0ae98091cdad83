// F and D instruction execution: register file conventions (NaN-boxing),
// rounding-mode resolution, fflags accumulation and mstatus.FS. The
// arithmetic itself is in fpu.ts. Unprivileged spec chapters 11 (F), 12 (D).

import { hart, fregBase, xregBase } from './state';
import { loadInt, storeInt } from './mmu';
import { fpEnabled, setFsDirty } from './csr';
import * as F from './fpu';
import { Op } from '../../build/decoder';

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

function fpLoad(dbl: bool, inst: u32): void {
  // FLW's 32 bits zero-extended (funct3 6, as LWU), FLD's 64 (funct3 3, as LD).
  const v = loadInt(rX((inst >> 15) & 31) + <u64><i64>((<i32>inst) >> 20), dbl ? 3 : 6);
  if (hart.excCause >= 0) return;
  const rd = (inst >> 7) & 31;
  if (dbl) wD(rd, v);
  else wS(rd, <u32>v);
  setFsDirty();
}

function fpStore(dbl: bool, inst: u32): void {
  const va = rX((inst >> 15) & 31) + <u64><i64>(((<i32>inst >> 25) << 5) | ((inst >> 7) & 0x1f));
  storeInt(va, dbl ? 8 : 4, rD((inst >> 20) & 31));
}

/**
 * Execute the F or D instruction `op` (decode.ts) encoded as `inst`.
 * Returns false if it is illegal now (FP off, or a reserved rounding mode);
 * a memory fault is left in hart.excCause.
 */
export function execFp(op: Op, inst: u32): bool {
  if (!fpEnabled()) return false;
  const rd = (inst >> 7) & 31;
  const rs1 = (inst >> 15) & 31;
  const rs2 = (inst >> 20) & 31;
  const f3 = (inst >> 12) & 7;
  // D's operations are F's, in the same order in the table (src/isa/instructions.ts).
  const dbl = op >= Op.FLD && op <= Op.FMV_D_X;
  const o = dbl ? <Op>(<i32>op - (<i32>Op.FLD - <i32>Op.FLW)) : op;
  switch (o) {
    case Op.FLW:
      fpLoad(dbl, inst);
      return true;
    case Op.FSW:
      fpStore(dbl, inst);
      return true;
    case Op.FMADD_S: case Op.FMSUB_S: case Op.FNMSUB_S: case Op.FNMADD_S: {
      const rm = roundingMode(f3);
      if (rm < 0) return false;
      const rs3 = inst >> 27;
      const negProduct = o == Op.FNMSUB_S || o == Op.FNMADD_S;
      const negAddend = o == Op.FMSUB_S || o == Op.FNMADD_S;
      if (!dbl) {
        const a = rS(rs1) ^ (negProduct ? 0x8000_0000 : 0);
        const c = rS(rs3) ^ (negAddend ? 0x8000_0000 : 0);
        wS(rd, F.f32_fma(a, rS(rs2), c, <u32>rm));
      } else {
        const a = rD(rs1) ^ (negProduct ? 0x8000_0000_0000_0000 : 0);
        const c = rD(rs3) ^ (negAddend ? 0x8000_0000_0000_0000 : 0);
        if (hostRounding(rm)) {
          const r = F.hostFma64(a, rD(rs2), c);
          if (F.hostOk) {
            wD(rd, r);
            break;
          }
        }
        wD(rd, F.f64_fma(a, rD(rs2), c, <u32>rm));
      }
      break;
    }
    case Op.FADD_S: case Op.FSUB_S: case Op.FMUL_S: case Op.FDIV_S: {
      const rm = roundingMode(f3);
      if (rm < 0) return false;
      // hostF32/hostF64 and the softfloat chain below number them 0..3 in this order.
      const k = <i32>o - <i32>Op.FADD_S;
      if (hostRounding(rm)) {
        if (!dbl) {
          const r = F.hostF32(k, rS(rs1), rS(rs2));
          if (F.hostOk) {
            wS(rd, r);
            break;
          }
        } else {
          const r = F.hostF64(k, rD(rs1), rD(rs2));
          if (F.hostOk) {
            wD(rd, r);
            break;
          }
        }
      }
      if (!dbl) {
        const a = rS(rs1);
        const b = rS(rs2);
        wS(rd, k == 0 ? F.f32_add(a, b, <u32>rm) : k == 1 ? F.f32_sub(a, b, <u32>rm) : k == 2 ? F.f32_mul(a, b, <u32>rm) : F.f32_div(a, b, <u32>rm));
      } else {
        const a = rD(rs1);
        const b = rD(rs2);
        wD(rd, k == 0 ? F.f64_add(a, b, <u32>rm) : k == 1 ? F.f64_sub(a, b, <u32>rm) : k == 2 ? F.f64_mul(a, b, <u32>rm) : F.f64_div(a, b, <u32>rm));
      }
      break;
    }
    case Op.FSQRT_S: {
      const rm = roundingMode(f3);
      if (rm < 0) return false;
      if (hostRounding(rm)) {
        if (!dbl) {
          const r = F.hostSqrt32(rS(rs1));
          if (F.hostOk) {
            wS(rd, r);
            break;
          }
        } else {
          const r = F.hostSqrt64(rD(rs1));
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
    case Op.FSGNJ_S: case Op.FSGNJN_S: case Op.FSGNJX_S: {
      if (!dbl) {
        const a = rS(rs1);
        const b = rS(rs2);
        const sign = o == Op.FSGNJ_S ? b : o == Op.FSGNJN_S ? ~b : a ^ b;
        wS(rd, (a & 0x7fff_ffff) | (sign & 0x8000_0000));
      } else {
        const a = rD(rs1);
        const b = rD(rs2);
        const sign = o == Op.FSGNJ_S ? b : o == Op.FSGNJN_S ? ~b : a ^ b;
        wD(rd, (a & 0x7fff_ffff_ffff_ffff) | (sign & 0x8000_0000_0000_0000));
      }
      setFsDirty();
      return true;
    }
    case Op.FMIN_S: case Op.FMAX_S: {
      const min = o == Op.FMIN_S;
      if (!dbl) wS(rd, min ? F.f32_min(rS(rs1), rS(rs2)) : F.f32_max(rS(rs1), rS(rs2)));
      else wD(rd, min ? F.f64_min(rD(rs1), rD(rs2)) : F.f64_max(rD(rs1), rD(rs2)));
      break;
    }
    case Op.FCVT_S_D: case Op.FCVT_D_S: {
      const rm = roundingMode(f3);
      if (rm < 0) return false;
      if (o == Op.FCVT_S_D) wS(rd, F.f64_to_f32(rD(rs1), <u32>rm));
      else wD(rd, F.f32_to_f64(rS(rs1)));
      break;
    }
    case Op.FEQ_S: case Op.FLT_S: case Op.FLE_S: {
      let r: u32;
      if (o == Op.FLE_S) r = dbl ? F.f64_le(rD(rs1), rD(rs2)) : F.f32_le(rS(rs1), rS(rs2));
      else if (o == Op.FLT_S) r = dbl ? F.f64_lt(rD(rs1), rD(rs2)) : F.f32_lt(rS(rs1), rS(rs2));
      else r = dbl ? F.f64_eq(rD(rs1), rD(rs2)) : F.f32_eq(rS(rs1), rS(rs2));
      wX(rd, <u64>r);
      flushFlags();
      return true;
    }
    case Op.FCVT_W_S: case Op.FCVT_WU_S: case Op.FCVT_L_S: case Op.FCVT_LU_S: {
      const rm = roundingMode(f3);
      if (rm < 0) return false;
      const r = <u32>rm;
      let v: u64;
      if (!dbl) {
        const a = rS(rs1);
        if (o == Op.FCVT_W_S) v = sext32(<u64><u32>F.f32_to_i32(a, r));
        else if (o == Op.FCVT_WU_S) v = sext32(<u64><u32>F.f32_to_u32(a, r));
        else if (o == Op.FCVT_L_S) v = <u64>F.f32_to_i64(a, r);
        else v = <u64>F.f32_to_u64(a, r);
      } else {
        const a = rD(rs1);
        if (o == Op.FCVT_W_S) v = sext32(<u64><u32>F.f64_to_i32(a, r));
        else if (o == Op.FCVT_WU_S) v = sext32(<u64><u32>F.f64_to_u32(a, r));
        else if (o == Op.FCVT_L_S) v = <u64>F.f64_to_i64(a, r);
        else v = <u64>F.f64_to_u64(a, r);
      }
      wX(rd, v);
      flushFlags();
      return true;
    }
    case Op.FCVT_S_W: case Op.FCVT_S_WU: case Op.FCVT_S_L: case Op.FCVT_S_LU: {
      const rm = roundingMode(f3);
      if (rm < 0) return false;
      const r = <u32>rm;
      const x = rX(rs1);
      if (!dbl) {
        if (o == Op.FCVT_S_W) wS(rd, F.i32_to_f32(<i32>x, r));
        else if (o == Op.FCVT_S_WU) wS(rd, F.u32_to_f32(<u32>x, r));
        else if (o == Op.FCVT_S_L) wS(rd, F.i64_to_f32(<i64>x, r));
        else wS(rd, F.u64_to_f32(x, r));
      } else {
        if (o == Op.FCVT_S_W) wD(rd, F.i32_to_f64(<i32>x, r));
        else if (o == Op.FCVT_S_WU) wD(rd, F.u32_to_f64(<u32>x, r));
        else if (o == Op.FCVT_S_L) wD(rd, F.i64_to_f64(<i64>x, r));
        else wD(rd, F.u64_to_f64(x, r));
      }
      break;
    }
    case Op.FMV_X_W:
      wX(rd, dbl ? rD(rs1) : sext32(rD(rs1)));
      return true;
    case Op.FCLASS_S:
      wX(rd, <u64>(dbl ? F.f64_classify(rD(rs1)) : F.f32_classify(rS(rs1))));
      return true;
    case Op.FMV_W_X:
      if (dbl) wD(rd, rX(rs1));
      else wS(rd, <u32>rX(rs1));
      setFsDirty();
      return true;
    default:
      return false;
  }
  flushFlags();
  setFsDirty();
  return true;
}

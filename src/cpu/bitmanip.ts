// Integer instructions of Zba, Zbb, Zbc, Zbs (unprivileged spec chapter 28,
// "B" Extension for Bit Manipulation) and Zicond (chapter 12): one register
// result from rs1, rs2 and the instruction's immediate bits. Outside the
// interpreter's main switch, which reaches them through one call, so the
// hot loop stays as small as it was.

import { Op } from '../../build/decoder';

@inline function sext32(v: u64): u64 {
  return <u64><i64><i32>v;
}
@inline function uw(v: u64): u64 {
  return v & 0xffff_ffff;
}

/** Carry-less product of a and b: the low half (CLMUL), the high half (CLMULH), or bits 126:63 (CLMULR). */
function clmul(a: u64, b: u64, op: Op): u64 {
  let r: u64 = 0;
  for (let i: u64 = 0; i < 64; i++) {
    if (((b >> i) & 1) == 0) continue;
    if (op == Op.CLMUL) r ^= a << i;
    else if (op == Op.CLMULH) r ^= i == 0 ? 0 : a >> (64 - i);
    else r ^= a >> (63 - i);
  }
  return r;
}

/** OR-combine within each byte: a byte becomes 0xff if any of its bits is set. */
function orcB(a: u64): u64 {
  let r: u64 = 0;
  for (let i: u64 = 0; i < 64; i += 8) {
    if (((a >> i) & 0xff) != 0) r |= <u64>0xff << i;
  }
  return r;
}

/** The result of `op` (one of the extensions above) for rs1 = a, rs2 = b. */
export function bitmanip(op: Op, a: u64, b: u64, inst: u32): u64 {
  const shamt = <u64>((inst >> 20) & 63);
  const bit = <u64>1 << (b & 63);
  switch (op) {
    // Zba
    case Op.SH1ADD: return b + (a << 1);
    case Op.SH2ADD: return b + (a << 2);
    case Op.SH3ADD: return b + (a << 3);
    case Op.ADD_UW: return b + uw(a);
    case Op.SH1ADD_UW: return b + (uw(a) << 1);
    case Op.SH2ADD_UW: return b + (uw(a) << 2);
    case Op.SH3ADD_UW: return b + (uw(a) << 3);
    case Op.SLLI_UW: return uw(a) << shamt;
    // Zbb
    case Op.ANDN: return a & ~b;
    case Op.ORN: return a | ~b;
    case Op.XNOR: return ~(a ^ b);
    case Op.CLZ: return clz<u64>(a);
    case Op.CTZ: return ctz<u64>(a);
    case Op.CPOP: return popcnt<u64>(a);
    case Op.CLZW: return <u64>clz<u32>(<u32>a);
    case Op.CTZW: return <u64>ctz<u32>(<u32>a);
    case Op.CPOPW: return <u64>popcnt<u32>(<u32>a);
    case Op.SEXT_B: return <u64><i64><i8>a;
    case Op.SEXT_H: return <u64><i64><i16>a;
    case Op.ZEXT_H: return a & 0xffff;
    case Op.MIN: return <i64>a < <i64>b ? a : b;
    case Op.MINU: return a < b ? a : b;
    case Op.MAX: return <i64>a > <i64>b ? a : b;
    case Op.MAXU: return a > b ? a : b;
    case Op.ROL: return rotl<u64>(a, b & 63);
    case Op.ROR: return rotr<u64>(a, b & 63);
    case Op.RORI: return rotr<u64>(a, shamt);
    case Op.ROLW: return sext32(<u64>rotl<u32>(<u32>a, <u32>b & 31));
    case Op.RORW: return sext32(<u64>rotr<u32>(<u32>a, <u32>b & 31));
    case Op.RORIW: return sext32(<u64>rotr<u32>(<u32>a, (inst >> 20) & 31));
    case Op.ORC_B: return orcB(a);
    case Op.REV8: return bswap<u64>(a);
    // Zbc
    case Op.CLMUL: case Op.CLMULH: case Op.CLMULR: return clmul(a, b, op);
    // Zbs
    case Op.BCLR: return a & ~bit;
    case Op.BEXT: return (a >> (b & 63)) & 1;
    case Op.BINV: return a ^ bit;
    case Op.BSET: return a | bit;
    case Op.BCLRI: return a & ~(<u64>1 << shamt);
    case Op.BEXTI: return (a >> shamt) & 1;
    case Op.BINVI: return a ^ (<u64>1 << shamt);
    case Op.BSETI: return a | (<u64>1 << shamt);
    // Zicond
    case Op.CZERO_EQZ: return b == 0 ? 0 : a;
    case Op.CZERO_NEZ: return b != 0 ? 0 : a;
  }
  return 0;
}

import { EXT_ZBA, EXT_ZBB, EXT_ZCB, EXT_ZCMOP } from '../../build/decoder';
import { lacks } from './extensions';

// RVC (unprivileged spec chapter "C" Standard Extension): each 16-bit
// instruction is expanded to its 32-bit equivalent so one executor serves
// both. Returns 0 for reserved or illegal encodings.

@inline function bit(x: u32, i: u32): u32 {
  return (x >> i) & 1;
}
@inline function bits(x: u32, hi: u32, lo: u32): u32 {
  return (x >> lo) & ((1 << (hi - lo + 1)) - 1);
}

@inline function rType(f7: u32, rs2: u32, rs1: u32, f3: u32, rd: u32, op: u32): u32 {
  return (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op;
}
@inline function iType(imm: i32, rs1: u32, f3: u32, rd: u32, op: u32): u32 {
  return ((<u32>imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op;
}
@inline function sType(imm: i32, rs2: u32, rs1: u32, f3: u32, op: u32): u32 {
  const u = <u32>imm;
  return (bits(u, 11, 5) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (bits(u, 4, 0) << 7) | op;
}
@inline function bType(imm: i32, rs2: u32, rs1: u32, f3: u32): u32 {
  const u = <u32>imm;
  return (bit(u, 12) << 31) | (bits(u, 10, 5) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) |
    (bits(u, 4, 1) << 8) | (bit(u, 11) << 7) | 0x63;
}
@inline function jal(imm: i32, rd: u32): u32 {
  const u = <u32>imm;
  return (bit(u, 20) << 31) | (bits(u, 10, 1) << 21) | (bit(u, 11) << 20) | (bits(u, 19, 12) << 12) | (rd << 7) | 0x6f;
}
@inline function sext(v: u32, width: u32): i32 {
  const s = 32 - width;
  return (<i32>(v << s)) >> s;
}

const OP_IMM: u32 = 0x13;
const OP_IMM_32: u32 = 0x1b;
const OP: u32 = 0x33;
const OP_32: u32 = 0x3b;
const LOAD: u32 = 0x03;
const STORE: u32 = 0x23;
const LOAD_FP: u32 = 0x07;
const STORE_FP: u32 = 0x27;

/** Zcb's one-register forms (funct6 100111, funct2 11), by bits 4:2; 0 if reserved or lacking their base. */
function zcbUnary(r: u32, sel: u32): u32 {
  const zbb = !lacks(EXT_ZBB);
  switch (sel) {
    case 0: return iType(0xff, r, 7, r, OP_IMM); // C.ZEXT.B: andi rd, rd, 255
    case 1: return zbb ? iType(0x604, r, 1, r, OP_IMM) : 0; // C.SEXT.B
    case 2: return zbb ? rType(0x04, 0, r, 4, r, OP_32) : 0; // C.ZEXT.H
    case 3: return zbb ? iType(0x605, r, 1, r, OP_IMM) : 0; // C.SEXT.H
    case 4: return !lacks(EXT_ZBA) ? rType(0x04, 0, r, 0, r, OP_32) : 0; // C.ZEXT.W: add.uw rd, rd, x0
    case 5: return iType(-1, r, 4, r, OP_IMM); // C.NOT: xori rd, rd, -1
  }
  return 0;
}

export function expandCompressed(c: u32): u32 {
  const op = c & 3;
  const f3 = c >> 13;
  const rdp = bits(c, 4, 2) + 8; // rd'/rs2'
  const rs1p = bits(c, 9, 7) + 8; // rs1'/rd'
  const rd = bits(c, 11, 7);
  const rs2 = bits(c, 6, 2);
  const imm6 = sext((bit(c, 12) << 5) | bits(c, 6, 2), 6);
  if (op == 0) {
    switch (f3) {
      case 0: { // C.ADDI4SPN
        const imm = (bits(c, 12, 11) << 4) | (bits(c, 10, 7) << 6) | (bit(c, 6) << 2) | (bit(c, 5) << 3);
        if (imm == 0) return 0;
        return iType(<i32>imm, 2, 0, rdp, OP_IMM);
      }
      case 1: return iType(<i32>((bits(c, 12, 10) << 3) | (bits(c, 6, 5) << 6)), rs1p, 3, rdp, LOAD_FP); // C.FLD
      case 2: return iType(<i32>((bits(c, 12, 10) << 3) | (bit(c, 6) << 2) | (bit(c, 5) << 6)), rs1p, 2, rdp, LOAD); // C.LW
      case 3: return iType(<i32>((bits(c, 12, 10) << 3) | (bits(c, 6, 5) << 6)), rs1p, 3, rdp, LOAD); // C.LD
      case 4: { // Zcb: byte and halfword loads and stores (funct6 100 0xx)
        if (lacks(EXT_ZCB)) return 0;
        const sel = bits(c, 12, 10);
        const half = bit(c, 6);
        const b = (bit(c, 5) << 1) | half; // uimm[1:0] of the byte forms
        const h = bit(c, 5) << 1; // uimm[1] of the halfword forms
        if (sel == 0) return iType(<i32>b, rs1p, 4, rdp, LOAD); // C.LBU
        if (sel == 1) return iType(<i32>h, rs1p, half != 0 ? 1 : 5, rdp, LOAD); // C.LH / C.LHU
        if (sel == 2) return sType(<i32>b, rdp, rs1p, 0, STORE); // C.SB
        if (sel == 3 && half == 0) return sType(<i32>h, rdp, rs1p, 1, STORE); // C.SH
        return 0;
      }
      case 5: return sType(<i32>((bits(c, 12, 10) << 3) | (bits(c, 6, 5) << 6)), rdp, rs1p, 3, STORE_FP); // C.FSD
      case 6: return sType(<i32>((bits(c, 12, 10) << 3) | (bit(c, 6) << 2) | (bit(c, 5) << 6)), rdp, rs1p, 2, STORE); // C.SW
      case 7: return sType(<i32>((bits(c, 12, 10) << 3) | (bits(c, 6, 5) << 6)), rdp, rs1p, 3, STORE); // C.SD
      default: return 0;
    }
  }
  if (op == 1) {
    switch (f3) {
      case 0: return iType(imm6, rd, 0, rd, OP_IMM); // C.ADDI / C.NOP
      case 1: // C.ADDIW
        if (rd == 0) return 0;
        return iType(imm6, rd, 0, rd, OP_IMM_32);
      case 2: return iType(imm6, 0, 0, rd, OP_IMM); // C.LI
      case 3: {
        if (rd == 2) { // C.ADDI16SP
          const imm = sext((bit(c, 12) << 9) | (bit(c, 6) << 4) | (bit(c, 5) << 6) | (bits(c, 4, 3) << 7) | (bit(c, 2) << 5), 10);
          if (imm == 0) return 0;
          return iType(imm, 2, 0, 2, OP_IMM);
        }
        // C.LUI; nzimm = 0 is reserved, except c.mop.n (Zcmop: rd odd, 1 to
        // 15), which does nothing.
        if (imm6 == 0) return (rd & 0x11) == 1 && !lacks(EXT_ZCMOP) ? 0x13 : 0;
        return ((<u32>imm6 << 12) & 0xffff_f000) | (rd << 7) | 0x37;
      }
      case 4: {
        const shamt = (bit(c, 12) << 5) | bits(c, 6, 2);
        switch (bits(c, 11, 10)) {
          case 0: return iType(<i32>shamt, rs1p, 5, rs1p, OP_IMM); // C.SRLI
          case 1: return iType(<i32>(shamt | 0x400), rs1p, 5, rs1p, OP_IMM); // C.SRAI
          case 2: return iType(imm6, rs1p, 7, rs1p, OP_IMM); // C.ANDI
          default: {
            const sel = bits(c, 6, 5);
            if (bit(c, 12) == 0) {
              if (sel == 0) return rType(0x20, rdp, rs1p, 0, rs1p, OP); // C.SUB
              if (sel == 1) return rType(0, rdp, rs1p, 4, rs1p, OP); // C.XOR
              if (sel == 2) return rType(0, rdp, rs1p, 6, rs1p, OP); // C.OR
              return rType(0, rdp, rs1p, 7, rs1p, OP); // C.AND
            }
            if (sel == 0) return rType(0x20, rdp, rs1p, 0, rs1p, OP_32); // C.SUBW
            if (sel == 1) return rType(0, rdp, rs1p, 0, rs1p, OP_32); // C.ADDW
            if (lacks(EXT_ZCB)) return 0;
            if (sel == 2) return rType(1, rdp, rs1p, 0, rs1p, OP); // C.MUL (Zcb)
            return zcbUnary(rs1p, bits(c, 4, 2));
          }
        }
      }
      case 5: { // C.J
        const imm = sext((bit(c, 12) << 11) | (bit(c, 11) << 4) | (bits(c, 10, 9) << 8) | (bit(c, 8) << 10) |
          (bit(c, 7) << 6) | (bit(c, 6) << 7) | (bits(c, 5, 3) << 1) | (bit(c, 2) << 5), 12);
        return jal(imm, 0);
      }
      default: { // C.BEQZ / C.BNEZ
        const imm = sext((bit(c, 12) << 8) | (bits(c, 11, 10) << 3) | (bits(c, 6, 5) << 6) | (bits(c, 4, 3) << 1) | (bit(c, 2) << 5), 9);
        return bType(imm, 0, rs1p, f3 == 6 ? 0 : 1);
      }
    }
  }
  if (op == 2) {
    switch (f3) {
      case 0: return iType(<i32>((bit(c, 12) << 5) | rs2), rd, 1, rd, OP_IMM); // C.SLLI
      case 1: return iType(<i32>((bit(c, 12) << 5) | (bits(c, 6, 5) << 3) | (bits(c, 4, 2) << 6)), 2, 3, rd, LOAD_FP); // C.FLDSP
      case 2: // C.LWSP
        if (rd == 0) return 0;
        return iType(<i32>((bit(c, 12) << 5) | (bits(c, 6, 4) << 2) | (bits(c, 3, 2) << 6)), 2, 2, rd, LOAD);
      case 3: // C.LDSP
        if (rd == 0) return 0;
        return iType(<i32>((bit(c, 12) << 5) | (bits(c, 6, 5) << 3) | (bits(c, 4, 2) << 6)), 2, 3, rd, LOAD);
      case 4:
        if (bit(c, 12) == 0) {
          if (rs2 == 0) {
            if (rd == 0) return 0;
            return iType(0, rd, 0, 0, 0x67); // C.JR
          }
          return rType(0, rs2, 0, 0, rd, OP); // C.MV
        }
        if (rs2 == 0) {
          if (rd == 0) return 0x0010_0073; // C.EBREAK
          return iType(0, rd, 0, 1, 0x67); // C.JALR
        }
        return rType(0, rs2, rd, 0, rd, OP); // C.ADD
      case 5: return sType(<i32>((bits(c, 12, 10) << 3) | (bits(c, 9, 7) << 6)), rs2, 2, 3, STORE_FP); // C.FSDSP
      case 6: return sType(<i32>((bits(c, 12, 9) << 2) | (bits(c, 8, 7) << 6)), rs2, 2, 2, STORE); // C.SWSP
      default: return sType(<i32>((bits(c, 12, 10) << 3) | (bits(c, 9, 7) << 6)), rs2, 2, 3, STORE); // C.SDSP
    }
  }
  return 0;
}

/**
 * Decoding for the JIT: which instruction an encoding is comes from the
 * core's decoder of the one instruction table (src/isa/instructions.ts,
 * through the exported decodeInsn, the same decoder the interpreter uses);
 * this picks the operands of the instructions the translator handles
 * (RV64I, M, F, D, Zicond, the bit manipulation extensions, and the Zicsr
 * instructions on fflags, frm and fcsr;
 * unprivileged spec chapters 2, 4, 7, 12, 13, 20, 21, 28).
 * Anything else, and every illegal encoding, decodes to undefined so the
 * block ends before it and the interpreter handles it.
 */
import { INSTRUCTIONS } from '../isa/instructions.js';

/** Register-register and register-immediate operations, by their spec names. */
export type AluOp =
  | 'add'
  | 'sub'
  | 'sll'
  | 'slt'
  | 'sltu'
  | 'xor'
  | 'srl'
  | 'sra'
  | 'or'
  | 'and'
  | 'mul'
  | 'addw'
  | 'subw'
  | 'sllw'
  | 'srlw'
  | 'sraw'
  | 'mulw'
  // Zba, Zbb, Zbs, Zicond (the unary ones ignore their second operand)
  | 'sh1add'
  | 'sh2add'
  | 'sh3add'
  | 'adduw'
  | 'sh1adduw'
  | 'sh2adduw'
  | 'sh3adduw'
  | 'slliuw'
  | 'andn'
  | 'orn'
  | 'xnor'
  | 'min'
  | 'minu'
  | 'max'
  | 'maxu'
  | 'rol'
  | 'ror'
  | 'rolw'
  | 'rorw'
  | 'clz'
  | 'ctz'
  | 'cpop'
  | 'clzw'
  | 'ctzw'
  | 'cpopw'
  | 'sextb'
  | 'sexth'
  | 'zexth'
  | 'bset'
  | 'bclr'
  | 'binv'
  | 'bext'
  | 'czeroeqz'
  | 'czeronez';

export type Insn =
  | { kind: 'lui'; rd: number; imm: number }
  | { kind: 'auipc'; rd: number; imm: number }
  | { kind: 'alu'; op: AluOp; rd: number; rs1: number; rs2: number }
  | { kind: 'alui'; op: AluOp; rd: number; rs1: number; imm: number }
  /** MULH..REMUW, Zbc, orc.b and rev8, done by the core's helper; `code` is its operation number. */
  | { kind: 'muldiv'; code: number; rd: number; rs1: number; rs2: number }
  | { kind: 'load'; f3: number; rd: number; rs1: number; imm: number }
  | { kind: 'store'; f3: number; rs1: number; rs2: number; imm: number }
  | { kind: 'branch'; f3: number; rs1: number; rs2: number; imm: number }
  | { kind: 'jal'; rd: number; imm: number }
  | { kind: 'jalr'; rd: number; rs1: number; imm: number }
  | { kind: 'fence' }
  /**
   * An F/D instruction, or a CSR instruction on fflags, frm or fcsr, executed by the core's helper (`inst` expanded,
   * `raw` as fetched, for the illegal-instruction trap value); `intRead` and
   * `intWrite` are the integer registers it reads and writes (0: none).
   */
  | {
      kind: 'fp';
      inst: number;
      raw: number;
      intRead: number;
      intWrite: number;
      /** What translated code may do itself when the FP state allows (codegen.ts). */
      fast?: FpFast;
    };

/**
 * The F/D instructions translated code runs inline while mstatus.FS is
 * Dirty (and, for arithmetic, the conditions of the host's arithmetic in
 * src/cpu/fpu.ts hold); otherwise the helper runs them. Operands are
 * register numbers; `rm` is the instruction's rounding-mode field.
 */
export type FpFast =
  | { op: 'load'; size: 4 | 8; rd: number; rs1: number; imm: number }
  | { op: 'store'; size: 4 | 8; rs1: number; rs2: number; imm: number }
  | { op: 'add' | 'sub' | 'mul' | 'div'; rd: number; rs1: number; rs2: number; rm: number }
  | { op: 'sqrt'; rd: number; rs1: number; rm: number }
  /** FSGNJ.D (0), FSGNJN.D (1), FSGNJX.D (2). */
  | { op: 'sgnj'; mode: number; rd: number; rs1: number; rs2: number }
  /** FMADD.D and its negated forms: ±(rs1·rs2) ± rs3. */
  | {
      op: 'fma';
      rd: number;
      rs1: number;
      rs2: number;
      rs3: number;
      rm: number;
      negProduct: boolean;
      negAddend: boolean;
    }
  /** FEQ.D, FLT.D, FLE.D into integer register rd. */
  | { op: 'eq' | 'lt' | 'le'; rd: number; rs1: number; rs2: number }
  | { op: 'mvxd'; rd: number; rs1: number }
  | { op: 'mvdx'; rd: number; rs1: number }
  /** A CSR instruction on fflags (funct3 `f3`; rs1 a register or, f3 ≥ 5, the immediate). */
  | { op: 'fflags'; f3: number; rd: number; rs1: number };

const immI = (i: number): number => i >> 20;
const immS = (i: number): number => ((i >> 25) << 5) | ((i >>> 7) & 0x1f);
const immB = (i: number): number =>
  ((i >> 31) << 12) | ((i & 0x80) << 4) | ((i >>> 20) & 0x7e0) | ((i >>> 7) & 0x1e);
const immJ = (i: number): number =>
  ((i >> 31) << 20) | (i & 0xff000) | ((i >>> 9) & 0x800) | ((i >>> 20) & 0x7fe);

/** The operations the translator emits inline, by instruction. */
const ALU: Partial<Record<string, AluOp>> = {
  ADD: 'add',
  SUB: 'sub',
  SLL: 'sll',
  SLT: 'slt',
  SLTU: 'sltu',
  XOR: 'xor',
  SRL: 'srl',
  SRA: 'sra',
  OR: 'or',
  AND: 'and',
  MUL: 'mul',
  ADDW: 'addw',
  SUBW: 'subw',
  SLLW: 'sllw',
  SRLW: 'srlw',
  SRAW: 'sraw',
  MULW: 'mulw',
  SH1ADD: 'sh1add',
  SH2ADD: 'sh2add',
  SH3ADD: 'sh3add',
  ADD_UW: 'adduw',
  SH1ADD_UW: 'sh1adduw',
  SH2ADD_UW: 'sh2adduw',
  SH3ADD_UW: 'sh3adduw',
  ANDN: 'andn',
  ORN: 'orn',
  XNOR: 'xnor',
  MIN: 'min',
  MINU: 'minu',
  MAX: 'max',
  MAXU: 'maxu',
  ROL: 'rol',
  ROR: 'ror',
  ROLW: 'rolw',
  RORW: 'rorw',
  BSET: 'bset',
  BCLR: 'bclr',
  BINV: 'binv',
  BEXT: 'bext',
  CZERO_EQZ: 'czeroeqz',
  CZERO_NEZ: 'czeronez',
};
/** One register in, one out (the immediate field is part of the opcode). */
const UNARY: Partial<Record<string, AluOp>> = {
  CLZ: 'clz',
  CTZ: 'ctz',
  CPOP: 'cpop',
  CLZW: 'clzw',
  CTZW: 'ctzw',
  CPOPW: 'cpopw',
  SEXT_B: 'sextb',
  SEXT_H: 'sexth',
  ZEXT_H: 'zexth',
};
/** Shift-amount immediates of 6 bits (RV64): the base shifts, then Zba, Zbb and Zbs. */
const SHIFT_IMM: Partial<Record<string, AluOp>> = {
  SLLI: 'sll',
  SRLI: 'srl',
  SRAI: 'sra',
  SLLI_UW: 'slliuw',
  RORI: 'ror',
  BSETI: 'bset',
  BCLRI: 'bclr',
  BINVI: 'binv',
  BEXTI: 'bext',
};
const ALU_IMM: Partial<Record<string, AluOp>> = {
  ADDI: 'add',
  SLTI: 'slt',
  SLTIU: 'sltu',
  XORI: 'xor',
  ORI: 'or',
  ANDI: 'and',
  SLLI: 'sll',
  SRLI: 'srl',
  SRAI: 'sra',
  ADDIW: 'addw',
  SLLIW: 'sllw',
  SRLIW: 'srlw',
  SRAIW: 'sraw',
};
/**
 * The core's jitMulDiv operation numbers: funct3 for OP, 8 + funct3 for
 * OP-32, then Zbc's carry-less products, orc.b and rev8 (unary: the helper
 * ignores the second operand).
 */
const MULDIV: Partial<Record<string, number>> = {
  MULH: 1,
  MULHSU: 2,
  MULHU: 3,
  DIV: 4,
  DIVU: 5,
  REM: 6,
  REMU: 7,
  DIVW: 12,
  DIVUW: 13,
  REMW: 14,
  REMUW: 15,
  CLMUL: 16,
  CLMULH: 17,
  CLMULR: 18,
  ORC_B: 19,
  REV8: 20,
};

/** F and D instructions that write an integer register (rd) or read one (rs1). */
const FP_WRITES_X = new Set<string>([
  'FCVT_W_S',
  'FCVT_WU_S',
  'FCVT_L_S',
  'FCVT_LU_S',
  'FMV_X_W',
  'FEQ_S',
  'FLT_S',
  'FLE_S',
  'FCLASS_S',
  'FCVT_W_D',
  'FCVT_WU_D',
  'FCVT_L_D',
  'FCVT_LU_D',
  'FMV_X_D',
  'FEQ_D',
  'FLT_D',
  'FLE_D',
  'FCLASS_D',
]);
const FP_READS_X = new Set<string>([
  'FLW',
  'FSW',
  'FCVT_S_W',
  'FCVT_S_WU',
  'FCVT_S_L',
  'FCVT_S_LU',
  'FMV_W_X',
  'FLD',
  'FSD',
  'FCVT_D_W',
  'FCVT_D_WU',
  'FCVT_D_L',
  'FCVT_D_LU',
  'FMV_D_X',
]);

/**
 * The instruction `op` (the core's decodeInsn of `inst`: its index in the
 * table + 1, 0 if illegal) encoded as `inst` (compressed ones already
 * expanded from `raw`), with its operands.
 */
export function decode(op: number, inst: number, raw: number = inst): Insn | undefined {
  const insn = INSTRUCTIONS[op - 1];
  if (!insn) return undefined;
  const name = insn.name;
  const rd = (inst >>> 7) & 31;
  const rs1 = (inst >>> 15) & 31;
  const rs2 = (inst >>> 20) & 31;
  const f3 = (inst >>> 12) & 7;
  switch (name) {
    case 'LUI':
      return { kind: 'lui', rd, imm: inst & 0xffff_f000 };
    case 'AUIPC':
      return { kind: 'auipc', rd, imm: inst & 0xffff_f000 };
    case 'JAL':
      return { kind: 'jal', rd, imm: immJ(inst) };
    case 'JALR':
      return { kind: 'jalr', rd, rs1, imm: immI(inst) };
    case 'BEQ':
    case 'BNE':
    case 'BLT':
    case 'BGE':
    case 'BLTU':
    case 'BGEU':
      return { kind: 'branch', f3, rs1, rs2, imm: immB(inst) };
    case 'LB':
    case 'LH':
    case 'LW':
    case 'LD':
    case 'LBU':
    case 'LHU':
    case 'LWU':
      return { kind: 'load', f3, rd, rs1, imm: immI(inst) };
    case 'SB':
    case 'SH':
    case 'SW':
    case 'SD':
      return { kind: 'store', f3, rs1, rs2, imm: immS(inst) };
    case 'SLLIW':
    case 'SRLIW':
    case 'SRAIW':
      return { kind: 'alui', op: ALU_IMM[name]!, rd, rs1, imm: rs2 };
    case 'RORIW':
      return { kind: 'alui', op: 'rorw', rd, rs1, imm: rs2 };
    case 'CSRRW':
    case 'CSRRS':
    case 'CSRRC':
    case 'CSRRWI':
    case 'CSRRSI':
    case 'CSRRCI': {
      // fflags, frm and fcsr are FP state: the FP helper runs them (C code
      // saves and restores fflags around quiet comparisons, e.g. libm's
      // sqrt, inside hot loops). Other CSRs end the block.
      const csr = inst >>> 20;
      if (csr < 1 || csr > 3) return undefined;
      return {
        kind: 'fp',
        inst,
        raw,
        intRead: f3 < 4 ? rs1 : 0,
        intWrite: rd,
        ...(csr === 1 ? { fast: { op: 'fflags' as const, f3, rd, rs1 } } : {}),
      };
    }
    case 'FENCE':
    case 'FENCE_I':
      // FENCE orders nothing on one hart; FENCE.I needs nothing either, as
      // every store to translated code already dropped the translation.
      return { kind: 'fence' };
    default:
      break;
  }
  const shiftImm = SHIFT_IMM[name];
  if (shiftImm) return { kind: 'alui', op: shiftImm, rd, rs1, imm: (inst >>> 20) & 63 };
  const unary = UNARY[name];
  if (unary) return { kind: 'alui', op: unary, rd, rs1, imm: 0 };
  const alu = ALU[name];
  if (alu) return { kind: 'alu', op: alu, rd, rs1, rs2 };
  const alui = ALU_IMM[name];
  if (alui) return { kind: 'alui', op: alui, rd, rs1, imm: immI(inst) };
  const code = MULDIV[name];
  // orc.b and rev8 have one operand (their rs2 field is part of the opcode).
  if (code !== undefined) return { kind: 'muldiv', code, rd, rs1, rs2: code >= 19 ? 0 : rs2 };
  if (insn.extension === 'F' || insn.extension === 'D') {
    const fast = fpFast(name, inst, rd, rs1, rs2, f3);
    return {
      kind: 'fp',
      inst,
      raw,
      intRead: FP_READS_X.has(name) ? rs1 : 0,
      intWrite: FP_WRITES_X.has(name) ? rd : 0,
      ...(fast ? { fast } : {}),
    };
  }
  return undefined;
}

const FP_ARITH: Partial<Record<string, 'add' | 'sub' | 'mul' | 'div'>> = {
  FADD_D: 'add',
  FSUB_D: 'sub',
  FMUL_D: 'mul',
  FDIV_D: 'div',
};

function fpFast(
  name: string,
  inst: number,
  rd: number,
  rs1: number,
  rs2: number,
  f3: number,
): FpFast | undefined {
  switch (name) {
    case 'FLW':
    case 'FLD':
      return { op: 'load', size: name === 'FLD' ? 8 : 4, rd, rs1, imm: immI(inst) };
    case 'FSW':
    case 'FSD':
      return { op: 'store', size: name === 'FSD' ? 8 : 4, rs1, rs2, imm: immS(inst) };
    case 'FSQRT_D':
      return { op: 'sqrt', rd, rs1, rm: f3 };
    case 'FSGNJ_D':
    case 'FSGNJN_D':
    case 'FSGNJX_D':
      return { op: 'sgnj', mode: f3, rd, rs1, rs2 };
    case 'FMADD_D':
    case 'FMSUB_D':
    case 'FNMSUB_D':
    case 'FNMADD_D':
      return {
        op: 'fma',
        rd,
        rs1,
        rs2,
        rs3: inst >>> 27,
        rm: f3,
        negProduct: name.startsWith('FN'),
        negAddend: name === 'FMSUB_D' || name === 'FNMADD_D',
      };
    case 'FEQ_D':
      return { op: 'eq', rd, rs1, rs2 };
    case 'FLT_D':
      return { op: 'lt', rd, rs1, rs2 };
    case 'FLE_D':
      return { op: 'le', rd, rs1, rs2 };
    case 'FMV_X_D':
      return { op: 'mvxd', rd, rs1 };
    case 'FMV_D_X':
      return { op: 'mvdx', rd, rs1 };
  }
  const arith = FP_ARITH[name];
  return arith ? { op: arith, rd, rs1, rs2, rm: f3 } : undefined;
}

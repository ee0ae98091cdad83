/**
 * Decoding for the JIT: the subset of RV64I and M it translates
 * (unprivileged spec chapters 2 and 7). Anything else, and every encoding the
 * interpreter treats as illegal, decodes to undefined so the block ends
 * before it and the interpreter handles it.
 */

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
  | 'mulw';

export type Insn =
  | { kind: 'lui'; rd: number; imm: number }
  | { kind: 'auipc'; rd: number; imm: number }
  | { kind: 'alu'; op: AluOp; rd: number; rs1: number; rs2: number }
  | { kind: 'alui'; op: AluOp; rd: number; rs1: number; imm: number }
  /** MULH..REMUW, done by the core's helper; `code` is its operation number. */
  | { kind: 'muldiv'; code: number; rd: number; rs1: number; rs2: number }
  | { kind: 'load'; f3: number; rd: number; rs1: number; imm: number }
  | { kind: 'store'; f3: number; rs1: number; rs2: number; imm: number }
  | { kind: 'branch'; f3: number; rs1: number; rs2: number; imm: number }
  | { kind: 'jal'; rd: number; imm: number }
  | { kind: 'jalr'; rd: number; rs1: number; imm: number }
  | { kind: 'fence' }
  /**
   * An F/D instruction, executed by the core's helper (`inst` expanded,
   * `raw` as fetched, for the illegal-instruction trap value); `intRead` and
   * `intWrite` are the integer registers it reads and writes (0: none).
   */
  | { kind: 'fp'; inst: number; raw: number; intRead: number; intWrite: number };

const immI = (i: number): number => i >> 20;
const immS = (i: number): number => ((i >> 25) << 5) | ((i >>> 7) & 0x1f);
const immB = (i: number): number =>
  ((i >> 31) << 12) | ((i & 0x80) << 4) | ((i >>> 20) & 0x7e0) | ((i >>> 7) & 0x1e);
const immJ = (i: number): number =>
  ((i >> 31) << 20) | (i & 0xff000) | ((i >>> 9) & 0x800) | ((i >>> 20) & 0x7fe);

const OP_NAMES: AluOp[] = ['add', 'sll', 'slt', 'sltu', 'xor', 'srl', 'or', 'and'];

/**
 * Integer registers an OP-FP instruction reads (rs1) or writes (rd), by its
 * funct5 (unprivileged spec chapters 11 and 12): compares, FCVT to integer,
 * FMV.X and FCLASS write rd; FCVT from integer and FMV to FP read rs1.
 */
const FP_WRITES_X = new Set([0x14, 0x18, 0x1c]);
const FP_READS_X = new Set([0x1a, 0x1e]);

/**
 * Decode the 32-bit instruction `inst` (compressed ones already expanded
 * from `raw`).
 */
export function decode(inst: number, raw: number = inst): Insn | undefined {
  const rd = (inst >>> 7) & 31;
  const rs1 = (inst >>> 15) & 31;
  const rs2 = (inst >>> 20) & 31;
  const f3 = (inst >>> 12) & 7;
  const f7 = inst >>> 25;
  switch (inst & 0x7f) {
    case 0x37:
      return { kind: 'lui', rd, imm: inst & 0xffff_f000 };
    case 0x17:
      return { kind: 'auipc', rd, imm: inst & 0xffff_f000 };
    case 0x6f:
      return { kind: 'jal', rd, imm: immJ(inst) };
    case 0x67:
      return f3 === 0 ? { kind: 'jalr', rd, rs1, imm: immI(inst) } : undefined;
    case 0x63:
      return f3 === 2 || f3 === 3 ? undefined : { kind: 'branch', f3, rs1, rs2, imm: immB(inst) };
    case 0x03:
      return f3 === 7 ? undefined : { kind: 'load', f3, rd, rs1, imm: immI(inst) };
    case 0x23:
      return f3 > 3 ? undefined : { kind: 'store', f3, rs1, rs2, imm: immS(inst) };
    case 0x13: {
      const imm = immI(inst);
      if (f3 === 1) {
        if (inst >>> 26 !== 0) return undefined;
        return { kind: 'alui', op: 'sll', rd, rs1, imm: imm & 63 };
      }
      if (f3 === 5) {
        const top = inst >>> 26;
        if (top !== 0 && top !== 0x10) return undefined;
        return { kind: 'alui', op: top === 0 ? 'srl' : 'sra', rd, rs1, imm: imm & 63 };
      }
      return { kind: 'alui', op: OP_NAMES[f3]!, rd, rs1, imm };
    }
    case 0x1b:
      if (f3 === 0) return { kind: 'alui', op: 'addw', rd, rs1, imm: immI(inst) };
      if (f3 === 1 && f7 === 0) return { kind: 'alui', op: 'sllw', rd, rs1, imm: rs2 };
      if (f3 === 5 && f7 === 0) return { kind: 'alui', op: 'srlw', rd, rs1, imm: rs2 };
      if (f3 === 5 && f7 === 0x20) return { kind: 'alui', op: 'sraw', rd, rs1, imm: rs2 };
      return undefined;
    case 0x33:
      if (f7 === 0) return { kind: 'alu', op: OP_NAMES[f3]!, rd, rs1, rs2 };
      if (f7 === 0x20) {
        if (f3 === 0) return { kind: 'alu', op: 'sub', rd, rs1, rs2 };
        if (f3 === 5) return { kind: 'alu', op: 'sra', rd, rs1, rs2 };
        return undefined;
      }
      if (f7 === 1) {
        if (f3 === 0) return { kind: 'alu', op: 'mul', rd, rs1, rs2 };
        return { kind: 'muldiv', code: f3, rd, rs1, rs2 };
      }
      return undefined;
    case 0x3b:
      if (f7 === 0) {
        if (f3 === 0) return { kind: 'alu', op: 'addw', rd, rs1, rs2 };
        if (f3 === 1) return { kind: 'alu', op: 'sllw', rd, rs1, rs2 };
        if (f3 === 5) return { kind: 'alu', op: 'srlw', rd, rs1, rs2 };
        return undefined;
      }
      if (f7 === 0x20) {
        if (f3 === 0) return { kind: 'alu', op: 'subw', rd, rs1, rs2 };
        if (f3 === 5) return { kind: 'alu', op: 'sraw', rd, rs1, rs2 };
        return undefined;
      }
      if (f7 === 1) {
        if (f3 === 0) return { kind: 'alu', op: 'mulw', rd, rs1, rs2 };
        if (f3 >= 4) return { kind: 'muldiv', code: 8 + f3, rd, rs1, rs2 };
      }
      return undefined;
    case 0x07: // FLW, FLD
    case 0x27: // FSW, FSD
      if (f3 !== 2 && f3 !== 3) return undefined;
      return { kind: 'fp', inst, raw, intRead: rs1, intWrite: 0 };
    case 0x43: // FMADD, FMSUB, FNMSUB, FNMADD
    case 0x47:
    case 0x4b:
    case 0x4f:
      return { kind: 'fp', inst, raw, intRead: 0, intWrite: 0 };
    case 0x53: {
      const f5 = inst >>> 27;
      return {
        kind: 'fp',
        inst,
        raw,
        intRead: FP_READS_X.has(f5) ? rs1 : 0,
        intWrite: FP_WRITES_X.has(f5) ? rd : 0,
      };
    }
    case 0x0f:
      // FENCE orders nothing on one hart; FENCE.I needs nothing either, as
      // every store to translated code already dropped the translation.
      return f3 <= 1 ? { kind: 'fence' } : undefined;
    default:
      return undefined;
  }
}

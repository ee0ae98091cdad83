/**
 * The one instruction table: every instruction the hart implements, as the
 * bits that identify it (mask, match), its operand format and extension.
 * Both execution engines decode through it: scripts/gen-decoder.mjs turns it
 * into the core's decoder (nested switches on the opcode fields, no table
 * loads on the interpreter's path), which the interpreter dispatches on and
 * the translator (src/jit) calls through the core's `decodeInsn` export.
 * Adding an instruction is one entry here plus its semantics in each engine.
 *
 * Encodings from the unprivileged spec's instruction listings (RV64I §4, M
 * §13, A §14, F §20, D §21, Zicsr §7, Zifencei §6, Zicond §12, Zimop,
 * Zawrs, the bit manipulation extensions Zba, Zbb, Zbc and Zbs §28; opcode
 * map, chapter 34) and the privileged spec (mret, sret, wfi, sfence.vma). An encoding no
 * entry matches is illegal, so reserved encodings trap exactly.
 *
 * Plain data and no imports: the build reads it before the core exists.
 */

/** Which fields an instruction has (unprivileged spec §2.2–2.3); X registers unless FP. */
export type Format =
  /** no operands */
  | 'none'
  /** rd, imm[31:12] */
  | 'U'
  /** rd, jump offset */
  | 'J'
  /** rd, rs1, imm[11:0] */
  | 'I'
  /** rs1, rs2, store offset */
  | 'S'
  /** rs1, rs2, branch offset */
  | 'B'
  /** rd, rs1, rs2 */
  | 'R'
  /** rd, rs1, shift amount in bits 25:20 */
  | 'shift'
  /** rd, rs1 or uimm, csr in bits 31:20 */
  | 'csr'
  /** FP: rd, rs1, rs2, rs3, rm */
  | 'R4'
  /** FP: rd, rs1, rs2, rm (which register files depends on the instruction) */
  | 'FR';

export type Extension =
  | 'I'
  | 'M'
  | 'A'
  | 'F'
  | 'D'
  | 'Zicsr'
  | 'Zifencei'
  | 'Zicond'
  | 'Zba'
  | 'Zbb'
  | 'Zbc'
  | 'Zbs'
  | 'Zimop'
  | 'Zawrs'
  | 'Svinval'
  | 'Zicbom'
  | 'Zicboz'
  | 'Priv';

/**
 * Extensions a machine may be built without (the `isa=` setting), in the
 * order of their bits in the core's mask (entry i is bit 1 << i). Zcb and
 * Zcmop are compressed forms (src/cpu/compressed.ts), the others the
 * `extension` of table entries.
 */
export const SWITCHABLE_EXTENSIONS = [
  'Zba',
  'Zbb',
  'Zbc',
  'Zbs',
  'Zicond',
  'Zimop',
  'Zcmop',
  'Zawrs',
  'Zcb',
  'Zicbom',
  'Zicboz',
] as const;

export interface Instruction {
  /** Spec mnemonic in capitals, dots as underscores (FCVT_W_S). */
  name: string;
  mask: number;
  match: number;
  format: Format;
  extension: Extension;
}

const OPC = 0x7f;
const F3 = 0x7 << 12;
const F7 = 0x7f << 25;
const RS2 = 0x1f << 20;
const RD = 0x1f << 7;
const f3 = (v: number): number => v << 12;
const f7 = (v: number): number => v << 25;

const table: Instruction[] = [];
const u32 = (v: number): number => v >>> 0;

function def(
  name: string,
  mask: number,
  match: number,
  format: Format,
  extension: Extension,
): void {
  table.push({ name, mask: u32(mask), match: u32(match), format, extension });
}
/** Opcode and funct3 (I, S, B, CSR formats). */
function opf3(name: string, opcode: number, funct3: number, format: Format, ext: Extension): void {
  def(name, OPC | F3, opcode | f3(funct3), format, ext);
}
/** Opcode, funct3 and funct7. */
function rtype(name: string, opcode: number, funct3: number, funct7: number, ext: Extension): void {
  def(name, OPC | F3 | F7, opcode | f3(funct3) | f7(funct7), 'R', ext);
}
/** Shifts by an immediate: funct6 above a 6-bit shamt (RV64), or funct7 above 5 bits (the W forms). */
function shift(
  name: string,
  opcode: number,
  funct3: number,
  top: number,
  w: boolean,
  ext: Extension = 'I',
): void {
  if (w) def(name, OPC | F3 | F7, opcode | f3(funct3) | f7(top), 'shift', ext);
  else def(name, OPC | F3 | (0x3f << 26), opcode | f3(funct3) | (top << 26), 'shift', ext);
}
/** One register in, one out: opcode, funct3 and the whole imm[11:0] (funct12) fixed. */
function unary(
  name: string,
  opcode: number,
  funct3: number,
  funct12: number,
  ext: Extension,
): void {
  def(name, OPC | F3 | (0xfff << 20), opcode | f3(funct3) | (funct12 << 20), 'I', ext);
}
/** LR, SC and the AMOs by funct5 (aq and rl are free); LR also needs rs2 = 0. */
function amo(name: string, funct5: number, d: boolean): void {
  const mask = OPC | F3 | (0x1f << 27) | (funct5 === 2 ? RS2 : 0);
  def(name, mask, 0x2f | f3(d ? 3 : 2) | (funct5 << 27), 'R', 'A');
}
/** OP-FP with rm free: funct7 selects the operation and format. */
function fpRm(name: string, funct7: number, ext: Extension): void {
  def(name, OPC | F7, 0x53 | f7(funct7), 'FR', ext);
}
/** OP-FP with rs2 fixed and rm free (square root, conversions). */
function fpRs2(name: string, funct7: number, rs2: number, ext: Extension): void {
  def(name, OPC | F7 | RS2, 0x53 | f7(funct7) | (rs2 << 20), 'FR', ext);
}
/** OP-FP with funct3 fixed (sign injection, min/max, compares). */
function fpF3(name: string, funct7: number, funct3: number, ext: Extension): void {
  def(name, OPC | F7 | F3, 0x53 | f7(funct7) | f3(funct3), 'FR', ext);
}
/** OP-FP with rs2 and funct3 fixed (moves, classify). */
function fpRs2F3(name: string, funct7: number, rs2: number, funct3: number, ext: Extension): void {
  def(name, OPC | F7 | RS2 | F3, 0x53 | f7(funct7) | (rs2 << 20) | f3(funct3), 'FR', ext);
}
/** Fused multiply-add: opcode and fmt (bits 26:25). */
function fma(name: string, opcode: number, fmt: number, ext: Extension): void {
  def(name, OPC | (3 << 25), opcode | (fmt << 25), 'R4', ext);
}

// RV64I
def('LUI', OPC, 0x37, 'U', 'I');
def('AUIPC', OPC, 0x17, 'U', 'I');
def('JAL', OPC, 0x6f, 'J', 'I');
opf3('JALR', 0x67, 0, 'I', 'I');
['BEQ', 'BNE', '', '', 'BLT', 'BGE', 'BLTU', 'BGEU'].forEach(
  (n, i) => n && opf3(n, 0x63, i, 'B', 'I'),
);
['LB', 'LH', 'LW', 'LD', 'LBU', 'LHU', 'LWU'].forEach((n, i) => opf3(n, 0x03, i, 'I', 'I'));
['SB', 'SH', 'SW', 'SD'].forEach((n, i) => opf3(n, 0x23, i, 'S', 'I'));
['ADDI', '', 'SLTI', 'SLTIU', 'XORI', '', 'ORI', 'ANDI'].forEach(
  (n, i) => n && opf3(n, 0x13, i, 'I', 'I'),
);
shift('SLLI', 0x13, 1, 0x00, false);
shift('SRLI', 0x13, 5, 0x00, false);
shift('SRAI', 0x13, 5, 0x10, false);
['ADD', 'SLL', 'SLT', 'SLTU', 'XOR', 'SRL', 'OR', 'AND'].forEach((n, i) =>
  rtype(n, 0x33, i, 0, 'I'),
);
rtype('SUB', 0x33, 0, 0x20, 'I');
rtype('SRA', 0x33, 5, 0x20, 'I');
opf3('ADDIW', 0x1b, 0, 'I', 'I');
shift('SLLIW', 0x1b, 1, 0x00, true);
shift('SRLIW', 0x1b, 5, 0x00, true);
shift('SRAIW', 0x1b, 5, 0x20, true);
rtype('ADDW', 0x3b, 0, 0x00, 'I');
rtype('SUBW', 0x3b, 0, 0x20, 'I');
rtype('SLLW', 0x3b, 1, 0x00, 'I');
rtype('SRLW', 0x3b, 5, 0x00, 'I');
rtype('SRAW', 0x3b, 5, 0x20, 'I');
// fm, pred and succ are free: every FENCE orders everything here.
opf3('FENCE', 0x0f, 0, 'none', 'I');
def('ECALL', 0xffff_ffff, 0x0000_0073, 'none', 'I');
def('EBREAK', 0xffff_ffff, 0x0010_0073, 'none', 'I');
opf3('FENCE_I', 0x0f, 1, 'none', 'Zifencei');
// Zicbom, Zicboz: cache-block operations (MISC-MEM, funct3 010, rd = 0, the
// operation in imm[11:0], the address in rs1). Zicbop's prefetches are ORI
// hints with rd = x0 and run as such.
for (const [name, op, ext] of [
  ['CBO_INVAL', 0, 'Zicbom'],
  ['CBO_CLEAN', 1, 'Zicbom'],
  ['CBO_FLUSH', 2, 'Zicbom'],
  ['CBO_ZERO', 4, 'Zicboz'],
] as const) {
  def(name, (0xfff << 20) | F3 | RD | OPC, (op << 20) | f3(2) | 0x0f, 'I', ext);
}
// M
['MUL', 'MULH', 'MULHSU', 'MULHU', 'DIV', 'DIVU', 'REM', 'REMU'].forEach((n, i) =>
  rtype(n, 0x33, i, 1, 'M'),
);
['MULW', '', '', '', 'DIVW', 'DIVUW', 'REMW', 'REMUW'].forEach(
  (n, i) => n && rtype(n, 0x3b, i, 1, 'M'),
);
// A, by funct5
for (const [w, d] of [
  ['W', false],
  ['D', true],
] as const) {
  amo(`LR_${w}`, 0x02, d);
  amo(`SC_${w}`, 0x03, d);
  amo(`AMOSWAP_${w}`, 0x01, d);
  amo(`AMOADD_${w}`, 0x00, d);
  amo(`AMOXOR_${w}`, 0x04, d);
  amo(`AMOAND_${w}`, 0x0c, d);
  amo(`AMOOR_${w}`, 0x08, d);
  amo(`AMOMIN_${w}`, 0x10, d);
  amo(`AMOMAX_${w}`, 0x14, d);
  amo(`AMOMINU_${w}`, 0x18, d);
  amo(`AMOMAXU_${w}`, 0x1c, d);
}
// Zicsr
['', 'CSRRW', 'CSRRS', 'CSRRC', '', 'CSRRWI', 'CSRRSI', 'CSRRCI'].forEach(
  (n, i) => n && opf3(n, 0x73, i, 'csr', 'Zicsr'),
);
// Privileged
def('MRET', 0xffff_ffff, 0x3020_0073, 'none', 'Priv');
def('SRET', 0xffff_ffff, 0x1020_0073, 'none', 'Priv');
def('WFI', 0xffff_ffff, 0x1050_0073, 'none', 'Priv');
def('SFENCE_VMA', F7 | RD | F3 | OPC, f7(0x09) | 0x73, 'R', 'Priv');
// Svinval: sfence.vma split into an invalidation and the fences around it.
def('SINVAL_VMA', F7 | RD | F3 | OPC, f7(0x0b) | 0x73, 'R', 'Svinval');
def('SFENCE_W_INVAL', 0xffff_ffff, 0x1800_0073, 'none', 'Svinval');
def('SFENCE_INVAL_IR', 0xffff_ffff, 0x1810_0073, 'none', 'Svinval');
// F and D: the same operations with fmt 0 (S) or 1 (D) in funct7's low bits.
for (const [s, d, x, ext] of [
  ['S', 0, 'W', 'F'],
  ['D', 1, 'D', 'D'],
] as const) {
  opf3(`FL${x}`, 0x07, 2 + d, 'I', ext);
  opf3(`FS${x}`, 0x27, 2 + d, 'S', ext);
  fma(`FMADD_${s}`, 0x43, d, ext);
  fma(`FMSUB_${s}`, 0x47, d, ext);
  fma(`FNMSUB_${s}`, 0x4b, d, ext);
  fma(`FNMADD_${s}`, 0x4f, d, ext);
  fpRm(`FADD_${s}`, 0x00 | d, ext);
  fpRm(`FSUB_${s}`, 0x04 | d, ext);
  fpRm(`FMUL_${s}`, 0x08 | d, ext);
  fpRm(`FDIV_${s}`, 0x0c | d, ext);
  fpRs2(`FSQRT_${s}`, 0x2c | d, 0, ext);
  fpF3(`FSGNJ_${s}`, 0x10 | d, 0, ext);
  fpF3(`FSGNJN_${s}`, 0x10 | d, 1, ext);
  fpF3(`FSGNJX_${s}`, 0x10 | d, 2, ext);
  fpF3(`FMIN_${s}`, 0x14 | d, 0, ext);
  fpF3(`FMAX_${s}`, 0x14 | d, 1, ext);
  fpRs2(`FCVT_W_${s}`, 0x60 | d, 0, ext);
  fpRs2(`FCVT_WU_${s}`, 0x60 | d, 1, ext);
  fpRs2(`FCVT_L_${s}`, 0x60 | d, 2, ext);
  fpRs2(`FCVT_LU_${s}`, 0x60 | d, 3, ext);
  fpRs2F3(`FMV_X_${x}`, 0x70 | d, 0, 0, ext);
  fpF3(`FEQ_${s}`, 0x50 | d, 2, ext);
  fpF3(`FLT_${s}`, 0x50 | d, 1, ext);
  fpF3(`FLE_${s}`, 0x50 | d, 0, ext);
  fpRs2F3(`FCLASS_${s}`, 0x70 | d, 0, 1, ext);
  fpRs2(`FCVT_${s}_W`, 0x68 | d, 0, ext);
  fpRs2(`FCVT_${s}_WU`, 0x68 | d, 1, ext);
  fpRs2(`FCVT_${s}_L`, 0x68 | d, 2, ext);
  fpRs2(`FCVT_${s}_LU`, 0x68 | d, 3, ext);
  fpRs2F3(`FMV_${x}_X`, 0x78 | d, 0, 0, ext);
}
fpRs2('FCVT_S_D', 0x20, 1, 'D');
fpRs2('FCVT_D_S', 0x21, 0, 'D');
// Zba: address generation
rtype('SH1ADD', 0x33, 2, 0x10, 'Zba');
rtype('SH2ADD', 0x33, 4, 0x10, 'Zba');
rtype('SH3ADD', 0x33, 6, 0x10, 'Zba');
rtype('ADD_UW', 0x3b, 0, 0x04, 'Zba');
rtype('SH1ADD_UW', 0x3b, 2, 0x10, 'Zba');
rtype('SH2ADD_UW', 0x3b, 4, 0x10, 'Zba');
rtype('SH3ADD_UW', 0x3b, 6, 0x10, 'Zba');
shift('SLLI_UW', 0x1b, 1, 0x02, false, 'Zba');
// Zbb: basic bit manipulation
rtype('ANDN', 0x33, 7, 0x20, 'Zbb');
rtype('ORN', 0x33, 6, 0x20, 'Zbb');
rtype('XNOR', 0x33, 4, 0x20, 'Zbb');
unary('CLZ', 0x13, 1, 0x600, 'Zbb');
unary('CTZ', 0x13, 1, 0x601, 'Zbb');
unary('CPOP', 0x13, 1, 0x602, 'Zbb');
unary('SEXT_B', 0x13, 1, 0x604, 'Zbb');
unary('SEXT_H', 0x13, 1, 0x605, 'Zbb');
unary('CLZW', 0x1b, 1, 0x600, 'Zbb');
unary('CTZW', 0x1b, 1, 0x601, 'Zbb');
unary('CPOPW', 0x1b, 1, 0x602, 'Zbb');
rtype('MIN', 0x33, 4, 0x05, 'Zbb');
rtype('MINU', 0x33, 5, 0x05, 'Zbb');
rtype('MAX', 0x33, 6, 0x05, 'Zbb');
rtype('MAXU', 0x33, 7, 0x05, 'Zbb');
// zext.h is packw with rs2 = x0 (RV64).
def('ZEXT_H', OPC | F3 | F7 | RS2, 0x3b | f3(4) | f7(0x04), 'I', 'Zbb');
rtype('ROL', 0x33, 1, 0x30, 'Zbb');
rtype('ROR', 0x33, 5, 0x30, 'Zbb');
rtype('ROLW', 0x3b, 1, 0x30, 'Zbb');
rtype('RORW', 0x3b, 5, 0x30, 'Zbb');
shift('RORI', 0x13, 5, 0x18, false, 'Zbb');
shift('RORIW', 0x1b, 5, 0x30, true, 'Zbb');
unary('ORC_B', 0x13, 5, 0x287, 'Zbb');
unary('REV8', 0x13, 5, 0x6b8, 'Zbb');
// Zbc: carry-less multiplication
rtype('CLMUL', 0x33, 1, 0x05, 'Zbc');
rtype('CLMULR', 0x33, 2, 0x05, 'Zbc');
rtype('CLMULH', 0x33, 3, 0x05, 'Zbc');
// Zbs: single-bit instructions
rtype('BCLR', 0x33, 1, 0x24, 'Zbs');
rtype('BEXT', 0x33, 5, 0x24, 'Zbs');
rtype('BINV', 0x33, 1, 0x34, 'Zbs');
rtype('BSET', 0x33, 1, 0x14, 'Zbs');
shift('BCLRI', 0x13, 1, 0x12, false, 'Zbs');
shift('BEXTI', 0x13, 5, 0x12, false, 'Zbs');
shift('BINVI', 0x13, 1, 0x1a, false, 'Zbs');
shift('BSETI', 0x13, 1, 0x0a, false, 'Zbs');
// Zimop: may-be-operations (SYSTEM, funct3 100); mop.r.n has n in bits 30,
// 27:26 and 21:20, mop.rr.n in bits 30 and 27:26. Both write 0 to rd.
def(
  'MOP_R',
  (1 << 31) | (3 << 28) | (0xf << 22) | F3 | OPC,
  (1 << 31) | (0x7 << 22) | f3(4) | 0x73,
  'I',
  'Zimop',
);
def(
  'MOP_RR',
  (1 << 31) | (3 << 28) | (1 << 25) | F3 | OPC,
  (1 << 31) | (1 << 25) | f3(4) | 0x73,
  'R',
  'Zimop',
);
// Zawrs: wait on reservation set; a stall that may end at once, which it does here.
def('WRS_NTO', 0xffff_ffff, 0x00d0_0073, 'none', 'Zawrs');
def('WRS_STO', 0xffff_ffff, 0x01d0_0073, 'none', 'Zawrs');
// Zicond: integer conditional operations
rtype('CZERO_EQZ', 0x33, 5, 0x07, 'Zicond');
rtype('CZERO_NEZ', 0x33, 7, 0x07, 'Zicond');

/** Every instruction; its Op number in the core is its index + 1 (0 is ILLEGAL). */
export const INSTRUCTIONS: readonly Instruction[] = table;

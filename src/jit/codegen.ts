/**
 * Code generation: one region (block.ts) → the body of one wasm function
 * (vpc: i64, n: i32) -> i32, the ABI of src/cpu/jit.ts.
 *
 * Guest registers live in wasm locals for the whole function: loaded once at
 * entry, stored back once on the way out (every exit goes through the one
 * epilogue), so a fault in mid-block leaves the register file exactly as
 * after the previous instruction. The pc is never a constant: it is the
 * entry's virtual pc plus an offset. Loads and stores inline the TLB hit
 * path (tag compare, add, access) and call the core for everything else.
 *
 * The blocks sit in a loop around a br_table on the current block's index:
 * a jump or taken branch to a block of the region sets the index and goes
 * round the loop, if the budget still covers the target block's full
 * length; otherwise it leaves, and the interpreter runs the rest of the
 * budget, so run(budget) retires exactly `budget` instructions.
 */
import type { Region, RegionBlock } from './block.js';
import type { AluOp, FpFast, Insn } from './decode.js';
import { Bytes, Op, I32, I64, F64, VOID } from './wasm-encoder.js';

/** Linear addresses in the core that translated code reads and writes in place. */
export interface CoreLayout {
  /** The integer and FP register files. */
  xregs: number;
  fregs: number;
  /** The hart's mstatus (u64), fflags and frm (u32). */
  mstatus: number;
  fflags: number;
  frm: number;
  /** Byte mask of a TLB entry's offset in its table (src/cpu/mmu.ts). */
  tlbIndexMask: number;
}

// Imported functions and globals (the order of the module's imports).
export const F_LOAD = 0;
export const F_STORE = 1;
export const F_MULDIV = 2;
export const F_FP = 3;
export const F_FMA = 4;
export const G_LOAD_TABLE = 0;
export const G_STORE_TABLE = 1;
export const G_PC = 2;
export const G_STATUS = 3;

// Locals: parameters vpc and n; x1..x31 in locals 2..32 (register r in r + 1);
// then the access's virtual address, the next pc and an FP instruction's
// scratch bits (i64), the TLB entry, the two TLB table bases, the packed
// exit and the current block (i32), and an FP instruction's operands and
// result (f64).
const L_VPC = 0;
const L_N = 1;
const L_VA = 33;
const L_NPC = 34;
const L_BITS = 35;
const L_E = 36;
const L_LT = 37;
const L_ST = 38;
const L_EXIT = 39;
const L_BLOCK = 40;
const L_FA = 41;
const L_FB = 42;
const L_FR = 43;
/** Local declarations after the two parameters. */
export const LOCALS: Array<[number, number]> = [
  [34, I64],
  [5, I32],
  [3, F64],
];

// mstatus.FS (privileged spec §3.1.6.6): Dirty is 3.
const MSTATUS_FS = 0x6000;
// binary64's smallest normal and largest finite magnitudes.
const F64_MIN_NORMAL = 2.2250738585072014e-308;
const F64_MAX = Number.MAX_VALUE;
const SIGN_BIT = -(2n ** 63n);
const MAGNITUDE = 2n ** 63n - 1n;

const LOAD_OPS = [
  Op.i64Load8S,
  Op.i64Load16S,
  Op.i64Load32S,
  Op.i64Load,
  Op.i64Load8U,
  Op.i64Load16U,
  Op.i64Load32U,
];
const STORE_OPS = [Op.i64Store8, Op.i64Store16, Op.i64Store32, Op.i64Store];
const BRANCH_OPS = [Op.i64Eq, Op.i64Ne, 0, 0, Op.i64LtS, Op.i64GeS, Op.i64LtU, Op.i64GeU];

type Operand = { reg: number } | { imm: number };

function regsOf(insn: Insn): { reads: number[]; write: number } {
  switch (insn.kind) {
    case 'lui':
    case 'auipc':
    case 'jal':
      return { reads: [], write: insn.rd };
    case 'alu':
    case 'muldiv':
      return { reads: [insn.rs1, insn.rs2], write: insn.rd };
    case 'alui':
    case 'load':
    case 'jalr':
      return { reads: [insn.rs1], write: insn.rd };
    case 'store':
    case 'branch':
      return { reads: [insn.rs1, insn.rs2], write: 0 };
    case 'fence':
      return { reads: [], write: 0 };
    case 'fp':
      return { reads: [insn.intRead], write: insn.intWrite };
  }
}

/** Static exits carry (instructions done, pc offset) in one i32, decoded once in the epilogue. */
function packExit(off: number, k: number): number {
  return (k << 16) | (off & 0xffff);
}

class Emitter {
  readonly c = new Bytes();
  constructor(readonly layout: CoreLayout) {}
  /** Open structured instructions (block, loop, if). */
  private open = 0;
  // Levels of the three outer constructs: block $done, block $exit, loop $top.
  private readonly doneLevel = 1;
  private readonly exitLevel = 2;
  private readonly topLevel = 3;

  op(b: number): this {
    this.c.u8(b);
    return this;
  }
  begin(kind: number, type: number = VOID): this {
    this.open++;
    this.c.u8(kind);
    this.c.u8(type);
    return this;
  }
  end(): this {
    this.open--;
    return this.op(Op.end);
  }
  get(l: number): this {
    this.c.u8(Op.localGet);
    this.c.uleb(l);
    return this;
  }
  set(l: number): this {
    this.c.u8(Op.localSet);
    this.c.uleb(l);
    return this;
  }
  tee(l: number): this {
    this.c.u8(Op.localTee);
    this.c.uleb(l);
    return this;
  }
  i32(v: number): this {
    this.c.u8(Op.i32Const);
    this.c.sleb(v);
    return this;
  }
  i64(v: number | bigint): this {
    this.c.u8(Op.i64Const);
    this.c.sleb(v);
    return this;
  }
  f64(v: number): this {
    this.c.u8(Op.f64Const);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.c.bytes(b);
    return this;
  }
  mem(op: number, offset: number): this {
    this.c.u8(op);
    this.c.u8(0);
    this.c.uleb(offset);
    return this;
  }
  call(f: number): this {
    this.c.u8(Op.call);
    this.c.uleb(f);
    return this;
  }
  global(op: number, g: number): this {
    this.c.u8(op);
    this.c.uleb(g);
    return this;
  }
  br(level: number): this {
    this.c.u8(Op.br);
    this.c.uleb(this.open - level);
    return this;
  }

  reg(r: number): this {
    return r === 0 ? this.i64(0) : this.get(r + 1);
  }
  operand(o: Operand): this {
    return 'reg' in o ? this.reg(o.reg) : this.i64(o.imm);
  }
  operand32(o: Operand): this {
    return 'reg' in o ? this.reg(o.reg).op(Op.i32WrapI64) : this.i32(o.imm | 0);
  }
  /** The virtual address at byte `off` from the entry. */
  pc(off: number): this {
    this.get(L_VPC);
    return off === 0 ? this : this.i64(off).op(Op.i64Add);
  }
  consume(k: number): this {
    return this.get(L_N).i32(k).op(Op.i32Sub).set(L_N);
  }
  /** Leave with the next pc at `off` after `k` instructions of this pass. */
  exit(off: number, k: number): this {
    if (off !== (off << 16) >> 16) return this.pc(off).set(L_NPC).exitDynamic(k); // a far JAL
    return this.i32(packExit(off, k)).set(L_EXIT).br(this.exitLevel);
  }
  /** Leave with the next pc already in L_NPC after `k` instructions. */
  exitDynamic(k: number): this {
    return this.consume(k).br(this.doneLevel);
  }
  /**
   * Go to block `target` (index `t`, `len` instructions long, at byte
   * offset `off` from the entry) after `k` instructions of the current
   * block: round the loop if the budget covers the whole target block,
   * otherwise leave for the interpreter.
   */
  goto(t: number, len: number, off: number, k: number, self?: number): this {
    this.consume(k).get(L_N).i32(len).op(Op.i32GeS).begin(Op.if);
    // A block jumping to itself (a loop) branches straight back to its start.
    if (self !== undefined) this.br(self).end();
    else this.i32(t).set(L_BLOCK).br(this.topLevel).end();
    return this.exit(off, 0);
  }
  /** The level of the innermost open construct (a target for br). */
  get level(): number {
    return this.open;
  }
  /** Where every static exit lands: npc = vpc + offset, n -= instructions. */
  decodeExit(): this {
    this.get(L_VPC).get(L_EXIT).op(Op.i32Extend16S).op(Op.i64ExtendI32S).op(Op.i64Add).set(L_NPC);
    return this.get(L_N).get(L_EXIT).i32(16).op(Op.i32ShrU).op(Op.i32Sub).set(L_N);
  }

  alu(op: AluOp, a: Operand, b: Operand): this {
    switch (op) {
      case 'add':
        return this.operand(a).operand(b).op(Op.i64Add);
      case 'sub':
        return this.operand(a).operand(b).op(Op.i64Sub);
      case 'sll':
        return this.operand(a).operand(b).op(Op.i64Shl);
      case 'slt':
        return this.operand(a).operand(b).op(Op.i64LtS).op(Op.i64ExtendI32U);
      case 'sltu':
        return this.operand(a).operand(b).op(Op.i64LtU).op(Op.i64ExtendI32U);
      case 'xor':
        return this.operand(a).operand(b).op(Op.i64Xor);
      case 'srl':
        return this.operand(a).operand(b).op(Op.i64ShrU);
      case 'sra':
        return this.operand(a).operand(b).op(Op.i64ShrS);
      case 'or':
        return this.operand(a).operand(b).op(Op.i64Or);
      case 'and':
        return this.operand(a).operand(b).op(Op.i64And);
      case 'mul':
        return this.operand(a).operand(b).op(Op.i64Mul);
      case 'addw':
        return this.operand(a).operand(b).op(Op.i64Add).op(Op.i64Extend32S);
      case 'subw':
        return this.operand(a).operand(b).op(Op.i64Sub).op(Op.i64Extend32S);
      case 'mulw':
        return this.operand(a).operand(b).op(Op.i64Mul).op(Op.i64Extend32S);
      case 'sllw':
        return this.operand32(a).operand32(b).op(Op.i32Shl).op(Op.i64ExtendI32S);
      case 'srlw':
        return this.operand32(a).operand32(b).op(Op.i32ShrU).op(Op.i64ExtendI32S);
      case 'sraw':
        return this.operand32(a).operand32(b).op(Op.i32ShrS).op(Op.i64ExtendI32S);
      case 'sh1add':
      case 'sh2add':
      case 'sh3add':
        return this.operand(a).i64(Number(op[2])).op(Op.i64Shl).operand(b).op(Op.i64Add);
      case 'adduw':
        return this.zext32(a).operand(b).op(Op.i64Add);
      case 'sh1adduw':
      case 'sh2adduw':
      case 'sh3adduw':
        return this.zext32(a).i64(Number(op[2])).op(Op.i64Shl).operand(b).op(Op.i64Add);
      case 'slliuw':
        return this.zext32(a).operand(b).op(Op.i64Shl);
      case 'andn':
        return this.operand(a).operand(b).i64(-1).op(Op.i64Xor).op(Op.i64And);
      case 'orn':
        return this.operand(a).operand(b).i64(-1).op(Op.i64Xor).op(Op.i64Or);
      case 'xnor':
        return this.operand(a).operand(b).op(Op.i64Xor).i64(-1).op(Op.i64Xor);
      case 'min':
      case 'minu':
      case 'max':
      case 'maxu': {
        // select(a, b, a < b) for min, (b < a) for max.
        const less = op === 'min' || op === 'max' ? Op.i64LtS : Op.i64LtU;
        this.operand(a).operand(b);
        if (op.startsWith('min')) this.operand(a).operand(b);
        else this.operand(b).operand(a);
        return this.op(less).op(Op.select);
      }
      case 'rol':
        return this.operand(a).operand(b).op(Op.i64Rotl);
      case 'ror':
        return this.operand(a).operand(b).op(Op.i64Rotr);
      case 'rolw':
        return this.operand32(a).operand32(b).op(Op.i32Rotl).op(Op.i64ExtendI32S);
      case 'rorw':
        return this.operand32(a).operand32(b).op(Op.i32Rotr).op(Op.i64ExtendI32S);
      case 'clz':
        return this.operand(a).op(Op.i64Clz);
      case 'ctz':
        return this.operand(a).op(Op.i64Ctz);
      case 'cpop':
        return this.operand(a).op(Op.i64Popcnt);
      case 'clzw':
        return this.operand32(a).op(Op.i32Clz).op(Op.i64ExtendI32U);
      case 'ctzw':
        return this.operand32(a).op(Op.i32Ctz).op(Op.i64ExtendI32U);
      case 'cpopw':
        return this.operand32(a).op(Op.i32Popcnt).op(Op.i64ExtendI32U);
      case 'sextb':
        return this.operand(a).op(Op.i64Extend8S);
      case 'sexth':
        return this.operand(a).op(Op.i64Extend16S);
      case 'zexth':
        return this.operand(a).i64(0xffff).op(Op.i64And);
      case 'bset':
        return this.operand(a).i64(1).operand(b).op(Op.i64Shl).op(Op.i64Or);
      case 'bclr':
        return this.operand(a).i64(1).operand(b).op(Op.i64Shl).i64(-1).op(Op.i64Xor).op(Op.i64And);
      case 'binv':
        return this.operand(a).i64(1).operand(b).op(Op.i64Shl).op(Op.i64Xor);
      case 'bext':
        return this.operand(a).operand(b).op(Op.i64ShrU).i64(1).op(Op.i64And);
      case 'czeroeqz':
        // select(0, a, b == 0)
        return this.i64(0).operand(a).operand(b).op(Op.i64Eqz).op(Op.select);
      case 'czeronez':
        // select(a, 0, b == 0)
        return this.operand(a).i64(0).operand(b).op(Op.i64Eqz).op(Op.select);
    }
  }
  /** The low 32 bits of an operand, zero-extended to 64. */
  zext32(o: Operand): this {
    return this.operand32(o).op(Op.i64ExtendI32U);
  }

  /** va = x[rs1] + imm; e = the TLB entry of table `tableLocal`; leaves "hit" (i32) on the stack. */
  tlbProbe(rs1: number, imm: number, tableLocal: number, size: number): this {
    this.reg(rs1);
    if (imm !== 0) this.i64(imm).op(Op.i64Add);
    this.set(L_VA);
    this.get(tableLocal).get(L_VA).op(Op.i32WrapI64).i32(8).op(Op.i32ShrU);
    this.i32(this.layout.tlbIndexMask).op(Op.i32And).op(Op.i32Add).set(L_E);
    // The tag is the page address: keeping the low log2(size) bits of va in
    // the compare sends misaligned accesses to the slow path (src/cpu/mmu.ts).
    this.get(L_E).mem(Op.i64Load, 0);
    return this.get(L_VA)
      .i64(-4096 + size - 1)
      .op(Op.i64And)
      .op(Op.i64Eq);
  }
  /** Linear address of the probed access (after a hit). */
  hostAddress(): this {
    return this.get(L_VA).get(L_E).mem(Op.i64Load, 8).op(Op.i64Add).op(Op.i32WrapI64);
  }

  /** Load FP register `r` (as f64, or its bits as i64). */
  freg(r: number, op: number = Op.f64Load): this {
    return this.i32(0).mem(op, this.layout.fregs + 8 * r);
  }
  /** i32: mstatus.FS is Dirty, the precondition of every inline FP path. */
  fsDirty(): this {
    this.i32(0).mem(Op.i64Load, this.layout.mstatus);
    return this.i64(MSTATUS_FS).op(Op.i64And).i64(MSTATUS_FS).op(Op.i64Eq);
  }
  /**
   * i32: the host's round-to-nearest-even arithmetic gives the result and
   * raises no new flag: the rounding mode is RNE (the field 0, or 7 with
   * frm 0) and the sticky inexact flag is already set. `rm` is 0 or 7.
   */
  hostRoundingOk(rm: number): this {
    this.i32(0).mem(Op.i32Load, this.layout.fflags).i32(1).op(Op.i32And);
    if (rm === 7) this.i32(0).mem(Op.i32Load, this.layout.frm).op(Op.i32Eqz).op(Op.i32And);
    return this;
  }
  /** i32: local `l` is a normal binary64 or a zero (not subnormal, infinite or NaN). */
  normalOrZero(l: number): this {
    this.get(l).op(Op.f64Abs).f64(F64_MIN_NORMAL).op(Op.f64Ge);
    this.get(l).op(Op.f64Abs).f64(F64_MAX).op(Op.f64Le).op(Op.i32And);
    return this.get(l).f64(0).op(Op.f64Eq).op(Op.i32Or);
  }
  /**
   * i32: result `l` needs no flag: finite and above the smallest normal
   * (which a tiny result may have been rounded up to), or a zero the
   * operation gives exactly (`exactZero`, an i32 emitter, decides).
   */
  resultOk(l: number, exactZero: () => void): this {
    this.get(l).op(Op.f64Abs).f64(F64_MIN_NORMAL).op(Op.f64Gt);
    this.get(l).op(Op.f64Abs).f64(F64_MAX).op(Op.f64Le).op(Op.i32And);
    this.get(l).f64(0).op(Op.f64Eq);
    exactZero();
    return this.op(Op.i32And).op(Op.i32Or);
  }
}

/** Emit the function body of `region`. */
export function emitRegion(region: Region, layout: CoreLayout): Bytes {
  const e = new Emitter(layout);
  const xregs = layout.xregs;
  const blocks = region.blocks;
  const entry = blocks[0]!.start;
  const used = new Set<number>();
  const written = new Set<number>();
  let loads = false;
  let stores = false;
  for (const b of blocks) {
    for (const { insn } of b.insns) {
      const { reads, write } = regsOf(insn);
      for (const r of reads) if (r !== 0) used.add(r);
      if (write !== 0) {
        used.add(write);
        written.add(write);
      }
      if (insn.kind === 'load' || (insn.kind === 'fp' && insn.fast?.op === 'load')) loads = true;
      if (insn.kind === 'store' || (insn.kind === 'fp' && insn.fast?.op === 'store')) stores = true;
    }
  }

  if (loads) e.global(Op.globalGet, G_LOAD_TABLE).set(L_LT);
  if (stores) e.global(Op.globalGet, G_STORE_TABLE).set(L_ST);
  for (const r of used)
    e.i32(0)
      .mem(Op.i64Load, xregs + 8 * r)
      .set(r + 1);

  e.begin(Op.block).begin(Op.block).begin(Op.loop);
  for (let i = blocks.length - 1; i >= 0; i--) e.begin(Op.block);
  if (blocks.length > 1) {
    e.get(L_BLOCK);
    e.c.u8(Op.brTable);
    e.c.uleb(blocks.length - 1);
    for (let i = 0; i < blocks.length; i++) e.c.uleb(i);
    e.c.uleb(0);
  }
  blocks.forEach((b, i) => {
    e.end();
    e.begin(Op.loop);
    const self = e.level;
    /** Continue at page offset `to` after `k` instructions: a block, or an exit. */
    const jump = (to: number, k: number): void => {
      const t = region.index.get(to);
      if (t === undefined) e.exit(to - entry, k);
      else e.goto(t, blocks[t]!.insns.length, to - entry, k, t === i ? self : undefined);
    };
    emitBlock(e, b, entry, jump);
    e.end();
  });
  e.end().end();
  e.decodeExit();
  e.end();

  for (const r of written)
    e.i32(0)
      .get(r + 1)
      .mem(Op.i64Store, xregs + 8 * r);
  e.get(L_NPC).global(Op.globalSet, G_PC);
  e.get(L_N);
  return e.c;
}

/** One block's instructions; it always ends by jumping or leaving. */
function emitBlock(
  e: Emitter,
  block: RegionBlock,
  entry: number,
  jump: (to: number, k: number) => void,
): void {
  block.insns.forEach(({ insn, off: pageOff, len }, i) => {
    const k = i + 1;
    const off = pageOff - entry;
    switch (insn.kind) {
      case 'lui':
        if (insn.rd !== 0) e.i64(insn.imm).set(insn.rd + 1);
        break;
      case 'auipc':
        if (insn.rd !== 0) e.pc(off + insn.imm).set(insn.rd + 1);
        break;
      case 'alu':
        if (insn.rd !== 0) e.alu(insn.op, { reg: insn.rs1 }, { reg: insn.rs2 }).set(insn.rd + 1);
        break;
      case 'alui':
        if (insn.rd !== 0) e.alu(insn.op, { reg: insn.rs1 }, { imm: insn.imm }).set(insn.rd + 1);
        break;
      case 'muldiv':
        if (insn.rd !== 0) {
          e.i32(insn.code).reg(insn.rs1).reg(insn.rs2).call(F_MULDIV);
          e.set(insn.rd + 1);
        }
        break;
      case 'load': {
        e.tlbProbe(insn.rs1, insn.imm, L_LT, 1 << (insn.f3 & 3));
        e.begin(Op.if, I64);
        e.hostAddress().mem(LOAD_OPS[insn.f3]!, 0);
        e.op(Op.else);
        e.get(L_VA)
          .i32(insn.f3 | (insn.rd << 3) | (len === 2 ? 0x100 : 0))
          .call(F_LOAD);
        e.global(Op.globalGet, G_STATUS).begin(Op.if).exit(off, k).end();
        e.end();
        if (insn.rd !== 0) e.set(insn.rd + 1);
        else e.op(Op.drop);
        break;
      }
      case 'store': {
        e.tlbProbe(insn.rs1, insn.imm, L_ST, 1 << insn.f3);
        e.begin(Op.if);
        e.hostAddress().reg(insn.rs2).mem(STORE_OPS[insn.f3]!, 0);
        e.op(Op.else);
        e.get(L_VA)
          .reg(insn.rs2)
          .i32(insn.f3 | (len === 2 ? 0x100 : 0))
          .call(F_STORE);
        e.begin(Op.if).exit(off, k).end();
        e.end();
        break;
      }
      case 'branch':
        e.reg(insn.rs1).reg(insn.rs2).op(BRANCH_OPS[insn.f3]!).begin(Op.if);
        jump(pageOff + insn.imm, k);
        e.end();
        break;
      case 'jal':
        if (insn.rd !== 0) e.pc(off + len).set(insn.rd + 1);
        jump(pageOff + insn.imm, k);
        break;
      case 'jalr':
        e.reg(insn.rs1);
        if (insn.imm !== 0) e.i64(insn.imm).op(Op.i64Add);
        e.i64(-2).op(Op.i64And).set(L_NPC);
        if (insn.rd !== 0) e.pc(off + len).set(insn.rd + 1);
        e.exitDynamic(k);
        break;
      case 'fence':
        break;
      case 'fp': {
        // The helper works on the register file: write back what it reads,
        // read back what it writes.
        const helper = (): void => {
          const xregs = e.layout.xregs;
          if (insn.intRead !== 0)
            e.i32(0)
              .reg(insn.intRead)
              .mem(Op.i64Store, xregs + 8 * insn.intRead);
          e.i32(insn.inst | 0)
            .i32(insn.raw | 0)
            .i32(insn.intWrite)
            .call(F_FP);
          e.begin(Op.if).exit(off, k).end();
          if (insn.intWrite !== 0)
            e.i32(0)
              .mem(Op.i64Load, xregs + 8 * insn.intWrite)
              .set(insn.intWrite + 1);
        };
        if (!insn.fast || !emitFpFast(e, insn.fast)) {
          helper();
          break;
        }
        // emitFpFast left its condition's `if` open with the inline path in it.
        e.op(Op.else);
        helper();
        e.end();
        break;
      }
    }
  });
  if (block.next >= 0) jump(block.next, block.insns.length);
}

/**
 * The inline path of an F/D instruction: its condition, then an open `if`
 * holding the path (the caller adds the helper as the `else`). Returns false,
 * emitting nothing, if the instruction always needs the helper (a static
 * rounding mode other than RNE). The paths are the interpreter's results by
 * construction: loads, stores, moves and sign injection are bit copies;
 * arithmetic uses the host only where src/cpu/fpu.ts's hostBinary and
 * hostSqrt64 would (round to nearest even, inexact already raised, normal
 * or zero operands, a result that raises no flag); everything else,
 * including FS not Dirty (off: the helper traps; Initial or Clean: it
 * marks the state Dirty), goes to the helper.
 */
function emitFpFast(e: Emitter, f: FpFast): boolean {
  switch (f.op) {
    case 'load':
      e.tlbProbe(f.rs1, f.imm, L_LT, f.size).fsDirty().op(Op.i32And).begin(Op.if);
      e.i32(0).hostAddress();
      // FLW NaN-boxes the single in the upper 32 bits of ones (spec §21.2).
      if (f.size === 8) e.mem(Op.i64Load, 0);
      else
        e.mem(Op.i64Load32U, 0)
          .i64(-(2 ** 32))
          .op(Op.i64Or);
      e.mem(Op.i64Store, e.layout.fregs + 8 * f.rd);
      return true;
    case 'store':
      e.tlbProbe(f.rs1, f.imm, L_ST, f.size).fsDirty().op(Op.i32And).begin(Op.if);
      e.hostAddress()
        .freg(f.rs2, Op.i64Load)
        .mem(f.size === 8 ? Op.i64Store : Op.i64Store32, 0);
      return true;
    case 'sgnj': {
      e.fsDirty().begin(Op.if);
      e.i32(0).freg(f.rs1, Op.i64Load).i64(MAGNITUDE).op(Op.i64And);
      e.freg(f.rs2, Op.i64Load);
      if (f.mode === 1) e.i64(-1).op(Op.i64Xor);
      e.i64(SIGN_BIT).op(Op.i64And);
      if (f.mode === 2) {
        // rs1 ^ (rs2 & sign): put rs1's sign back before the xor.
        e.freg(f.rs1, Op.i64Load).i64(SIGN_BIT).op(Op.i64And).op(Op.i64Xor);
      }
      e.op(Op.i64Or).mem(Op.i64Store, e.layout.fregs + 8 * f.rd);
      return true;
    }
    case 'fma': {
      // The core's hostFma64 (src/cpu/fpu.ts, through jitFma), under the
      // host-arithmetic conditions; it answers all ones (a NaN it never
      // gives as a result) where it cannot, and the helper runs it instead.
      if (f.rm !== 0 && f.rm !== 7) return false;
      const operand = (r: number, negate: boolean): void => {
        e.freg(r, Op.i64Load);
        if (negate) e.i64(SIGN_BIT).op(Op.i64Xor);
      };
      e.fsDirty().hostRoundingOk(f.rm).op(Op.i32And).begin(Op.if, I64);
      operand(f.rs1, f.negProduct);
      operand(f.rs2, false);
      operand(f.rs3, f.negAddend);
      e.call(F_FMA).op(Op.else).i64(-1).end();
      e.tee(L_BITS).i64(-1).op(Op.i64Ne).begin(Op.if);
      e.i32(0)
        .get(L_BITS)
        .mem(Op.i64Store, e.layout.fregs + 8 * f.rd);
      return true;
    }
    case 'eq':
    case 'lt':
    case 'le': {
      // Without a NaN a comparison raises no flag.
      e.freg(f.rs1).set(L_FA).freg(f.rs2).set(L_FB);
      e.fsDirty().get(L_FA).get(L_FA).op(Op.f64Eq).op(Op.i32And);
      e.get(L_FB).get(L_FB).op(Op.f64Eq).op(Op.i32And).begin(Op.if);
      if (f.rd !== 0) {
        const cmp = { eq: Op.f64Eq, lt: Op.f64Lt, le: Op.f64Le }[f.op];
        e.get(L_FA)
          .get(L_FB)
          .op(cmp)
          .op(Op.i64ExtendI32U)
          .set(f.rd + 1);
      }
      return true;
    }
    case 'fflags': {
      // csrrw/csrrs/csrrc (and immediate forms) on fflags, as csrInstruction does.
      const kind = f.f3 & 3;
      const src = (): Emitter => (f.f3 >= 5 ? e.i64(f.rs1) : e.reg(f.rs1));
      e.fsDirty().begin(Op.if);
      e.i32(0).mem(Op.i32Load, e.layout.fflags).op(Op.i64ExtendI32U).set(L_BITS);
      if (kind === 1 || f.rs1 !== 0) {
        e.i32(0);
        if (kind === 1) src();
        else if (kind === 2) {
          e.get(L_BITS);
          src().op(Op.i64Or);
        } else {
          e.get(L_BITS);
          src().i64(-1).op(Op.i64Xor).op(Op.i64And);
        }
        e.op(Op.i32WrapI64).i32(0x1f).op(Op.i32And).mem(Op.i32Store, e.layout.fflags);
      }
      if (f.rd !== 0) e.get(L_BITS).set(f.rd + 1);
      return true;
    }
    case 'mvxd':
      e.fsDirty().begin(Op.if);
      if (f.rd !== 0) e.freg(f.rs1, Op.i64Load).set(f.rd + 1);
      return true;
    case 'mvdx':
      e.fsDirty().begin(Op.if);
      e.i32(0)
        .reg(f.rs1)
        .mem(Op.i64Store, e.layout.fregs + 8 * f.rd);
      return true;
    case 'sqrt':
      if (f.rm !== 0 && f.rm !== 7) return false;
      e.freg(f.rs1).set(L_FA);
      // A positive normal or a zero: the root is normal (or the same zero) and exact or inexact only.
      e.fsDirty().hostRoundingOk(f.rm).op(Op.i32And);
      e.get(L_FA).f64(F64_MIN_NORMAL).op(Op.f64Ge).get(L_FA).f64(F64_MAX).op(Op.f64Le);
      e.op(Op.i32And).get(L_FA).f64(0).op(Op.f64Eq).op(Op.i32Or).op(Op.i32And);
      e.begin(Op.if);
      e.i32(0)
        .get(L_FA)
        .op(Op.f64Sqrt)
        .mem(Op.f64Store, e.layout.fregs + 8 * f.rd);
      return true;
    default: {
      if (f.rm !== 0 && f.rm !== 7) return false;
      const op = { add: Op.f64Add, sub: Op.f64Sub, mul: Op.f64Mul, div: Op.f64Div }[f.op];
      e.freg(f.rs1).set(L_FA).freg(f.rs2).set(L_FB);
      e.get(L_FA).get(L_FB).op(op).set(L_FR);
      e.fsDirty().hostRoundingOk(f.rm).op(Op.i32And);
      e.normalOrZero(L_FA).op(Op.i32And).normalOrZero(L_FB).op(Op.i32And);
      // A zero sum is exact; a zero product or quotient is exact only from a zero operand.
      e.resultOk(L_FR, () => {
        if (f.op === 'add' || f.op === 'sub') e.i32(1);
        else {
          e.get(L_FA).f64(0).op(Op.f64Eq);
          if (f.op === 'mul') e.get(L_FB).f64(0).op(Op.f64Eq).op(Op.i32Or);
        }
      });
      e.op(Op.i32And).begin(Op.if);
      e.i32(0)
        .get(L_FR)
        .mem(Op.f64Store, e.layout.fregs + 8 * f.rd);
      return true;
    }
  }
}

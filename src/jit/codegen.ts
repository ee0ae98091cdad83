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
import type { AluOp, Insn } from './decode.js';
import { Bytes, Op, I32, I64, VOID } from './wasm-encoder.js';

// Imported functions and globals (the order of the module's imports).
export const F_LOAD = 0;
export const F_STORE = 1;
export const F_MULDIV = 2;
export const F_FP = 3;
export const G_LOAD_TABLE = 0;
export const G_STORE_TABLE = 1;
export const G_PC = 2;
export const G_STATUS = 3;

// Locals: parameters vpc and n; x1..x31 in locals 2..32 (register r in r + 1);
// then the access's virtual address and the next pc (i64), the TLB entry, the
// two TLB table bases, the packed exit and the current block (i32).
const L_VPC = 0;
const L_N = 1;
const L_VA = 33;
const L_NPC = 34;
const L_E = 35;
const L_LT = 36;
const L_ST = 37;
const L_EXIT = 38;
const L_BLOCK = 39;
/** Local declarations after the two parameters. */
export const LOCALS: Array<[number, number]> = [
  [33, I64],
  [5, I32],
];

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
  /**
   * `tlbIndexMask`: byte mask of a TLB entry's offset in its table
   * (src/cpu/mmu.ts); `xregs`: the register file's linear address.
   */
  constructor(
    private readonly tlbIndexMask: number,
    readonly xregs: number,
  ) {}
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
  i32(v: number): this {
    this.c.u8(Op.i32Const);
    this.c.sleb(v);
    return this;
  }
  i64(v: number): this {
    this.c.u8(Op.i64Const);
    this.c.sleb(v);
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
    this.i32(this.tlbIndexMask).op(Op.i32And).op(Op.i32Add).set(L_E);
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
}

/** Emit the function body of `region`; `xregs` is the register file's linear address. */
export function emitRegion(region: Region, xregs: number, tlbIndexMask: number): Bytes {
  const e = new Emitter(tlbIndexMask, xregs);
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
      if (insn.kind === 'load') loads = true;
      if (insn.kind === 'store') stores = true;
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
      case 'fp':
        // The helper works on the register file: write back what it reads,
        // read back what it writes.
        if (insn.intRead !== 0)
          e.i32(0)
            .reg(insn.intRead)
            .mem(Op.i64Store, e.xregs + 8 * insn.intRead);
        e.i32(insn.inst | 0)
          .i32(insn.raw | 0)
          .call(F_FP);
        e.begin(Op.if).exit(off, k).end();
        if (insn.intWrite !== 0)
          e.i32(0)
            .mem(Op.i64Load, e.xregs + 8 * insn.intWrite)
            .set(insn.intWrite + 1);
        break;
    }
  });
  if (block.next >= 0) jump(block.next, block.insns.length);
}

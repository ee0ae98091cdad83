/**
 * Region formation: from a hot entry, the code of its 4 KiB page that one
 * wasm function will hold. A region is a set of blocks; each block is a
 * straight run of instructions that conditional branches may leave early
 * and that ends at a jump (JAL, JALR), at an instruction the translator does
 * not handle, at the end of the page, or at MAX_BLOCK instructions. Branch
 * and jump targets inside the page become blocks of the region too (up to
 * MAX_BLOCKS and MAX_INSNS), so loops and if/else inside one page run
 * without leaving translated code; everything else is an exit.
 *
 * A region never leaves its page, so one physical page holds all of it
 * whatever the virtual mapping, and a store to that page invalidates it.
 * Blocks may share instructions (a branch into the middle of a block starts
 * a block of its own that repeats the tail), which keeps each block a
 * simple straight run.
 */
import { decode, type Insn } from './decode.js';

export const MAX_BLOCK = 64;
export const MAX_BLOCKS = 16;
export const MAX_INSNS = 192;

export interface BlockInsn {
  insn: Insn;
  /** Byte offset of the instruction in its page. */
  off: number;
  len: number;
}

export interface RegionBlock {
  /** Byte offset of the block's first instruction in the page. */
  start: number;
  insns: BlockInsn[];
  /**
   * Where control goes after the last instruction when that is not a jump
   * (JAL, JALR): the page offset of the next instruction (4096 or more: the
   * next page); -1 when the block ends with a jump.
   */
  next: number;
}

export interface Region {
  /** Blocks; the first is the entry. */
  blocks: RegionBlock[];
  /** Block index by start offset. */
  index: Map<number, number>;
  /** Instructions in all blocks. */
  size: number;
  /** Some jump or branch goes to a block of the region (it can run without leaving). */
  linked: boolean;
}

/** The core's decoders (src/cpu/index.ts exports). */
export interface IsaDecoder {
  /** The 32-bit form of a 16-bit instruction (0 if illegal). */
  expandRvc(c: number): number;
  /** The instruction a 32-bit encoding is: its index in src/isa/instructions.ts + 1, 0 if illegal. */
  decodeInsn(inst: number): number;
}

/** Read the region whose entry is byte `entry` of `mem` (a linear-memory address). */
export function formRegion(mem: Uint8Array, entry: number, isa: IsaDecoder): Region {
  const page = entry - (entry & 0xfff);
  const decodeAt = (pos: number): { insn: Insn; len: number } | undefined => {
    if (pos < 0 || pos + 2 > 4096) return undefined;
    const lo = mem[page + pos]! | (mem[page + pos + 1]! << 8);
    if ((lo & 3) !== 3) {
      const inst = isa.expandRvc(lo) >>> 0;
      const insn = inst === 0 ? undefined : decode(isa.decodeInsn(inst), inst, lo);
      return insn && { insn, len: 2 };
    }
    if (pos + 4 > 4096) return undefined;
    const inst = (lo | (mem[page + pos + 2]! << 16) | (mem[page + pos + 3]! << 24)) >>> 0;
    const insn = decode(isa.decodeInsn(inst), inst);
    return insn && { insn, len: 4 };
  };

  const blocks: RegionBlock[] = [];
  const index = new Map<number, number>();
  const work = [entry & 0xfff];
  let size = 0;
  while (work.length > 0 && blocks.length < MAX_BLOCKS && size < MAX_INSNS) {
    const start = work.shift()!;
    if (index.has(start)) continue;
    const first = decodeAt(start);
    // Only the entry may be a block that starts with an exit.
    if (!first && blocks.length > 0) continue;
    const block: RegionBlock = { start, insns: [], next: start };
    index.set(start, blocks.length);
    blocks.push(block);
    const want = (target: number): void => {
      if (target >= 0 && target < 4096 && !index.has(target)) work.push(target);
    };
    let pos = start;
    for (;;) {
      if (block.insns.length >= MAX_BLOCK || size >= MAX_INSNS) {
        want(pos);
        break;
      }
      const d = decodeAt(pos);
      if (!d) break;
      block.insns.push({ insn: d.insn, off: pos, len: d.len });
      size++;
      pos += d.len;
      const k = d.insn.kind;
      if (k === 'branch') want(pos - d.len + d.insn.imm);
      if (k === 'jal') want(pos - d.len + d.insn.imm);
      if (k === 'jal' || k === 'jalr') break;
    }
    const last = block.insns[block.insns.length - 1]?.insn.kind;
    block.next = last === 'jal' || last === 'jalr' ? -1 : pos;
    if (block.next >= 0) want(pos);
  }
  const linked = blocks.some(
    (b) =>
      index.has(b.next) ||
      b.insns.some(
        ({ insn, off }) =>
          (insn.kind === 'branch' || insn.kind === 'jal') && index.has(off + insn.imm),
      ),
  );
  return { blocks, index, size, linked };
}

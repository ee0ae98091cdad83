/**
 * Block formation: from a hot entry, the instructions to translate. A block
 * never leaves the 4 KiB page of its entry (so one physical page holds all of
 * it, whatever the virtual mapping), follows direct jumps within that page,
 * keeps conditional branches as side exits, and ends at an indirect jump, at
 * an instruction the translator does not handle, or at MAX_BLOCK instructions.
 */
import { decode, type Insn } from './decode.js';

export const MAX_BLOCK = 64;

export interface BlockInsn {
  insn: Insn;
  /** Byte offset of the instruction from the block's entry (negative after a backward jump). */
  off: number;
  len: number;
  /** A JAL whose target is translated next, in line. */
  follow: boolean;
}

export interface Block {
  insns: BlockInsn[];
  /** Offset of the instruction after the last one, when the block ends by falling through. */
  endOff: number;
  /** Some branch or jump goes back to the entry (the block can loop inside its function). */
  loops: boolean;
}

/**
 * Read the block whose first instruction is at byte `entry` of `mem`.
 * `expand` turns a 16-bit instruction into its 32-bit form (0 if illegal).
 */
export function formBlock(mem: Uint8Array, entry: number, expand: (c: number) => number): Block {
  const page = entry - (entry & 0xfff);
  const start = entry & 0xfff;
  const seen = new Set<number>();
  const insns: BlockInsn[] = [];
  let pos = start;
  let loops = false;
  while (insns.length < MAX_BLOCK && !seen.has(pos) && pos + 2 <= 4096) {
    const lo = mem[page + pos]! | (mem[page + pos + 1]! << 8);
    let inst: number;
    let len: number;
    if ((lo & 3) !== 3) {
      inst = expand(lo);
      len = 2;
      if (inst === 0) break;
    } else {
      if (pos + 4 > 4096) break;
      inst = (lo | (mem[page + pos + 2]! << 16) | (mem[page + pos + 3]! << 24)) >>> 0;
      len = 4;
    }
    const insn = decode(inst);
    if (!insn) break;
    seen.add(pos);
    const bi: BlockInsn = { insn, off: pos - start, len, follow: false };
    insns.push(bi);
    if (insn.kind === 'jalr') return { insns, endOff: pos + len - start, loops };
    if (insn.kind === 'branch' && pos + insn.imm === start) loops = true;
    if (insn.kind === 'jal') {
      const target = pos + insn.imm;
      if (target !== start && target >= 0 && target + 2 <= 4096 && !seen.has(target)) {
        bi.follow = true;
        pos = target;
        continue;
      }
      if (target === start) loops = true;
      return { insns, endOff: pos + len - start, loops };
    }
    pos += len;
  }
  return { insns, endOff: pos - start, loops };
}

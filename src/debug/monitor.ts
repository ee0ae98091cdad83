/**
 * `monitor` commands of the GDB stub: what GDB has no word for. The page
 * walk reads guest RAM only (a page table pointing outside RAM ends that
 * branch), and the output is bounded, whatever the guest put there.
 */
import { RAM_BASE, type Hart } from '../machine/core.js';

/** At most this many mappings are listed by `info tlb`. */
const MAX_MAPPINGS = 400;
/** Page-table pages visited at most (a hostile table could be a loop of pointers). */
const MAX_TABLES = 4096;

const PRIV_NAMES = ['U', 'S', '?', 'M'];

export const MONITOR_HELP = [
  'colinux monitor commands:',
  '  info cpu        privilege level, pc, satp, instructions retired',
  '  info tlb        the mappings of the current page table (satp), merged into ranges',
  '  phys on|off     memory reads and writes use physical addresses (off: virtual, through satp)',
  '  help            this list',
].join('\n');

function hex(v: bigint, width = 16): string {
  return '0x' + v.toString(16).padStart(width, '0');
}

export function infoCpu(h: Hart): string {
  const satp = BigInt.asUintN(64, h.csr(0x180));
  const mode = satp >> 60n;
  const modeName =
    mode === 0n ? 'bare' : mode === 8n ? 'sv39' : mode === 9n ? 'sv48' : `mode ${mode}`;
  return [
    `priv ${PRIV_NAMES[h.x.getPriv()] ?? '?'}  pc ${hex(BigInt.asUintN(64, h.pc))}`,
    `satp ${hex(satp)} (${modeName}, asid ${(satp >> 44n) & 0xffffn}, root ${hex((satp & 0xfff_ffff_ffffn) << 12n)})`,
    `instret ${h.x.getInstret()}`,
  ].join('\n');
}

interface Mapping {
  va: bigint;
  pa: bigint;
  size: bigint;
  perms: string;
}

/** `info tlb`: the leaves of the current page table, contiguous ones merged. */
export function infoTlb(h: Hart): string {
  const satp = BigInt.asUintN(64, h.csr(0x180));
  const mode = satp >> 60n;
  if (mode === 0n) return 'satp is bare: virtual addresses are physical';
  if (mode !== 8n && mode !== 9n) return `satp mode ${mode} is not Sv39 or Sv48`;
  const levels = mode === 9n ? 4 : 3;
  const vaBits = BigInt(12 + 9 * levels);
  const out: Mapping[] = [];
  let tables = 0;
  let truncated = false;
  const readPte = (pa: bigint): bigint | undefined => {
    if (!h.inRam(pa, 8)) return undefined;
    const off = Number(pa - BigInt(RAM_BASE));
    return new DataView(h.ram.buffer, h.ram.byteOffset + off, 8).getBigUint64(0, true);
  };
  const walk = (table: bigint, level: number, vaBase: bigint): void => {
    if (++tables > MAX_TABLES) {
      truncated = true;
      return;
    }
    for (let i = 0n; i < 512n; i++) {
      if (out.length >= MAX_MAPPINGS) {
        truncated = true;
        return;
      }
      const pte = readPte(table + i * 8n);
      if (pte === undefined) return;
      if ((pte & 1n) === 0n) continue;
      let va = vaBase | (i << BigInt(12 + 9 * level));
      // Sign-extend from the top virtual address bit.
      if ((va >> (vaBits - 1n)) & 1n) va |= ~((1n << vaBits) - 1n) & 0xffff_ffff_ffff_ffffn;
      const next = ((pte >> 10n) & 0xfff_ffff_ffffn) << 12n;
      if ((pte & 0xan) === 0n) {
        if ((pte & 0xen) === 0n && level > 0) walk(next, level - 1, va);
        continue;
      }
      const perms =
        ((pte & 2n) !== 0n ? 'r' : '-') +
        ((pte & 4n) !== 0n ? 'w' : '-') +
        ((pte & 8n) !== 0n ? 'x' : '-') +
        ((pte & 16n) !== 0n ? 'u' : '-') +
        ((pte & 32n) !== 0n ? 'g' : '-') +
        ((pte & 64n) !== 0n ? 'a' : '-') +
        ((pte & 128n) !== 0n ? 'd' : '-');
      const size = 1n << BigInt(12 + 9 * level);
      const last = out[out.length - 1];
      if (
        last &&
        last.perms === perms &&
        last.va + last.size === va &&
        last.pa + last.size === next
      ) {
        last.size += size;
      } else {
        out.push({ va, pa: next, size, perms });
      }
    }
  };
  walk((satp & 0xfff_ffff_ffffn) << 12n, levels - 1, 0n);
  const lines = out.map(
    (m) =>
      `${hex(m.va)}-${hex(m.va + m.size - 1n)} -> ${hex(m.pa, 10)}  ${m.perms}  ${m.size >> 10n} KiB`,
  );
  if (out.length === 0) lines.push('no valid mappings');
  if (truncated) lines.push(`(listing stopped after ${out.length} ranges)`);
  return lines.join('\n');
}

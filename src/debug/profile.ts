/**
 * A sampled profile of guest PCs: the run loop records the pc and
 * privilege level every N retired instructions (so a profile counts guest
 * work, whatever the host's speed, and two runs of the same guest sample
 * alike), and the report names kernel functions from an ELF symbol table
 * (a `vmlinux`). User-mode samples are counted as one bucket: their
 * addresses belong to whichever process ran.
 */
import type { ElfFile } from '../machine/elf.js';

/** Default sampling interval in instructions (prime, so loops do not alias with it). */
export const DEFAULT_SAMPLE_INTERVAL = 10_007;
/** At most this many functions are listed. */
const TOP = 60;
const PRIV = ['user', 'supervisor', '?', 'machine'];

/** The JIT's counters for a profile report (Vm.jitCounters()). */
export interface JitSummary {
  /** Guest instructions retired since the machine started, and by translated code. */
  instructions: number;
  translated: number;
  /** Regions translated, and dropped to stay within the cache budget. */
  blocks: number;
  evictedBlocks: number;
}

export class GuestProfile {
  /** Samples per pc (kernel and firmware); user mode per privilege only. */
  private readonly byPc = new Map<bigint, number>();
  private readonly byPriv = [0, 0, 0, 0];
  private total = 0;

  constructor(readonly interval: number = DEFAULT_SAMPLE_INTERVAL) {}

  add(pc: bigint, priv: number): void {
    this.total++;
    this.byPriv[priv & 3]!++;
    if ((priv & 3) === 0) return;
    const key = BigInt.asUintN(64, pc);
    this.byPc.set(key, (this.byPc.get(key) ?? 0) + 1);
  }

  get samples(): number {
    return this.total;
  }

  /**
   * The report: where the samples fell, by privilege and by function (with
   * `symbols`), and, given the JIT's counters, how much ran translated.
   */
  report(symbols?: ElfFile['symbols'], jit?: JitSummary): string {
    const pct = (n: number): string => ((100 * n) / Math.max(1, this.total)).toFixed(1).padStart(5);
    const lines = [
      `colinux guest profile: ${this.total} samples, one every ${this.interval} instructions (${(this.total * this.interval).toLocaleString('en-US')} instructions)`,
      '',
      'by privilege level:',
      ...this.byPriv
        .map((n, p) => [n, p] as const)
        .filter(([n]) => n > 0)
        .map(([n, p]) => `  ${pct(n)} %  ${String(n).padStart(7)}  ${PRIV[p]}`),
      '',
    ];
    if (jit) {
      const share = (100 * jit.translated) / Math.max(1, jit.instructions);
      lines.push(
        `translated code: ${share.toFixed(1)} % of the ${jit.instructions.toLocaleString('en-US')} instructions since the last boot ` +
          `(${jit.blocks} regions translated, ${jit.evictedBlocks} evicted)`,
        '',
      );
    }
    const sorted = symbols ? sortedSymbols(symbols) : undefined;
    const byFunction = new Map<string, number>();
    for (const [pc, n] of this.byPc) {
      const name = sorted ? symbolFor(sorted, pc) : undefined;
      const key = name ?? `0x${pc.toString(16)}`;
      byFunction.set(key, (byFunction.get(key) ?? 0) + n);
    }
    const top = [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, TOP);
    lines.push(
      sorted
        ? 'kernel and firmware functions (self samples):'
        : 'kernel and firmware pcs (no symbols given):',
    );
    for (const [name, n] of top) lines.push(`  ${pct(n)} %  ${String(n).padStart(7)}  ${name}`);
    if (byFunction.size > TOP) lines.push(`  … ${byFunction.size - TOP} more`);
    return lines.join('\n') + '\n';
  }
}

type Sorted = { addrs: bigint[]; names: string[] };

function sortedSymbols(symbols: ElfFile['symbols']): Sorted {
  // $x/$d are RISC-V mapping symbols, .L local labels: not functions.
  const entries = [...symbols]
    .filter(([n, a]) => a !== 0n && !n.startsWith('$') && !n.startsWith('.L'))
    .sort((a, b) => (a[1] < b[1] ? -1 : 1));
  return { addrs: entries.map(([, a]) => a), names: entries.map(([n]) => n) };
}

/** The symbol at or below pc (`name+0xoff` is not useful in a profile: the name only). */
function symbolFor(s: Sorted, pc: bigint): string | undefined {
  let lo = 0;
  let hi = s.addrs.length - 1;
  if (hi < 0 || pc < s.addrs[0]!) return undefined;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (s.addrs[mid]! <= pc) lo = mid;
    else hi = mid - 1;
  }
  // A pc far past the last symbol (1 MiB) is not in that function.
  return pc - s.addrs[lo]! < 0x10_0000n ? s.names[lo] : undefined;
}

/**
 * What the stand-alone benchmarks (blk.ts, cofs.ts) share: their argument
 * parsing, the guest shell helpers that time phases, and the exit handling.
 */
import { BenchError } from './guest.js';

/**
 * Parse `--flag VALUE` arguments into a copy of `defaults`: `ints` maps flags
 * to whole-number options (>= 1), `strings` to string options.
 */
export function parseBenchArgs<T extends object>(
  argv: readonly string[],
  defaults: T,
  ints: Readonly<Record<string, keyof T>>,
  strings: Readonly<Record<string, keyof T>> = {},
): T {
  const o = { ...defaults } as Record<string, unknown>;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = argv[++i];
    if (value === undefined && (a in ints || a in strings)) {
      throw new BenchError(`${a} needs a value`);
    }
    if (a in ints) {
      const v = Number(value);
      if (!Number.isInteger(v) || v < 1) throw new BenchError(`${a} needs a whole number >= 1`);
      o[ints[a] as string] = v;
    } else if (a in strings) {
      o[strings[a] as string] = value;
    } else {
      throw new BenchError(`unknown argument ${a}`);
    }
  }
  return o as T;
}

/**
 * Guest shell functions: `phase NAME CMD…` runs CMD and prints
 * `phase NAME MS` (from /proc/uptime, 10 ms resolution), or `phase-failed NAME`
 * and exits.
 */
export const GUEST_PHASE_SH = `
t() { read u _ < /proc/uptime; echo "\${u%.*}\${u#*.}"; }
phase() { n=$1; shift; a=$(t); "$@" || { echo "phase-failed $n"; exit 1; }; b=$(t); echo "phase $n $(( (b - a) * 10 ))"; }
`;

/** Run a benchmark's main and exit with its status (1 with the message on failure). */
export function benchMain(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      const msg = e instanceof BenchError ? e.message : String((e as Error).stack ?? e);
      process.stderr.write(`bench: ${msg}\n`);
      process.exit(1);
    },
  );
}

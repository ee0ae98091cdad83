/**
 * The JIT's memory under churn: the default image starts N processes (each a
 * fresh exec of the shell) with an eager translator (an entry is translated
 * after 20 runs), so new code keeps being compiled and the cache keeps
 * evicting. Prints the process's RSS every 10 s with the JIT's counters, and
 * the peak: with eviction that truly frees, the RSS levels off however long
 * it runs. Figures, not pass/fail. Not part of `npm test`.
 *
 *   node dist/bench/jit-memory.js [--processes N] [--jitcache MiB]
 */
import { readFileSync } from 'node:fs';
import { ensureDefaultImage } from '../src/backends/image/index.js';
import { Machine } from '../src/machine/machine.js';
import { commandCmdline } from '../src/machine/command-status.js';
import { DEFAULT_KERNEL_ARGS } from '../src/vm.js';
import { DEFAULT_JIT_CACHE_MIB } from '../src/jit/jit.js';
import { BenchError } from './guest.js';
import { benchMain, parseBenchArgs } from './cli.js';

const MEM_MIB = 256;

async function main(): Promise<number> {
  const opts = parseBenchArgs(
    process.argv.slice(2),
    { processes: 1500, jitcache: DEFAULT_JIT_CACHE_MIB },
    { '--processes': 'processes', '--jitcache': 'jitcache' },
  );
  const image = await ensureDefaultImage({ onProgress: (l) => process.stderr.write(`${l}\n`) });
  const n = opts.processes;
  const cmd =
    `s=0; i=0; while [ $i -lt ${n} ]; do s=$((s + $(sh -c 'echo $(($1 * 2))' x $i))); ` +
    `i=$((i+1)); done; echo procs=$s`;
  let out = '';
  const decoder = new TextDecoder();
  const m = new Machine({
    memMiB: MEM_MIB,
    kernel: new Uint8Array(readFileSync(image.kernel)),
    initrd: new Uint8Array(readFileSync(image.initrd)),
    cmdline: commandCmdline(DEFAULT_KERNEL_ARGS.join(' '), cmd),
    jit: { threshold: 20, batch: 16, patience: 2, cacheBytes: opts.jitcache * 2 ** 20 },
    onOutput: (b) => (out += decoder.decode(b, { stream: true })),
  });
  const jit = m.hart.jit!;
  const t0 = performance.now();
  let peak = 0;
  const report = (): void => {
    const rss = process.memoryUsage().rss;
    peak = Math.max(peak, rss);
    const s = jit.stats;
    process.stdout.write(
      `${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s  RSS ${(rss / 2 ** 20).toFixed(0)} MiB  ` +
        `modules compiled ${s.modules}, evicted ${s.evictedModules}, live ${s.liveModules} ` +
        `(${(s.cacheBytes / 2 ** 20).toFixed(0)} MiB estimated)\n`,
    );
  };
  const timer = setInterval(report, 10_000);
  const exit = await m.run();
  clearInterval(timer);
  report();
  const expected = `procs=${n * (n - 1)}`;
  if (exit.reason !== 'poweroff' || !out.includes(expected)) {
    throw new BenchError(`the workload failed (${exit.reason}):\n${out.slice(-2000)}`);
  }
  process.stdout.write(
    `\n${n} processes, guest RAM ${MEM_MIB} MiB, jitcache=${opts.jitcache}: peak RSS ` +
      `${(peak / 2 ** 20).toFixed(0)} MiB (sampled every 10 s)\n`,
  );
  return 0;
}

benchMain(main);

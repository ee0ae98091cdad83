/**
 * The network benchmark alone (bench/net.ts; `npm run bench` runs it too,
 * after the boot and CPU figures): 50 MiB host → guest (busybox wget) and
 * guest → host (nc) through colinux's `eth0=slirp` and QEMU's `-netdev user`,
 * same kernel, initramfs, RAM and kernel command line.
 *
 *   node dist/bench/netbench.js [--runs N] [--only colinux|qemu] [--json PATH]
 *                               [--kernel PATH --initrd PATH]
 *
 * Prints a table of medians and colinux/QEMU ratios (times: lower is better).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ensureDefaultImage } from '../src/backends/image/index.js';
import { commandCmdline } from '../src/machine/command-status.js';
import { DEFAULT_KERNEL_ARGS } from '../src/vm.js';
import { BenchError, type VmCommand } from './guest.js';
import { measureNet, netMetrics } from './net.js';
import { withQemuUserNet } from './net.js';
import { formatTable, median } from './report.js';
import { QEMU, qemuVirtArgs, repoRoot } from './setup.js';

const MEM_MIB = 256;

interface Options {
  runs: number;
  only?: 'colinux' | 'qemu';
  json?: string;
  kernel?: string;
  initrd?: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { runs: 3 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new BenchError(`${a} needs a value`);
      return v;
    };
    if (a === '--runs') {
      o.runs = Number(value());
      if (!Number.isInteger(o.runs) || o.runs < 1)
        throw new BenchError('--runs: a whole number >= 1');
    } else if (a === '--only') {
      const v = value();
      if (v !== 'colinux' && v !== 'qemu') throw new BenchError('--only: colinux or qemu');
      o.only = v;
    } else if (a === '--json') o.json = resolve(value());
    else if (a === '--kernel') o.kernel = resolve(value());
    else if (a === '--initrd') o.initrd = resolve(value());
    else throw new BenchError(`unknown argument ${a}`);
  }
  if ((o.kernel === undefined) !== (o.initrd === undefined)) {
    throw new BenchError('--kernel and --initrd go together');
  }
  return o;
}

const log = (s: string): void => void process.stderr.write(`bench: ${s}\n`);

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  let kernel: string;
  let initrd: string;
  if (opts.kernel !== undefined && opts.initrd !== undefined) {
    kernel = opts.kernel;
    initrd = opts.initrd;
    for (const p of [kernel, initrd])
      if (!existsSync(p)) throw new BenchError(`${p}: no such file`);
  } else {
    const img = await ensureDefaultImage({ onProgress: log });
    kernel = img.kernel;
    initrd = img.initrd;
  }
  const cli = resolve(repoRoot(), 'dist', 'src', 'cli', 'colinux.js');
  const colinux = (guestCmd: string): VmCommand => ({
    name: 'colinux',
    file: process.execPath,
    args: [
      cli,
      'run',
      `kernel=${kernel}`,
      `initrd=${initrd}`,
      `mem=${MEM_MIB}`,
      'eth0=slirp',
      '--cmd',
      guestCmd,
    ],
  });
  const qemu = (guestCmd: string): VmCommand =>
    withQemuUserNet({
      name: 'qemu',
      file: QEMU,
      args: [
        ...qemuVirtArgs(MEM_MIB),
        ...['-nic', 'none', '-kernel', kernel, '-initrd', initrd],
        ...['-append', commandCmdline(DEFAULT_KERNEL_ARGS.join(' '), guestCmd)],
      ],
    });
  const r = await measureNet({
    runs: opts.runs,
    colinux,
    qemu,
    log,
    vms: opts.only ? [opts.only] : undefined,
  });
  if (opts.only) {
    const runs = r[opts.only];
    process.stdout.write(
      `${opts.only}, medians of ${opts.runs}: host → guest ${median(runs.map((x) => x.downS)).toFixed(2)} s, ` +
        `guest → host ${median(runs.map((x) => x.upS)).toFixed(2)} s\n`,
    );
  } else {
    process.stdout.write(
      `net: 50 MiB each way through user-mode networking, colinux eth0=slirp vs ${QEMU} -netdev user; ` +
        `${MEM_MIB} MiB, medians of ${opts.runs} runs (ratio = colinux / QEMU, lower is better)\n\n` +
        `${formatTable(netMetrics(r))}\n`,
    );
  }
  for (const p of r.problems) process.stdout.write(`${p}\n`);
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ opts, ...r }, null, 2) + '\n');
  return r.problems.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof BenchError ? e.message : String(e)}\n`);
    process.exit(1);
  },
);

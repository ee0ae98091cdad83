/**
 * Block-device benchmark: dbench (the benchmark of the original Cooperative
 * Linux paper: `dbench 1`, `dbench 3`, `dbench 10`, Debian's riscv64
 * package) and sequential dd, inside the Debian root disk
 * (`colinux image build debian`), on colinux and on qemu-system-riscv64
 * (`-M virt`, virtio-blk-device, cache=writeback), same kernel, same image
 * (a fresh sparse copy per run), same RAM. Not part of `npm test`.
 *
 *   node dist/bench/blk.js [--runs N] [--seconds S] [--dd-mib N] [--disk PATH] [--json PATH]
 *
 * --disk: a Debian root disk image to use instead of the cached one.
 *
 * The guest script (written into the image copy with debugfs, run through
 * `--cmd` / colinux.cmd=) prints `phase NAME MS` for dd and the dbench
 * "Throughput" lines. Output: a table of medians and colinux/QEMU ratios
 * (throughput: above 1× means colinux is faster). Figures, never pass/fail.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDefaultImage } from '../src/backends/image/index.js';
import { ensureDebianImage } from '../src/backends/image/debian.js';
import { commandCmdline } from '../src/machine/command-status.js';
import { DEFAULT_KERNEL_ARGS } from '../src/vm.js';
import { BenchError, runToExit, type VmCommand } from './guest.js';
import { benchMain, GUEST_PHASE_SH, parseBenchArgs } from './cli.js';
import { formatTable, metric, type Metric } from './report.js';
import { QEMU, qemuVirtArgs, repoRoot } from './setup.js';

const MEM_MIB = 512;
const CLIENTS = [1, 3, 10] as const;

interface Options {
  runs: number;
  seconds: number;
  ddMiB: number;
  disk?: string;
  json?: string;
}

function parseArgs(argv: string[]): Options {
  return parseBenchArgs<Options>(
    argv,
    { runs: 3, seconds: 20, ddMiB: 256 },
    { '--runs': 'runs', '--seconds': 'seconds', '--dd-mib': 'ddMiB' },
    { '--json': 'json', '--disk': 'disk' },
  );
}

const log = (s: string): void => void process.stderr.write(`bench: ${s}\n`);

function script(o: Options): string {
  return `
${GUEST_PHASE_SH}mkdir -p /bench || exit 1
sync; echo 3 > /proc/sys/vm/drop_caches
phase dd-write sh -c "dd if=/dev/zero of=/bench/big bs=1M count=${o.ddMiB} conv=fsync 2>/dev/null"
sync; echo 3 > /proc/sys/vm/drop_caches
phase dd-read sh -c "dd if=/bench/big of=/dev/null bs=1M 2>/dev/null"
rm -f /bench/big; sync
for c in ${CLIENTS.join(' ')}; do
  dbench -t ${o.seconds} -D /bench $c 2>&1 | sed -n "s/^ *Throughput \\([0-9.]*\\) MB\\/sec.*/dbench $c \\1/p"
  rm -rf /bench/clients; sync
done
echo bench-done
`;
}

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new BenchError(`${cmd} ${args.join(' ')}: ${r.stderr || r.error}`);
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  const kernel = (await ensureDefaultImage({ onProgress: log })).kernel;
  const debian = opts.disk ? { disk: opts.disk } : await ensureDebianImage({ onProgress: log });
  const work = mkdtempSync(join(tmpdir(), 'colinux-blk-bench-'));
  try {
    const local = join(work, 'bench.sh');
    writeFileSync(local, script(opts));
    const disk = join(work, 'run.img');
    const guestCmd = 'sh /root/bench.sh';
    const cli = join(repoRoot(), 'dist', 'src', 'cli', 'colinux.js');
    const colinux: VmCommand = {
      name: 'colinux',
      file: process.execPath,
      args: [
        cli,
        'run',
        `kernel=${kernel}`,
        'initrd=none',
        `mem=${MEM_MIB}`,
        `cobd0=${disk}`,
        'root=/dev/cobd0',
        'eth0=none',
        '--cmd',
        guestCmd,
      ],
    };
    const qemu: VmCommand = {
      name: 'qemu',
      file: QEMU,
      args: [
        ...qemuVirtArgs(MEM_MIB),
        ...['-nic', 'none'],
        ...[
          '-drive',
          `file=${disk},format=raw,if=none,id=d0,cache=writeback`,
          '-device',
          'virtio-blk-device,drive=d0',
        ],
        ...['-kernel', kernel],
        ...[
          '-append',
          commandCmdline([...DEFAULT_KERNEL_ARGS, 'root=/dev/vda'].join(' '), guestCmd),
        ],
      ],
    };
    const names = ['dd-write', 'dd-read', ...CLIENTS.map((c) => `dbench ${c}`)];
    const results: Record<string, Record<string, number[]>> = { colinux: {}, qemu: {} };
    for (let run = 1; run <= opts.runs; run++) {
      for (const cmd of [colinux, qemu]) {
        // A fresh copy of the image each run, with the script in /root.
        rmSync(disk, { force: true });
        sh('cp', ['--sparse=always', debian.disk, disk]);
        sh('debugfs', ['-w', '-R', `write ${local} /root/bench.sh`, disk]);
        log(`[${run}/${opts.runs}] ${cmd.name}…`);
        const r = await runToExit(cmd, 60 * 60_000);
        if (!/bench-done/.test(r.output)) {
          throw new BenchError(`${cmd.name}: the guest script failed:\n${r.output.slice(-2000)}`);
        }
        const res = results[cmd.name]!;
        for (const m of r.output.matchAll(/^phase (dd-\S+) (\d+)\r?$/gm)) {
          (res[m[1]!] ??= []).push(opts.ddMiB / (Number(m[2]) / 1000));
        }
        for (const m of r.output.matchAll(/^dbench (\d+) ([\d.]+)\r?$/gm)) {
          (res[`dbench ${m[1]}`] ??= []).push(Number(m[2]));
        }
        log(
          `[${run}/${opts.runs}] ${cmd.name}: ${names.map((n) => `${n} ${res[n]?.at(-1)?.toFixed(1) ?? 'n/a'}`).join(', ')} MB/s`,
        );
      }
    }
    const metrics: Metric[] = names.map((n) =>
      metric(n, 'MB/s', 1, results.colinux![n] ?? [], results.qemu![n] ?? []),
    );
    process.stdout.write(
      `blk: Debian ${debian.disk.includes('debian-') ? 'trixie ' : ''}root disk, ext4; dd ${opts.ddMiB} MiB (conv=fsync, then read after drop_caches); ` +
        `dbench -t ${opts.seconds} with ${CLIENTS.join('/')} clients; colinux cobd0= vs ${QEMU} virtio-blk-device cache=writeback; ` +
        `${MEM_MIB} MiB, medians of ${opts.runs} runs (throughput: a ratio above 1× means colinux is faster)\n\n${formatTable(metrics)}\n`,
    );
    if (opts.json) writeFileSync(opts.json, JSON.stringify({ opts, metrics }, null, 2) + '\n');
    return 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

benchMain(main);

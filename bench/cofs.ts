/**
 * Shared-folder benchmark: copy a tree of a few thousand small files and one
 * large file through cofs (virtio-9p), versus the guest's own block disk
 * (ext2 on virtio-blk), on colinux and on qemu-system-riscv64 (`-virtfs`
 * style: `-fsdev local,security_model=none` + `virtio-9p-device`), same
 * kernel, same initramfs, same guest script. Not part of `npm test`.
 *
 *   node dist/bench/cofs.js [--runs N] [--files N] [--big-mib N] [--json PATH]
 *
 * The guest script (written into the share, run with --cmd / colinux.cmd=)
 * times each phase with the guest clock (/proc/uptime, 10 ms) and prints
 * `phase NAME MS` lines:
 *   9p-read-tree   cp -r  share/tree → tmpfs
 *   9p-read-big    cat    share/big.bin → /dev/null
 *   9p-write-tree  cp -r  tmpfs → share
 *   9p-write-big   dd     100 MiB of zeros → share (conv=fsync)
 *   disk-write-tree, disk-write-big, disk-read-tree, disk-read-big: the same
 *   on ext2 on the virtio disk (writes end with sync; caches are dropped
 *   before the reads).
 * Output: a table of medians and colinux/QEMU ratios; figures, never pass/fail.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDefaultImage } from '../src/backends/image/index.js';
import { commandCmdline } from '../src/machine/command-status.js';
import { DEFAULT_KERNEL_ARGS } from '../src/vm.js';
import { BenchError, runToExit, type VmCommand } from './guest.js';
import { benchMain, GUEST_PHASE_SH, parseBenchArgs } from './cli.js';
import { formatTable, metric, type Metric } from './report.js';
import { QEMU, qemuVirtArgs, repoRoot } from './setup.js';

const MEM_MIB = 512;
const PHASES = [
  '9p-read-tree',
  '9p-read-big',
  '9p-write-tree',
  '9p-write-big',
  'disk-write-tree',
  'disk-write-big',
  'disk-read-tree',
  'disk-read-big',
] as const;

interface Options {
  runs: number;
  files: number;
  bigMiB: number;
  json?: string;
}

function parseArgs(argv: string[]): Options {
  return parseBenchArgs<Options>(
    argv,
    { runs: 3, files: 3000, bigMiB: 100 },
    { '--runs': 'runs', '--files': 'files', '--big-mib': 'bigMiB' },
    { '--json': 'json' },
  );
}

const log = (s: string): void => void process.stderr.write(`bench: ${s}\n`);

function script(bigMiB: number): string {
  return `
${GUEST_PHASE_SH}S=/mnt/cofs0
[ -d $S/src ] || { echo "no share"; exit 1; }
rm -rf $S/out; mkdir $S/out
phase 9p-read-tree cp -r $S/src/tree /tmp/tree
phase 9p-read-big sh -c "cat $S/src/big.bin > /dev/null"
phase 9p-write-tree cp -r /tmp/tree $S/out/tree
phase 9p-write-big dd if=/dev/zero of=$S/out/big.bin bs=1M count=${bigMiB} conv=fsync 2>/dev/null
mke2fs -q -F /dev/vda >/dev/null 2>&1 || { echo "mke2fs failed"; exit 1; }
mkdir -p /mnt/disk && mount /dev/vda /mnt/disk || exit 1
phase disk-write-tree sh -c "cp -r /tmp/tree /mnt/disk/tree && sync"
phase disk-write-big sh -c "dd if=/dev/zero of=/mnt/disk/big.bin bs=1M count=${bigMiB} conv=fsync 2>/dev/null"
echo 3 > /proc/sys/vm/drop_caches
phase disk-read-tree cp -r /mnt/disk/tree /tmp/tree2
phase disk-read-big sh -c "cat /mnt/disk/big.bin > /dev/null"
umount /mnt/disk
echo bench-done
`;
}

function makeTree(dir: string, files: number): void {
  const perDir = 100;
  let seed = 1;
  for (let i = 0; i < files; i++) {
    const d = join(dir, `d${Math.floor(i / perDir)}`);
    if (i % perDir === 0) mkdirSync(d, { recursive: true });
    seed = (seed * 1103515245 + 12345) >>> 0;
    writeFileSync(join(d, `f${i}`), randomBytes(seed % 8192));
  }
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  const image = await ensureDefaultImage({ onProgress: log });
  const work = mkdtempSync(join(tmpdir(), 'colinux-cofs-bench-'));
  try {
    const share = join(work, 'share');
    mkdirSync(join(share, 'src'), { recursive: true });
    log(`making ${opts.files} files and a ${opts.bigMiB} MiB file in ${share}`);
    makeTree(join(share, 'src', 'tree'), opts.files);
    const big = openSync(join(share, 'src', 'big.bin'), 'w');
    for (let i = 0; i < opts.bigMiB; i++) writeFileSync(big, randomBytes(1 << 20));
    closeSync(big);
    writeFileSync(join(share, 'bench.sh'), script(opts.bigMiB));
    const disk = join(work, 'disk.img');
    const fd = openSync(disk, 'w');
    ftruncateSync(fd, (opts.bigMiB + 256) << 20);
    closeSync(fd);

    const guestCmd = 'sh /mnt/cofs0/bench.sh';
    const cli = join(repoRoot(), 'dist', 'src', 'cli', 'colinux.js');
    const colinux: VmCommand = {
      name: 'colinux',
      file: process.execPath,
      args: [
        cli,
        'run',
        `kernel=${image.kernel}`,
        `initrd=${image.initrd}`,
        `mem=${MEM_MIB}`,
        `cobd0=${disk}`,
        `cofs0=${share}`,
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
          `file=${disk},format=raw,if=none,id=d0`,
          '-device',
          'virtio-blk-device,drive=d0',
        ],
        ...['-fsdev', `local,id=f0,path=${share},security_model=none`],
        ...['-device', 'virtio-9p-device,fsdev=f0,mount_tag=cofs0'],
        ...['-kernel', image.kernel, '-initrd', image.initrd],
        ...['-append', commandCmdline(DEFAULT_KERNEL_ARGS.join(' '), guestCmd)],
      ],
    };

    const results: Record<string, Record<string, number[]>> = { colinux: {}, qemu: {} };
    for (let run = 1; run <= opts.runs; run++) {
      for (const cmd of [colinux, qemu]) {
        log(`[${run}/${opts.runs}] ${cmd.name}…`);
        const r = await runToExit(cmd, 30 * 60_000);
        if (!/bench-done/.test(r.output)) {
          throw new BenchError(`${cmd.name}: the guest script failed:\n${r.output.slice(-2000)}`);
        }
        for (const m of r.output.matchAll(/^phase (\S+) (\d+)\r?$/gm)) {
          (results[cmd.name]![m[1]!] ??= []).push(Number(m[2]) / 1000);
        }
        const line = PHASES.map((p) => `${p} ${results[cmd.name]![p]?.at(-1)?.toFixed(2)} s`);
        log(`[${run}/${opts.runs}] ${cmd.name}: ${line.join(', ')}`);
      }
      // What the guest wrote through the share must be whole.
      const copy = readFileSync(join(share, 'out', 'big.bin'));
      if (copy.length !== opts.bigMiB << 20 || copy.some((b) => b !== 0)) {
        throw new BenchError('out/big.bin written through the share is wrong');
      }
      const h = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');
      if (h(join(share, 'src/tree/d0/f0')) !== h(join(share, 'out/tree/d0/f0'))) {
        throw new BenchError('a tree file copied through the share differs');
      }
    }
    const metrics: Metric[] = PHASES.map((p) =>
      metric(p, 's', 2, results.colinux![p] ?? [], results.qemu![p] ?? []),
    );
    process.stdout.write(
      `cofs: ${opts.files} files (≤ 8 KiB each) and one ${opts.bigMiB} MiB file; ` +
        `colinux cofs0=/cobd0= vs ${QEMU} -fsdev local + virtio-9p-device / virtio-blk-device; ` +
        `${MEM_MIB} MiB, medians of ${opts.runs} runs\n\n${formatTable(metrics)}\n`,
    );
    if (opts.json) writeFileSync(opts.json, JSON.stringify({ opts, metrics }, null, 2));
    return 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

benchMain(main);

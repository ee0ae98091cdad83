/**
 * `npm run bench`: colinux side by side with qemu-system-riscv64 (TCG,
 * `-M virt`, its bundled OpenSBI), same kernel, same initrd, same kernel
 * command line, same RAM. Prints a table of medians and colinux/QEMU ratios
 * on stdout, progress on stderr.
 *
 *   node dist/bench/main.js [--only core,snapshot,blk,cofs,debian] [--runs N] [--idle-seconds S]
 *                           [--json PATH] [--kernel PATH --initrd PATH] [--no-jit]
 *                           [--no-profile] [--keep]
 *
 * Measured, N runs each (median reported), runs of the two VMs alternating:
 *   1. spawn to shell prompt; then CPU use over an idle window at the prompt
 *      and peak RSS of the process; then "poweroff" to process exit;
 *   2. /bench/cpubench (bench/cpubench.c, built here with the riscv64 cross
 *      compiler and appended to the initrd as a second cpio), timed inside
 *      the guest; its checksum must be identical on both VMs.
 *   3. TCP throughput both ways through user-mode networking (bench/net.ts).
 *   4. spawn to exit of `--cmd true`: boot, run nothing, power off.
 * Then one in-process colinux run counts guest instructions and reads the
 * JIT's counters (not timed).
 * Then, as child processes, suspend and resume of an idle VM against QEMU's
 * migration to a file (bench/snapshot.ts), the block benchmark (bench/blk.ts: dd and dbench
 * on the Debian root disk), the shared-folder one (bench/cofs.ts) and the
 * Debian image build with its peak RSS, with and without the JIT
 * (bench/debian.ts; colinux only).
 *
 * Exit status: 0 when everything ran (however slow), 1 when something
 * failed to run or the two VMs computed different checksums, 2 bad usage.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ensureDefaultImage } from '../src/backends/image/index.js';
import { commandCmdline } from '../src/machine/command-status.js';
import { DEFAULT_KERNEL_ARGS } from '../src/vm.js';
import {
  BenchError,
  measureBoot,
  runToExit,
  ticksPerSecond,
  type BootRun,
  type CommandRun,
  type VmCommand,
} from './guest.js';
import { profileColinux, type ProfileResult, type RunCounters } from './profile.js';
import { formatRatio, formatTable, median, metric, mib, type Metric } from './report.js';
import {
  buildCpubench,
  checkHostTools,
  ensureBenchTools,
  QEMU,
  qemuVirtArgs,
  repoRoot,
  writeCombinedInitrd,
} from './setup.js';
import { measureNet, netMetrics, withQemuUserNet } from './net.js';

const MEM_MIB = 256;
const GUEST_CMD = 'cat /proc/cmdline; /bench/cpubench';
const PHASES = ['sieve', 'sort', 'hash', 'matrix', 'chase', 'fp'] as const;

interface Options {
  runs: number;
  idleSeconds: number;
  json?: string;
  kernel?: string;
  initrd?: string;
  profile: boolean;
  keep: boolean;
  /** colinux runs as by default, with the JIT; false: jit=off. */
  jit: boolean;
  /** Which parts run: core (boot, idle, cpubench, net), blk, cofs, debian. */
  only: Set<Section>;
}

const SECTIONS = ['core', 'snapshot', 'blk', 'cofs', 'debian'] as const;
type Section = (typeof SECTIONS)[number];

const USAGE = `usage: node dist/bench/main.js [--only core,snapshot,blk,cofs,debian] [--runs N] [--idle-seconds S]
                              [--json PATH] [--kernel PATH --initrd PATH] [--no-jit] [--no-profile] [--keep]
  --only LIST       the parts to run (default all): core = boot, idle, cpubench and TCP
                    throughput; snapshot = suspend and resume of an idle VM (bench/snapshot.ts);
                    blk = dd and dbench on the Debian root disk (bench/blk.ts,
                    builds the Debian image first if needed); cofs = shared folders (bench/cofs.ts);
                    debian = the Debian image build's time and peak RSS, with and without the
                    JIT (bench/debian.ts, root only, two builds of 20-30 min)
  --runs N          runs of each measurement per VM (default 3, at least 1); medians are reported
  --idle-seconds S  idle window at the shell prompt for the CPU figure (default 10)
  --json PATH       also write the results as JSON to PATH
  --kernel, --initrd  use this kernel and initramfs instead of the default image
                    (the initramfs must be the default image's or behave like it)
  --no-jit          run colinux with jit=off, the interpreter alone (core part)
  --no-profile      skip the in-process colinux instruction count
  --keep            keep the temporary directory (cpubench binary, combined initrd)`;

class UsageError extends Error {}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    runs: 3,
    idleSeconds: 10,
    profile: true,
    keep: false,
    jit: true,
    only: new Set(SECTIONS),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    const num = (min: number): number => {
      const v = Number(value());
      if (!Number.isFinite(v) || v < min) throw new UsageError(`${a}: expected a number >= ${min}`);
      return v;
    };
    switch (a) {
      case '--runs':
        o.runs = Math.floor(num(1));
        break;
      case '--idle-seconds':
        o.idleSeconds = num(1);
        break;
      case '--json':
        o.json = resolve(value());
        break;
      case '--kernel':
        o.kernel = resolve(value());
        break;
      case '--initrd':
        o.initrd = resolve(value());
        break;
      case '--only': {
        const parts = value().split(',');
        const bad = parts.filter((p) => !(SECTIONS as readonly string[]).includes(p));
        if (bad.length > 0) {
          throw new UsageError(
            `--only: unknown part ${bad.join(', ')}; parts: ${SECTIONS.join(', ')}`,
          );
        }
        o.only = new Set(parts as Section[]);
        break;
      }
      case '--no-jit':
        o.jit = false;
        break;
      case '--no-profile':
        o.profile = false;
        break;
      case '--keep':
        o.keep = true;
        break;
      case '-h':
      case '--help':
        process.stdout.write(USAGE + '\n');
        process.exit(0);
        break;
      default:
        throw new UsageError(`unknown argument ${a}`);
    }
  }
  if ((o.kernel === undefined) !== (o.initrd === undefined)) {
    throw new UsageError('--kernel and --initrd go together');
  }
  return o;
}

const log = (line: string): void => void process.stderr.write(`bench: ${line}\n`);
const secs = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

interface CpuRun {
  totalMs: number;
  phaseMs: Record<string, number>;
  checksum: string;
  phaseChecks: Record<string, string>;
  guestCmdline: string | undefined;
  wallMs: number;
  /** Host CPU time the VM process used from cpubench's start line to its total line, s. */
  hostCpuS: number;
}

/** Console lines bracketing the benchmark, for the host CPU time it used. */
const CPUBENCH_MARKS = { start: /cpubench: start/, total: /cpubench: total [^\n]*\n/ };

function parseCpubench(vm: string, r: CommandRun): CpuRun {
  const out = r.output.replace(/\r/g, '');
  const total = /cpubench: total ms=([\d.]+) checksum=([0-9a-f]+)/.exec(out);
  if (!total) {
    const tail = out.split('\n').slice(-15).join('\n    | ');
    throw new BenchError(
      `${vm}: cpubench did not finish (exit status ${r.exitCode})\n    | ${tail}`,
    );
  }
  const phaseMs: Record<string, number> = {};
  const phaseChecks: Record<string, string> = {};
  for (const m of out.matchAll(/cpubench: phase=(\w+) ms=([\d.]+) check=([0-9a-f]+)/g)) {
    phaseMs[m[1]!] = Number(m[2]);
    phaseChecks[m[1]!] = m[3]!;
  }
  const cmdline = /^(.*colinux\.cmd=\S+.*)$/m.exec(out);
  return {
    totalMs: Number(total[1]),
    checksum: total[2]!,
    phaseMs,
    phaseChecks,
    guestCmdline: cmdline?.[1]?.trim(),
    wallMs: r.wallMs,
    hostCpuS: r.marks.start && r.marks.total ? r.marks.total.cpuS - r.marks.start.cpuS : Number.NaN,
  };
}

function describeCounters(label: string, c: RunCounters): string {
  const s = c.wallMs / 1000;
  const corePct = (c.coreMs / c.wallMs) * 100;
  const exits = Object.entries(c.exits)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const rate =
    c.instructions / s < 1e6
      ? `${(c.instructions / s / 1e3).toFixed(1)} k instructions/s`
      : `${(c.instructions / 1e6 / s).toFixed(1)} MIPS`;
  return (
    `  ${label}: ${(c.instructions / 1e6).toFixed(1)} M guest instructions in ${s.toFixed(2)} s = ${rate}; ` +
    `wasm core running ${corePct.toFixed(corePct < 1 ? 2 : 0)}% of the wall time; ` +
    `${c.mmio} MMIO accesses, ${c.timeReads} host clock reads; run() returns: ${exits || 'none'}`
  );
}

/**
 * Per-phase guest instruction counts (from the in-process run) against the
 * timed medians of both VMs: the speed each VM ran each phase at. QEMU's
 * figure assumes it retires the same instructions (same binary, same input;
 * only the kernel's share, timer ticks, may differ slightly).
 */
function phaseSpeedTable(
  profile: ProfileResult,
  cpu: Record<'colinux' | 'qemu', CpuRun[]>,
): string {
  const rows: string[][] = [
    ['cpubench phase', 'guest instr (M)', 'colinux MIPS', 'qemu MIPS (est.)'],
  ];
  const med = (vm: 'colinux' | 'qemu', p: string): number =>
    median(cpu[vm].map((r) => r.phaseMs[p] ?? NaN));
  const add = (name: string, ins: number, cMs: number, qMs: number): void => {
    rows.push([
      name,
      (ins / 1e6).toFixed(0),
      (ins / 1e3 / cMs).toFixed(0),
      (ins / 1e3 / qMs).toFixed(0),
    ]);
  };
  for (const p of PHASES) {
    const c = profile.cpubenchPhases[p];
    if (c) add(p, c.instructions, med('colinux', p), med('qemu', p));
  }
  add(
    'total',
    profile.cpubench.instructions,
    median(cpu.colinux.map((r) => r.totalMs)),
    median(cpu.qemu.map((r) => r.totalMs)),
  );
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map(
      (r) =>
        '  ' +
        r
          .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
          .join(' | '),
    )
    .join('\n');
}

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`bench: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    throw e;
  }
  let status = opts.only.has('core') ? await core(opts) : 0;
  for (const part of ['snapshot', 'blk', 'cofs', 'debian'] as const) {
    if (opts.only.has(part)) status = Math.max(status, await runPart(part, opts));
  }
  return status;
}

/** bench/snapshot.ts, blk.ts, cofs.ts or debian.ts as a child process, its table on our stdout. */
function runPart(part: 'snapshot' | 'blk' | 'cofs' | 'debian', opts: Options): Promise<number> {
  const script = join(repoRoot(), 'dist', 'bench', `${part}.js`);
  // One Debian build takes many minutes: once with the JIT and once without.
  const args =
    part === 'debian' ? [script, '--jit', 'both'] : [script, '--runs', String(opts.runs)];
  if (opts.json !== undefined)
    args.push('--json', opts.json.replace(/(\.json)?$/, `-${part}.json`));
  log(`${part}: node ${args.join(' ')}`);
  return new Promise((resolvePart, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => resolvePart(code ?? 1));
  });
}

/** Boot, idle, cpubench and TCP throughput, colinux and QEMU side by side. */
async function core(opts: Options): Promise<number> {
  const root = repoRoot();
  await ensureBenchTools();
  const tools = checkHostTools(root);
  log(`${tools.qemuVersion}; ${tools.gccVersion}; node ${tools.nodeVersion}`);

  let kernel: string;
  let baseInitrd: string;
  if (opts.kernel !== undefined && opts.initrd !== undefined) {
    kernel = opts.kernel;
    baseInitrd = opts.initrd;
    for (const [what, path] of [
      ['--kernel', kernel],
      ['--initrd', baseInitrd],
    ] as const) {
      if (!existsSync(path)) throw new BenchError(`${what} ${path}: no such file`);
    }
  } else {
    log('default image (built on first use, a few minutes)…');
    try {
      const img = await ensureDefaultImage({ onProgress: (l) => log(l) });
      kernel = img.kernel;
      baseInitrd = img.initrd;
    } catch (e) {
      throw new BenchError(`the default guest image could not be built: ${(e as Error).message}`);
    }
  }
  log(`kernel ${kernel}`);
  log(`initrd ${baseInitrd}`);

  const work = mkdtempSync(join(tmpdir(), 'colinux-bench-'));
  const loadStart = loadavg()[0]!;
  let ok = false;
  try {
    const cpubench = buildCpubench(root, work);
    const initrd = join(work, 'initrd-bench.cpio');
    const initrdBytes = writeCombinedInitrd(baseInitrd, cpubench, initrd);
    log(`combined initrd: ${(initrdBytes / 1024).toFixed(0)} KiB (${initrd})`);

    const shellCmdline = DEFAULT_KERNEL_ARGS.join(' ');
    const cmdCmdline = commandCmdline(DEFAULT_KERNEL_ARGS.join(' '), GUEST_CMD);

    const colinux = (extra: string[]): VmCommand => ({
      name: 'colinux',
      file: process.execPath,
      args: [
        tools.colinuxCli,
        'run',
        `kernel=${kernel}`,
        `initrd=${initrd}`,
        `mem=${MEM_MIB}`,
        // The same board as QEMU's (-nic none); net.ts adds a card to both.
        'eth0=none',
        ...(opts.jit ? [] : ['jit=off']),
        ...extra,
      ],
    });
    const qemu = (append: string): VmCommand => ({
      name: 'qemu',
      file: QEMU,
      args: [
        ...qemuVirtArgs(MEM_MIB),
        ...['-nic', 'none'],
        ...['-kernel', kernel, '-initrd', initrd, '-append', append],
      ],
    });

    // 1. Boot, idle, memory, power-off.
    const boots: Record<'colinux' | 'qemu', BootRun[]> = { colinux: [], qemu: [] };
    // The idle window starts 10 s after the prompt: the boot's tail (deferred work, the
    // first timers) has died down in both guests by then.
    const bootOpts = { idleSeconds: opts.idleSeconds, settleMs: 10_000, bootTimeoutMs: 600_000 };
    for (let i = 1; i <= opts.runs; i++) {
      for (const cmd of [colinux([]), qemu(shellCmdline)]) {
        log(
          `[boot ${i}/${opts.runs}] ${cmd.name}: boot to prompt, ${opts.idleSeconds} s idle, poweroff…`,
        );
        const r = await measureBoot(cmd, bootOpts);
        boots[cmd.name as 'colinux' | 'qemu'].push(r);
        log(
          `[boot ${i}/${opts.runs}] ${cmd.name}: prompt after ${secs(r.bootMs)}, idle CPU ${r.idleCpuPercent.toFixed(1)}%, ` +
            `peak RSS ${mib(r.peakRssBytes).toFixed(0)} MiB, poweroff ${secs(r.poweroffMs)}`,
        );
      }
    }

    // 2. The CPU benchmark.
    const cpu: Record<'colinux' | 'qemu', CpuRun[]> = { colinux: [], qemu: [] };
    for (let i = 1; i <= opts.runs; i++) {
      for (const cmd of [colinux(['--cmd', GUEST_CMD]), qemu(cmdCmdline)]) {
        log(`[cpubench ${i}/${opts.runs}] ${cmd.name}: boot, run /bench/cpubench, power off…`);
        const r = parseCpubench(cmd.name, await runToExit(cmd, 1_800_000, CPUBENCH_MARKS));
        cpu[cmd.name as 'colinux' | 'qemu'].push(r);
        const phases = PHASES.map((p) => `${p} ${(r.phaseMs[p] ?? NaN).toFixed(0)}`).join(', ');
        log(
          `[cpubench ${i}/${opts.runs}] ${cmd.name}: ${secs(r.totalMs)} in the guest (${phases} ms), ` +
            `checksum ${r.checksum}, process ${secs(r.wallMs)}`,
        );
      }
    }

    // 4. Boot to power-off: a command that does nothing.
    const bootOff: Record<'colinux' | 'qemu', number[]> = { colinux: [], qemu: [] };
    const trueCmdline = commandCmdline(DEFAULT_KERNEL_ARGS.join(' '), 'true');
    for (let i = 1; i <= opts.runs; i++) {
      for (const cmd of [colinux(['--cmd', 'true']), qemu(trueCmdline)]) {
        const r = await runToExit(cmd, 600_000);
        if (r.exitCode !== 0)
          throw new BenchError(`${cmd.name}: --cmd true ended with status ${r.exitCode}`);
        bootOff[cmd.name as 'colinux' | 'qemu'].push(r.wallMs / 1000);
        log(`[boot-off ${i}/${opts.runs}] ${cmd.name}: boot, true, power off: ${secs(r.wallMs)}`);
      }
    }

    // Correctness: every run on both VMs must compute the same checksums.
    const problems: string[] = [];
    const all = [
      ...cpu.colinux.map((r) => ['colinux', r] as const),
      ...cpu.qemu.map((r) => ['qemu', r] as const),
    ];
    const ref = cpu.qemu[0]!;
    for (const [vm, r] of all) {
      if (r.checksum !== ref.checksum) {
        const bad = PHASES.filter((p) => r.phaseChecks[p] !== ref.phaseChecks[p]);
        problems.push(
          `CHECKSUM MISMATCH: ${vm} computed ${r.checksum}, qemu ${ref.checksum} (phases differing: ${bad.join(', ') || 'none'})`,
        );
      }
    }
    const cmdlines = new Set(all.map(([, r]) => r.guestCmdline ?? '(not printed)'));
    if (cmdlines.size !== 1) {
      problems.push(`the guests saw different kernel command lines: ${[...cmdlines].join(' / ')}`);
    }

    // TCP throughput through user-mode networking (bench/net.ts).
    const netRuns = await measureNet({
      runs: opts.runs,
      colinux: (guestCmd) => colinux(['eth0=slirp', '--cmd', guestCmd]),
      qemu: (guestCmd) =>
        withQemuUserNet(qemu(commandCmdline(DEFAULT_KERNEL_ARGS.join(' '), guestCmd))),
      log,
    });
    problems.push(...netRuns.problems);

    // 3. One in-process colinux run that counts instructions (not timed).
    let profile: ProfileResult | undefined;
    if (opts.profile) {
      log(
        'colinux inside view: one in-process boot + idle + cpubench, counting guest instructions…',
      );
      profile = await profileColinux({
        kernel: new Uint8Array(readFileSync(kernel)),
        initrd: new Uint8Array(readFileSync(initrd)),
        shellCmdline,
        cmdCmdline,
        phases: PHASES,
        idleSeconds: Math.min(opts.idleSeconds, 5),
        timeoutMs: 1_800_000,
        jit: opts.jit,
      });
    }

    const b = (vm: 'colinux' | 'qemu', f: (r: BootRun) => number): number[] => boots[vm].map(f);
    const c = (vm: 'colinux' | 'qemu', f: (r: CpuRun) => number): number[] => cpu[vm].map(f);
    const metrics: Metric[] = [
      metric(
        'boot to shell prompt',
        's',
        2,
        b('colinux', (r) => r.bootMs / 1000),
        b('qemu', (r) => r.bootMs / 1000),
      ),
      metric('boot, `true`, power off: spawn to exit', 's', 2, bootOff.colinux, bootOff.qemu),
      metric(
        'host CPU time to the prompt',
        's',
        2,
        b('colinux', (r) => r.bootCpuS),
        b('qemu', (r) => r.bootCpuS),
      ),
      metric(
        'cpubench total, in the guest',
        's',
        2,
        c('colinux', (r) => r.totalMs / 1000),
        c('qemu', (r) => r.totalMs / 1000),
      ),
      metric(
        'cpubench host CPU time of the VM process',
        's',
        2,
        c('colinux', (r) => r.hostCpuS),
        c('qemu', (r) => r.hostCpuS),
      ),
      ...PHASES.map((p) =>
        metric(
          `  cpubench ${p}`,
          'ms',
          0,
          c('colinux', (r) => r.phaseMs[p] ?? NaN),
          c('qemu', (r) => r.phaseMs[p] ?? NaN),
        ),
      ),
      metric(
        'cpubench process, spawn to exit',
        's',
        2,
        c('colinux', (r) => r.wallMs / 1000),
        c('qemu', (r) => r.wallMs / 1000),
      ),
      metric(
        `idle host CPU at the prompt, ${opts.idleSeconds} s window`,
        '% of a core',
        2,
        b('colinux', (r) => r.idleCpuPercent),
        b('qemu', (r) => r.idleCpuPercent),
      ),
      metric(
        'peak RSS at the idle prompt',
        'MiB',
        0,
        b('colinux', (r) => mib(r.peakRssBytes)),
        b('qemu', (r) => mib(r.peakRssBytes)),
      ),
      metric(
        'poweroff to process exit',
        's',
        2,
        b('colinux', (r) => r.poweroffMs / 1000),
        b('qemu', (r) => r.poweroffMs / 1000),
      ),
      ...netMetrics(netRuns),
    ];

    const out: string[] = [];
    out.push('');
    out.push(
      `colinux vs ${QEMU} -M virt (TCG, -bios default), same kernel + initrd + command line, ${MEM_MIB} MiB, ` +
        `median of ${opts.runs} run${opts.runs === 1 ? '' : 's'}:`,
    );
    out.push('');
    out.push(formatTable(metrics));
    const loadEnd = loadavg()[0]!;
    out.push('');
    out.push(
      `host: ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), 1-minute load average ${loadStart.toFixed(1)} ` +
        `at the start, ${loadEnd.toFixed(1)} at the end; other work on the host slows both VMs' wall times ` +
        '(the host CPU time rows are less sensitive to it).',
    );
    out.push('');
    out.push(
      'ratio = colinux / qemu: for times, CPU and memory lower is better, so a ratio above 1× means colinux is ' +
        'slower or heavier by that factor.',
    );
    out.push(
      `idle CPU is counted in clock ticks: one tick over the ${opts.idleSeconds} s window is ` +
        `${(100 / (ticksPerSecond() * opts.idleSeconds)).toFixed(2)}% of a core, so ratios of values that small are noise.`,
    );
    out.push(
      `cpubench checksum: ${ref.checksum} (${problems.some((p) => p.startsWith('CHECKSUM')) ? 'MISMATCH' : 'identical on every run of both VMs'})`,
    );
    if (profile) {
      out.push('');
      out.push(
        'colinux inside view (one extra in-process run, not part of the medians; a single run, so host load shows):',
      );
      out.push(describeCounters('boot to prompt', profile.boot));
      out.push(
        `    (the in-process boot, from the machine's creation, took ${(profile.boot.wallMs / 1000).toFixed(2)} s; ` +
          `the ${metrics[0]!.colinux.median.toFixed(2)} s median from spawning the CLI adds node start-up, ` +
          'module loading, wasm compilation and reading the image)',
      );
      out.push(describeCounters('idle at prompt', profile.idle));
      out.push(describeCounters('cpubench', profile.cpubench));
      const j = profile.jit;
      if (j) {
        out.push(
          `  JIT over the cpubench run: ${j.blocks} regions translated in ${j.modules} modules, ` +
            `${j.evictedBlocks} evicted (${j.evictedModules} modules); ${j.liveModules} modules live, ` +
            `${mib(j.cacheBytes).toFixed(1)} MiB of the cache budget; ` +
            `${((j.translated / j.instructions) * 100).toFixed(1)}% of ${(j.instructions / 1e6).toFixed(0)} M guest instructions ran translated, ` +
            `${(j.translated / Math.max(j.calls, 1)).toFixed(0)} per call into translated code`,
        );
      }
      out.push('');
      out.push(phaseSpeedTable(profile, cpu));
      out.push(
        "  (instructions counted by colinux; MIPS = those instructions / each VM's median phase time; " +
          "QEMU's figure assumes it retires the same instructions, true for the program itself)",
      );
    }
    process.stdout.write(out.join('\n') + '\n');
    for (const p of problems) process.stderr.write(`\nbench: *** ${p} ***\n`);

    if (opts.json !== undefined) {
      const result = {
        date: new Date().toISOString(),
        host: {
          node: process.version,
          qemu: tools.qemuVersion,
          gcc: tools.gccVersion,
          cpus: cpus().length,
          cpuModel: cpus()[0]?.model,
          loadAverage1m: { start: loadStart, end: loadEnd },
        },
        settings: {
          runs: opts.runs,
          idleSeconds: opts.idleSeconds,
          memMiB: MEM_MIB,
          kernel,
          initrd: baseInitrd,
          shellCmdline,
          cmdCmdline,
          guestCmd: GUEST_CMD,
          qemuArgs: qemu('<cmdline>').args,
        },
        metrics: metrics.map((m) => ({
          ...m,
          name: m.name.trim(),
          ratioText: formatRatio(m.ratio),
        })),
        checksum: { value: ref.checksum, match: !problems.some((p) => p.startsWith('CHECKSUM')) },
        runs: { boot: boots, cpubench: cpu },
        profile,
        problems,
      };
      mkdirSync(dirname(opts.json), { recursive: true });
      writeFileSync(opts.json, JSON.stringify(result, null, 2) + '\n');
      log(`results written to ${opts.json}`);
    }
    ok = problems.length === 0;
    return ok ? 0 : 1;
  } finally {
    if (opts.keep || !ok) log(`temporary files kept in ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof BenchError) process.stderr.write(`bench: ${e.message}\n`);
    else process.stderr.write(`bench: unexpected error: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);

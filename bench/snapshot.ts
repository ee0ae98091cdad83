/**
 * Suspend and resume benchmark: an idle default VM (256 MiB, at the shell
 * prompt) is saved to a file and continued from it, on colinux
 * (`colinux suspend NAME FILE`, `colinux resume FILE`) and on
 * qemu-system-riscv64 (monitor `migrate "exec:cat > FILE"`, then
 * `-incoming "exec:cat FILE"`), same kernel and initramfs.
 *
 *   node dist/bench/snapshot.js [--runs N] [--json PATH]
 *
 * Measured per run: suspend (the request to the VM process's exit), the
 * file's size, and resume (spawn to the answer of a command typed at the
 * resumed shell).
 * Figures, never pass/fail.
 */
import { spawnSync } from 'node:child_process';
import * as net from 'node:net';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDefaultImage } from '../src/backends/image/index.js';
import { DEFAULT_KERNEL_ARGS } from '../src/vm.js';
import { atPrompt, BenchError, GuestProcess, type VmCommand } from './guest.js';
import { benchMain, parseBenchArgs } from './cli.js';
import { formatTable, metric } from './report.js';
import { ensureBenchTools, QEMU, qemuVirtArgs, repoRoot } from './setup.js';

const MEM_MIB = 256;
const ANSWER = /resumed-42/;
const QUESTION = 'echo resumed-$((6*7))\n';

interface Options {
  runs: number;
  json?: string;
}

interface Run {
  suspendMs: number;
  fileMB: number;
  resumeMs: number;
}

const log = (s: string): void => void process.stderr.write(`bench: ${s}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Boot to the prompt and let the guest settle. */
async function bootIdle(cmd: VmCommand): Promise<GuestProcess> {
  const g = new GuestProcess(cmd);
  await g.waitFor(atPrompt, 'shell prompt', 600_000);
  await sleep(1000);
  return g;
}

/**
 * Spawn the resumed VM, type a command, and time its answer; then power off.
 * The command is typed again every 50 ms until the answer comes: QEMU drops
 * serial input that arrives while it is still loading the state.
 */
async function timeResume(cmd: VmCommand): Promise<number> {
  const g = new GuestProcess(cmd);
  const typing = setInterval(() => g.write(QUESTION), 50);
  try {
    g.write(QUESTION);
    const ms = await g.waitFor((out) => ANSWER.test(out), 'the resumed guest to answer', 120_000);
    clearInterval(typing);
    g.write('poweroff\n');
    await g.waitExit(60_000);
    return ms;
  } finally {
    clearInterval(typing);
    g.kill();
  }
}

async function colinuxRun(cli: string, base: string[], file: string, name: string): Promise<Run> {
  const g = await bootIdle({
    name: 'colinux',
    file: process.execPath,
    args: [cli, 'run', '--name', name, ...base],
  });
  try {
    const t0 = performance.now();
    const s = spawnSync(process.execPath, [cli, 'suspend', name, file], { encoding: 'utf8' });
    if (s.status !== 0) throw new BenchError(`colinux suspend failed: ${s.stderr}`);
    await g.waitExit(60_000);
    const suspendMs = performance.now() - t0;
    const resumeMs = await timeResume({
      name: 'colinux',
      file: process.execPath,
      args: [cli, 'resume', file, '--name', name],
    });
    return { suspendMs, fileMB: statSync(file).size / 1e6, resumeMs };
  } finally {
    g.kill();
  }
}

/** One HMP command over the monitor socket; resolves with what the monitor printed after it. */
function hmp(sock: net.Socket, line: string, until: RegExp, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const timer = setTimeout(() => {
      sock.off('data', onData);
      reject(new BenchError(`qemu monitor: no ${until} after "${line}":\n${got}`));
    }, timeoutMs);
    const onData = (d: Buffer): void => {
      got += d.toString('latin1');
      if (until.test(got)) {
        clearTimeout(timer);
        sock.off('data', onData);
        resolve(got);
      }
    };
    sock.on('data', onData);
    sock.write(`${line}\n`);
  });
}

async function qemuRun(base: string[], file: string, work: string): Promise<Run> {
  const monitor = join(work, 'qemu-monitor.sock');
  const g = await bootIdle({
    name: 'qemu',
    file: QEMU,
    args: [
      ...base,
      ...['-chardev', `socket,id=mon0,path=${monitor},server=on,wait=off`],
      ...['-mon', 'chardev=mon0,mode=readline'],
    ],
  });
  try {
    const sock = net.connect(monitor);
    await new Promise<void>((resolve, reject) =>
      sock.once('connect', resolve).once('error', reject),
    );
    await hmp(sock, '', /\(qemu\) $/);
    const t0 = performance.now();
    await hmp(sock, `migrate "exec:cat > ${file}"`, /\(qemu\) $/);
    for (;;) {
      const info = await hmp(sock, 'info migrate', /\(qemu\) $/);
      if (/Migration status: completed/.test(info)) break;
      if (/Migration status: failed/.test(info))
        throw new BenchError(`qemu migration failed:\n${info}`);
      await sleep(20);
    }
    sock.write('quit\n');
    await g.waitExit(60_000);
    const suspendMs = performance.now() - t0;
    sock.destroy();
    const resumeMs = await timeResume({
      name: 'qemu',
      file: QEMU,
      args: [...base, '-incoming', `exec:cat ${file}`],
    });
    return { suspendMs, fileMB: statSync(file).size / 1e6, resumeMs };
  } finally {
    g.kill();
  }
}

async function main(): Promise<number> {
  const opts = parseBenchArgs<Options>(
    process.argv.slice(2),
    { runs: 3 },
    { '--runs': 'runs' },
    { '--json': 'json' },
  );
  await ensureBenchTools();
  const image = await ensureDefaultImage({ onProgress: log });
  const cli = join(repoRoot(), 'dist', 'src', 'cli', 'colinux.js');
  const work = mkdtempSync(join(tmpdir(), 'colinux-snap-bench-'));
  const results: Record<'colinux' | 'qemu', Run[]> = { colinux: [], qemu: [] };
  try {
    for (let i = 1; i <= opts.runs; i++) {
      const c = await colinuxRun(
        cli,
        [`kernel=${image.kernel}`, `initrd=${image.initrd}`, `mem=${MEM_MIB}`, 'eth0=none'],
        join(work, `colinux-${i}.snap`),
        `bench-snap-${process.pid}`,
      );
      results.colinux.push(c);
      log(
        `[${i}/${opts.runs}] colinux: suspend ${c.suspendMs.toFixed(0)} ms, ${c.fileMB.toFixed(1)} MB, resume ${c.resumeMs.toFixed(0)} ms`,
      );
      const q = await qemuRun(
        [
          ...qemuVirtArgs(MEM_MIB),
          ...['-nic', 'none'],
          ...['-kernel', image.kernel, '-initrd', image.initrd],
          ...['-append', DEFAULT_KERNEL_ARGS.join(' ')],
        ],
        join(work, `qemu-${i}.mig`),
        work,
      );
      results.qemu.push(q);
      log(
        `[${i}/${opts.runs}] qemu: suspend ${q.suspendMs.toFixed(0)} ms, ${q.fileMB.toFixed(1)} MB, resume ${q.resumeMs.toFixed(0)} ms`,
      );
    }
    const pick = (f: (r: Run) => number): [number[], number[]] => [
      results.colinux.map(f),
      results.qemu.map(f),
    ];
    const metrics = [
      metric('suspend: request to process exit', 's', 2, ...pick((r) => r.suspendMs / 1000)),
      metric('state file size', 'MB', 1, ...pick((r) => r.fileMB)),
      metric(
        'resume: spawn to the answer of a typed command',
        's',
        2,
        ...pick((r) => r.resumeMs / 1000),
      ),
    ];
    process.stdout.write(
      `snapshot: idle default VM at the shell prompt, ${MEM_MIB} MiB; colinux suspend/resume vs ${QEMU} ` +
        `migrate to a file / -incoming; medians of ${opts.runs} runs\n\n${formatTable(metrics)}\n`,
    );
    if (opts.json) writeFileSync(opts.json, JSON.stringify({ opts, metrics }, null, 2) + '\n');
    return 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

benchMain(main);

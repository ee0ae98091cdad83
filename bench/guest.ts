/**
 * Drive one VM (colinux or QEMU) as a child process with piped stdio and
 * take the host-side measurements: time to the shell prompt, CPU time and
 * peak RSS of the process while the guest idles, output of a command run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface VmCommand {
  /** "colinux" or "qemu". */
  name: string;
  file: string;
  args: string[];
}

export class BenchError extends Error {}

let clkTck: number | undefined;

/** Clock ticks per second of /proc/PID/stat times. */
export function ticksPerSecond(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    } catch {
      clkTck = NaN;
    }
    if (!Number.isFinite(clkTck) || clkTck <= 0) clkTck = 100;
  }
  return clkTck;
}

/** User + system CPU time of a process (all its threads), in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return (utime + stime) / ticksPerSecond();
}

/** A "Vm…:  N kB" line of /proc/PID/status, in bytes. */
export function statusBytes(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status);
  if (!m) throw new BenchError(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The last line Linux prints for a panic; a panicked guest never gets further. */
const PANIC_END = /---\[ end Kernel panic[^\n]*/;

/** VM processes still running, killed if the bench itself is interrupted. */
const live = new Set<GuestProcess>();

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    for (const g of live) g.kill();
    process.stderr.write(`\nbench: interrupted (${sig})\n`);
    process.exit(130);
  });
}

/** A running VM process and the console text it printed so far. */
export class GuestProcess {
  readonly child: ChildProcess;
  readonly started: number;
  output = '';
  stderr = '';
  private exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** The end-of-panic line, once the guest kernel panicked. */
  panic: string | undefined;
  private waiters: Array<() => void> = [];

  constructor(readonly cmd: VmCommand) {
    this.started = performance.now();
    this.child = spawn(cmd.file, cmd.args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('latin1');
    this.child.stderr!.setEncoding('latin1');
    live.add(this);
    this.child.stdout!.on('data', (s: string) => {
      this.output += s;
      if (this.panic === undefined) {
        const m = PANIC_END.exec(this.output);
        if (m) this.panic = m[0];
      }
      this.notify();
    });
    this.child.stderr!.on('data', (s: string) => {
      this.stderr += s;
    });
    this.child.stdin!.on('error', () => undefined);
    this.exited = new Promise((resolve) => {
      this.child.on('error', (e) => {
        live.delete(this);
        this.stderr += `\nspawn error: ${e.message}\n`;
        this.exitInfo = { code: null, signal: null };
        resolve(this.exitInfo);
        this.notify();
      });
      this.child.on('exit', (code, signal) => {
        live.delete(this);
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
        this.notify();
      });
    });
  }

  get pid(): number {
    const pid = this.child.pid;
    if (pid === undefined) throw new BenchError(`${this.cmd.name}: the process did not start`);
    return pid;
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /**
   * Wait until `test(output)` holds; returns the time (ms since spawn) at
   * which it first held. Throws if the process exits first or on timeout.
   */
  async waitFor(
    test: (output: string) => boolean,
    what: string,
    timeoutMs: number,
  ): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (test(this.output)) return performance.now() - this.started;
      if (this.panic !== undefined)
        throw new BenchError(`${this.cmd.name}: guest kernel panic before ${what}${this.tail()}`);
      if (this.exitInfo) {
        throw new BenchError(
          `${this.cmd.name} exited (${describeExit(this.exitInfo)}) before ${what}${this.tail()}`,
        );
      }
      const left = deadline - performance.now();
      if (left <= 0)
        throw new BenchError(
          `${this.cmd.name}: no ${what} after ${Math.round(timeoutMs / 1000)} s${this.tail()}`,
        );
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, left);
        const waiters = this.waiters;
        function done(): void {
          clearTimeout(t);
          resolve();
        }
        waiters.push(done);
      });
    }
  }

  write(text: string): void {
    this.child.stdin!.write(text);
  }

  /**
   * Wait for the process to exit; kill it (SIGKILL) after `timeoutMs`, or
   * once the guest kernel panicked (a panicked guest may hang forever).
   */
  async waitExit(
    timeoutMs: number,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null; killed: boolean }> {
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      this.kill();
    }, timeoutMs);
    const onPanic = (): void => {
      if (this.panic !== undefined && !this.exitInfo) {
        // Give the host a moment to exit by itself (colinux reports panics), then stop it.
        setTimeout(() => this.kill(), 3000);
      } else if (!this.exitInfo) this.waiters.push(onPanic);
    };
    onPanic();
    const info = await this.exited;
    clearTimeout(timer);
    return { ...info, killed };
  }

  /** Stop the process at once (no-op if it already exited). */
  kill(): void {
    if (!this.exitInfo && this.child.pid !== undefined) {
      try {
        this.child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  /** The last lines of console and error output, for error messages. */
  tail(lines = 15): string {
    const pick = (s: string): string =>
      s
        .replace(/\r/g, '')
        .split('\n')
        .slice(-lines)
        .map((l) => `    | ${l}`)
        .join('\n');
    let t = '';
    if (this.output.trim() !== '') t += `\n  console (last lines):\n${pick(this.output)}`;
    if (this.stderr.trim() !== '') t += `\n  stderr (last lines):\n${pick(this.stderr)}`;
    return t;
  }
}

function describeExit(e: { code: number | null; signal: NodeJS.Signals | null }): string {
  if (e.signal) return `signal ${e.signal}`;
  return e.code === null ? 'could not start' : `status ${e.code}`;
}

/** The login banner the default image's console job prints before the shell. */
const BANNER = 'colinux: root shell on';

/**
 * True once the shell prompt ("…# ") follows the banner at the end of the
 * output. Busybox's line editor may send terminal queries (ESC [ 6 n) right
 * after the prompt; those are ignored.
 */
export function atPrompt(output: string): boolean {
  const i = output.lastIndexOf(BANNER);
  if (i < 0) return false;
  // eslint-disable-next-line no-control-regex
  return /# (?:\x1b\[[0-9;?]*[A-Za-z])*$/.test(output.slice(i));
}

export interface BootRun {
  /** Spawn to shell prompt, ms. */
  bootMs: number;
  /** CPU use while idle at the prompt, percent of one core. */
  idleCpuPercent: number;
  /** Length of the idle window actually sampled, s. */
  idleWindowS: number;
  /** CPU time used from spawn to the prompt, s. */
  bootCpuS: number;
  /** Peak resident set size (VmHWM) at the idle prompt, bytes. */
  peakRssBytes: number;
  /** Resident set size (VmRSS) at the idle prompt, bytes. */
  rssBytes: number;
  /** From writing "poweroff" to process exit, ms. */
  poweroffMs: number;
}

export interface BootOptions {
  idleSeconds: number;
  /** Wait this long at the prompt before the idle window starts. */
  settleMs: number;
  bootTimeoutMs: number;
}

/** Boot to the prompt, idle, read CPU and memory figures, power off. */
export async function measureBoot(cmd: VmCommand, opts: BootOptions): Promise<BootRun> {
  const g = new GuestProcess(cmd);
  try {
    const bootMs = await g.waitFor(atPrompt, 'shell prompt', opts.bootTimeoutMs);
    const pid = g.pid;
    const bootCpuS = cpuSeconds(pid);
    await sleep(opts.settleMs);
    const c0 = cpuSeconds(pid);
    const t0 = performance.now();
    await sleep(opts.idleSeconds * 1000);
    const c1 = cpuSeconds(pid);
    const t1 = performance.now();
    const peakRssBytes = statusBytes(pid, 'VmHWM');
    const rssBytes = statusBytes(pid, 'VmRSS');
    if (g.exitInfo) throw new BenchError(`${cmd.name} exited while idle at the prompt${g.tail()}`);
    const windowS = (t1 - t0) / 1000;
    const p0 = performance.now();
    g.write('poweroff\n');
    const exit = await g.waitExit(60_000);
    const poweroffMs = performance.now() - p0;
    if (exit.killed)
      throw new BenchError(`${cmd.name} did not exit within 60 s of "poweroff"${g.tail()}`);
    return {
      bootMs,
      bootCpuS,
      idleCpuPercent: ((c1 - c0) / windowS) * 100,
      idleWindowS: windowS,
      peakRssBytes,
      rssBytes,
      poweroffMs,
    };
  } finally {
    g.kill();
  }
}

export interface CommandRun {
  /** Everything the guest printed on the console. */
  output: string;
  /** Spawn to process exit, ms. */
  wallMs: number;
  /** Process exit status. */
  exitCode: number | null;
  /** The status from the "colinux-exit-status:N" marker, if printed. */
  markerStatus: number | undefined;
  /** For each mark that appeared: when (ms since spawn) and the process's CPU time then (s). */
  marks: Record<string, { ms: number; cpuS: number }>;
}

/**
 * Run the VM until it exits by itself (a command-mode boot), with a safety
 * timeout. `marks`: patterns to watch for in the console output; the first
 * time each matches, the time and the process's CPU time are recorded.
 */
export async function runToExit(
  cmd: VmCommand,
  timeoutMs: number,
  marks: Record<string, RegExp> = {},
): Promise<CommandRun> {
  const g = new GuestProcess(cmd);
  const seen: Record<string, { ms: number; cpuS: number }> = {};
  g.child.stdout!.on('data', () => {
    for (const [name, re] of Object.entries(marks)) {
      if (seen[name] === undefined && re.test(g.output)) {
        try {
          seen[name] = { ms: performance.now() - g.started, cpuS: cpuSeconds(g.pid) };
        } catch {
          // the process is already gone; the mark stays unrecorded
        }
      }
    }
  });
  try {
    const exit = await g.waitExit(timeoutMs);
    const wallMs = performance.now() - g.started;
    if (g.panic !== undefined) throw new BenchError(`${cmd.name}: guest kernel panic${g.tail()}`);
    if (exit.killed)
      throw new BenchError(
        `${cmd.name}: still running after ${Math.round(timeoutMs / 1000)} s, killed${g.tail()}`,
      );
    if (exit.code === null && exit.signal === null)
      throw new BenchError(`${cmd.name}: could not start${g.tail()}`);
    const m = /\ncolinux-exit-status:(\d+)\r?\n/.exec(g.output);
    return {
      output: g.output,
      wallMs,
      exitCode: exit.code,
      markerStatus: m ? Number(m[1]) : undefined,
      marks: seen,
    };
  } catch (e) {
    if (e instanceof BenchError) throw e;
    throw new BenchError(`${cmd.name}: ${(e as Error).message}${g.tail()}`);
  } finally {
    g.kill();
  }
}

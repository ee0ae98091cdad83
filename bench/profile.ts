/**
 * An in-process colinux run (one pass, not part of the timed medians) that
 * looks inside: guest instructions retired, how much of the wall time the
 * wasm core runs versus the host-side loop, run() exits by reason, MMIO
 * accesses and guest time reads. QEMU cannot be looked into like this, so
 * these figures are colinux-only.
 */
import { Machine } from '../src/machine/machine.js';
import type { JitStats } from '../src/jit/jit.js';
import { atPrompt, BenchError } from './guest.js';

export interface RunCounters {
  /** Host wall time of the window, ms. */
  wallMs: number;
  /** Guest instructions retired in the window. */
  instructions: number;
  /** Time spent inside the wasm core's run(), ms. */
  coreMs: number;
  /** run() calls, by exit reason. */
  exits: Record<string, number>;
  /** Device register reads + writes. */
  mmio: number;
  /** Guest reads of the time source (calls into the host clock). */
  timeReads: number;
}

/** The JIT's counters at the end of the cpubench run. */
export interface JitCounters extends JitStats {
  /** Guest instructions retired by translated code, of `instructions` in all. */
  translated: number;
  /** Calls from the interpreter loop into translated code. */
  calls: number;
  instructions: number;
}

export interface ProfileResult {
  /** Present when the JIT was on. */
  jit?: JitCounters;
  boot: RunCounters;
  idle: RunCounters;
  cpubench: RunCounters;
  /** Each cpubench phase (between the output lines that bracket it). */
  cpubenchPhases: Record<string, RunCounters>;
}

const EXIT_NAMES = ['budget', 'wfi', 'ecall', 'htif', 'requested', 'machineTrap'];

/** Counts what a Machine does; `snapshot()` returns totals since creation. */
class Probe {
  private coreMs = 0;
  private mmio = 0;
  private timeReads = 0;
  private readonly exits: number[] = EXIT_NAMES.map(() => 0);

  constructor(readonly m: Machine) {
    const hart = m.hart;
    const run = hart.run.bind(hart);
    hart.run = (budget: number) => {
      const t = performance.now();
      const r = run(budget);
      this.coreMs += performance.now() - t;
      this.exits[r] = (this.exits[r] ?? 0) + 1;
      return r;
    };
    const bus = m.board.bus;
    const read = bus.read.bind(bus);
    const write = bus.write.bind(bus);
    bus.read = (addr, width) => {
      this.mmio++;
      return read(addr, width);
    };
    bus.write = (addr, width, value) => {
      this.mmio++;
      return write(addr, width, value);
    };
    // The core asks the machine for the time through its (private) ticks().
    const mm = m as unknown as { ticks?: () => number };
    if (typeof mm.ticks === 'function') {
      const ticks = mm.ticks.bind(m);
      mm.ticks = () => {
        this.timeReads++;
        return ticks();
      };
    }
  }

  snapshot(): RunCounters {
    const exits: Record<string, number> = {};
    EXIT_NAMES.forEach((n, i) => (exits[n] = this.exits[i] ?? 0));
    return {
      wallMs: performance.now(),
      instructions: Number(this.m.hart.x.getInstret()),
      coreMs: this.coreMs,
      exits,
      mmio: this.mmio,
      timeReads: this.timeReads,
    };
  }
}

function delta(a: RunCounters, b: RunCounters): RunCounters {
  const exits: Record<string, number> = {};
  for (const k of Object.keys(b.exits)) exits[k] = (b.exits[k] ?? 0) - (a.exits[k] ?? 0);
  return {
    wallMs: b.wallMs - a.wallMs,
    instructions: b.instructions - a.instructions,
    coreMs: b.coreMs - a.coreMs,
    exits,
    mmio: b.mmio - a.mmio,
    timeReads: b.timeReads - a.timeReads,
  };
}

const text = new TextDecoder('latin1');

interface Session {
  m: Machine;
  probe: Probe;
  output: () => string;
  /** Resolves when `test(output)` first holds, with a snapshot taken then. */
  when: (test: (out: string) => boolean) => Promise<RunCounters>;
  start: RunCounters;
}

function session(kernel: Uint8Array, initrd: Uint8Array, cmdline: string, jit: boolean): Session {
  let out = '';
  const pending: Array<{ test: (o: string) => boolean; resolve: (c: RunCounters) => void }> = [];
  // eslint-disable-next-line prefer-const
  let probe: Probe;
  const m = new Machine({
    memMiB: 256,
    kernel,
    initrd,
    cmdline,
    jit,
    onOutput: (bytes) => {
      out += text.decode(bytes);
      for (let i = 0; i < pending.length;) {
        const p = pending[i]!;
        if (p.test(out)) {
          pending.splice(i, 1);
          p.resolve(probe.snapshot());
        } else i++;
      }
    },
  });
  probe = new Probe(m);
  const start = probe.snapshot();
  return {
    m,
    probe,
    start,
    output: () => out,
    when: (test) =>
      new Promise((resolve) => {
        if (test(out)) resolve(probe.snapshot());
        else pending.push({ test, resolve });
      }),
  };
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string, s: Session): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      s.m.stop('stopped');
      reject(new BenchError(`colinux profile: no ${what} after ${Math.round(ms / 1000)} s`));
    }, ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Boot to the prompt (counters for the boot), idle `idleSeconds` (counters
 * for idle), power off; then boot `cmdCmdline` (a command-mode line running
 * /bench/cpubench) and count between its start and total lines.
 */
export async function profileColinux(opts: {
  kernel: Uint8Array;
  initrd: Uint8Array;
  shellCmdline: string;
  cmdCmdline: string;
  /** cpubench's phase names, in the order it runs them. */
  phases: readonly string[];
  idleSeconds: number;
  timeoutMs: number;
  /** Translate hot code to wasm, as `colinux run` does by default. */
  jit: boolean;
}): Promise<ProfileResult> {
  const phases = opts.phases;
  // 1. Boot and idle.
  const a = session(opts.kernel, opts.initrd, opts.shellCmdline, opts.jit);
  const runA = a.m.run();
  const prompt = await withTimeout(
    Promise.race([
      a.when(atPrompt),
      runA.then(() =>
        Promise.reject(new BenchError('colinux profile: the VM stopped before the prompt')),
      ),
    ]),
    opts.timeoutMs,
    'shell prompt',
    a,
  );
  const idle0 = a.probe.snapshot();
  await new Promise((r) => setTimeout(r, opts.idleSeconds * 1000));
  const idle1 = a.probe.snapshot();
  a.m.sendInput('poweroff\n');
  const exitA = await withTimeout(runA, 60_000, 'power-off', a);
  if (exitA.reason !== 'poweroff')
    throw new BenchError(`colinux profile: boot run ended with ${exitA.reason}`);

  // 2. The CPU benchmark.
  const b = session(opts.kernel, opts.initrd, opts.cmdCmdline, opts.jit);
  const runB = b.m.run();
  const started = b.when((o) => o.includes('cpubench: start'));
  const phaseEnds = phases.map((name) =>
    b.when((o) => new RegExp(`cpubench: phase=${name} [^\\n]*\\n`).test(o)),
  );
  const done = b.when((o) => /cpubench: total [^\n]*\n/.test(o));
  const exitB = await withTimeout(runB, opts.timeoutMs, 'end of cpubench', b);
  if (exitB.reason !== 'poweroff')
    throw new BenchError(`colinux profile: cpubench run ended with ${exitB.reason}`);
  if (!/cpubench: total/.test(b.output()))
    throw new BenchError('colinux profile: cpubench did not finish');

  const cpubenchPhases: Record<string, RunCounters> = {};
  let prev = await started;
  for (let i = 0; i < phases.length; i++) {
    const end = await phaseEnds[i]!;
    cpubenchPhases[phases[i]!] = delta(prev, end);
    prev = end;
  }
  const jit = b.m.hart.jit;
  return {
    jit: jit && {
      ...jit.stats,
      translated: Number(jit.instructions),
      calls: Number(jit.calls),
      instructions: Number(b.m.hart.x.getInstret()),
    },
    boot: delta(a.start, prompt),
    idle: delta(idle0, idle1),
    cpubench: delta(await started, await done),
    cpubenchPhases,
  };
}

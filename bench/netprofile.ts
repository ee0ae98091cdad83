/**
 * A look inside one colinux network transfer (not a benchmark; a tool for
 * working on the network path): one in-process VM with `eth0=slirp`
 * downloads 50 MiB from a host HTTP server (busybox wget), then uploads
 * 50 MiB (nc), while this script counts what crosses virtio-net (frames each
 * way and their sizes, GSO frames, interrupts, driver kicks) and samples the
 * guest's program counter, resolved against the guest's /proc/kallsyms
 * (sent to the host first), so the guest's own hot spots show.
 *
 *   node dist/bench/netprofile.js [--mib N] [--top N] [--download-only]
 *                                 [--kernel PATH --initrd PATH]
 */
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import { Vm } from '../src/vm.js';
import { VirtioNet } from '../src/devices/virtio/net.js';
import { Virtqueue } from '../src/devices/virtio/virtqueue.js';
import { TcpConn } from '../src/net/tcp.js';
import { ensureDefaultImage } from '../src/backends/image/index.js';

interface Phase {
  name: string;
  t0: number;
  i0: number;
  wall: number;
  instr: number;
  samples: Map<string, number>;
  coreMs: number;
  runs: number;
  sleepMs: number;
  sleeps: number;
  cpu0: NodeJS.CpuUsage;
  cpuMs: number;
  shift: Map<string, number>;
  user: number;
  kernel: number;
  rxFrames: number;
  rxBytes: number;
  rxGso: number;
  rxSizes: Map<number, number>;
  txFrames: number;
  txBytes: number;
  rxIrqs: number;
  txIrqs: number;
  rxNotifyCalls: number;
  rxKicks: number;
  txKicks: number;
}

function newPhase(name: string, i0: number): Phase {
  return {
    name,
    t0: performance.now(),
    i0,
    wall: 0,
    instr: 0,
    samples: new Map(),
    coreMs: 0,
    runs: 0,
    sleepMs: 0,
    sleeps: 0,
    cpu0: process.cpuUsage(),
    cpuMs: 0,
    shift: new Map(),
    user: 0,
    kernel: 0,
    rxFrames: 0,
    rxBytes: 0,
    rxGso: 0,
    rxSizes: new Map(),
    txFrames: 0,
    txBytes: 0,
    rxIrqs: 0,
    txIrqs: 0,
    rxNotifyCalls: 0,
    rxKicks: 0,
    txKicks: 0,
  };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const mib = Number(arg('--mib') ?? 50);
  const top = Number(arg('--top') ?? 40);
  const bytes = mib * 1024 * 1024;
  // The web server runs in its own process, as in the benchmark.
  const server = spawn(
    process.execPath,
    [
      '-e',
      `const d = Buffer.alloc(${bytes}, 0x5a);
       const s = require('node:http').createServer((q, r) => {
         r.writeHead(200, { 'content-length': String(d.length) });
         r.end(d);
       });
       s.listen(0, '127.0.0.1', () => console.log(s.address().port));`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const webPort = await new Promise<number>((resolve) =>
    server.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim()))),
  );
  let syms: Array<[bigint, string]> = [];
  let shiftLo: bigint | undefined;
  let symText = '';
  let symDone!: () => void;
  const symsIn = new Promise<void>((r) => (symDone = r));
  const symSrv = net.createServer((s) => {
    s.setEncoding('latin1');
    s.on('data', (d: string) => (symText += d));
    s.on('end', () => {
      syms = symText
        .split('\n')
        .map((l) => l.split(' '))
        .filter((p) => p.length >= 3 && /^[tTwW]$/.test(p[1]!))
        .map((p): [bigint, string] => [BigInt('0x' + p[0]), p[2]!])
        .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      s.end();
      const c = syms.find(([, n]) => n === '__asm_copy_to_user');
      if (c) shiftLo = c[0] + 0x9cn;
      symDone();
    });
  });
  let upBytes = 0;
  const sink = net.createServer((s) => {
    s.on('data', (d) => (upBytes += d.length));
    s.on('end', () => s.end());
  });
  const listen = (srv: net.Server): Promise<number> =>
    new Promise((resolve) =>
      srv.listen(0, '127.0.0.1', () => resolve((srv.address() as net.AddressInfo).port)),
    );
  const symPort = await listen(symSrv);
  const sinkPort = await listen(sink);

  const kernelPath = arg('--kernel');
  const initrdPath = arg('--initrd');
  const img =
    kernelPath && initrdPath
      ? { kernel: kernelPath, initrd: initrdPath }
      : await ensureDefaultImage({});
  const cmd = [
    `nc 10.0.2.2 ${symPort} < /proc/kallsyms`,
    'echo ==down',
    `time wget -q -O /dev/null http://10.0.2.2:${webPort}/x`,
    ...(argv.includes('--download-only')
      ? ['echo ==end']
      : [
          'echo ==tmp',
          `wget -q -O /tmp/big http://10.0.2.2:${webPort}/x`,
          'echo ==up',
          `time nc 10.0.2.2 ${sinkPort} < /tmp/big`,
          'echo ==end',
        ]),
  ].join(' && ');
  const vm = await Vm.create({
    kernel: img.kernel,
    initrd: img.initrd,
    nics: [{ kind: 'slirp' }],
    cmd,
  });

  // Counters, attributed to the current phase.
  let phase: Phase | undefined;
  const phases: Phase[] = [];
  const machine = (
    vm as unknown as {
      machine: {
        hart: {
          run: (b: number) => number;
          x: { getPc(): bigint; getPriv(): number; getX(i: number): bigint; getInstret(): bigint };
        };
      };
    }
  ).machine;
  const hart = machine.hart;
  const mm = machine as unknown as { sleep: (ms: number) => Promise<void> };
  const origSleep = mm.sleep.bind(machine);
  mm.sleep = async (ms: number): Promise<void> => {
    const t = performance.now();
    ev(`sleep ${ms.toFixed(2)}`);
    try {
      await origSleep(ms);
    } finally {
      ev('wake');
      if (phase) {
        phase.sleepMs += performance.now() - t;
        phase.sleeps++;
      }
    }
  };
  const origRun = hart.run.bind(hart);
  const CHUNK = 5000;
  hart.run = (budget: number): number => {
    const tRun = performance.now();
    try {
      return sampledRun(budget);
    } finally {
      if (phase) {
        phase.coreMs += performance.now() - tRun;
        phase.runs++;
      }
    }
  };
  const sampledRun = (budget: number): number => {
    let left = budget;
    for (;;) {
      const n = Math.min(CHUNK, left);
      const r = origRun(n);
      const p = phase;
      if (p) {
        if (hart.x.getPriv() === 0) p.user++;
        else {
          p.kernel++;
          const pc = BigInt.asUintN(64, hart.x.getPc());
          if (shiftLo !== undefined && pc >= shiftLo && pc <= shiftLo + 0x12n) {
            const a3 = Number(hart.x.getX(13) & 7n);
            const t5 = Number(hart.x.getX(30) & 7n);
            const a1 = Number(hart.x.getX(11) & 0xfffn);
            const a0 = Number(hart.x.getX(10) & 0xfffn);
            const key = `a3=${a3} t5&7=${t5} src+${(a1 >> 9) * 512} dst+${(a0 >> 9) * 512}`;
            p.shift.set(key, (p.shift.get(key) ?? 0) + 1);
          }
          p.samples.set(pc.toString(16), (p.samples.get(pc.toString(16)) ?? 0) + 1);
        }
      }
      left -= n;
      if (r !== 0 || left <= 0) return r;
    }
  };
  const proto = VirtioNet.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const origDeliver = proto.deliver!;
  proto.deliver = function (this: unknown, ...a: unknown[]) {
    const f = a[0] as Uint8Array;
    if (phase) {
      phase.rxFrames++;
      phase.rxBytes += f.length;
      if (a[2]) phase.rxGso++;
      const b = Math.min(65536, Math.ceil(f.length / 4096) * 4096);
      phase.rxSizes.set(b, (phase.rxSizes.get(b) ?? 0) + 1);
    }
    return origDeliver.apply(this, a);
  };
  const origNotifyDev = proto.notify!;
  proto.notify = function (this: unknown, ...a: unknown[]) {
    const q = a[0] as Virtqueue;
    if (phase) {
      if (q.index === 0) phase.rxKicks++;
      else phase.txKicks++;
    }
    return origNotifyDev.apply(this, a);
  };
  const backend = (vm as unknown as { nicBackends: Array<{ transmit: (f: Uint8Array) => void }> })
    .nicBackends[0]!;
  const origTransmit = backend.transmit.bind(backend);
  backend.transmit = (f: Uint8Array) => {
    if (phase) {
      phase.txFrames++;
      phase.txBytes += f.length;
    }
    origTransmit(f);
  };
  const qproto = Virtqueue.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const origQNotify = qproto.notify!;
  qproto.notify = function (this: Virtqueue) {
    if (!phase) return origQNotify.apply(this);
    const host = (this as unknown as { host: { interrupt(): void } }).host;
    const origIrq = host.interrupt;
    let raised = false;
    host.interrupt = () => {
      raised = true;
      origIrq.call(host);
    };
    try {
      if (phase && this.index === 0) phase.rxNotifyCalls++;
      return origQNotify.apply(this);
    } finally {
      host.interrupt = origIrq;
      if (raised && phase) {
        if (this.index === 0) phase.rxIrqs++;
        else phase.txIrqs++;
      }
    }
  };

  // An event trace of the middle of the download (--trace).
  const trace: string[] = [];
  let traceFrom = Infinity;
  const ev = (what: string): void => {
    const t = performance.now();
    if (t >= traceFrom && t < traceFrom + 40) trace.push(`${(t - traceFrom).toFixed(3)} ${what}`);
  };
  if (argv.includes('--trace')) {
    const tp = TcpConn.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
    for (const name of ['onData', 'sendData', 'processAck', 'trySend']) {
      const orig = tp[name]!;
      tp[name] = function (this: Record<string, unknown>, ...a: unknown[]) {
        const detail =
          name === 'onData'
            ? `${(a[0] as Uint8Array).length}`
            : name === 'sendData'
              ? `n=${a[1]}`
              : name === 'processAck'
                ? `ack+${((a[0] as { ack: number }).ack - (this.sndUna as number)) | 0} win=${(a[0] as { window: number }).window}<<${this.sndShift} data=${(a[0] as { data: Uint8Array }).data.length}`
                : '';
        ev(
          `${name} ${detail} sendQ=${(this.sendQ as { length: number }).length} inflight=${((this.sndNxt as number) - (this.sndUna as number)) | 0} paused=${this.hostPaused}`,
        );
        return orig.apply(this, a);
      };
    }
  }
  let out = '';
  const startPhase = (name: string): void => {
    endPhase();
    phase = newPhase(name, Number(hart.x.getInstret()));
  };
  const endPhase = (): void => {
    if (!phase) return;
    phase.wall = performance.now() - phase.t0;
    const cu = process.cpuUsage(phase.cpu0);
    phase.cpuMs = (cu.user + cu.system) / 1000;
    phase.instr = Number(hart.x.getInstret()) - phase.i0;
    phases.push(phase);
    phase = undefined;
  };
  vm.onOutput((b) => {
    const s = Buffer.from(b).toString('latin1');
    out += s;
    process.stderr.write(s);
    if (/==down/.test(out) && !phases.length && !phase) {
      startPhase('download');
      if (argv.includes('--trace')) setTimeout(() => (traceFrom = performance.now()), 500);
    }
    if (/==tmp/.test(out) && phase?.name === 'download') startPhase('download-to-tmpfs');
    if (/==up/.test(out) && phase?.name === 'download-to-tmpfs') startPhase('upload');
    if (/==end/.test(out)) endPhase();
  });
  const exit = await vm.run();
  endPhase();
  await symsIn;
  server.kill();
  symSrv.close();
  sink.close();
  process.stderr.write(`\nexit ${exit.reason}; upload received ${upBytes} bytes\n`);
  process.stdout.write(`net stats: ${JSON.stringify(vm.netStats()[0])}\n`);

  const lookup = (pc: bigint): string => {
    let lo = 0;
    let hi = syms.length - 1;
    if (hi < 0 || pc < syms[0]![0]) return `?${pc.toString(16)}`;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (syms[mid]![0] <= pc) lo = mid;
      else hi = mid - 1;
    }
    return syms[lo]![1];
  };
  for (const p of phases) {
    const per = (n: number): string => (n / mib).toFixed(1);
    process.stdout.write(
      `\n== ${p.name} (${mib} MiB): ${(p.wall / 1000).toFixed(2)} s wall, ` +
        `${(p.instr / 1e6).toFixed(0)} M instructions (${(p.instr / (p.wall * 1e3)).toFixed(0)} MIPS), ` +
        `${per(p.instr / 1e6)} M instr/MiB; user ${((100 * p.user) / (p.user + p.kernel)).toFixed(1)}% of samples\n` +
        `  host: process CPU ${(p.cpuMs / 1000).toFixed(2)} s, in the wasm core ${(p.coreMs / 1000).toFixed(2)} s (${p.runs} run() calls), asleep ${(p.sleepMs / 1000).toFixed(2)} s (${p.sleeps} times)\n` +
        `  frames to guest ${p.rxFrames} (${per(p.rxFrames)}/MiB, avg ${(p.rxBytes / Math.max(1, p.rxFrames)).toFixed(0)} B, gso ${p.rxGso}), ` +
        `frames from guest ${p.txFrames} (${per(p.txFrames)}/MiB, avg ${(p.txBytes / Math.max(1, p.txFrames)).toFixed(0)} B)\n` +
        `  rx irqs ${p.rxIrqs} (${per(p.rxIrqs)}/MiB; notify calls ${p.rxNotifyCalls}), tx irqs ${p.txIrqs}, ` +
        `rx kicks ${p.rxKicks}, tx kicks ${p.txKicks} (${per(p.txKicks)}/MiB)\n` +
        `  rx frame sizes (≤KiB): ${[...p.rxSizes.entries()]
          .sort((a, b) => a[0] - b[0])
          .map(([k, v]) => `${k / 1024}:${v}`)
          .join(' ')}\n`,
    );
    const bySym = new Map<string, number>();
    let total = 0;
    for (const [pc, n] of p.samples) {
      const s = lookup(BigInt('0x' + pc));
      bySym.set(s, (bySym.get(s) ?? 0) + n);
      total += n;
    }
    total += p.user;
    const rows = [...bySym.entries(), ['[user]', p.user] as [string, number]]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top);
    for (const [s, n] of rows)
      process.stdout.write(`  ${((100 * n) / total).toFixed(1).padStart(5)}%  ${s}\n`);
    process.stdout.write(
      `  shift-copy registers: ${[...p.shift.entries()]
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k}:${v}`)
        .join(', ')}\n`,
    );
    // Where inside the hottest kernel function (offsets from its start).
    const hot = rows[0]?.[0];
    const start = syms.find(([, name]) => name === hot)?.[0];
    if (start !== undefined) {
      const offs = new Map<number, number>();
      for (const [pc, n] of p.samples) {
        const a = BigInt('0x' + pc);
        if (lookup(a) === hot) offs.set(Number(a - start), (offs.get(Number(a - start)) ?? 0) + n);
      }
      const list = [...offs.entries()].sort((x, y) => y[1] - x[1]).slice(0, 16);
      process.stdout.write(
        `  ${hot} offsets: ${list.map(([o, n]) => `+0x${o.toString(16)}:${n}`).join(' ')}\n`,
      );
    }
  }
  if (trace.length) process.stdout.write(`\ntrace:\n${trace.join('\n')}\n`);
  await vm.close().catch(() => {});
}

main().catch((e: unknown) => {
  process.stderr.write(`netprofile: ${String(e)}\n`);
  process.exit(1);
});

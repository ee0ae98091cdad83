#!/usr/bin/env node
/**
 * The `colinux` command.
 *
 *   colinux [run] [name=value | @file | word]… [--cmd "shell command"]
 *   colinux image build [default|debian] [--rebuild]
 *   colinux config check [name=value | @file]…
 *   colinux run --detach [--name NAME] …, ls, console NAME, stop NAME, kill NAME
 *   colinux disk create|info|commit|discard …
 *
 * Exit status: 0 the guest powered off cleanly; with --cmd, the command's
 * status; 1 the VM failed (error, or the guest stopped before the command
 * finished); 2 bad usage or configuration; 3 the guest kernel panicked;
 * 130/143 stopped by SIGINT/SIGTERM (the guest is asked to shut down first);
 * 4 no VM of that name (console, stop, kill); 5 stop had to stop the VM hard.
 */
import {
  closeSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { Vm, DEFAULT_KERNEL_ARGS, SnapshotError, type ResumeCheck } from '../vm.js';
import { snapshotKey, snapshotKeyPath } from './snapshot-key.js';
import { formatSerialEndpoint } from './serial-spec.js';
import { resolve } from 'node:path';
import type { VmHost } from './vm-host.js';
import type { PortForward } from '../net/stack.js';
import { BootError } from '../machine/machine.js';
import {
  parseRunArgs,
  checkFiles,
  helpText,
  buildKernelCmdline,
  formatConfig,
  fileProblems,
  ConfigError,
  type VmConfig,
} from './config.js';
import { defaultImageLocation, ensureDefaultImage } from '../backends/image/index.js';
import { isElf, parseElf, type ElfFile } from '../machine/elf.js';
import type { GuestProfile, JitSummary } from '../debug/profile.js';
import {
  InputLogError,
  frameLine,
  logHeader,
  logLine,
  parseInputLog,
  type InputLog,
} from '../debug/replay.js';
import { attachTerminal } from './terminal.js';
import { startDetached, isDaemonChild } from './daemon.js';
import { openVmHost, runHosted, signalHandler } from './run-host.js';
import { cmdConsole, cmdKill, cmdLs, cmdSnapshotTo, cmdStop } from './vm-commands.js';
import { EXIT_OK, EXIT_VM_ERROR, EXIT_USAGE, EXIT_PANIC } from './exit-codes.js';
import { cmdDisk } from './disk.js';
import { ensureDebianImage } from '../backends/image/debian.js';
import { DiskError } from '../backends/block/index.js';
import { NetError } from '../backends/net/index.js';
import { vmNics } from './net-spec.js';

export { EXIT_OK, EXIT_VM_ERROR, EXIT_USAGE, EXIT_PANIC };

function version(): string {
  const pkg = JSON.parse(
    readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
  ) as {
    version: string;
  };
  return pkg.version;
}

function usage(): string {
  return [
    'usage: colinux [run] [name=value | @file | kernel-word]… [--cmd "command"]',
    '       colinux image build [default|debian] [--rebuild]',
    '       colinux config check [name=value | @file]…',
    '       colinux run --detach [--name NAME] …   start a VM in the background',
    '       colinux ls [--json]                     list running VMs',
    '       colinux console [--read-only] [--no-replay] NAME   attach (Ctrl-A d detaches)',
    '       colinux stop [--timeout SEC] NAME…      shut down cleanly (power button)',
    '       colinux kill NAME…                      stop at once',
    '       colinux suspend NAME FILE               stop, keeping the whole state in FILE',
    '       colinux snapshot NAME FILE              the same, while the VM runs on',
    '       colinux resume FILE [--detach] [--name NAME] [--trust]   continue a VM from FILE',
    '       colinux disk create|info|commit|discard …   (colinux disk help)',
    '       colinux --version',
    '',
    helpText(),
  ].join('\n');
}

function fail(message: string, code = EXIT_USAGE): number {
  process.stderr.write(`colinux: ${message}\n`);
  return code;
}

async function cmdRun(argv: string[]): Promise<number> {
  let cfg: VmConfig;
  try {
    cfg = parseRunArgs(argv, { cwd: process.cwd() });
    if (cfg.help) {
      process.stdout.write(usage() + '\n');
      return EXIT_OK;
    }
    checkFiles(cfg);
  } catch (e) {
    if (e instanceof ConfigError) return fail(e.message);
    throw e;
  }
  for (const w of cfg.warnings) process.stderr.write(`colinux: warning: ${w}\n`);
  let cmdline: string;
  try {
    cmdline = buildKernelCmdline(cfg, DEFAULT_KERNEL_ARGS);
  } catch (e) {
    return fail((e as Error).message);
  }

  if (cfg.detach && !isDaemonChild()) {
    if (cfg.cmd !== undefined) {
      return fail('--cmd runs in the foreground and exits with the command; drop --detach');
    }
    return startDetached(argv);
  }
  let replayLog: InputLog | undefined;
  if (cfg.replay !== undefined) {
    try {
      replayLog = parseInputLog(readFileSync(cfg.replay, 'utf8'));
    } catch (e) {
      const why = e instanceof InputLogError ? e.message : (e as Error).message;
      return fail(`replay=${cfg.replay}: ${why}`);
    }
    if (!cfg.deterministicImplied && cfg.deterministicSeed !== replayLog.seed) {
      return fail(
        `replay=${cfg.replay} was recorded with seed ${replayLog.seed}, not ${cfg.deterministicSeed}; drop deterministic=`,
      );
    }
    cfg.deterministicSeed = replayLog.seed;
  }
  // The files record= and tracefile= create go again if the VM never runs.
  const created: Array<[number, string]> = [];
  const dropCreated = (): void => {
    for (const [fd, path] of created) {
      closeSync(fd);
      rmSync(path, { force: true });
    }
  };
  let recordFd: number | undefined;
  if (cfg.record !== undefined) {
    try {
      // Typed input may be secret: the log is the user's only.
      recordFd = openSync(cfg.record, 'w', 0o600);
      created.push([recordFd, cfg.record]);
      writeSync(recordFd, logHeader(cfg.deterministicSeed ?? 0));
    } catch (e) {
      dropCreated();
      return fail(`record=${cfg.record}: cannot write it: ${(e as Error).message}`);
    }
  }
  let traceFd = 2;
  if (cfg.trace && cfg.traceFile !== undefined) {
    try {
      traceFd = openSync(cfg.traceFile, 'w', 0o600);
      created.push([traceFd, cfg.traceFile]);
    } catch (e) {
      dropCreated();
      return fail(`tracefile=${cfg.traceFile}: cannot write it: ${(e as Error).message}`);
    }
  }
  const host = await openVmHost(cfg, version());
  if (typeof host === 'number') {
    dropCreated();
    return host;
  }

  let vm: Vm;
  try {
    vm = await Vm.create({
      kernel: cfg.kernel,
      // With root=, the kernel mounts that disk itself: no default initramfs.
      initrd: cfg.initrd ?? (cfg.root !== undefined && cfg.kernel === undefined ? null : undefined),
      memMiB: cfg.memMiB,
      bios: cfg.bios,
      cmdline,
      cmd: cfg.cmd,
      panic: cfg.panic,
      jit: cfg.jit === undefined ? undefined : cfg.jit === 'on',
      jitCacheMiB: cfg.jitCacheMiB,
      isa: cfg.isa,
      serialPorts: cfg.serialPorts.map((p) => p.index),
      profile: cfg.profile !== undefined,
      deterministic: cfg.deterministicSeed,
      replayInput: replayLog?.events,
      trace: cfg.trace && { kinds: cfg.trace, write: (text) => writeSync(traceFd, text) },
      onInputRecorded:
        recordFd === undefined ? undefined : (at, bytes) => writeSync(recordFd, logLine(at, bytes)),
      onFrameRecorded:
        recordFd === undefined
          ? undefined
          : (at, nic, frame, csum, gso) =>
              writeSync(recordFd, frameLine(at, nic, frame, csum, gso)),
      onProgress: (line) => process.stderr.write(`${line}\n`),
      disks: cfg.disks.map((d) => ({
        name: `cobd${d.index}`,
        path: d.path,
        readOnly: d.readOnly,
        overlay: d.overlay,
      })),
      nics: vmNics(cfg.nics, cfg.name),
      shares: cfg.shares.map((sh) => ({
        tag: `cofs${sh.index}`,
        path: sh.path,
        readOnly: sh.readOnly,
      })),
      onWarning: (msg) => process.stderr.write(`colinux: warning: ${msg}\n`),
      // A snapshot keeps the command line, so `colinux resume` hosts the VM the same way.
      embedder: { argv, cwd: process.cwd() } satisfies SavedRun,
    });
  } catch (e) {
    await host.close(undefined);
    dropCreated();
    if (e instanceof BootError || e instanceof DiskError || e instanceof NetError)
      return fail(e.message);
    const msg = (e as Error).message;
    return fail(msg, /^(kernel|initrd|bios|cofs\d+)=/.test(msg) ? EXIT_USAGE : EXIT_VM_ERROR);
  }
  return hostVm(host, vm, cfg);
}

/**
 * `profile=FILE`: the sampled guest pcs by kernel function, with symbols
 * from vmlinux=, else from kernel= when it is an ELF, else from the
 * default image's vmlinux. Written whole (a temporary file renamed).
 */
async function writeProfile(
  cfg: VmConfig,
  profile: GuestProfile,
  jit: JitSummary | undefined,
): Promise<void> {
  const target = cfg.profile!;
  let symbolsFrom = target.vmlinux;
  if (symbolsFrom === undefined && cfg.kernel === undefined) {
    symbolsFrom = defaultImageLocation().vmlinux;
  } else if (symbolsFrom === undefined && cfg.kernel !== undefined) {
    const head = readFileSync(cfg.kernel).subarray(0, 4);
    if (isElf(head)) symbolsFrom = cfg.kernel;
  }
  let symbols: ElfFile['symbols'] | undefined;
  let note = '';
  if (symbolsFrom !== undefined) {
    try {
      symbols = parseElf(new Uint8Array(readFileSync(symbolsFrom))).symbols;
      note = `symbols: ${symbolsFrom}\n`;
    } catch (e) {
      note = `no symbols: ${symbolsFrom}: ${(e as Error).message}\n`;
    }
  }
  const tmp = `${target.path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, profile.report(symbols, jit) + note);
    renameSync(tmp, target.path);
    process.stderr.write(
      `colinux: profile (${profile.samples} samples) written to ${target.path}\n`,
    );
  } catch (e) {
    rmSync(tmp, { force: true });
    process.stderr.write(
      `colinux: cannot write the profile ${target.path}: ${(e as Error).message}\n`,
    );
  }
}

/** What `colinux run` keeps in a VM's snapshots (VmOptions.embedder). */
interface SavedRun {
  argv: string[];
  cwd: string;
  /** The console history when the snapshot was taken (base64; vm-host.ts adds it). */
  replay?: string;
}

/** Run a VM under its host (control socket, console, terminal) until it ends; the exit status. */
async function hostVm(host: VmHost, vm: Vm, cfg: VmConfig): Promise<number> {
  host.attach(vm);
  try {
    await host.openSerialPorts();
  } catch (e) {
    await vm.close();
    await host.close(undefined);
    return fail((e as Error).message);
  }
  if (!isDaemonChild()) host.addLocalViewer();

  vm.onOutput((bytes) => process.stdout.write(bytes));
  // A reader that goes away (`colinux … | head`) ends the VM quietly, as with any command.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') vm.stop();
    else throw e;
  });
  // Deterministic mode: input from a pipe or file is read whole before the
  // guest starts, so it is there at the same instruction every run (typed
  // input, which arrives when it does, is what record= is for); a replay
  // takes none.
  const preRead = cfg.deterministicSeed !== undefined && !process.stdin.isTTY;
  if (preRead && cfg.replay === undefined) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    if (chunks.length > 0) vm.write(new Uint8Array(Buffer.concat(chunks)));
    // With --cmd, end of input reaches the command as EOF (Ctrl-D).
    if (cfg.cmd !== undefined) vm.write(Uint8Array.of(0x04));
  }
  const terminal = attachTerminal(vm, {
    commandMode: cfg.cmd !== undefined,
    onSignal: signalHandler(host),
    input: !preRead && cfg.replay === undefined,
  });
  let exit;
  try {
    exit = await runHosted(host);
  } finally {
    terminal.detach();
  }
  await host.close(exit);
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  if (cfg.profile && vm.profile) await writeProfile(cfg, vm.profile, vm.jitCounters());

  // Stopped because of a signal (the guest shut down, or was stopped hard): 128 + signal.
  if (terminal.signal && exit.reason !== 'panic') {
    return 128 + (terminal.signal === 'SIGINT' ? 2 : 15);
  }
  switch (exit.reason) {
    case 'poweroff':
      if (cfg.cmd !== undefined && exit.commandStatus === undefined) {
        return fail('the guest powered off before the command finished', EXIT_VM_ERROR);
      }
      return exit.exitCode;
    case 'panic':
      return fail(`guest kernel panic: ${exit.message ?? 'unknown reason'}`, EXIT_PANIC);
    case 'suspended':
      if (!isDaemonChild()) process.stderr.write('\ncolinux: VM suspended\n');
      return EXIT_OK;
    case 'stopped':
      if (terminal.quitByUser) {
        process.stderr.write('\ncolinux: terminated (Ctrl-A x)\n');
        return EXIT_OK;
      }
      if (terminal.signal) return 128 + (terminal.signal === 'SIGINT' ? 2 : 15);
      return exit.exitCode;
    default:
      return fail(exit.message ?? `the VM stopped (${exit.reason})`, EXIT_VM_ERROR);
  }
}

const RESUME_USAGE =
  'usage: colinux resume FILE [--detach] [--name NAME] [--log FILE|none] [--trust] [ethN=slirp,FORWARDS]';

/** `colinux resume FILE …`: continue a VM from a file made by `colinux suspend` or `snapshot`. */
async function cmdResume(argv: string[]): Promise<number> {
  let file: string | undefined;
  let name: string | undefined;
  let log: string | null | undefined;
  let detach = false;
  let trust = false;
  const nicArgs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const opt = /^(--name|--log)(?:=(.*))?$/.exec(a);
    if (/^eth\d+=/.test(a)) {
      nicArgs.push(a);
      continue;
    }
    if (a === '--help' || a === '-h') {
      process.stdout.write(`${RESUME_USAGE}\n`);
      return EXIT_OK;
    } else if (a === '--detach' || a === '-d') detach = true;
    else if (a === '--trust') trust = true;
    else if (opt) {
      const v = opt[2] ?? argv[++i];
      if (v === undefined || v === '')
        return fail(`resume: ${opt[1]} needs a value; ${RESUME_USAGE}`);
      if (opt[1] === '--name') name = v;
      else log = v === 'none' ? null : resolve(v);
    } else if (a.startsWith('-') || a.includes('=') || file !== undefined) {
      return fail(
        `resume: ${a}: only --name, --log, --detach, --trust and new host ports for forwards (ethN=) can be given; the VM's other settings come from the snapshot`,
      );
    } else file = a;
  }
  if (file === undefined) return fail(`resume: which file? ${RESUME_USAGE}`);
  if (detach && !isDaemonChild()) return startDetached(argv, 'resume');
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return fail(`resume: ${file}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  // New host ports for port forwards, e.g. when the old ones are taken meanwhile.
  const forwards: Record<number, PortForward[]> = {};
  try {
    for (const n of parseRunArgs(nicArgs, { cwd: process.cwd() }).nics) {
      if (n.source.byDefault) continue; // not one given here
      if (n.kind !== 'slirp') {
        return fail(`resume: eth${n.index}=: only the port forwards of a slirp card can change`);
      }
      forwards[n.index] = n.forwards;
    }
  } catch (e) {
    if (e instanceof ConfigError) return fail(`resume: ${e.message}`);
    throw e;
  }
  let key: Uint8Array;
  try {
    key = snapshotKey();
  } catch (e) {
    return fail(`resume: ${(e as Error).message}`);
  }
  // The VM's host settings (name, console log, serial ports…) as its `colinux
  // run` had them; parsed while the file is judged, before anything opens.
  let cfg: VmConfig | undefined;
  let saved: Partial<SavedRun> | undefined;
  const approve = (check: ResumeCheck): void => {
    saved = check.embedder as Partial<SavedRun> | undefined;
    const savedArgv = Array.isArray(saved?.argv) ? saved.argv.map(String) : [];
    try {
      cfg = parseRunArgs(savedArgv, {
        cwd: typeof saved?.cwd === 'string' ? saved.cwd : process.cwd(),
      });
    } catch (e) {
      throw new SnapshotError(
        `the settings the VM was started with no longer parse: ${(e as Error).message}`,
      );
    }
    if (check.sealed || trust) return;
    const wants = [...check.hostResources];
    for (const p of cfg.serialPorts)
      wants.push(`ttyS${p.index}: serial port ${formatSerialEndpoint(p.endpoint)}`);
    if (log === undefined && typeof cfg.log === 'string') wants.push(`console log ${cfg.log}`);
    if (wants.length === 0) return;
    throw new SnapshotError(
      `it was not made by your VMs on this host (it is not sealed with your key, ${snapshotKeyPath()}), and it would use:\n  ${wants.join('\n  ')}\nresume it with --trust if you trust where it came from`,
    );
  };
  let vm: Vm;
  try {
    vm = await Vm.resume(bytes, {
      onWarning: (msg) => process.stderr.write(`colinux: warning: ${msg}\n`),
      forwards,
      key,
      approve,
    });
  } catch (e) {
    if (e instanceof SnapshotError) return fail(`resume: ${file}: ${e.message}`);
    if (e instanceof DiskError || e instanceof NetError) return fail(`resume: ${e.message}`);
    return fail(`resume: ${(e as Error).message}`, EXIT_VM_ERROR);
  }
  if (!cfg) {
    await vm.close();
    return fail(`resume: ${file}: the VM's settings were not checked`, EXIT_VM_ERROR);
  }
  // What `ls` shows: the forwards as they are now.
  for (const n of cfg.nics) {
    if (n.kind === 'slirp' && forwards[n.index]) n.forwards = forwards[n.index]!;
  }
  cfg.detach = detach;
  if (name !== undefined) cfg.name = name;
  if (log !== undefined) cfg.log = log;
  const host = await openVmHost(cfg, version());
  if (typeof host === 'number') {
    await vm.close();
    return host;
  }
  // The console as it was: replayed to consoles that attach, and shown here in the foreground.
  const replay =
    typeof saved?.replay === 'string' ? Buffer.from(saved.replay, 'base64') : undefined;
  if (replay && replay.length > 0) {
    host.ring.push(replay);
    if (!isDaemonChild()) process.stdout.write(host.ring.contents());
  }
  return hostVm(host, vm, cfg);
}

async function cmdImage(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'build')
    return fail(`unknown image command "${sub ?? ''}"; use: colinux image build [default|debian]`);
  const name = rest.find((a) => !a.startsWith('--')) ?? 'default';
  if (name !== 'default' && name !== 'debian')
    return fail(`unknown image "${name}"; available: default, debian`);
  if (name === 'debian') {
    try {
      const img = await ensureDebianImage({
        rebuild: rest.includes('--rebuild'),
        onProgress: (line) => process.stderr.write(`${line}\n`),
      });
      process.stdout.write(`disk=${img.disk}\n`);
      process.stderr.write(
        `colinux: boot it with: colinux run cobd0=${img.disk},cow=debian.cow root=/dev/cobd0\n`,
      );
      return EXIT_OK;
    } catch (e) {
      return fail((e as Error).message, EXIT_VM_ERROR);
    }
  }
  try {
    const img = await ensureDefaultImage({
      rebuild: rest.includes('--rebuild'),
      onProgress: (line) => process.stderr.write(`${line}\n`),
    });
    process.stdout.write(
      `kernel=${img.kernel}\ninitrd=${img.initrd}\n# the kernel's symbols, for gdb=: gdb-multiarch ${img.vmlinux}\n`,
    );
    return EXIT_OK;
  } catch (e) {
    return fail((e as Error).message, EXIT_VM_ERROR);
  }
}

function cmdConfig(argv: string[]): number {
  const [sub, ...rest] = argv;
  if (sub !== 'check')
    return fail(`unknown config command "${sub ?? ''}"; use: colinux config check @vm.conf`);
  try {
    const cfg = parseRunArgs(rest, { cwd: process.cwd() });
    const problems = fileProblems(cfg);
    process.stdout.write(formatConfig(cfg) + '\n');
    for (const w of cfg.warnings) process.stderr.write(`colinux: warning: ${w}\n`);
    if (problems.length) {
      for (const p of problems) process.stderr.write(`colinux: ${p}\n`);
      return EXIT_USAGE;
    }
    return EXIT_OK;
  } catch (e) {
    if (e instanceof ConfigError) return fail(e.message);
    throw e;
  }
}

export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  switch (first) {
    case undefined:
      return cmdRun([]);
    case 'run':
      return cmdRun(rest);
    case 'image':
      return cmdImage(rest);
    case 'config':
      return cmdConfig(rest);
    case 'ls':
    case 'list':
      return cmdLs(rest);
    case 'console':
      return cmdConsole(rest);
    case 'stop':
      return cmdStop(rest);
    case 'kill':
      return cmdKill(rest);
    case 'suspend':
    case 'snapshot':
      return cmdSnapshotTo(first, rest);
    case 'resume':
      return cmdResume(rest);
    case 'disk':
      return cmdDisk(
        rest,
        (s) => process.stdout.write(s),
        (s) => process.stderr.write(s),
      );
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(usage() + '\n');
      return EXIT_OK;
    case '--version':
    case '-V':
      process.stdout.write(`colinux ${version()}\n`);
      return EXIT_OK;
    default:
      // `colinux kernel=… mem=…` behaves like `colinux run …`, as colinux-daemon did.
      if (first.includes('=') || first.startsWith('@') || first.startsWith('--'))
        return cmdRun(argv);
      return fail(`unknown command "${first}"; see colinux --help`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Nothing else should keep the process alive once the VM is gone.
    setImmediate(() => process.exit(code));
  },
  (e: unknown) => {
    process.stderr.write(`colinux: internal error: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(EXIT_VM_ERROR);
  },
);

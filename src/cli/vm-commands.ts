/**
 * The commands that work on running VMs through their control sockets:
 *
 *   colinux ls [--json]
 *   colinux console [--read-only] [--no-replay] NAME
 *   colinux stop [--timeout SEC] NAME…
 *   colinux kill NAME…
 */
import { resolve } from 'node:path';
import { ControlClient, type ExitEvent, type Message, type VmStatus } from './control.js';
import {
  EXIT_NO_VM,
  EXIT_OK,
  EXIT_PANIC,
  EXIT_STOP_FORCED,
  EXIT_USAGE,
  EXIT_VM_ERROR,
} from './exit-codes.js';
import {
  listVmNames,
  pidAlive,
  probeVm,
  removeStale,
  runtimeDir,
  vmNameProblem,
  type VmProbe,
} from './runtime.js';
import { DEFAULT_STOP_TIMEOUT_MS, MAX_STOP_TIMEOUT_MS } from './vm-host.js';

const CTRL_A = 0x01;

function say(line: string): void {
  process.stderr.write(`colinux: ${line}\n`);
}

function usageError(message: string): number {
  say(message);
  return EXIT_USAGE;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Connect to VM `name`, cleaning up after it if it is gone. */
async function connectVm(
  name: string,
): Promise<{ client: ControlClient; probe: VmProbe } | { code: number }> {
  const problem = vmNameProblem(name);
  if (problem !== undefined) return { code: usageError(`${JSON.stringify(name)}: ${problem}`) };
  const dir = runtimeDir();
  // A VM still starting opens its socket within moments: give it a few seconds.
  for (let attempt = 0; ; attempt++) {
    const probe = await probeVm(dir, name);
    if (probe.state === 'absent' || probe.state === 'stale') {
      if (probe.state === 'stale') {
        removeStale(probe);
        say(
          `VM "${name}" is gone (pid ${probe.pid ?? '?'} ended without cleaning up); removed its files`,
        );
      }
      say(`no VM named "${name}" is running (see colinux ls)`);
      return { code: EXIT_NO_VM };
    }
    if (probe.state === 'live') {
      try {
        return { client: await ControlClient.connect(probe.paths.socket), probe };
      } catch (e) {
        say(`cannot talk to VM "${name}": ${(e as Error).message}`);
        return { code: EXIT_VM_ERROR };
      }
    }
    if (attempt >= 50) {
      say(`VM "${name}" (pid ${probe.pid ?? '?'}) is starting but does not answer yet; try again`);
      return { code: EXIT_VM_ERROR };
    }
    await sleep(100);
  }
}

/** Exit status for a VM's exit event, as `colinux run` would have ended. */
function exitStatus(ev: ExitEvent): number {
  switch (ev.reason) {
    case 'poweroff':
      return ev.exitCode;
    case 'panic':
      return EXIT_PANIC;
    case 'stopped':
      return EXIT_OK;
    default:
      return EXIT_VM_ERROR;
  }
}

function describeExit(name: string, ev: ExitEvent): string {
  const what =
    ev.reason === 'poweroff'
      ? 'shut down'
      : ev.reason === 'stopped'
        ? ev.forced
          ? 'was stopped hard (it did not shut down in time)'
          : 'was stopped'
        : ev.reason === 'panic'
          ? `stopped after a kernel panic: ${ev.message ?? ''}`
          : `ended (${ev.reason}${ev.message ? `: ${ev.message}` : ''})`;
  return `VM "${name}" ${what}`;
}

function asExit(m: Message): ExitEvent | undefined {
  if (m['type'] !== 'exit') return undefined;
  return {
    type: 'exit',
    reason: String(m['reason']),
    exitCode: typeof m['exitCode'] === 'number' ? m['exitCode'] : 1,
    message: typeof m['message'] === 'string' ? m['message'] : undefined,
    forced: m['forced'] === true,
  };
}

// ---------------------------------------------------------------------------
// ls

function formatUptime(sec: number): string {
  const s = Math.max(0, Math.floor(sec));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number): string => String(n).padStart(2, '0');
  if (d > 0) return `${d}d${pad(h)}h`;
  if (h > 0) return `${h}h${pad(m)}m`;
  if (m > 0) return `${m}m${pad(s % 60)}s`;
  return `${s}s`;
}

export async function cmdLs(argv: string[]): Promise<number> {
  let json = false;
  for (const a of argv) {
    if (a === '--json') json = true;
    else if (a === '--help' || a === '-h') {
      process.stdout.write(
        'usage: colinux ls [--json]\nLists running VMs: name, pid, state, uptime, memory, disks, forwards.\n',
      );
      return EXIT_OK;
    } else return usageError(`ls: unknown argument ${a}; usage: colinux ls [--json]`);
  }
  const dir = runtimeDir();
  const rows: VmStatus[] = [];
  const starting: Array<{ name: string; pid?: number }> = [];
  for (const name of listVmNames(dir)) {
    const probe = await probeVm(dir, name);
    if (probe.state === 'stale') {
      removeStale(probe);
      say(`removed the files of VM "${name}" (pid ${probe.pid ?? '?'} ended without cleaning up)`);
      continue;
    }
    if (probe.state === 'absent') continue;
    if (probe.state === 'starting') {
      starting.push({ name, pid: probe.pid });
      continue;
    }
    try {
      const c = await ControlClient.connect(probe.paths.socket, 3000);
      const r = await c.request('status');
      c.close();
      if (r.ok && r['vm'] && typeof r['vm'] === 'object') rows.push(r['vm'] as unknown as VmStatus);
    } catch (e) {
      say(`VM "${name}" does not answer: ${(e as Error).message}`);
    }
  }
  if (json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return EXIT_OK;
  }
  const table: string[][] = [['NAME', 'PID', 'STATE', 'UPTIME', 'MEM', 'DISKS', 'FORWARDS']];
  for (const v of rows) {
    table.push([
      v.name,
      String(v.pid),
      v.state,
      formatUptime(v.uptimeSec),
      `${v.memMiB}M`,
      v.disks.length > 0 ? v.disks.join(',') : '-',
      v.forwards.length > 0 ? v.forwards.join(',') : '-',
    ]);
  }
  for (const s of starting) {
    table.push([s.name, String(s.pid ?? '?'), 'starting', '-', '-', '-', '-']);
  }
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  for (const r of table) {
    process.stdout.write(
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd() + '\n',
    );
  }
  return EXIT_OK;
}

// ---------------------------------------------------------------------------
// stop / kill

export async function cmdStop(argv: string[]): Promise<number> {
  let timeoutMs = DEFAULT_STOP_TIMEOUT_MS;
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const m = /^--timeout(?:=(.*))?$/.exec(a);
    if (m) {
      const v = m[1] ?? argv[++i];
      const n = Number(v);
      if (v === undefined || !/^\d+(\.\d+)?$/.test(v) || n <= 0 || n * 1000 > MAX_STOP_TIMEOUT_MS) {
        return usageError(
          `stop: --timeout takes seconds, from 1 to ${MAX_STOP_TIMEOUT_MS / 1000}; e.g. --timeout 60`,
        );
      }
      timeoutMs = n * 1000;
    } else if (a === '--help' || a === '-h') {
      process.stdout.write(
        'usage: colinux stop [--timeout SEC] NAME…\n' +
          'Presses the power button of each VM: the guest shuts down cleanly. A guest still\n' +
          `running after the timeout (default ${DEFAULT_STOP_TIMEOUT_MS / 1000} s) is stopped hard (exit status 5).\n`,
      );
      return EXIT_OK;
    } else if (a.startsWith('-')) {
      return usageError(`stop: unknown option ${a}; usage: colinux stop [--timeout SEC] NAME…`);
    } else names.push(a);
  }
  if (names.length === 0)
    return usageError('stop: which VM? usage: colinux stop [--timeout SEC] NAME…');
  const codes = await Promise.all(names.map((n) => stopOne(n, 'stop', timeoutMs)));
  return codes.find((c) => c !== EXIT_OK) ?? EXIT_OK;
}

export async function cmdKill(argv: string[]): Promise<number> {
  const names: string[] = [];
  for (const a of argv) {
    if (a === '--help' || a === '-h') {
      process.stdout.write(
        'usage: colinux kill NAME…\nStops each VM at once, like pulling the plug.\n',
      );
      return EXIT_OK;
    }
    if (a.startsWith('-'))
      return usageError(`kill: unknown option ${a}; usage: colinux kill NAME…`);
    names.push(a);
  }
  if (names.length === 0) return usageError('kill: which VM? usage: colinux kill NAME…');
  const codes = await Promise.all(names.map((n) => stopOne(n, 'kill', 0)));
  return codes.find((c) => c !== EXIT_OK) ?? EXIT_OK;
}

async function stopOne(name: string, how: 'stop' | 'kill', timeoutMs: number): Promise<number> {
  const r = await connectVm(name);
  if ('code' in r) return r.code;
  const { client, probe } = r;
  let exit: ExitEvent | undefined;
  client.onEvent = (m) => {
    exit ??= asExit(m);
  };
  const reply =
    how === 'stop'
      ? await client.request('stop', { timeoutSec: timeoutMs / 1000 })
      : await client.request('kill');
  if (!reply.ok && exit === undefined) {
    client.close();
    say(`${how} ${name}: ${String(reply['error'] ?? 'refused')}`);
    return EXIT_VM_ERROR;
  }
  // The VM does the hard stop itself after the timeout; this is only a safety net.
  const safety = setTimeout(() => client.close(), timeoutMs + 30_000);
  await client.closed;
  clearTimeout(safety);
  if (exit === undefined) {
    // The process went away without saying how (killed meanwhile?).
    const pid = probe.pid;
    if (pid !== undefined && pidAlive(pid)) {
      say(`VM "${name}" (pid ${pid}) did not confirm it stopped`);
      return EXIT_VM_ERROR;
    }
    say(`VM "${name}" is gone`);
    return EXIT_OK;
  }
  say(describeExit(name, exit));
  if (how === 'stop' && exit.forced) return EXIT_STOP_FORCED;
  return EXIT_OK;
}

// ---------------------------------------------------------------------------
// suspend, snapshot

/**
 * `colinux suspend NAME FILE` (the VM's whole state goes to FILE and its
 * process ends) and `colinux snapshot NAME FILE` (the same; the VM runs on).
 */
export async function cmdSnapshotTo(how: 'suspend' | 'snapshot', argv: string[]): Promise<number> {
  const usage = `usage: colinux ${how} NAME FILE`;
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(
      `${usage}\n` +
        (how === 'suspend'
          ? 'Stops the VM and writes its whole state to FILE; `colinux resume FILE` continues it.\n'
          : "Writes the VM's whole state to FILE while it runs on; `colinux resume FILE` starts a copy of it as it was.\n"),
    );
    return EXIT_OK;
  }
  const bad = argv.find((a) => a.startsWith('-'));
  if (bad) return usageError(`${how}: unknown option ${bad}; ${usage}`);
  if (argv.length !== 2) return usageError(`${how}: which VM, and which file? ${usage}`);
  const [name, target] = argv as [string, string];
  const file = resolve(target);
  const r = await connectVm(name);
  if ('code' in r) return r.code;
  const { client } = r;
  let exit: ExitEvent | undefined;
  client.onEvent = (m) => {
    exit ??= asExit(m);
  };
  const reply = await client.request(how, { path: file });
  if (!reply.ok) {
    client.close();
    say(`${how} ${name}: ${String(reply['error'] ?? 'refused')}`);
    return EXIT_VM_ERROR;
  }
  const mb = (Number(reply['bytes']) / 1e6).toFixed(1);
  if (how === 'snapshot') {
    client.close();
    say(
      `VM "${name}" saved to ${file} (${mb} MB); it runs on. colinux resume ${file} starts a copy.`,
    );
    return EXIT_OK;
  }
  // Wait until the VM process has flushed its disks and ended.
  const safety = setTimeout(() => client.close(), 60_000);
  await client.closed;
  clearTimeout(safety);
  say(`VM "${name}" suspended to ${file} (${mb} MB); colinux resume ${file} continues it.`);
  return exit === undefined || exit.reason === 'suspended' ? EXIT_OK : EXIT_VM_ERROR;
}

// ---------------------------------------------------------------------------
// console

const CONSOLE_HELP = [
  '',
  'colinux console escapes:',
  '  Ctrl-A d        detach (the VM keeps running)',
  '  Ctrl-A h        this help',
  '  Ctrl-A Ctrl-A   send Ctrl-A to the guest',
  '',
].join('\r\n');

export async function cmdConsole(argv: string[]): Promise<number> {
  let readOnly = false;
  let replay = true;
  let name: string | undefined;
  for (const a of argv) {
    if (a === '--read-only' || a === '-r') readOnly = true;
    else if (a === '--no-replay') replay = false;
    else if (a === '--help' || a === '-h') {
      process.stdout.write(
        'usage: colinux console [--read-only] [--no-replay] NAME\n' +
          'Attaches this terminal to the console of a running VM. The recent output is\n' +
          'shown first. Ctrl-A d detaches; the VM keeps running. Every viewer that is not\n' +
          '--read-only may type; keystrokes of several viewers are merged in arrival order.\n' +
          'When stdin is not a terminal, input is forwarded and end of input detaches.\n',
      );
      return EXIT_OK;
    } else if (a.startsWith('-')) {
      return usageError(
        `console: unknown option ${a}; usage: colinux console [--read-only] [--no-replay] NAME`,
      );
    } else if (name === undefined) name = a;
    else return usageError('console: give one VM name');
  }
  if (name === undefined) return usageError('console: which VM? usage: colinux console NAME');
  const r = await connectVm(name);
  if ('code' in r) return r.code;
  const client = r.client;
  const vmName = name;

  return new Promise<number>((resolve) => {
    const stdin = process.stdin;
    const tty = stdin.isTTY === true;
    let exit: ExitEvent | undefined;
    let escaped = false;
    let finished = false;

    const finish = (code: number, message?: string): void => {
      if (finished) return;
      finished = true;
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      if (tty) stdin.setRawMode(false);
      stdin.pause();
      client.close();
      const done = (): void => {
        if (message !== undefined)
          process.stderr.write(`${tty ? '\r\n' : ''}colinux: ${message}\n`);
        resolve(code);
      };
      process.stdout.write('', done);
    };

    const sendInput = (bytes: Uint8Array): void => {
      if (readOnly || bytes.length === 0) return;
      client.send('input', { data: Buffer.from(bytes).toString('base64') });
    };

    const onData = (chunk: Buffer): void => {
      if (!tty) {
        sendInput(new Uint8Array(chunk));
        return;
      }
      const out: number[] = [];
      for (const b of chunk) {
        if (escaped) {
          escaped = false;
          if (b === 0x64 /* d */ || b === 0x44) {
            sendInput(Uint8Array.from(out));
            finish(EXIT_OK, `detached from VM "${vmName}" (it keeps running)`);
            return;
          }
          if (b === 0x68 /* h */ || b === 0x48) process.stderr.write(CONSOLE_HELP);
          else if (b === CTRL_A) out.push(CTRL_A);
          else if (b === 0x78 /* x */ || b === 0x58) {
            process.stderr.write(
              '\r\ncolinux: Ctrl-A x does not stop an attached VM; Ctrl-A d detaches, then: colinux stop ' +
                `${vmName}\r\n`,
            );
          }
          continue;
        }
        if (b === CTRL_A) escaped = true;
        else out.push(b);
      }
      sendInput(Uint8Array.from(out));
    };
    const onEnd = (): void => {
      // End of piped input: detach once everything sent has been taken.
      void client.request('detach').then(() => finish(EXIT_OK));
    };

    client.onEvent = (m) => {
      if (m['type'] === 'output' && typeof m['data'] === 'string') {
        process.stdout.write(Buffer.from(m['data'], 'base64'));
        return;
      }
      const ev = asExit(m);
      if (ev) exit = ev;
    };
    void client.closed.then(() => {
      if (exit) finish(exitStatus(exit), describeExit(vmName, exit));
      else finish(EXIT_VM_ERROR, `lost the connection to VM "${vmName}"`);
    });

    void client.request('attach', { replay, input: !readOnly }).then((reply) => {
      if (!reply.ok) {
        finish(EXIT_VM_ERROR, `cannot attach to VM "${vmName}": ${String(reply['error'])}`);
        return;
      }
      if (tty) {
        process.stderr.write(
          `colinux: attached to VM "${vmName}"${readOnly ? ' (read-only)' : ''}; Ctrl-A d detaches, Ctrl-A h help\r\n`,
        );
        stdin.setRawMode(true);
      }
      stdin.on('data', onData);
      stdin.on('end', onEnd);
      stdin.on('error', () => undefined);
      stdin.resume();
    });
  });
}

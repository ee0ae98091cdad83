/**
 * Where running VMs are found: the runtime directory with one pid file and
 * one control socket per VM, the state directory with the console logs,
 * VM names, and the cleanup of what a crashed VM left behind.
 *
 *   runtime dir   $COLINUX_RUNTIME_DIR, else $XDG_RUNTIME_DIR/colinux, else
 *                 $XDG_CACHE_HOME/colinux/run (~/.cache/colinux/run); mode 0700
 *     NAME.pid    the VM process's pid (mode 0600), created exclusively: it
 *                 claims the name
 *     NAME.sock   the control socket (mode 0600; docs/control-socket.md)
 *   state dir     $COLINUX_STATE_DIR, else $XDG_STATE_HOME/colinux, else
 *                 ~/.local/state/colinux
 *     logs/NAME.log   console log (kept after the VM ends, rotated at 8 MiB)
 *
 * On Windows the control socket is the named pipe
 * \\.\pipe\colinux-<hash of the runtime dir>-NAME.
 *
 * A VM is alive while its socket accepts connections. A name whose socket
 * does not is stale (the VM crashed or was killed) unless its pid file is
 * younger than STARTING_GRACE_MS and its pid runs (the VM is still starting);
 * stale files are removed by whoever next looks (ls, run, console, …).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const VM_NAME_MAX = 32;
const VM_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Why `name` cannot name a VM, or undefined if it can. */
export function vmNameProblem(name: string): string | undefined {
  if (name === '') return 'a VM name cannot be empty';
  if (name.length > VM_NAME_MAX) return `a VM name has at most ${VM_NAME_MAX} characters`;
  if (!VM_NAME_RE.test(name)) {
    return 'use letters, digits, "_", "." and "-", starting with a letter or digit';
  }
  return undefined;
}

export class RuntimeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuntimeError';
  }
}

/** A VM of that name is running (or starting). */
export class NameInUseError extends RuntimeError {
  constructor(
    readonly vmName: string,
    readonly pid: number | undefined,
  ) {
    super(
      `a VM named "${vmName}" is already running${pid !== undefined ? ` (pid ${pid})` : ''}; pick another --name, or stop it first: colinux stop ${vmName}`,
    );
    this.name = 'NameInUseError';
  }
}

type Env = Record<string, string | undefined>;

function envPath(env: Env, key: string): string | undefined {
  const v = env[key];
  return v !== undefined && v !== '' && path.isAbsolute(v) ? v : undefined;
}

/** The runtime directory (see the module comment). */
export function runtimeDir(env: Env = process.env): string {
  const own = env['COLINUX_RUNTIME_DIR'];
  if (own !== undefined && own !== '') return path.resolve(own);
  const xdg = envPath(env, 'XDG_RUNTIME_DIR');
  if (xdg !== undefined && fs.existsSync(xdg)) return path.join(xdg, 'colinux');
  const cache = envPath(env, 'XDG_CACHE_HOME') ?? path.join(os.homedir(), '.cache');
  return path.join(cache, 'colinux', 'run');
}

/** The state directory (console logs). */
export function stateDir(env: Env = process.env): string {
  const own = env['COLINUX_STATE_DIR'];
  if (own !== undefined && own !== '') return path.resolve(own);
  const xdg = envPath(env, 'XDG_STATE_HOME');
  return path.join(xdg ?? path.join(os.homedir(), '.local', 'state'), 'colinux');
}

/** Where the console log of VM `name` goes by default. */
export function defaultLogPath(name: string, env: Env = process.env): string {
  return path.join(stateDir(env), 'logs', `${name}.log`);
}

const isWindows = process.platform === 'win32';

/**
 * Create the runtime directory if needed and make sure only this user can
 * use it: a real directory (not a symlink), owned by us, mode 0700 (a
 * directory of ours with a wider mode is tightened).
 */
export function prepareRuntimeDir(dir: string): void {
  try {
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new RuntimeError(
        `cannot create the runtime directory ${dir}: ${(e as Error).message}; set COLINUX_RUNTIME_DIR to a directory you can write`,
      );
    }
  }
  if (isWindows) return;
  const st = fs.lstatSync(dir);
  if (!st.isDirectory()) {
    throw new RuntimeError(
      `the runtime directory ${dir} is not a directory (or is a symlink); remove it, or set COLINUX_RUNTIME_DIR`,
    );
  }
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new RuntimeError(
      `the runtime directory ${dir} belongs to uid ${st.uid}, not to you (uid ${uid}); set COLINUX_RUNTIME_DIR to a directory of yours`,
    );
  }
  if ((st.mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
}

export interface VmPaths {
  pidFile: string;
  socket: string;
}

/** The pid file and control socket of VM `name` in runtime dir `dir`. */
export function vmPaths(dir: string, name: string): VmPaths {
  const pidFile = path.join(dir, `${name}.pid`);
  if (isWindows) {
    const h = createHash('sha256').update(dir).digest('hex').slice(0, 12);
    return { pidFile, socket: `\\\\.\\pipe\\colinux-${h}-${name}` };
  }
  const socket = path.join(dir, `${name}.sock`);
  if (Buffer.byteLength(socket) > 100) {
    throw new RuntimeError(
      `the control socket path ${socket} is too long for a Unix socket; set COLINUX_RUNTIME_DIR to a shorter directory`,
    );
  }
  return { pidFile, socket };
}

/** Does a process with this pid exist (possibly of another user)? */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Does something accept connections on this socket? */
export function canConnect(socket: string, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(socket);
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      c.removeAllListeners();
      c.on('error', () => undefined);
      c.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    c.once('connect', () => done(true));
    c.once('error', () => done(false));
  });
}

/** A freshly written pid file whose process runs belongs to a VM still starting. */
export const STARTING_GRACE_MS = 60_000;

export type Liveness = 'live' | 'starting' | 'stale' | 'absent';

export interface VmProbe {
  name: string;
  state: Liveness;
  pid?: number;
  paths: VmPaths;
  /** The pid file's text when it was read (cleanup removes it only if unchanged). */
  pidText?: string;
}

function readText(p: string): string | undefined {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
}

function parsePid(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const m = /^\s*(\d{1,10})\s*$/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Is VM `name` running, starting, stale or absent? */
export async function probeVm(dir: string, name: string): Promise<VmProbe> {
  const paths = vmPaths(dir, name);
  const pidText = readText(paths.pidFile);
  const pid = parsePid(pidText);
  const socketExists = isWindows || fs.existsSync(paths.socket);
  if (pidText === undefined && !socketExists) return { name, state: 'absent', paths };
  if (socketExists && (await canConnect(paths.socket))) {
    return { name, state: 'live', pid, paths, pidText };
  }
  if (pid !== undefined && pidAlive(pid)) {
    let age = Infinity;
    try {
      age = Date.now() - fs.statSync(paths.pidFile).mtimeMs;
    } catch {
      // gone meanwhile
    }
    if (age < STARTING_GRACE_MS) return { name, state: 'starting', pid, paths, pidText };
  }
  return { name, state: 'stale', pid, paths, pidText };
}

/** Remove the files of a stale VM (the pid file only if it still holds what the probe read). */
export function removeStale(probe: VmProbe): void {
  const { pidFile, socket } = probe.paths;
  if (probe.pidText !== undefined && readText(pidFile) === probe.pidText) {
    fs.rmSync(pidFile, { force: true });
  }
  if (!isWindows) {
    try {
      if (fs.lstatSync(socket).isSocket()) fs.rmSync(socket, { force: true });
    } catch {
      // already gone
    }
  }
}

/** Names with a pid file or a socket in the runtime dir, sorted. */
export function listVmNames(dir: string): string[] {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const names = new Set<string>();
  for (const e of entries) {
    const m = /^(.+)\.(pid|sock)$/.exec(e);
    if (m && vmNameProblem(m[1]!) === undefined) names.add(m[1]!);
  }
  return [...names].sort();
}

export interface VmClaim {
  name: string;
  paths: VmPaths;
  /** Remove the pid file and socket (if they are still ours). */
  release(): void;
}

/**
 * Claim `name` (or the first free vm1, vm2, …) for this process by creating
 * its pid file exclusively. A stale claim of the same name is cleaned up
 * first; a live one throws NameInUseError. `onStale` hears about cleanups.
 */
export async function claimVmName(
  dir: string,
  name: string | undefined,
  onStale?: (probe: VmProbe) => void,
): Promise<VmClaim> {
  prepareRuntimeDir(dir);
  const tryName = async (n: string): Promise<VmClaim | 'taken'> => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const paths = vmPaths(dir, n);
      const text = `${process.pid}\n`;
      try {
        fs.writeFileSync(paths.pidFile, text, { flag: 'wx', mode: 0o600 });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const probe = await probeVm(dir, n);
        if (probe.state === 'live' || probe.state === 'starting') return 'taken';
        if (probe.state === 'stale') {
          onStale?.(probe);
          removeStale(probe);
        }
        continue;
      }
      // A socket left by a crashed VM of this name (without its pid file) is ours to replace.
      if (!isWindows && fs.existsSync(paths.socket)) {
        if (await canConnect(paths.socket)) {
          fs.rmSync(paths.pidFile, { force: true });
          return 'taken';
        }
        fs.rmSync(paths.socket, { force: true });
      }
      return {
        name: n,
        paths,
        release: () => {
          if (readText(paths.pidFile) === text) fs.rmSync(paths.pidFile, { force: true });
        },
      };
    }
    return 'taken';
  };
  if (name !== undefined) {
    const problem = vmNameProblem(name);
    if (problem !== undefined) throw new RuntimeError(`--name ${JSON.stringify(name)}: ${problem}`);
    const c = await tryName(name);
    if (c === 'taken') {
      throw new NameInUseError(name, parsePid(readText(vmPaths(dir, name).pidFile)));
    }
    return c;
  }
  for (let n = 1; n < 10_000; n++) {
    const c = await tryName(`vm${n}`);
    if (c !== 'taken') return c;
  }
  throw new RuntimeError(`no free VM name in ${dir}; give one with --name`);
}

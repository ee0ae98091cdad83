/**
 * Everything a running VM process does around its Vm: the control socket
 * (protocol in control.ts and docs/control-socket.md), console viewers with
 * replay of recent output, the console log, the extra serial ports, and
 * stopping: gracefully (the power button, then a hard stop after a
 * timeout) or at once. The same host serves a foreground `colinux run` and a
 * detached one.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { snapshotKey } from './snapshot-key.js';
import type { Vm, VmExit } from '../vm.js';
import { ConsoleLog } from './console-log.js';
import {
  encodeMessage,
  LineDecoder,
  PROTOCOL_VERSION,
  type ExitEvent,
  type Json,
  type Message,
  type VmState,
  type VmStatus,
} from './control.js';
import { ConsoleRing } from './ring.js';
import type { VmClaim } from './runtime.js';
import { SerialHost } from './serial-host.js';
import type { GdbStub } from '../debug/gdb-stub.js';
import type { SerialEndpoint } from './serial-spec.js';

/** Default time the guest gets to shut down after the power button, before a hard stop. */
export const DEFAULT_STOP_TIMEOUT_MS = 30_000;
/** Longest stop timeout a client may ask for. */
export const MAX_STOP_TIMEOUT_MS = 3600_000;
/** The power button is pressed again this often while the guest has not reacted (it may not have listened yet). */
export const REPRESS_MS = 5_000;
/** Most console input accepted in one `input` request, in bytes (decoded). */
export const MAX_INPUT_BYTES = 64 << 10;
/** A viewer whose socket holds more than this unsent is too slow and is dropped. */
const MAX_VIEWER_BACKLOG = 8 << 20;
const REPLAY_CHUNK = 64 << 10;

export interface VmHostInfo {
  memMiB: number;
  disks: string[];
  forwards: string[];
  panic: 'stop' | 'restart';
}

export interface VmHostOptions {
  name: string;
  /** The claimed name (pid file, socket path); without it there is no control socket. */
  claim?: VmClaim;
  /** Console log file; null for none. */
  logPath: string | null;
  detached: boolean;
  info: VmHostInfo;
  serialPorts?: Array<{ index: number; endpoint: SerialEndpoint }>;
  /** `gdb=` and `gdbwait`: a GDB remote stub on this socket. */
  gdb?: { endpoint: SerialEndpoint; wait: boolean };
  version: string;
  /** Diagnostics for the user (foreground: stderr); they also go to the console log. */
  notice?: (line: string) => void;
}

interface Conn {
  sock: net.Socket;
  viewer: boolean;
  canType: boolean;
}

export class VmHost {
  state: VmState = 'starting';
  readonly ring = new ConsoleRing();
  private vm: Vm | undefined;
  /** A suspend or snapshot request is being served. */
  private snapshotting = false;
  private server: net.Server | undefined;
  private readonly conns = new Set<Conn>();
  private log: ConsoleLog | undefined;
  private readonly serials: SerialHost[] = [];
  private gdbStub: GdbStub | undefined;
  private readonly startedAt = new Date();
  private restarts = 0;
  private localViewers = 0;
  private stopDeadline: number | undefined;
  private hardTimer: ReturnType<typeof setTimeout> | undefined;
  private repressTimer: ReturnType<typeof setInterval> | undefined;
  private killed = false;
  /** A graceful stop timed out and the VM was stopped hard. */
  forced = false;
  private readonly notice: (line: string) => void;

  constructor(private readonly opts: VmHostOptions) {
    // Notices go to the console log too, so a detached VM's log tells the whole story.
    this.notice = (line) => {
      this.log?.mark(line);
      opts.notice?.(line);
    };
  }

  get name(): string {
    return this.opts.name;
  }

  get logPath(): string | null {
    return this.opts.logPath;
  }

  get socketPath(): string | undefined {
    return this.opts.claim?.paths.socket;
  }

  /** Open the console log and start serving the control socket. */
  async open(): Promise<void> {
    if (this.opts.logPath !== null) {
      this.log = new ConsoleLog(this.opts.logPath, (m) => this.notice(m));
      this.log.open();
      this.log.mark(`VM "${this.name}" (pid ${process.pid}) starting`);
    }
    const claim = this.opts.claim;
    if (!claim) return;
    const server = net.createServer((sock) => this.onConnection(sock));
    this.server = server;
    const socket = claim.paths.socket;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // Sockets are created with mode 0600 (the directory is 0700 anyway).
      const old = process.platform === 'win32' ? undefined : process.umask(0o177);
      try {
        server.listen(socket, () => resolve());
      } finally {
        if (old !== undefined) process.umask(old);
      }
    });
    server.on('error', (e) => this.notice(`control socket: ${e.message}`));
  }

  /** Connect the extra serial ports (after the Vm exists). */
  async openSerialPorts(): Promise<void> {
    const vm = this.vm;
    if (!vm) throw new Error('openSerialPorts before attach');
    for (const p of this.opts.serialPorts ?? []) {
      const host = new SerialHost(
        p.index,
        p.endpoint,
        (b) => vm.writeSerial(p.index, b),
        this.notice,
      );
      await host.open();
      this.serials.push(host);
      vm.onSerialOutput(p.index, (b) => host.output(b));
    }
    const gdb = this.opts.gdb;
    if (gdb) {
      const stub = vm.gdbStub({ notice: this.notice });
      // One debugger at a time, on a socket like a serial port's.
      const host: SerialHost = new SerialHost(
        0,
        gdb.endpoint,
        (b) => stub.receive(b),
        this.notice,
        {
          setting: 'gdb',
          connected: () => stub.attach((b) => host.output(b)),
          disconnected: () => stub.detach(),
        },
      );
      await host.open();
      this.serials.push(host);
      this.gdbStub = stub;
      if (gdb.wait) {
        stub.holdAtStart();
        this.notice(`${host.label}: waiting for a debugger before the first instruction (gdbwait)`);
      }
    }
  }

  /** The VM to serve, once created (creating it may first build the default image). */
  attach(vm: Vm): void {
    this.vm = vm;
    vm.onOutput((bytes) => this.output(bytes));
    vm.onRestart((why, exit) => {
      this.restarts++;
      const text =
        why === 'reboot'
          ? 'guest rebooted; restarting the VM'
          : `guest kernel panic (${exit.message ?? 'unknown reason'}); restarting the VM (panic=restart)`;
      // A panic is news for the user (and the log); a reboot only for the log.
      if (why === 'panic') this.notice(text);
      else this.log?.mark(text);
      this.broadcast({ type: 'restart', reason: why });
    });
  }

  /** Tell the user something (the console log, and stderr in the foreground). */
  note(line: string): void {
    this.notice(line);
  }

  /** A local terminal shows the console too (counted in `viewers`). */
  addLocalViewer(): void {
    this.localViewers++;
  }

  /** Run the VM to its end; a stop or kill asked for while starting ends it before it boots. */
  async run(): Promise<VmExit> {
    const vm = this.vm;
    if (!vm) throw new Error('run before attach');
    if (this.killed || this.state === 'stopping') {
      // Asked to stop while starting: there is no guest to shut down yet.
      await vm.close();
      return { reason: 'stopped', exitCode: 0, source: 'host' };
    }
    this.setState('running');
    return vm.run();
  }

  /**
   * Ask the guest to shut down (power button); stop it hard if it is not
   * gone after `timeoutMs`. Asking again keeps the earlier deadline if it
   * is sooner.
   */
  gracefulStop(timeoutMs = DEFAULT_STOP_TIMEOUT_MS): void {
    if (this.state === 'exited') return;
    const vm = this.vm;
    const booted = this.state === 'running' || this.state === 'stopping';
    this.setState('stopping');
    // Still starting: run() sees 'stopping' and ends before the guest boots.
    if (!vm || !booted) return;
    if (this.repressTimer === undefined) {
      vm.pressPowerButton();
      this.log?.mark('power button pressed (graceful stop)');
      this.repressTimer = setInterval(() => vm.pressPowerButton(), REPRESS_MS);
      this.repressTimer.unref?.();
    }
    const deadline = Date.now() + timeoutMs;
    if (this.stopDeadline === undefined || deadline < this.stopDeadline) {
      this.stopDeadline = deadline;
      if (this.hardTimer !== undefined) clearTimeout(this.hardTimer);
      this.hardTimer = setTimeout(() => {
        this.forced = true;
        this.notice(`the guest did not shut down within ${timeoutMs / 1000} s; stopped it hard`);
        vm.stop();
      }, timeoutMs);
    }
  }

  /** Stop at once, as pulling the plug. */
  kill(): void {
    if (this.state === 'exited') return;
    this.killed = true;
    if (this.state === 'starting') this.setState('stopping');
    this.vm?.stop();
  }

  /** After the VM ended: tell every client, close the socket, the ports and the log, release the name. */
  async close(exit: VmExit | undefined): Promise<void> {
    if (exit) this.gdbStub?.vmExited(exit.exitCode);
    if (this.hardTimer !== undefined) clearTimeout(this.hardTimer);
    if (this.repressTimer !== undefined) clearInterval(this.repressTimer);
    this.setState('exited');
    if (exit) {
      const ev: ExitEvent = {
        type: 'exit',
        reason: exit.reason,
        exitCode: exit.exitCode,
        forced: this.forced,
      };
      if (exit.message !== undefined) ev.message = exit.message;
      this.broadcast(ev as unknown as Message);
      this.log?.mark(
        `VM "${this.name}" ended: ${exit.reason}${this.forced ? ' (stopped hard after the timeout)' : ''}, status ${exit.exitCode}${exit.message ? `: ${exit.message}` : ''}`,
      );
    }
    const server = this.server;
    this.server = undefined;
    for (const c of this.conns) {
      c.sock.end();
      c.sock.destroySoon();
    }
    if (server) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        server.close(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    for (const c of this.conns) c.sock.destroy();
    this.conns.clear();
    this.opts.claim?.release();
    await Promise.all(this.serials.map((s) => s.close()));
    await this.log?.close();
  }

  status(): VmStatus {
    return {
      name: this.name,
      pid: process.pid,
      state: this.state,
      startedAt: this.startedAt.toISOString(),
      uptimeSec: Math.floor((Date.now() - this.startedAt.getTime()) / 1000),
      memMiB: this.opts.info.memMiB,
      disks: this.opts.info.disks,
      forwards: this.opts.info.forwards,
      serial: this.serials.map((s) => s.label),
      log: this.opts.logPath,
      viewers: this.localViewers + [...this.conns].filter((c) => c.viewer).length,
      restarts: this.restarts,
      panic: this.opts.info.panic,
      detached: this.opts.detached,
      version: this.opts.version,
    };
  }

  // ---- console -------------------------------------------------------------

  private output(bytes: Uint8Array): void {
    this.ring.push(bytes);
    this.log?.write(bytes);
    let msg: string | undefined;
    for (const c of this.conns) {
      if (!c.viewer) continue;
      msg ??= encodeMessage({ type: 'output', data: Buffer.from(bytes).toString('base64') });
      this.send(c, msg);
    }
  }

  private setState(state: VmState): void {
    if (this.state === state) return;
    this.state = state;
    this.broadcast({ type: 'state', state });
  }

  private broadcast(msg: Message): void {
    const line = encodeMessage(msg);
    for (const c of this.conns) this.send(c, line);
  }

  private send(c: Conn, line: string): void {
    if (c.sock.destroyed) return;
    if (c.sock.writableLength > MAX_VIEWER_BACKLOG) {
      c.sock.destroy();
      this.conns.delete(c);
      return;
    }
    c.sock.write(line);
  }

  // ---- control socket --------------------------------------------------------

  private onConnection(sock: net.Socket): void {
    const c: Conn = { sock, viewer: false, canType: false };
    this.conns.add(c);
    sock.on('error', () => undefined);
    sock.on('close', () => this.conns.delete(c));
    const dec = new LineDecoder(
      (m) => this.handle(c, m),
      (problem) => {
        this.send(
          c,
          encodeMessage({ type: 'reply', id: null, ok: false, error: `bad request: ${problem}` }),
        );
        sock.end();
      },
    );
    sock.on('data', (d: Buffer) => dec.push(d));
    this.send(
      c,
      encodeMessage({
        type: 'hello',
        protocol: PROTOCOL_VERSION,
        name: this.name,
        pid: process.pid,
        colinux: this.opts.version,
      }),
    );
    if (this.state === 'exited') sock.end();
  }

  private handle(c: Conn, m: Message): void {
    const rawId = m['id'];
    const id = typeof rawId === 'number' || typeof rawId === 'string' ? rawId : null;
    const reply = (fields: Message): void =>
      this.send(c, encodeMessage({ type: 'reply', id, ok: true, ...fields }));
    const error = (text: string): void =>
      this.send(c, encodeMessage({ type: 'reply', id, ok: false, error: text }));
    const cmd = m['cmd'];
    switch (cmd) {
      case 'status':
        reply({ vm: this.status() as unknown as Json });
        return;
      case 'attach': {
        const replay = m['replay'] ?? true;
        const input = m['input'] ?? true;
        if (typeof replay !== 'boolean' || typeof input !== 'boolean') {
          error('attach: "replay" and "input" must be true or false');
          return;
        }
        const past = replay ? this.ring.contents() : new Uint8Array(0);
        reply({ replayBytes: past.length, state: this.state });
        for (let at = 0; at < past.length; at += REPLAY_CHUNK) {
          const part = past.subarray(at, at + REPLAY_CHUNK);
          this.send(
            c,
            encodeMessage({
              type: 'output',
              data: Buffer.from(part).toString('base64'),
              replay: true,
            }),
          );
        }
        c.viewer = true;
        c.canType = input;
        return;
      }
      case 'detach':
        c.viewer = false;
        c.canType = false;
        reply({});
        return;
      case 'input': {
        const data = m['data'];
        if (typeof data !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(data)) {
          error('input: "data" must be a base64 string');
          return;
        }
        if (c.viewer && !c.canType) {
          error('input: this viewer attached read-only');
          return;
        }
        const bytes = Buffer.from(data, 'base64');
        if (bytes.length > MAX_INPUT_BYTES) {
          error(`input: at most ${MAX_INPUT_BYTES} bytes per request`);
          return;
        }
        if (!this.vm || this.state === 'exited') {
          error(`input: the VM is ${this.state}`);
          return;
        }
        this.vm.write(new Uint8Array(bytes));
        reply({});
        return;
      }
      case 'stop': {
        const t = m['timeoutSec'];
        let ms = DEFAULT_STOP_TIMEOUT_MS;
        if (t !== undefined) {
          if (
            typeof t !== 'number' ||
            !Number.isFinite(t) ||
            t <= 0 ||
            t * 1000 > MAX_STOP_TIMEOUT_MS
          ) {
            error(
              `stop: "timeoutSec" must be a number of seconds from 0 to ${MAX_STOP_TIMEOUT_MS / 1000}`,
            );
            return;
          }
          ms = Math.round(t * 1000);
        }
        if (this.state === 'exited') {
          error('stop: the VM has already ended');
          return;
        }
        this.gracefulStop(ms);
        reply({ state: this.state });
        return;
      }
      case 'suspend':
      case 'snapshot': {
        const file = m['path'];
        if (typeof file !== 'string' || !path.isAbsolute(file)) {
          error(`${cmd}: "path" must be an absolute file name`);
          return;
        }
        const vm = this.vm;
        if (!vm || this.state !== 'running') {
          error(`${cmd}: the VM is ${this.state}`);
          return;
        }
        if (this.snapshotting) {
          error(`${cmd}: a snapshot of this VM is already being taken`);
          return;
        }
        let key: Uint8Array;
        try {
          key = snapshotKey();
        } catch (e) {
          error(`${cmd}: ${(e as Error).message}`);
          return;
        }
        this.snapshotting = true;
        // The console history goes into the file, for `colinux resume` to replay.
        const saved = vm.embedder;
        if (typeof saved === 'object' && saved !== null) {
          vm.embedder = { ...saved, replay: Buffer.from(this.ring.contents()).toString('base64') };
        }
        const taken =
          cmd === 'suspend'
            ? vm.suspend((bytes) => writeWhole(file, bytes), { key })
            : vm.snapshot({ key }).then(async (bytes) => (await writeWhole(file, bytes), bytes));
        taken.then(
          (bytes) => reply({ path: file, bytes: bytes.length }),
          (e: unknown) => error(`${cmd}: ${(e as Error).message ?? String(e)}`),
        );
        void taken.finally(() => (this.snapshotting = false)).catch(() => undefined);
        return;
      }
      case 'kill':
        if (this.state === 'exited') {
          error('kill: the VM has already ended');
          return;
        }
        reply({});
        this.kill();
        return;
      default:
        error(
          typeof cmd === 'string'
            ? `unknown command ${JSON.stringify(cmd)}; the commands are status, attach, detach, input, stop, kill, suspend, snapshot`
            : 'a request needs "cmd"',
        );
    }
  }
}

/**
 * Write a snapshot file whole or not at all: into a temporary file beside
 * it, readable by the user only (it holds the guest's memory), then renamed
 * over the destination.
 */
async function writeWhole(file: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${file}.partial-${process.pid}`;
  try {
    await fs.promises.writeFile(tmp, bytes, { mode: 0o600 });
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    const err = e as NodeJS.ErrnoException;
    throw new Error(
      err.code === 'ENOENT' || err.code === 'EACCES'
        ? `cannot write ${file} (${err.code === 'ENOENT' ? 'no such directory' : 'permission denied'})`
        : `cannot write ${file}: ${err.message}`,
    );
  }
}

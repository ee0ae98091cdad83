/**
 * The control socket protocol (version 1), spoken by every running VM on
 * its socket in the runtime directory, and a client for it. The full
 * description, for other programs, is docs/control-socket.md.
 *
 * Framing: UTF-8 JSON objects, one per line ("\n"). A line longer than
 * MAX_LINE bytes is a protocol error: the server answers with an error and
 * closes the connection.
 *
 * On connect the server sends {"type":"hello","protocol":1,"name":…,"pid":…}.
 * Each request {"id":…,"cmd":…,…} gets exactly one
 * {"type":"reply","id":…,"ok":true,…} or {"type":"reply","id":…,"ok":false,"error":…}.
 * Events ({"type":"output"|"state"|"restart"|"exit",…}) may come between replies.
 */
import * as net from 'node:net';

export const PROTOCOL_VERSION = 1;
/** Longest line either side accepts, in bytes. */
export const MAX_LINE = 1 << 20;

export type VmState = 'starting' | 'running' | 'stopping' | 'exited';

/** What `status` (and `colinux ls`) reports about a VM. */
export interface VmStatus {
  name: string;
  pid: number;
  state: VmState;
  /** ISO 8601 time the VM process started. */
  startedAt: string;
  uptimeSec: number;
  memMiB: number;
  /** `cobdN=` disks, as "cobdN=path[,ro|,cow]". */
  disks: string[];
  /** Host port forwards, as "tcp:HOSTPORT->GUESTPORT" (none until networking exists). */
  forwards: string[];
  /** Extra serial ports, as "ttySN=unix:/path" etc. */
  serial: string[];
  /** Console log file, if any. */
  log: string | null;
  /** Attached console viewers (control-socket connections after `attach`, and a local terminal). */
  viewers: number;
  /** Times the VM restarted (guest reboot, or panic with panic=restart). */
  restarts: number;
  panic: 'stop' | 'restart';
  detached: boolean;
  /** colinux version. */
  version: string;
}

export interface ExitEvent {
  type: 'exit';
  /** poweroff, panic, error, stopped (killed, or stopped hard after the timeout), timeout. */
  reason: string;
  exitCode: number;
  message?: string;
  /** A graceful stop ran out of time and the VM was stopped hard. */
  forced: boolean;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Message = { [key: string]: Json | undefined };

/** Splits a byte stream into JSON lines; reports oversize lines and bad JSON. */
export class LineDecoder {
  private buf: Buffer[] = [];
  private len = 0;

  constructor(
    private readonly onMessage: (msg: Message) => void,
    private readonly onError: (problem: string) => void,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      const part = chunk.subarray(start, nl);
      start = nl + 1;
      if (this.len + part.length > MAX_LINE) {
        this.onError(`line longer than ${MAX_LINE} bytes`);
        this.buf = [];
        this.len = 0;
        return;
      }
      const line = Buffer.concat([...this.buf, part]).toString('utf8');
      this.buf = [];
      this.len = 0;
      this.handle(line);
    }
    const rest = chunk.subarray(start);
    if (rest.length > 0) {
      if (this.len + rest.length > MAX_LINE) {
        this.onError(`line longer than ${MAX_LINE} bytes`);
        this.buf = [];
        this.len = 0;
        return;
      }
      this.buf.push(Buffer.from(rest));
      this.len += rest.length;
    }
  }

  private handle(line: string): void {
    const text = line.replace(/\r$/, '');
    if (text.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      this.onError('not JSON');
      return;
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      this.onError('a message must be a JSON object');
      return;
    }
    this.onMessage(v as Message);
  }
}

export function encodeMessage(msg: Message): string {
  return JSON.stringify(msg) + '\n';
}

export class ControlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ControlError';
  }
}

export interface Reply extends Message {
  type: 'reply';
  ok: boolean;
}

/**
 * A connection to a VM's control socket. Requests resolve with the reply
 * (ok or not: check `ok`); events go to `onEvent`; `closed` resolves when
 * the VM ends the connection (it does so right after the exit event).
 */
export class ControlClient {
  hello: Message | undefined;
  onEvent: (msg: Message) => void = () => undefined;
  readonly closed: Promise<void>;
  private nextId = 1;
  private readonly pending = new Map<number, (r: Reply) => void>();
  private isClosed = false;

  private constructor(private readonly sock: net.Socket) {
    let markClosed: () => void = () => undefined;
    this.closed = new Promise((r) => (markClosed = r));
    const dec = new LineDecoder(
      (m) => this.dispatch(m),
      (problem) => {
        this.sock.destroy(new ControlError(`bad message from the VM: ${problem}`));
      },
    );
    sock.on('data', (d: Buffer) => dec.push(d));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      this.isClosed = true;
      for (const resolve of this.pending.values()) {
        resolve({ type: 'reply', ok: false, error: 'the VM closed the connection' });
      }
      this.pending.clear();
      markClosed();
    });
  }

  /** Connect and wait for the hello message. */
  static connect(socket: string, timeoutMs = 5000): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const sock = net.connect(socket);
      const client = new ControlClient(sock);
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new ControlError(`no answer on ${socket} within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      client.onEvent = (m) => {
        if (m['type'] === 'hello') {
          clearTimeout(timer);
          client.hello = m;
          client.onEvent = () => undefined;
          if (m['protocol'] !== PROTOCOL_VERSION) {
            sock.destroy();
            reject(
              new ControlError(
                `the VM speaks control protocol ${String(m['protocol'])}, this colinux ${PROTOCOL_VERSION}; use the colinux that started it`,
              ),
            );
            return;
          }
          resolve(client);
        }
      };
      sock.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      void client.closed.then(() => {
        clearTimeout(timer);
        reject(new ControlError(`the VM closed ${socket} before saying hello`));
      });
    });
  }

  private dispatch(m: Message): void {
    if (m['type'] === 'reply' && typeof m['id'] === 'number') {
      const resolve = this.pending.get(m['id']);
      if (resolve) {
        this.pending.delete(m['id']);
        resolve(m as Reply);
        return;
      }
    }
    this.onEvent(m);
  }

  /** Send a request; resolves with its reply. */
  request(cmd: string, args: Message = {}): Promise<Reply> {
    if (this.isClosed) {
      return Promise.resolve({ type: 'reply', ok: false, error: 'the connection is closed' });
    }
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.sock.write(encodeMessage({ ...args, id, cmd }));
    });
  }

  /** Send a request without waiting for the reply. */
  send(cmd: string, args: Message = {}): void {
    if (this.isClosed) return;
    this.sock.write(encodeMessage({ ...args, id: this.nextId++, cmd }));
  }

  close(): void {
    this.sock.end();
    this.sock.destroySoon();
  }
}

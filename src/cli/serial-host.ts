/**
 * Host ends of the extra guest serial ports (`ttysN=`; the forms are in
 * serial-spec.ts). A socket end (Unix, TCP, Windows named pipe) is a
 * server: one client at a time is connected to the port, and a second one
 * is turned away until the first leaves. A file end only receives.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { formatSerialEndpoint, type SerialEndpoint } from './serial-spec.js';
import { canConnect } from './runtime.js';

/** Bytes held for a client that reads too slowly before it is dropped. */
const MAX_CLIENT_BACKLOG = 4 << 20;

export class SerialHostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SerialHostError';
  }
}

export interface SocketEvents {
  /** The setting's name in messages, e.g. `gdb`. */
  setting?: string;
  connected?: () => void;
  disconnected?: () => void;
}

export class SerialHost {
  private server: net.Server | undefined;
  private client: net.Socket | undefined;
  private file: fs.WriteStream | undefined;
  private createdSocket: string | undefined;

  /**
   * @param index     guest port number (ttySindex)
   * @param toGuest   sends client input to the guest
   * @param notice    diagnostics (client connected, errors)
   * @param events    the setting's name in messages (default ttysN), and a
   *                  client's arrival and departure (the GDB stub's socket)
   */
  constructor(
    readonly index: number,
    readonly endpoint: SerialEndpoint,
    private readonly toGuest: (bytes: Uint8Array) => void,
    private readonly notice: (line: string) => void = () => undefined,
    private readonly events: SocketEvents = {},
  ) {}

  get label(): string {
    return `${this.events.setting ?? `ttys${this.index}`}=${formatSerialEndpoint(this.endpoint)}`;
  }

  /** Start listening (or open the file). Throws SerialHostError with a clear reason. */
  async open(): Promise<void> {
    const e = this.endpoint;
    if (e.kind === 'file') {
      try {
        const fd = fs.openSync(e.path, 'a', 0o600);
        this.file = fs.createWriteStream(e.path, { fd, flags: 'a' });
        this.file.on('error', (err) => this.notice(`${this.label}: ${err.message}`));
      } catch (err) {
        throw new SerialHostError(`${this.label}: cannot open the file: ${(err as Error).message}`);
      }
      return;
    }
    if (e.kind === 'unix') await this.clearUnixPath(e.path);
    const server = net.createServer((sock) => this.onClient(sock));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        const why =
          err.code === 'EADDRINUSE'
            ? 'the address is in use'
            : err.code === 'EACCES'
              ? 'permission denied'
              : err.message;
        reject(new SerialHostError(`${this.label}: cannot listen: ${why}`));
      });
      if (e.kind === 'tcp') server.listen(e.port, e.host, () => resolve());
      else server.listen(e.path, () => resolve());
    });
    server.on('error', (err) => this.notice(`${this.label}: ${err.message}`));
    if (e.kind === 'unix') {
      this.createdSocket = e.path;
      fs.chmodSync(e.path, 0o600);
    }
  }

  /** A socket file left at PATH by an earlier run is replaced; a live socket or another file is not. */
  private async clearUnixPath(p: string): Promise<void> {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      return;
    }
    if (!st.isSocket()) {
      throw new SerialHostError(
        `${this.label}: ${p} exists and is not a socket; remove it or choose another path`,
      );
    }
    if (await canConnect(p, 1000)) {
      throw new SerialHostError(`${this.label}: something already listens on ${p}`);
    }
    fs.rmSync(p, { force: true });
  }

  private onClient(sock: net.Socket): void {
    if (this.client) {
      sock.end();
      return;
    }
    this.client = sock;
    this.events.connected?.();
    sock.on('data', (d: Buffer) => this.toGuest(new Uint8Array(d)));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      if (this.client !== sock) return;
      this.client = undefined;
      this.events.disconnected?.();
    });
  }

  /** What the guest wrote on the port. */
  output(bytes: Uint8Array): void {
    if (this.file) {
      this.file.write(bytes);
      return;
    }
    const c = this.client;
    if (!c || c.destroyed) return;
    if (c.writableLength > MAX_CLIENT_BACKLOG) {
      this.notice(`${this.label}: the client does not keep up; disconnected`);
      c.destroy();
      return;
    }
    c.write(bytes);
  }

  async close(): Promise<void> {
    this.client?.end();
    this.client?.destroySoon();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    if (this.createdSocket !== undefined) fs.rmSync(this.createdSocket, { force: true });
    const f = this.file;
    this.file = undefined;
    if (f) await new Promise<void>((resolve) => f.end(() => resolve()));
  }
}

/**
 * `ethN=switch:NAME`: VMs of one user share an Ethernet segment through a
 * local stream socket, with no daemon and no privileges.
 *
 *   <dir>/NAME.sock   the switch (Unix domain socket; <dir> is a directory
 *                     only this user can use, mode 0700)
 *
 * The first VM to join becomes the hub: it listens on the socket and runs
 * the learning switch (src/net/switch.ts) in its own process; the others
 * connect to it. When the hub's VM ends, the others notice the closed
 * connection, drop their link (the guest sees carrier loss) and elect a new
 * hub among themselves within a fraction of a second.
 *
 * Election without races: a would-be hub listens on a private temporary
 * path, then hard-links it to NAME.sock; link() fails if another VM got
 * there first, so exactly one wins. A NAME.sock that refuses connections
 * was left by a crashed hub and is removed (only if it is still the same
 * file). On Windows the switch is the named pipe
 * \\.\pipe\colinux-switch-<hash of dir>-NAME, where listen() itself decides.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { NetBackend, NetPort, NetStats } from '../../net/link.js';
import {
  MessageDecoder,
  SwitchHub,
  encodeMessage,
  helloPayload,
  MSG_FRAME,
  MSG_HELLO,
  MSG_REJECT,
  MSG_WELCOME,
  SWITCH_PROTOCOL_VERSION,
  MIN_FRAME,
  MAX_FRAME,
  type HubPort,
} from '../../net/switch.js';

const isWindows = process.platform === 'win32';
/** Drop frames to a peer whose socket holds more than this unsent. */
const MAX_BACKLOG = 1024 * 1024;
const MAX_SOCKET_PATH = 100;
const JOIN_TIMEOUT_MS = 5000;

export class SwitchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SwitchError';
  }
}

export interface SwitchOptions {
  /** Directory for the switch sockets (created mode 0700 if missing). */
  dir: string;
  name: string;
  mac: Uint8Array;
}

/** Create `dir` if needed and insist that only this user can use it. */
function prepareDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (isWindows) return;
  const st = fs.lstatSync(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory()) throw new SwitchError(`${dir} is not a directory (or is a symlink)`);
  if (uid !== undefined && st.uid !== uid) {
    throw new SwitchError(`${dir} belongs to uid ${st.uid}, not to you (uid ${uid})`);
  }
  if ((st.mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
}

export function switchSocketPath(dir: string, name: string): string {
  if (isWindows) {
    const h = createHash('sha256').update(dir).digest('hex').slice(0, 12);
    return `\\\\.\\pipe\\colinux-switch-${h}-${name}`;
  }
  return path.join(dir, `${name}.sock`);
}

function connect(p: string): Promise<net.Socket | NodeJS.ErrnoException> {
  return new Promise((resolve) => {
    const s = net.connect(p);
    s.once('connect', () => {
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e));
  });
}

function listen(server: net.Server, p: string): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    server.once('error', (e: NodeJS.ErrnoException) => resolve(e));
    server.listen(p, () => {
      server.removeAllListeners('error');
      resolve(undefined);
    });
  });
}

function inode(p: string): number | undefined {
  try {
    return fs.statSync(p).ino;
  } catch {
    return undefined;
  }
}

/** A hub-side connection to another VM. */
class RemotePort implements HubPort {
  mac = new Uint8Array(6);
  constructor(readonly sock: net.Socket) {}
  send(frame: Uint8Array): boolean {
    if (this.sock.destroyed || this.sock.writableLength > MAX_BACKLOG) return false;
    this.sock.write(encodeMessage(MSG_FRAME, frame));
    return true;
  }
}

/** This VM's NIC on the switch: a NetBackend for virtio-net. */
export class SwitchBackend implements NetBackend, HubPort {
  private port: NetPort | undefined;
  private up = false;
  private closed = false;
  /** Hub mode: the server and the hub. */
  private server: net.Server | undefined;
  private hub: SwitchHub | undefined;
  private hubInode: number | undefined;
  /** Client mode: the connection to the hub. */
  private sock: net.Socket | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Hub mode: the other VMs' connections. */
  private readonly peerSockets = new Set<net.Socket>();
  private readonly counters = { tx: 0, rx: 0, txDropped: 0, reconnects: 0 };
  readonly mac: Uint8Array;
  private readonly socketPath: string;

  private constructor(private readonly opts: SwitchOptions) {
    this.mac = opts.mac.slice(0, 6);
    this.socketPath = switchSocketPath(opts.dir, opts.name);
  }

  /** Join switch `name`: become its hub or connect to the hub. Rejects with a SwitchError. */
  static async join(opts: SwitchOptions): Promise<SwitchBackend> {
    const b = new SwitchBackend(opts);
    if (!isWindows) {
      try {
        prepareDir(opts.dir);
      } catch (e) {
        throw new SwitchError(
          `switch:${opts.name}: cannot use the switch directory: ${(e as Error).message}; set COLINUX_RUNTIME_DIR to a directory of yours`,
        );
      }
      if (Buffer.byteLength(b.socketPath) > MAX_SOCKET_PATH) {
        throw new SwitchError(
          `switch:${opts.name}: the socket path ${b.socketPath} is too long for a Unix socket; set COLINUX_RUNTIME_DIR to a shorter directory`,
        );
      }
    }
    await b.establish(true);
    return b;
  }

  get linkUp(): boolean {
    return this.up;
  }

  /** Is this VM currently the hub? (tests) */
  get isHub(): boolean {
    return this.hub !== undefined;
  }

  /** Become the hub or connect to it; `first` makes failures throw instead of retrying. */
  private async establish(first: boolean): Promise<void> {
    for (let attempt = 0; attempt < 20 && !this.closed; attempt++) {
      const r = await connect(this.socketPath);
      if (r instanceof net.Socket) {
        const outcome = await this.handshake(r);
        if (outcome === undefined) return;
        if (first) throw new SwitchError(`switch:${this.opts.name}: ${outcome}`);
        return this.scheduleRetry();
      }
      if (r.code === 'ECONNREFUSED' && !isWindows) {
        // A dead hub's socket: remove it, if it is still the one we found refused.
        const ino = inode(this.socketPath);
        const again = await connect(this.socketPath);
        if (again instanceof net.Socket) {
          again.destroy();
          continue;
        }
        if (ino !== undefined && inode(this.socketPath) === ino) {
          try {
            fs.unlinkSync(this.socketPath);
          } catch {
            // someone else removed it
          }
        }
        continue;
      }
      if (r.code !== 'ENOENT' && r.code !== 'ECONNREFUSED') {
        if (first) throw new SwitchError(`switch:${this.opts.name}: ${r.message}`);
        return this.scheduleRetry();
      }
      if (await this.becomeHub()) return;
      // Another VM won the election: connect to it.
      await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 40));
    }
    if (this.closed) return;
    if (first)
      throw new SwitchError(`switch:${this.opts.name}: could not join or start the switch`);
    this.scheduleRetry();
  }

  private async becomeHub(): Promise<boolean> {
    const server = net.createServer((s) => this.acceptPeer(s));
    if (isWindows) {
      const err = await listen(server, this.socketPath);
      if (err) return false;
    } else {
      const tmp = path.join(
        this.opts.dir,
        `.${this.opts.name}.${process.pid}.${randomBytes(4).toString('hex')}`,
      );
      const err = await listen(server, tmp);
      if (err) throw new SwitchError(`switch:${this.opts.name}: ${err.message}`);
      try {
        fs.linkSync(tmp, this.socketPath);
      } catch {
        server.close();
        return false;
      } finally {
        try {
          fs.unlinkSync(tmp);
        } catch {
          // already gone
        }
      }
      this.hubInode = inode(this.socketPath);
    }
    this.server = server;
    this.hub = new SwitchHub();
    this.hub.addPort(this);
    this.setUp(true);
    return true;
  }

  /** Hub: a VM connects; it must say HELLO first. */
  private acceptPeer(s: net.Socket): void {
    const hub = this.hub;
    if (!hub || this.closed) {
      s.destroy();
      return;
    }
    const peer = new RemotePort(s);
    this.peerSockets.add(s);
    let joined = false;
    const decoder = new MessageDecoder();
    s.setNoDelay(true);
    s.on('data', (chunk: Buffer) => {
      const err = decoder.push(chunk, (type, payload) => {
        if (!joined) {
          if (type !== MSG_HELLO || payload.length < 7 || payload[0] !== SWITCH_PROTOCOL_VERSION) {
            s.destroy();
            return;
          }
          peer.mac = payload.slice(1, 7);
          const problem = hub.addPort(peer);
          if (problem !== undefined) {
            s.end(encodeMessage(MSG_REJECT, new TextEncoder().encode(problem)));
            return;
          }
          joined = true;
          s.write(encodeMessage(MSG_WELCOME, new Uint8Array(0)));
          return;
        }
        if (type === MSG_FRAME) hub.input(peer, payload);
      });
      if (err !== undefined) s.destroy();
    });
    s.on('error', () => {});
    s.on('close', () => {
      this.peerSockets.delete(s);
      if (joined) hub.removePort(peer);
    });
  }

  /** Client: say HELLO and wait for WELCOME; returns a rejection reason, or undefined once joined. */
  private handshake(s: net.Socket): Promise<string | undefined> {
    return new Promise((resolve) => {
      const decoder = new MessageDecoder();
      let joined = false;
      let settled = false;
      const settle = (v: string | undefined): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(v);
      };
      const timer = setTimeout(() => {
        s.destroy();
        settle('the switch did not answer');
      }, JOIN_TIMEOUT_MS);
      s.setNoDelay(true);
      s.on('data', (chunk: Buffer) => {
        const err = decoder.push(chunk, (type, payload) => {
          if (!joined) {
            if (type === MSG_WELCOME) {
              joined = true;
              this.sock = s;
              this.setUp(true);
              settle(undefined);
            } else if (type === MSG_REJECT) {
              s.destroy();
              settle(new TextDecoder().decode(payload));
            }
            return;
          }
          if (type === MSG_FRAME && payload.length >= MIN_FRAME && payload.length <= MAX_FRAME) {
            this.counters.rx++;
            this.port?.deliver(payload);
          }
        });
        if (err !== undefined) s.destroy();
      });
      s.on('error', () => {});
      s.on('close', () => {
        settle('the switch closed the connection');
        if (this.sock === s) {
          this.sock = undefined;
          this.setUp(false);
          if (!this.closed) this.scheduleRetry(true);
        }
      });
      s.write(encodeMessage(MSG_HELLO, helloPayload(this.mac)));
    });
  }

  private scheduleRetry(soon = false): void {
    if (this.closed || this.retryTimer !== undefined) return;
    this.counters.reconnects++;
    const delay = soon ? 20 + Math.random() * 180 : 1000;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.establish(false).catch(() => this.scheduleRetry());
    }, delay);
  }

  private setUp(up: boolean): void {
    if (this.up === up) return;
    this.up = up;
    this.port?.setLinkUp(up);
  }

  // -------------------------------------------------------------------------
  // HubPort (this VM as a port of its own hub)

  send(frame: Uint8Array): boolean {
    this.counters.rx++;
    this.port?.deliver(frame);
    return true;
  }

  // -------------------------------------------------------------------------
  // NetBackend

  attach(port: NetPort): void {
    this.port = port;
    port.setLinkUp(this.up);
  }

  detach(port: NetPort): void {
    if (this.port === port) this.port = undefined;
  }

  transmit(frame: Uint8Array): void {
    if (frame.length < MIN_FRAME || frame.length > MAX_FRAME) {
      this.counters.txDropped++;
      return;
    }
    if (this.hub) {
      this.counters.tx++;
      this.hub.input(this, frame);
      return;
    }
    const s = this.sock;
    if (!s || s.destroyed || s.writableLength > MAX_BACKLOG) {
      this.counters.txDropped++;
      return;
    }
    this.counters.tx++;
    s.write(encodeMessage(MSG_FRAME, frame));
  }

  pump(): void {}

  stats(): NetStats {
    const s: NetStats = {
      'tx.frames': this.counters.tx,
      'rx.frames': this.counters.rx,
      'drop.tx': this.counters.txDropped,
      reconnects: this.counters.reconnects,
    };
    if (this.hub) {
      s['hub.ports'] = this.hub.size;
      s['hub.dropped'] = this.hub.counters.dropped;
    }
    return s;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.sock?.destroy();
    this.sock = undefined;
    if (this.server) {
      this.server.close();
      // Forget the name first, so the next VM elects itself at once.
      if (!isWindows && this.hubInode !== undefined && inode(this.socketPath) === this.hubInode) {
        try {
          fs.unlinkSync(this.socketPath);
        } catch {
          // already gone
        }
      }
      for (const s of this.peerSockets) s.destroy();
      this.peerSockets.clear();
      this.server = undefined;
    }
    this.hub = undefined;
    this.setUp(false);
    this.port = undefined;
  }
}

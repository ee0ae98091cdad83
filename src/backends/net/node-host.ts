/**
 * The Node.js side of the user-mode NAT (src/net/stack.ts): real TCP and UDP
 * sockets (node:net, node:dgram) and the host's resolver (node:dns).
 *
 * - TCP sockets are half-open capable (allowHalfOpen), Nagle off, and a
 *   guest RST becomes a host RST (resetAndDestroy). What a socket reads in
 *   one turn of the event loop reaches the NAT as one batch (see wrapTcp),
 *   never more than the NAT's room for it.
 * - Names are looked up with getaddrinfo (dns.lookup: the hosts file, then
 *   DNS, exactly what host programs see) for A/AAAA; other record types go
 *   to the DNS servers the host is configured with (dns.Resolver). At most
 *   two getaddrinfo calls run at once, so a guest cannot fill libuv's thread
 *   pool (which disk I/O also uses).
 */
import * as net from 'node:net';
import * as dgram from 'node:dgram';
import * as dns from 'node:dns';
import {
  DNS_A,
  DNS_AAAA,
  DNS_CNAME,
  DNS_MX,
  DNS_NS,
  DNS_PTR,
  DNS_SRV,
  DNS_TXT,
  type AcceptedTcp,
  type DnsAnswer,
  type HostListener,
  type HostNetError,
  type HostTcpHandlers,
  type HostTcpSocket,
  type HostUdpSocket,
  type NetHost,
  type UdpReceive,
} from '../../net/host.js';

const LOOKUP_TTL = 60;
/** Most bytes one TCP socket reads ahead of the NAT (see wrapTcp)… */
const BATCH_MAX = 1024 * 1024;
/** …and at least (one read), whatever room the NAT reports. */
const DEFAULT_READ_AHEAD = 64 * 1024;
const MAX_LOOKUPS = 2;

function wrapTcp(s: net.Socket, h: HostTcpHandlers, outgoing: boolean): HostTcpSocket {
  let failure: HostNetError | undefined;
  // What the socket reads in one turn of the event loop (64 KiB per read)
  // is handed over as one batch after the reads (setImmediate): the NAT cuts
  // it into full-size frames for the guest, and the guest, woken by the
  // first frame, does not run between two reads of the same turn. Reading
  // stops once the batch holds the room the NAT has left (setReadAhead, at
  // most BATCH_MAX), or while the NAT asked for a pause (chunks read before
  // that wait here until it resumes), so its memory bounds still hold.
  const queue: Buffer[] = [];
  let queued = 0;
  let limit = DEFAULT_READ_AHEAD;
  let scheduled = false;
  let paused = false;
  let reading = true;
  const syncReading = (): void => {
    const want = !paused && queued < limit;
    if (want === reading || s.destroyed) return;
    reading = want;
    if (want) s.resume();
    else s.pause();
  };
  const handOver = (all: boolean): void => {
    scheduled = false;
    while (queue.length > 0 && (all || !paused)) {
      const d = queue.shift()!;
      queued -= d.length;
      h.onData(d, queue.length > 0 && (all || !paused));
    }
    syncReading();
  };
  const schedule = (): void => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => handOver(false));
  };
  if (outgoing) s.once('connect', () => h.onConnect());
  s.on('data', (d: Buffer) => {
    queue.push(d);
    queued += d.length;
    syncReading();
    schedule();
  });
  s.on('end', () => {
    handOver(true);
    h.onEnd();
  });
  s.on('drain', () => h.onDrain());
  s.on('error', (e: NodeJS.ErrnoException) => {
    failure ??= { code: e.code ?? 'EIO', message: e.message };
  });
  s.on('close', (hadError: boolean) => {
    handOver(true);
    h.onClose(hadError ? (failure ?? { code: 'EIO', message: 'socket error' }) : undefined);
  });
  return {
    write: (d) => {
      if (!s.destroyed && s.writable) s.write(d);
    },
    get bufferedAmount() {
      return s.writableLength;
    },
    end: () => {
      if (!s.destroyed) s.end();
    },
    reset: () => {
      if (!s.destroyed) s.resetAndDestroy();
    },
    pause: () => {
      paused = true;
      syncReading();
    },
    resume: () => {
      paused = false;
      if (queue.length > 0) schedule();
      else syncReading();
    },
    setReadAhead: (bytes) => {
      limit = Math.max(DEFAULT_READ_AHEAD, Math.min(BATCH_MAX, bytes));
      syncReading();
    },
  };
}

/** One clear sentence for a bind/listen failure. */
export function bindErrorText(
  proto: 'tcp' | 'udp',
  address: string,
  port: number,
  e: unknown,
): string {
  const code = (e as NodeJS.ErrnoException).code;
  const where = `${proto} port ${address}:${port}`;
  switch (code) {
    case 'EADDRINUSE':
      return `${where} is already in use on the host; pick another host port`;
    case 'EACCES':
    case 'EPERM':
      return `${where}: permission denied (ports below 1024 need privileges); pick a port of 1024 or more`;
    case 'EADDRNOTAVAIL':
      return `${where}: ${address} is not an address of this host; use 127.0.0.1 or one of the host's addresses`;
    default:
      return `${where}: ${(e as Error).message}`;
  }
}

function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? '';
}

function answerForError(e: unknown): DnsAnswer {
  const code = errCode(e);
  if (code === 'ENOTFOUND' || code === dns.NOTFOUND) return { rcode: 3, records: [] };
  if (code === 'ENODATA' || code === dns.NODATA) return { rcode: 0, records: [] };
  return { rcode: 2, records: [] };
}

export class NodeNetHost implements NetHost {
  private readonly resolver = new dns.promises.Resolver({ timeout: 3000, tries: 2 });
  private lookups = 0;
  private readonly lookupQueue: Array<() => void> = [];

  connectTcp(address: string, port: number, handlers: HostTcpHandlers): HostTcpSocket {
    const s = net.connect({ host: address, port, allowHalfOpen: true, noDelay: true });
    return wrapTcp(s, handlers, true);
  }

  openUdp(onMessage: UdpReceive): HostUdpSocket {
    const s = dgram.createSocket({ type: 'udp4' });
    return this.wrapUdp(s, onMessage);
  }

  private wrapUdp(s: dgram.Socket, onMessage: UdpReceive): HostUdpSocket {
    let open = true;
    s.on('message', (msg, rinfo) => onMessage(msg, rinfo.address, rinfo.port));
    // Send failures (unreachable, no route) just lose the datagram, as on a network.
    s.on('error', () => {});
    return {
      send: (data, port, address) => {
        if (open) s.send(data, port, address, () => {});
      },
      close: () => {
        if (!open) return;
        open = false;
        try {
          s.close();
        } catch {
          // already closed
        }
      },
    };
  }

  bindUdp(address: string, port: number, onMessage: UdpReceive): Promise<HostUdpSocket> {
    return new Promise((resolve, reject) => {
      const s = dgram.createSocket({ type: net.isIPv6(address) ? 'udp6' : 'udp4' });
      s.once('error', (e) => {
        s.close();
        reject(new Error(bindErrorText('udp', address, port, e)));
      });
      s.bind({ address, port, exclusive: true }, () => {
        s.removeAllListeners('error');
        resolve(this.wrapUdp(s, onMessage));
      });
    });
  }

  listenTcp(
    address: string,
    port: number,
    onConnection: (conn: AcceptedTcp) => void,
  ): Promise<HostListener> {
    return new Promise((resolve, reject) => {
      const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true });
      server.on('connection', (s) => {
        onConnection({
          remoteAddress: s.remoteAddress ?? '',
          remotePort: s.remotePort ?? 0,
          attach: (h) => wrapTcp(s, h, false),
        });
      });
      server.once('error', (e) => reject(new Error(bindErrorText('tcp', address, port, e))));
      server.listen({ host: address, port, exclusive: true, backlog: 511 }, () => {
        server.removeAllListeners('error');
        server.on('error', () => {});
        resolve({ close: () => void server.close() });
      });
    });
  }

  async resolve(name: string, type: number): Promise<DnsAnswer> {
    try {
      switch (type) {
        case DNS_A:
        case DNS_AAAA: {
          const family = type === DNS_A ? 4 : 6;
          const addrs = await this.limitedLookup(name, family);
          return {
            rcode: 0,
            records: addrs.map((a) => ({
              ttl: LOOKUP_TTL,
              record: { type: type as typeof DNS_A, address: a.address },
            })),
          };
        }
        case DNS_CNAME:
          return this.names(type, await this.resolver.resolveCname(name));
        case DNS_NS:
          return this.names(type, await this.resolver.resolveNs(name));
        case DNS_PTR:
          return this.names(type, await this.resolver.resolvePtr(name));
        case DNS_MX:
          return {
            rcode: 0,
            records: (await this.resolver.resolveMx(name)).map((m) => ({
              ttl: LOOKUP_TTL,
              record: { type: DNS_MX, priority: m.priority, exchange: m.exchange },
            })),
          };
        case DNS_TXT:
          return {
            rcode: 0,
            records: (await this.resolver.resolveTxt(name)).map((texts) => ({
              ttl: LOOKUP_TTL,
              record: { type: DNS_TXT, texts },
            })),
          };
        case DNS_SRV:
          return {
            rcode: 0,
            records: (await this.resolver.resolveSrv(name)).map((s) => ({
              ttl: LOOKUP_TTL,
              record: {
                type: DNS_SRV,
                priority: s.priority,
                weight: s.weight,
                port: s.port,
                name: s.name,
              },
            })),
          };
        default:
          return { rcode: 4, records: [] };
      }
    } catch (e) {
      return answerForError(e);
    }
  }

  private names(type: number, names: string[]): DnsAnswer {
    return {
      rcode: 0,
      records: names.map((n) => ({
        ttl: LOOKUP_TTL,
        record: { type: type as typeof DNS_CNAME, name: n },
      })),
    };
  }

  private async limitedLookup(name: string, family: 4 | 6): Promise<dns.LookupAddress[]> {
    // A finishing lookup hands its slot straight to the next waiter.
    if (this.lookups >= MAX_LOOKUPS) {
      await new Promise<void>((resolve) => this.lookupQueue.push(resolve));
    } else {
      this.lookups++;
    }
    try {
      return await dns.promises.lookup(name, { family, all: true });
    } finally {
      const next = this.lookupQueue.shift();
      if (next) next();
      else this.lookups--;
    }
  }
}

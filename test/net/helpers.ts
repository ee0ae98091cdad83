/** Test helpers for the user-mode network stack: a guest that speaks raw frames, a fake clock and host. */
import { UserNet, GATEWAY_MAC, GUEST_IP, type UserNetOptions } from '../../src/net/stack.js';
import { ETH_HLEN, ETHERTYPE_IPV4, writeEthHeader } from '../../src/net/ethernet.js';
import {
  IP_HLEN,
  PROTO_TCP,
  parseIp4,
  newIp4Frame,
  transportChecksum,
  buildUdp,
  parseUdp,
  type Ip4Packet,
  type UdpDatagram,
} from '../../src/net/ipv4.js';
import { parseTcp, type TcpSegment } from '../../src/net/tcp.js';
import { wr16, wr32, checksum, sum16, finishChecksum } from '../../src/net/bytes.js';
import type {
  Clock,
  NetHost,
  HostTcpHandlers,
  HostTcpSocket,
  HostUdpSocket,
  UdpReceive,
  AcceptedTcp,
  HostListener,
  DnsAnswer,
} from '../../src/net/host.js';

export const GUEST_MAC = new Uint8Array([0x02, 0x63, 0x6c, 0x01, 0x02, 0x03]);

/** A clock whose time only moves when the test says so. */
export class FakeClock implements Clock {
  t = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private nextId = 1;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers.delete(h as number);
  }
  /** Advance time, running due timers in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let best: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!best || e[1].at < best[1].at)) best = e;
      if (!best) break;
      this.timers.delete(best[0]);
      this.t = best[1].at;
      best[1].fn();
    }
    this.t = end;
  }
}

/** An in-memory host TCP socket: records what the stack does with it. */
export class FakeTcpSocket implements HostTcpSocket {
  written: Uint8Array[] = [];
  ended = false;
  wasReset = false;
  paused = false;
  bufferedAmount = 0;
  constructor(readonly handlers: HostTcpHandlers) {}
  write(data: Uint8Array): void {
    this.written.push(data.slice());
  }
  end(): void {
    this.ended = true;
  }
  reset(): void {
    this.wasReset = true;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  text(): string {
    return Buffer.concat(this.written).toString('latin1');
  }
}

export class FakeHost implements NetHost {
  sockets: Array<{ address: string; port: number; sock: FakeTcpSocket }> = [];
  udpSent: Array<{ data: Uint8Array; port: number; address: string; from: UdpReceive }> = [];
  listeners = new Map<number, (c: AcceptedTcp) => void>();
  answers = new Map<string, DnsAnswer>();
  connectTcp(address: string, port: number, handlers: HostTcpHandlers): HostTcpSocket {
    const sock = new FakeTcpSocket(handlers);
    this.sockets.push({ address, port, sock });
    return sock;
  }
  openUdp(onMessage: UdpReceive): HostUdpSocket {
    return {
      send: (data, port, address) => this.udpSent.push({ data, port, address, from: onMessage }),
      close: () => {},
    };
  }
  /** The receive callback of the last bound (forward) UDP socket. */
  lastBoundReceive: UdpReceive | undefined;
  async bindUdp(_a: string, _p: number, onMessage: UdpReceive): Promise<HostUdpSocket> {
    this.lastBoundReceive = onMessage;
    return this.openUdp(onMessage);
  }
  async listenTcp(
    _address: string,
    port: number,
    onConnection: (c: AcceptedTcp) => void,
  ): Promise<HostListener> {
    this.listeners.set(port, onConnection);
    return { close: () => this.listeners.delete(port) };
  }
  /** Simulate a host client connecting to a forwarded port. */
  accept(port: number): FakeTcpSocket {
    let sock: FakeTcpSocket | undefined;
    this.listeners.get(port)!({
      remoteAddress: '127.0.0.1',
      remotePort: 40000,
      attach: (h) => (sock = new FakeTcpSocket(h)),
    });
    return sock!;
  }
  async resolve(name: string, type: number): Promise<DnsAnswer> {
    return this.answers.get(`${name}/${type}`) ?? { rcode: 3, records: [] };
  }
}

/** The stack plus a guest that builds and reads raw frames. */
export class Guest {
  readonly net: UserNet;
  readonly out: Uint8Array[] = [];
  congested = false;
  /** GSO frames received (their partial checksums were completed, as the guest kernel would). */
  gsoFrames = 0;
  constructor(opts: Omit<UserNetOptions, 'mac'>, gsoMax = 0) {
    this.net = new UserNet({ ...opts, mac: GUEST_MAC });
    this.net.attach({
      deliver: (f, _checksummed, gso) => {
        if (gso) {
          // Complete the partial checksum: the pseudo-header sum is already in the field.
          this.gsoFrames++;
          const partial = (f[gso.csumStart + 16]! << 8) | f[gso.csumStart + 17]!;
          f[gso.csumStart + 16] = 0;
          f[gso.csumStart + 17] = 0;
          const c = finishChecksum(sum16(f, gso.csumStart, f.length, partial));
          wr16(f, gso.csumStart + 16, c);
        }
        this.out.push(f);
      },
      congested: () => this.congested,
      gsoMax: () => gsoMax,
      setLinkUp: () => {},
    });
  }
  send(frame: Uint8Array): void {
    this.net.transmit(frame);
  }
  /** Frames the stack sent since the last call. */
  take(): Uint8Array[] {
    return this.out.splice(0);
  }
  /** TCP segments the stack sent since the last call. */
  takeTcp(): Array<TcpSegment & { ip: Ip4Packet }> {
    const segs: Array<TcpSegment & { ip: Ip4Packet }> = [];
    for (const f of this.take()) {
      const p = parseIp4(f);
      if (typeof p === 'string' || p.proto !== PROTO_TCP) continue;
      const s = parseTcp(p);
      if (typeof s === 'string') throw new Error(`stack sent a bad TCP segment: ${s}`);
      segs.push({ ...s, data: s.data.slice(), ip: p });
    }
    return segs;
  }
  takeUdp(): Array<UdpDatagram & { ip: Ip4Packet }> {
    const out: Array<UdpDatagram & { ip: Ip4Packet }> = [];
    for (const f of this.take()) {
      const p = parseIp4(f);
      if (typeof p === 'string' || p.proto !== 17) continue;
      const u = parseUdp(p);
      if (typeof u === 'string') throw new Error(`stack sent a bad UDP datagram: ${u}`);
      out.push({ ...u, ip: p });
    }
    return out;
  }
}

export interface TcpOpts {
  src?: number;
  dst: number;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack?: number;
  flags: number;
  window?: number;
  data?: Uint8Array;
  mss?: number;
  wscale?: number;
}

/** A guest TCP segment as a complete frame (valid checksums). */
export function tcpFrame(o: TcpOpts): Uint8Array {
  const opts: number[] = [];
  if (o.mss !== undefined) opts.push(2, 4, o.mss >> 8, o.mss & 0xff);
  if (o.wscale !== undefined) opts.push(1, 3, 3, o.wscale);
  while (opts.length % 4) opts.push(0);
  const data = o.data ?? new Uint8Array(0);
  const hlen = 20 + opts.length;
  const src = o.src ?? GUEST_IP;
  const f = newIp4Frame(GATEWAY_MAC, GUEST_MAC, src, o.dst, PROTO_TCP, hlen + data.length);
  const t = ETH_HLEN + IP_HLEN;
  wr16(f, t, o.srcPort);
  wr16(f, t + 2, o.dstPort);
  wr32(f, t + 4, o.seq >>> 0);
  wr32(f, t + 8, (o.ack ?? 0) >>> 0);
  f[t + 12] = (hlen / 4) << 4;
  f[t + 13] = o.flags;
  wr16(f, t + 14, o.window ?? 65535);
  f.set(opts, t + 20);
  f.set(data, t + hlen);
  wr16(f, t + 16, transportChecksum(f, t, hlen + data.length, src, o.dst, PROTO_TCP));
  return f;
}

export function udpFrame(
  src: number,
  srcPort: number,
  dst: number,
  dstPort: number,
  data: Uint8Array,
  dstMac: Uint8Array = GATEWAY_MAC,
): Uint8Array {
  return buildUdp(dstMac, GUEST_MAC, src, srcPort, dst, dstPort, data);
}

/** An ICMP echo request frame. */
export function pingFrame(dst: number, id: number, seq: number, payload: Uint8Array): Uint8Array {
  const len = 8 + payload.length;
  const f = newIp4Frame(GATEWAY_MAC, GUEST_MAC, GUEST_IP, dst, 1, len);
  const o = ETH_HLEN + IP_HLEN;
  f[o] = 8;
  wr16(f, o + 4, id);
  wr16(f, o + 6, seq);
  f.set(payload, o + 8);
  wr16(f, o + 2, checksum(f, o, o + len));
  return f;
}

/** A raw Ethernet frame of any type. */
export function rawFrame(type: number, payload: Uint8Array, dst = GATEWAY_MAC): Uint8Array {
  const f = new Uint8Array(ETH_HLEN + payload.length);
  writeEthHeader(f, dst, GUEST_MAC, type);
  f.set(payload, ETH_HLEN);
  return f;
}

export { ETHERTYPE_IPV4 };

/**
 * User-mode NAT: the guest's Ethernet segment ends here, in TypeScript.
 * Frames in (from virtio-net), frames out; real traffic goes through host
 * sockets (see host.ts). No privileges, no host setup.
 *
 * The virtual network is QEMU's user-mode layout:
 *
 *   10.0.2.0/24   gateway 10.0.2.2 (the host: guest → 10.0.2.2 reaches the
 *                 host's 127.0.0.1), DNS 10.0.2.3, guest 10.0.2.15 (DHCP
 *                 pool .15–.30)
 *
 * - ARP for the gateway and DNS addresses.
 * - IPv4 without fragments (fragments are dropped and counted); TTL checked
 *   for routed packets (ICMP time exceeded).
 * - ICMP echo to 10.0.2.2 and 10.0.2.3 is answered here. Echo to other hosts
 *   would need raw or unprivileged ICMP sockets, which Node does not offer,
 *   so it goes unanswered (counted as drop.icmp-unsupported).
 * - UDP through one host datagram socket per guest source port, with
 *   address-and-port-dependent filtering: replies are accepted only from
 *   endpoints the guest sent to.
 * - TCP spliced onto host sockets by TcpConn (tcp.ts).
 * - DHCP server (dhcp.ts); DNS at 10.0.2.3 through the host resolver (dns.ts).
 * - Port forwards host → guest for TCP and UDP; forwarded connections come
 *   from 10.0.2.2 as seen by the guest.
 * - `restrict`: the guest reaches neither the host nor anything outside
 *   (TCP gets a reset, UDP an ICMP "administratively prohibited", DNS is
 *   refused); DHCP, ping to the gateway and port forwards still work.
 * - IPv6: not routed (frames are dropped and counted; AAAA queries get an
 *   empty answer so resolvers fall back to IPv4 at once).
 *
 * Guest input is hostile: every frame is length- and checksum-checked, and
 * anything malformed is dropped and counted, never thrown.
 */
import {
  checksum,
  formatIp4,
  ip4,
  macEquals,
  isMulticastMac,
  parseIp4,
  rd16,
  wr16,
  wr32,
  BROADCAST_MAC,
} from './bytes.js';
import {
  ETH_HLEN,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ARP_REQUEST,
  ARP_REPLY,
  parseArp,
  buildArp,
  ethType,
} from './ethernet.js';
import {
  parseIp4 as parseIp4Packet,
  newIp4Frame,
  transportChecksum,
  parseUdp,
  buildUdp,
  buildIcmp,
  buildIcmpError,
  PROTO_ICMP,
  PROTO_TCP,
  PROTO_UDP,
  ICMP_ECHO_REQUEST,
  ICMP_ECHO_REPLY,
  ICMP_TIME_EXCEEDED,
  ICMP_UNREACH,
  UNREACH_ADMIN,
  UNREACH_PORT,
  UDP_HLEN,
  IP_HLEN,
  type Ip4Packet,
  type DropReason,
} from './ipv4.js';
import {
  TcpConn,
  parseTcp,
  ACK,
  RST,
  SYN,
  FIN,
  TCP_HLEN,
  type TcpEnv,
  type TcpSegment,
} from './tcp.js';
import { handleDhcp, DHCP_SERVER_PORT, DHCP_CLIENT_PORT } from './dhcp.js';
import {
  parseDnsQuery,
  buildDnsResponse,
  buildDnsError,
  DNS_PORT,
  RCODE_REFUSED,
  RCODE_NOTIMP,
  RCODE_NOERROR,
} from './dns.js';
import {
  realClock,
  DNS_A,
  DNS_AAAA,
  type Clock,
  type NetHost,
  type HostListener,
  type HostUdpSocket,
  type AcceptedTcp,
  type DnsAnswer,
} from './host.js';
import type { GsoInfo, NetBackend, NetPort, NetStats } from './link.js';

export const NET_ADDR = ip4(10, 0, 2, 0);
export const NET_MASK = ip4(255, 255, 255, 0);
export const GATEWAY_IP = ip4(10, 0, 2, 2);
export const DNS_IP = ip4(10, 0, 2, 3);
export const GUEST_IP = ip4(10, 0, 2, 15);
export const BROADCAST_IP = ip4(10, 0, 2, 255);
const POOL_FIRST = 15;
const POOL_SIZE = 16;
/** The MAC the gateway and DNS addresses answer with (locally administered). */
export const GATEWAY_MAC = new Uint8Array([0x02, 0x00, 0x0a, 0x00, 0x02, 0x02]);

const MAX_TCP_CONNS = 4096;
/**
 * Host memory all TCP connections together may hold for the guest (queued
 * toward it, or offered as receive window): with many connections each gets
 * a smaller share, down to MIN_CONN_BUFFER, so a guest cannot pin gigabytes.
 */
const TCP_BUFFER_BUDGET = 64 * 1024 * 1024;
const MIN_CONN_BUFFER = 16 * 1024;
/** Acknowledge guest data at the end of a transmit batch once this much waits for an ACK. */
export const ACK_BATCH = 64 * 1024;
const MAX_UDP_MAPPINGS = 512;
const MAX_PEERS_PER_MAPPING = 64;
const UDP_IDLE_MS = 120_000;
const SWEEP_MS = 30_000;
const MAX_DNS_PENDING = 64;
/** Largest UDP payload that fits one 1500-byte packet (no fragmentation here). */
const MAX_UDP_PAYLOAD = 1500 - IP_HLEN - UDP_HLEN;

export interface PortForward {
  proto: 'tcp' | 'udp';
  /** Host address to bind (default 127.0.0.1). */
  hostAddress?: string;
  hostPort: number;
  guestPort: number;
  /** Forward this many consecutive ports (default 1). */
  count?: number;
}

export interface UserNetOptions {
  host: NetHost;
  /** The NIC's MAC (the guest's address until its own frames say otherwise). */
  mac: Uint8Array;
  /** Block guest access to the host and the outside world. */
  restrict?: boolean;
  forwards?: PortForward[];
  clock?: Clock;
}

interface UdpMapping {
  key: string;
  guestIp: number;
  guestPort: number;
  sock: HostUdpSocket;
  lastUsed: number;
  /** Host endpoints the guest has sent to ("addr:port"). */
  peers: Set<string>;
}

interface UdpForwardFlow {
  /** Source port on 10.0.2.2 the guest sees. */
  gwPort: number;
  guestPort: number;
  sock: HostUdpSocket;
  clientAddress: string;
  clientPort: number;
  lastUsed: number;
}

function isLoopbackText(addr: string): boolean {
  return addr.startsWith('127.') || addr === '::1' || addr.startsWith('::ffff:127.');
}

export class UserNet implements NetBackend {
  readonly linkUp = true;
  /** TCP is terminated here: a 64 KiB segment from the guest is taken whole. */
  readonly txOffload = true;
  private port: NetPort | undefined;
  private readonly host: NetHost;
  private readonly clock: Clock;
  private readonly restrict: boolean;
  private readonly forwards: PortForward[];
  private guestMac: Uint8Array;
  /** Guest addresses seen (ARP, IP source) → MAC. */
  private readonly arp = new Map<number, Uint8Array>();
  /** DHCP: MAC text → pool address. */
  private readonly leases = new Map<string, number>();
  private readonly tcp = new Map<string, TcpConn>();
  private readonly udp = new Map<string, UdpMapping>();
  private readonly udpForwardFlows = new Map<number, UdpForwardFlow>();
  private readonly udpForwardByClient = new Map<string, UdpForwardFlow>();
  private readonly listeners: HostListener[] = [];
  private readonly forwardSockets: HostUdpSocket[] = [];
  private readonly counters = new Map<string, number>();
  private readonly acks = new Set<TcpConn>();
  private ackScheduled = false;
  private readonly blockedConns = new Set<TcpConn>();
  private dnsPending = 0;
  private sweepTimer: unknown;
  private nextGwPort = 49152;
  private closed = false;
  private readonly tcpEnv: TcpEnv;
  /** The last internal error (a bug); frames that caused one are counted as drop.internal. */
  lastError: unknown;

  constructor(opts: UserNetOptions) {
    this.host = opts.host;
    this.clock = opts.clock ?? realClock;
    this.restrict = opts.restrict ?? false;
    this.forwards = opts.forwards ?? [];
    this.guestMac = opts.mac.slice(0, 6);
    this.tcpEnv = {
      clock: this.clock,
      output: (f, gso) => this.output(f, gso),
      gsoMax: () => this.port?.gsoMax?.() ?? 0,
      bufferShare: () =>
        Math.max(MIN_CONN_BUFFER, Math.floor(TCP_BUFFER_BUDGET / Math.max(1, this.tcp.size))),
      congested: () => this.port?.congested() ?? false,
      macs: (ip) => [this.macOf(ip), GATEWAY_MAC],
      remove: (c) => this.removeConn(c),
      wantAck: (c) => this.scheduleAck(c),
      blocked: (c) => this.blockedConns.add(c),
    };
    this.sweepTimer = this.clock.setTimeout(() => this.sweep(), SWEEP_MS);
  }

  /** Bind the port forwards. Rejects with one clear message if a host port cannot be bound. */
  async start(): Promise<void> {
    try {
      for (const fw of this.forwards) {
        const count = fw.count ?? 1;
        const addr = fw.hostAddress ?? '127.0.0.1';
        for (let i = 0; i < count; i++) {
          const hostPort = fw.hostPort + i;
          const guestPort = fw.guestPort + i;
          if (fw.proto === 'tcp') {
            this.listeners.push(
              await this.host.listenTcp(addr, hostPort, (c) => this.forwardTcp(c, guestPort)),
            );
          } else {
            const sock: HostUdpSocket = await this.host.bindUdp(addr, hostPort, (data, a, p) =>
              this.forwardUdpIn(sock, guestPort, data, a, p),
            );
            this.forwardSockets.push(sock);
          }
        }
      }
    } catch (e) {
      this.close();
      throw e;
    }
  }

  // -------------------------------------------------------------------------
  // NetBackend

  attach(port: NetPort): void {
    this.port = port;
  }

  detach(port: NetPort): void {
    if (this.port === port) this.port = undefined;
  }

  transmit(frame: Uint8Array): void {
    if (this.closed) return;
    this.count('rx.frames');
    try {
      this.input(frame);
    } catch (e) {
      // A bug, not the guest's fault; the frame is dropped, the host carries on.
      this.lastError = e;
      this.count('drop.internal');
    }
  }

  pump(): void {
    if (this.blockedConns.size === 0) return;
    const conns = [...this.blockedConns];
    this.blockedConns.clear();
    for (const c of conns) {
      if (this.port?.congested()) {
        this.blockedConns.add(c);
        continue;
      }
      c.trySend();
    }
  }

  /**
   * The device finished a batch of guest frames. A connection that received
   * ACK_BATCH bytes or more since its last ACK is acknowledged now; the
   * others when the host gets control back (the microtask queued by
   * scheduleAck: after the guest's time slice, or as soon as the guest
   * idles). A guest that sends in small writes then has data in flight
   * meanwhile, so its Nagle algorithm merges the writes into full segments,
   * and it handles one ACK per batch instead of one per segment: far less
   * per-packet work for the emulated CPU. The delay is at most one time
   * slice (10 ms), and none when the guest waits for the ACK (it idles).
   */
  flush(): void {
    if (this.acks.size === 0) return;
    for (const conn of this.acks) {
      if (conn.unacked >= ACK_BATCH && conn.state !== 'CLOSED') {
        this.acks.delete(conn);
        conn.sendAck();
      }
    }
  }

  stats(): NetStats {
    const s: NetStats = Object.fromEntries(this.counters);
    s['tcp.open'] = this.tcp.size;
    s['udp.mappings'] = this.udp.size;
    return s;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.clock.clearTimeout(this.sweepTimer);
    for (const l of this.listeners) l.close();
    this.listeners.length = 0;
    for (const s of this.forwardSockets) s.close();
    this.forwardSockets.length = 0;
    for (const c of [...this.tcp.values()]) c.shutdown();
    this.tcp.clear();
    for (const m of this.udp.values()) m.sock.close();
    this.udp.clear();
    this.udpForwardFlows.clear();
    this.udpForwardByClient.clear();
    this.port = undefined;
  }

  /** Live TCP connections (tests). */
  connections(): TcpConn[] {
    return [...this.tcp.values()];
  }

  // -------------------------------------------------------------------------
  // Helpers

  private count(name: string, n = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + n);
  }

  private drop(reason: DropReason | string): void {
    this.count(`drop.${reason}`);
  }

  private output(frame: Uint8Array, gso?: GsoInfo): void {
    if (this.closed || !this.port) {
      this.drop('no-device');
      return;
    }
    this.count('tx.frames');
    // Every frame built here carries correct IP/TCP/UDP/ICMP checksums.
    this.port.deliver(frame, true, gso);
  }

  private macOf(ip: number): Uint8Array {
    return this.arp.get(ip) ?? this.guestMac;
  }

  /** The guest address forwards go to: its DHCP lease, else the default. */
  private guestIp(): number {
    for (const ip of this.leases.values()) return ip;
    return GUEST_IP;
  }

  private isGuestAddress(ip: number): boolean {
    if ((ip & NET_MASK) !== NET_ADDR) return false;
    const h = ip & 0xff;
    return h !== 0 && h !== 255 && ip !== GATEWAY_IP && ip !== DNS_IP;
  }

  /** The host address for a guest destination, or undefined if the guest may not go there. */
  private hostAddressFor(dst: number): string | undefined {
    if (this.restrict) return undefined;
    if (dst === GATEWAY_IP) return '127.0.0.1';
    return formatIp4(dst);
  }

  // -------------------------------------------------------------------------
  // Input

  private input(frame: Uint8Array): void {
    if (frame.length < ETH_HLEN) return this.drop('truncated');
    if (isMulticastMac(frame, 6)) return this.drop('malformed');
    const toUs = macEquals(frame, 0, GATEWAY_MAC);
    if (!toUs && !macEquals(frame, 0, BROADCAST_MAC)) {
      // Multicast, or unicast to someone else: nobody else is on this segment.
      return this.drop(isMulticastMac(frame, 0) ? 'multicast' : 'not-for-us');
    }
    const type = ethType(frame);
    if (type === ETHERTYPE_ARP) return this.inputArp(frame);
    if (type === ETHERTYPE_IPV4) return this.inputIp(frame);
    if (type === ETHERTYPE_IPV6) return this.drop('ipv6');
    return this.drop('unsupported');
  }

  private learn(ip: number, frame: Uint8Array): void {
    if (!this.isGuestAddress(ip)) return;
    const known = this.arp.get(ip);
    if (known && macEquals(frame, 6, known)) return;
    if (!known && this.arp.size >= 256) return;
    const mac = frame.slice(6, 12);
    this.arp.set(ip, mac);
    this.guestMac = mac;
  }

  private inputArp(frame: Uint8Array): void {
    const a = parseArp(frame);
    if (!a) return this.drop('malformed');
    if (!macEquals(a.senderMac, 0, frame, 6)) return this.drop('malformed');
    this.count('arp');
    if (this.isGuestAddress(a.senderIp)) this.learn(a.senderIp, frame);
    if (a.op === ARP_REQUEST && (a.targetIp === GATEWAY_IP || a.targetIp === DNS_IP)) {
      this.output(
        buildArp(
          a.senderMac,
          GATEWAY_MAC,
          ARP_REPLY,
          GATEWAY_MAC,
          a.targetIp,
          a.senderMac,
          a.senderIp,
        ),
      );
    }
  }

  private inputIp(frame: Uint8Array): void {
    const p = parseIp4Packet(frame);
    if (typeof p === 'string') return this.drop(p);
    const { src, dst } = p;
    if (src === 0) {
      // Only a DHCP client without an address may use 0.0.0.0.
      if (p.proto !== PROTO_UDP) return this.drop('martian');
      return this.inputUdp(p);
    }
    if (!this.isGuestAddress(src)) return this.drop('martian');
    this.learn(src, frame);
    if (dst === GATEWAY_IP || dst === DNS_IP) {
      if (p.proto === PROTO_ICMP) return this.inputIcmp(p);
      if (p.proto === PROTO_UDP) return this.inputUdp(p);
      if (p.proto === PROTO_TCP) return this.inputTcp(p);
      return this.drop('unsupported');
    }
    if (dst === 0xffff_ffff || dst === BROADCAST_IP) {
      if (p.proto === PROTO_UDP) return this.inputUdp(p);
      return this.drop('broadcast');
    }
    const top = dst >>> 24;
    if (top >= 224) return this.drop(top < 240 ? 'multicast' : 'martian');
    if (top === 0 || top === 127 || (dst & NET_MASK) === NET_ADDR) return this.drop('no-route');
    // Routed to the outside world.
    if (p.ttl <= 1) {
      this.output(
        buildIcmpError(this.macOf(src), GATEWAY_MAC, GATEWAY_IP, p, ICMP_TIME_EXCEEDED, 0),
      );
      return this.drop('ttl');
    }
    if (p.proto === PROTO_TCP) return this.inputTcp(p);
    if (p.proto === PROTO_UDP) return this.inputUdp(p);
    if (p.proto === PROTO_ICMP) return this.drop('icmp-unsupported');
    return this.drop('unsupported');
  }

  // -------------------------------------------------------------------------
  // ICMP

  private inputIcmp(p: Ip4Packet): void {
    if (p.payLen < 8) return this.drop('truncated');
    const f = p.frame;
    if (checksum(f, p.payOff, p.payOff + p.payLen) !== 0) return this.drop('checksum');
    if (f[p.payOff] !== ICMP_ECHO_REQUEST || f[p.payOff + 1] !== 0)
      return this.drop('icmp-unsupported');
    this.count('icmp.echo');
    const rest = (rd16(f, p.payOff + 4) << 16) | rd16(f, p.payOff + 6);
    const body = f.subarray(p.payOff + 8, p.payOff + p.payLen);
    this.output(
      buildIcmp(this.macOf(p.src), GATEWAY_MAC, p.dst, p.src, ICMP_ECHO_REPLY, 0, rest >>> 0, body),
    );
  }

  private unreachable(p: Ip4Packet, code: number): void {
    this.output(buildIcmpError(this.macOf(p.src), GATEWAY_MAC, GATEWAY_IP, p, ICMP_UNREACH, code));
  }

  // -------------------------------------------------------------------------
  // UDP

  private inputUdp(p: Ip4Packet): void {
    const u = parseUdp(p);
    if (typeof u === 'string') return this.drop(u);
    const { dst } = p;
    if (
      u.dstPort === DHCP_SERVER_PORT &&
      (dst === GATEWAY_IP || dst === 0xffff_ffff || dst === BROADCAST_IP)
    )
      return this.inputDhcp(u.data);
    if (p.src === 0) return this.drop('martian');
    if (dst === 0xffff_ffff || dst === BROADCAST_IP) return this.drop('broadcast');
    if (dst === DNS_IP) {
      if (u.dstPort !== DNS_PORT) {
        this.unreachable(p, UNREACH_PORT);
        return this.drop('no-socket');
      }
      return this.inputDns(p, u.srcPort, u.data);
    }
    if (dst === GATEWAY_IP) {
      const flow = this.udpForwardFlows.get(u.dstPort);
      if (flow && flow.guestPort === u.srcPort) {
        flow.lastUsed = this.clock.now();
        flow.sock.send(u.data.slice(), flow.clientPort, flow.clientAddress);
        this.count('udp.forwarded');
        return;
      }
    }
    const hostAddr = this.hostAddressFor(dst);
    if (hostAddr === undefined) {
      this.unreachable(p, UNREACH_ADMIN);
      return this.drop('restricted');
    }
    const m = this.udpMapping(p.src, u.srcPort);
    if (!m) return this.drop('overload');
    m.lastUsed = this.clock.now();
    const peer = `${hostAddr}:${u.dstPort}`;
    if (!m.peers.has(peer)) {
      if (m.peers.size >= MAX_PEERS_PER_MAPPING) m.peers.delete(m.peers.values().next().value!);
      m.peers.add(peer);
    }
    this.count('udp.out');
    m.sock.send(u.data.slice(), u.dstPort, hostAddr);
  }

  private udpMapping(guestIp: number, guestPort: number): UdpMapping | undefined {
    const key = `${guestIp}:${guestPort}`;
    let m = this.udp.get(key);
    if (m) {
      // Keep the map in least-recently-used order.
      this.udp.delete(key);
      this.udp.set(key, m);
      return m;
    }
    if (this.udp.size >= MAX_UDP_MAPPINGS) {
      const oldest = this.udp.values().next().value!;
      oldest.sock.close();
      this.udp.delete(oldest.key);
    }
    const mapping: UdpMapping = {
      key,
      guestIp,
      guestPort,
      lastUsed: this.clock.now(),
      peers: new Set(),
      sock: undefined as unknown as HostUdpSocket,
    };
    mapping.sock = this.host.openUdp((data, address, port) =>
      this.udpFromHost(mapping, data, address, port),
    );
    this.udp.set(key, mapping);
    m = mapping;
    return m;
  }

  private udpFromHost(m: UdpMapping, data: Uint8Array, address: string, port: number): void {
    if (this.closed || this.udp.get(m.key) !== m) return;
    if (!m.peers.has(`${address}:${port}`)) return this.drop('udp-unsolicited');
    let src: number | undefined;
    if (isLoopbackText(address)) src = GATEWAY_IP;
    else src = parseIp4(address.startsWith('::ffff:') ? address.slice(7) : address);
    if (src === undefined) return this.drop('unsupported');
    if (data.length > MAX_UDP_PAYLOAD) return this.drop('oversize');
    m.lastUsed = this.clock.now();
    this.count('udp.in');
    this.output(
      buildUdp(this.macOf(m.guestIp), GATEWAY_MAC, src, port, m.guestIp, m.guestPort, data),
    );
  }

  private inputDhcp(data: Uint8Array): void {
    const reply = handleDhcp(data, {
      server: GATEWAY_IP,
      router: GATEWAY_IP,
      dns: DNS_IP,
      netmask: NET_MASK,
      broadcast: BROADCAST_IP,
      leaseSeconds: 86400,
      addressFor: (mac) => this.leaseFor(mac),
    });
    if (!reply) return this.drop('dhcp-ignored');
    this.count('dhcp.replies');
    this.output(
      buildUdp(
        reply.dstMac,
        GATEWAY_MAC,
        GATEWAY_IP,
        DHCP_SERVER_PORT,
        reply.dstIp,
        DHCP_CLIENT_PORT,
        reply.payload,
      ),
    );
  }

  private leaseFor(mac: Uint8Array): number | undefined {
    const key = Array.from(mac).join(',');
    const known = this.leases.get(key);
    if (known !== undefined) return known;
    const used = new Set(this.leases.values());
    for (let i = 0; i < POOL_SIZE; i++) {
      const ip = ip4(10, 0, 2, POOL_FIRST + i);
      if (!used.has(ip)) {
        this.leases.set(key, ip);
        return ip;
      }
    }
    return undefined;
  }

  private inputDns(p: Ip4Packet, srcPort: number, data: Uint8Array): void {
    this.count('dns.queries');
    const parsed = parseDnsQuery(data);
    if (!parsed) return this.drop('malformed');
    const guestIp = p.src;
    const reply = (payload: Uint8Array): void => {
      if (this.closed) return;
      this.output(
        buildUdp(this.macOf(guestIp), GATEWAY_MAC, DNS_IP, DNS_PORT, guestIp, srcPort, payload),
      );
    };
    if (!parsed.ok) return reply(buildDnsError(parsed.id, parsed.rcode));
    const q = parsed.query;
    if (this.restrict) return reply(buildDnsResponse(q, { rcode: RCODE_REFUSED, records: [] }));
    if (q.qclass !== 1) return reply(buildDnsResponse(q, { rcode: RCODE_NOTIMP, records: [] }));
    // No IPv6 route: an empty answer makes resolvers use the A records at once.
    if (q.qtype === DNS_AAAA)
      return reply(buildDnsResponse(q, { rcode: RCODE_NOERROR, records: [] }));
    if (this.dnsPending >= MAX_DNS_PENDING) return this.drop('overload');
    this.dnsPending++;
    void this.host
      .resolve(q.name, q.qtype)
      .catch((): DnsAnswer => ({ rcode: 2, records: [] }))
      .then((answer) => {
        this.dnsPending--;
        reply(buildDnsResponse(q, this.rewriteAnswer(q.name, answer)));
      });
  }

  /**
   * Host loopback addresses mean "the host" to the host; to the guest that is
   * 10.0.2.2. `localhost` itself keeps its loopback meaning (RFC 6761).
   */
  private rewriteAnswer(name: string, answer: DnsAnswer): DnsAnswer {
    if (name === 'localhost' || name.endsWith('.localhost')) return answer;
    return {
      rcode: answer.rcode,
      records: answer.records.map((r) =>
        r.record.type === DNS_A && r.record.address.startsWith('127.')
          ? { ttl: r.ttl, record: { type: DNS_A, address: formatIp4(GATEWAY_IP) } }
          : r,
      ),
    };
  }

  // -------------------------------------------------------------------------
  // UDP port forwards

  private forwardUdpIn(
    sock: HostUdpSocket,
    guestPort: number,
    data: Uint8Array,
    address: string,
    port: number,
  ): void {
    if (this.closed) return;
    if (data.length > MAX_UDP_PAYLOAD) return this.drop('oversize');
    const key = `${guestPort}/${address}:${port}`;
    let flow = this.udpForwardByClient.get(key);
    if (!flow) {
      const gwPort = this.allocGwPort((p) => this.udpForwardFlows.has(p));
      if (gwPort === undefined) return this.drop('overload');
      flow = { gwPort, guestPort, sock, clientAddress: address, clientPort: port, lastUsed: 0 };
      this.udpForwardFlows.set(gwPort, flow);
      this.udpForwardByClient.set(key, flow);
    }
    flow.lastUsed = this.clock.now();
    const guestIp = this.guestIp();
    this.count('udp.forwarded');
    this.output(
      buildUdp(this.macOf(guestIp), GATEWAY_MAC, GATEWAY_IP, flow.gwPort, guestIp, guestPort, data),
    );
  }

  /** A source port on 10.0.2.2 for host-initiated traffic, not in use per `taken`. */
  private allocGwPort(taken: (port: number) => boolean): number | undefined {
    for (let i = 0; i < 16384; i++) {
      const p = this.nextGwPort;
      this.nextGwPort = p >= 65535 ? 49152 : p + 1;
      if (!taken(p)) return p;
    }
    return undefined;
  }

  private sweep(): void {
    if (this.closed) return;
    const now = this.clock.now();
    for (const m of [...this.udp.values()]) {
      if (now - m.lastUsed > UDP_IDLE_MS) {
        m.sock.close();
        this.udp.delete(m.key);
      }
    }
    for (const [key, flow] of [...this.udpForwardByClient]) {
      if (now - flow.lastUsed > UDP_IDLE_MS) {
        this.udpForwardByClient.delete(key);
        this.udpForwardFlows.delete(flow.gwPort);
      }
    }
    this.sweepTimer = this.clock.setTimeout(() => this.sweep(), SWEEP_MS);
  }

  // -------------------------------------------------------------------------
  // TCP

  private static connKey(
    guestIp: number,
    guestPort: number,
    peerIp: number,
    peerPort: number,
  ): string {
    return `${guestIp}:${guestPort}>${peerIp}:${peerPort}`;
  }

  private inputTcp(p: Ip4Packet): void {
    const seg = parseTcp(p);
    if (typeof seg === 'string') return this.drop(seg);
    const key = UserNet.connKey(p.src, seg.srcPort, p.dst, seg.dstPort);
    let conn = this.tcp.get(key);
    const f = seg.flags;
    if (conn && conn.state === 'TIME_WAIT' && f & SYN && !(f & ACK)) {
      // The guest reuses the port for a new connection.
      conn.shutdown();
      conn = undefined;
    }
    if (conn) {
      conn.input(seg);
      return;
    }
    if (f & RST) return;
    if (!(f & SYN) || f & ACK || f & FIN) {
      this.drop('no-connection');
      return this.sendReset(p, seg);
    }
    const hostAddr = p.dst === DNS_IP ? undefined : this.hostAddressFor(p.dst);
    if (hostAddr === undefined) {
      this.drop(p.dst === DNS_IP ? 'no-socket' : 'restricted');
      return this.sendReset(p, seg);
    }
    if (this.tcp.size >= MAX_TCP_CONNS) {
      this.drop('overload');
      return this.sendReset(p, seg);
    }
    const c = new TcpConn(this.tcpEnv, p.src, seg.srcPort, p.dst, seg.dstPort, 'CONNECTING');
    c.acceptSyn(seg);
    this.tcp.set(key, c);
    this.count('tcp.connects');
    c.sock = this.host.connectTcp(hostAddr, seg.dstPort, c);
  }

  /** RST in answer to a segment that belongs to no connection (RFC 9293 §3.10.7.1). */
  private sendReset(p: Ip4Packet, seg: TcpSegment): void {
    const len = seg.data.length + (seg.flags & SYN ? 1 : 0) + (seg.flags & FIN ? 1 : 0);
    const withAck = !(seg.flags & ACK);
    const seq = withAck ? 0 : seg.ack;
    const ack = (seg.seq + len) >>> 0;
    this.output(
      buildRst(this.macOf(p.src), p.dst, seg.dstPort, p.src, seg.srcPort, seq, ack, withAck),
    );
  }

  private forwardTcp(accepted: AcceptedTcp, guestPort: number): void {
    if (this.closed || this.tcp.size >= MAX_TCP_CONNS) {
      const s = accepted.attach({
        onConnect: () => {},
        onData: () => {},
        onEnd: () => {},
        onDrain: () => {},
        onClose: () => {},
      });
      s.reset();
      this.drop('overload');
      return;
    }
    const guestIp = this.guestIp();
    const gwPort = this.allocGwPort((port) =>
      this.tcp.has(UserNet.connKey(guestIp, guestPort, GATEWAY_IP, port)),
    );
    if (gwPort === undefined) {
      accepted
        .attach({ onConnect() {}, onData() {}, onEnd() {}, onDrain() {}, onClose() {} })
        .reset();
      return this.drop('overload');
    }
    const c = new TcpConn(this.tcpEnv, guestIp, guestPort, GATEWAY_IP, gwPort, 'SYN_SENT');
    this.tcp.set(UserNet.connKey(guestIp, guestPort, GATEWAY_IP, gwPort), c);
    this.count('tcp.forwarded');
    c.startActiveOpen(accepted.attach(c));
  }

  private removeConn(c: TcpConn): void {
    const key = UserNet.connKey(c.guestIp, c.guestPort, c.peerIp, c.peerPort);
    if (this.tcp.get(key) === c) this.tcp.delete(key);
    this.acks.delete(c);
    this.blockedConns.delete(c);
    if (c.endReason) this.count(`tcp.end.${c.endReason}`);
  }

  private scheduleAck(c: TcpConn): void {
    this.acks.add(c);
    if (this.ackScheduled) return;
    this.ackScheduled = true;
    queueMicrotask(() => this.flushAcks());
  }

  private flushAcks(): void {
    this.ackScheduled = false;
    if (this.acks.size === 0) return;
    const list = [...this.acks];
    this.acks.clear();
    for (const conn of list) if (conn.ackPending && conn.state !== 'CLOSED') conn.sendAck();
  }
}

/** A bare TCP RST (with ACK when answering a segment without one) from src to dst. */
function buildRst(
  dstMac: Uint8Array,
  src: number,
  srcPort: number,
  dst: number,
  dstPort: number,
  seq: number,
  ack: number,
  withAck: boolean,
): Uint8Array {
  const f = newIp4Frame(dstMac, GATEWAY_MAC, src, dst, PROTO_TCP, TCP_HLEN);
  const o = ETH_HLEN + IP_HLEN;
  wr16(f, o, srcPort);
  wr16(f, o + 2, dstPort);
  wr32(f, o + 4, seq);
  wr32(f, o + 8, withAck ? ack : 0);
  f[o + 12] = (TCP_HLEN / 4) << 4;
  f[o + 13] = RST | (withAck ? ACK : 0);
  wr16(f, o + 16, transportChecksum(f, o, TCP_HLEN, src, dst, PROTO_TCP));
  return f;
}

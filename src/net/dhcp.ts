/**
 * A DHCP server for the user-mode network (RFC 2131, options RFC 2132).
 * Hands out addresses from a small pool (10.0.2.15 upward) with the gateway
 * and DNS server of the virtual network. Every field of the client's
 * message is checked before use; anything odd is ignored (no reply).
 */
import { rd16, rd32, wr16, wr32, MAC_LEN } from './bytes.js';

export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;

const BOOTREQUEST = 1;
const BOOTREPLY = 2;
const MAGIC = 0x63825363;
const OPTIONS_OFF = 240;
/** BOOTP messages are at least 300 bytes; some clients insist. */
const MIN_REPLY = 300;

export const DHCPDISCOVER = 1;
export const DHCPOFFER = 2;
export const DHCPREQUEST = 3;
export const DHCPDECLINE = 4;
export const DHCPACK = 5;
export const DHCPNAK = 6;
export const DHCPRELEASE = 7;
export const DHCPINFORM = 8;

const OPT_PAD = 0;
const OPT_SUBNET = 1;
const OPT_ROUTER = 3;
const OPT_DNS = 6;
const OPT_BROADCAST = 28;
const OPT_REQUESTED_IP = 50;
const OPT_LEASE = 51;
const OPT_TYPE = 53;
const OPT_SERVER_ID = 54;
const OPT_END = 255;

export interface DhcpConfig {
  server: number;
  router: number;
  dns: number;
  netmask: number;
  broadcast: number;
  /** Lease time in seconds. */
  leaseSeconds: number;
  /** The address for a client (stable per MAC); undefined when the pool is exhausted. */
  addressFor(mac: Uint8Array): number | undefined;
}

export interface DhcpReply {
  /** UDP payload of the reply. */
  payload: Uint8Array;
  /** IP destination (255.255.255.255 when broadcast). */
  dstIp: number;
  /** Ethernet destination. */
  dstMac: Uint8Array;
  type: number;
}

interface Request {
  type: number;
  xid: number;
  flags: number;
  ciaddr: number;
  chaddr: Uint8Array;
  requested?: number;
  serverId?: number;
}

function parseRequest(m: Uint8Array): Request | undefined {
  if (m.length < OPTIONS_OFF + 1) return undefined;
  if (m[0] !== BOOTREQUEST || m[1] !== 1 || m[2] !== MAC_LEN) return undefined;
  if (rd32(m, 236) !== MAGIC) return undefined;
  if (rd32(m, 24) !== 0) return undefined; // relayed: no relay agents here
  const req: Request = {
    type: 0,
    xid: rd32(m, 4),
    flags: rd16(m, 10),
    ciaddr: rd32(m, 12),
    chaddr: m.slice(28, 28 + MAC_LEN),
  };
  let i = OPTIONS_OFF;
  while (i < m.length) {
    const code = m[i]!;
    if (code === OPT_END) break;
    if (code === OPT_PAD) {
      i++;
      continue;
    }
    if (i + 1 >= m.length) return undefined;
    const len = m[i + 1]!;
    const v = i + 2;
    if (v + len > m.length) return undefined;
    if (code === OPT_TYPE && len === 1) req.type = m[v]!;
    else if (code === OPT_REQUESTED_IP && len === 4) req.requested = rd32(m, v);
    else if (code === OPT_SERVER_ID && len === 4) req.serverId = rd32(m, v);
    i = v + len;
  }
  return req.type === 0 ? undefined : req;
}

/**
 * Answer one DHCP message from a client (the UDP payload sent to port 67).
 * Returns undefined when no reply is due (malformed, not for us, release).
 */
export function handleDhcp(msg: Uint8Array, cfg: DhcpConfig): DhcpReply | undefined {
  const req = parseRequest(msg);
  if (!req) return undefined;
  if (req.chaddr.every((b) => b === 0) || (req.chaddr[0]! & 1) === 1) return undefined;
  const addr = cfg.addressFor(req.chaddr);
  let type: number;
  let yiaddr = 0;
  switch (req.type) {
    case DHCPDISCOVER:
      if (addr === undefined) return undefined;
      type = DHCPOFFER;
      yiaddr = addr;
      break;
    case DHCPREQUEST: {
      // A REQUEST naming another server is the client declining our offer.
      if (req.serverId !== undefined && req.serverId !== cfg.server) return undefined;
      const wanted = req.requested ?? req.ciaddr;
      if (addr !== undefined && wanted === addr) {
        type = DHCPACK;
        yiaddr = addr;
      } else {
        type = DHCPNAK;
      }
      break;
    }
    case DHCPINFORM:
      type = DHCPACK;
      break;
    default:
      return undefined; // DECLINE, RELEASE, or a server message type
  }

  const opts: number[] = [OPT_TYPE, 1, type];
  const addIp = (code: number, ip: number): void => {
    opts.push(code, 4, ip >>> 24, (ip >>> 16) & 0xff, (ip >>> 8) & 0xff, ip & 0xff);
  };
  addIp(OPT_SERVER_ID, cfg.server);
  if (type !== DHCPNAK) {
    if (req.type !== DHCPINFORM) {
      const t = cfg.leaseSeconds;
      opts.push(OPT_LEASE, 4, t >>> 24, (t >>> 16) & 0xff, (t >>> 8) & 0xff, t & 0xff);
    }
    addIp(OPT_SUBNET, cfg.netmask);
    addIp(OPT_ROUTER, cfg.router);
    addIp(OPT_DNS, cfg.dns);
    addIp(OPT_BROADCAST, cfg.broadcast);
  }
  opts.push(OPT_END);

  const out = new Uint8Array(Math.max(MIN_REPLY, OPTIONS_OFF + opts.length));
  out[0] = BOOTREPLY;
  out[1] = 1;
  out[2] = MAC_LEN;
  wr32(out, 4, req.xid);
  wr16(out, 10, req.flags);
  if (req.type === DHCPINFORM) wr32(out, 12, req.ciaddr);
  wr32(out, 16, yiaddr);
  out.set(req.chaddr, 28);
  wr32(out, 236, MAGIC);
  out.set(opts, OPTIONS_OFF);

  // RFC 2131 §4.1: unicast to a configured client, broadcast a NAK or when asked to.
  const broadcast = type === DHCPNAK || (req.ciaddr === 0 && (req.flags & 0x8000) !== 0);
  let dstIp: number;
  let dstMac: Uint8Array;
  if (broadcast) {
    dstIp = 0xffff_ffff;
    dstMac = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  } else {
    dstIp = req.ciaddr !== 0 ? req.ciaddr : yiaddr;
    dstMac = req.chaddr;
  }
  return { payload: out, dstIp, dstMac, type };
}

/**
 * IPv4 (RFC 791) header parsing and building, and the two small protocols
 * that ride on it without state: ICMP (RFC 792) and UDP (RFC 768).
 *
 * Parsing never throws: a packet that is truncated, has a bad header
 * checksum or inconsistent lengths comes back as a reason string, which the
 * stack counts and drops.
 */
import {
  rd16,
  rd32,
  wr16,
  wr32,
  sum16,
  checksum,
  finishChecksum,
  pseudoHeaderSum,
} from './bytes.js';
import { ETH_HLEN, ETHERTYPE_IPV4, writeEthHeader } from './ethernet.js';

export const IP_HLEN = 20;
export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const UDP_HLEN = 8;
export const ICMP_HLEN = 8;
export const DEFAULT_TTL = 64;

export interface Ip4Packet {
  /** The whole Ethernet frame. */
  frame: Uint8Array;
  /** Header length in bytes (20 plus options). */
  hdrLen: number;
  /** Offset of the transport payload in `frame`. */
  payOff: number;
  /** Transport payload length (total length minus header; Ethernet padding excluded). */
  payLen: number;
  proto: number;
  src: number;
  dst: number;
  ttl: number;
}

export type DropReason =
  | 'truncated'
  | 'malformed'
  | 'checksum'
  | 'fragment'
  | 'unsupported'
  | 'martian'
  | 'ttl'
  | 'restricted'
  | 'no-route'
  | 'no-socket'
  | 'overload'
  | 'oversize'
  | 'no-connection';

/** Parse the IPv4 header after the Ethernet header, or return why the packet is dropped. */
export function parseIp4(frame: Uint8Array): Ip4Packet | DropReason {
  const o = ETH_HLEN;
  if (frame.length < o + IP_HLEN) return 'truncated';
  const vihl = frame[o]!;
  if (vihl >> 4 !== 4) return 'malformed';
  const hdrLen = (vihl & 0xf) * 4;
  if (hdrLen < IP_HLEN) return 'malformed';
  if (frame.length < o + hdrLen) return 'truncated';
  const total = rd16(frame, o + 2);
  if (total < hdrLen) return 'malformed';
  if (frame.length < o + total) return 'truncated';
  if (checksum(frame, o, o + hdrLen) !== 0) return 'checksum';
  const frag = rd16(frame, o + 6);
  // More-fragments set, or a non-zero fragment offset: reassembly is not supported.
  if ((frag & 0x2000) !== 0 || (frag & 0x1fff) !== 0) return 'fragment';
  return {
    frame,
    hdrLen,
    payOff: o + hdrLen,
    payLen: total - hdrLen,
    proto: frame[o + 9]!,
    src: rd32(frame, o + 12),
    dst: rd32(frame, o + 16),
    ttl: frame[o + 8]!,
  };
}

let ipIdent = 1;

/**
 * A new Ethernet + IPv4 frame with room for `payLen` payload bytes at
 * ETH_HLEN + IP_HLEN; the header (with its checksum) is filled in, the
 * payload is left for the caller. DF is set: nothing here fragments.
 */
export function newIp4Frame(
  dstMac: Uint8Array,
  srcMac: Uint8Array,
  src: number,
  dst: number,
  proto: number,
  payLen: number,
  ttl = DEFAULT_TTL,
): Uint8Array {
  const f = new Uint8Array(ETH_HLEN + IP_HLEN + payLen);
  writeEthHeader(f, dstMac, srcMac, ETHERTYPE_IPV4);
  const o = ETH_HLEN;
  f[o] = 0x45;
  wr16(f, o + 2, IP_HLEN + payLen);
  wr16(f, o + 4, ipIdent);
  ipIdent = (ipIdent + 1) & 0xffff;
  wr16(f, o + 6, 0x4000);
  f[o + 8] = ttl;
  f[o + 9] = proto;
  wr32(f, o + 12, src);
  wr32(f, o + 16, dst);
  wr16(f, o + 10, checksum(f, o, o + IP_HLEN));
  return f;
}

/** Checksum of a TCP or UDP segment at `off` (length `len`) under the pseudo-header; 0 when valid. */
export function transportChecksum(
  f: Uint8Array,
  off: number,
  len: number,
  src: number,
  dst: number,
  proto: number,
): number {
  return finishChecksum(sum16(f, off, off + len, pseudoHeaderSum(src, dst, proto, len)));
}

// ---------------------------------------------------------------------------
// UDP

export interface UdpDatagram {
  srcPort: number;
  dstPort: number;
  /** A view of the payload inside the frame. */
  data: Uint8Array;
}

export function parseUdp(p: Ip4Packet): UdpDatagram | DropReason {
  if (p.payLen < UDP_HLEN) return 'truncated';
  const f = p.frame;
  const o = p.payOff;
  const len = rd16(f, o + 4);
  if (len < UDP_HLEN || len > p.payLen) return 'malformed';
  // A zero checksum means the sender did not compute one.
  if (rd16(f, o + 6) !== 0 && transportChecksum(f, o, len, p.src, p.dst, PROTO_UDP) !== 0)
    return 'checksum';
  return { srcPort: rd16(f, o), dstPort: rd16(f, o + 2), data: f.subarray(o + UDP_HLEN, o + len) };
}

/** A complete Ethernet frame holding one UDP datagram. */
export function buildUdp(
  dstMac: Uint8Array,
  srcMac: Uint8Array,
  src: number,
  srcPort: number,
  dst: number,
  dstPort: number,
  data: Uint8Array,
): Uint8Array {
  const len = UDP_HLEN + data.length;
  const f = newIp4Frame(dstMac, srcMac, src, dst, PROTO_UDP, len);
  const o = ETH_HLEN + IP_HLEN;
  wr16(f, o, srcPort);
  wr16(f, o + 2, dstPort);
  wr16(f, o + 4, len);
  f.set(data, o + UDP_HLEN);
  const c = transportChecksum(f, o, len, src, dst, PROTO_UDP);
  wr16(f, o + 6, c === 0 ? 0xffff : c);
  return f;
}

// ---------------------------------------------------------------------------
// ICMP

export const ICMP_ECHO_REPLY = 0;
export const ICMP_UNREACH = 3;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const UNREACH_NET = 0;
export const UNREACH_HOST = 1;
export const UNREACH_PORT = 3;
export const UNREACH_ADMIN = 13;

/** A complete Ethernet frame holding one ICMP message: type, code, 4 bytes of rest-of-header, body. */
export function buildIcmp(
  dstMac: Uint8Array,
  srcMac: Uint8Array,
  src: number,
  dst: number,
  type: number,
  code: number,
  rest: number,
  body: Uint8Array,
): Uint8Array {
  const len = ICMP_HLEN + body.length;
  const f = newIp4Frame(dstMac, srcMac, src, dst, PROTO_ICMP, len);
  const o = ETH_HLEN + IP_HLEN;
  f[o] = type;
  f[o + 1] = code;
  wr32(f, o + 4, rest);
  f.set(body, o + ICMP_HLEN);
  wr16(f, o + 2, checksum(f, o, o + len));
  return f;
}

/**
 * An ICMP error (destination unreachable, time exceeded) about packet `p`:
 * quotes its IP header and the first 8 bytes of its payload (RFC 792).
 */
export function buildIcmpError(
  dstMac: Uint8Array,
  srcMac: Uint8Array,
  from: number,
  p: Ip4Packet,
  type: number,
  code: number,
): Uint8Array {
  const quoteEnd = Math.min(p.payOff + p.payLen, p.payOff + 8);
  const quote = p.frame.subarray(ETH_HLEN, quoteEnd);
  return buildIcmp(dstMac, srcMac, from, p.src, type, code, 0, quote);
}

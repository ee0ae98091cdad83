/**
 * Ethernet II framing (no 802.1Q tags: tagged frames are dropped) and ARP
 * for IPv4 over Ethernet (RFC 826).
 */
import { rd16, rd32, wr16, wr32, MAC_LEN } from './bytes.js';

export const ETH_HLEN = 14;
/** Largest frame without FCS for a 1500-byte MTU. */
export const ETH_MAX_FRAME = 1514;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;

export function ethType(frame: Uint8Array): number {
  return rd16(frame, 12);
}

/** Write the 14-byte Ethernet header at the start of `frame`. */
export function writeEthHeader(
  frame: Uint8Array,
  dst: Uint8Array,
  src: Uint8Array,
  type: number,
): void {
  frame.set(dst.subarray(0, MAC_LEN), 0);
  frame.set(src.subarray(0, MAC_LEN), 6);
  wr16(frame, 12, type);
}

export const ARP_LEN = 28;
export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;

export interface ArpPacket {
  op: number;
  senderMac: Uint8Array;
  senderIp: number;
  targetMac: Uint8Array;
  targetIp: number;
}

/** Parse an ARP packet for IPv4 over Ethernet after the Ethernet header, or undefined if it is not one. */
export function parseArp(frame: Uint8Array): ArpPacket | undefined {
  const o = ETH_HLEN;
  if (frame.length < o + ARP_LEN) return undefined;
  // htype 1 (Ethernet), ptype IPv4, hlen 6, plen 4
  if (rd16(frame, o) !== 1 || rd16(frame, o + 2) !== ETHERTYPE_IPV4) return undefined;
  if (frame[o + 4] !== 6 || frame[o + 5] !== 4) return undefined;
  return {
    op: rd16(frame, o + 6),
    senderMac: frame.slice(o + 8, o + 14),
    senderIp: rd32(frame, o + 14),
    targetMac: frame.slice(o + 18, o + 24),
    targetIp: rd32(frame, o + 24),
  };
}

/** A complete Ethernet frame carrying one ARP packet. */
export function buildArp(
  ethDst: Uint8Array,
  ethSrc: Uint8Array,
  op: number,
  senderMac: Uint8Array,
  senderIp: number,
  targetMac: Uint8Array,
  targetIp: number,
): Uint8Array {
  const f = new Uint8Array(ETH_HLEN + ARP_LEN);
  writeEthHeader(f, ethDst, ethSrc, ETHERTYPE_ARP);
  const o = ETH_HLEN;
  wr16(f, o, 1);
  wr16(f, o + 2, ETHERTYPE_IPV4);
  f[o + 4] = 6;
  f[o + 5] = 4;
  wr16(f, o + 6, op);
  f.set(senderMac.subarray(0, 6), o + 8);
  wr32(f, o + 14, senderIp);
  f.set(targetMac.subarray(0, 6), o + 18);
  wr32(f, o + 24, targetIp);
  return f;
}

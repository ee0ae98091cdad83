/**
 * Byte-level helpers for the user-mode network stack: big-endian fields,
 * the Internet checksum (RFC 1071), IPv4 and MAC address text forms.
 *
 * IPv4 addresses are handled as unsigned 32-bit numbers throughout.
 */

export function rd16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

export function rd32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

export function wr16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

export function wr32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/**
 * One's-complement sum of b[start, end) as 16-bit big-endian words (an odd
 * last byte is padded with zero), added to `sum`. Not folded: call
 * finishChecksum() on the total.
 */
export function sum16(b: Uint8Array, start: number, end: number, sum = 0): number {
  let s = sum;
  let i = start;
  for (; i + 1 < end; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if (i < end) s += b[i]! << 8;
  // Fold now and then so the running total stays a small integer.
  return s > 0x7fff_ffff ? (s & 0xffff) + Math.floor(s / 0x10000) : s;
}

/** Fold a running sum to 16 bits and complement it: the value to store in a checksum field. */
export function finishChecksum(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

/** The Internet checksum of b[start, end). */
export function checksum(b: Uint8Array, start: number, end: number): number {
  return finishChecksum(sum16(b, start, end));
}

/** Sum of the TCP/UDP pseudo-header (RFC 793 / RFC 768). */
export function pseudoHeaderSum(src: number, dst: number, proto: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + (length & 0xffff);
}

/** `a.b.c.d` → number, or undefined if it is not a dotted-quad IPv4 address. */
export function parseIp4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const part = Number(m[i]);
    if (part > 255) return undefined;
    v = v * 256 + part;
  }
  return v;
}

export function formatIp4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}

export function ip4(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

export const MAC_LEN = 6;
export const BROADCAST_MAC = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** `aa:bb:cc:dd:ee:ff` (or with `-`) → 6 bytes, or undefined. */
export function parseMac(text: string): Uint8Array | undefined {
  const m =
    /^([0-9a-f]{2})([:-])([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$/i.exec(
      text,
    );
  if (!m) return undefined;
  return new Uint8Array([1, 3, 4, 5, 6, 7].map((i) => parseInt(m[i]!, 16)));
}

export function formatMac(mac: Uint8Array): string {
  return Array.from(mac.subarray(0, MAC_LEN), (x) => x.toString(16).padStart(2, '0')).join(':');
}

export function macEquals(a: Uint8Array, ao: number, b: Uint8Array, bo = 0): boolean {
  for (let i = 0; i < MAC_LEN; i++) if (a[ao + i] !== b[bo + i]) return false;
  return true;
}

/** Multicast (including broadcast) addresses have the low bit of the first byte set. */
export function isMulticastMac(b: Uint8Array, o = 0): boolean {
  return (b[o]! & 1) === 1;
}

/** A unicast, not all-zero MAC address that a NIC may use. */
export function isUsableMac(mac: Uint8Array): boolean {
  return mac.length === MAC_LEN && !isMulticastMac(mac) && mac.some((x) => x !== 0);
}

/**
 * The default MAC of NIC `index` of a VM identified by `seed` (its name):
 * locally administered unicast, prefix 02:63:6c ("cl"), then three bytes of
 * an FNV-1a hash of seed and index. The same VM name always gets the same
 * addresses, so the guest's interface names and DHCP leases stay put.
 */
export function defaultMac(seed: string, index: number): Uint8Array {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(`${seed}\0eth${index}`)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return new Uint8Array([0x02, 0x63, 0x6c, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff]);
}

/**
 * DNS messages (RFC 1035) for the resolver at 10.0.2.3: parse one query,
 * build the response from what the host's resolver found. Queries are
 * guest input: names are bounded (255 bytes, 63-byte labels, at most a few
 * compression jumps) and limited to the characters host names use.
 */
import { rd16, wr16, wr32, parseIp4 } from './bytes.js';
import {
  DNS_A,
  DNS_AAAA,
  DNS_CNAME,
  DNS_MX,
  DNS_NS,
  DNS_PTR,
  DNS_SRV,
  DNS_TXT,
  type DnsAnswer,
  type DnsRecord,
} from './host.js';

export const DNS_PORT = 53;
const HDR = 12;
/** Classic UDP DNS limit: larger answers are truncated (TC set). */
const MAX_UDP = 512;

export const RCODE_NOERROR = 0;
export const RCODE_FORMERR = 1;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;
export const RCODE_NOTIMP = 4;
export const RCODE_REFUSED = 5;

export interface DnsQuery {
  id: number;
  /** Recursion desired, echoed back. */
  rd: boolean;
  /** Lower-cased, without the trailing dot. */
  name: string;
  qtype: number;
  qclass: number;
  /** The question section as received (echoed in the response). */
  question: Uint8Array;
}

export type ParsedQuery = { ok: true; query: DnsQuery } | { ok: false; id: number; rcode: number };

/** Read a (possibly compressed) name at `off`; returns the name and the offset after it, or undefined. */
function readName(m: Uint8Array, off: number): { name: string; end: number } | undefined {
  const labels: string[] = [];
  let i = off;
  let end = -1;
  let jumps = 0;
  let total = 0;
  for (;;) {
    if (i >= m.length) return undefined;
    const len = m[i]!;
    if (len === 0) {
      if (end < 0) end = i + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (i + 1 >= m.length || ++jumps > 8) return undefined;
      if (end < 0) end = i + 2;
      i = ((len & 0x3f) << 8) | m[i + 1]!;
      continue;
    }
    if (len > 63 || i + 1 + len > m.length) return undefined;
    total += len + 1;
    if (total > 254) return undefined;
    let label = '';
    for (let k = i + 1; k <= i + len; k++) label += String.fromCharCode(m[k]!);
    labels.push(label);
    i += 1 + len;
  }
  return { name: labels.join('.'), end };
}

/** Parse a query message. Undefined means "not a query at all" (drop silently). */
export function parseDnsQuery(m: Uint8Array): ParsedQuery | undefined {
  if (m.length < HDR) return undefined;
  const id = rd16(m, 0);
  const flags = rd16(m, 2);
  if (flags & 0x8000) return undefined; // a response
  const opcode = (flags >> 11) & 0xf;
  if (opcode !== 0) return { ok: false, id, rcode: RCODE_NOTIMP };
  if (rd16(m, 4) !== 1) return { ok: false, id, rcode: RCODE_FORMERR };
  const q = readName(m, HDR);
  if (!q || q.end + 4 > m.length) return { ok: false, id, rcode: RCODE_FORMERR };
  const name = q.name.toLowerCase();
  // Host names only: letters, digits, '-', '_', '.'; nothing a resolver could misread.
  if (name === '' || !/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(name))
    return { ok: false, id, rcode: RCODE_REFUSED };
  const question = new Uint8Array(q.end - HDR + 4);
  // Re-encode the name uncompressed so the echoed question stands on its own.
  let w = 0;
  for (const label of name.split('.')) {
    question[w++] = label.length;
    for (let k = 0; k < label.length; k++) question[w++] = label.charCodeAt(k);
  }
  question[w++] = 0;
  const qtype = rd16(m, q.end);
  const qclass = rd16(m, q.end + 2);
  wr16(question, w, qtype);
  wr16(question, w + 2, qclass);
  return {
    ok: true,
    query: {
      id,
      rd: (flags & 0x0100) !== 0,
      name,
      qtype,
      qclass,
      question: question.subarray(0, w + 4),
    },
  };
}

function encodeName(name: string): number[] | undefined {
  const out: number[] = [];
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  if (trimmed !== '') {
    for (const label of trimmed.split('.')) {
      const bytes = new TextEncoder().encode(label);
      if (bytes.length === 0 || bytes.length > 63) return undefined;
      out.push(bytes.length, ...bytes);
    }
  }
  out.push(0);
  return out.length > 255 ? undefined : out;
}

function ip6Bytes(text: string): number[] | undefined {
  // Expand "::" and parse eight 16-bit groups (an embedded IPv4 tail is accepted).
  let s = text;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const n = parseIp4(v4[1]!);
    if (n === undefined) return undefined;
    s = s.slice(0, -v4[1]!.length) + `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const fill = 8 - head.length - tail.length;
  if (halves.length === 1 ? fill !== 0 : fill < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? fill : 0).fill('0'), ...tail];
  const out: number[] = [];
  for (const g of groups) {
    if (!/^[0-9a-f]{1,4}$/i.test(g)) return undefined;
    const v = parseInt(g, 16);
    out.push(v >> 8, v & 0xff);
  }
  return out;
}

/** RDATA for one record, or undefined if it cannot be encoded. */
function rdata(r: DnsRecord): number[] | undefined {
  switch (r.type) {
    case DNS_A: {
      const n = parseIp4(r.address);
      return n === undefined
        ? undefined
        : [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
    }
    case DNS_AAAA:
      return ip6Bytes(r.address);
    case DNS_CNAME:
    case DNS_NS:
    case DNS_PTR:
      return encodeName(r.name);
    case DNS_MX: {
      const n = encodeName(r.exchange);
      return n && [r.priority >> 8, r.priority & 0xff, ...n];
    }
    case DNS_TXT: {
      const out: number[] = [];
      for (const t of r.texts) {
        const b = new TextEncoder().encode(t);
        if (b.length === 0) out.push(0);
        for (let i = 0; i < b.length; i += 255) {
          const part = b.subarray(i, i + 255);
          out.push(part.length, ...part);
        }
      }
      return out;
    }
    case DNS_SRV: {
      const n = encodeName(r.name);
      return (
        n && [
          r.priority >> 8,
          r.priority & 0xff,
          r.weight >> 8,
          r.weight & 0xff,
          r.port >> 8,
          r.port & 0xff,
          ...n,
        ]
      );
    }
  }
}

/** The response to `q`: the host's answer, truncated (TC) to fit 512 bytes. */
export function buildDnsResponse(q: DnsQuery, answer: DnsAnswer): Uint8Array {
  const out = new Uint8Array(MAX_UDP);
  wr16(out, 0, q.id);
  out.set(q.question, HDR);
  let w = HDR + q.question.length;
  let count = 0;
  let truncated = false;
  if (answer.rcode === RCODE_NOERROR) {
    for (const { ttl, record } of answer.records) {
      const data = rdata(record);
      if (!data || data.length > 0xffff) continue;
      const size = 2 + 10 + data.length;
      if (w + size > MAX_UDP) {
        truncated = true;
        break;
      }
      wr16(out, w, 0xc000 | HDR); // the name: a pointer to the question
      wr16(out, w + 2, record.type);
      wr16(out, w + 4, 1); // IN
      wr32(out, w + 6, Math.max(0, Math.min(ttl, 0x7fff_ffff)) >>> 0);
      wr16(out, w + 10, data.length);
      out.set(data, w + 12);
      w += size;
      count++;
    }
  }
  // QR, opcode 0, RD echoed, RA; TC when answers did not fit.
  wr16(out, 2, 0x8080 | (q.rd ? 0x0100 : 0) | (truncated ? 0x0200 : 0) | (answer.rcode & 0xf));
  wr16(out, 4, 1);
  wr16(out, 6, count);
  return out.slice(0, w);
}

/** A header-only error response (FORMERR, NOTIMP, REFUSED) for a query that could not be parsed. */
export function buildDnsError(id: number, rcode: number): Uint8Array {
  const out = new Uint8Array(HDR);
  wr16(out, 0, id);
  wr16(out, 2, 0x8080 | (rcode & 0xf));
  return out;
}

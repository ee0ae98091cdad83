/**
 * The input log of a deterministic run (`record=FILE`, `replay=FILE`):
 * console input with the instruction count at which it reached the guest.
 * With the seed, that is everything a deterministic run takes from outside,
 * so replaying the log repeats the run exactly. Text, one event per line,
 * so that it can be written as the run goes and read by people:
 *
 *   colinux-input-log 1 seed=SEED
 *   <instructions retired> <console input, base64>
 *   <instructions retired> ethN <c|-> <gso SIZE:START|-> <frame, base64>
 *
 * A frame line is one the NAT gave network card N (`c`: its checksums are
 * the NAT's own and complete; gso: a large TCP segment for the guest to
 * take as is).
 *
 * A log is outside input when replayed: every line is checked.
 */

import type { GsoInfo } from '../net/link.js';

export const LOG_MAGIC = 'colinux-input-log';
export const LOG_VERSION = 1;
/** Most input bytes a log may hold in all. */
const MAX_LOG_BYTES = 64 << 20;

export interface InputEvent {
  /** Instructions the guest had retired when the input reached it. */
  at: bigint;
  bytes: Uint8Array;
  /** A frame for network card `nic` (else console input). */
  nic?: number;
  checksummed?: boolean;
  gso?: GsoInfo;
}

export interface InputLog {
  seed: number;
  events: InputEvent[];
}

export class InputLogError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputLogError';
  }
}

/** The log's first line. */
export function logHeader(seed: number): string {
  return `${LOG_MAGIC} ${LOG_VERSION} seed=${seed}\n`;
}

function base64(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** One console input's line. */
export function logLine(at: bigint, bytes: Uint8Array): string {
  return `${at} ${base64(bytes)}\n`;
}

/** One frame's line. */
export function frameLine(
  at: bigint,
  nic: number,
  frame: Uint8Array,
  checksummed: boolean,
  gso: GsoInfo | undefined,
): string {
  const g = gso ? `${gso.size}:${gso.csumStart}` : '-';
  return `${at} eth${nic} ${checksummed ? 'c' : '-'} ${g} ${base64(frame)}\n`;
}

/** Parse a log; InputLogError names the line and what is wrong with it. */
export function parseInputLog(text: string): InputLog {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const head = /^colinux-input-log (\d+) seed=(\d{1,15})$/.exec(lines[0] ?? '');
  if (!head)
    throw new InputLogError(`line 1: not a colinux input log (it starts with "${LOG_MAGIC}")`);
  if (Number(head[1]) !== LOG_VERSION) {
    throw new InputLogError(
      `line 1: log version ${head[1]}; this colinux reads version ${LOG_VERSION}`,
    );
  }
  const events: InputEvent[] = [];
  let total = 0;
  let last = 0n;
  for (let i = 1; i < lines.length; i++) {
    const m =
      /^(\d{1,19}) (?:eth(\d{1,2}) ([c-]) (-|\d{1,5}:\d{1,5}) )?([A-Za-z0-9+/]*={0,2})$/.exec(
        lines[i]!,
      );
    if (!m) {
      throw new InputLogError(
        `line ${i + 1}: expected "<instructions> <base64>" or "<instructions> ethN <c|-> <gso|-> <base64>"`,
      );
    }
    const at = BigInt(m[1]!);
    if (at >= 1n << 63n) throw new InputLogError(`line ${i + 1}: instruction count out of range`);
    if (at < last) throw new InputLogError(`line ${i + 1}: instruction counts go backwards`);
    last = at;
    let bin: string;
    try {
      bin = atob(m[5]!);
    } catch {
      throw new InputLogError(`line ${i + 1}: bad base64`);
    }
    total += bin.length;
    if (total > MAX_LOG_BYTES)
      throw new InputLogError(`more than ${MAX_LOG_BYTES >> 20} MiB of input`);
    const bytes = new Uint8Array(bin.length);
    for (let j = 0; j < bin.length; j++) bytes[j] = bin.charCodeAt(j);
    const event: InputEvent = { at, bytes };
    if (m[2] !== undefined) {
      event.nic = Number(m[2]);
      if (event.nic > 15) throw new InputLogError(`line ${i + 1}: no network card eth${event.nic}`);
      event.checksummed = m[3] === 'c';
      if (m[4] !== '-') {
        const [size, csumStart] = m[4]!.split(':').map(Number) as [number, number];
        if (size === 0 || csumStart + 34 > bytes.length) {
          throw new InputLogError(
            `line ${i + 1}: GSO segment size 0, or checksum offset beyond the frame`,
          );
        }
        event.gso = { size, csumStart };
      }
    }
    events.push(event);
  }
  return { seed: Number(head[2]), events };
}

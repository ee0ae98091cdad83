/**
 * The recent console output of a VM, kept so a console that attaches later
 * sees where the guest is (`colinux console NAME` replays it). Bounded both
 * by lines and by bytes: the oldest output goes first.
 */

export interface ConsoleRingOptions {
  /** Lines to keep (default 1000). */
  maxLines?: number;
  /** Bytes to keep (default 1 MiB). */
  maxBytes?: number;
}

export const DEFAULT_RING_LINES = 1000;
export const DEFAULT_RING_BYTES = 1 << 20;

export class ConsoleRing {
  readonly maxLines: number;
  readonly maxBytes: number;
  private chunks: Uint8Array[] = [];
  /** Offset of the first kept byte in chunks[0]. */
  private head = 0;
  private bytes = 0;
  /** Newlines in the kept bytes. */
  private newlines = 0;

  constructor(opts: ConsoleRingOptions = {}) {
    this.maxLines = positive(opts.maxLines, DEFAULT_RING_LINES);
    this.maxBytes = positive(opts.maxBytes, DEFAULT_RING_BYTES);
  }

  /** Append output. */
  push(data: Uint8Array): void {
    if (data.length === 0) return;
    const copy = data.slice();
    this.chunks.push(copy);
    this.bytes += copy.length;
    this.newlines += countNewlines(copy, 0);
    this.trim();
  }

  /** The kept output, oldest first. */
  contents(): Uint8Array {
    const out = new Uint8Array(this.bytes);
    let at = 0;
    this.chunks.forEach((c, i) => {
      const part = i === 0 ? c.subarray(this.head) : c;
      out.set(part, at);
      at += part.length;
    });
    return out;
  }

  /** Bytes kept. */
  get size(): number {
    return this.bytes;
  }

  /** Complete lines kept (newline characters). */
  get lines(): number {
    return this.newlines;
  }

  /**
   * Drop from the front until at most maxLines complete lines (plus the
   * partial line being written) and at most maxBytes remain.
   */
  private trim(): void {
    while (this.newlines > this.maxLines) {
      const first = this.chunks[0]!;
      const nl = first.indexOf(0x0a, this.head);
      if (nl < 0) {
        this.dropFirst();
        continue;
      }
      this.bytes -= nl + 1 - this.head;
      this.newlines--;
      this.head = nl + 1;
      if (this.head >= first.length) this.dropFirst();
    }
    while (this.bytes > this.maxBytes) {
      const first = this.chunks[0]!;
      const excess = this.bytes - this.maxBytes;
      const avail = first.length - this.head;
      if (excess >= avail) {
        this.newlines -= countNewlines(first, this.head);
        this.bytes -= avail;
        this.chunks.shift();
        this.head = 0;
      } else {
        this.newlines -= countNewlines(first.subarray(this.head, this.head + excess), 0);
        this.head += excess;
        this.bytes -= excess;
      }
    }
  }

  private dropFirst(): void {
    const first = this.chunks.shift()!;
    const rest = first.length - this.head;
    this.newlines -= countNewlines(first, this.head);
    this.bytes -= rest;
    this.head = 0;
  }
}

function positive(v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`console ring: bad size ${v}`);
  return v;
}

function countNewlines(b: Uint8Array, from: number): number {
  let n = 0;
  for (let i = from; i < b.length; i++) if (b[i] === 0x0a) n++;
  return n;
}

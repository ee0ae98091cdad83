/**
 * The event trace (`trace=traps,irqs,sbi,virtio`): one line per event,
 * first the instructions the guest had retired when it happened. Traps and
 * interrupts come from the core's trace buffer (src/cpu/trace.ts) with
 * exact counts; SBI calls are served between slices, so theirs are exact
 * too; a virtio notification is a device register write in the middle of
 * a slice, so it carries the count at the start of that slice (`~`).
 */

export const TRACE_KINDS = ['traps', 'irqs', 'sbi', 'virtio'] as const;
export type TraceKind = (typeof TRACE_KINDS)[number];

const EXCEPTIONS = [
  'instruction address misaligned', 'instruction access fault', 'illegal instruction',
  'breakpoint', 'load address misaligned', 'load access fault', 'store address misaligned',
  'store access fault', 'ecall from U', 'ecall from S', 'cause 10', 'ecall from M',
  'instruction page fault', 'load page fault', 'cause 14', 'store page fault',
]; // prettier-ignore
const INTERRUPTS: Record<number, string> = {
  1: 'supervisor software', 3: 'machine software', 5: 'supervisor timer', 7: 'machine timer',
  9: 'supervisor external', 11: 'machine external',
}; // prettier-ignore
const PRIV = ['U', 'S', '?', 'M'];

/** Parse `traps,irqs,…` (or `all`); returns the kinds, or a message naming the bad one. */
export function parseTraceKinds(text: string): Set<TraceKind> | string {
  if (text === 'all') return new Set(TRACE_KINDS);
  const kinds = new Set<TraceKind>();
  for (const k of text.split(',')) {
    if (!(TRACE_KINDS as readonly string[]).includes(k)) {
      return `unknown trace kind "${k}"; use ${TRACE_KINDS.join(', ')} or all`;
    }
    kinds.add(k as TraceKind);
  }
  return kinds;
}

function hex(v: bigint): string {
  return '0x' + BigInt.asUintN(64, v).toString(16);
}

export class Tracer {
  private lines: string[] = [];

  constructor(
    readonly kinds: ReadonlySet<TraceKind>,
    private readonly write: (text: string) => void,
  ) {}

  /** A trap or interrupt from the core's buffer. */
  trap(at: bigint, cause: bigint, epc: bigint, tval: bigint, from: number, to: number): void {
    const interrupt = cause >> 63n !== 0n;
    if (!this.kinds.has(interrupt ? 'irqs' : 'traps')) return;
    const code = Number(cause & 0xffn);
    const name = interrupt
      ? (INTERRUPTS[code] ?? `interrupt ${code}`)
      : (EXCEPTIONS[code] ?? `cause ${code}`);
    const move = `${PRIV[from & 3]}->${PRIV[to & 3]}`;
    this.lines.push(
      interrupt
        ? `${at} irq ${name} at ${hex(epc)} ${move}`
        : `${at} trap ${name} at ${hex(epc)} tval=${hex(tval)} ${move}`,
    );
  }

  /** An SBI call served by the host, and its result. */
  sbi(
    at: bigint,
    eid: number,
    fid: number,
    a0: bigint,
    a1: bigint,
    error: bigint,
    value: bigint,
  ): void {
    if (!this.kinds.has('sbi')) return;
    this.lines.push(
      `${at} sbi eid=${hex(BigInt(eid))} fid=${fid} a0=${hex(a0)} a1=${hex(a1)} -> error=${BigInt.asIntN(64, error)} value=${hex(value)}`,
    );
  }

  /** A driver's notification of a virtio queue (count: the slice's start). */
  virtio(at: bigint, slot: number, device: string, queue: number): void {
    if (!this.kinds.has('virtio')) return;
    this.lines.push(`~${at} virtio slot ${slot} (${device}) queue ${queue} notified`);
  }

  /** The core's buffer overflowed between two drains. */
  lost(at: bigint, n: number): void {
    this.lines.push(`${at} (${n} traps and interrupts not traced: too many in one slice)`);
  }

  /** Write what gathered (the run loop calls it after every slice). */
  flush(): void {
    if (this.lines.length === 0) return;
    this.write(this.lines.join('\n') + '\n');
    this.lines = [];
  }
}

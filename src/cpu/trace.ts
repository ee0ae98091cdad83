// The trap trace (trace=traps,irqs): each trap and interrupt the hart
// takes, with the instructions retired before it, into a buffer the host
// drains after every run() (src/debug/trace.ts formats it). Off, it costs
// one flag test on the trap path, which is a slow path anyway.

export const TRACE_ENTRIES: u32 = 4096;
// Entry: retired (u64), cause (u64, bit 63 for interrupts), epc, tval,
// from and to privilege (u32 each).
export const TRACE_ENTRY_BYTES: u32 = 40;
const BUFFER: usize = memory.data(<i32>(TRACE_ENTRIES * TRACE_ENTRY_BYTES), 8);

export let traceOn: bool = false;
export let traceCount: u32 = 0;
// Entries lost because the buffer was full before the host drained it.
export let traceDropped: u32 = 0;
// Instructions retired before the trap being taken (set by the run loop).
export let traceAt: u64 = 0;

export function setTraceAt(at: u64): void {
  traceAt = at;
}

export function traceEnable(on: bool): void {
  traceOn = on;
  traceCount = 0;
  traceDropped = 0;
}

export function traceBuffer(): usize {
  return BUFFER;
}

export function traceClear(): void {
  traceCount = 0;
  traceDropped = 0;
}

export function traceTrap(cause: u64, epc: u64, tval: u64, from: u32, to: u32): void {
  if (traceCount >= TRACE_ENTRIES) {
    traceDropped++;
    return;
  }
  const e = BUFFER + <usize>(traceCount * TRACE_ENTRY_BYTES);
  store<u64>(e, traceAt);
  store<u64>(e, cause, 8);
  store<u64>(e, epc, 16);
  store<u64>(e, tval, 24);
  store<u32>(e, from, 32);
  store<u32>(e, to, 36);
  traceCount++;
}

// Which physical RAM pages hold translated code (for the JIT, src/jit).
//
// One u32 per 4 KiB page of RAM: bit 0 is set while translations of the
// page may be in use; the upper bits count how often the page was written
// after being translated. A translation is valid only while the page's word
// still equals the value it was made under, so writing a code page
// invalidates every translation of it in O(1). Pages marked as code never
// enter a store TLB: stores to them take the slow path, which lands here.

import { ramOffset, ramSize, RAM_BASE } from './state';

export let pageGen: usize = 0;
// One u32 per page after the words: how many block entries the interpreter
// made into the page (up to the JIT's page threshold). Only entries of pages
// that reached it are counted one by one (jit.ts), so cold code costs one
// counter per page instead of a probe of the entry cache per taken branch.
export let pageHeat: usize = 0;
let pages: u32 = 0;

// A page rewritten this often (code and data mixed) is not translated again.
const MAX_REWRITES: u32 = 1024;

/** Reserve the table at `base` (zeroed memory) for `ramBytes` of RAM. */
export function codePagesInit(base: usize, ramBytes: u64): void {
  pageGen = base;
  pages = <u32>(ramBytes >> 12);
  pageHeat = base + (<usize>pages << 2);
}

export function codePagesBytes(ramBytes: u64): usize {
  return <usize>((ramBytes >> 12) << 3);
}

/** The page word for RAM physical address `pa` (caller checked it is in RAM). */
@inline export function pageWord(pa: u64): usize {
  return pageGen + (<usize>((pa - RAM_BASE) >> 12) << 2);
}

/** Does the RAM page holding `pa` have translations? */
@inline export function isCodePage(pa: u64): bool {
  return (load<u32>(pageWord(pa)) & 1) != 0;
}

/** A write hit the RAM page holding `pa`: drop its translations. Returns true if it had any. */
export function codeWritten(pa: u64): bool {
  const w = pageWord(pa);
  const v = load<u32>(w);
  if ((v & 1) == 0) return false;
  store<u32>(w, v + 1); // clears bit 0, counts the rewrite
  return true;
}

/** The host wrote RAM [pa, pa + len): drop translations of every page it touched. */
export function codeWrittenRange(pa: u64, len: u64): void {
  if (pages == 0 || len == 0 || pa < RAM_BASE) return;
  let first = (pa - RAM_BASE) >> 12;
  let last = (pa - RAM_BASE + len - 1) >> 12;
  if (last >= <u64>pages) last = <u64>pages - 1;
  for (let p = first; p <= last; p++) codeWritten(RAM_BASE + (p << 12));
}

/**
 * Mark the page holding linear-memory address `host` as code; returns its
 * word (translations made now are valid while it is unchanged), or 0 if the
 * page must not be translated.
 */
export function markCodePage(host: usize): u32 {
  if (pages == 0 || host < ramOffset || <u64>(host - ramOffset) >= ramSize) return 0;
  const w = pageGen + (((host - ramOffset) >> 12) << 2);
  let v = load<u32>(w);
  if ((v >> 1) >= MAX_REWRITES) return 0;
  v |= 1;
  store<u32>(w, v);
  return v;
}

/** Forget every translation of every page (the host dropped all compiled code). */
export function codePagesReset(): void {
  memory.fill(pageHeat, 0, <usize>pages << 2);
  for (let p: u32 = 0; p < pages; p++) {
    const w = pageGen + (<usize>p << 2);
    const v = load<u32>(w);
    // Not counted as a rewrite: the host drops every compiled block with this.
    if ((v & 1) != 0) store<u32>(w, v & ~1);
  }
}

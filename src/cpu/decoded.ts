// Decoded-instruction pages: what the interpreter learnt about the code in a
// physical RAM page, so running it again skips fetch, RVC expansion and the
// decoder's tree of branches.
//
// A direct-mapped set of SLOTS slots, each holding one page: a header (host
// address of the page, the code-page word it was filled under, generation)
// and one u64 per halfword of the page:
//
//   bits  0-31  the instruction (a 16-bit one already expanded)
//   bits 32-47  the 16-bit encoding it was expanded from, 0 for a 32-bit one
//   bits 48-56  its Op (build/decoder.ts); illegal encodings are not kept
//   bits 57-63  the slot's generation when it was filled (0: never)
//
// An entry is valid only while its generation is the slot's. A page gets a
// slot only once it is marked as code (codepages.ts): then every write to it
// takes the store slow path and changes its word, so a slot made under an
// older word is stale, and is given a new generation instead of being
// cleared. The slots are a cache: nothing in them is saved or needs to be.

export const SLOTS: u32 = 512;
export const GEN_SHIFT: u64 = 57;
const GEN_MAX: u32 = 127;
/** fetchGen of a page without a slot: no entry matches it, and none is filled. */
export const NO_GEN: u64 = 128;
const ENTRIES_BYTES: usize = 2048 * 8;
const HEADER_BYTES: usize = 16;

let base: usize = 0;

export function decodedBytes(): usize {
  return <usize>SLOTS * (HEADER_BYTES + ENTRIES_BYTES);
}

/** Reserve the slots at `at` (zeroed memory). */
export function decodedInit(at: usize): void {
  base = at;
}

@inline function header(hostPage: usize): usize {
  return base + ((hostPage >> 12) & (<usize>SLOTS - 1)) * HEADER_BYTES;
}
@inline function entriesOf(hostPage: usize): usize {
  return (
    base +
    <usize>SLOTS * HEADER_BYTES +
    ((hostPage >> 12) & (<usize>SLOTS - 1)) * ENTRIES_BYTES
  );
}

// The current fetch page's entries and generation (set by decodedAttach).
export let fetchDecoded: usize = 0;
export let fetchGen: u64 = NO_GEN;

/** The current fetch page has no slot (it is not treated as code). */
export function decodedDetach(): void {
  fetchDecoded = base;
  fetchGen = NO_GEN;
}

/**
 * Make the slot of `hostPage` (marked as code under `word`) current for
 * fetches: the entries are kept if the slot holds this page under this word.
 */
export function decodedAttach(hostPage: usize, word: u32): void {
  const h = header(hostPage);
  let gen = load<u32>(h, 8);
  if (load<u32>(h) != <u32>hostPage || load<u32>(h, 4) != word || gen == 0) {
    gen++;
    if (gen > GEN_MAX) {
      memory.fill(entriesOf(hostPage), 0, ENTRIES_BYTES);
      gen = 1;
    }
    store<u32>(h, <u32>hostPage);
    store<u32>(h, word, 4);
    store<u32>(h, gen, 8);
  }
  fetchDecoded = entriesOf(hostPage);
  fetchGen = <u64>gen;
}

/** Forget every slot (page words may come back to values they had). */
export function decodedReset(): void {
  for (let s: u32 = 0; s < SLOTS; s++) store<u32>(base + <usize>s * HEADER_BYTES, 0);
}

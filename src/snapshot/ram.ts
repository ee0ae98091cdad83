/**
 * Guest RAM in a snapshot: pages that are all zero are left out, the rest
 * are compressed (raw deflate, RFC 1951, through the CompressionStream that
 * Node and browsers both provide).
 *
 *     u32      page size (PAGE_BYTES)
 *     u32      page count P (RAM size / page size)
 *     ⌈P/8⌉    bitmap: bit i (byte i>>3, bit i&7) set = page i is stored
 *     …        deflate-raw stream of the stored pages, in page order
 *
 * Decoding writes straight into the new machine's RAM and refuses a stream
 * that inflates to more or fewer bytes than the bitmap promises, so a
 * damaged or hostile file can neither overrun RAM nor leave stale pages.
 */
import { SnapshotError } from './container.js';
import { concat } from '../machine/fdt.js';

export const PAGE_BYTES = 4096;
/** Bytes handed to the compressor at a time (consecutive stored pages are joined). */
const CHUNK_BYTES = 1 << 20;

function allZero(words: BigUint64Array, first: number, count: number): boolean {
  for (let i = first, end = first + count; i < end; i++) if (words[i] !== 0n) return false;
  return true;
}

async function drain(readable: ReadableStream<Uint8Array>): Promise<Uint8Array[]> {
  const parts: Uint8Array[] = [];
  const reader = readable.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return parts;
    parts.push(value);
  }
}

/**
 * Encode `ram` (a whole number of pages, 8-byte aligned). The caller keeps
 * the machine paused until this resolves: pages are read as it goes.
 */
export async function encodeRam(ram: Uint8Array): Promise<Uint8Array> {
  if (ram.length % PAGE_BYTES !== 0 || ram.byteOffset % 8 !== 0) {
    throw new RangeError('RAM must be a whole number of pages, 8-byte aligned');
  }
  const pages = ram.length / PAGE_BYTES;
  const words = new BigUint64Array(ram.buffer, ram.byteOffset, ram.length / 8);
  const wordsPerPage = PAGE_BYTES / 8;
  const head = new Uint8Array(8 + Math.ceil(pages / 8));
  const dv = new DataView(head.buffer);
  dv.setUint32(0, PAGE_BYTES, true);
  dv.setUint32(4, pages, true);
  const bitmap = head.subarray(8);

  const compressor = new CompressionStream('deflate-raw');
  const compressed = drain(compressor.readable);
  const writer = compressor.writable.getWriter();
  // Runs of stored pages go in as copies of up to CHUNK_BYTES each.
  let runStart = -1;
  const flush = async (end: number): Promise<void> => {
    for (let p = runStart; p < end; p += CHUNK_BYTES / PAGE_BYTES) {
      const stop = Math.min(end, p + CHUNK_BYTES / PAGE_BYTES);
      await writer.write(ram.slice(p * PAGE_BYTES, stop * PAGE_BYTES));
    }
    runStart = -1;
  };
  for (let p = 0; p < pages; p++) {
    if (allZero(words, p * wordsPerPage, wordsPerPage)) {
      if (runStart >= 0) await flush(p);
      continue;
    }
    bitmap[p >> 3]! |= 1 << (p & 7);
    if (runStart < 0) runStart = p;
    else if ((p - runStart) * PAGE_BYTES >= CHUNK_BYTES) {
      await flush(p);
      runStart = p;
    }
  }
  if (runStart >= 0) await flush(pages);
  await writer.close();
  return concat([head, ...(await compressed)]);
}

/** Decode a RAM section into `ram`: all zero (a new machine's), of the size it was taken from. */
export async function decodeRam(section: Uint8Array, ram: Uint8Array): Promise<void> {
  if (section.length < 8) throw new SnapshotError('the RAM section is truncated');
  const dv = new DataView(section.buffer, section.byteOffset, section.byteLength);
  const pageBytes = dv.getUint32(0, true);
  const pages = dv.getUint32(4, true);
  if (pageBytes !== PAGE_BYTES || pages * PAGE_BYTES !== ram.length) {
    throw new SnapshotError(
      `the RAM section holds ${pages} pages of ${pageBytes} bytes; the machine has ${ram.length} bytes of RAM`,
    );
  }
  const mapEnd = 8 + Math.ceil(pages / 8);
  if (section.length < mapEnd) throw new SnapshotError('the RAM section is truncated');
  const bitmap = section.subarray(8, mapEnd);
  const stored: number[] = [];
  for (let p = 0; p < pages; p++) if (bitmap[p >> 3]! & (1 << (p & 7))) stored.push(p);

  // (RAM is a new machine's: all zero, so pages not stored need no writing, and
  // untouched pages stay uncommitted in the host.)
  const inflater = new DecompressionStream('deflate-raw');
  const writer = inflater.writable.getWriter();
  // Errors surface through the reader; the writer's own promise is awaited there too.
  const fed = writer.write(section.slice(mapEnd)).then(() => writer.close());
  fed.catch(() => undefined);
  const reader = inflater.readable.getReader();
  let page = 0; // index into `stored`
  let within = 0; // bytes of stored[page] already written
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      let at = 0;
      while (at < value.length) {
        if (page >= stored.length) {
          throw new SnapshotError('the RAM section inflates to more pages than it lists');
        }
        const n = Math.min(value.length - at, PAGE_BYTES - within);
        ram.set(value.subarray(at, at + n), stored[page]! * PAGE_BYTES + within);
        at += n;
        within += n;
        if (within === PAGE_BYTES) {
          page++;
          within = 0;
        }
      }
    }
    await fed;
  } catch (e) {
    await reader.cancel().catch(() => undefined);
    if (e instanceof SnapshotError) throw e;
    throw new SnapshotError(`the RAM section is damaged (${(e as Error).message ?? String(e)})`);
  }
  if (page !== stored.length || within !== 0) {
    throw new SnapshotError('the RAM section inflates to fewer pages than it lists');
  }
}

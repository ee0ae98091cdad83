/** Whole-buffer raw deflate (RFC 1951) through the CompressionStream of Node and browsers. */
import { SnapshotError } from './container.js';
import { concat } from '../machine/fdt.js';

async function pipe(
  stream: CompressionStream | DecompressionStream,
  bytes: Uint8Array,
  limit: number,
): Promise<Uint8Array> {
  const writer = stream.writable.getWriter();
  // A copy: the stream takes only ArrayBuffer-backed views (guest RAM may be shared memory).
  const fed = writer.write(bytes.slice()).then(() => writer.close());
  fed.catch(() => undefined);
  const reader = stream.readable.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw new SnapshotError(`a section inflates to more than the ${limit} bytes it declares`);
    }
    parts.push(value);
  }
  await fed;
  return concat(parts);
}

export function deflate(bytes: Uint8Array): Promise<Uint8Array> {
  return pipe(new CompressionStream('deflate-raw'), bytes, Number.MAX_SAFE_INTEGER);
}

/** Inflate `bytes`, which must give exactly `length` bytes. */
export async function inflate(bytes: Uint8Array, length: number): Promise<Uint8Array> {
  let out: Uint8Array;
  try {
    out = await pipe(new DecompressionStream('deflate-raw'), bytes, length);
  } catch (e) {
    if (e instanceof SnapshotError) throw e;
    throw new SnapshotError(`a section is damaged (${(e as Error).message ?? String(e)})`);
  }
  if (out.length !== length) {
    throw new SnapshotError(
      `a section inflates to ${out.length} bytes, not the ${length} it declares`,
    );
  }
  return out;
}

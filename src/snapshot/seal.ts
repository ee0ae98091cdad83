/**
 * A snapshot's seal: HMAC-SHA-256 (RFC 2104, FIPS 180-4) under a key only
 * its maker holds, over every byte of the file before the seal.
 *
 * Why: a snapshot names host resources (disk images, shared folders, port
 * forwards, serial endpoints) that resuming it opens. A file made by
 * someone else must not get them just by being resumed; a file made by the
 * same user on the same host (who holds the key) may. WebCrypto, so the same
 * code runs in Node and in a browser.
 */

export const SEAL_BYTES = 32;
/** Keys are random bytes; shorter ones are refused. */
export const SEAL_KEY_BYTES = 32;

/** WebCrypto takes views of plain ArrayBuffers; ours are (files, never shared memory). */
function plain(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  if (!(bytes.buffer instanceof ArrayBuffer)) return new Uint8Array(bytes);
  return bytes as Uint8Array<ArrayBuffer>;
}

async function hmacKey(key: Uint8Array, usage: 'sign' | 'verify'): Promise<CryptoKey> {
  if (key.length < SEAL_KEY_BYTES) {
    throw new RangeError(`a snapshot key has at least ${SEAL_KEY_BYTES} bytes`);
  }
  return crypto.subtle.importKey('raw', plain(key), { name: 'HMAC', hash: 'SHA-256' }, false, [
    usage,
  ]);
}

/** The seal of `covered` under `key`. */
export async function sealOf(covered: Uint8Array, key: Uint8Array): Promise<Uint8Array> {
  const code = await crypto.subtle.sign('HMAC', await hmacKey(key, 'sign'), plain(covered));
  return new Uint8Array(code);
}

/** Whether `code` is the seal of `covered` under `key` (compared in constant time). */
export async function sealValid(
  code: Uint8Array,
  covered: Uint8Array,
  key: Uint8Array,
): Promise<boolean> {
  if (code.length !== SEAL_BYTES) return false;
  return crypto.subtle.verify('HMAC', await hmacKey(key, 'verify'), plain(code), plain(covered));
}

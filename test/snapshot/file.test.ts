/** The snapshot file's container and RAM codec, fed good and damaged input. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readContainer, writeContainer, SnapshotError } from '../../src/snapshot/container.js';
import { crc32 } from '../../src/snapshot/crc32.js';
import { decodeRam, encodeRam, PAGE_BYTES } from '../../src/snapshot/ram.js';
import { deflate, inflate } from '../../src/snapshot/deflate.js';
import { SEAL_BYTES, SEAL_KEY_BYTES, sealOf, sealValid } from '../../src/snapshot/seal.js';

test('crc32 gives the standard check value', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  const all = new TextEncoder().encode('hello, world');
  assert.equal(crc32(all.subarray(5), crc32(all.subarray(0, 5))), crc32(all));
});

test('a container keeps its header and sections, and refuses every damaged form', () => {
  const a = new Uint8Array([1, 2, 3]);
  const b = new Uint8Array(1000).map((_, i) => i & 0xff);
  const file = writeContainer({ kind: 'test', n: 5 }, [
    ['a', a],
    ['b', b],
  ]);
  const c = readContainer(file);
  assert.deepEqual(c.header, { kind: 'test', n: 5 });
  assert.deepEqual([...c.sections.keys()], ['a', 'b']);
  assert.deepEqual(c.sections.get('b'), b);

  const refuse = (bytes: Uint8Array, re: RegExp): void =>
    assert.throws(
      () => readContainer(bytes),
      (e: unknown) => e instanceof SnapshotError && re.test((e as Error).message),
    );
  refuse(new TextEncoder().encode('#!/bin/sh\necho hi\n'), /not a colinux snapshot/);
  refuse(file.subarray(0, file.length - 1), /truncated/);
  refuse(file.subarray(0, 20), /truncated|header/);
  const flipped = file.slice();
  flipped[file.length - 10]! ^= 0x40;
  refuse(flipped, /section b fails its CRC check/);
  const longer = new Uint8Array(file.length + 3);
  longer.set(file);
  refuse(longer, /unexpected bytes/);
  const version = file.slice();
  version[8] = 9;
  refuse(version, /container format 9/);
  const hugeHeader = file.slice();
  new DataView(hugeHeader.buffer).setUint32(12, 0xffff_fff0, true);
  refuse(hugeHeader, /truncated/);
  const badHeader = file.slice();
  badHeader[24]! ^= 0x01;
  refuse(badHeader, /header fails its CRC check/);
});

function sparseRam(pages: number): Uint8Array {
  const ram = new Uint8Array(pages * PAGE_BYTES);
  let seed = 12345;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) >>> 0);
  for (let p = 0; p < pages; p++) {
    if (p % 7 === 0 || p === pages - 1) {
      for (let i = 0; i < PAGE_BYTES; i += 8) ram[p * PAGE_BYTES + i] = rnd() & 0xff;
    }
    if (p % 11 === 0) ram[p * PAGE_BYTES + PAGE_BYTES - 1] = 1; // one byte at the page's end
  }
  return ram;
}

test('RAM round-trips with zero pages left out, and a mismatched or damaged section is refused', async () => {
  const ram = sparseRam(600);
  const section = await encodeRam(ram);
  assert.ok(section.length < ram.length / 4, `${section.length} bytes for ${ram.length}`);
  const back = new Uint8Array(ram.length); // a new machine's RAM: all zero
  await decodeRam(section, back);
  assert.deepEqual(back, ram);

  await assert.rejects(
    decodeRam(section, new Uint8Array(ram.length + PAGE_BYTES)),
    /pages of 4096 bytes/,
  );
  await assert.rejects(decodeRam(section.subarray(0, 20), back), SnapshotError);
  // A bitmap that promises fewer pages than the stream holds, and one that promises more.
  const fewer = section.slice();
  fewer[8] = 0;
  await assert.rejects(decodeRam(fewer, back), /more pages than it lists/);
  const more = section.slice();
  more[8 + 2] = 0xff;
  await assert.rejects(decodeRam(more, back), /fewer pages than it lists/);
  const garbage = section.slice();
  for (let i = 8 + 75 + 10; i < garbage.length; i += 3) garbage[i] ^= 0x5a;
  await assert.rejects(decodeRam(garbage, back), SnapshotError);
});

test('deflate and inflate round-trip and inflate holds a stream to its declared length', async () => {
  const data = sparseRam(10);
  const z = await deflate(data);
  assert.deepEqual(await inflate(z, data.length), data);
  await assert.rejects(inflate(z, data.length - 1), /more than/);
  await assert.rejects(inflate(z, data.length + 1), /not the/);
  await assert.rejects(inflate(new Uint8Array([0xff, 0xff, 0xff]), 10), SnapshotError);
});

test('a seal covers every byte before it: another key, a changed byte or a moved seal is not valid', async () => {
  const key = crypto.getRandomValues(new Uint8Array(SEAL_KEY_BYTES));
  const make = (ram: number[]): Uint8Array => {
    const file = writeContainer({ kind: 'x' }, [['ram', Uint8Array.from(ram)]], SEAL_BYTES);
    return file;
  };
  const sign = async (file: Uint8Array): Promise<Uint8Array> => {
    const at = file.length - SEAL_BYTES;
    file.set(await sealOf(file.subarray(0, at), key), at);
    return file;
  };
  const valid = async (file: Uint8Array, k = key): Promise<boolean> => {
    const { seal } = readContainer(file);
    assert.ok(seal, 'the reader finds the seal');
    return sealValid(seal.code, seal.covered, k);
  };
  const file = await sign(make([1, 2, 3]));
  assert.deepEqual([...readContainer(file).sections.get('ram')!], [1, 2, 3]);
  assert.equal(await valid(file), true);
  assert.equal(await valid(file, crypto.getRandomValues(new Uint8Array(SEAL_KEY_BYTES))), false);
  // Other contents with valid CRCs and the first file's seal: refused.
  const other = make([1, 2, 4]);
  other.set(file.subarray(file.length - SEAL_BYTES), other.length - SEAL_BYTES);
  assert.equal(await valid(other), false);
  // A seal in a bad place, or one with a CRC, is a damaged file.
  assert.throws(() => readContainer(file.subarray(0, file.length - 1)), SnapshotError);
  await assert.rejects(sealOf(file, new Uint8Array(8)), RangeError);
  // Unsealed files have no seal.
  assert.equal(
    readContainer(writeContainer({ kind: 'x' }, [['ram', new Uint8Array(4)]])).seal,
    undefined,
  );
});

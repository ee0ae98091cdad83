/** The console replay buffer keeps the newest lines and bytes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConsoleRing } from '../../src/cli/ring.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

test('keeps everything while under the limits', () => {
  const r = new ConsoleRing({ maxLines: 10, maxBytes: 1000 });
  r.push(enc('one\ntw'));
  r.push(enc('o\nthree'));
  assert.equal(dec(r.contents()), 'one\ntwo\nthree');
  assert.equal(r.lines, 2);
});

test('drops the oldest lines beyond maxLines, across chunk boundaries', () => {
  const r = new ConsoleRing({ maxLines: 3, maxBytes: 1 << 20 });
  for (let i = 0; i < 10; i++) r.push(enc(`line ${i}\n`));
  assert.equal(dec(r.contents()), 'line 7\nline 8\nline 9\n');
  r.push(enc('partial'));
  assert.equal(dec(r.contents()), 'line 7\nline 8\nline 9\npartial');
  r.push(enc(' end\nx\n'));
  assert.equal(dec(r.contents()), 'line 9\npartial end\nx\n');
  assert.equal(r.lines, 3);
});

test('many lines in one chunk', () => {
  const r = new ConsoleRing({ maxLines: 2 });
  r.push(enc('a\nb\nc\nd\ne'));
  assert.equal(dec(r.contents()), 'c\nd\ne');
});

test('drops the oldest bytes beyond maxBytes, keeping line counts right', () => {
  const r = new ConsoleRing({ maxLines: 100, maxBytes: 8 });
  r.push(enc('abc\ndef\n'));
  r.push(enc('gh\nij'));
  assert.equal(dec(r.contents()), 'ef\ngh\nij');
  assert.equal(r.size, 8);
  assert.equal(r.lines, 2);
  r.push(enc('0123456789'));
  assert.equal(dec(r.contents()), '23456789');
  assert.equal(r.lines, 0);
});

test('defaults hold a few hundred lines; the caller keeps its own buffer', () => {
  const r = new ConsoleRing();
  const buf = enc('x\n');
  for (let i = 0; i < 5000; i++) r.push(buf);
  assert.equal(r.lines, 1000);
  buf[0] = 0x79;
  assert.equal(r.contents()[0], 0x78, 'push copied the bytes');
  assert.throws(() => new ConsoleRing({ maxLines: 0 }), RangeError);
});

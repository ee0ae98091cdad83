import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Plic } from '../../src/devices/plic.js';
import { TestLine } from './helpers.js';

const PRIO = (n: number) => 4 * n;
const PENDING = 0x1000;
const ENABLE = (ctx: number) => 0x2000 + 0x80 * ctx;
const THRESHOLD = (ctx: number) => 0x200000 + 0x1000 * ctx;
const CLAIM = (ctx: number) => 0x200004 + 0x1000 * ctx;

function make() {
  const m = new TestLine();
  const s = new TestLine();
  const p = new Plic([m, s]);
  const r = (o: number) => p.read(o, 4);
  const w = (o: number, v: number) => p.write(o, 4, v);
  return { p, m, s, r, w };
}

test('plic registers: priorities WARL, enables masked, pending read-only', () => {
  const { r, w } = make();
  w(PRIO(1), 0xffffffff);
  assert.equal(r(PRIO(1)), 7);
  w(PRIO(0), 5);
  assert.equal(r(PRIO(0)), 0, 'source 0 does not exist');
  w(PRIO(96), 5);
  assert.equal(r(PRIO(96)), 0);
  w(ENABLE(1), 0xffffffff);
  assert.equal(r(ENABLE(1)), 0xfffffffe);
  w(ENABLE(1) + 8, 0xffffffff);
  assert.equal(r(ENABLE(1) + 8), 0xffffffff, 'sources 64..95');
  w(ENABLE(1) + 12, 0xffffffff);
  assert.equal(r(ENABLE(1) + 12), 0);
  w(ENABLE(2), 1);
  assert.equal(r(ENABLE(2)), 0, 'no context 2');
  w(PENDING, 0xffffffff);
  assert.equal(r(PENDING), 0);
  w(THRESHOLD(0), 0x1f);
  assert.equal(r(THRESHOLD(0)), 7);
  assert.equal(r(THRESHOLD(2)), 0);
  assert.equal(r(0x3ffffc), 0);
  assert.equal(r(0x5ffffc), 0);
  assert.equal(r(0x600000), 0);
});

test('plic claim/complete routes to the right context', () => {
  const { p, m, s, r, w } = make();
  w(PRIO(10), 1);
  w(ENABLE(1), 1 << 10);
  p.sourceLine(10).set(true);
  assert.equal(r(PENDING), 1 << 10);
  assert.equal(s.level, true);
  assert.equal(m.level, false);
  assert.equal(r(CLAIM(0)), 0, 'not enabled for M context');
  assert.equal(r(CLAIM(1)), 10);
  assert.equal(s.level, false);
  assert.equal(r(PENDING), 0);
  assert.equal(r(CLAIM(1)), 0, 'nothing left');
  // Gated while claimed, even if the line toggles.
  p.sourceLine(10).set(false);
  p.sourceLine(10).set(true);
  assert.equal(r(PENDING), 0);
  assert.equal(s.level, false);
  // Complete with the line still high: pending again.
  w(CLAIM(1), 10);
  assert.equal(r(PENDING), 1 << 10);
  assert.equal(s.level, true);
  assert.equal(r(CLAIM(1)), 10);
  p.sourceLine(10).set(false);
  w(CLAIM(1), 10);
  assert.equal(r(PENDING), 0);
  assert.equal(s.level, false);
});

test('plic priorities, ties and threshold', () => {
  const { p, s, r, w } = make();
  w(ENABLE(1), 0xfffffffe);
  w(ENABLE(1) + 4, 0xffffffff);
  for (const [n, prio] of [
    [3, 2],
    [5, 4],
    [7, 4],
    [40, 3],
  ]) {
    w(PRIO(n!), prio!);
    p.sourceLine(n!).set(true);
  }
  w(THRESHOLD(1), 3);
  assert.equal(s.level, true);
  assert.equal(r(CLAIM(1)), 5, 'highest priority, lowest id on ties');
  assert.equal(r(CLAIM(1)), 7);
  assert.equal(s.level, false, 'only priority <= threshold left');
  assert.equal(r(CLAIM(1)), 0);
  w(THRESHOLD(1), 2);
  assert.equal(s.level, true);
  assert.equal(r(CLAIM(1)), 40);
  w(THRESHOLD(1), 0);
  assert.equal(r(CLAIM(1)), 3);
  // Priority 0 never interrupts.
  w(PRIO(9), 0);
  p.sourceLine(9).set(true);
  assert.equal(s.level, false);
  assert.equal(r(CLAIM(1)), 0);
  w(PRIO(9), 1);
  assert.equal(s.level, true, 'raising the priority re-evaluates the output');
});

test('plic: completion of a non-enabled or unclaimed source is ignored', () => {
  const { p, s, r, w } = make();
  w(PRIO(4), 1);
  w(ENABLE(1), 1 << 4);
  p.sourceLine(4).set(true);
  assert.equal(r(CLAIM(1)), 4);
  w(CLAIM(1), 5); // unclaimed id
  w(CLAIM(0), 4); // not enabled in context 0
  w(CLAIM(1), 0);
  w(CLAIM(1), 1000);
  assert.equal(s.level, false, 'still in flight');
  w(CLAIM(1), 4);
  assert.equal(s.level, true);
});

test('plic: a line dropping before the claim withdraws the request', () => {
  const { p, s, r, w } = make();
  w(PRIO(2), 1);
  w(ENABLE(1), 1 << 2);
  p.sourceLine(2).set(true);
  assert.equal(s.level, true);
  p.sourceLine(2).set(false);
  assert.equal(s.level, false);
  assert.equal(r(CLAIM(1)), 0);
});

test('plic ignores non-32-bit accesses and rejects bad source numbers', () => {
  const { p, r, w } = make();
  p.write(PRIO(1), 1, 3);
  p.write(PRIO(1) + 1, 4, 3);
  assert.equal(r(PRIO(1)), 0);
  w(PRIO(1), 3);
  assert.equal(p.read(PRIO(1), 1), 0);
  assert.equal(p.read(PRIO(1), 2), 0);
  assert.throws(() => p.sourceLine(0), RangeError);
  assert.throws(() => p.sourceLine(96), RangeError);
});

test('plic snapshot round trip', () => {
  const a = make();
  a.w(PRIO(10), 2);
  a.w(PRIO(1), 1);
  a.w(ENABLE(1), (1 << 10) | 2);
  a.w(THRESHOLD(0), 1);
  a.p.sourceLine(10).set(true);
  a.p.sourceLine(1).set(true);
  assert.equal(a.r(CLAIM(1)), 10);
  const state = JSON.parse(JSON.stringify(a.p.save()));
  const b = make();
  b.p.restore(state);
  assert.deepEqual(b.p.save(), a.p.save());
  assert.equal(b.s.level, true);
  assert.equal(b.r(CLAIM(1)), 1);
  b.w(CLAIM(1), 10);
  assert.equal(b.r(CLAIM(1)), 10, 'line still high after complete');
});

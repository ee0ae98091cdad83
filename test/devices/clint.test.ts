import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Clint } from '../../src/devices/clint.js';
import type { HartTimerPort } from '../../src/machine/device.js';
import { TestLine } from './helpers.js';

function make() {
  const msip = new TestLine();
  const port = {
    time: 0x1_2345_6789n,
    cmp: 0xffff_ffff_ffff_ffffn,
    msip,
    now() {
      return this.time;
    },
    getMtimecmp() {
      return this.cmp;
    },
    setMtimecmp(v: bigint) {
      this.cmp = v;
    },
  } satisfies HartTimerPort & { time: bigint; cmp: bigint };
  return { c: new Clint(port), port, msip };
}

test('clint msip', () => {
  const { c, msip } = make();
  c.write(0, 4, 1);
  assert.equal(msip.level, true);
  assert.equal(c.read(0, 4), 1);
  c.write(0, 4, 0xfffffffe);
  assert.equal(msip.level, false);
  assert.equal(c.read(0, 4), 0);
  c.write(4, 4, 1); // hart 1: does not exist
  assert.equal(c.read(4, 4), 0);
  assert.equal(msip.level, false);
});

test('clint mtimecmp halves and bytes', () => {
  const { c, port } = make();
  c.write(0x4000, 4, 0x1111_2222);
  assert.equal(port.cmp, 0xffff_ffff_1111_2222n);
  c.write(0x4004, 4, 0x0000_0003);
  assert.equal(port.cmp, 0x3_1111_2222n);
  assert.equal(c.read(0x4000, 4), 0x1111_2222);
  assert.equal(c.read(0x4004, 4), 3);
  c.write(0x4001, 1, 0xab);
  assert.equal(port.cmp, 0x3_1111_ab22n);
  assert.equal(c.read(0x4002, 2), 0x1111);
  c.write(0x4008, 4, 5); // hart 1: ignored
  assert.equal(port.cmp, 0x3_1111_ab22n);
});

test('clint mtime reads the port clock without tearing, writes ignored', () => {
  const { c, port } = make();
  assert.equal(c.read(0xbff8, 4), 0x2345_6789);
  port.time = 0x2_0000_0000n; // changes between the two halves
  assert.equal(c.read(0xbffc, 4), 1, 'high half latched by the low read');
  assert.equal(c.read(0xbffc, 4), 2, 'fresh value otherwise');
  c.write(0xbff8, 4, 0);
  assert.equal(port.time, 0x2_0000_0000n);
  assert.equal(c.read(0xbffc, 2), 2);
  assert.equal(c.read(0xbffe, 2), 0);
  assert.equal(c.read(0x8000, 4), 0);
  assert.equal(c.read(0xfffc, 4), 0);
  assert.equal(c.read(0x10000, 4), 0);
});

test('clint snapshot', () => {
  const a = make();
  a.c.write(0, 4, 1);
  a.c.write(0x4000, 4, 42);
  const state = JSON.parse(JSON.stringify(a.c.save()));
  const b = make();
  b.c.restore(state);
  assert.equal(b.msip.level, true);
  assert.equal(b.port.cmp, a.port.cmp);
});

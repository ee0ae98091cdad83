import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bus } from '../../src/machine/bus.js';
import type { AccessWidth, MmioDevice } from '../../src/machine/device.js';

class RamDev implements MmioDevice {
  readonly mem: Uint8Array;
  readonly log: string[] = [];
  constructor(readonly size: number) {
    this.mem = new Uint8Array(size);
  }
  read(offset: number, width: AccessWidth): number {
    this.log.push(`r${offset}/${width}`);
    let v = 0;
    for (let i = width - 1; i >= 0; i--) v = v * 256 + this.mem[offset + i]!;
    return v;
  }
  write(offset: number, width: AccessWidth, value: number): void {
    this.log.push(`w${offset}/${width}`);
    for (let i = 0; i < width; i++) this.mem[offset + i] = (value >>> (8 * i)) & 0xff;
  }
}

test('bus maps, finds and routes accesses with relative offsets', () => {
  const bus = new Bus();
  const a = new RamDev(0x100);
  const b = new RamDev(0x1000);
  bus.map(0x1000_0000, a);
  bus.map(0x0010_0000, b);
  assert.deepEqual(bus.ranges(), [
    { base: 0x0010_0000, size: 0x1000 },
    { base: 0x1000_0000, size: 0x100 },
  ]);
  assert.equal(bus.find(0x1000_00ff)?.dev, a);
  assert.equal(bus.find(0x1000_0100), undefined);
  assert.equal(bus.find(0x0010_0000)?.dev, b);
  assert.equal(bus.write(0x1000_0010, 4, 0xdeadbeef), true);
  assert.equal(bus.read(0x1000_0010, 4), 0xdeadbeef);
  assert.equal(bus.read(0x1000_0011, 1), 0xbe);
  assert.equal(bus.read(0x1000_0012, 2), 0xdead);
  assert.deepEqual(a.log.slice(0, 2), ['w16/4', 'r16/4']);
  assert.equal(bus.write(0x0010_0004, 1, 0x1ff), true);
  assert.equal(b.mem[4], 0xff);
});

test('bus rejects overlapping and invalid mappings', () => {
  const bus = new Bus();
  bus.map(0x2000, new RamDev(0x1000));
  assert.throws(() => bus.map(0x2800, new RamDev(0x1000)), /overlaps/);
  assert.throws(() => bus.map(0x1800, new RamDev(0x1000)), /overlaps/);
  assert.throws(() => bus.map(0x2000, new RamDev(0x10)), /overlaps/);
  assert.throws(() => bus.map(0x1000, new RamDev(0x2000)), /overlaps/);
  assert.throws(() => bus.map(0xffff_f000, new RamDev(0x2000)), RangeError);
  assert.throws(() => bus.map(-1, new RamDev(0x10)), RangeError);
  assert.throws(() => bus.map(0x10, new RamDev(0)), RangeError);
  // Adjacent is fine.
  bus.map(0x1000, new RamDev(0x1000));
  bus.map(0x3000, new RamDev(0x1000));
  assert.equal(bus.ranges().length, 3);
  assert.equal(bus.unmap(0x3000), true);
  assert.equal(bus.unmap(0x3000), false);
  assert.equal(bus.read(0x3000, 4), undefined);
});

test('bus reports unmapped and straddling accesses', () => {
  const bus = new Bus();
  const d = new RamDev(0x100);
  bus.map(0x1000, d);
  bus.map(0x1100, new RamDev(0x100));
  assert.equal(bus.read(0x0fff, 1), undefined);
  assert.equal(bus.read(0x0ffe, 4), undefined);
  assert.equal(bus.read(0x10fe, 4), undefined, 'crosses the device end into the next one');
  assert.equal(bus.write(0x10fd, 4, 1), false);
  assert.equal(bus.read(0x10fc, 4), 0);
  assert.equal(bus.read(0x1200, 1), undefined);
  assert.equal(bus.read(NaN, 1), undefined);
  assert.equal(bus.read(0x1_0000_0000, 1), undefined);
  assert.equal(bus.read64(0x10fc), undefined);
  assert.equal(bus.write64(0x10fc, 1n), false);
  assert.equal(d.log.filter((l) => l !== 'r252/4').length, 0);
});

test('bus splits 64-bit accesses low word first', () => {
  const bus = new Bus();
  const d = new RamDev(0x100);
  bus.map(0x4000, d);
  assert.equal(bus.write64(0x4008, 0x1122_3344_5566_7788n), true);
  assert.deepEqual(d.log, ['w8/4', 'w12/4']);
  assert.equal(bus.read64(0x4008), 0x1122_3344_5566_7788n);
  assert.deepEqual(d.log.slice(2), ['r8/4', 'r12/4']);
});

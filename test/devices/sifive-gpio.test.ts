/** SiFive GPIO: the registers gpio-sifive.c uses, edge/level latching, W1C, per-pin lines. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SifiveGpio } from '../../src/devices/sifive-gpio.js';
import { TestLine } from './helpers.js';

const INPUT_VAL = 0x00;
const INPUT_EN = 0x04;
const OUTPUT_EN = 0x08;
const OUTPUT_VAL = 0x0c;
const RISE_IE = 0x18;
const RISE_IP = 0x1c;
const FALL_IE = 0x20;
const FALL_IP = 0x24;
const HIGH_IE = 0x28;
const HIGH_IP = 0x2c;
const LOW_IP = 0x34;
const OUT_XOR = 0x40;

function gpio(pins = 2): { g: SifiveGpio; lines: TestLine[]; reads: number[][] } {
  const lines = Array.from({ length: pins }, () => new TestLine());
  const reads: number[][] = [];
  const g = new SifiveGpio({ irqs: lines, onInputRead: (v, en) => reads.push([v, en]) });
  return { g, lines, reads };
}

test('input_val shows host-driven levels of input-enabled pins only', () => {
  const { g, reads } = gpio();
  assert.equal(g.read(INPUT_VAL, 4), 0, 'no pin input-enabled yet');
  g.write(INPUT_EN, 4, 0b11);
  assert.equal(g.read(INPUT_VAL, 4), 0b11, 'pins idle high (pulled up)');
  g.setPin(0, false);
  assert.equal(g.read(INPUT_VAL, 4), 0b10);
  assert.deepEqual(reads.at(-1), [0b10, 0b11]);
  assert.equal(g.pin(0), false);
  assert.equal(g.pin(1), true);
});

test('a falling edge latches fall_ip; the pin line follows ip & ie; writing 1 clears', () => {
  const { g, lines } = gpio();
  g.write(INPUT_EN, 4, 1);
  g.write(FALL_IE, 4, 1);
  g.write(RISE_IE, 4, 1);
  assert.equal(lines[0]!.level, false);
  g.setPin(0, false);
  assert.equal(g.read(FALL_IP, 4) & 1, 1);
  assert.equal(g.read(RISE_IP, 4) & 1, 0);
  assert.equal(lines[0]!.level, true);
  assert.equal(lines[1]!.level, false, 'other pins have their own line');
  g.write(FALL_IP, 4, 1);
  assert.equal(lines[0]!.level, false);
  assert.equal(g.read(FALL_IP, 4) & 1, 0);
  g.setPin(0, true);
  assert.equal(g.read(RISE_IP, 4) & 1, 1);
  assert.equal(lines[0]!.level, true);
  g.write(RISE_IP, 4, 1);
  assert.equal(lines[0]!.level, false);
});

test('pending bits latch even while disabled, and the driver can clear them before enabling', () => {
  const { g, lines } = gpio();
  g.setPin(1, false);
  assert.equal((g.read(FALL_IP, 4) >> 1) & 1, 1);
  assert.equal(lines[1]!.level, false, 'not enabled: no interrupt');
  g.write(FALL_IP, 4, 0b10);
  g.write(FALL_IE, 4, 0b10);
  assert.equal(lines[1]!.level, false);
});

test('high/low pending bits are set again while the level holds', () => {
  const { g, lines } = gpio();
  assert.equal(g.read(HIGH_IP, 4) & 1, 1);
  g.write(HIGH_IP, 4, 1);
  assert.equal(g.read(HIGH_IP, 4) & 1, 1, 'still high');
  g.write(HIGH_IE, 4, 1);
  assert.equal(lines[0]!.level, true);
  g.setPin(0, false);
  g.write(HIGH_IP, 4, 1);
  assert.equal(g.read(HIGH_IP, 4) & 1, 0);
  assert.equal(g.read(LOW_IP, 4) & 1, 1);
  assert.equal(lines[0]!.level, false);
});

test('output pins drive their own level (with out_xor), and edges follow', () => {
  const { g } = gpio();
  g.write(OUTPUT_VAL, 4, 0);
  g.write(OUTPUT_EN, 4, 1);
  assert.equal(g.read(FALL_IP, 4) & 1, 1, 'driving 0 over a pulled-up pin is a falling edge');
  g.write(INPUT_EN, 4, 1);
  assert.equal(g.read(INPUT_VAL, 4) & 1, 0);
  g.write(OUT_XOR, 4, 1);
  assert.equal(g.read(INPUT_VAL, 4) & 1, 1);
  assert.equal(g.read(OUTPUT_VAL, 4), 0);
});

test('narrow or misaligned accesses read 0 and are ignored; unknown offsets too', () => {
  const { g } = gpio();
  g.write(INPUT_EN, 1, 1);
  g.write(INPUT_EN + 1, 4, 1);
  assert.equal(g.read(INPUT_EN, 4), 0);
  assert.equal(g.read(INPUT_EN, 2), 0);
  g.write(0x800, 4, 0xffff_ffff);
  assert.equal(g.read(0x800, 4), 0);
  g.write(INPUT_VAL, 4, 0xffff_ffff);
  assert.equal(g.read(INPUT_EN, 4), 0);
});

test('values are masked to the pin count; a bad pin number is refused', () => {
  const { g } = gpio(2);
  g.write(INPUT_EN, 4, 0xffff_ffff);
  assert.equal(g.read(INPUT_EN, 4), 0b11);
  assert.throws(() => g.setPin(2, false), RangeError);
  assert.throws(() => new SifiveGpio({ irqs: [] }), RangeError);
});

test('save/restore keeps registers, pins and lines; hostile state is masked', () => {
  const { g } = gpio();
  g.write(INPUT_EN, 4, 1);
  g.write(FALL_IE, 4, 1);
  g.setPin(0, false);
  const state = g.save();
  const b = gpio();
  b.g.restore(state);
  assert.equal(b.g.read(INPUT_VAL, 4), 0);
  assert.equal(b.lines[0]!.level, true);
  assert.equal(b.g.pin(0), false);
  const c = gpio();
  c.g.restore({ version: 1, pins: 0xffff_ffff, regs: { inputEn: 0xffff, fallIe: 'x' as never } });
  assert.equal(c.g.read(INPUT_EN, 4), 0b11);
  assert.throws(() => c.g.restore({ version: 2 as 1, pins: 0, regs: {} }));
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GoldfishRtc } from '../../src/devices/goldfish-rtc.js';
import { TestLine } from './helpers.js';

const TIME_LOW = 0x00,
  TIME_HIGH = 0x04,
  ALARM_LOW = 0x08,
  ALARM_HIGH = 0x0c,
  IRQ_ENABLED = 0x10,
  CLEAR_ALARM = 0x14,
  ALARM_STATUS = 0x18,
  CLEAR_INTERRUPT = 0x1c;

function make(start = 0x1234_5678_9abc_def0n) {
  const clock = { t: start };
  const irq = new TestLine();
  const rtc = new GoldfishRtc(irq, () => clock.t);
  const r = (o: number) => rtc.read(o, 4);
  const w = (o: number, v: number) => rtc.write(o, 4, v);
  const time = () => {
    const lo = r(TIME_LOW);
    return (BigInt(r(TIME_HIGH)) << 32n) | BigInt(lo);
  };
  return { rtc, clock, irq, r, w, time };
}

test('rtc time read latches the high half', () => {
  const { clock, r, time } = make();
  assert.equal(time(), 0x1234_5678_9abc_def0n);
  assert.equal(r(TIME_LOW), 0x9abc_def0);
  clock.t = 0x1234_5679_0000_0000n;
  assert.equal(r(TIME_HIGH), 0x1234_5678, 'latched at the TIME_LOW read');
  assert.equal(time(), 0x1234_5679_0000_0000n);
});

test('rtc time set by the guest is an offset on the host clock', () => {
  const { clock, w, time } = make(1_000_000_000n);
  const target = 1_700_000_000_000_000_000n;
  w(TIME_HIGH, Number(target >> 32n));
  w(TIME_LOW, Number(target & 0xffff_ffffn));
  assert.equal(time(), target);
  clock.t += 5_000n;
  assert.equal(time(), target + 5_000n);
});

test('rtc alarm fires, raises and clears the interrupt', () => {
  const { rtc, clock, irq, r, w } = make(1000n);
  w(ALARM_HIGH, 0);
  w(ALARM_LOW, 5000);
  w(IRQ_ENABLED, 1);
  assert.equal(r(ALARM_STATUS), 1);
  assert.equal(r(ALARM_LOW), 5000);
  assert.equal(r(IRQ_ENABLED), 1);
  assert.equal(rtc.nextAlarmDelayNs(), 4000n);
  rtc.update();
  assert.equal(irq.level, false);
  clock.t = 5000n;
  rtc.update();
  assert.equal(irq.level, true);
  assert.equal(r(ALARM_STATUS), 0, 'alarm disarmed after firing');
  assert.equal(rtc.nextAlarmDelayNs(), undefined);
  w(CLEAR_INTERRUPT, 1);
  assert.equal(irq.level, false);
  // An alarm in the past fires at once.
  w(ALARM_LOW, 10);
  assert.equal(irq.level, true);
  w(CLEAR_INTERRUPT, 1);
  // Disabled interrupts: pending but line low; CLEAR_ALARM disarms.
  w(IRQ_ENABLED, 0);
  w(ALARM_LOW, 100_000);
  w(CLEAR_ALARM, 1);
  assert.equal(r(ALARM_STATUS), 0);
  clock.t = 200_000n;
  rtc.update();
  assert.equal(irq.level, false);
});

test('rtc ignores odd widths and offsets', () => {
  const { rtc, r, time } = make(77n);
  assert.equal(rtc.read(TIME_LOW, 2), 0);
  rtc.write(TIME_LOW, 1, 5);
  rtc.write(0x20, 4, 5);
  rtc.write(0xffc, 4, 5);
  assert.equal(time(), 77n);
  assert.equal(r(0x20), 0);
  assert.equal(r(CLEAR_ALARM), 0);
});

test('rtc snapshot keeps the guest offset', () => {
  const a = make(1000n);
  a.w(TIME_LOW, 500);
  a.w(ALARM_LOW, 9000);
  a.w(IRQ_ENABLED, 1);
  const state = JSON.parse(JSON.stringify(a.rtc.save()));
  const b = make(1000n);
  b.rtc.restore(state);
  assert.equal(b.time(), 500n);
  assert.equal(b.r(ALARM_STATUS), 1);
  assert.deepEqual(b.rtc.save(), a.rtc.save());
});

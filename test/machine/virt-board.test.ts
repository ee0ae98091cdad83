import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createVirtBoard, VIRT_MAP, virtioSlotInfo } from '../../src/machine/virt-board.js';
import type { AccessWidth, HartTimerPort, MmioDevice } from '../../src/machine/device.js';

class Line {
  level = false;
  set(l: boolean): void {
    this.level = l;
  }
}

function board() {
  const meip = new Line();
  const seip = new Line();
  const msip = new Line();
  let cmp = 0n;
  const timer: HartTimerPort = {
    now: () => 1234n,
    getMtimecmp: () => cmp,
    setMtimecmp: (v) => {
      cmp = v;
    },
    msip,
  };
  const tx: number[] = [];
  const exits: number[] = [];
  const b = createVirtBoard({
    timer,
    meip,
    seip,
    onTransmit: (x) => tx.push(x),
    onPowerOff: (c) => exits.push(c),
    rtcClock: () => 5n,
  });
  return { b, meip, seip, msip, tx, exits };
}

test('virt board maps the devices at the table addresses and wires the UART to the PLIC', () => {
  const { b, seip, tx, exits } = board();
  const bases = b.bus.ranges().map((r) => r.base);
  assert.deepEqual(bases, [
    VIRT_MAP.test.base,
    VIRT_MAP.rtc.base,
    VIRT_MAP.gpio.base,
    VIRT_MAP.clint.base,
    VIRT_MAP.plic.base,
    VIRT_MAP.uart.base,
  ]);
  b.bus.write(0x1000_0000, 1, 0x48);
  assert.deepEqual(tx, [0x48]);
  assert.equal(b.bus.read(0x0200_bff8, 4), 1234);
  assert.equal(b.bus.read(0x0010_1000, 4), 5);
  // UART THRE interrupt through the PLIC S context.
  b.bus.write(0x0c00_0000 + 4 * 10, 4, 1);
  b.bus.write(0x0c00_2080, 4, 1 << 10);
  b.bus.write(0x1000_0001, 1, 0x02);
  assert.equal(seip.level, true);
  assert.equal(b.bus.read(0x0c20_1004, 4), 10);
  b.bus.write(0x0010_0000, 4, 0x5555);
  assert.deepEqual(exits, [0]);
  assert.equal(b.bus.read(0x1000_1000, 4), undefined, 'empty virtio slot is unmapped');
});

test('virt board virtio slots', () => {
  const { b, seip } = board();
  assert.deepEqual(virtioSlotInfo(7), { index: 7, base: 0x1000_8000, size: 0x1000, irq: 8 });
  assert.throws(() => virtioSlotInfo(8));
  const dev: MmioDevice = {
    size: 0x200,
    read: (o: number, _w: AccessWidth) => (o === 0 ? 0x74726976 : 0),
    write: () => {},
  };
  const slot = b.mapVirtio(1, dev);
  assert.equal(slot.base, 0x1000_2000);
  assert.equal(slot.irq, 2);
  assert.equal(b.bus.read(0x1000_2000, 4), 0x74726976);
  b.bus.write(0x0c00_0000 + 4 * 2, 4, 1);
  b.bus.write(0x0c00_2080, 4, 1 << 2);
  slot.line.set(true);
  assert.equal(seip.level, true);
  assert.equal(b.irqLine(2), slot.line);
  assert.throws(() => b.mapVirtio(1, dev), /overlaps/);
});

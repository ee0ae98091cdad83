import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  VirtioMmio,
  VIRTIO_MMIO_MAGIC,
  VIRTIO_F_VERSION_1,
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_RING_F_INDIRECT_DESC,
  STATUS_ACKNOWLEDGE,
  STATUS_DRIVER,
  STATUS_FEATURES_OK,
  STATUS_DRIVER_OK,
  STATUS_DEVICE_NEEDS_RESET,
  type VirtioDevice,
  type VirtioHost,
} from '../../src/devices/virtio/mmio.js';
import type { Virtqueue } from '../../src/devices/virtio/virtqueue.js';
import { FakeMemory, RingDriver } from './virtio-driver.js';
import { TestLine } from './helpers.js';

/** A device that echoes each request's readable bytes back, upper-cased. */
class EchoDevice implements VirtioDevice {
  readonly deviceId = 0x1234;
  readonly features = (1n << 3n) | (1n << 40n);
  readonly queueSizes = [16, 8];
  readonly config = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  notified: number[] = [];
  resets = 0;
  started = 0;
  writes: Array<[number, number, number]> = [];
  constructor(readonly host: VirtioHost) {}
  notify(q: Virtqueue): void {
    this.notified.push(q.index);
    for (let c = q.pop(); c; c = q.pop()) {
      const data = c.bytes(0, c.readable);
      const up = new TextEncoder().encode(new TextDecoder().decode(data).toUpperCase());
      q.push(c, c.write(0, up));
    }
    q.notify();
  }
  start(): void {
    this.started++;
  }
  reset(): void {
    this.resets++;
  }
  writeConfig(offset: number, width: 1 | 2 | 4, value: number): void {
    this.writes.push([offset, width, value]);
  }
}

function make(mem = new FakeMemory()) {
  const irq = new TestLine();
  let wakes = 0;
  const errors: string[] = [];
  let dev!: EchoDevice;
  const t = new VirtioMmio(
    { memory: mem, irq, wake: () => wakes++ },
    (host) => (dev = new EchoDevice(host)),
    { onError: (e) => errors.push(e) },
  );
  return { mem, irq, t, dev, errors, wakes: () => wakes };
}

const R = (t: VirtioMmio, off: number): number => t.read(off, 4);
const W = (t: VirtioMmio, off: number, v: number): void => t.write(off, 4, v);

/** Bring the device up like Linux does; returns the ring driver of queue 0. */
function init(t: VirtioMmio, mem: FakeMemory, featuresHi = 1 | (1 << 8) /* VERSION_1 | bit 40 */) {
  W(t, 0x70, 0);
  W(t, 0x70, STATUS_ACKNOWLEDGE);
  W(t, 0x70, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
  W(t, 0x24, 0);
  W(t, 0x20, (1 << VIRTIO_RING_F_EVENT_IDX) | (1 << VIRTIO_RING_F_INDIRECT_DESC));
  W(t, 0x24, 1);
  W(t, 0x20, featuresHi);
  W(t, 0x70, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
  const drv = new RingDriver(mem, 16);
  W(t, 0x30, 0);
  W(t, 0x38, 16);
  W(t, 0x80, drv.desc >>> 0);
  W(t, 0x84, 0);
  W(t, 0x90, drv.avail >>> 0);
  W(t, 0x94, 0);
  W(t, 0xa0, drv.used >>> 0);
  W(t, 0xa4, 0);
  W(t, 0x44, 1);
  W(t, 0x70, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
  return drv;
}

test('identification registers and feature words', () => {
  const { t } = make();
  assert.equal(R(t, 0x000), VIRTIO_MMIO_MAGIC);
  assert.equal(R(t, 0x004), 2);
  assert.equal(R(t, 0x008), 0x1234);
  assert.notEqual(R(t, 0x00c), 0);
  W(t, 0x14, 0);
  assert.equal(
    R(t, 0x10),
    (1 << 3) | (1 << VIRTIO_RING_F_INDIRECT_DESC) | (1 << VIRTIO_RING_F_EVENT_IDX),
  );
  W(t, 0x14, 1);
  assert.equal(R(t, 0x10), (1 << (VIRTIO_F_VERSION_1 - 32)) | (1 << 8));
  W(t, 0x14, 2);
  assert.equal(R(t, 0x10), 0);
  assert.equal(t.read(0x0, 1), 0x76, 'byte read of a register');
  assert.equal(t.read(0x2, 2), 0x7472);
  assert.equal(R(t, 0xb0), 0xffff_ffff, 'no shared memory regions');
  W(t, 0x30, 0);
  assert.equal(R(t, 0x34), 16);
  W(t, 0x30, 1);
  assert.equal(R(t, 0x34), 8);
  W(t, 0x30, 2);
  assert.equal(R(t, 0x34), 0, 'no queue 2');
});

test('config space: any width, reads past the end are 0, writes go to the device', () => {
  const { t, dev } = make();
  assert.equal(t.read(0x100, 1), 1);
  assert.equal(t.read(0x101, 2), 0x0302);
  assert.equal(t.read(0x104, 4), 0x08070605);
  assert.equal(t.read(0x108, 4), 9);
  assert.equal(t.read(0x200, 4), 0);
  t.write(0x102, 2, 0xbeef);
  t.write(0x300, 4, 1); // beyond the config: ignored
  assert.deepEqual(dev.writes, [[2, 2, 0xbeef]]);
  const g = R(t, 0xfc);
  dev.host.configChanged();
  assert.equal(R(t, 0xfc), g + 1);
});

test('feature negotiation: VERSION_1 required, unoffered bits refused', () => {
  const { t, mem } = make();
  init(t, mem, 0); // no VERSION_1
  assert.equal(R(t, 0x70) & STATUS_FEATURES_OK, 0);
  assert.equal(R(t, 0x70) & STATUS_DRIVER_OK, 0);
  init(t, mem, 1 | (1 << 9)); // bit 41 not offered
  assert.equal(R(t, 0x70) & STATUS_FEATURES_OK, 0);
  const { t: t2, mem: m2, dev } = make();
  init(t2, m2);
  assert.equal(R(t2, 0x70) & 0xf, 0xf);
  assert.equal(dev.started, 1);
  assert.ok(dev.host.hasFeature(VIRTIO_F_VERSION_1));
  assert.ok(dev.host.hasFeature(40));
  assert.ok(!dev.host.hasFeature(3));
  assert.ok(dev.host.active);
  // Features are frozen after FEATURES_OK.
  W(t2, 0x24, 0);
  W(t2, 0x20, 0);
  assert.ok(dev.host.hasFeature(VIRTIO_RING_F_EVENT_IDX));
});

test('notify, used ring, interrupt status and acknowledge', () => {
  const { t, mem, irq, dev } = make();
  const drv = init(t, mem);
  assert.equal(R(t, 0x44), 1);
  const { head, addrs } = drv.addChain([{ out: new TextEncoder().encode('hi') }, { in: 2 }]);
  drv.setUsedEvent(0);
  W(t, 0x50, 0);
  assert.deepEqual(dev.notified, [0]);
  assert.deepEqual(drv.takeUsed(), [[head, 2]]);
  assert.equal(new TextDecoder().decode(mem.read(addrs[1]!, 2)), 'HI');
  assert.equal(irq.level, true);
  assert.equal(R(t, 0x60), 1);
  W(t, 0x64, 1);
  assert.equal(irq.level, false);
  assert.equal(R(t, 0x60), 0);
  W(t, 0x50, 1); // queue 1 not ready: ignored
  W(t, 0x50, 7); // no such queue
  assert.deepEqual(dev.notified, [0]);
});

test('queue registers are frozen while the queue is ready; QueueReady 0 disables', () => {
  const { t, mem } = make();
  const drv = init(t, mem);
  W(t, 0x38, 4);
  assert.equal(R(t, 0x38), 16);
  W(t, 0x80, 0);
  assert.equal(R(t, 0x80), drv.desc >>> 0);
  W(t, 0x44, 0);
  assert.equal(R(t, 0x44), 0);
  W(t, 0x38, 4);
  assert.equal(R(t, 0x38), 4);
});

test('a hostile chain sets DEVICE_NEEDS_RESET with a config interrupt; reset recovers', () => {
  const { t, mem, irq, dev, errors } = make();
  const drv = init(t, mem);
  drv.writeDesc(drv.desc, 0, { addr: drv.desc, len: 16, flags: 1, next: 0 }); // self loop
  drv.publish(0);
  assert.doesNotThrow(() => W(t, 0x50, 0));
  assert.ok(R(t, 0x70) & STATUS_DEVICE_NEEDS_RESET);
  assert.equal(R(t, 0x60) & 2, 2);
  assert.equal(irq.level, true);
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /loops/);
  assert.equal(dev.host.active, false);
  // Further notifications are ignored; the driver's status writes keep the bit.
  W(t, 0x50, 0);
  W(t, 0x70, 0xf);
  assert.ok(R(t, 0x70) & STATUS_DEVICE_NEEDS_RESET);
  // Reset clears everything.
  W(t, 0x70, 0);
  assert.equal(R(t, 0x70), 0);
  assert.equal(R(t, 0x60), 0);
  assert.equal(irq.level, false);
  assert.equal(R(t, 0x44), 0);
  assert.equal(dev.resets, 2);
  const drv2 = init(t, mem);
  const { head } = drv2.addChain([{ out: new Uint8Array([0x61]) }, { in: 1 }]);
  W(t, 0x50, 0);
  assert.deepEqual(drv2.takeUsed(), [[head, 1]]);
});

test('rings outside RAM: queue not enabled, device needs reset', () => {
  const { t, errors } = make();
  W(t, 0x70, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
  W(t, 0x24, 1);
  W(t, 0x20, 1);
  W(t, 0x70, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
  W(t, 0x30, 0);
  W(t, 0x80, 0x1000);
  W(t, 0x84, 0xffff_ffff);
  W(t, 0x44, 1);
  assert.equal(R(t, 0x44), 0);
  assert.ok(R(t, 0x70) & STATUS_DEVICE_NEEDS_RESET);
  assert.match(errors[0]!, /outside guest RAM/);
});

test('narrow or misaligned register writes are ignored; save/restore round trip', () => {
  const { t, mem } = make();
  const drv = init(t, mem);
  t.write(0x70, 1, 0);
  assert.equal(R(t, 0x70) & 0xf, 0xf, 'byte write to status ignored');
  t.write(0x72, 4, 0);
  assert.equal(R(t, 0x70) & 0xf, 0xf);
  drv.addChain([{ in: 1 }]);
  const state = t.save();
  const copy = JSON.parse(JSON.stringify(state)) as typeof state;
  // Same memory, so the restored queue sees the same rings.
  const { t: t2, dev: dev2 } = make(mem);
  t2.restore(copy);
  assert.deepEqual(t2.save(), state);
  assert.equal(dev2.notified.length, 0);
});

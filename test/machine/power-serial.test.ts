/**
 * The board's power button (SiFive GPIO + gpio-keys) and extra UARTs
 * (ttyS1..ttyS3): device-tree nodes (checked with dtc), bus mapping, IRQs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildDeviceTree,
  createVirtBoard,
  extraUartInfo,
  POWER_BUTTON_PIN,
  RESUME_SWITCH_PIN,
  VIRT_MAP,
} from '../../src/machine/virt-board.js';
import { findNode, getProp, parseFdt, propCells, propString } from '../../src/machine/fdt.js';
import type { HartTimerPort } from '../../src/machine/device.js';
import { TestLine } from '../devices/helpers.js';

function dtb(serialPorts: number[]): Uint8Array {
  return buildDeviceTree({
    ramSize: 128 << 20,
    bootargs: 'console=ttyS0',
    isa: 'rv64imafdc',
    isaExtensions: ['i', 'm', 'a', 'f', 'd', 'c'],
    mmuType: 'sv39',
    serialPorts,
  });
}

test('extra UARTs and the GPIO sit at free addresses and PLIC sources', () => {
  const used = new Set<number>([VIRT_MAP.uart.irq, VIRT_MAP.rtc.irq]);
  for (let n = 0; n < VIRT_MAP.virtio.count; n++) used.add(VIRT_MAP.virtio.irqBase + n);
  const gpioIrqs = Array.from({ length: VIRT_MAP.gpio.pins }, (_, n) => VIRT_MAP.gpio.irq + n);
  const mine = [1, 2, 3].map((n) => extraUartInfo(n).irq).concat(gpioIrqs);
  for (const irq of mine) assert.equal(used.has(irq), false, `IRQ ${irq} collides`);
  assert.equal(new Set(mine).size, mine.length);
  assert.deepEqual(
    [1, 2, 3].map((n) => extraUartInfo(n).base),
    [0x1000_0100, 0x1000_0200, 0x1000_0300],
  );
  assert.throws(() => extraUartInfo(0), RangeError);
  assert.throws(() => extraUartInfo(4), RangeError);
});

test('device tree: gpio-keys power button and resume switch on the SiFive GPIO, serialN aliases for extra UARTs', () => {
  const root = parseFdt(dtb([1, 3])).root;
  const gpio = findNode(root, `/soc/gpio@${VIRT_MAP.gpio.base.toString(16)}`)!;
  assert.equal(propString(getProp(gpio, 'compatible')!), 'sifive,gpio0');
  assert.deepEqual(propCells(getProp(gpio, 'interrupts')!), [
    VIRT_MAP.gpio.irq,
    VIRT_MAP.gpio.irq + 1,
  ]);
  const phandle = propCells(getProp(gpio, 'phandle')!)[0];
  const key = findNode(root, '/gpio-keys/power')!;
  assert.deepEqual(propCells(getProp(key, 'linux,code')!), [116]);
  assert.deepEqual(propCells(getProp(key, 'gpios')!), [phandle, POWER_BUTTON_PIN, 1]);
  const lid = findNode(root, '/gpio-keys/resume')!;
  assert.deepEqual(propCells(getProp(lid, 'linux,input-type')!), [5]); // EV_SW
  assert.deepEqual(propCells(getProp(lid, 'linux,code')!), [0]); // SW_LID
  assert.deepEqual(propCells(getProp(lid, 'gpios')!), [phandle, RESUME_SWITCH_PIN, 1]);
  const aliases = findNode(root, '/aliases')!;
  assert.equal(propString(getProp(aliases, 'serial1')!), '/soc/serial@10000100');
  assert.equal(propString(getProp(aliases, 'serial3')!), '/soc/serial@10000300');
  assert.equal(getProp(aliases, 'serial2'), undefined);
  assert.equal(findNode(root, '/soc/serial@10000200'), undefined, 'only configured ports');
  const s3 = findNode(root, '/soc/serial@10000300')!;
  assert.deepEqual(propCells(getProp(s3, 'interrupts')!), [extraUartInfo(3).irq]);
});

test('device tree with extra UARTs and the GPIO decodes with dtc without warnings', (t) => {
  const probe = spawnSync('dtc', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    t.skip('dtc not installed (apt-get install device-tree-compiler)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'colinux-dt-'));
  try {
    const file = join(dir, 'virt.dtb');
    writeFileSync(file, dtb([1, 2, 3]));
    const r = spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', `dtc warnings:\n${r.stderr}`);
    assert.match(r.stdout, /gpio-keys \{/);
    assert.match(r.stdout, /serial@10000300 \{/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('board: extra UARTs transmit to their own host end and raise their own PLIC line', () => {
  const seip = new TestLine();
  let cmp = 0n;
  const timer: HartTimerPort = {
    now: () => 0n,
    getMtimecmp: () => cmp,
    setMtimecmp: (v) => {
      cmp = v;
    },
    msip: new TestLine(),
  };
  const tx1: number[] = [];
  const tx2: number[] = [];
  const b = createVirtBoard({
    timer,
    meip: new TestLine(),
    seip,
    serialPorts: [
      { index: 1, onTransmit: (x) => tx1.push(x) },
      { index: 2, onTransmit: (x) => tx2.push(x) },
    ],
  });
  assert.deepEqual([...b.serials.keys()], [1, 2]);
  b.bus.write(0x1000_0100, 1, 0x41);
  b.bus.write(0x1000_0200, 1, 0x42);
  assert.deepEqual(tx1, [0x41]);
  assert.deepEqual(tx2, [0x42]);
  // ttyS2's THRE interrupt reaches the hart through its own PLIC source.
  const irq = extraUartInfo(2).irq;
  b.bus.write(0x0c00_0000 + 4 * irq, 4, 1);
  b.bus.write(0x0c00_2080, 4, 1 << irq);
  b.bus.write(0x1000_0201, 1, 0x02);
  assert.equal(seip.level, true);
  assert.equal(b.bus.read(0x0c20_1004, 4), irq);
  // The GPIO's pin line goes to its PLIC source too.
  b.bus.write(0x0c20_1004, 4, irq);
  b.bus.write(0x1000_0201, 1, 0);
  const g = VIRT_MAP.gpio.irq;
  b.bus.write(0x0c00_0000 + 4 * g, 4, 1);
  b.bus.write(0x0c00_2080, 4, 1 << g);
  b.bus.write(VIRT_MAP.gpio.base + 0x04, 4, 1); // input_en
  b.bus.write(VIRT_MAP.gpio.base + 0x20, 4, 1); // fall_ie
  b.gpio.setPin(POWER_BUTTON_PIN, false);
  assert.equal(b.bus.read(0x0c20_1004, 4), g);
  assert.throws(
    () =>
      createVirtBoard({
        timer,
        meip: new TestLine(),
        seip,
        serialPorts: [{ index: 4, onTransmit: () => undefined }],
      }),
    RangeError,
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cells,
  findNode,
  getProp,
  node,
  parseFdt,
  propCells,
  propString,
  propStrings,
  propU64s,
  serializeFdt,
  strings,
  u64s,
  type FdtNode,
} from '../../src/machine/fdt.js';
import { buildDeviceTree, VIRT_PHANDLE } from '../../src/machine/virt-board.js';

const ISA = 'rv64imafdc_zicsr_zifencei';
const EXTS = ['i', 'm', 'a', 'f', 'd', 'c', 'zicsr', 'zifencei'];

function sampleTree(): FdtNode {
  return node('', { '#address-cells': 2, '#size-cells': 2, compatible: 'acme,board' }, [
    node('chosen', { bootargs: 'console=ttyS0', 'linux,initrd-start': 0x8800_0000n }),
    node('cpus', { '#address-cells': 1, '#size-cells': 0 }, [
      node('cpu@0', { reg: 0, 'interrupt-controller': true, list: ['a', 'bc', ''] }),
    ]),
    node('dev@1000', {
      compatible: ['x,y', 'z'],
      reg: u64s(0x1000, 0x100),
      raw: new Uint8Array([1, 2, 3]),
      pair: [1n, 0xffff_ffff_ffff_ffffn],
      cellsList: [1, 2, 0xffff_ffff],
    }),
  ]);
}

test('fdt header, alignment and string de-duplication', () => {
  const dtb = serializeFdt(sampleTree(), {
    bootCpuId: 3,
    memReserve: [{ address: 0x8000_0000n, size: 0x20_0000n }],
  });
  const dv = new DataView(dtb.buffer, dtb.byteOffset, dtb.byteLength);
  assert.equal(dv.getUint32(0), 0xd00dfeed);
  assert.equal(dv.getUint32(4), dtb.length);
  assert.equal(dtb.length % 8, 0);
  assert.equal(dv.getUint32(16) % 8, 0, 'memory reservation block 8-byte aligned');
  assert.equal(dv.getUint32(8) % 4, 0, 'struct block 4-byte aligned');
  assert.equal(dv.getUint32(20), 17);
  assert.equal(dv.getUint32(24), 16);
  assert.equal(dv.getUint32(28), 3);
  // Strings block holds each property name exactly once.
  const off = dv.getUint32(12);
  const size = dv.getUint32(32);
  const names = new TextDecoder()
    .decode(dtb.subarray(off, off + size))
    .split('\0')
    .slice(0, -1);
  assert.equal(new Set(names).size, names.length);
  assert.ok(names.includes('#address-cells'));
  assert.equal(names.filter((n) => n === 'compatible').length, 1);
});

test('fdt round trip through the parser', () => {
  const tree = sampleTree();
  const parsed = parseFdt(
    serializeFdt(tree, { memReserve: [{ address: 0x8000_0000n, size: 0x20_0000n }] }),
  );
  assert.deepEqual(parsed.root, tree);
  assert.deepEqual(parsed.memReserve, [{ address: 0x8000_0000n, size: 0x20_0000n }]);
  assert.equal(parsed.version, 17);
  const dev = findNode(parsed.root, '/dev@1000')!;
  assert.deepEqual(propStrings(getProp(dev, 'compatible')!), ['x,y', 'z']);
  assert.deepEqual(propU64s(getProp(dev, 'reg')!), [0x1000n, 0x100n]);
  assert.deepEqual(propU64s(getProp(dev, 'pair')!), [1n, 0xffff_ffff_ffff_ffffn]);
  assert.deepEqual(propCells(getProp(dev, 'cellsList')!), [1, 2, 0xffff_ffff]);
  assert.deepEqual([...getProp(dev, 'raw')!], [1, 2, 3]);
  const cpu = findNode(parsed.root, '/cpus/cpu@0')!;
  assert.equal(getProp(cpu, 'interrupt-controller')!.length, 0);
  assert.deepEqual(propStrings(getProp(cpu, 'list')!), ['a', 'bc', '']);
  assert.equal(
    propString(getProp(findNode(parsed.root, '/chosen')!, 'bootargs')!),
    'console=ttyS0',
  );
  assert.equal(findNode(parsed.root, '/nope'), undefined);
});

test('fdt builder rejects bad input and the parser rejects garbage', () => {
  assert.throws(() => node('a/b'));
  assert.throws(() =>
    node('x', [
      ['p', 1],
      ['p', 2],
    ]),
  );
  assert.throws(() => node('x', {}, [node('y'), node('y')]));
  assert.throws(() => cells(2 ** 32));
  assert.throws(() => strings('a\0b'));
  assert.throws(() => serializeFdt(node('notroot')));
  assert.throws(() => parseFdt(new Uint8Array(10)), /too short/);
  assert.throws(() => parseFdt(new Uint8Array(64)), /bad magic/);
  const dtb = serializeFdt(sampleTree());
  assert.throws(() => parseFdt(dtb.subarray(0, dtb.length - 16)));
  const bad = dtb.slice();
  new DataView(bad.buffer).setUint32(new DataView(bad.buffer).getUint32(8), 0x77);
  assert.throws(() => parseFdt(bad), /bad token/);
});

function virtDtb(): Uint8Array {
  return buildDeviceTree({
    ramSize: 128 * 1024 * 1024,
    bootargs: 'console=ttyS0 earlycon',
    initrd: { start: 0x8700_0000, end: 0x8780_0000 },
    isa: ISA,
    isaExtensions: EXTS,
    mmuType: 'sv48',
    virtioSlots: [2, 0],
  });
}

test('virt device tree: key nodes and properties', () => {
  const { root } = parseFdt(virtDtb());
  const str = (path: string, prop: string): string => {
    const n = findNode(root, path);
    assert.ok(n, `missing ${path}`);
    const v = getProp(n, prop);
    assert.ok(v, `missing ${path}:${prop}`);
    return propStrings(v).join('|');
  };
  const num = (path: string, prop: string): number[] =>
    propCells(getProp(findNode(root, path)!, prop)!);

  assert.deepEqual(num('/', '#address-cells'), [2]);
  assert.deepEqual(num('/cpus', 'timebase-frequency'), [10_000_000]);
  assert.equal(str('/cpus/cpu@0', 'riscv,isa'), ISA);
  assert.equal(str('/cpus/cpu@0', 'riscv,isa-base'), 'rv64i');
  assert.equal(str('/cpus/cpu@0', 'riscv,isa-extensions'), EXTS.join('|'));
  assert.equal(str('/cpus/cpu@0', 'mmu-type'), 'riscv,sv48');
  assert.equal(str('/cpus/cpu@0', 'device_type'), 'cpu');
  assert.equal(str('/cpus/cpu@0/interrupt-controller', 'compatible'), 'riscv,cpu-intc');
  assert.deepEqual(num('/cpus/cpu@0/interrupt-controller', 'phandle'), [VIRT_PHANDLE.cpu0Intc]);
  assert.deepEqual(propU64s(getProp(findNode(root, '/memory@80000000')!, 'reg')!), [
    0x8000_0000n,
    0x800_0000n,
  ]);
  assert.equal(str('/soc', 'compatible'), 'simple-bus');
  const intc = VIRT_PHANDLE.cpu0Intc;
  assert.deepEqual(num('/soc/clint@2000000', 'interrupts-extended'), [intc, 3, intc, 7]);
  assert.deepEqual(num('/soc/plic@c000000', 'interrupts-extended'), [intc, 11, intc, 9]);
  assert.deepEqual(num('/soc/plic@c000000', 'riscv,ndev'), [95]);
  assert.equal(str('/soc/plic@c000000', 'compatible'), 'sifive,plic-1.0.0|riscv,plic0');
  assert.equal(str('/soc/serial@10000000', 'compatible'), 'ns16550a');
  assert.deepEqual(num('/soc/serial@10000000', 'clock-frequency'), [3686400]);
  assert.deepEqual(num('/soc/serial@10000000', 'interrupts'), [10]);
  assert.deepEqual(num('/soc/serial@10000000', 'interrupt-parent'), [VIRT_PHANDLE.plic]);
  assert.equal(str('/soc/rtc@101000', 'compatible'), 'google,goldfish-rtc');
  assert.deepEqual(num('/soc/rtc@101000', 'interrupts'), [11]);
  assert.equal(str('/soc/test@100000', 'compatible'), 'sifive,test1|sifive,test0|syscon');
  assert.deepEqual(num('/poweroff', 'value'), [0x5555]);
  assert.deepEqual(num('/poweroff', 'regmap'), [VIRT_PHANDLE.test]);
  assert.deepEqual(num('/reboot', 'value'), [0x7777]);
  assert.ok(findNode(root, '/soc/virtio_mmio@10001000'));
  assert.deepEqual(num('/soc/virtio_mmio@10003000', 'interrupts'), [3]);
  assert.equal(findNode(root, '/soc/virtio_mmio@10002000'), undefined);
  assert.equal(str('/chosen', 'stdout-path'), '/soc/serial@10000000');
  assert.equal(str('/chosen', 'bootargs'), 'console=ttyS0 earlycon');
  assert.deepEqual(propU64s(getProp(findNode(root, '/chosen')!, 'linux,initrd-start')!), [
    0x8700_0000n,
  ]);
  assert.deepEqual(propU64s(getProp(findNode(root, '/chosen')!, 'linux,initrd-end')!), [
    0x8780_0000n,
  ]);
  assert.equal(str('/aliases', 'serial0'), '/soc/serial@10000000');
});

test('virt device tree without initrd and virtio slots', () => {
  const { root } = parseFdt(
    buildDeviceTree({ ramSize: 0x1000_0000, isa: ISA, isaExtensions: EXTS, mmuType: 'riscv,sv39' }),
  );
  assert.equal(getProp(findNode(root, '/chosen')!, 'linux,initrd-start'), undefined);
  assert.equal(
    findNode(root, '/soc')!.children.filter((c) => c.name.startsWith('virtio')).length,
    0,
  );
  assert.equal(propString(getProp(findNode(root, '/cpus/cpu@0')!, 'mmu-type')!), 'riscv,sv39');
  assert.throws(() =>
    buildDeviceTree({
      ramSize: 1,
      isa: ISA,
      isaExtensions: EXTS,
      mmuType: 'sv39',
      virtioSlots: [8],
    }),
  );
});

test('virt device tree decodes with dtc', (t) => {
  const probe = spawnSync('dtc', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    t.skip('dtc not installed (apt-get install device-tree-compiler)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'colinux-fdt-'));
  try {
    const file = join(dir, 'virt.dtb');
    writeFileSync(file, virtDtb());
    const r = spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', `dtc warnings:\n${r.stderr}`);
    const dts = r.stdout;
    for (const needle of [
      'cpu@0 {',
      'riscv,isa = "rv64imafdc_zicsr_zifencei";',
      'riscv,isa-extensions = "i\\0m\\0a\\0f\\0d\\0c\\0zicsr\\0zifencei";',
      'compatible = "riscv,cpu-intc";',
      'timebase-frequency = <0x989680>;',
      'memory@80000000 {',
      'reg = <0x00 0x80000000 0x00 0x8000000>;',
      'clint@2000000 {',
      'interrupts-extended = <0x02 0x03 0x02 0x07>;',
      'plic@c000000 {',
      'interrupts-extended = <0x02 0x0b 0x02 0x09>;',
      'serial@10000000 {',
      'compatible = "ns16550a";',
      'clock-frequency = ', // 0x384000 happens to print as a string
      'rtc@101000 {',
      'compatible = "google,goldfish-rtc";',
      'compatible = "sifive,test1\\0sifive,test0\\0syscon";',
      'compatible = "syscon-poweroff";',
      'compatible = "syscon-reboot";',
      'virtio_mmio@10001000 {',
      'virtio_mmio@10003000 {',
      'stdout-path = "/soc/serial@10000000";',
      'bootargs = "console=ttyS0 earlycon";',
      'serial0 = "/soc/serial@10000000";',
    ]) {
      assert.ok(dts.includes(needle), `dts lacks ${needle}\n${dts}`);
    }
    assert.ok(!dts.includes('virtio_mmio@10002000'));
    // And back: dtc's own DTB of the same source parses to the same tree.
    const dtsFile = join(dir, 'virt.dts');
    writeFileSync(dtsFile, dts);
    const back = join(dir, 'back.dtb');
    const r2 = spawnSync('dtc', ['-I', 'dts', '-O', 'dtb', '-o', back, dtsFile], {
      encoding: 'utf8',
    });
    assert.equal(r2.status, 0, r2.stderr);
    assert.deepEqual(parseFdt(readFileSync(back)).root, parseFdt(virtDtb()).root);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

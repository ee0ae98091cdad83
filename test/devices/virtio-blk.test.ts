import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  VirtioBlk,
  type BlockBackend,
  VIRTIO_BLK_T_IN,
  VIRTIO_BLK_T_OUT,
  VIRTIO_BLK_T_FLUSH,
  VIRTIO_BLK_T_GET_ID,
  VIRTIO_BLK_T_DISCARD,
  VIRTIO_BLK_T_WRITE_ZEROES,
  VIRTIO_BLK_S_OK,
  VIRTIO_BLK_S_IOERR,
  VIRTIO_BLK_S_UNSUPP,
  VIRTIO_BLK_F_RO,
  BLK_SEG_MAX,
} from '../../src/devices/virtio/blk.js';
import { VirtioMmio, STATUS_DEVICE_NEEDS_RESET } from '../../src/devices/virtio/mmio.js';
import { bringUp, FakeMemory, RingDriver, type Buf } from './virtio-driver.js';
import { TestLine } from './helpers.js';

/** A disk in memory; I/O completes when the test says so (or at once). */
class MemDisk implements BlockBackend {
  readonly data: Uint8Array;
  readonly readOnly: boolean;
  fail = false;
  manual = false;
  flushes = 0;
  discards: Array<[number, number]> = [];
  log: string[] = [];
  private held: Array<() => void> = [];
  constructor(size: number, readOnly = false) {
    this.data = new Uint8Array(size);
    this.readOnly = readOnly;
  }
  get size(): number {
    return this.data.length;
  }
  private async gate(what: string): Promise<void> {
    if (this.manual) await new Promise<void>((r) => this.held.push(r));
    this.log.push(what);
    if (this.fail) throw new Error('EIO');
  }
  /** Complete held operations (in the given order of holding, or reversed). */
  release(reverse = false): void {
    const h = this.held.splice(0);
    for (const r of reverse ? h.reverse() : h) r();
  }
  get holding(): number {
    return this.held.length;
  }
  async read(offset: number, bufs: Uint8Array[]): Promise<void> {
    await this.gate(`read ${offset}`);
    for (const b of bufs) {
      b.set(this.data.subarray(offset, offset + b.length));
      offset += b.length;
    }
  }
  async write(offset: number, bufs: Uint8Array[]): Promise<void> {
    const copy = bufs.map((b) => b.slice());
    await this.gate(`write ${offset}`);
    for (const b of copy) {
      this.data.set(b, offset);
      offset += b.length;
    }
  }
  async flush(): Promise<void> {
    await this.gate('flush');
    this.flushes++;
  }
  async discard(offset: number, length: number): Promise<void> {
    this.discards.push([offset, length]);
  }
  async writeZeroes(offset: number, length: number): Promise<void> {
    await this.gate(`zero ${offset}`);
    this.data.fill(0, offset, offset + length);
  }
}

function setup(disk: MemDisk) {
  const mem = new FakeMemory(4 << 20);
  const irq = new TestLine();
  const errors: string[] = [];
  let blk!: VirtioBlk;
  const t = new VirtioMmio(
    { memory: mem, irq, wake: () => {} },
    (host) => (blk = new VirtioBlk(host, disk, { id: 'cobd0' })),
    { onError: (e) => errors.push(e) },
  );
  const drv = new RingDriver(mem, 256);
  const features = bringUp(t, drv);
  const done = new Map<number, number>();
  return { mem, irq, t, drv, errors, blk: () => blk, features, done };
}

function header(type: number, sector: bigint | number): Uint8Array {
  const h = new Uint8Array(16);
  const dv = new DataView(h.buffer);
  dv.setUint32(0, type, true);
  dv.setBigUint64(8, BigInt(sector), true);
  return h;
}

type Env = ReturnType<typeof setup>;

/** Submit a request; returns a function that gives [status, usedLen, data-in] once completed. */
function submit(env: Env, type: number, sector: number | bigint, data: Buf[], indirect = false) {
  const bufs: Buf[] = [{ out: header(type, sector) }, ...data, { in: 1 }];
  const r = indirect ? env.drv.addIndirect(bufs) : env.drv.addChain(bufs);
  env.t.write(0x50, 4, 0);
  return r;
}

async function settle(env: Env): Promise<void> {
  await env.blk().idle();
}

function result(env: Env, r: { head: number; addrs: number[] }, inLens: number[]) {
  for (const [id, len] of env.drv.takeUsed()) env.done.set(id, len);
  const len = env.done.get(r.head);
  assert.ok(len !== undefined, `request ${r.head} completed`);
  env.done.delete(r.head);
  const status = env.mem.read(r.addrs[r.addrs.length - 1]!, 1)[0]!;
  const ins = inLens.map((n, k) =>
    env.mem.read(r.addrs[r.addrs.length - 1 - inLens.length + k]!, n),
  );
  return { status, len, ins };
}

const pattern = (n: number, seed: number): Uint8Array =>
  Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

test('config space: capacity, seg_max, blk_size, discard limits; RO feature', () => {
  const disk = new MemDisk(1 << 20);
  const env = setup(disk);
  assert.equal(env.t.read(0x100, 4), 2048);
  assert.equal(env.t.read(0x104, 4), 0);
  assert.equal(env.t.read(0x10c, 4), BLK_SEG_MAX);
  assert.equal(env.t.read(0x114, 4), 512);
  assert.ok(env.t.read(0x124, 4) > 0, 'max_discard_sectors');
  assert.ok(env.t.read(0x128, 4) > 0, 'max_discard_seg');
  assert.ok(env.t.read(0x130, 4) > 0, 'max_write_zeroes_sectors');
  assert.equal(env.features & (1n << BigInt(VIRTIO_BLK_F_RO)), 0n);
  const ro = setup(new MemDisk(1 << 20, true));
  assert.notEqual(ro.features & (1n << BigInt(VIRTIO_BLK_F_RO)), 0n);
});

test('write then read back, scattered over descriptors, direct and indirect', async () => {
  const disk = new MemDisk(1 << 20);
  const env = setup(disk);
  const a = pattern(1024, 1);
  const b = pattern(512, 2);
  const w = submit(env, VIRTIO_BLK_T_OUT, 3, [
    { out: a.subarray(0, 100) },
    { out: a.subarray(100) },
    { out: b },
  ]);
  await settle(env);
  let r = result(env, w, []);
  assert.equal(r.status, VIRTIO_BLK_S_OK);
  assert.equal(r.len, 1);
  assert.deepEqual(disk.data.subarray(1536, 1536 + 1024), a);
  assert.deepEqual(disk.data.subarray(2560, 3072), b);
  assert.equal(env.irq.level, true);
  const rd = submit(env, VIRTIO_BLK_T_IN, 3, [{ in: 700 }, { in: 836 }], true);
  await settle(env);
  r = result(env, rd, [700, 836]);
  assert.equal(r.status, VIRTIO_BLK_S_OK);
  assert.equal(r.len, 1537);
  const got = new Uint8Array([...r.ins[0]!, ...r.ins[1]!]);
  assert.deepEqual(got, new Uint8Array([...a, ...b]));
});

test('header and status in one buffer with the data (any descriptor layout)', async () => {
  const disk = new MemDisk(1 << 20);
  disk.data.set(pattern(512, 9), 512 * 7);
  const env = setup(disk);
  const r = env.drv.addChain([{ out: header(VIRTIO_BLK_T_IN, 7) }, { in: 513 }]);
  env.t.write(0x50, 4, 0);
  await settle(env);
  const [[id, len]] = env.drv.takeUsed() as [[number, number]];
  assert.equal(id, r.head);
  assert.equal(len, 513);
  const out = env.mem.read(r.addrs[1]!, 513);
  assert.deepEqual(out.subarray(0, 512), pattern(512, 9));
  assert.equal(out[512], VIRTIO_BLK_S_OK);
});

test('flush waits for writes in flight; several requests in flight complete out of order', async () => {
  const disk = new MemDisk(1 << 20);
  disk.manual = true;
  const env = setup(disk);
  const w1 = submit(env, VIRTIO_BLK_T_OUT, 0, [{ out: pattern(512, 1) }]);
  const w2 = submit(env, VIRTIO_BLK_T_OUT, 8, [{ out: pattern(512, 2) }]);
  const f = submit(env, VIRTIO_BLK_T_FLUSH, 0, []);
  const rd = submit(env, VIRTIO_BLK_T_IN, 100, [{ in: 512 }]);
  await new Promise((r) => setImmediate(r));
  assert.equal(disk.holding, 3, 'two writes and a read in flight, flush waiting');
  assert.equal(env.drv.takeUsed().length, 0, 'nothing completes before the host does');
  disk.release(true);
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.equal(disk.holding, 1, 'now the flush');
  disk.release();
  await settle(env);
  assert.deepEqual(disk.log, ['read 51200', 'write 4096', 'write 0', 'flush']);
  for (const r of [w1, w2, f]) assert.equal(result(env, r, []).status, VIRTIO_BLK_S_OK);
  void rd;
  assert.equal(disk.flushes, 1);
});

test('GET_ID, DISCARD, WRITE_ZEROES', async () => {
  const disk = new MemDisk(1 << 20);
  disk.data.fill(0xaa);
  const env = setup(disk);
  const id = submit(env, VIRTIO_BLK_T_GET_ID, 0, [{ in: 20 }]);
  await settle(env);
  let r = result(env, id, [20]);
  assert.equal(r.status, VIRTIO_BLK_S_OK);
  assert.equal(new TextDecoder().decode(r.ins[0]!).replace(/\0+$/, ''), 'cobd0');
  const seg = (sector: number, count: number, flags = 0): Uint8Array => {
    const s = new Uint8Array(16);
    const dv = new DataView(s.buffer);
    dv.setBigUint64(0, BigInt(sector), true);
    dv.setUint32(8, count, true);
    dv.setUint32(12, flags, true);
    return s;
  };
  const d = submit(env, VIRTIO_BLK_T_DISCARD, 0, [{ out: seg(8, 16) }]);
  const z = submit(env, VIRTIO_BLK_T_WRITE_ZEROES, 0, [
    { out: new Uint8Array([...seg(1, 2), ...seg(10, 1, 1)]) },
  ]);
  await settle(env);
  assert.equal(result(env, d, []).status, VIRTIO_BLK_S_OK);
  assert.deepEqual(disk.discards, [[4096, 8192]]);
  r = result(env, z, []);
  assert.equal(r.status, VIRTIO_BLK_S_OK);
  assert.ok(disk.data.subarray(512, 1536).every((b) => b === 0));
  assert.ok(disk.data.subarray(5120, 5632).every((b) => b === 0));
  assert.equal(disk.data[511], 0xaa);
  assert.equal(disk.data[1536], 0xaa);
  // Discard with the unmap flag, unknown flags, bad segment sizes: UNSUPP.
  for (const [type, body] of [
    [VIRTIO_BLK_T_DISCARD, seg(0, 1, 1)],
    [VIRTIO_BLK_T_WRITE_ZEROES, seg(0, 1, 2)],
    [VIRTIO_BLK_T_DISCARD, new Uint8Array(8)],
  ] as const) {
    const x = submit(env, type, 0, [{ out: body }]);
    await settle(env);
    assert.equal(result(env, x, []).status, VIRTIO_BLK_S_UNSUPP);
  }
  // Beyond the end: IOERR.
  const x = submit(env, VIRTIO_BLK_T_WRITE_ZEROES, 0, [{ out: seg(2047, 2) }]);
  await settle(env);
  assert.equal(result(env, x, []).status, VIRTIO_BLK_S_IOERR);
});

test('bad requests get IOERR or UNSUPP; the device keeps working', async () => {
  const disk = new MemDisk(1 << 20);
  const env = setup(disk);
  const cases: Array<[number, number | bigint, Buf[], number]> = [
    [VIRTIO_BLK_T_IN, 2048, [{ in: 512 }], VIRTIO_BLK_S_IOERR], // past the end
    [VIRTIO_BLK_T_IN, 2047, [{ in: 1024 }], VIRTIO_BLK_S_IOERR], // straddles the end
    [VIRTIO_BLK_T_IN, 0xffff_ffff_ffff_ffffn, [{ in: 512 }], VIRTIO_BLK_S_IOERR], // huge sector
    [VIRTIO_BLK_T_OUT, 0, [{ out: new Uint8Array(100) }], VIRTIO_BLK_S_IOERR], // not whole sectors
    [VIRTIO_BLK_T_IN, 0, [{ in: 300 }], VIRTIO_BLK_S_IOERR],
    [99, 0, [], VIRTIO_BLK_S_UNSUPP], // unknown type
  ];
  for (const [type, sector, data, want] of cases) {
    const r = submit(env, type, sector, data);
    await settle(env);
    assert.equal(result(env, r, []).status, want, `type ${type} sector ${sector}`);
  }
  assert.deepEqual(env.errors, []);
  const ok = submit(env, VIRTIO_BLK_T_IN, 0, [{ in: 512 }]);
  await settle(env);
  assert.equal(result(env, ok, []).status, VIRTIO_BLK_S_OK);
});

test('read-only disk: writes, zeroes and discards fail with IOERR, reads work', async () => {
  const disk = new MemDisk(1 << 20, true);
  const env = setup(disk);
  for (const [type, data] of [
    [VIRTIO_BLK_T_OUT, [{ out: new Uint8Array(512) }]],
    [VIRTIO_BLK_T_WRITE_ZEROES, [{ out: new Uint8Array(16) }]],
  ] as Array<[number, Buf[]]>) {
    const r = submit(env, type, 0, data);
    await settle(env);
    assert.equal(result(env, r, []).status, VIRTIO_BLK_S_IOERR);
  }
  const f = submit(env, VIRTIO_BLK_T_FLUSH, 0, []);
  const rd = submit(env, VIRTIO_BLK_T_IN, 0, [{ in: 512 }]);
  await settle(env);
  assert.equal(result(env, f, []).status, VIRTIO_BLK_S_OK);
  assert.equal(result(env, rd, []).status, VIRTIO_BLK_S_OK);
  assert.equal(disk.log.filter((l) => l.startsWith('write')).length, 0);
});

test('host I/O errors become IOERR', async () => {
  const disk = new MemDisk(1 << 20);
  const env = setup(disk);
  disk.fail = true;
  const reqs = [
    submit(env, VIRTIO_BLK_T_IN, 0, [{ in: 512 }]),
    submit(env, VIRTIO_BLK_T_OUT, 0, [{ out: new Uint8Array(512) }]),
    submit(env, VIRTIO_BLK_T_FLUSH, 0, []),
  ];
  await settle(env);
  for (const r of reqs) assert.equal(result(env, r, []).status, VIRTIO_BLK_S_IOERR);
  disk.fail = false;
  const ok = submit(env, VIRTIO_BLK_T_IN, 0, [{ in: 512 }]);
  await settle(env);
  assert.equal(result(env, ok, []).status, VIRTIO_BLK_S_OK);
});

test('a request without header or status byte needs a device reset', async () => {
  const env = setup(new MemDisk(1 << 20));
  env.drv.addChain([{ out: new Uint8Array(8) }, { in: 1 }]);
  env.t.write(0x50, 4, 0);
  await settle(env);
  assert.ok(env.t.read(0x70, 4) & STATUS_DEVICE_NEEDS_RESET);
  assert.match(env.errors[0]!, /header/);
  const env2 = setup(new MemDisk(1 << 20));
  env2.drv.addChain([{ out: header(VIRTIO_BLK_T_IN, 0) }]);
  env2.t.write(0x50, 4, 0);
  assert.ok(env2.t.read(0x70, 4) & STATUS_DEVICE_NEEDS_RESET);
  assert.match(env2.errors[0]!, /status byte/);
});

test('reset while a read is in flight: guest memory is not written afterwards', async () => {
  const disk = new MemDisk(1 << 20);
  disk.data.fill(0x55);
  disk.manual = true;
  const env = setup(disk);
  const r = submit(env, VIRTIO_BLK_T_IN, 0, [{ in: 512 }]);
  await new Promise((res) => setImmediate(res));
  env.t.write(0x70, 4, 0); // device reset
  disk.release();
  await settle(env);
  assert.ok(env.mem.read(r.addrs[1]!, 512).every((b) => b === 0));
  assert.equal(env.mem.read(r.addrs[2]!, 1)[0], 0);
});

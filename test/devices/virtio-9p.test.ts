import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Virtio9p, VIRTIO_9P_MOUNT_TAG } from '../../src/devices/virtio/9p.js';
import { VirtioMmio, VIRTIO_ID } from '../../src/devices/virtio/mmio.js';
import { P9Server } from '../../src/fs/9p-server.js';
import { HostDir } from '../../src/backends/fs/host-dir.js';
import {
  bytesOf,
  encodeMessage,
  Errno,
  NOFID,
  NONUNAME,
  RREAD_HEADER,
} from '../../src/fs/9p-protocol.js';
import { bringUp, FakeMemory, RingDriver, type Buf } from './virtio-driver.js';
import { TestLine } from './helpers.js';
import { decodeAny } from '../helpers/9p-client.js';

let tmp: string;

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'virtio-9p-'));
  fs.writeFileSync(path.join(tmp, 'file'), Buffer.from('0123456789abcdefghij'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function setup() {
  const backend = await HostDir.open(tmp);
  const mem = new FakeMemory(4 << 20);
  const irq = new TestLine();
  const errors: string[] = [];
  let dev!: Virtio9p;
  const t = new VirtioMmio(
    { memory: mem, irq, wake: () => {} },
    () => (dev = new Virtio9p(new P9Server(backend), 'cofs0')),
    { onError: (e) => errors.push(e) },
  );
  const W = (off: number, v: number): void => t.write(off, 4, v);
  const drv = new RingDriver(mem, 128);
  const features = bringUp(t, drv);
  const done = new Map<number, number>();
  /** Post a chain, kick, and wait for its used entry; returns the written length. */
  const call = async (bufs: Buf[]): Promise<{ len: number; addrs: number[] }> => {
    const r = drv.addChain(bufs);
    W(0x50, 0);
    for (let i = 0; i < 1000 && !done.has(r.head); i++) {
      await new Promise((res) => setImmediate(res));
      for (const [id, len] of drv.takeUsed()) done.set(id, len);
    }
    const len = done.get(r.head);
    assert.ok(len !== undefined, 'request completed');
    done.delete(r.head);
    return { len, addrs: r.addrs };
  };
  /** One message in one readable buffer, the reply in one writable buffer of `room` bytes. */
  const rpc = async (msg: Uint8Array, room = 8192) => {
    const r = await call([{ out: msg }, { in: room }]);
    return decodeAny(mem.read(r.addrs[1]!, r.len));
  };
  return { t, mem, irq, drv, errors, dev: () => dev, call, rpc, backend, features, W };
}

test('virtio-9p: device id, mount-tag feature and config space', async () => {
  const env = await setup();
  assert.equal(env.t.read(0x008, 4), VIRTIO_ID.p9);
  assert.ok(env.features & (1n << BigInt(VIRTIO_9P_MOUNT_TAG)), 'VIRTIO_9P_MOUNT_TAG offered');
  assert.equal(env.t.read(0x100, 2), 5, 'tag_len');
  const tag = Array.from({ length: 5 }, (_, i) => env.t.read(0x102 + i, 1));
  assert.equal(String.fromCharCode(...tag), 'cofs0');
  assert.throws(() => new Virtio9p(env.dev().server, ''), RangeError);
  await env.backend.close();
});

test('virtio-9p: requests and replies scattered over several descriptors', async () => {
  const env = await setup();
  let r = await env.rpc(
    encodeMessage('Tversion', 0xffff, { msize: 512000, version: bytesOf('9P2000.L') }),
  );
  assert.equal(r.op, 'Rversion');
  assert.equal(r.msize, 512000);
  r = await env.rpc(
    encodeMessage('Tattach', 1, {
      fid: 1,
      afid: NOFID,
      uname: bytesOf(''),
      aname: bytesOf(''),
      nUname: NONUNAME,
    }),
  );
  assert.equal(r.op, 'Rattach');
  r = await env.rpc(encodeMessage('Twalk', 2, { fid: 1, newfid: 2, wnames: [bytesOf('file')] }));
  assert.equal(r.op, 'Rwalk');
  r = await env.rpc(encodeMessage('Tlopen', 3, { fid: 2, flags: 2 }));
  assert.equal(r.op, 'Rlopen');

  // A write whose header and payload come in separate buffers (Linux's zero-copy layout).
  const payload = bytesOf('WXYZ');
  const whole = encodeMessage('Twrite', 4, { fid: 2, offset: 2n, data: payload });
  const hdr = whole.subarray(0, 23);
  const w = await env.call([
    { out: hdr },
    { out: payload.subarray(0, 1) },
    { out: payload.subarray(1) },
    { in: 11 },
  ]);
  const wr = decodeAny(env.mem.read(w.addrs[3]!, w.len));
  assert.equal(wr.op, 'Rwrite');
  assert.equal(wr.count, 4);
  assert.equal(fs.readFileSync(path.join(tmp, 'file'), 'utf8'), '01WXYZ6789abcdefghij');

  // A read whose reply header and data land in separate buffers.
  const rd = await env.call([
    { out: encodeMessage('Tread', 5, { fid: 2, offset: 0n, count: 20 }) },
    { in: RREAD_HEADER },
    { in: 7 },
    { in: 13 },
  ]);
  assert.equal(rd.len, RREAD_HEADER + 20);
  const bytes = Buffer.concat([
    env.mem.read(rd.addrs[1]!, RREAD_HEADER),
    env.mem.read(rd.addrs[2]!, 7),
    env.mem.read(rd.addrs[3]!, 13),
  ]);
  const rr = decodeAny(bytes);
  assert.equal(Buffer.from(rr.data as Uint8Array).toString(), '01WXYZ6789abcdefghij');
  assert.deepEqual(env.errors, []);
  await env.backend.close();
});

test('virtio-9p: bad chains get error replies or nothing, never a host exception', async () => {
  const env = await setup();
  await env.rpc(encodeMessage('Tversion', 0xffff, { msize: 8192, version: bytesOf('9P2000.L') }));
  // A reply room too small for anything: used length 0.
  const tiny = await env.call([{ out: encodeMessage('Tclunk', 9, { fid: 77 }) }, { in: 4 }]);
  assert.equal(tiny.len, 0);
  // A read larger than the room: shortened to fit.
  const small = await env.rpc(encodeMessage('Tread', 9, { fid: 77, offset: 0n, count: 100 }), 11);
  assert.equal(small.op, 'Rlerror');
  assert.equal(small.ecode, Errno.EBADF);
  // No readable part at all, garbage, and a request longer than the msize.
  const empty = await env.call([{ in: 64 }]);
  assert.equal(decodeAny(env.mem.read(empty.addrs[0]!, empty.len)).op, 'Rlerror');
  const garbage = await env.rpc(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5));
  assert.equal(garbage.op, 'Rlerror');
  const big = new Uint8Array(64 * 1024);
  big.set(
    encodeMessage('Twrite', 11, { fid: 1, offset: 0n, data: new Uint8Array(64 * 1024 - 23) }),
  );
  const over = await env.rpc(big);
  assert.equal(over.op, 'Rlerror');
  assert.equal(over.ecode, Errno.EMSGSIZE);
  assert.equal(over.tag, 11);
  // A device reset drops the session: fids are gone.
  env.W(0x70, 0);
  assert.equal(env.dev().server.fidCount, 0);
  assert.equal(env.dev().server.negotiatedMsize, 0);
  await env.backend.close();
});

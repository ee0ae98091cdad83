/** virtio-net on the real transport and virtqueues, with a fake backend and a driver in fake RAM. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  VirtioNet,
  NET_HDR_LEN,
  RX_BACKLOG_HIGH,
  VIRTIO_NET_F_CSUM,
  VIRTIO_NET_F_GUEST_CSUM,
  VIRTIO_NET_F_GUEST_TSO4,
  VIRTIO_NET_F_HOST_TSO4,
  VIRTIO_NET_F_MRG_RXBUF,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_STATUS,
  VIRTIO_NET_HDR_F_DATA_VALID,
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_TCPV4,
} from '../../src/devices/virtio/net.js';
import { VirtioMmio } from '../../src/devices/virtio/mmio.js';
import type { NetBackend, NetPort } from '../../src/net/link.js';
import { bringUp, FakeMemory, RingDriver, RAM_BASE } from './virtio-driver.js';
import { TestLine } from './helpers.js';

class FakeBackend implements NetBackend {
  linkUp = true;
  txOffload = false;
  port: NetPort | undefined;
  sent: Uint8Array[] = [];
  pumps = 0;
  flushes = 0;
  attach(p: NetPort): void {
    this.port = p;
  }
  detach(p: NetPort): void {
    if (this.port === p) this.port = undefined;
  }
  transmit(f: Uint8Array): void {
    this.sent.push(f);
  }
  pump(): void {
    this.pumps++;
  }
  flush(): void {
    this.flushes++;
  }
  stats(): Record<string, number> {
    return {};
  }
  close(): void {}
}

const MAC = new Uint8Array([0x02, 0x63, 0x6c, 1, 2, 3]);

/** A driver that accepts the offered features in `accept` (default: all). */
function setup(accept = ~0n, txOffload = false) {
  const mem = new FakeMemory(8 << 20);
  const irq = new TestLine();
  const backend = new FakeBackend();
  backend.txOffload = txOffload;
  let dev!: VirtioNet;
  const t = new VirtioMmio(
    { memory: mem, irq, wake: () => {} },
    (host) => (dev = new VirtioNet(host, { mac: MAC, backend })),
  );
  const rx = new RingDriver(mem, 256, RAM_BASE + 0x1000);
  const tx = new RingDriver(mem, 256, RAM_BASE + 0x40_0000);
  const features = bringUp(t, [rx, tx], accept);
  return { mem, irq, t, rx, tx, backend, dev: () => dev, features };
}

function frame(len: number, fill = 0xab): Uint8Array {
  return new Uint8Array(len).fill(fill);
}

test('features, MAC and link status in config space', () => {
  const env = setup();
  for (const b of [VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS, VIRTIO_NET_F_GUEST_CSUM]) {
    assert.ok(env.features & (1n << BigInt(b)), `feature ${b}`);
  }
  assert.deepEqual(
    Array.from({ length: 6 }, (_, i) => env.t.read(0x100 + i, 1)),
    [...MAC],
  );
  assert.equal(env.t.read(0x106, 2), 1); // LINK_UP
  env.dev().setLinkUp(false);
  assert.equal(env.t.read(0x106, 2), 0);
  assert.equal(env.t.read(0x60, 4) & 2, 2, 'config-change interrupt');
});

test('transmit: frames reach the backend; runts, giants and GSO frames are dropped, chains returned', async () => {
  const env = setup();
  const hdr = new Uint8Array(NET_HDR_LEN);
  const gso = new Uint8Array(NET_HDR_LEN);
  gso[1] = 1;
  env.tx.addChain([{ out: hdr }, { out: frame(60) }]);
  env.tx.addChain([{ out: new Uint8Array([...hdr, ...frame(1514)]) }]);
  env.tx.addChain([{ out: hdr }, { out: frame(10) }]);
  env.tx.addChain([{ out: hdr }, { out: frame(9000) }]);
  env.tx.addChain([{ out: gso }, { out: frame(60) }]);
  env.tx.addChain([{ out: new Uint8Array(4) }]);
  env.t.write(0x50, 4, 1);
  assert.deepEqual(
    env.backend.sent.map((f) => f.length),
    [60, 1514],
  );
  // The chains come back when the host gets control back, all with one interrupt.
  assert.equal(env.tx.takeUsed().length, 0);
  assert.equal(env.irq.level, false);
  await Promise.resolve();
  assert.equal(env.tx.takeUsed().length, 6);
  assert.ok(env.irq.level);
  assert.equal(env.dev().counters.txDropped, 4);
  assert.equal(env.backend.flushes, 1);
});

/** An Ethernet + IPv4 + TCP frame with `payload` bytes, TCP checksum field = pseudo-header sum. */
function tcpPartial(payload: number): Uint8Array {
  const f = new Uint8Array(14 + 20 + 20 + payload);
  f[12] = 0x08;
  f[14] = 0x45;
  const total = 40 + payload;
  f[16] = total >> 8;
  f[17] = total & 0xff;
  f[22] = 64;
  f[23] = 6;
  f.set([10, 0, 2, 15, 10, 0, 2, 2], 26);
  f[14 + 20 + 12] = 5 << 4;
  for (let i = 54; i < f.length; i++) f[i] = (i * 31) & 0xff;
  // Pseudo-header sum: addresses, protocol, TCP length.
  let sum = 0x0a00 + 0x020f + 0x0a00 + 0x0202 + 6 + (20 + payload);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  f[50] = sum >> 8;
  f[51] = sum & 0xff;
  return f;
}

/** The Internet checksum over the TCP segment with its pseudo-header: 0 when correct. */
function tcpChecksumOk(f: Uint8Array): boolean {
  let sum = 0x0a00 + 0x020f + 0x0a00 + 0x0202 + 6 + (f.length - 34);
  for (let i = 34; i < f.length; i += 2) sum += (f[i]! << 8) | (f[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}

function offloadSetup(accept = ~0n) {
  const env = setup(accept, true);
  const hdr = (flags: number, gsoType: number, start = 34, offset = 16): Uint8Array => {
    const h = new Uint8Array(NET_HDR_LEN);
    h[0] = flags;
    h[1] = gsoType;
    h[6] = start & 0xff;
    h[7] = start >> 8;
    h[8] = offset & 0xff;
    h[9] = offset >> 8;
    return h;
  };
  return { ...env, hdr };
}

test('transmit offloads: CSUM and HOST_TSO4 only toward a backend that takes them', () => {
  const plain = setup();
  for (const b of [VIRTIO_NET_F_CSUM, VIRTIO_NET_F_HOST_TSO4]) {
    assert.equal(plain.features & (1n << BigInt(b)), 0n, `feature ${b} without txOffload`);
  }
  const nat = offloadSetup();
  for (const b of [VIRTIO_NET_F_CSUM, VIRTIO_NET_F_HOST_TSO4]) {
    assert.ok(nat.features & (1n << BigInt(b)), `feature ${b} with txOffload`);
  }
});

test('transmit offloads: partial checksums are completed, 64 KiB TSO frames pass whole', async () => {
  const env = offloadSetup();
  const small = tcpPartial(1000);
  const big = tcpPartial(65535 - 40);
  env.tx.addChain([{ out: env.hdr(VIRTIO_NET_HDR_F_NEEDS_CSUM, 0) }, { out: small.slice() }]);
  env.tx.addChain([
    { out: env.hdr(VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4) },
    { out: big.slice() },
  ]);
  env.t.write(0x50, 4, 1);
  assert.deepEqual(
    env.backend.sent.map((f) => f.length),
    [small.length, big.length],
  );
  for (const f of env.backend.sent) assert.ok(tcpChecksumOk(f), 'checksum completed');
  assert.deepEqual(env.backend.sent[1]!.subarray(54), big.subarray(54));
  await Promise.resolve();
  assert.equal(env.tx.takeUsed().length, 2);
});

test('transmit offloads: hostile virtio_net_hdr values are dropped and counted, never thrown', async () => {
  const N = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  const T = VIRTIO_NET_HDR_GSO_TCPV4;
  const f = tcpPartial(1000);
  const env = offloadSetup();
  const bad: Array<[Uint8Array, Uint8Array]> = [
    [env.hdr(N, 0, f.length - 1, 0), f], // checksum field past the end
    [env.hdr(N, 0, 34, 0xffff), f], // csum_offset far out
    [env.hdr(N, 0, 0xffff, 16), f], // csum_start far out
    [env.hdr(N, 0, 2, 0), f], // inside the Ethernet header
    [env.hdr(N | 2, 0), f], // DATA_VALID is not for the driver to set
    [env.hdr(0xff, 0), f], // garbage flags
    [env.hdr(N, 3), f], // GSO UDP: not offered
    [env.hdr(N, 4), f], // GSO TCPv6: not offered
    [env.hdr(N, T | 0x80), f], // ECN: not offered
    [env.hdr(N, 0xff), f], // garbage gso_type
    [env.hdr(0, T), f], // TSO without NEEDS_CSUM
    [env.hdr(N, 0), tcpPartial(3000)], // too big without TSO
    [env.hdr(N, T), new Uint8Array(18 + 65536)], // too big even for TSO
  ];
  for (const [h, fr] of bad) env.tx.addChain([{ out: h }, { out: fr }]);
  env.t.write(0x50, 4, 1);
  assert.equal(env.backend.sent.length, 0);
  assert.equal(env.dev().counters.txDropped, bad.length);
  await Promise.resolve();
  assert.equal(env.tx.takeUsed().length, bad.length, 'every chain is returned');
  // Without the features negotiated, TSO frames are refused and the flags ignored.
  const off = offloadSetup(
    ~((1n << BigInt(VIRTIO_NET_F_CSUM)) | (1n << BigInt(VIRTIO_NET_F_HOST_TSO4))),
  );
  off.tx.addChain([{ out: off.hdr(N, T) }, { out: tcpPartial(3000) }]);
  off.tx.addChain([{ out: off.hdr(N, 0) }, { out: f.slice() }]);
  off.t.write(0x50, 4, 1);
  assert.deepEqual(
    off.backend.sent.map((x) => x.length),
    [f.length],
  );
  assert.deepEqual(off.backend.sent[0], f, 'left as it is');
});

test('receive: frames wait for buffers, then arrive behind the header (DATA_VALID when vouched for)', () => {
  const env = setup();
  const port = env.backend.port!;
  port.deliver(frame(100, 1), true);
  port.deliver(frame(200, 2), false);
  assert.equal(env.rx.takeUsed().length, 0);
  const a = env.rx.addChain([{ in: 1526 }]);
  const b = env.rx.addChain([{ in: 1526 }]);
  env.t.write(0x50, 4, 0);
  const used = env.rx.takeUsed();
  assert.deepEqual(used, [
    [a.head, NET_HDR_LEN + 100],
    [b.head, NET_HDR_LEN + 200],
  ]);
  const h1 = env.mem.read(a.addrs[0]!, NET_HDR_LEN + 100);
  assert.equal(h1[0], VIRTIO_NET_HDR_F_DATA_VALID);
  assert.equal(h1[10], 1); // num_buffers
  assert.ok(h1.subarray(NET_HDR_LEN).every((x) => x === 1));
  assert.equal(env.mem.read(b.addrs[0]!, 1)[0], 0);
  assert.ok(env.irq.level);
  // Mergeable buffers: a frame larger than one buffer spans two (num_buffers = 2).
  const small = env.rx.addChain([{ in: 64 }]);
  port.deliver(frame(1000, 7));
  assert.deepEqual(env.rx.takeUsed(), []);
  const next = env.rx.addChain([{ in: 1526 }]);
  env.t.write(0x50, 4, 0);
  assert.deepEqual(env.rx.takeUsed(), [
    [small.head, 64],
    [next.head, NET_HDR_LEN + 1000 - 64],
  ]);
  assert.equal(env.mem.read(small.addrs[0]!, 12)[10], 2);
});

test('receive without mergeable buffers: one buffer per frame; a too small one is returned empty', () => {
  const env = setup(~(1n << BigInt(VIRTIO_NET_F_MRG_RXBUF)));
  assert.equal(env.dev().gsoMax() > 0, true, 'TSO4 alone uses big buffers');
  const small = env.rx.addChain([{ in: 64 }]);
  env.backend.port!.deliver(frame(1000));
  assert.deepEqual(env.rx.takeUsed(), [[small.head, 0]]);
  assert.equal(env.dev().counters.rxDropped, 1);
});

test('receive GSO: a 30 000-byte TCP segment spans buffers with NEEDS_CSUM and the GSO fields', () => {
  const env = setup();
  const port = env.backend.port!;
  assert.ok(env.dev().gsoMax() >= 60_000);
  const f = frame(14 + 20 + 20 + 30_000, 9);
  f[14 + 20 + 12] = 5 << 4; // TCP data offset: 20 bytes
  const bufs = Array.from({ length: 30 }, () => env.rx.addChain([{ in: 1526 }]));
  port.deliver(f, true, { size: 1460, csumStart: 34 });
  const used = env.rx.takeUsed();
  const total = NET_HDR_LEN + f.length;
  // The headers alone in the first buffer, the payload from the start of the next ones.
  assert.equal(used.length, 1 + Math.ceil(30_000 / 1526));
  assert.deepEqual(used[0], [bufs[0]!.head, NET_HDR_LEN + 54]);
  assert.equal(
    used.reduce((n, [, len]) => n + len, 0),
    total,
  );
  const payload = new Uint8Array(30_000);
  let at = 0;
  for (const [i, [head, len]] of used.entries()) {
    assert.equal(head, bufs[i]!.head);
    if (i === 0) continue;
    payload.set(env.mem.read(bufs[i]!.addrs[0]!, len), at);
    at += len;
  }
  assert.equal(at, 30_000);
  assert.deepEqual(payload, f.subarray(54));
  assert.deepEqual(env.mem.read(bufs[0]!.addrs[0]! + NET_HDR_LEN, 54), f.subarray(0, 54));
  const h = new DataView(env.mem.read(bufs[0]!.addrs[0]!, NET_HDR_LEN).buffer);
  assert.equal(h.getUint8(0), VIRTIO_NET_HDR_F_NEEDS_CSUM);
  assert.equal(h.getUint8(1), VIRTIO_NET_HDR_GSO_TCPV4);
  assert.equal(h.getUint16(2, true), 54); // hdr_len
  assert.equal(h.getUint16(4, true), 1460); // gso_size
  assert.equal(h.getUint16(6, true), 34); // csum_start
  assert.equal(h.getUint16(8, true), 16); // csum_offset
  assert.equal(h.getUint16(10, true), used.length); // num_buffers
  // Without TSO4 the device refuses GSO frames.
  const plain = setup(~(1n << BigInt(VIRTIO_NET_F_GUEST_TSO4)));
  assert.equal(plain.dev().gsoMax(), 0);
  plain.backend.port!.deliver(f, true, { size: 1460, csumStart: 34 });
  assert.equal(plain.dev().counters.rxDropped, 1);
});

test('receive GSO: a first buffer too small for the headers alone is filled contiguously', () => {
  const env = setup();
  const port = env.backend.port!;
  const f = frame(14 + 20 + 20 + 3000, 5);
  f[14 + 20 + 12] = 5 << 4;
  f.fill(6, 54);
  const bufs = [env.rx.addChain([{ in: 40 }]), env.rx.addChain([{ in: 1526 }])];
  bufs.push(env.rx.addChain([{ in: 1526 }]), env.rx.addChain([{ in: 1526 }]));
  port.deliver(f, true, { size: 1460, csumStart: 34 });
  const used = env.rx.takeUsed();
  assert.deepEqual(used, [
    [bufs[0]!.head, 40],
    [bufs[1]!.head, 1526],
    [bufs[2]!.head, NET_HDR_LEN + f.length - 40 - 1526],
  ]);
  const got = new Uint8Array(NET_HDR_LEN + f.length);
  got.set(env.mem.read(bufs[0]!.addrs[0]!, 40), 0);
  got.set(env.mem.read(bufs[1]!.addrs[0]!, 1526), 40);
  got.set(env.mem.read(bufs[2]!.addrs[0]!, used[2]![1]), 40 + 1526);
  assert.equal(new DataView(got.buffer).getUint16(10, true), 3); // num_buffers
  assert.deepEqual(got.subarray(NET_HDR_LEN), f);
});

test('hostile receive buffers: empty and read-only chains neither throw nor lose the device', () => {
  const env = setup();
  const port = env.backend.port!;
  const f = frame(14 + 20 + 20 + 5000, 3);
  f[14 + 20 + 12] = 5 << 4;
  env.rx.addChain([{ in: 0 }]);
  env.rx.addChain([{ out: new Uint8Array(64) }]);
  port.deliver(f, true, { size: 1460, csumStart: 34 });
  port.deliver(frame(60));
  assert.deepEqual(env.rx.takeUsed(), [], 'nothing fits yet');
  for (let i = 0; i < 8; i++) env.rx.addChain([{ in: 2048 }]);
  env.t.write(0x50, 4, 0);
  const used = env.rx.takeUsed();
  assert.equal(
    used.reduce((n, [, len]) => n + len, 0),
    2 * NET_HDR_LEN + f.length + 60,
  );
  assert.equal(env.dev().counters.rxFrames, 2);
});

test('receive backlog: congestion is reported, and the backend is pumped once buffers arrive', () => {
  const env = setup();
  const port = env.backend.port!;
  for (let i = 0; i < RX_BACKLOG_HIGH; i++) port.deliver(frame(60));
  assert.ok(port.congested());
  for (let i = 0; i < 5000; i++) port.deliver(frame(60));
  assert.ok(env.dev().counters.rxDropped > 0, 'a full backlog drops');
  for (let i = 0; i < 250; i++) env.rx.addChain([{ in: 1526 }]);
  env.t.write(0x50, 4, 0);
  assert.equal(env.rx.takeUsed().length, 250);
  // 1024 were kept, 250 delivered: still above the low mark, no pump yet.
  assert.equal(env.backend.pumps, 0);
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 250; i++) env.rx.addChain([{ in: 1526 }]);
    env.t.write(0x50, 4, 0);
    env.rx.takeUsed();
  }
  assert.ok(!port.congested());
  assert.equal(env.backend.pumps, 1);
});

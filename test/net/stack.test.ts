/**
 * The user-mode network stack on raw frames, with a fake host and clock:
 * ARP, ICMP, DHCP, DNS, UDP NAT, the TCP state machine (handshake, data,
 * windows, retransmission, half-close, resets), port forwards, `restrict`,
 * and hostile input (malformed, truncated and random frames).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GATEWAY_IP, DNS_IP, GUEST_IP, GATEWAY_MAC, ACK_BATCH } from '../../src/net/stack.js';
import {
  parseArp,
  buildArp,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV6,
  ETH_HLEN,
} from '../../src/net/ethernet.js';
import { parseIp4, buildUdp } from '../../src/net/ipv4.js';
import { ip4, rd16, checksum, BROADCAST_MAC } from '../../src/net/bytes.js';
import { ACK, FIN, PSH, RST, SYN, RCV_BUF, SENDQ_HIGH } from '../../src/net/tcp.js';
import { DNS_A, DNS_AAAA } from '../../src/net/host.js';
import {
  FakeClock,
  FakeHost,
  Guest,
  GUEST_MAC,
  tcpFrame,
  udpFrame,
  pingFrame,
  rawFrame,
  ETHERTYPE_IPV4,
} from './helpers.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function setup(opts: { restrict?: boolean } = {}): { g: Guest; host: FakeHost; clock: FakeClock } {
  const host = new FakeHost();
  const clock = new FakeClock();
  const g = new Guest({ host, clock, restrict: opts.restrict });
  return { g, host, clock };
}

test('ARP: the gateway and DNS addresses answer with the gateway MAC', () => {
  const { g } = setup();
  for (const target of [GATEWAY_IP, DNS_IP]) {
    g.send(buildArp(BROADCAST_MAC, GUEST_MAC, 1, GUEST_MAC, GUEST_IP, new Uint8Array(6), target));
    const [reply] = g.take();
    const a = parseArp(reply!);
    assert.ok(a);
    assert.equal(a.op, 2);
    assert.equal(a.senderIp, target);
    assert.deepEqual([...a.senderMac], [...GATEWAY_MAC]);
    assert.equal(a.targetIp, GUEST_IP);
  }
  // Nobody else lives on the segment.
  g.send(
    buildArp(BROADCAST_MAC, GUEST_MAC, 1, GUEST_MAC, GUEST_IP, new Uint8Array(6), ip4(10, 0, 2, 9)),
  );
  assert.equal(g.take().length, 0);
});

test('ICMP echo to the gateway is answered with the same payload', () => {
  const { g } = setup();
  const payload = new TextEncoder().encode('ping payload 0123456789');
  g.send(pingFrame(GATEWAY_IP, 0x1234, 7, payload));
  const [f] = g.take();
  const p = parseIp4(f!);
  assert.ok(typeof p !== 'string');
  assert.equal(p.src, GATEWAY_IP);
  assert.equal(p.dst, GUEST_IP);
  assert.equal(f![p.payOff], 0); // echo reply
  assert.equal(rd16(f!, p.payOff + 4), 0x1234);
  assert.equal(rd16(f!, p.payOff + 6), 7);
  assert.equal(checksum(f!, p.payOff, p.payOff + p.payLen), 0);
  assert.deepEqual(f!.subarray(p.payOff + 8, p.payOff + p.payLen), payload);
  // Echo to an outside host has no answer (no ICMP sockets in Node) and is counted.
  g.send(pingFrame(ip4(192, 0, 2, 1), 1, 1, payload));
  assert.equal(g.take().length, 0);
  assert.equal(g.net.stats()['drop.icmp-unsupported'], 1);
});

function dhcpMessage(type: number, extra: number[] = [], xid = 0xabcdef01): Uint8Array {
  const m = new Uint8Array(300);
  m[0] = 1;
  m[1] = 1;
  m[2] = 6;
  m.set([xid >>> 24, (xid >>> 16) & 0xff, (xid >>> 8) & 0xff, xid & 0xff], 4);
  m[10] = 0x80; // broadcast flag
  m.set(GUEST_MAC, 28);
  m.set([0x63, 0x82, 0x53, 0x63], 236);
  m.set([53, 1, type, ...extra, 255], 240);
  return m;
}

function dhcpOptions(m: Uint8Array): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  for (let i = 240; i < m.length && m[i] !== 255;) {
    if (m[i] === 0) {
      i++;
      continue;
    }
    out.set(m[i]!, m.subarray(i + 2, i + 2 + m[i + 1]!));
    i += 2 + m[i + 1]!;
  }
  return out;
}

test('DHCP: discover → offer, request → ack with 10.0.2.15, gateway .2, DNS .3', () => {
  const { g } = setup();
  g.send(udpFrame(0, 68, 0xffffffff, 67, dhcpMessage(1), BROADCAST_MAC));
  const [offer] = g.takeUdp();
  assert.ok(offer);
  assert.equal(offer.dstPort, 68);
  const om = offer.data;
  assert.deepEqual([...om.subarray(16, 20)], [10, 0, 2, 15]);
  assert.deepEqual([...dhcpOptions(om).get(53)!], [2]);
  g.send(
    udpFrame(
      0,
      68,
      0xffffffff,
      67,
      dhcpMessage(3, [50, 4, 10, 0, 2, 15, 54, 4, 10, 0, 2, 2]),
      BROADCAST_MAC,
    ),
  );
  const [ack] = g.takeUdp();
  const opts = dhcpOptions(ack!.data);
  assert.deepEqual([...opts.get(53)!], [5]);
  assert.deepEqual([...opts.get(1)!], [255, 255, 255, 0]);
  assert.deepEqual([...opts.get(3)!], [10, 0, 2, 2]);
  assert.deepEqual([...opts.get(6)!], [10, 0, 2, 3]);
  // Asking for another address gets a NAK.
  g.send(udpFrame(0, 68, 0xffffffff, 67, dhcpMessage(3, [50, 4, 10, 0, 2, 99]), BROADCAST_MAC));
  const [nak] = g.takeUdp();
  assert.deepEqual([...dhcpOptions(nak!.data).get(53)!], [6]);
});

function dnsQuery(name: string, type: number, id = 0x4242): Uint8Array {
  const labels = name.split('.').flatMap((l) => [l.length, ...new TextEncoder().encode(l)]);
  return new Uint8Array([
    id >> 8,
    id & 0xff,
    1,
    0,
    0,
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    ...labels,
    0,
    0,
    type,
    0,
    1,
  ]);
}

test('DNS at 10.0.2.3: answers from the host resolver; loopback becomes 10.0.2.2; AAAA empty', async () => {
  const { g, host } = setup();
  host.answers.set('example.test/1', {
    rcode: 0,
    records: [{ ttl: 30, record: { type: DNS_A, address: '192.0.2.7' } }],
  });
  host.answers.set('hostbox/1', {
    rcode: 0,
    records: [{ ttl: 30, record: { type: DNS_A, address: '127.0.1.1' } }],
  });
  host.answers.set('localhost/1', {
    rcode: 0,
    records: [{ ttl: 30, record: { type: DNS_A, address: '127.0.0.1' } }],
  });
  const ask = async (name: string, type = DNS_A): Promise<Uint8Array> => {
    g.send(udpFrame(GUEST_IP, 5353, DNS_IP, 53, dnsQuery(name, type)));
    await tick();
    const [r] = g.takeUdp();
    assert.ok(r, `no answer for ${name}`);
    assert.equal(r.srcPort, 53);
    assert.equal(r.ip.src, DNS_IP);
    return r.data;
  };
  const tail = (m: Uint8Array): number[] => [...m.subarray(m.length - 4)];
  let m = await ask('Example.TEST');
  assert.equal(rd16(m, 0), 0x4242);
  assert.equal(m[3]! & 0xf, 0);
  assert.equal(rd16(m, 6), 1);
  assert.deepEqual(tail(m), [192, 0, 2, 7]);
  assert.deepEqual(tail(await ask('hostbox')), [10, 0, 2, 2]);
  assert.deepEqual(tail(await ask('localhost')), [127, 0, 0, 1]);
  m = await ask('nothing.test');
  assert.equal(m[3]! & 0xf, 3); // NXDOMAIN
  m = await ask('example.test', DNS_AAAA);
  assert.equal(m[3]! & 0xf, 0);
  assert.equal(rd16(m, 6), 0);
  // A name with characters no host name has is refused.
  const bad = dnsQuery('a b', DNS_A);
  g.send(udpFrame(GUEST_IP, 5353, DNS_IP, 53, bad));
  await tick();
  assert.equal(g.takeUdp()[0]!.data[3]! & 0xf, 5);
});

test('UDP NAT: out through a host socket, replies only from endpoints the guest sent to', () => {
  const { g, host } = setup();
  g.send(udpFrame(GUEST_IP, 4000, GATEWAY_IP, 7777, new TextEncoder().encode('hi')));
  assert.equal(host.udpSent.length, 1);
  const sent = host.udpSent[0]!;
  assert.equal(sent.address, '127.0.0.1');
  assert.equal(sent.port, 7777);
  sent.from(new TextEncoder().encode('back'), '127.0.0.1', 7777);
  const [r] = g.takeUdp();
  assert.equal(r!.ip.src, GATEWAY_IP);
  assert.equal(r!.srcPort, 7777);
  assert.equal(r!.dstPort, 4000);
  assert.equal(new TextDecoder().decode(r!.data), 'back');
  sent.from(new TextEncoder().encode('spoof'), '127.0.0.1', 9999);
  assert.equal(g.takeUdp().length, 0);
  assert.equal(g.net.stats()['drop.udp-unsolicited'], 1);
});

test('restrict: no TCP, UDP or DNS out; ping to the gateway still works', async () => {
  const { g, host } = setup({ restrict: true });
  g.send(tcpFrame({ dst: GATEWAY_IP, srcPort: 1000, dstPort: 80, seq: 1, flags: SYN }));
  const [rst] = g.takeTcp();
  assert.equal(rst!.flags & RST, RST);
  assert.equal(host.sockets.length, 0);
  g.send(udpFrame(GUEST_IP, 4000, ip4(192, 0, 2, 1), 53, new Uint8Array(4)));
  assert.equal(host.udpSent.length, 0);
  g.take();
  g.send(udpFrame(GUEST_IP, 5353, DNS_IP, 53, dnsQuery('example.test', DNS_A)));
  await tick();
  assert.equal(g.takeUdp()[0]!.data[3]! & 0xf, 5);
  g.send(pingFrame(GATEWAY_IP, 1, 1, new Uint8Array(8)));
  assert.equal(g.take().length, 1);
});

/** Open a guest → host connection through the fake host; returns the pieces. */
function open(
  g: Guest,
  host: FakeHost,
  synOpts: { mss?: number; wscale?: number; window?: number } = {},
) {
  const gseq = 1000;
  g.send(
    tcpFrame({
      dst: GATEWAY_IP,
      srcPort: 3333,
      dstPort: 8080,
      seq: gseq,
      flags: SYN,
      mss: 1460,
      ...synOpts,
    }),
  );
  assert.equal(g.take().length, 0, 'no SYN-ACK before the host connected');
  const { sock, address, port } = host.sockets.at(-1)!;
  assert.equal(address, '127.0.0.1');
  assert.equal(port, 8080);
  sock.handlers.onConnect();
  const [synack] = g.takeTcp();
  assert.equal(synack!.flags, SYN | ACK);
  assert.equal(synack!.ack, gseq + 1);
  assert.equal(synack!.mss, 1460);
  const iss = synack!.seq;
  const seg = (o: {
    seq?: number;
    ack?: number;
    flags: number;
    data?: Uint8Array;
    window?: number;
  }) =>
    tcpFrame({
      dst: GATEWAY_IP,
      srcPort: 3333,
      dstPort: 8080,
      seq: o.seq ?? gseq + 1,
      ack: o.ack ?? iss + 1,
      window: o.window ?? synOpts.window ?? 65535,
      flags: o.flags,
      data: o.data,
    });
  g.send(seg({ flags: ACK }));
  return { sock, iss, gseq, seg };
}

test('TCP: handshake, data both ways, guest half-close, host close', async () => {
  const { g, host } = setup();
  const { sock, iss, gseq, seg } = open(g, host);
  assert.equal(g.net.connections()[0]!.state, 'ESTABLISHED');
  g.send(seg({ flags: ACK | PSH, data: new TextEncoder().encode('hello') }));
  assert.equal(sock.text(), 'hello');
  await Promise.resolve();
  const [ack] = g.takeTcp();
  assert.equal(ack!.ack, gseq + 6);
  sock.handlers.onData(new TextEncoder().encode('world'));
  const [data] = g.takeTcp();
  assert.equal(data!.seq, iss + 1);
  assert.equal(new TextDecoder().decode(data!.data), 'world');
  // Guest half-closes; the host keeps sending.
  g.send(seg({ seq: gseq + 6, ack: iss + 6, flags: ACK | FIN }));
  assert.ok(sock.ended);
  assert.equal(g.net.connections()[0]!.state, 'CLOSE_WAIT');
  const [finAck] = g.takeTcp();
  assert.equal(finAck!.ack, gseq + 7);
  sock.handlers.onData(new TextEncoder().encode('more'));
  sock.handlers.onEnd();
  const segs = g.takeTcp();
  assert.equal(new TextDecoder().decode(segs[0]!.data), 'more');
  const fin = segs.at(-1)!;
  assert.equal(fin.flags & FIN, FIN);
  assert.equal(g.net.connections()[0]!.state, 'LAST_ACK');
  g.send(seg({ seq: gseq + 7, ack: fin.seq + 1, flags: ACK }));
  assert.equal(g.net.connections().length, 0);
  assert.equal(g.net.stats()['tcp.end.closed'], 1);
});

test('TCP: a refused host connection resets the guest', () => {
  const { g, host } = setup();
  g.send(tcpFrame({ dst: GATEWAY_IP, srcPort: 3334, dstPort: 9, seq: 500, flags: SYN }));
  host.sockets[0]!.sock.handlers.onClose({ code: 'ECONNREFUSED', message: 'refused' });
  const [rst] = g.takeTcp();
  assert.equal(rst!.flags, RST | ACK);
  assert.equal(rst!.ack, 501);
  assert.equal(g.net.connections().length, 0);
});

test("TCP: sending respects the guest's window and MSS; the host is paused when too much waits", () => {
  const { g, host } = setup();
  const { sock, iss, seg } = open(g, host, { mss: 1000, window: 3000 });
  sock.handlers.onData(new Uint8Array(10_000));
  let segs = g.takeTcp();
  assert.ok(segs.every((s) => s.data.length <= 1000));
  assert.equal(
    segs.reduce((n, s) => n + s.data.length, 0),
    3000,
  );
  g.send(seg({ ack: iss + 1 + 2000, flags: ACK, window: 3000 }));
  segs = g.takeTcp();
  assert.equal(
    segs.reduce((n, s) => n + s.data.length, 0),
    2000,
  );
  assert.equal(segs[0]!.seq, iss + 1 + 3000);
  assert.equal(sock.paused, false);
  sock.handlers.onData(new Uint8Array(SENDQ_HIGH));
  assert.equal(sock.paused, true);
  // The guest acknowledges everything with a big window: the queue drains, reading resumes.
  let acked = iss + 1 + 2000;
  for (let i = 0; i < 400 && sock.paused; i++) {
    const out = g.takeTcp();
    const end = out.length ? out.at(-1)!.seq + out.at(-1)!.data.length : acked + 3000;
    acked = Math.max(acked, end);
    g.send(seg({ ack: acked, flags: ACK, window: 65535 }));
  }
  assert.equal(sock.paused, false);
});

test('TCP with GSO toward the guest: large segments (≤ 44 × MSS) with a correct partial checksum', () => {
  const host = new FakeHost();
  const g = new Guest({ host, clock: new FakeClock() }, 65000);
  const { sock, iss } = open(g, host, { mss: 1000, wscale: 7 });
  const data = Uint8Array.from({ length: 200_000 }, (_, i) => (i * 7) & 0xff);
  sock.handlers.onData(data);
  // takeTcp() verifies every checksum (the fake guest completed the partial ones).
  const segs = g.takeTcp();
  assert.ok(g.gsoFrames > 0);
  assert.deepEqual(
    segs.map((s) => s.data.length),
    [44_000, 44_000, 44_000, 44_000, 24_000],
  );
  let seq = iss + 1;
  for (const s of segs) {
    assert.equal(s.seq, seq);
    assert.deepEqual(s.data, data.subarray(seq - iss - 1, seq - iss - 1 + s.data.length));
    seq += s.data.length;
  }
  assert.equal(seq, iss + 1 + data.length);
});

test('TCP with GSO: segments with more data behind end 8 × k bytes after where the queue last ran dry', () => {
  const host = new FakeHost();
  const g = new Guest({ host, clock: new FakeClock() }, 65000);
  const { sock, iss, seg } = open(g, host, { mss: 1460 });
  // 1001 bytes empty the queue: the guest's reader is likely to start its next read there.
  const head = Uint8Array.from({ length: 1001 }, (_, i) => i & 0xff);
  sock.handlers.onData(head);
  const [first] = g.takeTcp();
  assert.equal(first!.data.length, 1001);
  // An odd window (no scaling): segments are cut by the window, not by 44 × MSS.
  g.send(seg({ ack: iss + 1 + 1001, flags: ACK, window: 30_001 }));
  const data = Uint8Array.from({ length: 300_001 }, (_, i) => (i * 13) & 0xff);
  sock.handlers.onData(data);
  let segs = g.takeTcp();
  assert.ok(
    segs.some((s) => s.data.length > 1460),
    'GSO segments',
  );
  let next = iss + 1 + 1001;
  let acked = next;
  for (let round = 0; round < 100 && acked < iss + 1 + 1001 + data.length; round++) {
    for (const s of segs) {
      assert.equal(s.seq, next);
      const off = s.seq - iss - 1 - 1001;
      assert.deepEqual(s.data, data.subarray(off, off + s.data.length));
      next += s.data.length;
      const end = next - (iss + 1 + 1001);
      if (end < data.length && s.data.length > 1460) assert.equal(end % 8, 0, `segment end ${end}`);
    }
    acked = next;
    g.send(seg({ ack: acked, flags: ACK, window: 30_001 }));
    segs = g.takeTcp();
  }
  assert.equal(acked, iss + 1 + 1001 + data.length);
});

test('TCP: guest data is acknowledged once per batch, at once when a batch holds ACK_BATCH bytes', async () => {
  const { g, host } = setup();
  const { sock, gseq, seg } = open(g, host, { wscale: 7 });
  let seq = gseq + 1;
  for (let i = 0; i < 10; i++) {
    g.send(seg({ seq, flags: ACK | PSH, data: new Uint8Array(1000).fill(i) }));
    seq += 1000;
  }
  g.net.flush();
  assert.equal(g.takeTcp().length, 0, 'small batches wait for the host to get control back');
  assert.equal(
    sock.written.reduce((n, d) => n + d.length, 0),
    10_000,
    'the data went on at once',
  );
  await new Promise((r) => setImmediate(r));
  const acks = g.takeTcp();
  assert.equal(acks.length, 1);
  assert.equal(acks[0]!.ack, seq);
  // A batch of ACK_BATCH bytes or more is acknowledged when the device finishes it.
  for (let sent = 0; sent < ACK_BATCH; sent += 1400) {
    g.send(seg({ seq, flags: ACK, data: new Uint8Array(1400) }));
    seq += 1400;
  }
  g.net.flush();
  const now = g.takeTcp();
  assert.equal(now.length, 1);
  assert.equal(now[0]!.ack, seq);
  await new Promise((r) => setImmediate(r));
  assert.equal(g.takeTcp().length, 0, 'nothing left to acknowledge');
});

test('TCP: a batch of host chunks goes out after its last chunk, or when it fills the queue', () => {
  const host = new FakeHost();
  const g = new Guest({ host, clock: new FakeClock() }, 65000);
  const { sock, iss } = open(g, host, { mss: 1000, wscale: 7 });
  sock.handlers.onData(new Uint8Array(30_000), true);
  sock.handlers.onData(new Uint8Array(30_000), true);
  assert.equal(g.takeTcp().length, 0, 'more chunks follow');
  sock.handlers.onData(new Uint8Array(30_000), false);
  assert.deepEqual(
    g.takeTcp().map((s) => s.data.length),
    [44_000, 44_000, 2000],
    'full frames across the chunks',
  );
  // A chunk that fills the queue pauses the socket, which then hands over
  // nothing more for now: the data must go out without waiting for the rest.
  sock.handlers.onData(new Uint8Array(SENDQ_HIGH), true);
  assert.equal(sock.paused, true);
  const segs = g.takeTcp();
  assert.ok(segs.length > 0);
  assert.equal(segs[0]!.seq, iss + 1 + 90_000);
});

test('TCP: lost data is retransmitted on timeout; endless loss gives up with resets', () => {
  const { g, host, clock } = setup();
  const { sock, iss } = open(g, host);
  sock.handlers.onData(new TextEncoder().encode('payload'));
  const [first] = g.takeTcp();
  assert.equal(first!.seq, iss + 1);
  clock.advance(1000);
  const [again] = g.takeTcp();
  assert.equal(again!.seq, iss + 1);
  assert.equal(new TextDecoder().decode(again!.data), 'payload');
  clock.advance(10 * 60_000);
  const last = g.takeTcp().at(-1)!;
  assert.equal(last.flags & RST, RST);
  assert.ok(sock.wasReset);
  assert.equal(g.net.stats()['tcp.end.timeout'], 1);
});

test('TCP: three duplicate ACKs retransmit at once', () => {
  const { g, host } = setup();
  const { sock, iss, seg } = open(g, host, { mss: 1000 });
  sock.handlers.onData(new Uint8Array(4000));
  assert.equal(g.takeTcp().length, 4);
  // One ACK that moves, then three duplicates.
  for (let i = 0; i < 4; i++) g.send(seg({ ack: iss + 1 + 1000, flags: ACK }));
  const [rtx] = g.takeTcp();
  assert.equal(rtx!.seq, iss + 1 + 1000);
});

test('TCP: the advertised window shrinks while the host socket is backed up, and reopens on drain', () => {
  const { g, host } = setup();
  const { sock, gseq, seg } = open(g, host);
  sock.bufferedAmount = RCV_BUF;
  let seq = gseq + 1;
  let window = 65535;
  for (let i = 0; i < 100 && window > 0; i++) {
    g.send(seg({ seq, flags: ACK, data: new Uint8Array(1000) }));
    g.net.connections()[0]!.sendAck();
    const acks = g.takeTcp();
    window = acks.at(-1)!.window;
    seq += 1000;
  }
  assert.equal(window, 0);
  const before = sock.written.length;
  g.send(seg({ seq: gseq + 1 + 65535 + 1000, flags: ACK, data: new Uint8Array(1000) }));
  assert.equal(sock.written.length, before);
  g.take();
  sock.bufferedAmount = 0;
  sock.handlers.onDrain();
  const [update] = g.takeTcp();
  assert.ok(update!.window > 0);
});

test('TCP: a guest RST resets the host socket; stray segments get a RST', () => {
  const { g, host } = setup();
  const { sock, gseq, seg } = open(g, host);
  g.send(seg({ seq: gseq + 1, flags: RST }));
  assert.ok(sock.wasReset);
  assert.equal(g.net.connections().length, 0);
  g.send(tcpFrame({ dst: GATEWAY_IP, srcPort: 4444, dstPort: 80, seq: 9, ack: 77, flags: ACK }));
  const [rst] = g.takeTcp();
  assert.equal(rst!.flags, RST);
  assert.equal(rst!.seq, 77);
});

test('port forward: a host connection becomes a SYN to the guest; data flows once established', async () => {
  const host = new FakeHost();
  const clock = new FakeClock();
  const g = new Guest({ host, clock, forwards: [{ proto: 'tcp', hostPort: 2222, guestPort: 22 }] });
  await g.net.start();
  const sock = host.accept(2222);
  assert.ok(sock.paused);
  const [syn] = g.takeTcp();
  assert.equal(syn!.flags, SYN);
  assert.equal(syn!.ip.src, GATEWAY_IP);
  assert.equal(syn!.ip.dst, GUEST_IP);
  assert.equal(syn!.dstPort, 22);
  const reply = (flags: number, seq: number, ack: number, data?: Uint8Array) =>
    tcpFrame({ dst: GATEWAY_IP, srcPort: 22, dstPort: syn!.srcPort, seq, ack, flags, data });
  g.send(reply(SYN | ACK, 7000, syn!.seq + 1));
  const [ack] = g.takeTcp();
  assert.equal(ack!.ack, 7001);
  assert.equal(sock.paused, false);
  g.send(reply(ACK | PSH, 7001, syn!.seq + 1, new TextEncoder().encode('SSH-2.0-guest\r\n')));
  assert.equal(sock.text(), 'SSH-2.0-guest\r\n');
  // The guest refusing a second connection resets that host socket.
  const sock2 = host.accept(2222);
  const [syn2] = g.takeTcp();
  g.send(
    tcpFrame({
      dst: GATEWAY_IP,
      srcPort: 22,
      dstPort: syn2!.srcPort,
      seq: 0,
      ack: syn2!.seq + 1,
      flags: RST | ACK,
    }),
  );
  assert.ok(sock2.wasReset);
  g.net.close();
  assert.ok(sock.wasReset);
  assert.equal(host.listeners.size, 0);
});

test('UDP port forward: host datagrams reach the guest from 10.0.2.2, replies go back to the client', async () => {
  const host = new FakeHost();
  const g = new Guest({
    host,
    clock: new FakeClock(),
    forwards: [{ proto: 'udp', hostPort: 5353, guestPort: 53 }],
  });
  await g.net.start();
  // The forward's bound socket records what it sends in host.udpSent.
  const forwardReceive = host.lastBoundReceive!;
  const fromClient = (data: string, port: number): void =>
    forwardReceive(new TextEncoder().encode(data), '127.0.0.1', port);
  fromClient('query-1', 40001);
  fromClient('query-2', 40002);
  const [d1, d2] = g.takeUdp();
  assert.equal(d1!.ip.src, GATEWAY_IP);
  assert.equal(d1!.ip.dst, GUEST_IP);
  assert.equal(d1!.dstPort, 53);
  assert.notEqual(d1!.srcPort, d2!.srcPort, 'each client gets its own source port');
  g.send(udpFrame(GUEST_IP, 53, GATEWAY_IP, d2!.srcPort, new TextEncoder().encode('answer-2')));
  const sent = host.udpSent;
  assert.equal(sent.length, 1);
  assert.equal(new TextDecoder().decode(sent[0]!.data), 'answer-2');
  assert.equal(sent[0]!.port, 40002);
  assert.equal(sent[0]!.address, '127.0.0.1');
  g.net.close();
});

test('hostile input: truncated, corrupted and random frames are dropped and counted, never thrown', () => {
  const { g } = setup();
  const samples = [
    buildArp(BROADCAST_MAC, GUEST_MAC, 1, GUEST_MAC, GUEST_IP, new Uint8Array(6), GATEWAY_IP),
    pingFrame(GATEWAY_IP, 1, 2, new Uint8Array(56)),
    udpFrame(0, 68, 0xffffffff, 67, dhcpMessage(1), BROADCAST_MAC),
    udpFrame(GUEST_IP, 5353, DNS_IP, 53, dnsQuery('example.test', DNS_A)),
    tcpFrame({ dst: GATEWAY_IP, srcPort: 1, dstPort: 2, seq: 3, flags: SYN, mss: 1460, wscale: 7 }),
    tcpFrame({
      dst: ip4(192, 0, 2, 1),
      srcPort: 5,
      dstPort: 6,
      seq: 3,
      flags: ACK,
      data: new Uint8Array(100),
    }),
    rawFrame(ETHERTYPE_IPV6, new Uint8Array(60)),
  ];
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  let frames = 0;
  for (const s of samples) {
    // Every truncation.
    for (let len = 0; len < s.length; len++) {
      g.send(s.slice(0, len));
      frames++;
    }
    // Random corruption of single bytes, and of the IP header with a recomputed checksum.
    for (let i = 0; i < 300; i++) {
      const f = s.slice();
      f[rand(f.length)] = rand(256);
      if (rand(2) && f.length > ETH_HLEN + 20) {
        f[ETH_HLEN + 10] = 0;
        f[ETH_HLEN + 11] = 0;
        const c = checksum(f, ETH_HLEN, ETH_HLEN + 20);
        f[ETH_HLEN + 10] = c >> 8;
        f[ETH_HLEN + 11] = c & 0xff;
      }
      g.send(f);
      frames++;
    }
  }
  for (let i = 0; i < 2000; i++) {
    const f = new Uint8Array(rand(1600));
    for (let k = 0; k < f.length; k++) f[k] = rand(256);
    if (rand(2) && f.length >= 14) {
      f.set(GATEWAY_MAC, 0);
      f[12] = rand(2) ? 0x08 : 0x86;
      f[13] = rand(2) ? 0x00 : 0x06;
      if (f.length > 14) f[14] = 0x45;
    }
    g.send(f);
    frames++;
  }
  // IPv4 fragments, bad header lengths, a header checksum error.
  const frag = pingFrame(GATEWAY_IP, 1, 1, new Uint8Array(8));
  frag[ETH_HLEN + 6] = 0x20; // MF
  g.send(frag);
  const s = g.net.stats();
  assert.equal(s['drop.internal'] ?? 0, 0, String(g.net.lastError));
  assert.ok((s['drop.truncated'] ?? 0) > 0);
  assert.ok((s['drop.checksum'] ?? 0) > 0);
  assert.ok((s['drop.malformed'] ?? 0) > 0);
  assert.ok((s['drop.ipv6'] ?? 0) > 0);
  assert.equal(s['rx.frames'], frames + 1);
  g.net.close();
});

test('frames to other MACs, multicast sources and unknown ethertypes are dropped', () => {
  const { g } = setup();
  g.send(rawFrame(ETHERTYPE_IPV4, new Uint8Array(40), new Uint8Array([2, 0, 0, 0, 0, 9])));
  g.send(rawFrame(0x88b5, new Uint8Array(40)));
  const f = buildUdp(
    GATEWAY_MAC,
    new Uint8Array([1, 0, 0x5e, 0, 0, 1]),
    GUEST_IP,
    1,
    GATEWAY_IP,
    2,
    new Uint8Array(1),
  );
  g.send(f);
  g.send(rawFrame(ETHERTYPE_ARP, new Uint8Array(10)));
  assert.equal(g.take().length, 0);
  const s = g.net.stats();
  assert.equal(s['drop.not-for-us'], 1);
  assert.equal(s['drop.unsupported'], 1);
  assert.equal(s['drop.malformed'], 2);
});

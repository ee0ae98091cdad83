/**
 * The NAT's TCP against real host sockets on 127.0.0.1 (NodeNetHost): a
 * guest built from raw frames talks to host servers and clients. Covers the
 * handshake, data both ways, half-close, refusal, port forwards, and flow
 * control: a host sender far faster than the guest is held back by the
 * guest's window (the host socket's buffers fill), and every byte arrives in
 * order once the guest reads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as net from 'node:net';
import { NodeNetHost } from '../../src/backends/net/node-host.js';
import { GATEWAY_IP, GUEST_IP } from '../../src/net/stack.js';
import { ACK, FIN, PSH, RST, SYN, type TcpSegment } from '../../src/net/tcp.js';
import { Guest, tcpFrame } from './helpers.js';
import type { Ip4Packet } from '../../src/net/ipv4.js';

type Seg = TcpSegment & { ip: Ip4Packet };

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
  );
}

/** Wait (polling the event loop) until `pick` finds a segment among those the stack sends. */
async function waitFor(g: Guest, pick: (s: Seg) => boolean, what: string): Promise<Seg> {
  const seen: Seg[] = [];
  // A safety net, not a timing: normally this takes milliseconds.
  for (let i = 0; i < 3000; i++) {
    for (const s of g.takeTcp()) {
      seen.push(s);
      if (pick(s)) return s;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}; saw ${seen.map((s) => s.flags).join(',')}`);
}

/** A guest-side connection to 10.0.2.2:port (the host's 127.0.0.1). */
async function connect(g: Guest, port: number, window = 65535, guestPort = 40001) {
  const iss = 5000;
  g.send(
    tcpFrame({
      dst: GATEWAY_IP,
      srcPort: guestPort,
      dstPort: port,
      seq: iss,
      flags: SYN,
      mss: 1460,
      window,
    }),
  );
  const synack = await waitFor(
    g,
    (s) => (s.flags & (SYN | ACK)) === (SYN | ACK) || (s.flags & RST) !== 0,
    'SYN-ACK',
  );
  const c = { snd: iss + 1, rcv: (synack.seq + 1) >>> 0, synack };
  const send = (flags: number, data?: Uint8Array, win = window): void => {
    g.send(
      tcpFrame({
        dst: GATEWAY_IP,
        srcPort: guestPort,
        dstPort: port,
        seq: c.snd,
        ack: c.rcv,
        flags,
        data,
        window: win,
      }),
    );
    c.snd += (data?.length ?? 0) + (flags & FIN ? 1 : 0);
  };
  if (synack.flags & SYN) send(ACK);
  return { ...c, send, c };
}

test('real host server: handshake, echo, half-close from the guest, orderly close', async () => {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('data', (d) => s.write(d));
    s.on('end', () => s.end('bye'));
  });
  const port = await listen(server);
  const g = new Guest({ host: new NodeNetHost() });
  const conn = await connect(g, port);
  assert.equal(conn.synack.ack, 5001);
  conn.send(ACK | PSH, new TextEncoder().encode('ping'));
  const echo = await waitFor(g, (s) => s.data.length > 0, 'echo');
  assert.equal(new TextDecoder().decode(echo.data), 'ping');
  conn.c.rcv = (echo.seq + echo.data.length) >>> 0;
  conn.send(ACK | FIN);
  let got = '';
  const fin = await waitFor(
    g,
    (s) => {
      if (s.data.length) got += new TextDecoder().decode(s.data);
      return (s.flags & FIN) !== 0;
    },
    'FIN',
  );
  assert.equal(got, 'bye');
  conn.c.rcv = (fin.seq + fin.data.length + 1) >>> 0;
  conn.send(ACK);
  assert.equal(g.net.connections().length, 0);
  assert.equal(g.net.stats()['tcp.end.closed'], 1);
  g.net.close();
  server.close();
});

test('real host: a closed port refuses with RST', async () => {
  const s = net.createServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  const g = new Guest({ host: new NodeNetHost() });
  const conn = await connect(g, port);
  assert.equal(conn.synack.flags & RST, RST);
  assert.equal(conn.synack.ack, 5001);
  g.net.close();
});

test("flow control: a fast host sender is held back by the guest's window, and nothing is lost", async () => {
  const total = 24 * 1024 * 1024;
  const payload = crypto.randomBytes(total);
  let serverSock: net.Socket | undefined;
  const server = net.createServer((s) => {
    serverSock = s;
    s.on('error', () => {}); // reset when the test closes the stack
    s.end(payload);
  });
  const port = await listen(server);
  const g = new Guest({ host: new NodeNetHost() });
  const window = 8192;
  const conn = await connect(g, port, window);
  // The guest reads nothing for a while: at most one window is sent, the rest waits on the host.
  let inflight = 0;
  const early: Seg[] = [];
  for (let i = 0; i < 30; i++) {
    for (const s of g.takeTcp()) {
      inflight += s.data.length;
      early.push(s);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.ok(inflight <= window, `sent ${inflight} bytes into a ${window}-byte window`);
  assert.ok(serverSock && serverSock.writableLength > 0, 'the host sender should be backed up');
  // Now the guest reads: acknowledge in order, keep the window open.
  let rcv = conn.c.rcv;
  let received = 0;
  let finished = false;
  const hash = crypto.createHash('sha256');
  g.send(
    tcpFrame({
      dst: GATEWAY_IP,
      srcPort: 40001,
      dstPort: port,
      seq: conn.c.snd,
      ack: rcv,
      flags: ACK,
      window: 65535,
    }),
  );
  // A generous safety net only; the test passes as soon as the data is complete.
  const deadline = Date.now() + 120_000;
  while (!finished && Date.now() < deadline) {
    const segs = [...early.splice(0), ...g.takeTcp()];
    for (const s of segs) {
      if (s.seq === rcv && s.data.length > 0) {
        hash.update(s.data);
        received += s.data.length;
        rcv = (rcv + s.data.length) >>> 0;
      }
      if (s.flags & FIN && (s.seq + s.data.length) >>> 0 === rcv) {
        rcv = (rcv + 1) >>> 0;
        finished = true;
      }
    }
    if (segs.length) {
      g.send(
        tcpFrame({
          dst: GATEWAY_IP,
          srcPort: 40001,
          dstPort: port,
          seq: conn.c.snd,
          ack: rcv,
          flags: ACK,
          window: 65535,
        }),
      );
    } else {
      await new Promise((r) => setImmediate(r));
    }
  }
  assert.ok(finished, `only ${received} of ${total} bytes arrived`);
  assert.equal(received, total);
  assert.equal(hash.digest('hex'), crypto.createHash('sha256').update(payload).digest('hex'));
  g.net.close();
  server.close();
});

test('real host: a port forward carries data both ways and closes cleanly', async () => {
  const probe = net.createServer();
  const hostPort = await listen(probe);
  await new Promise((r) => probe.close(r));
  const g = new Guest({
    host: new NodeNetHost(),
    forwards: [{ proto: 'tcp', hostPort, guestPort: 22 }],
  });
  await g.net.start();
  const client = net.connect({ port: hostPort, host: '127.0.0.1', allowHalfOpen: true });
  let fromGuest = '';
  let ended = false;
  client.on('data', (d) => (fromGuest += d.toString()));
  client.on('end', () => {
    ended = true;
    client.end();
  });
  const syn = await waitFor(g, (s) => (s.flags & SYN) !== 0, 'SYN to the guest');
  assert.equal(syn.ip.dst, GUEST_IP);
  assert.equal(syn.dstPort, 22);
  const send = (seq: number, flags: number, data?: Uint8Array, ack = (syn.seq + 1) >>> 0) =>
    g.send(tcpFrame({ dst: GATEWAY_IP, srcPort: 22, dstPort: syn.srcPort, seq, ack, flags, data }));
  send(9000, SYN | ACK);
  await waitFor(g, (s) => s.flags === ACK, 'ACK of the SYN-ACK');
  client.write('hello guest');
  const data = await waitFor(g, (s) => s.data.length > 0, 'data from the host client');
  assert.equal(new TextDecoder().decode(data.data), 'hello guest');
  const ack = (data.seq + data.data.length) >>> 0;
  send(9001, ACK | PSH | FIN, new TextEncoder().encode('hello host'), ack);
  for (let i = 0; i < 3000 && !ended; i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(ended);
  assert.equal(fromGuest, 'hello host');
  const fin = await waitFor(g, (s) => (s.flags & FIN) !== 0, 'FIN from the host client');
  send(9001 + 10 + 1, ACK, undefined, (fin.seq + 1) >>> 0);
  assert.equal(g.net.connections().length, 0);
  g.net.close();
});

test('host socket: reads come in batches no larger than the read-ahead, pause holds the rest, nothing is lost', async () => {
  const data = crypto.randomBytes(8 << 20);
  const server = net.createServer((s) => s.end(data));
  const port = await listen(server);
  const READ_AHEAD = 128 * 1024;
  const chunks: Buffer[] = [];
  let batch = 0;
  let biggest = 0;
  let total = 0;
  let pausedAt = -1;
  let pausedOnce = false;
  let ended = false;
  let closed = false;
  const sock: ReturnType<NodeNetHost['connectTcp']> = new NodeNetHost().connectTcp(
    '127.0.0.1',
    port,
    {
      onConnect: () => sock.setReadAhead!(READ_AHEAD),
      onData: (d, more) => {
        assert.ok(!ended, 'no data after the end');
        assert.equal(pausedAt < 0 || total < pausedAt, true, 'no data while paused');
        chunks.push(Buffer.from(d));
        total += d.length;
        batch += d.length;
        biggest = Math.max(biggest, batch);
        if (!more) batch = 0;
        if (!pausedOnce && total >= 1 << 20) {
          pausedOnce = true;
          pausedAt = total + 1;
          sock.pause();
        }
      },
      onEnd: () => (ended = true),
      onDrain: () => {},
      onClose: () => (closed = true),
    },
  );
  for (let i = 0; i < 3000 && !pausedOnce; i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(pausedOnce);
  // Paused: nothing more arrives, however long we wait.
  const atPause = total;
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(total, atPause);
  pausedAt = -1;
  sock.resume();
  for (let i = 0; i < 3000 && !ended; i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(ended);
  assert.equal(total, data.length);
  assert.ok(Buffer.concat(chunks).equals(data), 'every byte, in order');
  // One batch never holds more than the read-ahead plus one read (64 KiB).
  assert.ok(biggest <= READ_AHEAD + 64 * 1024, `batch of ${biggest} bytes`);
  assert.ok(biggest > 64 * 1024, 'reads were batched');
  sock.end();
  for (let i = 0; i < 3000 && !closed; i++) await new Promise((r) => setTimeout(r, 10));
  server.close();
});

/** The VM-to-VM switch: hub forwarding, the wire decoder under bad input, and real sockets with hub failover. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  SwitchHub,
  MessageDecoder,
  encodeMessage,
  MSG_FRAME,
  type HubPort,
} from '../../src/net/switch.js';
import { SwitchBackend, SwitchError } from '../../src/backends/net/switch.js';
import type { NetPort } from '../../src/net/link.js';

function frame(dst: number[], src: number[], fill = 0): Uint8Array {
  const f = new Uint8Array(60).fill(fill);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = 0x08;
  return f;
}

const A = [2, 0, 0, 0, 0, 1];
const B = [2, 0, 0, 0, 0, 2];
const C = [2, 0, 0, 0, 0, 3];
const BCAST = [255, 255, 255, 255, 255, 255];

class Port implements HubPort {
  got: Uint8Array[] = [];
  constructor(readonly mac: Uint8Array) {}
  send(f: Uint8Array): boolean {
    this.got.push(f);
    return true;
  }
}

test('hub: floods broadcasts and unknown unicast, then forwards learned unicast only', () => {
  const hub = new SwitchHub();
  const [a, b, c] = [A, B, C].map((m) => new Port(Uint8Array.from(m)));
  for (const p of [a!, b!, c!]) assert.equal(hub.addPort(p), undefined);
  hub.input(a!, frame(BCAST, A));
  assert.deepEqual([a!.got.length, b!.got.length, c!.got.length], [0, 1, 1]);
  hub.input(b!, frame(A, B));
  assert.equal(a!.got.length, 1);
  assert.equal(c!.got.length, 1);
  // Duplicate MACs are refused; runts and giants are dropped.
  assert.match(hub.addPort(new Port(Uint8Array.from(A)))!, /already used/);
  hub.input(a!, new Uint8Array(10));
  hub.input(a!, new Uint8Array(2000));
  assert.equal(hub.counters.malformed, 2);
});

test('wire decoder: split and merged chunks, and a bad length is an error, not a throw', () => {
  const d = new MessageDecoder();
  const msgs: Array<[number, number]> = [];
  const m1 = encodeMessage(MSG_FRAME, new Uint8Array(100));
  const m2 = encodeMessage(MSG_FRAME, new Uint8Array(20));
  const both = new Uint8Array([...m1, ...m2]);
  for (let i = 0; i < both.length; i += 7) {
    assert.equal(
      d.push(both.subarray(i, i + 7), (t, p) => msgs.push([t, p.length])),
      undefined,
    );
  }
  assert.deepEqual(msgs, [
    [MSG_FRAME, 100],
    [MSG_FRAME, 20],
  ]);
  assert.match(
    new MessageDecoder().push(new Uint8Array([0xff, 0xff, 4]), () => {})!,
    /bad message length/,
  );
  assert.match(
    new MessageDecoder().push(new Uint8Array([0, 0]), () => {})!,
    /bad message length/,
  );
});

class NicPort implements NetPort {
  got: Uint8Array[] = [];
  link: boolean[] = [];
  deliver(f: Uint8Array): void {
    this.got.push(f);
  }
  congested(): boolean {
    return false;
  }
  setLinkUp(up: boolean): void {
    this.link.push(up);
  }
}

async function until(cond: () => boolean, what: string): Promise<void> {
  // A safety net, not a timing: normally this takes milliseconds.
  for (let i = 0; i < 3000; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out: ${what}`);
}

test('sockets: first VM is the hub, others join; when the hub leaves, a survivor takes over', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'colinux-sw-'));
  const join = (mac: number[]) =>
    SwitchBackend.join({ dir, name: 'lab', mac: Uint8Array.from(mac) });
  const a = await join(A);
  const b = await join(B);
  const c = await join(C);
  assert.ok(a.isHub && !b.isHub && !c.isHub);
  assert.equal((fs.statSync(dir).mode & 0o777).toString(8), '700');
  const [pa, pb, pc] = [new NicPort(), new NicPort(), new NicPort()];
  a.attach(pa);
  b.attach(pb);
  c.attach(pc);
  b.transmit(frame(BCAST, B, 1));
  await until(() => pa.got.length === 1 && pc.got.length === 1, 'broadcast from b');
  c.transmit(frame(B, C, 2));
  await until(() => pb.got.length === 1, 'unicast c → b');
  assert.equal(pa.got.length, 1);
  await assert.rejects(
    join(B),
    (e: Error) => e instanceof SwitchError && /already used/.test(e.message),
  );
  // The hub's VM goes away: b and c lose the link, elect a new hub, and talk again.
  a.close();
  await until(() => (b.isHub || c.isHub) && b.linkUp && c.linkUp, 'a new hub');
  assert.ok(pb.link.includes(false));
  pb.got = [];
  c.transmit(frame(B, C, 3));
  await until(() => pb.got.length === 1, 'unicast after failover');
  b.close();
  c.close();
  assert.deepEqual(fs.readdirSync(dir), []);
  fs.rmSync(dir, { recursive: true, force: true });
});

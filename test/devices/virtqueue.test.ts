import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Virtqueue,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  VIRTQ_AVAIL_F_NO_INTERRUPT,
  type QueueConfig,
} from '../../src/devices/virtio/virtqueue.js';
import { FakeMemory, RingDriver, RAM_BASE } from './virtio-driver.js';

function setup(size = 8, opts: Partial<QueueConfig> = {}) {
  const mem = new FakeMemory();
  const drv = new RingDriver(mem, size);
  const events = { interrupts: 0, failures: [] as string[] };
  const q = new Virtqueue(0, 256, {
    memory: mem,
    interrupt: () => events.interrupts++,
    fail: (r) => events.failures.push(r),
  });
  const ok = q.enable({
    size,
    desc: drv.desc,
    driver: drv.avail,
    device: drv.used,
    eventIdx: false,
    indirect: true,
    ...opts,
  });
  return { mem, drv, q, events, ok };
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

test('pop, scatter-gather read and write, push', () => {
  const { mem, drv, q, events } = setup();
  assert.equal(q.pop(), undefined);
  const { head, addrs } = drv.addChain([
    { out: enc('hel') },
    { out: enc('lo, ') },
    { out: enc('world') },
    { in: 3 },
    { in: 5 },
  ]);
  assert.equal(q.pending, 1);
  const c = q.pop()!;
  assert.ok(c);
  assert.equal(c.head, head);
  assert.equal(c.readable, 12);
  assert.equal(c.writable, 8);
  assert.equal(dec(c.bytes(0, 100)), 'hello, world');
  assert.equal(dec(c.bytes(2, 6)), 'llo, w');
  assert.equal(c.bytes(12, 4).length, 0);
  const dst = new Uint8Array(4);
  assert.equal(c.read(10, dst), 2);
  assert.equal(c.write(1, enc('ABCDEFGHIJ')), 7); // clipped at the end
  assert.equal(dec(mem.read(addrs[3]!, 3)), '\0AB');
  assert.equal(dec(mem.read(addrs[4]!, 5)), 'CDEFG');
  assert.equal(c.fill(0, 1, 0x7a), 1);
  assert.equal(
    c.readableViews(5).reduce((n, v) => n + v.length, 0),
    7,
  );
  assert.equal(c.writableViews(2, 4).length, 2);
  assert.equal(q.inFlight, 1);
  assert.ok(q.push(c, 8));
  assert.equal(q.push(c, 8), false, 'a chain is pushed once');
  assert.deepEqual(drv.takeUsed(), [[head, 8]]);
  q.notify();
  assert.equal(events.interrupts, 1);
  q.notify();
  assert.equal(events.interrupts, 1, 'nothing new: no interrupt');
  assert.equal(q.inFlight, 0);
  assert.deepEqual(events.failures, []);
});

test('indirect descriptors, also after direct ones', () => {
  const { drv, q, events } = setup();
  const { head } = drv.addIndirect([{ out: enc('abc') }, { out: enc('def') }, { in: 4 }]);
  const c = q.pop()!;
  assert.equal(c.head, head);
  assert.equal(dec(c.bytes(0, 6)), 'abcdef');
  assert.equal(c.writable, 4);
  // A direct descriptor followed by an indirect one (virtio 1.2 §2.7.5.3.2).
  const table = drv.alloc(32);
  const a1 = drv.alloc(2);
  const a2 = drv.alloc(2);
  drv.mem.write(a1, enc('xy'));
  drv.writeDesc(table, 0, { addr: a2, len: 2, flags: VIRTQ_DESC_F_WRITE });
  const d0 = drv.alloc(2);
  drv.mem.write(d0, enc('zz'));
  drv.writeDesc(drv.desc, 5, { addr: d0, len: 2, flags: VIRTQ_DESC_F_NEXT, next: 6 });
  drv.writeDesc(drv.desc, 6, { addr: table, len: 16, flags: VIRTQ_DESC_F_INDIRECT });
  drv.publish(5);
  const c2 = q.pop()!;
  assert.equal(dec(c2.bytes(0, 10)), 'zz');
  assert.equal(c2.writable, 2);
  assert.deepEqual(events.failures, []);
});

test('completions in any order, many in flight, ring wrap-around', () => {
  const { drv, q } = setup(4);
  for (let round = 0; round < 40; round++) {
    const heads = [0, 1, 2, 3].map(() => drv.addChain([{ in: 1 }]).head);
    const chains = heads.map(() => q.pop()!);
    assert.equal(q.pop(), undefined);
    assert.equal(q.inFlight, 4);
    for (const c of [chains[2]!, chains[0]!, chains[3]!, chains[1]!]) assert.ok(q.push(c, 1));
    assert.deepEqual(
      drv.takeUsed().map(([id]) => id),
      [heads[2], heads[0], heads[3], heads[1]],
    );
  }
});

test('event index: avail_event published, interrupts only when used_event is crossed', () => {
  const { drv, q, events } = setup(8, { eventIdx: true });
  assert.equal(drv.availEvent(), 0);
  drv.setUsedEvent(2); // interrupt when the used index passes 2
  for (let i = 0; i < 5; i++) drv.addChain([{ in: 1 }]);
  const chains = [];
  for (let c = q.pop(); c; c = q.pop()) chains.push(c);
  assert.equal(chains.length, 5);
  assert.equal(drv.availEvent(), 5, 'device asks to be kicked for the next entry');
  q.push(chains[0]!, 0);
  q.push(chains[1]!, 0);
  q.notify(); // used idx 2: event 2 not crossed yet
  assert.equal(events.interrupts, 0);
  q.push(chains[2]!, 0);
  q.notify(); // used idx 3: crossed 2
  assert.equal(events.interrupts, 1);
  q.push(chains[3]!, 0);
  q.notify();
  assert.equal(events.interrupts, 1, 'used_event still 2');
  drv.setUsedEvent(4);
  q.push(chains[4]!, 0);
  q.notify();
  assert.equal(events.interrupts, 2);
  // Flags are ignored with event idx.
  drv.setAvailFlags(VIRTQ_AVAIL_F_NO_INTERRUPT);
  drv.setUsedEvent(5);
  drv.addChain([{ in: 1 }]);
  q.push(q.pop()!, 0);
  q.notify();
  assert.equal(events.interrupts, 3);
});

test('notification suppression without event index', () => {
  const { drv, q, events } = setup();
  drv.setAvailFlags(VIRTQ_AVAIL_F_NO_INTERRUPT);
  drv.addChain([{ in: 1 }]);
  q.push(q.pop()!, 1);
  q.notify();
  assert.equal(events.interrupts, 0);
  drv.setAvailFlags(0);
  drv.addChain([{ in: 1 }]);
  q.push(q.pop()!, 1);
  q.notify();
  assert.equal(events.interrupts, 1);
  q.setNotifications(false);
  assert.equal(drv.mem.u16(drv.used), 1, 'VIRTQ_USED_F_NO_NOTIFY');
  q.setNotifications(true);
  assert.equal(drv.mem.u16(drv.used), 0);
});

test('reset invalidates chains in flight: no writes, no pushes', () => {
  const { mem, drv, q } = setup();
  const { addrs } = drv.addChain([{ out: enc('x') }, { in: 4 }]);
  const c = q.pop()!;
  q.disable();
  assert.equal(c.valid, false);
  assert.equal(c.write(0, enc('evil')), 0);
  assert.equal(dec(mem.read(addrs[1]!, 4)), '\0\0\0\0');
  assert.equal(c.bytes(0, 1).length, 0);
  assert.equal(q.push(c, 4), false);
  assert.equal(q.pop(), undefined);
});

// ---------------------------------------------------------------------------
// Hostile drivers: every case breaks the queue (fail called once), never throws.

function hostile(
  name: string,
  build: (drv: RingDriver) => void,
  expect: RegExp,
  opts: Partial<QueueConfig> = {},
): void {
  test(`hostile: ${name}`, () => {
    const { drv, q, events } = setup(8, opts);
    build(drv);
    assert.doesNotThrow(() => assert.equal(q.pop(), undefined));
    assert.equal(events.failures.length, 1, events.failures.join('; '));
    assert.match(events.failures[0]!, expect);
    assert.equal(q.ready, false);
    // Broken stays broken (and quiet) until reset.
    drv.addChain([{ in: 1 }]);
    assert.equal(q.pop(), undefined);
    assert.equal(events.failures.length, 1);
  });
}

hostile(
  'descriptor loop',
  (drv) => {
    const a = drv.alloc(4);
    drv.writeDesc(drv.desc, 0, { addr: a, len: 4, flags: VIRTQ_DESC_F_NEXT, next: 1 });
    drv.writeDesc(drv.desc, 1, { addr: a, len: 4, flags: VIRTQ_DESC_F_NEXT, next: 0 });
    drv.publish(0);
  },
  /loops or is longer than the queue size/,
);
hostile(
  'self loop',
  (drv) => {
    drv.writeDesc(drv.desc, 3, { addr: drv.alloc(4), len: 4, flags: VIRTQ_DESC_F_NEXT, next: 3 });
    drv.publish(3);
  },
  /loops/,
);
hostile(
  'loop inside an indirect table',
  (drv) => {
    const t = drv.alloc(32);
    const a = drv.alloc(4);
    drv.writeDesc(t, 0, { addr: a, len: 4, flags: VIRTQ_DESC_F_NEXT, next: 1 });
    drv.writeDesc(t, 1, { addr: a, len: 4, flags: VIRTQ_DESC_F_NEXT, next: 0 });
    drv.writeDesc(drv.desc, 0, { addr: t, len: 32, flags: VIRTQ_DESC_F_INDIRECT });
    drv.publish(0);
  },
  /indirect table .* loops/,
);
hostile(
  'nested indirect table',
  (drv) => {
    const t = drv.alloc(16);
    const t2 = drv.alloc(16);
    drv.writeDesc(t2, 0, { addr: drv.alloc(4), len: 4 });
    drv.writeDesc(t, 0, { addr: t2, len: 16, flags: VIRTQ_DESC_F_INDIRECT });
    drv.writeDesc(drv.desc, 0, { addr: t, len: 16, flags: VIRTQ_DESC_F_INDIRECT });
    drv.publish(0);
  },
  /indirect descriptor inside an indirect table/,
);
hostile(
  'indirect with NEXT',
  (drv) => {
    const t = drv.alloc(16);
    drv.writeDesc(t, 0, { addr: drv.alloc(4), len: 4 });
    drv.writeDesc(drv.desc, 0, {
      addr: t,
      len: 16,
      flags: VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT,
      next: 1,
    });
    drv.publish(0);
  },
  /NEXT/,
);
hostile('indirect not negotiated', (drv) => void drv.addIndirect([{ in: 4 }]), /not negotiated/, {
  indirect: false,
});
hostile(
  'indirect table length not a multiple of 16',
  (drv) => {
    drv.writeDesc(drv.desc, 0, { addr: drv.alloc(32), len: 24, flags: VIRTQ_DESC_F_INDIRECT });
    drv.publish(0);
  },
  /indirect table length 24/,
);
hostile(
  'huge indirect table',
  (drv) => {
    drv.writeDesc(drv.desc, 0, { addr: RAM_BASE, len: 0x10_0000, flags: VIRTQ_DESC_F_INDIRECT });
    drv.publish(0);
  },
  /indirect table length/,
);
hostile(
  'indirect table outside RAM',
  (drv) => {
    drv.writeDesc(drv.desc, 0, { addr: 0x1000, len: 16, flags: VIRTQ_DESC_F_INDIRECT });
    drv.publish(0);
  },
  /indirect table outside guest RAM/,
);
hostile(
  'buffer outside RAM',
  (drv) => {
    drv.writeDesc(drv.desc, 0, { addr: 0x1000_0000, len: 16 });
    drv.publish(0);
  },
  /outside guest RAM/,
);
hostile(
  'buffer running past the end of RAM',
  (drv) => {
    drv.writeDesc(drv.desc, 0, { addr: RAM_BASE + (1 << 20) - 8, len: 16 });
    drv.publish(0);
  },
  /outside guest RAM/,
);
hostile(
  'oversized length',
  (drv) => {
    drv.writeDesc(drv.desc, 0, { addr: RAM_BASE, len: 0xffff_ffff });
    drv.publish(0);
  },
  /outside guest RAM/,
);
hostile(
  'address beyond 2^53',
  (drv) => {
    drv.writeDesc(drv.desc, 0, { addr: 0xffff_ffff_8000_0000n, len: 16 });
    drv.publish(0);
  },
  /outside guest RAM/,
);
hostile(
  'readable buffer after a writable one',
  (drv) => {
    const a = drv.alloc(8);
    drv.writeDesc(drv.desc, 0, {
      addr: a,
      len: 4,
      flags: VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT,
      next: 1,
    });
    drv.writeDesc(drv.desc, 1, { addr: a + 4, len: 4 });
    drv.publish(0);
  },
  /device-readable buffer after a device-writable one/,
);
hostile(
  'avail index jumps by more than the queue size',
  (drv) => {
    drv.addChain([{ in: 1 }], false);
    drv.setAvailIdx(9);
  },
  /moved by 9/,
);
hostile(
  'avail index jumps backwards',
  (drv) => drv.setAvailIdx(0xfff0),
  /more than the queue size/,
);
hostile('head index out of range', (drv) => drv.publish(8), /not below the queue size/);
hostile(
  'next index out of range',
  (drv) => {
    drv.writeDesc(drv.desc, 0, { addr: drv.alloc(4), len: 4, flags: VIRTQ_DESC_F_NEXT, next: 200 });
    drv.publish(0);
  },
  /next index 200/,
);

test('hostile: a head made available twice while in flight', () => {
  const { drv, q, events } = setup();
  const { head } = drv.addChain([{ in: 1 }]);
  assert.ok(q.pop());
  drv.publish(head);
  assert.equal(q.pop(), undefined);
  assert.match(events.failures[0]!, /while in use/);
});

test('hostile: rings outside RAM, misaligned, bad sizes are refused at enable', () => {
  const mem = new FakeMemory();
  const failures: string[] = [];
  const q = new Virtqueue(0, 256, {
    memory: mem,
    interrupt: () => {},
    fail: (r) => failures.push(r),
  });
  const good = {
    size: 8,
    desc: RAM_BASE,
    driver: RAM_BASE + 0x200,
    device: RAM_BASE + 0x400,
    eventIdx: false,
    indirect: false,
  };
  for (const bad of [
    { ...good, size: 0 },
    { ...good, size: 6 },
    { ...good, size: 512 },
    { ...good, desc: RAM_BASE + 8 },
    { ...good, device: RAM_BASE + 0x402 },
    { ...good, driver: RAM_BASE + (1 << 20) - 4 },
    { ...good, device: 0 },
    { ...good, desc: Number.MAX_SAFE_INTEGER },
  ]) {
    assert.equal(q.enable(bad), false);
    assert.equal(q.ready, false);
  }
  assert.equal(failures.length, 8);
  assert.equal(q.enable(good), true);
  assert.equal(q.ready, true);
});

test('hostile: random descriptor tables never throw', () => {
  let seed = 12345;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed;
  };
  for (let round = 0; round < 300; round++) {
    const { mem, drv, q } = setup(8);
    for (let i = 0; i < 8 * 16; i += 4) mem.setU32(drv.desc + i, rnd());
    // Keep some addresses inside RAM so walks get further.
    for (let i = 0; i < 8; i++)
      if (rnd() & 1) mem.setU64(drv.desc + 16 * i, BigInt(RAM_BASE + (rnd() & 0xfff0)));
    drv.publish(rnd() & 7);
    drv.publish(rnd() & 15);
    assert.doesNotThrow(() => {
      for (let c = q.pop(), n = 0; c && n < 10; c = q.pop(), n++) {
        c.bytes(0, 64);
        c.write(0, new Uint8Array(64));
        q.push(c, 64);
        q.notify();
      }
    });
  }
});

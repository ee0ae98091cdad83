import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bytesOf,
  decodeMessage,
  encodeMessage,
  Errno,
  LAYOUTS,
  MAXWELEM,
  NOTAG,
} from '../../src/fs/9p-protocol.js';
import { decodeAny } from '../helpers/9p-client.js';

function errOf(buf: Uint8Array, max?: number): { tag: number; errno: number } {
  const r = decodeMessage(buf, max);
  assert.equal(r.ok, false, 'must be refused');
  if (r.ok) throw new Error('unreachable');
  return { tag: r.tag, errno: r.errno };
}

/** A tiny deterministic PRNG, so a failing fuzz case can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x1_0000_0000;
  };
}

test('9p: messages round-trip through encode and decode', () => {
  const walk = encodeMessage('Twalk', 7, {
    fid: 1,
    newfid: 2,
    wnames: [bytesOf('a'), bytesOf('bé')],
  });
  const r = decodeMessage(walk);
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.equal(r.msg.op, 'Twalk');
  assert.equal(r.msg.tag, 7);
  if (r.msg.op !== 'Twalk') return;
  assert.equal(r.msg.newfid, 2);
  assert.deepEqual(
    r.msg.wnames.map((b) => Buffer.from(b).toString()),
    ['a', 'bé'],
  );

  const w = encodeMessage('Twrite', 3, {
    fid: 9,
    offset: 0xffff_ffff_ffffn,
    data: Uint8Array.of(1, 2, 3),
  });
  const d = decodeMessage(w);
  assert.ok(d.ok && d.msg.op === 'Twrite');
  if (d.ok && d.msg.op === 'Twrite') {
    assert.equal(d.msg.offset, 0xffff_ffff_ffffn);
    assert.deepEqual([...d.msg.data], [1, 2, 3]);
  }

  const rg = encodeMessage('Rgetattr', 5, {
    valid: 0x7ffn,
    qid: { type: 0x80, version: 0, path: 42n },
    mode: 0o40755,
    uid: 0,
    gid: 0,
    nlink: 2n,
    rdev: 0n,
    size: 4096n,
    blksize: 4096n,
    blocks: 8n,
    atimeSec: 1n,
    atimeNsec: 2n,
    mtimeSec: 3n,
    mtimeNsec: 4n,
    ctimeSec: 5n,
    ctimeNsec: 6n,
    btimeSec: 0n,
    btimeNsec: 0n,
    gen: 0n,
    dataVersion: 0n,
  });
  assert.equal(rg.length, 160, 'Rgetattr is 153 bytes of body after the 7-byte header');
  const back = decodeAny(rg);
  assert.equal(back.mode, 0o40755);
  assert.deepEqual(back.qid, { type: 0x80, version: 0, path: 42n });
});

test('9p: short, oversized and inconsistent headers are refused with an errno', () => {
  assert.equal(errOf(new Uint8Array(0)).errno, Errno.EPROTO);
  assert.equal(errOf(Uint8Array.of(7, 0, 0)).tag, NOTAG, 'no tag to answer');
  // size below the header
  assert.equal(errOf(Uint8Array.of(3, 0, 0, 0, 100, 1, 0)).errno, Errno.EPROTO);
  // size beyond the bytes sent
  const clunk = encodeMessage('Tclunk', 0x1234, { fid: 1 });
  const cut = clunk.slice(0, clunk.length - 1);
  const e = errOf(cut);
  assert.equal(e.errno, Errno.EPROTO);
  assert.equal(e.tag, 0x1234, 'the tag is still answered');
  // size beyond msize
  assert.equal(errOf(clunk, 8).errno, Errno.EMSGSIZE);
  // size 0xffffffff
  const huge = clunk.slice();
  huge.set([0xff, 0xff, 0xff, 0xff], 0);
  assert.equal(errOf(huge).errno, Errno.EPROTO);
});

test('9p: unknown types, replies and legacy 9P2000 requests are refused', () => {
  for (const type of [0, 1, 99, 112, 114, 124, 126, 200, 255]) {
    const b = Uint8Array.of(7, 0, 0, 0, type, 1, 0);
    assert.equal(errOf(b).errno, Errno.EOPNOTSUPP, `type ${type}`);
  }
  const rclunk = encodeMessage('Rclunk', 1, {});
  assert.equal(errOf(rclunk).errno, Errno.EOPNOTSUPP, 'an R-message as a request');
});

test('9p: string and data lengths past the end, trailing bytes and long walks are refused', () => {
  // Tlcreate whose name length runs past the message.
  const m = encodeMessage('Tlcreate', 2, {
    fid: 1,
    name: bytesOf('abc'),
    flags: 0,
    mode: 0o644,
    gid: 0,
  });
  const bad = m.slice();
  bad[11] = 0xff; // name length low byte
  assert.equal(errOf(bad).errno, Errno.EPROTO);

  // Twrite whose count exceeds the data present.
  const w = encodeMessage('Twrite', 2, { fid: 1, offset: 0n, data: new Uint8Array(10) });
  const dv = new DataView(w.buffer);
  dv.setUint32(19, 11, true);
  assert.equal(errOf(w).errno, Errno.EPROTO);
  dv.setUint32(19, 0xffff_ffff, true);
  assert.equal(errOf(w).errno, Errno.EPROTO);
  dv.setUint32(19, 9, true);
  assert.equal(errOf(w).errno, Errno.EPROTO, 'a byte left over');

  // Trailing garbage after a complete body.
  const c = encodeMessage('Tclunk', 4, { fid: 1 });
  const longer = new Uint8Array(c.length + 3);
  longer.set(c);
  new DataView(longer.buffer).setUint32(0, longer.length, true);
  assert.equal(errOf(longer).errno, Errno.EPROTO);
  // Bytes after the declared size are simply not part of the message.
  const padded = new Uint8Array(c.length + 5);
  padded.set(c);
  assert.ok(decodeMessage(padded).ok);

  // More than MAXWELEM names.
  const names = Array.from({ length: MAXWELEM + 1 }, () => bytesOf('x'));
  const wk = encodeMessage('Twalk', 5, { fid: 1, newfid: 2, wnames: names });
  assert.equal(errOf(wk).errno, Errno.EINVAL);
  const ok = encodeMessage('Twalk', 5, { fid: 1, newfid: 2, wnames: names.slice(1) });
  assert.ok(decodeMessage(ok).ok, `${MAXWELEM} names are fine`);
});

test('9p: every truncation of every request decodes to an error, never an exception', () => {
  const samples: Uint8Array[] = [];
  for (const [num, [name, fields]] of Object.entries(LAYOUTS)) {
    if (!name.startsWith('T')) continue;
    const body: Record<string, unknown> = {};
    for (const [f, kind] of fields as readonly (readonly [string, string])[]) {
      body[f] =
        kind === 'u64'
          ? 5n
          : kind === 'str' || kind === 'data'
            ? bytesOf('name')
            : kind === 'strs'
              ? [bytesOf('a'), bytesOf('b')]
              : kind === 'qid'
                ? { type: 0, version: 0, path: 1n }
                : kind === 'qids'
                  ? []
                  : 1;
    }
    const m = encodeMessage(name as never, 9, body as never);
    assert.equal(m[4], Number(num));
    samples.push(m);
  }
  for (const m of samples) {
    assert.ok(decodeMessage(m).ok, `type ${m[4]} decodes whole`);
    for (let len = m.length - 1; len >= 7; len--) {
      const t = m.slice(0, len);
      new DataView(t.buffer).setUint32(0, len, true);
      assert.equal(decodeMessage(t).ok, false, `type ${m[4]} cut to ${len} bytes`);
    }
  }
});

test('9p: random bytes never make the decoder throw', () => {
  const rand = rng(12345);
  for (let i = 0; i < 20000; i++) {
    const len = Math.floor(rand() * 64);
    const b = new Uint8Array(len);
    for (let j = 0; j < len; j++) b[j] = Math.floor(rand() * 256);
    if (len >= 4 && rand() < 0.7) new DataView(b.buffer).setUint32(0, len, true);
    if (len >= 5 && rand() < 0.7)
      b[4] = [
        8, 12, 14, 16, 18, 20, 24, 26, 30, 40, 52, 54, 70, 72, 74, 76, 100, 104, 110, 116, 118, 120,
      ][Math.floor(rand() * 22)]!;
    const r = decodeMessage(b);
    assert.equal(typeof r.ok, 'boolean');
  }
});

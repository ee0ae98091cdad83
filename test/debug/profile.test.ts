/** profile=: a sampled profile of guest pcs, by kernel function. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GuestProfile } from '../../src/debug/profile.js';
import { runCli } from '../helpers/colinux.js';

test('GuestProfile attributes kernel pcs to the symbol at or below them; user samples to one bucket', () => {
  const p = new GuestProfile(100);
  const symbols = new Map<string, bigint>([
    ['memset', 0xffffffff80001000n],
    ['schedule', 0xffffffff80002000n],
  ]);
  for (let i = 0; i < 6; i++) p.add(0xffffffff80001000n + BigInt(2 * i), 1);
  p.add(0xffffffff80002010n, 1);
  // The core hands pcs over as signed 64-bit values.
  p.add(BigInt.asIntN(64, 0xffffffff80002020n), 1);
  p.add(0x10000n, 0);
  p.add(0x10004n, 0);
  const r = p.report(symbols);
  assert.equal(p.samples, 10);
  assert.match(r, /10 samples, one every 100 instructions \(1,000 instructions\)/);
  assert.match(r, /^\s+20\.0 %\s+2\s+user$/m);
  assert.match(r, /^\s+80\.0 %\s+8\s+supervisor$/m);
  assert.match(r, /^\s+60\.0 %\s+6\s+memset$/m);
  assert.match(r, /^\s+20\.0 %\s+2\s+schedule$/m);
  // With the JIT's counters: the translated share.
  const withJit = p.report(symbols, {
    instructions: 1000,
    translated: 250,
    blocks: 3,
    evictedBlocks: 1,
  });
  assert.match(
    withJit,
    /^translated code: 25\.0 % of the 1,000 instructions .*\(3 regions translated, 1 evicted\)$/m,
  );
  assert.doesNotMatch(r, /translated code/);
  // Below every symbol: shown as an address.
  const q = new GuestProfile(1);
  q.add(0x1000n, 3);
  assert.match(q.report(symbols), /0x1000$/m);
});

test('colinux run profile=FILE writes where a boot went, by kernel function of the default vmlinux', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'colinux-profile-'));
  try {
    const file = join(dir, 'boot.txt');
    const r = await runCli(
      ['run', 'eth0=none', '--log', 'none', `profile=${file}`, '--cmd', 'true'],
      {
        killAfterMs: 300_000,
      },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /profile \(\d+ samples\) written to/);
    const text = readFileSync(file, 'utf8');
    const samples = Number(/(\d+) samples/.exec(text)?.[1]);
    // A boot is tens of millions of instructions: thousands of samples.
    assert.ok(samples > 1000, text);
    assert.match(text, /^\s+[\d.]+ %\s+\d+\s+supervisor$/m);
    assert.match(text, /^symbols: .*vmlinux$/m);
    // The JIT is on by default: its share is reported.
    assert.match(
      text,
      /^translated code: [\d.]+ % of the [\d,]+ instructions since the last boot/m,
    );
    // The top entries are kernel functions by name, not bare addresses.
    const top = [...text.matchAll(/^\s+[\d.]+ %\s+\d+\s+(\S+)$/gm)].map((m) => m[1]!).slice(2, 12);
    assert.ok(top.filter((n) => /^[A-Za-z_][\w.]*$/.test(n)).length >= 8, text);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** trace=: traps, interrupts, SBI calls and virtio notifications, with instruction counts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/colinux.js';

test('trace=all logs a boot: page faults, timer interrupts, SBI calls, 9p notifications; deterministic runs trace alike', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'colinux-trace-'));
  try {
    const share = join(dir, 'share');
    mkdirSync(share);
    // The share is input too: its access time must not change between the
    // runs (with relatime, listing it updates atime unless it is newer
    // than mtime).
    const now = Date.now() / 1000;
    utimesSync(share, now, now - 3600);
    const run = async (file: string): Promise<string> => {
      const r = await runCli(
        ['run', 'deterministic=on', '--log', 'none', `cofs0=${share}`, 'trace=all', `tracefile=${file}`,
          '--cmd', 'ls /mnt/cofs0; sleep 1'],
        { input: '', killAfterMs: 300_000 },
      ); // prettier-ignore
      assert.equal(r.code, 0, r.stderr);
      return readFileSync(file, 'utf8');
    };
    const a = await run(join(dir, 'a.trace'));
    const lines = a.split('\n').filter((l) => l !== '');
    assert.ok(lines.length > 1000, `only ${lines.length} lines`);
    // User programs fault their pages in; the kernel takes them from U-mode.
    assert.match(
      a,
      /^\d+ trap (load|store|instruction) page fault at 0x[0-9a-f]+ tval=0x[0-9a-f]+ U->S$/m,
    );
    assert.match(a, /^\d+ trap ecall from U at 0x[0-9a-f]+ tval=0x0 U->S$/m);
    assert.match(a, /^\d+ irq supervisor timer at 0x[0-9a-f]+ [US]->S$/m);
    // The kernel asks the host's SBI what it implements (base extension, eid 0x10).
    assert.match(
      a,
      /^\d+ sbi eid=0x10 fid=\d+ a0=0x[0-9a-f]+ a1=0x[0-9a-f]+ -> error=0 value=0x[0-9a-f]+$/m,
    );
    assert.match(a, /^~\d+ virtio slot 0 \(9p\) queue 0 notified$/m);
    // Instruction counts only grow (exact ones; virtio's is the slice's start).
    const counts = lines.filter((l) => /^\d/.test(l)).map((l) => BigInt(l.split(' ')[0]!));
    for (let i = 1; i < counts.length; i++) assert.ok(counts[i]! >= counts[i - 1]!, lines[i]);
    // The same deterministic run traces the same events at the same counts.
    assert.equal(await run(join(dir, 'b.trace')), a);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad trace settings name the problem', async () => {
  const r = await runCli(['run', 'trace=traps,ticks', '--cmd', 'true']);
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /trace=traps,ticks: unknown trace kind "ticks"; use traps, irqs, sbi, virtio or all/,
  );
  const r2 = await runCli(['run', 'tracefile=x.trace', '--cmd', 'true']);
  assert.match(r2.stderr, /no trace=; add trace=all/);
});

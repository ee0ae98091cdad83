/**
 * Real Linux with the JIT: the default image boots and runs user programs
 * whose results are known, once in-process with an eager translator (low
 * threshold, small batches: most kernel and busybox code gets translated),
 * once starting 2000 processes with the default JIT, and once through the
 * CLI's `jit=on`.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ensureDefaultImage } from '../../src/backends/image/index.js';
import { Machine } from '../../src/machine/machine.js';
import type { JitOptions } from '../../src/jit/jit.js';
import { commandCmdline } from '../../src/machine/command-status.js';
import { DEFAULT_KERNEL_ARGS } from '../../src/vm.js';
import { runCli } from '../helpers/colinux.js';

const WORK =
  'uname -m; i=0; s=0; while [ $i -lt 20000 ]; do s=$((s+i*i)); i=$((i+1)); done; echo sum=$s; seq 1 3000 | md5sum';
const SUM = 'sum=2666466670000';
// 2000 processes, each a fresh exec of the shell: new page tables, fresh
// code pages, pages freed and reused for other code.
const PROCS =
  "s=0; i=0; while [ $i -lt 2000 ]; do s=$((s + $(sh -c 'echo $(($1 * 2))' x $i))); i=$((i+1)); done; echo procs=$s";
const PROCS_SUM = 'procs=3998000';
const MD5 = 'ee9762749fc5338b6c9b0948d14219c7';

let image: { kernel: string; initrd: string };
before(async () => {
  image = await ensureDefaultImage({ onProgress: (line) => process.stderr.write(`${line}\n`) });
});

/**
 * Boot the default image to run `cmd` with the JIT set to `jit`; check that
 * it powered off, translated at least `minBlocks` regions without a
 * translator error, and return the console output.
 */
async function runTranslated(cmd: string, jit: JitOptions, minBlocks: number): Promise<string> {
  let out = '';
  const decoder = new TextDecoder();
  const m = new Machine({
    memMiB: 256,
    kernel: new Uint8Array(readFileSync(image.kernel)),
    initrd: new Uint8Array(readFileSync(image.initrd)),
    cmdline: commandCmdline(DEFAULT_KERNEL_ARGS.join(' '), cmd),
    jit,
    onOutput: (b) => (out += decoder.decode(b, { stream: true })),
  });
  const exit = await m.run();
  const stats = m.hart.jit!.stats;
  assert.equal(stats.errors, 0, stats.lastError);
  assert.ok(stats.blocks > minBlocks, `only ${stats.blocks} blocks were translated`);
  assert.equal(
    exit.reason,
    'poweroff',
    `${exit.reason}: ${exit.message ?? ''}\n${out.slice(-3000)}`,
  );
  return out;
}

test('Linux boots and computes correctly with most of its code translated', async () => {
  const out = await runTranslated(WORK, { threshold: 20, batch: 16, patience: 2 }, 1000);
  assert.match(out, /^riscv64\r?$/m);
  assert.ok(out.includes(SUM), out.slice(-2000));
  assert.ok(out.includes(MD5), out.slice(-2000));
});

test('Linux starts 2000 processes correctly with the JIT at its default settings', async () => {
  // Explicit default options, so the JIT is on even under COLINUX_JIT=off.
  const out = await runTranslated(PROCS, {}, 100);
  assert.ok(out.includes(PROCS_SUM), out.slice(-2000));
});

test('jit=on on the command line', async () => {
  const r = await runCli(['run', 'jit=on', '--cmd', WORK]);
  assert.equal(r.code, 0, `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.ok(r.stdout.includes(SUM), r.stdout);
  assert.ok(r.stdout.includes(MD5), r.stdout);
});

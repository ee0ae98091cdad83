/** The `colinux` command's handling of bad input: one clear message, a non-zero exit, nothing left running. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/colinux.js';
import { assemble, toolchainProblem } from '../helpers/riscv.js';

const dir = mkdtempSync(join(tmpdir(), 'colinux-cli-'));

test('--version and --help', async () => {
  const v = await runCli(['--version']);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^colinux \d+\.\d+\.\d+/);
  const h = await runCli(['run', '--help']);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /kernel=/);
  assert.match(h.stdout, /mem=/);
});

test('a missing kernel file is reported by name', async () => {
  const r = await runCli(['run', `kernel=${join(dir, 'nope')}`]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /kernel=.*nope: no such file/);
});

test('a file that is not a RISC-V kernel is refused', async () => {
  const junk = join(dir, 'junk.bin');
  writeFileSync(junk, Buffer.alloc(4096, 0x41));
  const r = await runCli(['run', `kernel=${junk}`, 'initrd=none']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /not a RISC-V Linux kernel/);
});

test('mem too small or too large names the range', async () => {
  for (const mem of ['8', '100000', 'lots']) {
    const r = await runCli(['run', `mem=${mem}`]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`mem=${mem}`));
    assert.match(r.stderr, /16 to 2048/);
  }
});

test('a malformed config line names the file and line', async () => {
  const conf = join(dir, 'vm.conf');
  writeFileSync(conf, '# my vm\nmem=128\nthis is not a setting\n');
  const r = await runCli(['run', `@${conf}`]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /vm\.conf:3:/);
  const c = await runCli(['config', 'check', `@${conf}`]);
  assert.equal(c.code, 2);
  assert.match(c.stderr, /vm\.conf:3:/);
});

test('a missing config file is reported', async () => {
  const r = await runCli(['run', `@${join(dir, 'missing.conf')}`]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /missing\.conf/);
});

test('an unknown command is refused with a pointer to --help', async () => {
  const r = await runCli(['frobnicate']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown command "frobnicate"/);
});

test('a bare-metal ELF runs in M-mode and its HTIF exit code becomes the status', async () => {
  const problem = await toolchainProblem();
  if (problem) return assert.fail(problem);
  const elf = join(dir, 'prog.elf');
  writeFileSync(
    elf,
    assemble(`
  .section .text.init
  .globl _start
_start:
  li t0, 0x10000000
  li t1, 'o'
  sb t1, 0(t0)
  li t1, 'k'
  sb t1, 0(t0)
  csrr t2, mhartid
  bnez t2, 1f
  li a0, (7 << 1) | 1
  la t0, tohost
  sd a0, 0(t0)
1: j 1b
  .section .tohost,"aw",@progbits
  .align 6
  .globl tohost
tohost: .dword 0
`),
  );
  const r = await runCli(['run', `kernel=${elf}`]);
  assert.equal(r.code, 7, r.stderr);
  assert.equal(r.stdout, 'ok');
});

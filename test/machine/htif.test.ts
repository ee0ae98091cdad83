/** HTIF as Spike defines it: exit codes, putchar, and the write/exit syscall proxy. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runBareMetal } from '../../src/machine/baremetal.js';
import { assemble, toolchainProblem } from '../helpers/riscv.js';

const problem = await toolchainProblem();

const prologue = `
  .section .text.init
  .globl _start
_start:
`;
const epilogue = `
  .section .tohost,"aw",@progbits
  .align 6
  .globl tohost
tohost: .dword 0
  .align 6
  .globl fromhost
fromhost: .dword 0
`;

test('exit code through tohost', { skip: problem }, async () => {
  const r = await runBareMetal(
    assemble(`${prologue}
  li a0, (42 << 1) | 1
  la t0, tohost
  sd a0, 0(t0)
1: j 1b
${epilogue}`),
  );
  assert.equal(r.reason, 'htif');
  assert.equal(r.exitCode, 42);
});

test(
  'putchar (device 1, command 1) and the write syscall reach the console',
  { skip: problem },
  async () => {
    const r = await runBareMetal(
      assemble(`${prologue}
  la t0, tohost
  la t1, fromhost
  li a0, (1 << 56) | (1 << 48) | 'A'
  sd a0, 0(t0)
1: ld a1, 0(t1)          # wait for the host's answer
  beqz a1, 1b
  sd zero, 0(t1)
  la a2, magic           # syscall write(1, msg, 6)
  li a3, 64
  sd a3, 0(a2)
  li a3, 1
  sd a3, 8(a2)
  la a3, msg
  sd a3, 16(a2)
  li a3, 6
  sd a3, 24(a2)
  sd a2, 0(t0)
2: ld a1, 0(t1)
  beqz a1, 2b
  ld a4, 0(a2)           # result: bytes written
  li a5, 6
  bne a4, a5, bad
  la a2, magic           # syscall exit(7)
  li a3, 93
  sd a3, 0(a2)
  li a3, 7
  sd a3, 8(a2)
  sd a2, 0(t0)
3: j 3b
bad:
  li a0, (99 << 1) | 1
  sd a0, 0(t0)
4: j 4b
  .data
  .align 3
magic: .skip 64
msg: .ascii "hello\\n"
${epilogue}`),
    );
    assert.equal(r.reason, 'htif', r.console);
    assert.equal(r.exitCode, 7);
    assert.equal(r.console, 'Ahello\n');
  },
);

test('a syscall pointing outside RAM is refused, not a host crash', { skip: problem }, async () => {
  const r = await runBareMetal(
    assemble(`${prologue}
  la t0, tohost
  la t1, fromhost
  la a2, magic
  li a3, 64
  sd a3, 0(a2)
  li a3, 1
  sd a3, 8(a2)
  li a3, 0x10
  sd a3, 16(a2)          # buffer at physical 0x10: not RAM
  li a3, 100
  sd a3, 24(a2)
  sd a2, 0(t0)
1: ld a1, 0(t1)
  beqz a1, 1b
  ld a4, 0(a2)
  li a5, -14             # -EFAULT
  bne a4, a5, bad
  li a0, 1
  sd a0, 0(t0)
2: j 2b
bad:
  li a0, 3
  sd a0, 0(t0)
3: j 3b
  .data
  .align 3
magic: .skip 64
${epilogue}`),
  );
  assert.equal(r.exitCode, 0, r.console);
});

/**
 * A hart's state is one block of bytes (src/cpu/state.ts): saved in the
 * middle of an ISA program (paging, traps, FP, PMP) together with guest RAM
 * and loaded into a fresh machine, the program finishes exactly as an
 * uninterrupted run does: same exit, instruction count and registers. Both
 * with the interpreter and with every instruction translated.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Machine, type MachineOptions } from '../../src/machine/machine.js';
import { ISA_DIR, compileBareMetal, toolchainProblem } from '../helpers/riscv.js';

const PROGRAMS = ['sv39', 'priv_traps', 'rv64ud', 'pmp', 'rv64ua'];
const outDir = mkdtempSync(join(tmpdir(), 'colinux-state-'));
after(() => rmSync(outDir, { recursive: true, force: true }));
const toolchainError = await toolchainProblem();

function options(elf: Uint8Array, jit: boolean, limit?: number): MachineOptions {
  return {
    memMiB: 64,
    kernel: elf,
    cmdline: '',
    sliceInstructions: 997,
    instructionLimit: limit ?? 200_000_000,
    jit: jit ? { threshold: 1, batch: 1, eager: true } : false,
    onOutput: () => {},
  };
}

interface End {
  reason: string;
  exitCode: number;
  instret: bigint;
  regs: bigint[];
}

async function finish(m: Machine): Promise<End> {
  const exit = await m.run();
  const regs: bigint[] = [];
  for (let i = 0; i < 32; i++) regs.push(m.hart.reg(i));
  // A program ends by writing HTIF tohost (the machine reports it as a power-off from 'htif').
  const reason = exit.source === 'htif' ? 'htif' : exit.reason;
  return { reason, exitCode: exit.exitCode, instret: m.hart.x.getInstret(), regs };
}

for (const name of PROGRAMS) {
  for (const jit of [false, true]) {
    test(`hart state: ${name} saved halfway and loaded into a new machine${jit ? ' (JIT)' : ''}`, async () => {
      if (toolchainError) assert.fail(toolchainError);
      const elf = compileBareMetal(join(ISA_DIR, 'src', `${name}.S`), join(outDir, `${name}.elf`));
      const whole = await finish(new Machine(options(elf, jit)));
      assert.equal(whole.reason, 'htif', `${name} runs to its end`);
      assert.equal(whole.exitCode, 0, `${name} passes`);

      // Stop about halfway (at a slice boundary), take the state and RAM.
      const first = new Machine(options(elf, jit, Number(whole.instret / 2n)));
      const stopped = await first.run();
      assert.equal(stopped.reason, 'timeout');
      const state = first.hart.saveState();
      const ram = first.hart.ram.slice();
      const at = first.hart.x.getInstret();
      assert.ok(at > 0n && at < whole.instret, `stopped at ${at} of ${whole.instret}`);

      // A fresh machine (its own memory, TLB and translations) continues from there.
      const second = new Machine(options(elf, jit));
      second.hart.ram.set(ram);
      second.hart.x.hostWrote(0x8000_0000n, BigInt(ram.length));
      second.hart.loadState(state);
      assert.equal(second.hart.x.getInstret(), at);
      const resumed = await finish(second);
      assert.deepEqual(resumed, whole);
    });
  }
}

test('hart state: a state of the wrong size is refused', () => {
  if (toolchainError) assert.fail(toolchainError);
  const elf = compileBareMetal(join(ISA_DIR, 'src', 'rv64ui.S'), join(outDir, 'size.elf'));
  const m = new Machine(options(elf, false));
  assert.throws(() => m.hart.loadState(new Uint8Array(3)), /hart state of 3 bytes/);
});

test('hart state: bytes from outside are checked; whatever is accepted runs without harming the host', async () => {
  if (toolchainError) assert.fail(toolchainError);
  const elf = compileBareMetal(join(ISA_DIR, 'src', 'sv39.S'), join(outDir, 'fuzz.elf'));
  const first = new Machine(options(elf, false, 20_000));
  await first.run();
  const good = first.hart.saveState();

  // A state no hart can be in: refused, and the hart is back at reset.
  const m = new Machine(options(elf, false));
  for (const fill of [0x00, 0xff]) {
    assert.throws(() => m.hart.loadState(new Uint8Array(good.length).fill(fill)), /no hart can/);
    assert.equal(m.hart.pc, 0x8000_0000n, 'reset after a refused state');
  }

  // A valid state with a few bytes changed anywhere: refused cleanly, or runs.
  let seed = 7;
  const next = (): number => (seed = (seed * 1103515245 + 12345) >>> 0);
  let accepted = 0;
  for (let k = 0; k < 300; k++) {
    const state = good.slice();
    for (let j = 1 + (next() % 4); j > 0; j--) state[next() % state.length] = next() & 0xff;
    const h = new Machine(options(elf, false)).hart;
    try {
      h.loadState(state);
    } catch (e) {
      assert.ok(e instanceof RangeError, String(e));
      continue;
    }
    accepted++;
    for (let i = 0; i < 20; i++) h.run(500);
  }
  assert.ok(accepted > 50, `only ${accepted} of 300 changed states accepted`);
});

/**
 * The JIT's hard cases, each checked against the interpreter: code rewritten
 * after translation, faults in mid-block, an interrupt raised by a store in
 * mid-block, and exact budgets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble, toolchainProblem } from '../helpers/riscv.js';
import { Machine } from '../../src/machine/machine.js';
import { Exit } from '../../src/machine/core.js';
import { runProgram, type Outcome } from './helpers.js';
import type { JitOptions } from '../../src/jit/jit.js';
import {
  SELF_MODIFYING,
  MID_BLOCK_TRAPS,
  STORE_RAISES_INTERRUPT,
  ENDLESS_LOOP,
  RUNTIME_CODE,
  FP_LOOP,
  FP_RANDOM,
} from './programs.js';

const toolchainError = await toolchainProblem();

async function sameAsInterpreter(
  source: string,
  options: JitOptions = { threshold: 1, batch: 1 },
): Promise<Outcome> {
  if (toolchainError) assert.fail(toolchainError);
  const elf = assemble(source);
  const ref = await runProgram(elf, false, { sliceInstructions: 997 });
  assert.equal(ref.source, 'htif');
  assert.equal(ref.exitCode, 0, 'the program fails on the interpreter');
  const jit = await runProgram(elf, options);
  assert.equal(jit.stats?.errors, 0, jit.stats?.lastError);
  assert.ok(jit.stats!.blocks > 0, 'nothing was translated');
  assert.equal(jit.source, 'htif');
  assert.equal(jit.exitCode, 0, 'the program fails with the JIT');
  assert.equal(jit.instret, ref.instret, 'instret differs from the interpreter');
  assert.equal(jit.pc, ref.pc);
  for (let i = 1; i < 32; i++) assert.equal(jit.regs[i], ref.regs[i], `x${i}`);
  return jit;
}

test('code rewritten after translation runs in its new form', async () => {
  await sameAsInterpreter(SELF_MODIFYING);
});

test('code generated at run time into reused pages runs in its new form', async () => {
  await sameAsInterpreter(RUNTIME_CODE);
});

test('the same with translations evicted all the time (a one-byte budget)', async () => {
  const jit = await sameAsInterpreter(RUNTIME_CODE, { threshold: 1, batch: 1, cacheBytes: 1 });
  assert.ok(jit.stats!.evictedModules > 100, `only ${jit.stats!.evictedModules} evictions`);
});

test('F and D instructions run translated, integer registers in and out', async () => {
  await sameAsInterpreter(FP_LOOP);
});

test('double-precision arithmetic on random operands gives the results and flags of the interpreter', async () => {
  // The inline FP paths and their conditions (codegen.ts): a checksum of
  // every result and of fflags, compared register for register.
  await sameAsInterpreter(FP_RANDOM);
});

test('a load or store fault in mid-block is precise', async () => {
  await sameAsInterpreter(MID_BLOCK_TRAPS);
});

test('an interrupt raised by a store in mid-block is taken right after it', async () => {
  await sameAsInterpreter(STORE_RAISES_INTERRUPT);
});

test('evicting translations to stay within a tiny budget changes nothing', async () => {
  const jit = await sameAsInterpreter(MID_BLOCK_TRAPS, { threshold: 1, batch: 1, cacheBytes: 1 });
  assert.ok(jit.stats!.evictedModules > 0, 'nothing was evicted');
  assert.equal(jit.stats!.liveModules, 1, 'a budget smaller than one module keeps just the newest');
});

test('every run(budget) retires exactly its budget, translated or not', async () => {
  if (toolchainError) assert.fail(toolchainError);
  const elf = assemble(ENDLESS_LOOP);
  const make = (jit: boolean): Machine =>
    new Machine({
      memMiB: 64,
      kernel: elf,
      cmdline: '',
      jit: jit ? { threshold: 1, batch: 1 } : false,
    });
  const ref = make(false);
  const m = make(true);
  const budgets = [1, 2, 3, 5, 7, 64, 65, 100, 997, 4096, 10_007, 123_457];
  for (let round = 0; round < 6; round++) {
    for (const b of budgets) {
      for (const h of [ref.hart, m.hart]) {
        const before = h.x.getInstret();
        assert.equal(h.run(b), Exit.Budget);
        assert.equal(h.x.getInstret() - before, BigInt(b));
      }
      assert.equal(m.hart.pc, ref.hart.pc);
      for (let i = 1; i < 32; i++) assert.equal(m.hart.reg(i), ref.hart.reg(i), `x${i}`);
    }
  }
  assert.ok(m.hart.jit!.stats.blocks > 0, 'nothing was translated');
  assert.equal(m.hart.jit!.stats.errors, 0);
});

test('a JIT cache budget that is not a positive size is refused with a clear message', () => {
  if (toolchainError) assert.fail(toolchainError);
  const elf = assemble(ENDLESS_LOOP);
  for (const cacheBytes of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(
      () => new Machine({ memMiB: 64, kernel: elf, cmdline: '', jit: { cacheBytes } }),
      /JIT cache budget .*give a positive size/,
    );
  }
});

/**
 * The ISA programs (test/isa) with the JIT on: each must pass, and end with
 * exactly the instruction count, pc and registers of the interpreter's run.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ISA_DIR, compileBareMetal, toolchainProblem } from '../helpers/riscv.js';
import { runProgram } from './helpers.js';

const srcDir = join(ISA_DIR, 'src');
const programs = readdirSync(srcDir)
  .filter((f) => f.endsWith('.S'))
  .map((f) => f.slice(0, -2))
  .sort();
const outDir = mkdtempSync(join(tmpdir(), 'colinux-isa-jit-'));
after(() => rmSync(outDir, { recursive: true, force: true }));
const toolchainError = await toolchainProblem();
// These read the time CSR or wait for timer interrupts: their instruction
// counts and registers depend on the host clock, so only the verdict is compared.
const CLOCKED = new Set(['interrupts', 'sstc', 'zicsr']);

for (const name of programs) {
  test(`isa ${name} with the JIT`, async () => {
    if (toolchainError) assert.fail(toolchainError);
    const elf = compileBareMetal(join(srcDir, `${name}.S`), join(outDir, `${name}.elf`));
    const ref = await runProgram(elf, false, { sliceInstructions: 997 });
    const jit = await runProgram(elf, true);
    assert.equal(ref.source, 'htif');
    assert.equal(ref.exitCode, 0);
    assert.equal(jit.stats?.errors, 0, jit.stats?.lastError);
    assert.ok(jit.stats!.blocks > 0, 'nothing was translated');
    assert.equal(jit.source, 'htif');
    assert.equal(jit.exitCode, 0, `${name} failed with the JIT: code ${jit.exitCode}`);
    if (CLOCKED.has(name)) return;
    assert.equal(jit.instret, ref.instret, 'instret differs from the interpreter');
    assert.equal(jit.pc, ref.pc);
    assert.deepEqual(jit.regs, ref.regs);
  });
}

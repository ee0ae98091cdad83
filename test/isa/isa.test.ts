/**
 * ISA test suite: every test/isa/src/*.S program is assembled and linked at
 * test time with the Debian RISC-V cross toolchain and run bare-metal in
 * M-mode on colinux. A program reports through HTIF `tohost`; exit code 0 is
 * a pass, anything else names the failing case (see test/isa/src/macros.h).
 *
 * ISA_TESTS=rv64ui,sv39 runs only the named programs; ISA_CFLAGS adds
 * compiler flags (e.g. ISA_CFLAGS=-DISA_BREAK=5 must make every program with a
 * case 5 fail, naming it).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBareMetal } from '../../src/machine/baremetal.js';
import { ISA_DIR, compileBareMetal, toolchainProblem } from '../helpers/riscv.js';
import { parseElf } from '../../src/machine/elf.js';

const MAX_INSTRUCTIONS = 200_000_000;

const isaDir = ISA_DIR;
const srcDir = join(isaDir, 'src');
const only = process.env['ISA_TESTS']
  ?.split(',')
  .map((s) => s.trim())
  .filter((s) => s !== '');
const programs = readdirSync(srcDir)
  .filter((f) => f.endsWith('.S'))
  .map((f) => f.slice(0, -2))
  .filter((name) => only === undefined || only.includes(name))
  .sort();

const outDir = mkdtempSync(join(tmpdir(), 'colinux-isa-'));
after(() => rmSync(outDir, { recursive: true, force: true }));

const toolchainError = await toolchainProblem();

function build(name: string): Uint8Array {
  if (toolchainError) assert.fail(toolchainError);
  const extra = process.env['ISA_CFLAGS']?.split(/\s+/).filter((f) => f !== '') ?? [];
  try {
    return compileBareMetal(join(srcDir, `${name}.S`), join(outDir, `${name}.elf`), extra);
  } catch (e) {
    assert.fail((e as Error).message);
  }
}

/** Explain a failure code (layout defined in macros.h). */
function describe(name: string, code: number, symbols: Map<string, bigint>): string {
  const num = code & 0xfff;
  const lines: string[] = [];
  for (const [sym, value] of symbols) {
    const m = /^isa_case_L(\d+)$/.exec(sym);
    if (m && Number(value) === num) lines.push(m[1]!);
  }
  const where =
    num === 0xfff
      ? 'before the first test case'
      : `test ${num}${lines.length ? ` (${name}.S line ${lines.join(', ')})` : ''}`;
  const m = code & (1 << 20);
  const s = code & (1 << 21);
  if (m || s) {
    const c = (code >> 12) & 0xff;
    const cause = c & 0x80 ? `interrupt ${c & 0x7f}` : `exception ${c & 0x7f}`;
    return `${name}: ${where}: unexpected trap into ${s ? 'S' : 'M'}-mode (${cause}) [exit code 0x${code.toString(16)}]`;
  }
  return `${name}: ${where} failed [exit code ${code}]`;
}

for (const name of programs) {
  test(`isa ${name}`, async () => {
    const elf = build(name);
    const { symbols } = parseElf(elf);
    const r = await runBareMetal(elf, { maxInstructions: MAX_INSTRUCTIONS });
    const tail = r.console ? `\nconsole:\n${r.console.slice(-2000)}` : '';
    assert.equal(
      r.reason,
      'htif',
      `${name}: did not finish through tohost (reason ${r.reason}, ${r.instructions} instructions, exit code ${r.exitCode})${tail}`,
    );
    assert.equal(r.exitCode, 0, describe(name, r.exitCode, symbols) + tail);
  });
}

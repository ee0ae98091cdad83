/**
 * The `isa=` setting: extensions left out are missing from the device
 * tree's ISA strings and their instructions trap as illegal, interpreted
 * and translated alike; bad values get one clear message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble, toolchainProblem } from '../helpers/riscv.js';
import { runProgram } from '../jit/helpers.js';
import { IsaError, isaStrings, parseIsa } from '../../src/machine/isa.js';

const toolchainError = await toolchainProblem();

const PRELUDE = `
#include "macros.h"
  .option arch, +zba, +zbb, +zbc, +zbs
RVTEST_CODE_BEGIN
`;
const END = `
RVTEST_CODE_END
RVTEST_DATA_BEGIN
RVTEST_DATA_END
`;

/** Every extension isa=rv64gc leaves out, one instruction each (czero.eqz, mop.r.0, c.mop.1, wrs.nto, c.not, cbo.zero and cbo.clean written out). */
const NONE_OF_THEM = `${PRELUDE}
  TEST_ILLEGAL(sh1add a0, a1, a2)
  TEST_ILLEGAL(slli.uw a0, a1, 3)
  TEST_ILLEGAL(andn a0, a1, a2)
  TEST_ILLEGAL(clz a0, a1)
  TEST_ILLEGAL(rev8 a0, a1)
  TEST_ILLEGAL(clmul a0, a1, a2)
  TEST_ILLEGAL(bset a0, a1, a2)
  TEST_ILLEGAL(.insn r 0x33, 5, 7, a0, a1, a2)
  TEST_ILLEGAL(.word 0x81c5c573)
  TEST_ILLEGAL(.hword 0x6081)
  TEST_ILLEGAL(.word 0x00d00073)
  TEST_ILLEGAL(.hword 0x9d75)
  TEST_ILLEGAL(.word 0x0045a00f)
  TEST_ILLEGAL(.word 0x0015a00f)
${END}`;

/** isa=-zbb: Zba still works, Zbb traps. */
const WITHOUT_ZBB = `${PRELUDE}
  TEST_RR(sh2add, 0x13, 0x4, 0x3)
  TEST_ILLEGAL(orc.b a0, a1)
  TEST_ILLEGAL(min a0, a1, a2)
  TEST_IMM(bexti, 1, 0x10, 4)
${END}`;

async function verdict(source: string, isa: string, jit: boolean): Promise<number> {
  if (toolchainError) assert.fail(toolchainError);
  const r = await runProgram(assemble(source), jit, { disabledExtensions: parseIsa(isa) });
  assert.equal(r.source, 'htif', `${isa}: the program did not finish (${r.reason})`);
  return r.exitCode;
}

test('isa=rv64gc: Zba, Zbb, Zbc, Zbs and Zicond instructions are illegal, with the JIT too', async () => {
  assert.equal(await verdict(NONE_OF_THEM, 'rv64gc', false), 0);
  assert.equal(await verdict(NONE_OF_THEM, 'rv64gc', true), 0);
  // With every extension (the default) the first of them does not trap.
  assert.notEqual(await verdict(NONE_OF_THEM, 'max', false), 0);
});

test('isa=-zbb leaves out Zbb alone', async () => {
  assert.equal(await verdict(WITHOUT_ZBB, '-zbb', false), 0);
  assert.equal(await verdict(WITHOUT_ZBB, '-zbb', true), 0);
  assert.equal(await verdict(WITHOUT_ZBB, 'rv64gc,+zba,+zbs', false), 0);
});

test('isa= values: the device tree strings, and one clear message for a bad one', () => {
  assert.deepEqual(parseIsa('rv64gc'), [
    'zawrs',
    'zba',
    'zbb',
    'zbc',
    'zbs',
    'zcb',
    'zcmop',
    'zicbom',
    'zicboz',
    'zicond',
    'zimop',
  ]);
  assert.deepEqual(parseIsa('max'), []);
  assert.deepEqual(parseIsa('-zba,-ZBB'), ['zba', 'zbb']);
  assert.deepEqual(parseIsa('rv64gc,+zbb,+zicond,+zimop,+zcmop,+zawrs,+zcb,+zicbom,+zicboz'), [
    'zba',
    'zbc',
    'zbs',
  ]);
  assert.deepEqual(isaStrings(parseIsa('rv64gc')), {
    isa: 'rv64imafdc_zicbop_zicntr_zicsr_zifencei_zihintntl_zihintpause_zihpm_sdtrig_smstateen_ssstateen_sstc_svadu_svinval_svnapot_svpbmt',
    extensions: [
      'i',
      'm',
      'a',
      'f',
      'd',
      'c',
      'zicbop',
      'zicntr',
      'zicsr',
      'zifencei',
      'zihintntl',
      'zihintpause',
      'zihpm',
      'sdtrig',
      'smstateen',
      'ssstateen',
      'sstc',
      'svadu',
      'svinval',
      'svnapot',
      'svpbmt',
    ],
  });
  assert.equal(
    isaStrings([]).isa,
    'rv64imafdc_zicbom_zicbop_zicboz_zicntr_zicond_zicsr_zifencei_zihintntl_zihintpause_zihpm_zimop_zawrs_zcb_zcmop_zba_zbb_zbc_zbs_sdtrig_smstateen_ssstateen_sstc_svadu_svinval_svnapot_svpbmt',
  );
  assert.throws(() => parseIsa('-zbq'), /zbq: not an extension colinux implements/);
  assert.throws(() => parseIsa('-m'), /m: always present/);
  assert.throws(() => parseIsa('rv64gc,zba'), IsaError);
  assert.throws(() => parseIsa('-zba,'), /an empty item/);
  assert.throws(() => parseIsa('rv32gc'), /"rv32gc" is not an extension change/);
});

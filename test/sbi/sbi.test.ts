/** The host SBI against a real hart, including hostile arguments from the guest. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hart, RAM_BASE } from '../../src/machine/core.js';
import {
  handleSbiCall,
  EXT_BASE,
  EXT_DBCN,
  EXT_SRST,
  EXT_TIME,
  EXT_HSM,
  SBI_SUCCESS,
  SBI_ERR_INVALID_PARAM,
  SBI_ERR_NOT_SUPPORTED,
  SBI_ERR_ALREADY_AVAILABLE,
  type SbiHost,
} from '../../src/sbi/sbi.js';

function setup(): { hart: Hart; host: SbiHost; out: number[]; resets: string[] } {
  const hart = new Hart(1 << 20, { mmioRead: () => 0, mmioWrite: () => undefined, time: () => 0 });
  const out: number[] = [];
  const resets: string[] = [];
  const host: SbiHost = {
    consoleWrite: (b) => out.push(...b),
    consoleRead: () => -1,
    systemReset: (kind, code) => resets.push(`${kind}:${code}`),
  };
  return { hart, host, out, resets };
}

function call(
  hart: Hart,
  host: SbiHost,
  eid: number,
  fid: number,
  ...args: bigint[]
): [bigint, bigint] {
  hart.setReg(17, BigInt(eid));
  hart.setReg(16, BigInt(fid));
  args.forEach((a, i) => hart.setReg(10 + i, a));
  handleSbiCall(hart, host);
  return [BigInt.asIntN(64, hart.reg(10)), hart.reg(11)];
}

test('base: spec version 2.0 and extension probing', () => {
  const { hart, host } = setup();
  assert.deepEqual(call(hart, host, EXT_BASE, 0), [SBI_SUCCESS, 2n << 24n]);
  assert.deepEqual(call(hart, host, EXT_BASE, 3, BigInt(EXT_DBCN)), [SBI_SUCCESS, 1n]);
  assert.deepEqual(call(hart, host, EXT_BASE, 3, 0x12345678n), [SBI_SUCCESS, 0n]);
  assert.equal(call(hart, host, 0x0abcdef0, 0)[0], SBI_ERR_NOT_SUPPORTED);
});

test('DBCN write reads guest RAM; addresses outside RAM are refused', () => {
  const { hart, host, out } = setup();
  hart.ramView(RAM_BASE + 0x100, 5).set(new TextEncoder().encode('hello'));
  assert.deepEqual(call(hart, host, EXT_DBCN, 0, 5n, BigInt(RAM_BASE + 0x100), 0n), [
    SBI_SUCCESS,
    5n,
  ]);
  assert.equal(String.fromCharCode(...out), 'hello');
  for (const [len, addr, hi] of [
    [16n, 0x1000n, 0n],
    [16n, BigInt(RAM_BASE + (1 << 20) - 8), 0n],
    [1n, 0xffff_ffff_ffff_fff0n, 0n],
    [1n, BigInt(RAM_BASE), 1n],
  ] as const) {
    assert.equal(call(hart, host, EXT_DBCN, 0, len, addr, hi)[0], SBI_ERR_INVALID_PARAM);
  }
  assert.equal(out.length, 5);
});

test('SRST validates type and reason', () => {
  const { hart, host, resets } = setup();
  assert.equal(call(hart, host, EXT_SRST, 0, 7n, 0n)[0], SBI_ERR_INVALID_PARAM);
  assert.equal(call(hart, host, EXT_SRST, 0, 0n, 9n)[0], SBI_ERR_INVALID_PARAM);
  assert.equal(call(hart, host, EXT_SRST, 0, 0n, 0n)[0], SBI_SUCCESS);
  assert.equal(call(hart, host, EXT_SRST, 0, 1n, 1n)[0], SBI_SUCCESS);
  assert.deepEqual(resets, ['shutdown:0', 'reboot:1']);
});

test('TIME programs stimecmp; HSM reports the single hart', () => {
  const { hart, host } = setup();
  assert.equal(call(hart, host, EXT_TIME, 0, 12345n)[0], SBI_SUCCESS);
  assert.equal(hart.x.getStimecmp(), 12345n);
  assert.equal(call(hart, host, EXT_HSM, 0, 0n)[0], SBI_ERR_ALREADY_AVAILABLE);
  assert.deepEqual(call(hart, host, EXT_HSM, 2, 0n), [SBI_SUCCESS, 0n]);
  assert.equal(call(hart, host, EXT_HSM, 2, 5n)[0], SBI_ERR_INVALID_PARAM);
});

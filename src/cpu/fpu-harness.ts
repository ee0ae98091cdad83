// Test entry point for src/cpu/fpu.ts (compiled by test/cpu/fpu.test.ts with
// asc): re-exports the library plus accessors for the accrued flags.
import { fflagsAcc } from './fpu';

export * from './fpu';

export function getFlags(): u32 {
  return fflagsAcc;
}

export function clearFlags(): void {
  fflagsAcc = 0;
}

// Test entry point for src/cpu/fpu.ts (compiled by test/cpu/fpu.test.ts with
// asc): re-exports the library plus accessors for the accrued flags.
import { fflagsAcc, hostOk } from './fpu';

export * from './fpu';

export function getFlags(): u32 {
  return fflagsAcc;
}

/** Could the last host shortcut (hostF32, hostF64, hostSqrt*) be used? */
export function hostUsable(): bool {
  return hostOk;
}

export function clearFlags(): void {
  fflagsAcc = 0;
}

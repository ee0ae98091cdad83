/** Running bare-metal programs with and without the JIT, for the test/jit tests. */
import { Machine, type MachineOptions } from '../../src/machine/machine.js';
import type { JitOptions, JitStats } from '../../src/jit/jit.js';

export interface Outcome {
  exitCode: number;
  source: string | undefined;
  reason: string;
  instret: bigint;
  pc: bigint;
  regs: bigint[];
  console: string;
  stats: JitStats | undefined;
}

/**
 * Run `elf` to its end. With `jit`, every block entry is translated before
 * it first runs (eager mode) and the slices are short, so everything that
 * can run translated does.
 */
export async function runProgram(
  elf: Uint8Array,
  jit: boolean | JitOptions,
  extra: Partial<MachineOptions> = {},
): Promise<Outcome> {
  let text = '';
  const decoder = new TextDecoder('latin1');
  const m = new Machine({
    memMiB: 64,
    kernel: elf,
    cmdline: '',
    instructionLimit: 200_000_000,
    sliceInstructions: jit ? 997 : 200_000,
    jit: jit === true ? { threshold: 1, batch: 1, eager: true } : jit,
    onOutput: (b) => (text += decoder.decode(b)),
    ...extra,
  });
  const exit = await m.run();
  const regs: bigint[] = [];
  for (let i = 0; i < 32; i++) regs.push(m.hart.reg(i));
  return {
    exitCode: exit.exitCode,
    source: exit.source,
    reason: exit.reason,
    instret: m.hart.x.getInstret(),
    pc: m.hart.pc,
    regs,
    console: text,
    stats: m.hart.jit ? { ...m.hart.jit.stats } : undefined,
  };
}

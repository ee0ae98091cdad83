/**
 * Run a bare-metal RISC-V ELF (e.g. an ISA test) in M-mode and report how it
 * ended. Programs report through HTIF: writing (code << 1) | 1 to `tohost`.
 */
import { Machine } from './machine.js';

export interface BareMetalResult {
  exitCode: number;
  reason: 'htif' | 'timeout' | 'poweroff' | 'error';
  instructions: number;
  console: string;
}

export async function runBareMetal(
  elf: Uint8Array,
  opts: { maxInstructions?: number; memMiB?: number } = {},
): Promise<BareMetalResult> {
  let text = '';
  const decoder = new TextDecoder('latin1');
  const m = new Machine({
    memMiB: opts.memMiB ?? 64,
    kernel: elf,
    cmdline: '',
    instructionLimit: opts.maxInstructions ?? 100_000_000,
    onOutput: (b) => (text += decoder.decode(b)),
  });
  const exit = await m.run();
  const instructions = Number(m.hart.x.getInstret());
  let reason: BareMetalResult['reason'];
  if (exit.source === 'htif') reason = 'htif';
  else if (exit.reason === 'timeout') reason = 'timeout';
  else if (exit.reason === 'poweroff') reason = 'poweroff';
  else reason = 'error';
  if (exit.message && reason === 'error') text += `\n[colinux] ${exit.message}\n`;
  return { exitCode: exit.exitCode, reason, instructions, console: text };
}

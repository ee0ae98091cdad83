/** Building bare-metal RISC-V programs at test time with Debian's cross toolchain. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureHostTools } from '../../src/backends/image/host.js';

export const CC = process.env['RISCV_CC'] ?? 'riscv64-linux-gnu-gcc';

/** The repository root: the first ancestor holding test/isa/link.ld (works from dist/ too). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'test', 'isa', 'link.ld'))) return dir;
    const up = dirname(dir);
    if (up === dir)
      throw new Error('cannot find test/isa/link.ld above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

export const ISA_DIR = join(repoRoot(), 'test', 'isa');

/** Install the cross toolchain if needed; returns an error message or undefined. */
export async function toolchainProblem(): Promise<string | undefined> {
  try {
    // On a fresh machine this installs the cross toolchain (as the image builder does).
    await ensureHostTools((line) => process.stderr.write(`${line}\n`));
  } catch (e) {
    return (e as Error).message;
  }
  const probe = spawnSync(CC, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    return (
      `the RISC-V cross compiler ${CC} is not available (${probe.error?.message ?? `exit ${probe.status}`}); ` +
      'install it with: apt-get install gcc-riscv64-linux-gnu binutils-riscv64-linux-gnu'
    );
  }
  return undefined;
}

/** Compile and link one bare-metal source (.S) at 0x80000000 with the ISA suite's linker script. */
export function compileBareMetal(
  source: string,
  out: string,
  extraArgs: string[] = [],
): Uint8Array {
  const args = [
    '-nostdlib',
    '-nostartfiles',
    '-static',
    '-no-pie',
    '-march=rv64gc',
    '-mabi=lp64d',
    '-mno-relax',
    '-Wl,--build-id=none',
    '-Wl,--no-warn-rwx-segments',
    `-I${join(ISA_DIR, 'src')}`,
    ...extraArgs,
    '-T',
    join(ISA_DIR, 'link.ld'),
    '-o',
    out,
    source,
  ];
  const r = spawnSync(CC, args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(`building ${source} failed:\n${r.error?.message ?? ''}${r.stderr}${r.stdout}`);
  }
  return new Uint8Array(readFileSync(out));
}

/** Assemble program text into a bare-metal ELF (in a temp dir). */
export function assemble(text: string): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'colinux-asm-'));
  const src = join(dir, 'prog.S');
  writeFileSync(src, text);
  return compileBareMetal(src, join(dir, 'prog.elf'));
}

/**
 * Bench preparation: host tools, the guest image, the CPU benchmark program
 * and the combined initrd (default initramfs + a small cpio with /bench).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeCpio } from '../src/backends/image/cpio.js';
import { ensureOptionalTools, tool } from '../src/backends/image/host.js';
import { BenchError } from './guest.js';

export const QEMU = 'qemu-system-riscv64';

/** QEMU's side of every comparison: the virt board, its bundled OpenSBI, one hart, `memMiB` of RAM. */
export function qemuVirtArgs(memMiB: number): string[] {
  return ['-M', 'virt', '-bios', 'default', '-nographic', '-m', String(memMiB), '-smp', '1'];
}
export const CROSS_GCC = 'riscv64-linux-gnu-gcc';

/** The repository root (dist/bench/.. /.. when compiled, bench/.. when run from source). */
export function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(d, 'package.json')) && existsSync(join(d, 'bench', 'cpubench.c'))) return d;
    const up = dirname(d);
    if (up === d)
      throw new BenchError(
        'cannot find the colinux repository (package.json with bench/cpubench.c)',
      );
    d = up;
  }
}

/** First line of `file --version`, or undefined if it cannot be run. */
function toolVersion(file: string): string | undefined {
  const r = spawnSync(file, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return undefined;
  return r.stdout.split('\n')[0]?.trim();
}

export interface HostTools {
  qemuVersion: string;
  gccVersion: string;
  nodeVersion: string;
  colinuxCli: string;
}

/**
 * As root, install what the bench runs that the image builder does not
 * need: QEMU (the peer) and the static riscv64 C library (cpubench).
 * Otherwise checkHostTools says what to install.
 */
export async function ensureBenchTools(): Promise<void> {
  await ensureOptionalTools(
    [
      tool(QEMU, 'qemu-system-misc'),
      {
        what: 'static riscv64 C library',
        pkg: 'libc6-dev-riscv64-cross',
        present: () => existsSync('/usr/riscv64-linux-gnu/lib/libc.a'),
      },
    ],
    'the bench cannot run',
    (line) => process.stderr.write(`bench: ${line}\n`),
  );
}

/** Check everything the bench runs; throw a BenchError saying how to fix what is missing. */
export function checkHostTools(root: string): HostTools {
  const problems: string[] = [];
  const qemuVersion = toolVersion(QEMU);
  if (qemuVersion === undefined) {
    problems.push(
      `${QEMU} not found: install Debian's qemu-system-misc (apt-get install qemu-system-misc)`,
    );
  }
  const gccVersion = toolVersion(CROSS_GCC);
  if (gccVersion === undefined) {
    problems.push(
      `${CROSS_GCC} not found: install Debian's gcc-riscv64-linux-gnu (apt-get install gcc-riscv64-linux-gnu libc6-dev-riscv64-cross)`,
    );
  }
  const colinuxCli = join(root, 'dist', 'src', 'cli', 'colinux.js');
  if (!existsSync(colinuxCli)) problems.push(`${colinuxCli} missing: run "npm run build" first`);
  if (problems.length) throw new BenchError(problems.join('\n'));
  return {
    qemuVersion: qemuVersion!,
    gccVersion: gccVersion!,
    nodeVersion: process.version,
    colinuxCli,
  };
}

/** Compile bench/cpubench.c for riscv64 (static) into `outDir`; returns the binary's path. */
export function buildCpubench(root: string, outDir: string): string {
  const src = join(root, 'bench', 'cpubench.c');
  const out = join(outDir, 'cpubench');
  const r = spawnSync(CROSS_GCC, ['-static', '-O2', '-Wall', '-o', out, src, '-lm'], {
    encoding: 'utf8',
  });
  if (r.error) throw new BenchError(`${CROSS_GCC}: ${r.error.message}`);
  if (r.status !== 0) {
    const hint = /cannot find -lc|\.h: No such file/.test(r.stderr)
      ? '\nthe static riscv64 C library is missing: apt-get install libc6-dev-riscv64-cross'
      : '';
    throw new BenchError(`compiling ${src} failed:\n${r.stderr.trim()}${hint}`);
  }
  return out;
}

/**
 * Write `base` followed by a newc cpio holding /bench/cpubench to `outPath`.
 * The kernel unpacks concatenated archives; an uncompressed cpio that follows
 * a compressed one must start at a 4-byte aligned offset (zero bytes between
 * archives are skipped), so the base is padded with zeros to a multiple of 4.
 */
export function writeCombinedInitrd(baseInitrd: string, cpubench: string, outPath: string): number {
  const base = readFileSync(baseInitrd);
  const extra = writeCpio([
    { name: 'bench', type: 'dir', mode: 0o755 },
    {
      name: 'bench/cpubench',
      type: 'file',
      mode: 0o755,
      data: new Uint8Array(readFileSync(cpubench)),
    },
  ]);
  const pad = (4 - (base.length % 4)) % 4;
  const out = new Uint8Array(base.length + pad + extra.length);
  out.set(base, 0);
  out.set(extra, base.length + pad);
  writeFileSync(outPath, out);
  return out.length;
}

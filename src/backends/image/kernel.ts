/**
 * Build the default guest kernel from Debian's linux-source tarball:
 * allnoconfig + the project's fragment + olddefconfig, verify the fragment
 * stuck, then `make Image` with the riscv64 cross compiler.
 */
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describeMismatches, mergeKconfig, verifyKconfig } from './kconfig.js';
import { ImageBuildError, closeLog, formatDuration, openLog, run, toolEnv } from './proc.js';

export interface KernelBuildOptions {
  tarball: string;
  fragment: string;
  /** Scratch directory (source and objects go here; removed by the caller). */
  workDir: string;
  /** Where Image and config are written. */
  outDir: string;
  logPath: string;
  progress: (line: string) => void;
}

export interface KernelBuildResult {
  image: string;
  /** The linked kernel ELF (symbols for debuggers). */
  vmlinux: string;
  config: string;
  version: string;
}

/** RISC-V Linux Image header: "RSC\x05" at offset 0x38. */
export function isRiscvImage(head: Uint8Array): boolean {
  return (
    head.length >= 0x3c &&
    head[0x38] === 0x52 &&
    head[0x39] === 0x53 &&
    head[0x3a] === 0x43 &&
    head[0x3b] === 0x05
  );
}

const OBJ_STEP = /^\s+(CC|AS|LD|AR|CPP|HOSTCC|HOSTLD|OBJCOPY|GEN|LDS)\s+\S/;

/**
 * Linux 6.12 builds its Zbc (carry-less multiply) CRC32 for riscv into the
 * arch library archive (`lib-y`), so the linker never pulls it in: the weak
 * table-driven versions in lib/crc32.c already satisfy every reference, and
 * ext4's metadata checksums ran the table code (crc32_body was 6.6 % of the
 * Debian image build's guest instructions). Linking it as an object (as
 * later kernels do) lets the strong Zbc versions win; they fall back to the
 * table code by themselves on a CPU without Zbc (`isa=-zbc`).
 */
function linkZbcCrc32(src: string): void {
  const makefile = join(src, 'arch', 'riscv', 'lib', 'Makefile');
  const text = readFileSync(makefile, 'utf8');
  const fixed = text.replace(
    /^lib-\$\(CONFIG_RISCV_ISA_ZBC\)(\s*)\+= crc32\.o$/m,
    'obj-$(CONFIG_RISCV_ISA_ZBC)$1+= crc32.o',
  );
  if (fixed !== text) writeFileSync(makefile, fixed);
}

export async function buildKernel(o: KernelBuildOptions): Promise<KernelBuildResult> {
  const log = openLog(o.logPath);
  const env = toolEnv({ KBUILD_BUILD_USER: 'colinux', KBUILD_BUILD_HOST: 'colinux' });
  const fail = (msg: string, tail: readonly string[] = []): ImageBuildError =>
    new ImageBuildError(
      `colinux: kernel build failed: ${msg}` +
        (tail.length > 0 ? `\n  ${tail.slice(-15).join('\n  ')}` : '') +
        `\nFull build log: ${o.logPath}`,
    );
  try {
    mkdirSync(o.workDir, { recursive: true });
    o.progress(`colinux: unpacking ${o.tarball}`);
    const x = await run('tar', ['-xf', o.tarball, '-C', o.workDir], { env, log });
    if (x.code !== 0) throw fail(`could not unpack ${o.tarball}`, x.tail);
    const tops = readdirSync(o.workDir).filter((n) => n !== 'obj');
    if (tops.length !== 1) throw fail(`unexpected layout in ${o.tarball}: ${tops.join(', ')}`);
    const src = join(o.workDir, tops[0]!);
    const obj = join(o.workDir, 'obj');
    mkdirSync(obj, { recursive: true });
    linkZbcCrc32(src);

    const jobs = Math.max(1, availableParallelism());
    const make = (args: string[], onLine?: (l: string) => void): ReturnType<typeof run> =>
      run(
        'make',
        ['-C', src, `O=${obj}`, 'ARCH=riscv', 'CROSS_COMPILE=riscv64-linux-gnu-', ...args],
        { env, log, onLine, keepTail: 40 },
      );

    o.progress('colinux: configuring kernel (allnoconfig + images/default/kernel.config)');
    let r = await make(['allnoconfig']);
    if (r.code !== 0) throw fail('make allnoconfig', r.tail);
    const cfgPath = join(obj, '.config');
    writeFileSync(cfgPath, mergeKconfig(readFileSync(cfgPath, 'utf8'), o.fragment));
    r = await make(['olddefconfig']);
    if (r.code !== 0) throw fail('make olddefconfig', r.tail);
    const finalCfg = readFileSync(cfgPath, 'utf8');
    const bad = verifyKconfig(o.fragment, finalCfg);
    if (bad.length > 0) {
      const text =
        `these options of images/default/kernel.config did not stick after olddefconfig ` +
        `(missing dependency or conflicting select):\n${describeMismatches(bad)}`;
      log.write(`\n${text}\n`);
      throw fail(text);
    }

    const release = /^# Linux\/\S+ (\S+) Kernel Configuration/m.exec(finalCfg)?.[1] ?? '';
    o.progress(
      `colinux: building kernel ${release} with ${jobs} job(s) (first run only, a few minutes)…`,
    );
    const started = Date.now();
    let steps = 0;
    let lastReport = Date.now();
    r = await make([`-j${jobs}`, 'Image'], (line) => {
      if (!OBJ_STEP.test(line)) return;
      steps++;
      const now = Date.now();
      if (now - lastReport >= 10_000) {
        lastReport = now;
        o.progress(`colinux: kernel: [CC] ${steps} files, ${formatDuration(now - started)}`);
      }
    });
    if (r.code !== 0) throw fail(`make Image exited with ${r.code}`, r.tail);
    o.progress(
      `colinux: kernel built in ${formatDuration(Date.now() - started)} (${steps} build steps)`,
    );
    r = await make(['-s', 'kernelrelease']);
    const version =
      r.tail
        .filter((l) => l.trim() !== '')
        .pop()
        ?.trim() ?? release;

    mkdirSync(o.outDir, { recursive: true });
    const image = join(o.outDir, 'Image');
    const vmlinux = join(o.outDir, 'vmlinux');
    const config = join(o.outDir, 'kernel.config');
    copyFileSync(join(obj, 'arch', 'riscv', 'boot', 'Image'), image);
    copyFileSync(join(obj, 'vmlinux'), vmlinux);
    copyFileSync(cfgPath, config);
    if (!isRiscvImage(readFileSync(image).subarray(0, 64))) {
      throw fail(`${image} has no RISC-V Image header`);
    }
    return { image, vmlinux, config, version };
  } finally {
    await closeLog(log);
  }
}

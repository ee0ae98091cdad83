/**
 * The default guest image: a small Linux kernel built from Debian's
 * linux-source-6.12 with images/default/kernel.config, and an initramfs
 * around Debian trixie's busybox-static for riscv64 plus images/default/init.
 *
 * Built on first use, cached under a content key of the recipe:
 *   <cache>/images/default-<key>/Image
 *   <cache>/images/default-<key>/initramfs.cpio
 *   <cache>/images/default-<key>/vmlinux  (the kernel's ELF with its symbols, for gdb)
 * where <cache> is $COLINUX_CACHE_DIR, else $XDG_CACHE_HOME/colinux, else
 * ~/.cache/colinux.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { downloadPackage, extractDeb, privateApt, RISCV_ARCH, RISCV_SUITE } from './apt.js';
import {
  cacheRoot,
  findRecipeDir,
  freshWorkDir,
  listRecipeDir,
  publishDir,
  recipeKey,
  withLock,
} from './cache.js';
import { ensureHostTools, LINUX_SOURCE_PACKAGE, linuxSourceTarball } from './host.js';
import { readBusybox, writeInitramfs } from './initramfs.js';
import { buildKernel } from './kernel.js';
import { formatDuration, ImageBuildError } from './proc.js';

export { ImageBuildError } from './proc.js';

/** Bump when the builder's output changes for the same recipe files. */
export const BUILDER_VERSION = `default-image/3 ${LINUX_SOURCE_PACKAGE} busybox-static/${RISCV_SUITE}/${RISCV_ARCH}`;

/** Bump when the kernel build's output changes for the same fragment and source package. */
const KERNEL_BUILDER_VERSION = `default-kernel/3 ${LINUX_SOURCE_PACKAGE}`;

export interface DefaultImage {
  /** Path of the kernel (RISC-V Linux `Image` format). */
  kernel: string;
  /** Path of the initramfs (an uncompressed newc cpio). */
  initrd: string;
  /** Path of the kernel's ELF `vmlinux` (symbols, no debug info): `gdb-multiarch vmlinux`. */
  vmlinux: string;
}

export interface EnsureImageOptions {
  /** Cache root; default as described in the module comment. */
  cacheDir?: string;
  /** Receives human-readable progress lines (no trailing newline). */
  onProgress?: (line: string) => void;
  /** Build again even if a cached image exists. */
  rebuild?: boolean;
}

export interface DefaultImageLocation extends DefaultImage {
  /** Content key (sha256 hex) of the recipe. */
  key: string;
  /** Directory holding kernel, initrd, kernel.config and manifest.json. */
  dir: string;
  /** Whether a complete image is present there. */
  built: boolean;
}

/** Directory holding kernel.config and init/ (images/default in the package). */
export function defaultRecipeDir(): string {
  return findRecipeDir('default', 'kernel.config');
}

function recipe(): { fragment: string; init: ReturnType<typeof listRecipeDir>; key: string } {
  const dir = defaultRecipeDir();
  const fragment = readFileSync(join(dir, 'kernel.config'), 'utf8');
  const init = listRecipeDir(join(dir, 'init'));
  // The image holds the kernel: a new kernel build is a new image.
  const key = recipeKey(
    `${BUILDER_VERSION} ${KERNEL_BUILDER_VERSION}`,
    { 'kernel.config': fragment },
    { init },
  );
  return { fragment, init, key };
}

const KERNEL_NAME = 'Image';
const INITRD_NAME = 'initramfs.cpio';
const VMLINUX_NAME = 'vmlinux';
const MANIFEST_NAME = 'manifest.json';

function locate(root: string, key: string): DefaultImageLocation {
  const dir = join(root, 'images', `default-${key.slice(0, 16)}`);
  const kernel = join(dir, KERNEL_NAME);
  const initrd = join(dir, INITRD_NAME);
  const vmlinux = join(dir, VMLINUX_NAME);
  const built = [kernel, initrd, vmlinux, join(dir, MANIFEST_NAME)].every((p) => existsSync(p));
  return { key, dir, kernel, initrd, vmlinux, built };
}

/** Where the default image for the current recipe is (or would be) cached. */
export function defaultImageLocation(opts: { cacheDir?: string } = {}): DefaultImageLocation {
  return locate(opts.cacheDir ?? cacheRoot(), recipe().key);
}

/**
 * Paths of the cached default kernel and initramfs, building them first if
 * they are missing (or if `rebuild` is set). Concurrent callers, also in
 * other processes, build once: the others wait for the lock and reuse it.
 */
export async function ensureDefaultImage(opts: EnsureImageOptions = {}): Promise<DefaultImage> {
  const progress = opts.onProgress ?? ((): void => {});
  const root = opts.cacheDir ?? cacheRoot();
  const r = recipe();
  let loc = locate(root, r.key);
  if (loc.built && opts.rebuild !== true) {
    return { kernel: loc.kernel, initrd: loc.initrd, vmlinux: loc.vmlinux };
  }

  const imagesDir = join(root, 'images');
  mkdirSync(imagesDir, { recursive: true });
  const short = r.key.slice(0, 16);
  const lockPath = join(imagesDir, `default-${short}.lock`);
  let waited = false;
  return withLock(
    lockPath,
    (holder) => {
      waited = true;
      progress(`colinux: waiting for another build of the default image (${holder})…`);
    },
    async () => {
      loc = locate(root, r.key);
      // Someone else finished while we waited; that fresh build also serves
      // a rebuild request.
      if (loc.built && (opts.rebuild !== true || waited)) {
        return { kernel: loc.kernel, initrd: loc.initrd, vmlinux: loc.vmlinux };
      }
      await build(root, r, short, progress);
      loc = locate(root, r.key);
      return { kernel: loc.kernel, initrd: loc.initrd, vmlinux: loc.vmlinux };
    },
  );
}

interface CachedKernel {
  image: string;
  vmlinux: string;
  config: string;
  version: string;
}

/**
 * The compiled kernel for `fragment`, cached on its own under
 * <cache>/kernels/<key>/ (key: the fragment and the source package only), so
 * a change to the init files alone rebuilds the initramfs in seconds and
 * reuses the kernel. Builds hold a lock of their own (concurrent callers build
 * once) and publish atomically, so a half-built kernel is never reused.
 */
async function ensureKernel(
  root: string,
  fragment: string,
  tarball: string,
  progress: (line: string) => void,
): Promise<CachedKernel> {
  const key = recipeKey(KERNEL_BUILDER_VERSION, { 'kernel.config': fragment }, {});
  const short = key.slice(0, 16);
  const kernelsDir = join(root, 'kernels');
  const dir = join(kernelsDir, `kernel-${short}`);
  const image = join(dir, KERNEL_NAME);
  const vmlinux = join(dir, VMLINUX_NAME);
  const config = join(dir, 'kernel.config');
  const manifest = join(dir, MANIFEST_NAME);
  const read = (): CachedKernel | undefined => {
    if (![image, vmlinux, config, manifest].every((p) => existsSync(p))) return undefined;
    try {
      const m = JSON.parse(readFileSync(manifest, 'utf8')) as { key?: unknown; release?: unknown };
      if (m.key !== key || typeof m.release !== 'string') return undefined;
      return { image, vmlinux, config, version: m.release };
    } catch {
      return undefined;
    }
  };
  const cached = read();
  if (cached) {
    progress(`colinux: reusing the compiled kernel ${cached.version} (${dir})`);
    return cached;
  }
  mkdirSync(kernelsDir, { recursive: true });
  return withLock(
    join(kernelsDir, `kernel-${short}.lock`),
    (holder) => progress(`colinux: waiting for another build of this kernel (${holder})…`),
    async () => read() ?? buildKernelInto(),
  );

  async function buildKernelInto(): Promise<CachedKernel> {
    const work = freshWorkDir(kernelsDir, `kernel-${short}`);
    const out = join(work, 'out');
    const logsDir = join(root, 'logs');
    mkdirSync(logsDir, { recursive: true });
    const kernelLog = join(logsDir, `kernel-${short}.log`);
    writeFileSync(kernelLog, `colinux kernel build log, ${new Date().toISOString()}\n`);
    try {
      const k = await buildKernel({
        tarball,
        fragment,
        workDir: join(work, 'linux'),
        outDir: out,
        logPath: kernelLog,
        progress,
      });
      writeFileSync(
        join(out, MANIFEST_NAME),
        JSON.stringify(
          { key, builder: KERNEL_BUILDER_VERSION, release: k.version, source: tarball },
          null,
          2,
        ) + '\n',
      );
      publishDir(out, dir);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    const built = read();
    if (!built) throw new ImageBuildError(`colinux: the kernel built into ${dir} is incomplete`);
    return built;
  }
}

async function build(
  root: string,
  r: ReturnType<typeof recipe>,
  short: string,
  progress: (line: string) => void,
): Promise<void> {
  const started = Date.now();
  const imagesDir = join(root, 'images');
  const logsDir = join(root, 'logs');
  mkdirSync(logsDir, { recursive: true });
  // Leftovers of interrupted builds of this recipe (we hold its lock).
  const work = freshWorkDir(imagesDir, `default-${short}`, [`default-${short}.old-`]);
  const out = join(work, 'out');
  mkdirSync(out, { recursive: true });
  progress('colinux: building the default guest image (first run only, a few minutes)…');
  try {
    await ensureHostTools(progress);

    // busybox-static for riscv64, through the private apt configuration.
    const aptLog = join(logsDir, `default-${short}-apt.log`);
    writeFileSync(aptLog, `colinux apt log, ${new Date().toISOString()}\n`);
    const apt = privateApt(join(root, 'apt', `${RISCV_SUITE}-${RISCV_ARCH}`));
    const bb = await downloadPackage(apt, 'busybox-static', join(work, 'deb'), aptLog, progress);
    await extractDeb(bb.deb, join(work, 'busybox'));
    const busybox = readBusybox(join(work, 'busybox'));
    progress(`colinux: busybox-static ${bb.version} (${RISCV_ARCH}, ${RISCV_SUITE})`);

    const initrd = writeInitramfs(join(out, INITRD_NAME), { busybox, initFiles: r.init });
    progress(
      `colinux: initramfs: ${initrd.entries} entries, ${(initrd.bytes / 1024).toFixed(0)} KiB`,
    );

    const tarball = linuxSourceTarball();
    const k = await ensureKernel(root, r.fragment, tarball, progress);
    copyFileSync(k.image, join(out, KERNEL_NAME));
    copyFileSync(k.vmlinux, join(out, VMLINUX_NAME));
    copyFileSync(k.config, join(out, 'kernel.config'));

    const manifest = {
      recipe: 'default',
      key: r.key,
      builder: BUILDER_VERSION,
      kernel: { file: KERNEL_NAME, release: k.version, source: tarball },
      initrd: {
        file: INITRD_NAME,
        busybox: bb.version,
        mirror: apt.mirror,
        keyrings: apt.keyrings,
      },
      builtAt: new Date().toISOString(),
      buildSeconds: Math.round((Date.now() - started) / 1000),
    };
    writeFileSync(join(out, MANIFEST_NAME), JSON.stringify(manifest, null, 2) + '\n');
    publishDir(out, locate(root, r.key).dir);
    progress(
      `colinux: default guest image ready in ${formatDuration(Date.now() - started)}: ${locate(root, r.key).dir}`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

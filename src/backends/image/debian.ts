/**
 * The Debian root disk: `colinux image build debian`.
 *
 * A Debian trixie riscv64 ext4 image (4 GiB, sparse) made from Debian
 * packages:
 *   1. on the host, debootstrap's first stage (`--foreign`: download and
 *      unpack minbase plus images/debian/packages), through the mirror of the
 *      system's apt sources and the trixie archive keys;
 *   2. `mke2fs -d` turns that tree into the ext4 image;
 *   3. colinux itself boots the default kernel on the image with
 *      init=/colinux-stage2 (images/debian/stage2), which runs debootstrap's
 *      second stage (the packages' maintainer scripts, in the emulated
 *      RISC-V machine), copies images/debian/root/ in, and powers off.
 *
 * The result is cached like the default image, under a key of the recipe:
 *   <cache>/images/debian-<key>/disk.img  (+ manifest.json)
 * Boot it with `colinux run cobd0=<disk.img>,cow root=/dev/cobd0` (the
 * overlay keeps the cached image pristine), or copy it first.
 *
 * Building needs root on the host (debootstrap creates device nodes and
 * root-owned files); as root, missing host tools (debootstrap, e2fsprogs)
 * are installed with apt-get.
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  cpSync,
  truncateSync,
} from 'node:fs';
import { join } from 'node:path';
import { debianMirror, RISCV_ARCH, RISCV_SUITE, trixieKeyrings } from './apt.js';
import {
  cacheRoot,
  findRecipeDir,
  freshWorkDir,
  listRecipeDir,
  publishDir,
  recipeKey,
  withLock,
} from './cache.js';
import { closeLog, formatDuration, ImageBuildError, openLog, run, toolEnv, which } from './proc.js';
import { ensureDefaultImage, type EnsureImageOptions } from './index.js';
import { Machine } from '../../machine/machine.js';
import { virtioBlk } from '../../devices/virtio/blk.js';
import { openDisk } from '../block/index.js';

/** Bump when the builder's output changes for the same recipe files. */
export const DEBIAN_BUILDER_VERSION = `debian-image/1 ${RISCV_SUITE}/${RISCV_ARCH} minbase sysvinit`;
export const DEBIAN_DISK_BYTES = 4 * 2 ** 30;
const DISK_NAME = 'disk.img';
const MANIFEST_NAME = 'manifest.json';
/** Guest RAM for the second stage (dpkg likes some). */
export const STAGE2_MEM_MIB = 1024;
const STAGE2_OK = 'COLINUX-STAGE2-OK';
const STAGE2_TIMEOUT_MS = 4 * 3600_000;

export interface DebianImage {
  /** The ext4 root disk image (boot with root=/dev/vda). */
  disk: string;
}

export interface DebianImageLocation extends DebianImage {
  key: string;
  dir: string;
  built: boolean;
}

/** images/debian in the package. */
export function debianRecipeDir(): string {
  return findRecipeDir('debian', 'packages');
}

interface Recipe {
  dir: string;
  packages: string[];
  key: string;
}

/** Package names from a packages file (comments and blank lines ignored). */
export function parsePackageList(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter((l) => l !== '');
}

function recipe(): Recipe {
  const dir = debianRecipeDir();
  const packagesText = readFileSync(join(dir, 'packages'), 'utf8');
  const stage2 = readFileSync(join(dir, 'stage2'));
  const key = recipeKey(
    DEBIAN_BUILDER_VERSION,
    { packages: packagesText, stage2, size: String(DEBIAN_DISK_BYTES) },
    { root: listRecipeDir(join(dir, 'root')) },
  );
  return { dir, packages: parsePackageList(packagesText), key };
}

function locate(root: string, key: string): DebianImageLocation {
  const dir = join(root, 'images', `debian-${key.slice(0, 16)}`);
  const disk = join(dir, DISK_NAME);
  const built = existsSync(disk) && existsSync(join(dir, MANIFEST_NAME));
  return { key, dir, disk, built };
}

/** Where the Debian image for the current recipe is (or would be) cached. */
export function debianImageLocation(opts: { cacheDir?: string } = {}): DebianImageLocation {
  return locate(opts.cacheDir ?? cacheRoot(), recipe().key);
}

/** The cached Debian root disk, built first if missing (or with `rebuild`). */
export async function ensureDebianImage(opts: EnsureImageOptions = {}): Promise<DebianImage> {
  const progress = opts.onProgress ?? ((): void => {});
  const root = opts.cacheDir ?? cacheRoot();
  const r = recipe();
  let loc = locate(root, r.key);
  if (loc.built && opts.rebuild !== true) return { disk: loc.disk };
  const imagesDir = join(root, 'images');
  mkdirSync(imagesDir, { recursive: true });
  const short = r.key.slice(0, 16);
  let waited = false;
  return withLock(
    join(imagesDir, `debian-${short}.lock`),
    (holder) => {
      waited = true;
      progress(`colinux: waiting for another build of the Debian image (${holder})…`);
    },
    async () => {
      loc = locate(root, r.key);
      if (loc.built && (opts.rebuild !== true || waited)) return { disk: loc.disk };
      await build(root, r, short, progress, opts.cacheDir);
      return { disk: locate(root, r.key).disk };
    },
  );
}

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

async function ensureTools(progress: (line: string) => void): Promise<void> {
  const need: Array<[string, string]> = [
    ['debootstrap', 'debootstrap'],
    ['mke2fs', 'e2fsprogs'],
    ['e2fsck', 'e2fsprogs'],
  ];
  const missing = [...new Set(need.filter(([tool]) => !which(tool)).map(([, pkg]) => pkg))];
  if (missing.length === 0) return;
  progress(`colinux: installing host packages: ${missing.join(' ')}`);
  const env = toolEnv({ DEBIAN_FRONTEND: 'noninteractive' });
  let r = await run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env });
  if (r.code !== 0) {
    await run('apt-get', ['update'], { env });
    r = await run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env });
  }
  if (r.code !== 0 || need.some(([tool]) => !which(tool))) {
    throw new ImageBuildError(
      `colinux: could not install ${missing.join(' ')}; try: sudo apt-get install -y ${missing.join(' ')}`,
    );
  }
}

async function build(
  root: string,
  r: Recipe,
  short: string,
  progress: (line: string) => void,
  cacheDir: string | undefined,
): Promise<void> {
  if (!isRoot()) {
    throw new ImageBuildError(
      'colinux: building the Debian image needs root (debootstrap creates device nodes and root-owned files); run: sudo colinux image build debian',
    );
  }
  const started = Date.now();
  const imagesDir = join(root, 'images');
  const logsDir = join(root, 'logs');
  mkdirSync(logsDir, { recursive: true });
  const work = freshWorkDir(imagesDir, `debian-${short}`);
  const rootfs = join(work, 'rootfs');
  const out = join(work, 'out');
  mkdirSync(out, { recursive: true });
  const logPath = join(logsDir, `debian-${short}.log`);
  writeFileSync(logPath, `colinux Debian image build log, ${new Date().toISOString()}\n`);
  const log = openLog(logPath);
  progress(
    `colinux: building the Debian ${RISCV_SUITE} ${RISCV_ARCH} root disk (log: ${logPath})…`,
  );
  try {
    await ensureTools(progress);
    const kernel = (await ensureDefaultImage({ onProgress: progress, cacheDir })).kernel;

    // 1. debootstrap, first stage.
    const mirror = debianMirror();
    const keyring = join(work, 'trixie-archive.gpg');
    writeFileSync(keyring, Buffer.concat(trixieKeyrings().map((k) => readFileSync(k))));
    progress(`colinux: debootstrap (first stage) from ${mirror}`);
    const t1 = Date.now();
    const ds = await run(
      'debootstrap',
      [
        '--foreign',
        `--arch=${RISCV_ARCH}`,
        '--variant=minbase',
        `--include=${r.packages.join(',')}`,
        `--keyring=${keyring}`,
        RISCV_SUITE,
        rootfs,
        mirror,
      ],
      {
        env: toolEnv(),
        log,
        onLine: (l) => {
          if (
            /^I: (Retrieving|Validating|Extracting) (Release|Packages)|^I: Resolving|^I: Found|^I: Base system/.test(
              l,
            )
          )
            progress(`  ${l}`);
        },
      },
    );
    if (ds.code !== 0) {
      throw new ImageBuildError(
        `colinux: debootstrap failed (exit ${ds.code}); last lines:\n  ${ds.tail.slice(-12).join('\n  ')}\nfull log: ${logPath}`,
      );
    }
    progress(`colinux: first stage done in ${formatDuration(Date.now() - t1)}`);
    const trimmed = trimPackageIndex(rootfs);
    log.write(
      `colinux: package index for the second stage: ${trimmed.before} → ${trimmed.after} bytes (${trimmed.kept} stanzas)\n`,
    );

    // What the second stage needs.
    cpSync(join(r.dir, 'stage2'), join(rootfs, 'colinux-stage2'));
    const stage2d = join(rootfs, 'colinux-stage2.d');
    mkdirSync(stage2d, { recursive: true });
    cpSync(join(r.dir, 'root'), join(stage2d, 'root'), { recursive: true });
    writeFileSync(
      join(stage2d, 'debian.sources'),
      [
        `Types: deb`,
        `URIs: ${mirror}`,
        `Suites: ${RISCV_SUITE} ${RISCV_SUITE}-updates`,
        `Components: main`,
        `Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg`,
        '',
      ].join('\n'),
    );

    // 2. The ext4 image.
    const disk = join(out, DISK_NAME);
    writeFileSync(disk, '');
    truncateSync(disk, DEBIAN_DISK_BYTES);
    const mk = await run(
      'mke2fs',
      ['-q', '-F', '-t', 'ext4', '-L', 'colinux-root', '-d', rootfs, disk],
      { env: toolEnv(), log },
    );
    if (mk.code !== 0) {
      throw new ImageBuildError(`colinux: mke2fs failed: ${mk.tail.slice(-5).join(' ')}`);
    }
    rmSync(rootfs, { recursive: true, force: true });

    // 3. Second stage inside colinux.
    progress(
      'colinux: debootstrap second stage, inside colinux (the packages configure themselves)…',
    );
    const t2 = Date.now();
    const consoleText = await secondStage(kernel, disk, (line) => {
      log.write(line + '\n');
      // Phases, and each package configured (libraries aside): enough to see it move.
      if (
        /^I: (Installing core packages|Unpacking (required packages|the base system)|Configuring (required packages|the base system)|Base system installed)/.test(
          line,
        ) ||
        (/^I: Configuring [^.]+\.\.\.$/.test(line) && !/^I: Configuring lib/.test(line))
      )
        progress(`  ${line.trim()}`);
    });
    if (!consoleText.includes(STAGE2_OK)) {
      throw new ImageBuildError(
        `colinux: the second stage inside colinux failed; last console lines:\n  ${consoleText.trim().split('\n').slice(-15).join('\n  ')}\nfull log: ${logPath}`,
      );
    }
    progress(`colinux: second stage done in ${formatDuration(Date.now() - t2)}`);
    // Replay anything left in the journal (there should be nothing), then
    // insist on a clean check.
    await run('e2fsck', ['-fp', disk], { env: toolEnv(), log });
    const fsck = await run('e2fsck', ['-fn', disk], { env: toolEnv(), log });
    if (fsck.code !== 0) {
      throw new ImageBuildError(
        `colinux: the new image does not pass e2fsck -fn:\n  ${fsck.tail.slice(-8).join('\n  ')}\nfull log: ${logPath}`,
      );
    }

    const manifest = {
      recipe: 'debian',
      key: r.key,
      builder: DEBIAN_BUILDER_VERSION,
      disk: { file: DISK_NAME, bytes: DEBIAN_DISK_BYTES, filesystem: 'ext4', root: '/dev/vda' },
      suite: RISCV_SUITE,
      arch: RISCV_ARCH,
      init: 'sysvinit',
      packages: r.packages,
      mirror,
      builtAt: new Date().toISOString(),
      buildSeconds: Math.round((Date.now() - started) / 1000),
    };
    writeFileSync(join(out, MANIFEST_NAME), JSON.stringify(manifest, null, 2) + '\n');
    publishDir(out, locate(root, r.key).dir);
    progress(
      `colinux: Debian root disk ready in ${formatDuration(Date.now() - started)}: ${locate(root, r.key).disk}`,
    );
  } finally {
    await closeLog(log);
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Keep, in the first stage's copy of the archive's package index, only the
 * stanzas of the packages it downloaded. The second stage reads that index
 * whole many times over (debootstrap's resolve_deps runs grep and perl on
 * it for every pre-dependency): trixie's riscv64 index is 54 MB, and
 * reading it was two thirds of the second stage's guest instructions.
 * The first stage already resolved the package set with the full index, and
 * the second only installs downloaded packages (debootstrap's debfor), so
 * what it installs does not change; the index is deleted at the end anyway.
 */
export function trimPackageIndex(rootfs: string): { before: number; after: number; kept: number } {
  const debpaths = readFileSync(join(rootfs, 'debootstrap', 'debpaths'), 'utf8');
  const wanted = new Set(
    debpaths
      .split('\n')
      .map((l) => l.split(' ')[0]!)
      .filter(Boolean),
  );
  const lists = join(rootfs, 'var', 'lib', 'apt', 'lists');
  let before = 0;
  let after = 0;
  let kept = 0;
  for (const name of readdirSync(lists)) {
    if (!name.endsWith('_Packages')) continue;
    const file = join(lists, name);
    const text = readFileSync(file, 'utf8');
    const stanzas = text.split(/\n\n+/).filter((st) => {
      const pkg = /^Package: *(\S+)/m.exec(st)?.[1];
      return pkg !== undefined && wanted.has(pkg);
    });
    const out = stanzas.map((st) => st.trim() + '\n\n').join('');
    writeFileSync(file, out);
    before += Buffer.byteLength(text);
    after += Buffer.byteLength(out);
    kept += stanzas.length;
  }
  return { before, after, kept };
}

/** Boot the default kernel on `disk` with init=/colinux-stage2; returns the console text. */
async function secondStage(
  kernelPath: string,
  diskPath: string,
  onLine: (line: string) => void,
): Promise<string> {
  const disk = await openDisk({ name: 'debian image', path: diskPath });
  let text = '';
  let partial = '';
  let okSeen = false;
  const decoder = new TextDecoder();
  try {
    const machine = new Machine({
      memMiB: STAGE2_MEM_MIB,
      kernel: new Uint8Array(readFileSync(kernelPath)),
      cmdline: 'console=ttyS0 earlycon=sbi root=/dev/vda rw init=/colinux-stage2',
      virtio: [virtioBlk(disk, { id: 'cobd0' })],
      onOutput: (bytes) => {
        const s = decoder.decode(bytes, { stream: true });
        text += s;
        // Done: it powers off by itself; if it does not within a minute, stop it.
        if (!okSeen && text.includes(STAGE2_OK)) {
          okSeen = true;
          setTimeout(() => machine.stop('stopped'), 60_000).unref();
        }
        if (text.length > 1 << 20) text = text.slice(-(1 << 19));
        const lines = (partial + s).split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines) onLine(l.replace(/\r$/, ''));
      },
    });
    const guard = setTimeout(
      () => machine.stop('timeout', 1, 'the second stage took longer than 4 hours'),
      STAGE2_TIMEOUT_MS,
    );
    guard.unref();
    const exit = await machine.run().finally(() => clearTimeout(guard));
    if (partial) onLine(partial);
    if (exit.reason !== 'poweroff' && !okSeen)
      text += `\n(colinux: the VM stopped: ${exit.reason} ${exit.message ?? ''})\n`;
    return text;
  } finally {
    await disk.close();
  }
}

/**
 * Host tools the default image needs, and installing the missing ones with
 * the system's apt-get when we are root.
 */
import { existsSync } from 'node:fs';
import { ImageBuildError, run, toolEnv, which } from './proc.js';

export const LINUX_SOURCE_PACKAGE = 'linux-source-6.12';

/** Path of the Debian kernel source tarball (override: $COLINUX_LINUX_SOURCE). */
export function linuxSourceTarball(): string {
  const env = process.env['COLINUX_LINUX_SOURCE'];
  if (env !== undefined && env !== '') return env;
  for (const ext of ['tar.xz', 'tar.bz2', 'tar.gz']) {
    const p = `/usr/src/${LINUX_SOURCE_PACKAGE}.${ext}`;
    if (existsSync(p)) return p;
  }
  return `/usr/src/${LINUX_SOURCE_PACKAGE}.tar.xz`;
}

/** A host tool and the Debian package that provides it. */
export interface Requirement {
  what: string;
  pkg: string;
  present: () => boolean;
}

/** The command `name` on PATH, from Debian package `pkg`. */
export const tool = (name: string, pkg: string): Requirement => ({
  what: name,
  pkg,
  present: () => which(name) !== undefined,
});

function requirements(): Requirement[] {
  return [
    tool('riscv64-linux-gnu-gcc', 'gcc-riscv64-linux-gnu'),
    tool('riscv64-linux-gnu-ld', 'binutils-riscv64-linux-gnu'),
    tool('gcc', 'gcc'),
    tool('make', 'make'),
    tool('flex', 'flex'),
    tool('bison', 'bison'),
    tool('bc', 'bc'),
    tool('tar', 'tar'),
    tool('xz', 'xz-utils'),
    tool('apt-get', 'apt'),
    tool('dpkg-deb', 'dpkg'),
    {
      what: 'C library headers',
      pkg: 'libc6-dev',
      present: () => existsSync('/usr/include/stdio.h'),
    },
    {
      what: `kernel source (${linuxSourceTarball()})`,
      pkg: LINUX_SOURCE_PACKAGE,
      present: () => existsSync(linuxSourceTarball()),
    },
  ];
}

/** Debian packages providing the missing host tools (empty: all present). */
export function missingHostPackages(reqs: Requirement[] = requirements()): {
  pkgs: string[];
  what: string[];
} {
  const missing = reqs.filter((r) => !r.present());
  return {
    pkgs: [...new Set(missing.map((r) => r.pkg))],
    what: missing.map((r) => r.what),
  };
}

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

/**
 * Make sure every host tool is there. As root, install what is missing with
 * apt-get (running `apt-get update` and retrying once if the install fails);
 * otherwise fail with the exact command to run.
 */
export async function ensureHostTools(progress: (line: string) => void): Promise<void> {
  const { pkgs, what } = missingHostPackages();
  if (pkgs.length === 0) return;
  if (pkgs.includes('apt') || !isRoot()) {
    throw new ImageBuildError(
      `colinux: building the default image needs host tools that are missing (${what.join(', ')}).\n` +
        `Install them with:\n  sudo apt-get install -y ${pkgs.join(' ')}`,
    );
  }
  const r = await aptInstall(pkgs, progress);
  const still = missingHostPackages();
  if (r.code !== 0 || still.pkgs.length > 0) {
    throw new ImageBuildError(
      `colinux: could not install host packages (${still.what.join(', ') || pkgs.join(', ')}).\n` +
        `apt-get said:\n  ${r.tail.slice(-10).join('\n  ')}\n` +
        `Try by hand:\n  sudo apt-get install -y ${pkgs.join(' ')}`,
    );
  }
}

/**
 * apt-get install `pkgs` (as root), running `apt-get update` and retrying
 * once if the install fails.
 */
async function aptInstall(
  pkgs: string[],
  progress: (line: string) => void,
): ReturnType<typeof run> {
  progress(`colinux: installing host packages: ${pkgs.join(' ')}`);
  const env = toolEnv({ DEBIAN_FRONTEND: 'noninteractive' });
  const onLine = (l: string): void => {
    if (l.trim() !== '') progress(`  apt: ${l}`);
  };
  const install = (): ReturnType<typeof run> =>
    run('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], { env, onLine });
  let r = await install();
  if (r.code !== 0) {
    progress('colinux: apt-get install failed; running apt-get update and retrying');
    await run('apt-get', ['update'], { env, onLine });
    r = await install();
  }
  return r;
}

/**
 * Tools that are useful but not required (`reqs`): as root, install the
 * missing ones; otherwise, or if that fails, say what `without` means and
 * how to install them. Returns whether all are present.
 */
export async function ensureOptionalTools(
  reqs: Requirement[],
  without: string,
  progress: (line: string) => void,
): Promise<boolean> {
  const { pkgs } = missingHostPackages(reqs);
  if (pkgs.length === 0) return true;
  if (isRoot()) {
    try {
      await aptInstall(pkgs, progress);
    } catch {
      // No apt-get: said below, with the packages to install.
    }
  }
  const still = missingHostPackages(reqs).pkgs;
  if (still.length === 0) return true;
  progress(`colinux: ${without}; install with: sudo apt-get install -y ${still.join(' ')}`);
  return false;
}

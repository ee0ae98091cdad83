// Part of `npm test`: finds (or, on a fresh machine, builds) the guest images
// the tests boot, before `node --test` starts. A first build takes minutes
// (the default image) to half an hour (the Debian disk); done here, it is
// not cut short by the per-file test timeout, which guards against hangs.
import process from 'node:process';
import { spawnSync } from 'node:child_process';
import { ensureDefaultImage } from '../dist/src/backends/image/index.js';
import { debianImageLocation, ensureDebianImage } from '../dist/src/backends/image/debian.js';

const log = (line) => process.stderr.write(`${line}\n`);

/**
 * Host tools that only some tests use to cross-check our own code (cpio
 * reads the initramfs writer's output, dtc decodes our device trees). As
 * root they are installed, so those tests run instead of skipping.
 */
function ensureTestTools() {
  const missing = [
    ['cpio', 'cpio'],
    ['dtc', 'device-tree-compiler'],
  ].filter(([tool]) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
  if (missing.length === 0) return;
  const pkgs = missing.map(([, pkg]) => pkg);
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    log(
      `test images: the tests that need ${pkgs.join(', ')} will skip; install: sudo apt-get install -y ${pkgs.join(' ')}`,
    );
    return;
  }
  log(`test images: installing ${pkgs.join(' ')}…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], {
      env,
      stdio: 'inherit',
    });
  if (install().status !== 0) {
    spawnSync('apt-get', ['update'], { env, stdio: 'inherit' });
    if (install().status !== 0)
      log(`test images: could not install ${pkgs.join(' ')}; those tests will skip`);
  }
}

try {
  ensureTestTools();
  await ensureDefaultImage({ onProgress: log });
  if (!debianImageLocation().built) {
    if (typeof process.getuid === 'function' && process.getuid() !== 0) {
      log(
        'test images: no Debian disk is cached and building one needs root, so the Debian ' +
          'tests will skip; build it with: sudo colinux image build debian',
      );
    } else {
      log('test images: building the Debian root disk once (20–30 min on 2 cores)…');
      await ensureDebianImage({ onProgress: log });
    }
  }
} catch (e) {
  log(`test images: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}

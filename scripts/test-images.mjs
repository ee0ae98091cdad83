// Part of `npm test`: finds (or, on a fresh machine, builds) the guest images
// the tests boot, before `node --test` starts. A first build takes minutes
// (the default image) to half an hour (the Debian disk); done here, it is
// not cut short by the per-file test timeout, which guards against hangs.
import process from 'node:process';
import { ensureDefaultImage } from '../dist/src/backends/image/index.js';
import { ensureOptionalTools, tool } from '../dist/src/backends/image/host.js';
import { debianImageLocation, ensureDebianImage } from '../dist/src/backends/image/debian.js';

const log = (line) => process.stderr.write(`${line}\n`);

/**
 * Host tools that only some tests use to cross-check our own code (cpio
 * reads the initramfs writer's output, dtc decodes our device trees, the
 * real gdb drives the GDB stub); as root they are installed, so those
 * tests run instead of skipping.
 */
const TEST_TOOLS = [
  tool('cpio', 'cpio'),
  tool('dtc', 'device-tree-compiler'),
  tool('gdb-multiarch', 'gdb-multiarch'),
];

try {
  await ensureOptionalTools(
    TEST_TOOLS,
    'the tests that need cpio, dtc and gdb-multiarch will skip',
    log,
  );
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

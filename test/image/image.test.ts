/**
 * Builds (first run: a few minutes) or reuses the cached default guest image
 * and checks what is in it. Set COLINUX_SKIP_IMAGE_BUILD=1 to skip.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { readCpio } from '../../src/backends/image/cpio.js';
import { ensureDefaultImage } from '../../src/backends/image/index.js';

const skip = process.env['COLINUX_SKIP_IMAGE_BUILD'] === '1' && 'COLINUX_SKIP_IMAGE_BUILD=1';

test('default image: kernel Image and initramfs', { skip }, async () => {
  const img = await ensureDefaultImage({ onProgress: (l) => process.stderr.write(`# ${l}\n`) });

  const kernel = readFileSync(img.kernel);
  assert.ok(kernel.length > 1_000_000, 'kernel Image is suspiciously small');
  assert.equal(
    kernel.subarray(0x38, 0x3c).toString('latin1'),
    'RSC\x05',
    'RISC-V Image magic at 0x38',
  );

  const raw = readFileSync(img.initrd);
  const cpio = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
  const members = new Map(readCpio(cpio).map((m) => [m.name, m]));
  const S_IFMT = 0o170000;
  const isFile = (n: string): boolean => (members.get(n)?.mode ?? 0) >> 12 === 0o10;
  const isLink = (n: string): boolean => ((members.get(n)?.mode ?? 0) & S_IFMT) === 0o120000;

  assert.ok(members.has('init') || members.has('sbin/init'), '/init or /sbin/init');
  assert.ok(isFile('bin/busybox'), '/bin/busybox is a regular file');
  const bb = members.get('bin/busybox')!.data;
  assert.equal(Buffer.from(bb.subarray(0, 4)).toString('latin1'), '\x7fELF');
  assert.equal(bb[4], 2, 'ELFCLASS64');
  assert.equal(bb[18]! | (bb[19]! << 8), 243, 'e_machine EM_RISCV');
  assert.equal((members.get('bin/busybox')!.mode & 0o111) !== 0, true, 'busybox executable');

  assert.ok(isFile('etc/inittab'), '/etc/inittab');
  assert.match(new TextDecoder().decode(members.get('etc/inittab')!.data), /::sysinit:/);
  for (const applet of [
    'bin/sh',
    'bin/mount',
    'bin/poweroff',
    'bin/cttyhack',
    'bin/base64',
    'bin/stty',
  ]) {
    assert.ok(isLink(applet), `${applet} -> busybox`);
  }
  assert.equal(
    (members.get('dev/console')?.mode ?? 0) & S_IFMT,
    0o020000,
    '/dev/console char device',
  );
  const rcs = members.get('etc/init.d/rcS');
  assert.ok(rcs !== undefined && (rcs.mode & 0o111) !== 0, 'rcS executable');

  // A second call is served from the cache, with the same paths.
  const again = await ensureDefaultImage();
  assert.deepEqual(again, img);
});

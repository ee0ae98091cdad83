/**
 * The Debian root disk (`colinux image build debian`) boots with coLinux's
 * syntax: `colinux run cobd0=<image> root=/dev/cobd0`.
 *
 * The image is cached (<cache>/images/debian-<key>/); building it takes long
 * (debootstrap's second stage runs inside colinux) and needs root, so these
 * tests skip when it is not cached (CI caches it; COLINUX_TEST_BUILD_DEBIAN=1
 * builds it first).
 * The guest writes go to an overlay, so the cached image stays pristine.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureDebianImage, debianImageLocation } from '../../src/backends/image/debian.js';
import { runCli } from '../helpers/colinux.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'colinux-debian-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

let disk: string | undefined;
let why = '';

before(async () => {
  // Building takes long (the second stage runs in the emulated machine), so
  // `npm test` only uses a cached image; COLINUX_TEST_BUILD_DEBIAN=1 builds it.
  const cached = debianImageLocation();
  if (cached.built) {
    disk = cached.disk;
    return;
  }
  if (process.env['COLINUX_TEST_BUILD_DEBIAN'] !== '1') {
    why = 'no cached Debian image; build it with: sudo colinux image build debian';
    return;
  }
  disk = (await ensureDebianImage({ onProgress: (l) => process.stderr.write(`${l}\n`) })).disk;
});

test('Debian boots from cobd0 with root=/dev/cobd0: sysvinit, apt sources, dbench, DHCP on eth0', async (t) => {
  if (!disk) return t.skip(why);
  const ov = path.join(dir, 'a.cow');
  const r = await runCli(
    [
      'run',
      `cobd0=${disk},cow=${ov}`,
      'root=/dev/cobd0',
      'eth0=slirp',
      '--cmd',
      [
        'echo "version $(cat /etc/debian_version)"',
        'echo "user $(id -un)"',
        'echo "init $(readlink -f /sbin/init)"',
        'echo "root $(findmnt -no SOURCE,FSTYPE,OPTIONS / | cut -d, -f1)"',
        'grep -h "^Suites:" /etc/apt/sources.list.d/*.sources',
        'command -v dbench',
        'ip -color=never -4 -o addr show eth0 | sed -n "s/.* inet \\([0-9.]*\\).*/eth0 \\1/p"',
        'ip -color=never route | sed -n "s/^default via \\([0-9.]*\\).*/gateway \\1/p"',
      ].join('; '),
    ],
    { killAfterMs: 20 * 60_000 },
  );
  assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.match(r.stdout, /^version 13\./m);
  assert.match(r.stdout, /^user root$/m);
  assert.match(r.stdout, /^init \/usr\/sbin\/init$|^init \/sbin\/init$/m);
  assert.match(r.stdout, /^root \/dev\/vda ext4 rw$/m);
  assert.match(r.stdout, /^Suites: trixie trixie-updates$/m);
  assert.match(r.stdout, /\/usr\/bin\/dbench/);
  assert.match(r.stdout, /^eth0 \d+\.\d+\.\d+\.\d+$/m, 'eth0 got an address by DHCP');
  assert.match(r.stdout, /^gateway \d+\.\d+\.\d+\.\d+$/m);
  assert.ok(fs.existsSync(ov), 'the writes went to the overlay');
});

test('Debian: root is logged in on the console; poweroff ends the VM cleanly', async (t) => {
  if (!disk) return t.skip(why);
  const ov = path.join(dir, 'b.cow');
  let sent = false;
  const r = await runCli(['run', `cobd0=${disk},cow=${ov}`, 'root=/dev/cobd0'], {
    killAfterMs: 20 * 60_000,
    onStdout: (all, write) => {
      if (!sent && /:~# $/m.test(all)) {
        sent = true;
        write('echo "logged in as $(whoami)"; poweroff\n');
      }
    },
  });
  assert.ok(sent, `no root prompt:\n${r.stdout.slice(-2000)}`);
  assert.match(r.stdout, /logged in as root/);
  assert.equal(r.code, 0, r.stderr);
});

/**
 * The Debian root disk (`colinux image build debian`) boots with coLinux's
 * syntax: `colinux run cobd0=<image> root=/dev/cobd0`, and shuts down
 * cleanly on `colinux stop`.
 *
 * The image is cached (<cache>/images/debian-<key>/). `npm test` builds it
 * before the test runner starts (scripts/test-images.mjs: debootstrap's
 * second stage runs inside colinux, 20–30 minutes on 2 cores); run alone,
 * this file builds it too. Building needs root, so as another user the tests
 * skip with the command that builds it.
 * The guest writes go to overlays, so the cached image stays pristine.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureDebianImage, debianImageLocation } from '../../src/backends/image/debian.js';
import { runCli } from '../helpers/colinux.js';
import { Vm } from '../../src/index.js';
import { alive, DaemonFixture, readOr, show, waitFor } from '../helpers/daemon.js';

const fx = new DaemonFixture('colinux-debian-');
const dir = fx.root;
after(() => fx.cleanup());

/** Debian's root prompt on the console (agetty auto-login, bash). */
const PROMPT = /root@colinux:~# $/m;

let disk: string | undefined;
let why = '';

before(
  async () => {
    const cached = debianImageLocation();
    if (cached.built) {
      disk = cached.disk;
      return;
    }
    if (typeof process.getuid === 'function' && process.getuid() !== 0) {
      why = 'no cached Debian image, and building it needs root: sudo colinux image build debian';
      return;
    }
    disk = (await ensureDebianImage({ onProgress: (l) => process.stderr.write(`${l}\n`) })).disk;
  },
  { timeout: 120 * 60_000 },
);

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
      if (!sent && PROMPT.test(all)) {
        sent = true;
        write('echo "logged in as $(whoami)"; poweroff\n');
      }
    },
  });
  assert.ok(sent, `no root prompt:\n${r.stdout.slice(-2000)}`);
  assert.match(r.stdout, /logged in as root/);
  assert.equal(r.code, 0, r.stderr);
});

test('Debian: colinux stop is graceful (acpid, sysvinit shutdown); data written just before it is kept', async (t) => {
  if (!disk) return t.skip(why);
  const env = fx.env('stop');
  const ov = path.join(dir, 'c.cow');
  const vm = [`cobd0=${disk},cow=${ov}`, 'root=/dev/cobd0'];
  const pid = await fx.detach(env, 'deb', vm, PROMPT, 20 * 60_000);
  // Written, not synced: only the shutdown's sync and unmount put it on the disk.
  const c = await fx.console(
    env,
    ['deb'],
    [
      {
        wait: PROMPT,
        send: 'echo kept-$((6*7)) > /root/kept.txt; pidof acpid >/dev/null && echo acpid-$((1+1))\n',
      },
      { wait: /acpid-2/ },
    ],
  );
  assert.equal(c.code, 0, show(c));
  const s = await fx.cli(env, ['stop', '--timeout', '600', 'deb'], 15 * 60_000);
  assert.equal(s.code, 0, show(s));
  assert.match(s.stderr, /VM "deb" shut down/);
  await waitFor('the VM process to end', () => !alive(pid), 10_000);
  const log = readOr(fx.logOf(env, 'deb'));
  assert.match(log, /colinux: power button pressed, shutting down/, 'acpid ran the handler');
  assert.match(log, /INIT: Switching to runlevel: 0/, 'sysvinit ran its shutdown');
  assert.match(log, /reboot: Power down/);
  assert.match(log, /VM "deb" ended: poweroff, status 0/);

  // The next boot from the same overlay finds the file, and ext4 needed no journal recovery.
  const r = await runCli(
    [
      'run',
      ...vm,
      '--cmd',
      'cat /root/kept.txt; echo "recoveries $(dmesg | grep -c "recovery complete")"',
    ],
    { killAfterMs: 20 * 60_000 },
  );
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /^kept-42$/m);
  assert.match(r.stdout, /^recoveries 0$/m);
});

test('Debian: after a resume its clock is set from the RTC again (acpid and the resume switch)', async (t) => {
  if (!disk) return t.skip(why);
  const ov = path.join(dir, 'r.cow');
  const vm = await Vm.create({
    initrd: null,
    kernelArgs: ['root=/dev/vda'],
    disks: [{ path: disk, overlay: ov, name: 'cobd0' }],
  });
  let out = '';
  vm.onOutput((b) => (out += Buffer.from(b).toString('latin1')));
  const done = vm.run();
  try {
    await waitFor('the root prompt', () => PROMPT.test(out), 20 * 60_000);
    // Sealed: the file names a disk, which only the key's holder may reopen.
    const key = crypto.getRandomValues(new Uint8Array(32));
    const file = await vm.suspend(undefined, { key });
    assert.equal((await done).reason, 'suspended');
    await new Promise((r) => setTimeout(r, 4000)); // suspended for a while

    const vm2 = await Vm.resume(file, { key });
    let out2 = '';
    vm2.onOutput((b) => (out2 += Buffer.from(b).toString('latin1')));
    const done2 = vm2.run();
    const sent = Date.now() / 1000;
    vm2.write('sleep 2; echo "now $(date +%s)"\n');
    await waitFor('the date', () => /now \d+/.test(out2), 120_000);
    const received = Date.now() / 1000;
    // Printed at least 2 s after `sent`: without the resync it would lag by
    // the 4 s suspended (an inequality, whatever the host's load).
    const guest = Number(/now (\d+)/.exec(out2)![1]);
    assert.ok(
      guest >= sent - 1 && guest <= received + 1,
      `guest date ${guest}, host ${sent}–${received}`,
    );
    vm2.write('poweroff\n');
    assert.equal((await done2).reason, 'poweroff');
  } finally {
    vm.stop();
  }
});

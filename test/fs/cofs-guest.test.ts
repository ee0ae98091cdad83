/**
 * Shared folders end to end: the default image booted with
 * `colinux run cofs0=DIR cofs1=DIR2,ro --cmd 'sh /mnt/cofs0/t.sh'`, the
 * script itself coming over cofs. It exercises the operations Linux's 9p
 * client uses, tries to get out of the export, and checks the read-only one.
 * The host side checks what really happened on its disk.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureDefaultImage } from '../../src/backends/image/index.js';
import { runCli } from '../helpers/colinux.js';

let tmp: string;
let share: string;
let roShare: string;
let outside: string;
const SECRET = 'top secret host data 8b1f';
const BIG = 24 << 20;

const SCRIPT = String.raw`
M=/mnt/cofs0
ok() { echo "ok $1"; }
check() { n=$1; shift; if "$@"; then ok "$n"; else echo "FAIL $n"; fi; }
mustfail() { n=$1; shift; if "$@" 2>/dev/null; then echo "FAIL $n (succeeded)"; else ok "$n"; fi; }
cd $M || exit 99
grep -q '^cofs0 /mnt/cofs0 9p ' /proc/mounts && ok automount

# files: create, write, read, append
check create sh -c 'echo hello > f1'
check read [ "$(cat f1)" = hello ]
check append sh -c 'echo world >> f1 && [ "$(wc -l < f1)" = 2 ]'
check owner [ "$(stat -c %u:%g f1)" = 0:0 ]
check mode sh -c 'touch m && chmod 640 m && [ "$(stat -c %a m)" = 640 ]'
check chmod-x sh -c 'printf "#!/bin/sh\necho ran\n" > x.sh && chmod +x x.sh && [ "$(./x.sh)" = ran ]'
# rename and directories
check mkdir sh -c 'mkdir -p d1/d2/d3 && [ -d d1/d2/d3 ]'
check rename sh -c 'mv f1 f2 && [ ! -e f1 ] && [ "$(head -n 1 f2)" = hello ]'
check rename-dir sh -c 'mv d1 d1x && [ -d d1x/d2/d3 ] && [ ! -e d1 ]'
check rename-into sh -c 'mv f2 d1x/d2/f3 && [ -f d1x/d2/f3 ]'
check rename-over sh -c 'echo new > n && mv n d1x/d2/f3 && [ "$(cat d1x/d2/f3)" = new ]'
check rmdir-nonempty sh -c '! rmdir d1x 2>/dev/null'
# hard and symbolic links
check link sh -c 'ln d1x/d2/f3 hard && [ "$(stat -c %h hard)" = 2 ] && [ "$(stat -c %i hard)" = "$(stat -c %i d1x/d2/f3)" ]'
check symlink sh -c 'ln -s d1x/d2/f3 soft && [ "$(readlink soft)" = d1x/d2/f3 ] && [ "$(cat soft)" = new ]'
check symlink-abs sh -c 'ln -s /proc/version pv && [ "$(readlink pv)" = /proc/version ] && grep -q Linux pv'
check symlink-dir sh -c 'ln -s d1x/d2 sd && [ -f sd/f3 ]'
# truncate, times, fsync, statfs, xattrs
check truncate sh -c 'printf 0123456789 > t && truncate -s 4 t && [ "$(cat t)" = 0123 ] && truncate -s 100000 t && [ "$(stat -c %s t)" = 100000 ]'
check utimes sh -c 'touch -d "2001-02-03 04:05:06" t && [ "$(stat -c %Y t)" = 981173106 ]'
check fsync dd if=/dev/zero of=synced bs=4096 count=4 conv=fsync
check statfs sh -c 'df $M | grep -q cofs0'
check xattr-none sh -c '[ -z "$(getfattr -d t 2>/dev/null)" ]'
mustfail mknod-dev mknod dev c 1 3
mustfail mknod-fifo mkfifo fifo
# seek and overwrite in the middle
check pwrite sh -c 'printf abcdefgh > p && printf XY | dd of=p bs=1 seek=3 conv=notrunc 2>/dev/null && [ "$(cat p)" = abcXYfgh ]'
# removal
check unlink sh -c 'rm hard soft pv sd && [ ! -e hard ] && [ -e d1x/d2/f3 ]'
check rm-r sh -c 'rm -r d1x && [ ! -e d1x ]'
# a directory of thousands of entries
check many-create sh -c 'mkdir many && cd many && i=0 && while [ $i -lt 3000 ]; do : > "entry-number-$i"; i=$((i+1)); done'
check many-list [ "$(ls many | wc -l)" = 3000 ]
check many-unique [ "$(ls -a many | sort -u | wc -l)" = 3002 ]
check many-find [ "$(find many -type f | wc -l)" = 3000 ]
check many-rm sh -c 'rm -r many && [ ! -e many ]'
# a large file: hash it, copy it
echo "big-sha256 $(sha256sum big.bin | cut -d' ' -f1)"
check big-copy cp big.bin big.copy
check big-size [ "$(stat -c %s big.copy)" = "$(stat -c %s big.bin)" ]

# escapes: every one must fail
mustfail esc-abs-link cat abs
mustfail esc-rel-link cat rel
mustfail esc-dir-link ls dirlink/secret
mustfail esc-dotdot cat ../outside/secret
mustfail esc-plant sh -c 'ln -s ../../outside/planted plant && echo pwned > plant'
mustfail esc-chmod-link chmod 777 abs
check esc-hardlink-of-link sh -c 'ln abs abs-hard && [ -L abs-hard ]'

# the read-only export
mkdir -p /mnt/ro
# (aname= asks for another tree; the server always serves the export root)
check ro-mount mount -t 9p -o trans=virtio,version=9p2000.L,aname=/ cofs1 /mnt/ro
check esc-aname sh -c '[ ! -e /mnt/ro/etc ] && [ -e /mnt/ro/hello.txt ]'
check ro-read [ "$(cat /mnt/ro/hello.txt)" = hello ]
check ro-list [ "$(ls /mnt/ro)" = hello.txt ]
mustfail ro-create sh -c 'echo x > /mnt/ro/new'
mustfail ro-write sh -c 'echo x >> /mnt/ro/hello.txt'
mustfail ro-truncate truncate -s 0 /mnt/ro/hello.txt
mustfail ro-mkdir mkdir /mnt/ro/d
mustfail ro-rm rm /mnt/ro/hello.txt
mustfail ro-mv mv /mnt/ro/hello.txt /mnt/ro/x
mustfail ro-chmod chmod 600 /mnt/ro/hello.txt
mustfail ro-touch touch -d 2000-01-01 /mnt/ro/hello.txt
mustfail ro-symlink ln -s x /mnt/ro/l
check ro-erofs sh -c 'mkdir /mnt/ro/d 2>&1 | grep -q "Read-only file system"'
echo "script-done"
`;

const CHECKS = [
  'automount',
  'create',
  'read',
  'append',
  'owner',
  'mode',
  'chmod-x',
  'mkdir',
  'rename',
  'rename-dir',
  'rename-into',
  'rename-over',
  'rmdir-nonempty',
  'link',
  'symlink',
  'symlink-abs',
  'symlink-dir',
  'truncate',
  'utimes',
  'fsync',
  'statfs',
  'xattr-none',
  'mknod-dev',
  'mknod-fifo',
  'pwrite',
  'unlink',
  'rm-r',
  'many-create',
  'many-list',
  'many-unique',
  'many-find',
  'many-rm',
  'big-copy',
  'big-size',
  'esc-abs-link',
  'esc-rel-link',
  'esc-dir-link',
  'esc-dotdot',
  'esc-plant',
  'esc-chmod-link',
  'esc-hardlink-of-link',
  'esc-aname',
  'ro-mount',
  'ro-read',
  'ro-list',
  'ro-create',
  'ro-write',
  'ro-truncate',
  'ro-mkdir',
  'ro-rm',
  'ro-mv',
  'ro-chmod',
  'ro-touch',
  'ro-symlink',
  'ro-erofs',
];

let bigHash = '';

before(async () => {
  await ensureDefaultImage({ onProgress: (line) => process.stderr.write(`${line}\n`) });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cofs-guest-'));
  share = path.join(tmp, 'share');
  roShare = path.join(tmp, 'ro');
  outside = path.join(tmp, 'outside');
  for (const d of [share, roShare, outside]) fs.mkdirSync(d);
  fs.writeFileSync(path.join(outside, 'secret'), SECRET);
  fs.writeFileSync(path.join(roShare, 'hello.txt'), 'hello\n');
  fs.writeFileSync(path.join(share, 't.sh'), SCRIPT);
  const big = randomBytes(BIG);
  bigHash = createHash('sha256').update(big).digest('hex');
  fs.writeFileSync(path.join(share, 'big.bin'), big);
  // Planted by the host: links that point out of the export.
  fs.symlinkSync(path.join(outside, 'secret'), path.join(share, 'abs'));
  fs.symlinkSync('../outside/secret', path.join(share, 'rel'));
  fs.symlinkSync('../outside', path.join(share, 'dirlink'));
});

after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('cofs: a guest script exercises every operation, escapes fail, ro is read-only', async () => {
  const r = await runCli([
    'run',
    `cofs0=${share}`,
    `cofs1=${roShare},ro`,
    '--cmd',
    'sh /mnt/cofs0/t.sh',
  ]);
  const out = r.stdout;
  const detail = `exit ${r.code}\nstdout:\n${out}\nstderr:\n${r.stderr}`;
  assert.equal(r.code, 0, detail);
  assert.match(out, /^script-done$/m, detail);
  assert.doesNotMatch(out, /^FAIL/m, detail);
  for (const name of CHECKS)
    assert.match(out, new RegExp(`^ok ${name}$`, 'm'), `${name}\n${detail}`);
  assert.ok(!out.includes(SECRET), 'the host secret never reached the guest');

  // The large file's hash, in the guest and of its copy on the host.
  assert.match(out, new RegExp(`^big-sha256 ${bigHash}$`, 'm'), detail);
  const copy = fs.readFileSync(path.join(share, 'big.copy'));
  assert.equal(createHash('sha256').update(copy).digest('hex'), bigHash);

  // What the guest left on the host.
  assert.equal(fs.readFileSync(path.join(share, 't'), 'latin1').length, 100000);
  assert.equal(fs.statSync(path.join(share, 'm')).mode & 0o777, 0o640);
  assert.equal(fs.readFileSync(path.join(share, 'p'), 'utf8'), 'abcXYfgh');
  assert.ok(fs.lstatSync(path.join(share, 'abs-hard')).isSymbolicLink());
  assert.equal(fs.readlinkSync(path.join(share, 'plant')), '../../outside/planted');
  // Outside the export nothing changed.
  assert.deepEqual(fs.readdirSync(outside), ['secret']);
  assert.equal(fs.readFileSync(path.join(outside, 'secret'), 'utf8'), SECRET);
  assert.equal(fs.statSync(path.join(outside, 'secret')).nlink, 1);
  assert.equal(fs.statSync(path.join(outside, 'secret')).mode & 0o777, 0o644);
  assert.deepEqual(fs.readdirSync(roShare), ['hello.txt']);
  assert.equal(fs.readFileSync(path.join(roShare, 'hello.txt'), 'utf8'), 'hello\n');
});

test('cofs: a missing shared directory is a usage error before boot', async () => {
  const r = await runCli(['run', `cofs0=${path.join(tmp, 'nope')}`, '--cmd', 'true']);
  assert.equal(r.code, 2, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.match(r.stderr, /cofs0=.*nope: no such file/);
});

/**
 * Block devices end to end: the real default kernel on colinux, disks given
 * with `cobdN=`, checked from both sides (guest commands, host bytes,
 * e2fsprogs on the host).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync, spawn } from 'node:child_process';
import { ensureDefaultImage } from '../../src/backends/image/index.js';
import { runCli, CLI } from '../helpers/colinux.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'colinux-blk-e2e-'));
let n = 0;
const tmp = (name: string): string => path.join(dir, `${n++}-${name}`);

before(async () => {
  await ensureDefaultImage({ onProgress: () => {} });
  if (!hasTool('mke2fs') && process.getuid?.() === 0) {
    spawnSync('apt-get', ['install', '-y', '-q', 'e2fsprogs'], { stdio: 'ignore' });
  }
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function hasTool(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

function image(size: number): string {
  const f = tmp('disk.img');
  fs.writeFileSync(f, '');
  fs.truncateSync(f, size);
  return f;
}

/** An ext4 image holding `files` (made on the host with mke2fs -d). */
function ext4(sizeMiB: number, files: Record<string, string>, offset = 0): string {
  const src = tmp('tree');
  fs.mkdirSync(src);
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(src, name), text);
  const f = image(sizeMiB * 2 ** 20 + offset);
  const extra = offset ? ['-E', `offset=${offset}`] : [];
  sh('mke2fs', ['-q', '-F', '-t', 'ext4', ...extra, '-d', src, f, `${sizeMiB}M`]);
  return f;
}

/** e2fsck -fn: returns [clean, output]. */
function fsck(f: string): [boolean, string] {
  const r = spawnSync('e2fsck', ['-fn', f], { encoding: 'utf8' });
  return [r.status === 0, r.stdout + r.stderr];
}

function debugfsCat(f: string, file: string): string {
  return sh('debugfs', ['-R', `cat ${file}`, f]);
}

async function guest(args: string[], cmd: string): Promise<string> {
  const r = await runCli(['run', ...args, '--cmd', cmd], { killAfterMs: 10 * 60_000 });
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

test('raw disk: host writes, guest reads; guest writes, host reads; size and ID', async () => {
  const f = image(64 << 20);
  const hostData = randomBytes(64 * 1024);
  const fd = fs.openSync(f, 'r+');
  fs.writeSync(fd, hostData, 0, hostData.length, 1 << 20);
  fs.closeSync(fd);
  const out = await guest(
    [`cobd0=${f}`],
    [
      'cat /sys/block/vda/size /sys/block/vda/serial; echo',
      'dd if=/dev/vda bs=4096 skip=256 count=16 2>/dev/null | md5sum',
      'dd if=/dev/urandom of=/tmp/x bs=4096 count=32 2>/dev/null; md5sum < /tmp/x',
      'dd if=/tmp/x of=/dev/vda bs=4096 seek=1024 conv=fsync 2>/dev/null && echo written',
      // DISCARD through the real driver (busybox cannot issue WRITE_ZEROES; unit-tested).
      'cat /sys/block/vda/queue/discard_max_bytes',
      'blkdiscard -o 33554432 -l 33554432 /dev/vda && echo discarded',
    ].join('; '),
  );
  const lines = out.trim().split('\n');
  assert.equal(lines[0], String((64 << 20) / 512));
  assert.equal(lines[1], 'cobd0');
  assert.equal(lines[2]!.split(' ')[0], md5(hostData), 'guest reads what the host wrote');
  const guestMd5 = lines[3]!.split(' ')[0];
  assert.equal(lines[4], 'written');
  assert.equal(lines[5], String(2 ** 31));
  assert.equal(lines[6], 'discarded');
  const back = Buffer.alloc(128 * 1024);
  const fd2 = fs.openSync(f, 'r');
  fs.readSync(fd2, back, 0, back.length, 4 << 20);
  fs.closeSync(fd2);
  assert.equal(md5(back), guestMd5, 'host reads what the guest wrote');
  assert.ok(!fs.existsSync(`${f}.lock`), 'lock released at exit');
});

test('ext4: guest mounts a host-made filesystem, writes; host sees a clean fs and the file', async (t) => {
  if (!hasTool('mke2fs')) return t.skip('e2fsprogs not installed');
  const f = ext4(32, { 'hello.txt': 'hello from the host\n' });
  const out = await guest(
    [`cobd0=${f}`],
    [
      'mount -t ext4 /dev/vda /mnt',
      'cat /mnt/hello.txt',
      'echo "written by the guest" > /mnt/guest.txt',
      'mkdir /mnt/d && seq 1 20000 > /mnt/d/numbers',
      'umount /mnt && echo unmounted',
    ].join(' && '),
  );
  assert.match(out, /hello from the host\n/);
  assert.match(out, /unmounted/);
  const [clean, report] = fsck(f);
  assert.ok(clean, report);
  assert.equal(debugfsCat(f, '/guest.txt'), 'written by the guest\n');
  const numbers = debugfsCat(f, '/d/numbers').trim().split('\n');
  assert.equal(numbers.length, 20000);
  assert.equal(numbers[19999], '20000');
});

test('several disks: attached in cobd order (vda, vdb, …) and a partitioned whole-disk image', async (t) => {
  if (!hasTool('mke2fs')) return t.skip('e2fsprogs not installed');
  const a = image(8 << 20);
  const b = image(16 << 20);
  // An MBR with one Linux partition at 1 MiB, holding ext4.
  const c = ext4(16, { 'part.txt': 'in partition 1\n' }, 1 << 20);
  const mbr = Buffer.alloc(512);
  const e = 0x1be;
  mbr[e + 4] = 0x83;
  mbr.writeUInt32LE(2048, e + 8);
  mbr.writeUInt32LE((16 << 20) / 512, e + 12);
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  const fd = fs.openSync(c, 'r+');
  fs.writeSync(fd, mbr, 0, 512, 0);
  fs.closeSync(fd);
  const out = await guest(
    [`cobd5=${c}`, `cobd0=${a},ro`, `cobd2=${b}`],
    [
      'for d in vda vdb vdc; do echo $d $(cat /sys/block/$d/serial) $(cat /sys/block/$d/size) $(cat /sys/block/$d/ro); done',
      'mount -t ext4 -o ro /dev/vdc1 /mnt && cat /mnt/part.txt',
    ].join('; '),
  );
  assert.match(out, /^vda cobd0 16384 1$/m);
  assert.match(out, /^vdb cobd2 32768 0$/m);
  assert.match(out, /^vdc cobd5 34816 0$/m);
  assert.match(out, /in partition 1/);
});

test('read-only disk: the guest cannot write, the image is unchanged', async () => {
  const f = image(8 << 20);
  fs.writeFileSync(f, randomBytes(8 << 20));
  const before = md5(fs.readFileSync(f));
  const out = await guest(
    [`cobd0=${f},ro`],
    [
      'cat /sys/block/vda/ro',
      'echo x | dd of=/dev/vda bs=512 count=1 conv=fsync 2>/dev/null && echo WROTE || echo refused',
      'blockdev --setrw /dev/vda 2>/dev/null; echo y | dd of=/dev/vda bs=512 count=1 oflag=direct 2>/dev/null && echo WROTE2 || echo refused2',
    ].join('; '),
  );
  assert.match(out, /^1$/m);
  assert.match(out, /^refused$/m);
  assert.doesNotMatch(out, /WROTE/);
  assert.equal(md5(fs.readFileSync(f)), before);
});

test('copy-on-write overlay: base untouched, changes persist across runs, commit and discard', async (t) => {
  if (!hasTool('mke2fs')) return t.skip('e2fsprogs not installed');
  const base = ext4(32, { 'a.txt': 'base version\n' });
  const before = md5(fs.readFileSync(base));
  const mtime = fs.statSync(base).mtimeMs;
  const write =
    'mount /dev/vda /mnt && echo "overlay version" > /mnt/a.txt && echo new > /mnt/b.txt && umount /mnt && echo ok';
  await guest([`cobd0=${base},cow`], write);
  assert.equal(md5(fs.readFileSync(base)), before, 'base unchanged');
  assert.equal(fs.statSync(base).mtimeMs, mtime);
  const ov = `${base}.cow`;
  assert.ok(fs.existsSync(ov));
  // The next run sees the changes.
  let out = await guest([`cobd0=${base},cow`], 'mount /dev/vda /mnt && cat /mnt/a.txt /mnt/b.txt');
  assert.equal(out, 'overlay version\nnew\n');
  // Without the overlay the guest sees the base.
  out = await guest([`cobd0=${base},ro`], 'mount -o ro /dev/vda /mnt && cat /mnt/a.txt');
  assert.equal(out, 'base version\n');
  // info, then commit into the base.
  let r = await runCli(['disk', 'info', ov]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /overlay, 32\.0 MiB/);
  assert.match(r.stdout, new RegExp(`base: ${fs.realpathSync(base)}`));
  r = await runCli(['disk', 'commit', base]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /committed .* the overlay is deleted/);
  assert.ok(!fs.existsSync(ov));
  assert.equal(debugfsCat(base, '/a.txt'), 'overlay version\n');
  assert.ok(fsck(base)[0]);
  // A fresh overlay, discarded: the base keeps the committed state.
  const other = tmp('other.cow');
  await guest([`cobd0=${base},cow=${other}`], write.replace('overlay version', 'discard me'));
  r = await runCli(['disk', 'discard', other]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!fs.existsSync(other));
  assert.equal(debugfsCat(base, '/a.txt'), 'overlay version\n');
});

/** Run a guest that writes+syncs, then SIGKILL the host process while it idles. */
async function killAfterSync(args: string[], cmd: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [CLI, 'run', ...args, '--cmd', `${cmd}; echo SYNCED; sleep 600`],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    const guard = setTimeout(() => child.kill('SIGKILL'), 10 * 60_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('SYNCED')) child.kill('SIGKILL');
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      if (signal === 'SIGKILL' && out.includes('SYNCED')) resolve();
      else reject(new Error(`guest did not reach SYNCED (code ${code}): ${out}\n${err}`));
    });
  });
}

for (const mode of ['raw', 'overlay'] as const) {
  test(`no data lost: write + sync, SIGKILL the host, data there and fs clean on next boot (${mode})`, async (t) => {
    if (!hasTool('mke2fs')) return t.skip('e2fsprogs not installed');
    const f = ext4(32, {});
    const spec = mode === 'raw' ? `cobd0=${f}` : `cobd0=${f},cow`;
    await killAfterSync(
      [spec],
      'mount /dev/vda /mnt && seq 1 50000 > /mnt/data && md5sum /mnt/data > /mnt/data.md5 && sync',
    );
    // The lock of the killed VM is stale now; the next run takes it over.
    const out = await guest(
      [spec],
      'mount /dev/vda /mnt && cd /mnt && md5sum -c data.md5 && tail -n1 data && cd / && umount /mnt && echo unmounted',
    );
    assert.match(out, /data: OK/);
    assert.match(out, /^50000$/m);
    assert.match(out, /unmounted/);
    if (mode === 'raw') {
      const [clean, report] = fsck(f);
      assert.ok(clean, report);
    } else {
      const r = await runCli(['disk', 'commit', f]);
      assert.equal(r.code, 0, r.stderr);
      const [clean, report] = fsck(f);
      assert.ok(clean, report);
      assert.equal(debugfsCat(f, '/data').trim().split('\n').length, 50000);
    }
  });
}

test('bad disks: one clear message and exit status 2', async () => {
  const f = image(1 << 20);
  const cases: Array<[string[], RegExp]> = [
    [
      [`cobd0=${tmp('missing.img')}`],
      /cobd0=.*missing\.img: no such file; create an image with: colinux disk create/,
    ],
    [[`cobd0=${dir}`], /is a directory/],
    [
      Array.from({ length: 9 }, (_, i) => `cobd${i}=${f},ro`),
      /too many disks \(9\); the virt board has 8 virtio slots/,
    ],
    [[`cobd0=${f}`, `cobd1=${f}`], /cobd1=.*in use by this VM/],
    [[`cobd40=${f}`], /disk numbers go from 0 to 31/],
    [[`cobd0=${f},fast`], /unknown disk option "fast"/],
  ];
  for (const [args, re] of cases) {
    const r = await runCli(['run', ...args, '--cmd', 'true']);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  // An image locked by another live VM (this test process stands in for it).
  fs.writeFileSync(`${f}.lock`, JSON.stringify({ pid: process.pid, host: os.hostname() }));
  const r = await runCli(['run', `cobd0=${f}`, '--cmd', 'true']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, new RegExp(`in use by colinux pid ${process.pid}`));
  fs.unlinkSync(`${f}.lock`);
  // disk subcommands
  const c = await runCli(['disk', 'create', tmp('new.img'), '2G']);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stdout, /2\.0 GiB, sparse/);
  const bad = await runCli(['disk', 'commit', f]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /is not a colinux overlay/);
});

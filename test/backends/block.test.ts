/** Host block backends: raw files, overlays, locks, commit/discard, host block devices. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { open } from 'node:fs/promises';
import {
  openDisk,
  createImage,
  commitOverlay,
  discardOverlay,
  diskInfo,
  resolveOverlay,
  parseSize,
  DiskError,
  type OpenDisk,
} from '../../src/backends/block/index.js';
import { OverlayDisk, readHeader } from '../../src/backends/block/overlay.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'colinux-blk-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
const tmp = (name: string): string => path.join(dir, `${n++}-${name}`);

const pattern = (len: number, seed: number): Uint8Array =>
  Uint8Array.from({ length: len }, (_, i) => (i * 31 + seed) & 0xff);

async function readAt(d: OpenDisk, offset: number, len: number): Promise<Uint8Array> {
  const b = new Uint8Array(len);
  await d.read(offset, [b]);
  return b;
}

function makeBase(size: number, seed = 1): string {
  const f = tmp('base.img');
  fs.writeFileSync(f, pattern(size, seed));
  return f;
}

async function rejectsDisk(p: Promise<unknown>, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DiskError, `DiskError, got ${String(e)}`);
    assert.match(e.message, re);
    return true;
  });
}

test('parseSize', () => {
  assert.equal(parseSize('4G'), 4 * 2 ** 30);
  assert.equal(parseSize('512M'), 512 * 2 ** 20);
  assert.equal(parseSize('1.5k'), 1536);
  assert.equal(parseSize('1048576'), 1048576);
  assert.equal(parseSize('2GiB'), 2 * 2 ** 30);
  assert.equal(parseSize('x'), undefined);
});

test('raw image: sparse, larger than 4 GiB, positional I/O above 4 GiB, scatter/gather', async () => {
  const f = tmp('big.img');
  await createImage(f, 6 * 2 ** 30);
  const st = fs.statSync(f);
  assert.equal(st.size, 6 * 2 ** 30);
  const d = await openDisk({ name: 'cobd0=big.img', path: f });
  assert.equal(d.size, 6 * 2 ** 30);
  assert.equal(d.readOnly, false);
  const off = 5 * 2 ** 30 + 4096;
  const a = pattern(1000, 3);
  const b = pattern(24, 4);
  await d.write(off, [a, b]);
  const parts = [new Uint8Array(10), new Uint8Array(1014)];
  await d.read(off, parts);
  assert.deepEqual(new Uint8Array([...parts[0]!, ...parts[1]!]), new Uint8Array([...a, ...b]));
  await d.writeZeroes(off, 512);
  assert.ok((await readAt(d, off, 512)).every((x) => x === 0));
  await d.flush();
  await d.close();
  // Still sparse: only a few blocks allocated.
  assert.ok(fs.statSync(f).blocks * 512 < 1 << 20, 'sparse');
  // The bytes are where the guest put them.
  const fh = await open(f, 'r');
  const buf = new Uint8Array(1024);
  await fh.read(buf, 0, 1024, off);
  await fh.close();
  assert.deepEqual(buf.subarray(512, 1000), a.subarray(512));
});

test('read-only disks cannot be written', async () => {
  const f = makeBase(8192);
  const d = await openDisk({ name: 'cobd0', path: f, readOnly: true });
  assert.equal(d.readOnly, true);
  await assert.rejects(d.write(0, [new Uint8Array(512)]));
  assert.deepEqual(await readAt(d, 512, 16), pattern(8192, 1).subarray(512, 528));
  await d.close();
});

test('bad paths: missing, directory, not a disk, too small', async () => {
  await rejectsDisk(
    openDisk({ name: 'cobd0=nope.img', path: tmp('nope.img') }),
    /cobd0=nope\.img: no such file; create an image with: colinux disk create/,
  );
  await rejectsDisk(openDisk({ name: 'cobd1=dir', path: dir }), /is a directory/);
  await rejectsDisk(
    openDisk({ name: 'cobd2', path: '/dev/null' }),
    /neither a regular file nor a block device/,
  );
  const small = tmp('small.img');
  fs.writeFileSync(small, new Uint8Array(100));
  await rejectsDisk(openDisk({ name: 'cobd3', path: small }), /smaller than one 512-byte sector/);
  await assert.rejects(createImage(small, 4096), /already exists/);
  await assert.rejects(createImage(tmp('odd.img'), 1000), /multiple of 512/);
});

test('locks: one writer; readers and writers exclude each other; readers share', async () => {
  const f = makeBase(4096);
  const w = await openDisk({ name: 'cobd0', path: f });
  assert.ok(fs.existsSync(`${f}.lock`));
  await rejectsDisk(openDisk({ name: 'cobd1', path: f }), /in use by this VM/);
  await rejectsDisk(openDisk({ name: 'cobd1', path: f, readOnly: true }), /open for writing/);
  // Through a symlink it is the same image.
  const link = tmp('link.img');
  fs.symlinkSync(f, link);
  await rejectsDisk(openDisk({ name: 'cobd1', path: link }), /in use/);
  await w.close();
  assert.ok(!fs.existsSync(`${f}.lock`), 'lock released');
  const r1 = await openDisk({ name: 'cobd0', path: f, readOnly: true });
  const r2 = await openDisk({ name: 'cobd1', path: f, readOnly: true });
  await rejectsDisk(openDisk({ name: 'cobd2', path: f }), /open read-only in/);
  await r1.close();
  await r2.close();
  const again = await openDisk({ name: 'cobd0', path: f });
  await again.close();
});

test('locks: stale lock of a dead process is removed; a live or foreign one refuses', async () => {
  const f = makeBase(4096);
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  const deadPid = Number(dead.stdout.toString());
  fs.writeFileSync(`${f}.lock`, JSON.stringify({ pid: deadPid, host: os.hostname() }));
  fs.writeFileSync(
    `${f}.lock.r${deadPid}.1`,
    JSON.stringify({ pid: deadPid, host: os.hostname() }),
  );
  const d = await openDisk({ name: 'cobd0', path: f });
  assert.ok(!fs.existsSync(`${f}.lock.r${deadPid}.1`), 'stale reader lock removed');
  await d.close();
  // A live process (our parent, say) holds it: refused, and the message names it.
  fs.writeFileSync(`${f}.lock`, JSON.stringify({ pid: process.ppid, host: os.hostname() }));
  await rejectsDisk(
    openDisk({ name: 'cobd0', path: f }),
    new RegExp(`pid ${process.ppid}.*remove the lock file`),
  );
  // Another host: cannot tell, so refused.
  fs.writeFileSync(`${f}.lock`, JSON.stringify({ pid: 1, host: 'elsewhere.example' }));
  await rejectsDisk(
    openDisk({ name: 'cobd0', path: f, readOnly: true }),
    /on host elsewhere\.example/,
  );
  // A recycled pid (different start time) is stale.
  fs.writeFileSync(
    `${f}.lock`,
    JSON.stringify({ pid: process.ppid, host: os.hostname(), start: '1' }),
  );
  if (fs.existsSync(`/proc/${process.ppid}/stat`)) {
    const ok = await openDisk({ name: 'cobd0', path: f });
    await ok.close();
  }
});

test('overlay: base untouched, partial-block copy-on-write, survives reopen', async () => {
  const size = 64 * 1024 + 1024; // not a whole number of 4 KiB blocks
  const base = makeBase(size, 7);
  const before = fs.readFileSync(base);
  const mtime = fs.statSync(base).mtimeMs;
  const ov = `${base}.cow`;
  let d = await openDisk({ name: 'cobd0', path: base, overlay: ov });
  assert.equal(d.size, size);
  assert.ok(fs.existsSync(ov));
  assert.deepEqual(await readAt(d, 0, size), pattern(size, 7));
  // 512 bytes in the middle of a block; a write straddling two blocks; the tail.
  await d.write(4096 + 1024, [new Uint8Array(512).fill(1)]);
  await d.write(8192 - 512, [new Uint8Array(1024).fill(2)]);
  await d.write(size - 512, [new Uint8Array(512).fill(3)]);
  const expect = pattern(size, 7);
  expect.fill(1, 4096 + 1024, 4096 + 1536);
  expect.fill(2, 8192 - 512, 8192 + 512);
  expect.fill(3, size - 512, size);
  assert.deepEqual(await readAt(d, 0, size), expect);
  // Reads that span present and absent blocks, into several buffers.
  const parts = [new Uint8Array(3000), new Uint8Array(7000)];
  await d.read(2048, parts);
  assert.deepEqual(new Uint8Array([...parts[0]!, ...parts[1]!]), expect.subarray(2048, 12048));
  await d.close();
  assert.deepEqual(fs.readFileSync(base), before, 'base unchanged');
  assert.equal(fs.statSync(base).mtimeMs, mtime);
  d = await openDisk({ name: 'cobd0', path: base, overlay: ov });
  assert.deepEqual(await readAt(d, 0, size), expect, 'overlay survives a restart');
  await d.close();
  const info = await diskInfo(ov);
  assert.equal(info.kind, 'overlay');
  assert.equal(info.base, fs.realpathSync(base));
  assert.equal(info.changedBytes, 2 * 4096 + 1024);
  assert.equal(resolveOverlay(base), ov);
});

test('overlay: concurrent writes to absent blocks keep every byte', async () => {
  const base = makeBase(256 * 1024, 2);
  const d = await openDisk({ name: 'cobd0', path: base, overlay: `${base}.cow` });
  const expect = pattern(256 * 1024, 2);
  const jobs: Promise<void>[] = [];
  for (let i = 0; i < 200; i++) {
    const off = ((i * 7919) % 500) * 512;
    const fill = new Uint8Array(512).fill(i & 0xff);
    expect.set(fill, off);
    jobs.push(d.write(off, [fill]));
    if (i % 3 === 0) jobs.push(d.read(off, [new Uint8Array(512)]));
  }
  await Promise.all(jobs);
  // Later writes to the same sector win only if issued later; check sectors written once.
  const seen = new Map<number, number>();
  for (let i = 0; i < 200; i++)
    seen.set(((i * 7919) % 500) * 512, (seen.get(((i * 7919) % 500) * 512) ?? 0) + 1);
  const got = await readAt(d, 0, 256 * 1024);
  for (let s = 0; s < 512; s++) {
    const off = s * 512;
    if ((seen.get(off) ?? 0) > 1) continue;
    assert.deepEqual(got.subarray(off, off + 512), expect.subarray(off, off + 512), `sector ${s}`);
  }
  await d.close();
});

test('overlay: a flushed write is found by a fresh open even without close (crash)', async () => {
  const base = makeBase(64 * 1024, 5);
  const ov = `${base}.cow`;
  const d = await openDisk({ name: 'cobd0', path: base, overlay: ov });
  await d.write(8192, [new Uint8Array(4096).fill(9)]);
  await d.flush();
  await d.write(16384, [new Uint8Array(4096).fill(8)]); // not flushed
  // Open the files as a new process would after a SIGKILL (no close, locks ignored).
  const fh = await open(base, 'r');
  const h = await readHeader(ov);
  const again = await OverlayDisk.open(ov, fh, h);
  const b = new Uint8Array(4096);
  await again.read(8192, [b]);
  assert.ok(
    b.every((x) => x === 9),
    'flushed data is there',
  );
  await again.read(16384, [b]);
  assert.deepEqual(
    b,
    pattern(64 * 1024, 5).subarray(16384, 20480),
    'unflushed block still reads the base',
  );
  await again.close();
  await d.close();
});

test('overlay: commit writes the changes into the base and deletes the overlay', async () => {
  const base = makeBase(40 * 1024, 3);
  const ov = tmp('changes.cow');
  const d = await openDisk({ name: 'cobd0', path: base, overlay: ov });
  await d.write(512, [new Uint8Array(512).fill(0xee)]);
  await d.write(20480, [new Uint8Array(8192).fill(0xdd)]);
  // Commit refuses while the VM runs.
  await rejectsDisk(commitOverlay(ov), /in use/);
  await d.close();
  const expect = pattern(40 * 1024, 3);
  expect.fill(0xee, 512, 1024);
  expect.fill(0xdd, 20480, 28672);
  const bytes = await commitOverlay(ov);
  assert.equal(bytes, 3 * 4096);
  assert.ok(!fs.existsSync(ov));
  assert.deepEqual(new Uint8Array(fs.readFileSync(base)), expect);
  assert.ok(!fs.existsSync(`${base}.lock`) && !fs.existsSync(`${ov}.lock`), 'locks released');
});

test('overlay: discard deletes it; a changed base is detected', async () => {
  const base = makeBase(16 * 1024, 4);
  const ov = `${base}.cow`;
  const d = await openDisk({ name: 'cobd0', path: base, overlay: ov });
  await d.write(0, [new Uint8Array(512).fill(1)]);
  assert.throws(() => discardOverlay(ov), /in use/);
  await d.close();
  discardOverlay(ov);
  assert.ok(!fs.existsSync(ov));
  assert.throws(() => discardOverlay(base), /not a colinux overlay/);
  assert.deepEqual(new Uint8Array(fs.readFileSync(base)), pattern(16 * 1024, 4));
  // New overlay, then someone writes the base: the overlay no longer fits.
  const d2 = await openDisk({ name: 'cobd0', path: base, overlay: ov });
  await d2.close();
  const later = new Date(Date.now() + 5000);
  fs.utimesSync(base, later, later);
  await rejectsDisk(
    openDisk({ name: 'cobd0', path: base, overlay: ov }),
    /modified after the overlay was made.*colinux disk discard/,
  );
  await rejectsDisk(commitOverlay(ov), /modified after/);
  // The overlay cannot be the base itself, nor a file that is not an overlay.
  await rejectsDisk(
    openDisk({ name: 'cobd0', path: base, overlay: base }),
    /cannot be the image itself/,
  );
  const junk = tmp('junk.cow');
  fs.writeFileSync(junk, 'hello');
  await rejectsDisk(
    openDisk({ name: 'cobd0', path: base, overlay: junk }),
    /not a colinux overlay/,
  );
});

// ---------------------------------------------------------------------------
// Host block devices (a loop device, when this host lets us make one)

function losetup(file: string): string | undefined {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return undefined;
  const r = spawnSync('losetup', ['-f', '--show', file], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

test('host block device: size from the kernel, I/O, lock, permission error', async (t) => {
  const img = tmp('loop.img');
  await createImage(img, 8 << 20);
  const dev = losetup(img);
  if (!dev) {
    t.skip('no loop device (needs root on Linux)');
    return;
  }
  try {
    const d = await openDisk({ name: 'cobd0', path: dev });
    assert.equal(d.size, 8 << 20);
    assert.match(d.description, /host block device/);
    await d.write(4096, [pattern(512, 6)]);
    await d.flush();
    await rejectsDisk(openDisk({ name: 'cobd1', path: dev }), /in use by this VM/);
    await d.close();
    const back = fs.readFileSync(img).subarray(4096, 4608);
    assert.deepEqual(new Uint8Array(back), pattern(512, 6));
    // As an unprivileged user: a clear permission message (and exit status 2).
    const script = `import('${new URL('../../src/backends/block/index.js', import.meta.url).href}').then(m => m.openDisk({name:'cobd0=${dev}', path:'${dev}'})).then(() => process.exit(0), (e) => { process.stderr.write(e.message); process.exit(e.name === 'DiskError' ? 2 : 1); })`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      uid: 65534,
      gid: 65534,
      encoding: 'utf8',
      cwd: '/',
    });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /permission denied.*group owning the device/);
  } finally {
    spawnSync('losetup', ['-d', dev]);
  }
});

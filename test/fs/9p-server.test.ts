/**
 * The 9P server on a real host directory, driven directly with requests a
 * hostile guest could send: `..`, symlinks pointing out (absolute, relative,
 * dangling, to directories), names with `/`, swaps between check and use,
 * opens and creates on symlinks, racing clunks, a read-only export.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { P9Server } from '../../src/fs/9p-server.js';
import { HostDir } from '../../src/backends/fs/host-dir.js';
import {
  bytesOf,
  encodeMessage,
  Errno,
  LFLAG,
  LOCK_STATUS,
  QT,
  SETATTR,
  AT_REMOVEDIR,
} from '../../src/fs/9p-protocol.js';
import { TestClient, P9Failure, parseDirents } from '../helpers/9p-client.js';

let tmp: string;
let outside: string;
let exportDir: string;
const SECRET = 'host secret\n';

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cofs-test-'));
  outside = path.join(tmp, 'outside');
  exportDir = path.join(tmp, 'export');
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'secret'), SECRET);
  fs.chmodSync(path.join(outside, 'secret'), 0o644);
  fs.mkdirSync(exportDir);
  fs.writeFileSync(path.join(exportDir, 'hello.txt'), 'hello\n');
  fs.mkdirSync(path.join(exportDir, 'sub'));
  fs.writeFileSync(path.join(exportDir, 'sub', 'inner'), 'inner\n');
  fs.symlinkSync(path.join(outside, 'secret'), path.join(exportDir, 'abs'));
  fs.symlinkSync('../outside/secret', path.join(exportDir, 'rel'));
  fs.symlinkSync('../outside', path.join(exportDir, 'dirlink'));
  fs.symlinkSync(outside, path.join(exportDir, 'absdir'));
  fs.symlinkSync('../outside/planted', path.join(exportDir, 'dangling'));
});

after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function session(opts: { readOnly?: boolean; maxFids?: number } = {}) {
  const backend = await HostDir.open(exportDir, { readOnly: opts.readOnly });
  const server = new P9Server(backend, { maxFids: opts.maxFids });
  const c = new TestClient(server);
  const root = await c.connect();
  return { backend, server, c, root };
}

function outsideUntouched(): void {
  assert.deepEqual(fs.readdirSync(outside).sort(), ['secret']);
  assert.equal(fs.readFileSync(path.join(outside, 'secret'), 'utf8'), SECRET);
  assert.equal(fs.statSync(path.join(outside, 'secret')).mode & 0o7777, 0o644);
}

test('9p server: version negotiates msize and requires 9P2000.L', async () => {
  const backend = await HostDir.open(exportDir);
  const server = new P9Server(backend);
  const c = new TestClient(server);
  assert.equal(
    await c.errno('Tattach', {
      fid: 1,
      afid: 0xffff_ffff,
      uname: bytesOf(''),
      aname: bytesOf(''),
      nUname: 0,
    }),
    Errno.EPROTO,
    'no attach before version',
  );
  let r = await c.rpc('Tversion', { msize: 512 * 1024, version: bytesOf('9P2000.L') });
  assert.equal(r.msize, 512 * 1024);
  r = await c.rpc('Tversion', { msize: 64 << 20, version: bytesOf('9P2000.L') });
  assert.equal(r.msize, server.maxMsize, 'capped at the server maximum');
  assert.ok(server.maxMsize >= 512 * 1024);
  r = await c.rpc('Tversion', { msize: 8192, version: bytesOf('9P2000.u') });
  assert.equal(Buffer.from(r.version).toString(), 'unknown');
  assert.equal(
    await c.errno('Tversion', { msize: 100, version: bytesOf('9P2000.L') }),
    Errno.EINVAL,
  );
  await backend.close();
});

test('9p server: .. never leaves the export, symlinks are never walked through', async () => {
  const { c, root, backend } = await session();
  const rootQid = (await c.rpc('Tgetattr', { fid: root, mask: 0x7ffn })).qid;
  // `..` at the root is the root.
  const up = c.fid();
  const w = await c.rpc('Twalk', {
    fid: root,
    newfid: up,
    wnames: ['..', '..', '..'].map(bytesOf),
  });
  assert.equal(w.wqids.length, 3);
  assert.deepEqual(w.wqids[2], rootQid);
  // A walk that fails after the first element answers with the qids so far and makes no fid.
  const nf = c.fid();
  const partial = await c.rpc('Twalk', {
    fid: root,
    newfid: nf,
    wnames: ['..', 'outside', 'secret'].map(bytesOf),
  });
  assert.equal(partial.wqids.length, 1);
  assert.equal(await c.errno('Tgetattr', { fid: nf, mask: 0x7ffn }), Errno.EBADF);
  // sub/../.. is still the root.
  const sub2 = await c.walk(root, 'sub', '..', '..', 'hello.txt');
  const a = await c.rpc('Tgetattr', { fid: sub2, mask: 0x7ffn });
  assert.equal(a.size, 6n);

  // Symlinks: walking onto one gives the link itself; walking through fails.
  for (const link of ['abs', 'rel', 'dirlink', 'absdir', 'dangling']) {
    const f = await c.walk(root, link);
    const attr = await c.rpc('Tgetattr', { fid: f, mask: 0x7ffn });
    assert.equal(attr.qid.type, QT.SYMLINK, `${link} is a symlink`);
    assert.equal(attr.mode & 0o170000, 0o120000);
    assert.equal(await c.errno('Tlopen', { fid: f, flags: 0 }), Errno.ELOOP, `open ${link}`);
    assert.equal(await c.errno('Tlopen', { fid: f, flags: LFLAG.RDWR }), Errno.ELOOP);
    assert.equal(
      await c.errno('Tlcreate', { fid: f, name: bytesOf('x'), flags: 0, mode: 0o644, gid: 0 }),
      Errno.ENOTDIR,
      `create inside ${link}`,
    );
    assert.equal(
      await c.errno('Tmkdir', { dfid: f, name: bytesOf('x'), mode: 0o755, gid: 0 }),
      Errno.ENOTDIR,
    );
    assert.equal(
      await c.errno('Treaddir', { fid: f, offset: 0n, count: 4096 }),
      Errno.EBADF,
      'not open',
    );
    // Walking through the link: the second element cannot be reached.
    const through = c.fid();
    const r = await c.rpc('Twalk', {
      fid: root,
      newfid: through,
      wnames: [link, 'secret'].map(bytesOf),
    });
    assert.equal(r.wqids.length, 1, `${link}/secret stops at the link`);
    assert.equal(
      await c.errno('Twalk', { fid: f, newfid: c.fid(), wnames: [bytesOf('secret')] }),
      Errno.ENOTDIR,
    );
    // chmod and truncate of the link touch nothing outside.
    await c.rpc('Tsetattr', {
      fid: f,
      valid: SETATTR.MODE,
      mode: 0o777,
      uid: 0,
      gid: 0,
      size: 0n,
      atimeSec: 0n,
      atimeNsec: 0n,
      mtimeSec: 0n,
      mtimeNsec: 0n,
    });
    assert.equal(
      await c.errno('Tsetattr', {
        fid: f,
        valid: SETATTR.SIZE,
        mode: 0,
        uid: 0,
        gid: 0,
        size: 0n,
        atimeSec: 0n,
        atimeNsec: 0n,
        mtimeSec: 0n,
        mtimeNsec: 0n,
      }),
      Errno.EINVAL,
    );
    await c.rpc('Tsetattr', {
      fid: f,
      valid: SETATTR.ATIME | SETATTR.MTIME | SETATTR.ATIME_SET | SETATTR.MTIME_SET,
      mode: 0,
      uid: 0,
      gid: 0,
      size: 0n,
      atimeSec: 1000n,
      atimeNsec: 0n,
      mtimeSec: 1000n,
      mtimeNsec: 0n,
    });
    await c.clunk(f);
  }
  // readlink returns the stored text (the guest resolves it in its own namespace).
  const abs = await c.walk(root, 'abs');
  const t = await c.rpc('Treadlink', { fid: abs });
  assert.equal(Buffer.from(t.target).toString(), path.join(outside, 'secret'));
  outsideUntouched();
  await backend.close();
});

test('9p server: creating on a planted symlink never creates or opens its target', async () => {
  const { c, root, backend } = await session();
  for (const name of ['dangling', 'abs', 'rel']) {
    for (const flags of [LFLAG.WRONLY, LFLAG.RDWR | LFLAG.TRUNC, LFLAG.WRONLY | LFLAG.EXCL]) {
      const d = await c.walk(root);
      const e = await c.errno('Tlcreate', {
        fid: d,
        name: bytesOf(name),
        flags,
        mode: 0o644,
        gid: 0,
      });
      assert.ok(e === Errno.ELOOP || e === Errno.EEXIST, `lcreate ${name}: errno ${e}`);
      await c.clunk(d);
    }
    assert.equal(
      await c.errno('Tmknod', {
        dfid: root,
        name: bytesOf(name),
        mode: 0o100644,
        major: 0,
        minor: 0,
        gid: 0,
      }),
      Errno.EEXIST,
    );
    assert.equal(
      await c.errno('Tmkdir', { dfid: root, name: bytesOf(name), mode: 0o755, gid: 0 }),
      Errno.EEXIST,
    );
  }
  // Names that are paths, or dots, are refused outright.
  for (const bad of ['../outside/x', '/tmp/x', 'a/b', '.', '..', '', 'nul\0x', 'x'.repeat(256)]) {
    const d = await c.walk(root);
    const e = await c.errno('Tlcreate', {
      fid: d,
      name: bytesOf(bad),
      flags: 1,
      mode: 0o644,
      gid: 0,
    });
    assert.ok(
      [Errno.EINVAL, Errno.ENOENT, Errno.ENAMETOOLONG].includes(e as 22),
      `${JSON.stringify(bad)}: ${e}`,
    );
    await c.clunk(d);
    for (const [op, body] of [
      ['Tmkdir', { dfid: root, name: bytesOf(bad), mode: 0o755, gid: 0 }],
      ['Tsymlink', { fid: root, name: bytesOf(bad), symtgt: bytesOf('/etc'), gid: 0 }],
      ['Tunlinkat', { dirfid: root, name: bytesOf(bad), flags: 0 }],
      [
        'Trenameat',
        { olddirfid: root, oldname: bytesOf('hello.txt'), newdirfid: root, newname: bytesOf(bad) },
      ],
      [
        'Trenameat',
        { olddirfid: root, oldname: bytesOf(bad), newdirfid: root, newname: bytesOf('y') },
      ],
      ['Tlink', { dfid: root, fid: root, name: bytesOf(bad) }],
    ] as const) {
      await assert.rejects(
        c.rpc(op as 'Tmkdir', body as never),
        P9Failure,
        `${op} ${JSON.stringify(bad)}`,
      );
    }
    const wf = c.fid();
    if (bad !== '.' && bad !== '..') {
      await assert.rejects(
        c.rpc('Twalk', { fid: root, newfid: wf, wnames: [bytesOf(bad)] }),
        P9Failure,
      );
    }
  }
  assert.ok(fs.existsSync(path.join(exportDir, 'hello.txt')));
  outsideUntouched();
  await backend.close();
});

test('9p server: hard links and renames of symlinks move the link, not its target', async () => {
  const { c, root, backend } = await session();
  const abs = await c.walk(root, 'abs');
  await c.rpc('Tlink', { dfid: root, fid: abs, name: bytesOf('abs-link') });
  assert.ok(fs.lstatSync(path.join(exportDir, 'abs-link')).isSymbolicLink());
  assert.equal(fs.statSync(path.join(outside, 'secret')).nlink, 1, 'secret got no new link');
  await c.rpc('Trenameat', {
    olddirfid: root,
    oldname: bytesOf('abs-link'),
    newdirfid: root,
    newname: bytesOf('abs-moved'),
  });
  assert.ok(fs.lstatSync(path.join(exportDir, 'abs-moved')).isSymbolicLink());
  await c.rpc('Tunlinkat', { dirfid: root, name: bytesOf('abs-moved'), flags: 0 });
  assert.ok(!fs.existsSync(path.join(exportDir, 'abs-moved')));
  // unlinkat of a link to a directory with AT_REMOVEDIR refuses (it is not a directory).
  assert.equal(
    await c.errno('Tunlinkat', { dirfid: root, name: bytesOf('dirlink'), flags: AT_REMOVEDIR }),
    Errno.ENOTDIR,
  );
  outsideUntouched();
  await backend.close();
});

test('9p server: a directory swapped for a symlink after the walk keeps operations inside', async () => {
  const { c, root, backend } = await session();
  fs.mkdirSync(path.join(exportDir, 'victim'));
  const v = await c.walk(root, 'victim');
  // The host (standing in for a racing attacker) swaps the directory for a link out.
  fs.renameSync(path.join(exportDir, 'victim'), path.join(exportDir, 'victim-moved'));
  fs.symlinkSync(outside, path.join(exportDir, 'victim'));
  const d = await c.walk(v);
  await c.rpc('Tlcreate', {
    fid: d,
    name: bytesOf('made'),
    flags: LFLAG.WRONLY,
    mode: 0o644,
    gid: 0,
  });
  await c.rpc('Twrite', { fid: d, offset: 0n, data: bytesOf('x') });
  await c.rpc('Tmkdir', { dfid: v, name: bytesOf('madedir'), mode: 0o755, gid: 0 });
  await c.rpc('Tsymlink', { fid: v, name: bytesOf('madelink'), symtgt: bytesOf('/'), gid: 0 });
  assert.ok(fs.existsSync(path.join(exportDir, 'victim-moved', 'made')));
  assert.ok(fs.existsSync(path.join(exportDir, 'victim-moved', 'madedir')));
  // A fresh walk by name now meets the symlink and stops there.
  const again = c.fid();
  const r = await c.rpc('Twalk', {
    fid: root,
    newfid: again,
    wnames: ['victim', 'secret'].map(bytesOf),
  });
  assert.equal(r.wqids.length, 1);
  outsideUntouched();
  fs.unlinkSync(path.join(exportDir, 'victim'));
  fs.rmSync(path.join(exportDir, 'victim-moved'), { recursive: true });
  await backend.close();
});

test('9p server: a file swapped for a symlink after the walk is opened as the original inode', async () => {
  const { c, root, backend } = await session();
  fs.writeFileSync(path.join(exportDir, 'swap'), 'original');
  const f = await c.walk(root, 'swap');
  fs.renameSync(path.join(exportDir, 'swap'), path.join(exportDir, 'swap-old'));
  fs.symlinkSync(path.join(outside, 'secret'), path.join(exportDir, 'swap'));
  await c.rpc('Tlopen', { fid: f, flags: LFLAG.RDWR });
  assert.equal((await c.readAll(f)).toString(), 'original');
  await c.rpc('Twrite', { fid: f, offset: 0n, data: bytesOf('ORIGINAL') });
  const g = await c.walk(root, 'swap');
  await c.rpc('Tsetattr', {
    fid: g,
    valid: SETATTR.MODE,
    mode: 0o600,
    uid: 0,
    gid: 0,
    size: 0n,
    atimeSec: 0n,
    atimeNsec: 0n,
    mtimeSec: 0n,
    mtimeNsec: 0n,
  });
  // readlink of the old fid (a file) is refused; of the new one, the link text.
  assert.equal(await c.errno('Treadlink', { fid: f }), Errno.EINVAL);
  assert.equal(fs.readFileSync(path.join(exportDir, 'swap-old'), 'utf8'), 'ORIGINAL');
  outsideUntouched();
  fs.unlinkSync(path.join(exportDir, 'swap'));
  fs.unlinkSync(path.join(exportDir, 'swap-old'));
  await backend.close();
});

test('9p server: file operations, ownership and mode policy', async () => {
  const { c, root, backend } = await session();
  const d = await c.walk(root);
  const cr = await c.rpc('Tlcreate', {
    fid: d,
    name: bytesOf('new.bin'),
    flags: LFLAG.RDWR,
    mode: 0o6775,
    gid: 1000,
  });
  assert.equal(cr.qid.type, QT.FILE);
  const data = Buffer.alloc(300_000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
  let off = 0;
  while (off < data.length) {
    const chunk = data.subarray(off, off + 100_000);
    const w = await c.rpc('Twrite', { fid: d, offset: BigInt(off), data: chunk });
    off += w.count;
  }
  assert.deepEqual(fs.readFileSync(path.join(exportDir, 'new.bin')), data);
  const st = fs.statSync(path.join(exportDir, 'new.bin'));
  assert.equal(st.mode & 0o7777, 0o775, 'set-uid and set-gid dropped, umask undone');
  const a = await c.rpc('Tgetattr', { fid: d, mask: 0x3fffn });
  assert.equal(a.uid, 0);
  assert.equal(a.gid, 0);
  assert.equal(a.size, 300_000n);
  assert.equal(a.mode, 0o100775);
  // chown to root is accepted, to anyone else refused
  const noSet = { mode: 0, size: 0n, atimeSec: 0n, atimeNsec: 0n, mtimeSec: 0n, mtimeNsec: 0n };
  await c.rpc('Tsetattr', { fid: d, valid: SETATTR.UID | SETATTR.GID, uid: 0, gid: 0, ...noSet });
  assert.equal(
    await c.errno('Tsetattr', { fid: d, valid: SETATTR.UID, uid: 1000, gid: 0, ...noSet }),
    Errno.EPERM,
  );
  // truncate through the open fid, times
  await c.rpc('Tsetattr', { fid: d, valid: SETATTR.SIZE, uid: 0, gid: 0, ...noSet, size: 10n });
  assert.equal(fs.statSync(path.join(exportDir, 'new.bin')).size, 10);
  await c.rpc('Tsetattr', {
    fid: d,
    valid: SETATTR.MTIME | SETATTR.MTIME_SET,
    uid: 0,
    gid: 0,
    ...noSet,
    mtimeSec: 1_000_000_000n,
    mtimeNsec: 500_000_000n,
  });
  assert.equal(Math.round(fs.statSync(path.join(exportDir, 'new.bin')).mtimeMs), 1_000_000_000_500);
  await c.rpc('Tfsync', { fid: d, datasync: 0 });
  // statfs
  const sf = await c.rpc('Tstatfs', { fid: root });
  assert.ok(sf.blocks > 0n && sf.namelen === 255);
  // xattrs: an empty list, no names
  const x = c.fid();
  const xw = await c.rpc('Txattrwalk', { fid: root, newfid: x, name: bytesOf('') });
  assert.equal(xw.size, 0n);
  assert.equal((await c.rpc('Tread', { fid: x, offset: 0n, count: 100 })).data.length, 0);
  await c.clunk(x);
  assert.equal(
    await c.errno('Txattrwalk', { fid: root, newfid: c.fid(), name: bytesOf('user.x') }),
    Errno.ENODATA,
  );
  assert.equal(
    await c.errno('Txattrcreate', { fid: d, name: bytesOf('user.x'), attrSize: 1n, flags: 0 }),
    Errno.EOPNOTSUPP,
  );
  // mknod: regular files yes, devices and FIFOs no
  await c.rpc('Tmknod', {
    dfid: root,
    name: bytesOf('nodefile'),
    mode: 0o100600,
    major: 0,
    minor: 0,
    gid: 0,
  });
  assert.ok(fs.statSync(path.join(exportDir, 'nodefile')).isFile());
  assert.equal(
    await c.errno('Tmknod', {
      dfid: root,
      name: bytesOf('dev'),
      mode: 0o020600,
      major: 1,
      minor: 3,
      gid: 0,
    }),
    Errno.EPERM,
  );
  assert.equal(
    await c.errno('Tmknod', {
      dfid: root,
      name: bytesOf('fifo'),
      mode: 0o010600,
      major: 0,
      minor: 0,
      gid: 0,
    }),
    Errno.EOPNOTSUPP,
  );
  // rename a walked fid (Trename) and keep using it
  const nf = await c.walk(root, 'nodefile');
  await c.rpc('Trename', { fid: nf, dfid: root, name: bytesOf('renamed') });
  const link = await c.rpc('Tlink', { dfid: root, fid: nf, name: bytesOf('hardlink') });
  assert.ok(link);
  assert.equal(fs.statSync(path.join(exportDir, 'renamed')).nlink, 2);
  await c.rpc('Tremove', { fid: nf });
  assert.ok(!fs.existsSync(path.join(exportDir, 'renamed')));
  assert.equal(await c.errno('Tgetattr', { fid: nf, mask: 1n }), Errno.EBADF, 'remove clunks');
  for (const n of ['new.bin', 'hardlink'])
    await c.rpc('Tunlinkat', { dirfid: root, name: bytesOf(n), flags: 0 });
  await backend.close();
});

test('9p server: readdir over thousands of entries has stable offsets', async () => {
  const big = path.join(exportDir, 'big');
  fs.mkdirSync(big);
  const N = 3000;
  for (let i = 0; i < N; i++)
    fs.writeFileSync(path.join(big, `entry-${i}-${'x'.repeat(i % 40)}`), '');
  const { c, root, backend } = await session();
  const d = await c.walk(root, 'big');
  await c.rpc('Tlopen', { fid: d, flags: 0 });
  const all = await c.readdirAll(d, 4000);
  const names = all.map((e) => e.name);
  assert.equal(names.length, N + 2);
  assert.equal(new Set(names).size, N + 2, 'no duplicates');
  assert.deepEqual(names.slice(0, 2), ['.', '..']);
  // offsets strictly increase, and resuming from any offset gives the same tail
  for (let i = 1; i < all.length; i++) assert.ok(all[i]!.offset > all[i - 1]!.offset);
  const mid = all[1234]!;
  const again = await c.rpc('Treaddir', { fid: d, offset: mid.offset, count: 4000 });
  assert.equal(parseDirents(again.data)[0]!.name, all[1235]!.name);
  // qids match getattr of the same names
  const one = all.find((e) => e.name === 'entry-7-xxxxxxx')!;
  const f = await c.walk(root, 'big', one.name);
  assert.equal((await c.rpc('Tgetattr', { fid: f, mask: 0x7ffn })).qid.path, one.qid.path);
  // entries deleted mid-listing are skipped, the rest still come once
  const d2 = await c.walk(root, 'big');
  await c.rpc('Tlopen', { fid: d2, flags: 0 });
  const first = parseDirents((await c.rpc('Treaddir', { fid: d2, offset: 0n, count: 2000 })).data);
  for (const n of names.slice(first.length, first.length + 500)) fs.unlinkSync(path.join(big, n));
  let off = first[first.length - 1]!.offset;
  const rest: string[] = [];
  for (;;) {
    const ents = parseDirents(
      (await c.rpc('Treaddir', { fid: d2, offset: off, count: 2000 })).data,
    );
    if (ents.length === 0) break;
    rest.push(...ents.map((e) => e.name));
    off = ents[ents.length - 1]!.offset;
  }
  assert.equal(first.length + rest.length, N + 2 - 500);
  // a count too small for one entry is an error, not an end of directory
  assert.equal(await c.errno('Treaddir', { fid: d, offset: 0n, count: 10 }), Errno.EINVAL);
  await backend.close();
  fs.rmSync(big, { recursive: true });
});

test('9p server: a read-only export refuses every change with EROFS', async () => {
  const { c, root, backend } = await session({ readOnly: true });
  const f = await c.walk(root, 'hello.txt');
  const noSet = {
    uid: 0,
    gid: 0,
    size: 0n,
    atimeSec: 0n,
    atimeNsec: 0n,
    mtimeSec: 0n,
    mtimeNsec: 0n,
  };
  const d = await c.walk(root);
  const checks: [string, Promise<number>][] = [
    ['lopen rw', c.errno('Tlopen', { fid: f, flags: LFLAG.RDWR })],
    ['lopen wr', c.errno('Tlopen', { fid: await c.walk(root, 'hello.txt'), flags: LFLAG.WRONLY })],
    [
      'lopen trunc',
      c.errno('Tlopen', { fid: await c.walk(root, 'hello.txt'), flags: LFLAG.TRUNC }),
    ],
    ['lcreate', c.errno('Tlcreate', { fid: d, name: bytesOf('n'), flags: 1, mode: 0o644, gid: 0 })],
    ['mkdir', c.errno('Tmkdir', { dfid: root, name: bytesOf('n'), mode: 0o755, gid: 0 })],
    [
      'symlink',
      c.errno('Tsymlink', { fid: root, name: bytesOf('n'), symtgt: bytesOf('x'), gid: 0 }),
    ],
    [
      'mknod',
      c.errno('Tmknod', {
        dfid: root,
        name: bytesOf('n'),
        mode: 0o100644,
        major: 0,
        minor: 0,
        gid: 0,
      }),
    ],
    ['link', c.errno('Tlink', { dfid: root, fid: f, name: bytesOf('n') })],
    ['rename', c.errno('Trename', { fid: f, dfid: root, name: bytesOf('n') })],
    [
      'renameat',
      c.errno('Trenameat', {
        olddirfid: root,
        oldname: bytesOf('hello.txt'),
        newdirfid: root,
        newname: bytesOf('n'),
      }),
    ],
    ['unlinkat', c.errno('Tunlinkat', { dirfid: root, name: bytesOf('hello.txt'), flags: 0 })],
    ['chmod', c.errno('Tsetattr', { fid: f, valid: SETATTR.MODE, mode: 0o600, ...noSet })],
    ['truncate', c.errno('Tsetattr', { fid: f, valid: SETATTR.SIZE, mode: 0, ...noSet })],
    ['utimes', c.errno('Tsetattr', { fid: f, valid: SETATTR.MTIME, mode: 0, ...noSet })],
    [
      'xattrcreate',
      c.errno('Txattrcreate', { fid: f, name: bytesOf('user.a'), attrSize: 0n, flags: 0 }),
    ],
    ['remove', c.errno('Tremove', { fid: await c.walk(root, 'hello.txt') })],
  ];
  for (const [what, p] of checks) assert.equal(await p, Errno.EROFS, what);
  // reading still works
  const r = await c.walk(root, 'hello.txt');
  await c.rpc('Tlopen', { fid: r, flags: 0 });
  assert.equal((await c.readAll(r)).toString(), 'hello\n');
  assert.equal(fs.readFileSync(path.join(exportDir, 'hello.txt'), 'utf8'), 'hello\n');
  await backend.close();
});

test('9p server: bad fids, racing clunks and floods get errors, never exceptions', async () => {
  const { c, root, server, backend } = await session({ maxFids: 64 });
  assert.equal(await c.errno('Tgetattr', { fid: 999, mask: 1n }), Errno.EBADF);
  assert.equal(await c.errno('Tclunk', { fid: 999 }), Errno.EBADF);
  assert.equal(
    await c.errno('Twalk', { fid: root, newfid: root + 0, wnames: [bytesOf('nope')] }),
    Errno.ENOENT,
  );
  const f = await c.walk(root, 'hello.txt');
  assert.equal(
    await c.errno('Twalk', { fid: root, newfid: f, wnames: [] }),
    Errno.EBADF,
    'newfid in use',
  );
  assert.equal(
    await c.errno('Twalk', { fid: root, newfid: 0xffff_ffff, wnames: [] }),
    Errno.EBADF,
    'NOFID',
  );
  assert.equal(await c.errno('Tread', { fid: f, offset: 0n, count: 10 }), Errno.EBADF, 'not open');
  assert.equal(await c.errno('Twrite', { fid: f, offset: 0n, data: bytesOf('x') }), Errno.EBADF);
  await c.rpc('Tlopen', { fid: f, flags: 0 });
  assert.equal(await c.errno('Tlopen', { fid: f, flags: 0 }), Errno.EBADF, 'opened twice');
  assert.equal(
    await c.errno('Twrite', { fid: f, offset: 0n, data: bytesOf('x') }),
    Errno.EBADF,
    'read-only fid',
  );
  // A huge read count is clamped to the msize.
  const big = await c.rpc('Tread', { fid: f, offset: 0n, count: 0xffff_ffff });
  assert.equal(Buffer.from(big.data).toString(), 'hello\n');
  const far = await c.rpc('Tread', { fid: f, offset: 1n << 62n, count: 10 });
  assert.equal(far.data.length, 0, 'beyond the end');
  assert.equal(
    await c.errno('Tread', { fid: f, offset: 0xffff_ffff_ffff_fff0n, count: 10 }),
    Errno.EINVAL,
    'a negative loff_t, as Linux says',
  );
  // A reply that does not fit the room the client gave shrinks or becomes an error.
  const small = await c.raw(encodeMessage('Tread', 77, { fid: f, offset: 0n, count: 100 }), 13);
  assert.equal(small.op, 'Rread');
  assert.equal((small.data as Uint8Array).length, 2);
  assert.equal((await server.handle(encodeMessage('Tclunk', 1, { fid: 12345 }), 5)).length, 0);
  // Clunk racing reads: every request gets an answer, the read either completes or fails cleanly.
  const g = await c.walk(root, 'hello.txt');
  await c.rpc('Tlopen', { fid: g, flags: 0 });
  const reads = Array.from({ length: 20 }, (_, i) =>
    server.handle(encodeMessage('Tread', 200 + i, { fid: g, offset: 0n, count: 100 })),
  );
  const cl = server.handle(encodeMessage('Tclunk', 300, { fid: g }));
  const replies = await Promise.all([...reads, cl]);
  for (const r of replies) assert.ok(r.length >= 7);
  // Fid flood: the table is bounded.
  let refused = 0;
  for (let i = 0; i < 100; i++) {
    try {
      await c.walk(root);
    } catch (e) {
      assert.ok(e instanceof P9Failure && e.errno === Errno.EMFILE);
      refused++;
    }
  }
  assert.ok(refused > 0 && server.fidCount <= 64);
  // Garbage of every kind gets an Rlerror with the request's tag.
  for (const bytes of [
    Uint8Array.of(1, 2, 3),
    Uint8Array.of(9, 0, 0, 0, 110, 5, 0, 1, 2),
    encodeMessage('Rversion', 4, { msize: 1, version: bytesOf('x') }),
  ]) {
    const r = await server.handle(bytes);
    assert.equal(r[4], 7, 'Rlerror');
  }
  // After a new Tversion every old fid is gone and the host descriptors are released.
  await c.connect();
  assert.equal(server.fidCount, 1);
  assert.ok(backend.openDescriptors <= 3, `descriptors left open: ${backend.openDescriptors}`);
  await backend.close();
});

test('9p server: POSIX locks between guest processes', async () => {
  const { c, root, backend } = await session();
  const f = await c.walk(root, 'hello.txt');
  await c.rpc('Tlopen', { fid: f, flags: LFLAG.RDWR });
  const lk = (type: number, procId: number, start = 0n, length = 0n) =>
    c.rpc('Tlock', { fid: f, type, flags: 0, start, length, procId, clientId: bytesOf('guest') });
  assert.equal((await lk(1, 100, 0n, 10n)).status, LOCK_STATUS.SUCCESS);
  assert.equal((await lk(1, 200, 5n, 1n)).status, LOCK_STATUS.BLOCKED);
  assert.equal((await lk(0, 200, 10n, 5n)).status, LOCK_STATUS.SUCCESS, 'no overlap');
  const g = await c.rpc('Tgetlock', {
    fid: f,
    type: 1,
    start: 0n,
    length: 0n,
    procId: 200,
    clientId: bytesOf('guest'),
  });
  assert.equal(g.type, 1);
  assert.equal(g.procId, 100);
  assert.equal(g.length, 10n);
  assert.equal((await lk(2, 100, 0n, 0n)).status, LOCK_STATUS.SUCCESS, 'unlock all');
  assert.equal((await lk(1, 200, 5n, 1n)).status, LOCK_STATUS.SUCCESS);
  const free = await c.rpc('Tgetlock', {
    fid: f,
    type: 0,
    start: 100n,
    length: 1n,
    procId: 100,
    clientId: bytesOf('guest'),
  });
  assert.equal(free.type, 2, 'UNLCK: nothing in the way');
  assert.equal(
    await c.errno('Tlock', {
      fid: f,
      type: 9,
      flags: 0,
      start: 0n,
      length: 0n,
      procId: 1,
      clientId: bytesOf(''),
    }),
    Errno.EINVAL,
  );
  await backend.close();
});

test('9p server: readdir snapshots are bounded per session and retaken when dropped', async () => {
  const dir = path.join(exportDir, 'budget');
  fs.mkdirSync(dir);
  for (let i = 0; i < 200; i++) fs.writeFileSync(path.join(dir, `n${i}`), '');
  const backend = await HostDir.open(exportDir);
  const server = new P9Server(backend, { maxListingEntries: 250 });
  const c = new TestClient(server);
  const root = await c.connect();
  const a = await c.walk(root, 'budget');
  const b = await c.walk(root, 'budget');
  await c.rpc('Tlopen', { fid: a, flags: 0 });
  await c.rpc('Tlopen', { fid: b, flags: 0 });
  // Interleave two listings that cannot both be held.
  const seen: Record<number, string[]> = { [a]: [], [b]: [] };
  const off: Record<number, bigint> = { [a]: 0n, [b]: 0n };
  for (let round = 0; round < 100; round++) {
    for (const f of [a, b]) {
      const ents = parseDirents(
        (await c.rpc('Treaddir', { fid: f, offset: off[f]!, count: 300 })).data,
      );
      if (ents.length === 0) continue;
      seen[f]!.push(...ents.map((e) => e.name));
      off[f] = ents[ents.length - 1]!.offset;
    }
  }
  for (const f of [a, b]) {
    assert.equal(seen[f]!.length, 202);
    assert.equal(new Set(seen[f]).size, 202);
  }
  await backend.close();
  fs.rmSync(dir, { recursive: true });
});

test('9p server: names are raw bytes; Tflush answers after the flushed request', async () => {
  const { c, root, server, backend } = await session();
  const raw = Uint8Array.of(0x6e, 0xff, 0xfe, 0x41); // not UTF-8
  const d = await c.walk(root);
  await c.rpc('Tlcreate', { fid: d, name: raw, flags: LFLAG.WRONLY, mode: 0o644, gid: 0 });
  const host = fs
    .readdirSync(exportDir, { encoding: 'buffer' })
    .find((n) => n.length === 4 && n[1] === 0xff);
  assert.ok(host, 'the host file has exactly the bytes the guest sent');
  const l = await c.walk(root);
  await c.rpc('Tlopen', { fid: l, flags: 0 });
  const listed = parseDirents((await c.rpc('Treaddir', { fid: l, offset: 0n, count: 65536 })).data);
  assert.ok(listed.some((e) => e.name === Buffer.from(raw).toString()));
  await c.rpc('Tunlinkat', { dirfid: root, name: raw, flags: 0 });

  // Tflush of a tag in flight: its reply comes first, then Rflush.
  const f = await c.walk(root, 'hello.txt');
  await c.rpc('Tlopen', { fid: f, flags: 0 });
  const order: string[] = [];
  const read = server
    .handle(encodeMessage('Tread', 500, { fid: f, offset: 0n, count: 10 }))
    .then((r) => {
      order.push(`reply ${r[4]}`);
    });
  const flush = server.handle(encodeMessage('Tflush', 501, { oldtag: 500 })).then((r) => {
    order.push(`flush ${r[4]}`);
  });
  await Promise.all([read, flush]);
  assert.deepEqual(order, ['reply 117', 'flush 109']);
  const idle = await server.handle(encodeMessage('Tflush', 502, { oldtag: 999 }));
  assert.equal(idle[4], 109, 'flushing nothing is fine');
  await backend.close();
});

test('a saved session comes back in a new server: walked and open fids, nothing else', async () => {
  const { c, server, root } = await session();
  const sub = await c.walk(root, 'sub');
  const inner = await c.walk(root, 'sub', 'inner');
  await c.rpc('Tlopen', { fid: inner, flags: 0 });
  const gone = await c.walk(root, 'hello.txt');
  fs.writeFileSync(path.join(exportDir, 'temp'), 'x');
  const temp = await c.walk(root, 'temp');
  await c.rpc('Tunlinkat', { dirfid: root, name: bytesOf('temp'), flags: 0 });
  const state = server.save();
  assert.equal(state.fids.length, 4, 'the unlinked file is not kept');

  const backend2 = await HostDir.open(exportDir);
  const server2 = new P9Server(backend2);
  server2.restore(JSON.parse(JSON.stringify(state)));
  const c2 = new TestClient(server2);
  assert.equal((await c2.readAll(inner)).toString(), 'inner\n');
  // (A new client numbers fids from 100 again, and 100 is the restored root.)
  await c2.rpc('Twalk', { fid: sub, newfid: 999, wnames: [bytesOf('inner')] });
  await c2.clunk(999);
  await c2.clunk(gone);
  assert.equal(await c2.errno('Tgetattr', { fid: temp, mask: 0x7ffn }), Errno.EBADF);

  // Hostile session states: bad names, numbers and flags are skipped, never thrown.
  const server3 = new P9Server(backend2);
  server3.restore({
    v: 1,
    msize: 1e12,
    established: true,
    fids: [
      { num: 1, path: [btoa('..')], open: null },
      { num: 2, path: [btoa('sub/inner')], open: 0 },
      { num: -5, path: [], open: null },
      { num: 3, path: [btoa('hello.txt')], open: 0xffff_ffff },
      { num: 4, path: 'nope' as unknown as string[], open: null },
      { num: 5, path: [btoa('hello.txt'), btoa('x')], open: null },
    ],
  });
  const c3 = new TestClient(server3);
  await c3.rpc('Tversion', { msize: 8192, version: bytesOf('9P2000.L') });
  assert.equal(server3.fidCount, 0);
  assert.throws(() => server3.restore({ v: 2 } as never), /unknown session state/);
});

/**
 * A host directory as an FsBackend for the 9P server (cofsN=/dir[,ro]),
 * confined to that directory.
 *
 * ## How confinement works
 *
 * The guest names files only as (directory node, one component). Node has no
 * openat(), but Linux gives the same thing through procfs: for a directory
 * held open as file descriptor D, the path `/proc/self/fd/D/NAME` is looked
 * up by the kernel starting from exactly the directory D refers to (the
 * `/proc/self/fd/D` "magic link" jumps to the open file itself; it is not
 * re-resolved by name). So every operation is "NAME inside the directory I
 * already hold", never a path from the root:
 *
 *  - every node (what a fid points at) is an O_PATH | O_NOFOLLOW descriptor,
 *    opened as `/proc/self/fd/<parent>/<name>` from its parent node's
 *    descriptor, starting at the export root; the kernel never follows a
 *    symlink for us: an O_PATH | O_NOFOLLOW open of a symlink gives the link
 *    itself, and its type is fixed for the descriptor's lifetime;
 *  - only descriptors of directories are ever used as parents (checked from
 *    fstat, which cannot change for an open descriptor), so a symlink can
 *    never be walked through;
 *  - names are single components (no `/`, no NUL, never `.` or `..`; the
 *    server resolves `..` from its own parent links and stops at the root),
 *    so a lookup moves exactly one level down;
 *  - creating opens use O_CREAT | O_NOFOLLOW (a planted symlink, dangling or
 *    not, makes them fail with ELOOP instead of creating its target), and
 *    every other call that takes a final name (lstat, mkdir, symlink,
 *    rename, unlink, rmdir, link, readlink, lutimes) does not follow it;
 *  - operations on a node itself go through its own descriptor
 *    (`/proc/self/fd/<fd>` for chmod, truncate, utimes and opening; fstat),
 *    which is pinned to the inode: swapping names or directories around
 *    between a check and a use changes nothing, because no name is
 *    resolved again;
 *  - only regular files and directories are ever opened for I/O (special
 *    files are the guest's own business), so a host FIFO cannot block the
 *    thread pool.
 *
 * Limits, stated plainly:
 *  - Linux only (procfs and O_PATH); other hosts get a clear error;
 *  - a *host* process that moves a directory out of the export while the
 *    guest holds a node inside it leaves the guest able to reach that
 *    directory where it now is (the descriptor follows the directory); the
 *    guest alone cannot arrange this;
 *  - symlinks the guest creates are stored as real host symlinks; the host
 *    never follows them on the guest's behalf, but a host user who opens one
 *    on the host follows it like any other;
 *  - hard links that already exist on the host may share an inode with a
 *    file outside the export; the guest can create hard links only between
 *    files it can already reach;
 *  - a host process that makes a FIFO or device node in the export and
 *    races it into place where the guest creates a file without O_EXCL could
 *    have it opened (non-blocking); it is closed again at once.
 *
 * Each node holds one host descriptor; the server limits fids per session,
 * and this backend refuses more than `maxDescriptors` open at once (EMFILE).
 */
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import { Errno, LFLAG, P9Error } from '../../fs/9p-protocol.js';
import type {
  FsAttr,
  FsBackend,
  FsFile,
  FsNode,
  FsStatfs,
  NodeKind,
  SetattrRequest,
} from '../../fs/fs-backend.js';

/** Linux's O_PATH (not in fs.constants); the same on every architecture Node runs on. */
const O_PATH = 0o10000000;
const C = fs.constants;
const S_IFMT = 0o170000;

const pOpen = promisify(fs.open);
const pClose = promisify(fs.close);
const pFstat = promisify(fs.fstat) as (
  fd: number,
  opts: { bigint: true },
) => Promise<fs.BigIntStats>;
const pLstat = promisify(fs.lstat) as (
  p: fs.PathLike,
  opts: { bigint: true },
) => Promise<fs.BigIntStats>;
const pStat = promisify(fs.stat) as (
  p: fs.PathLike,
  opts: { bigint: true },
) => Promise<fs.BigIntStats>;
function pRead(fd: number, into: Uint8Array, position: bigint): Promise<number> {
  return new Promise((resolve, reject) =>
    fs.read(fd, into, 0, into.length, position, (e, n) => (e ? reject(e) : resolve(n))),
  );
}
function pWrite(fd: number, data: Uint8Array, position: number): Promise<number> {
  return new Promise((resolve, reject) =>
    fs.write(fd, data, 0, data.length, position, (e, n) => (e ? reject(e) : resolve(n))),
  );
}
const pReaddir = promisify(fs.readdir) as (
  p: fs.PathLike,
  opts: { encoding: 'buffer' },
) => Promise<Buffer[]>;
const pChmod = promisify(fs.chmod);
const pFchmod = promisify(fs.fchmod);
const pTruncate = promisify(fs.truncate);
const pFtruncate = promisify(fs.ftruncate);
const pUtimes = promisify(fs.utimes);
const pLutimes = promisify(fs.lutimes);
const pMkdir = promisify(fs.mkdir) as (p: fs.PathLike, mode: number) => Promise<unknown>;
const pSymlink = promisify(fs.symlink) as (target: Buffer, p: fs.PathLike) => Promise<void>;
const pLink = promisify(fs.link);
const pRename = promisify(fs.rename);
const pUnlink = promisify(fs.unlink);
const pRmdir = promisify(fs.rmdir);
const pReadlink = promisify(fs.readlink) as (
  p: fs.PathLike,
  opts: { encoding: 'buffer' },
) => Promise<Buffer>;
const pFsync = promisify(fs.fsync);
const pFdatasync = promisify(fs.fdatasync);
const pStatfs = promisify(fs.statfs) as (
  p: fs.PathLike,
  opts: { bigint: true },
) => Promise<fs.BigIntStatsFs>;
const pRealpath = promisify(fs.realpath);

export interface HostDirOptions {
  readOnly?: boolean;
  /** Most host descriptors open at once (default 8192). */
  maxDescriptors?: number;
}

function kindOf(mode: number): NodeKind {
  switch (mode & S_IFMT) {
    case 0o040000:
      return 'dir';
    case 0o100000:
      return 'file';
    case 0o120000:
      return 'symlink';
    default:
      return 'other';
  }
}

function fdPath(fd: number): string {
  return `/proc/self/fd/${fd}`;
}

/** Refuse anything but one plain path component (the server checked already; this is the backstop). */
function checkComponent(name: Uint8Array): Buffer {
  if (name.length === 0 || name.length > 255) throw new P9Error(Errno.EINVAL, 'bad name length');
  for (const b of name) if (b === 0x2f || b === 0) throw new P9Error(Errno.EINVAL, 'bad name');
  if (name[0] === 0x2e && (name.length === 1 || (name.length === 2 && name[1] === 0x2e))) {
    throw new P9Error(Errno.EINVAL, '. or ..');
  }
  return Buffer.from(name.buffer, name.byteOffset, name.length);
}

function sameName(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

class HostNode implements FsNode {
  refs = 1;
  /** Unlinked by the guest through this backend: its old name is no longer its own. */
  orphan = false;
  constructor(
    readonly owner: HostDir,
    readonly fd: number,
    readonly kind: NodeKind,
    readonly dev: bigint,
    readonly ino: bigint,
    readonly qidPath: bigint,
    /** Parent directory node (retained by this node); null for the root. */
    public parent: HostNode | null,
    public name: Buffer,
  ) {}
  retain(): void {
    if (this.refs <= 0) throw new Error('cofs: node used after release');
    this.refs++;
  }
  release(): void {
    if (this.refs <= 0) return;
    if (--this.refs === 0) this.owner.dispose(this);
  }
  is(other: HostNode): boolean {
    return this.dev === other.dev && this.ino === other.ino;
  }
}

class HostFile implements FsFile {
  refs = 1;
  constructor(
    readonly owner: HostDir,
    readonly fd: number,
    readonly node: HostNode,
  ) {}
  retain(): void {
    if (this.refs <= 0) throw new Error('cofs: file used after release');
    this.refs++;
  }
  release(): void {
    if (this.refs <= 0) return;
    if (--this.refs === 0) this.owner.disposeFile(this);
  }
}

export class HostDir implements FsBackend {
  readonly readOnly: boolean;
  private readonly rootNode: HostNode;
  private readonly live = new Set<HostNode>();
  private readonly devices = new Map<bigint, bigint>();
  private descriptors = 1;
  private readonly maxDescriptors: number;
  private closed = false;

  private constructor(
    /** The exported directory (real path). */
    readonly path: string,
    rootFd: number,
    st: fs.BigIntStats,
    opts: HostDirOptions,
  ) {
    this.readOnly = opts.readOnly ?? false;
    this.maxDescriptors = opts.maxDescriptors ?? 8192;
    this.rootDev = st.dev;
    this.rootNode = new HostNode(
      this,
      rootFd,
      'dir',
      st.dev,
      st.ino,
      st.ino,
      null,
      Buffer.alloc(0),
    );
  }
  private readonly rootDev: bigint;

  /** Open `dir` for export. Throws an Error with a user-facing message if it cannot be. */
  static async open(dir: string, opts: HostDirOptions = {}): Promise<HostDir> {
    if (process.platform !== 'linux') {
      throw new Error(`cofs: shared folders need a Linux host (this is ${process.platform})`);
    }
    let real: string;
    try {
      real = await pRealpath(dir);
    } catch (e) {
      throw new Error(`cofs: ${dir}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    let fd: number;
    try {
      fd = await pOpen(real, O_PATH | C.O_DIRECTORY);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new Error(
        `cofs: ${dir}: ${code === 'ENOTDIR' ? 'not a directory' : (code ?? String(e))}`,
      );
    }
    try {
      const st = await pFstat(fd, { bigint: true });
      // The whole design rests on /proc/self/fd/N naming the open directory.
      const viaProc = await pStat(fdPath(fd), { bigint: true });
      if (viaProc.ino !== st.ino || viaProc.dev !== st.dev) throw new Error('mismatch');
      return new HostDir(real, fd, st, opts);
    } catch (e) {
      await pClose(fd).catch(() => undefined);
      throw new Error(
        `cofs: ${dir}: /proc/self/fd is not usable on this host (${(e as Error).message})`,
      );
    }
  }

  /** Close every descriptor. Nodes still held become unusable. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.rootNode.refs = 0;
    await pClose(this.rootNode.fd).catch(() => undefined);
  }

  /** Host descriptors this export holds open (for tests and limits). */
  get openDescriptors(): number {
    return this.descriptors;
  }

  // -------------------------------------------------------------------------
  // Node bookkeeping

  private qidPathOf(st: fs.BigIntStats): bigint {
    if (st.dev === this.rootDev) return st.ino;
    // Another file system mounted inside the export: keep its inode numbers
    // apart from the root file system's by a per-device prefix.
    let idx = this.devices.get(st.dev);
    if (idx === undefined) {
      idx = BigInt(this.devices.size + 1);
      this.devices.set(st.dev, idx);
    }
    return (1n << 63n) | ((idx & 0x7fffn) << 48n) | (st.ino & 0xffff_ffff_ffffn);
  }

  private attrOf(st: fs.BigIntStats): FsAttr {
    const mode = Number(st.mode);
    return {
      kind: kindOf(mode),
      mode,
      nlink: st.nlink,
      rdev: st.rdev & 0xffff_ffffn,
      size: st.size,
      blksize: st.blksize,
      blocks: st.blocks,
      atimeNs: st.atimeNs,
      mtimeNs: st.mtimeNs,
      ctimeNs: st.ctimeNs,
      btimeNs: st.birthtimeNs > 0n ? st.birthtimeNs : undefined,
      qidPath: this.qidPathOf(st),
    };
  }

  private node(n: FsNode): HostNode {
    if (!(n instanceof HostNode) || n.owner !== this || n.refs <= 0) {
      throw new P9Error(Errno.EBADF, 'not a node of this export');
    }
    return n;
  }

  private dirNode(n: FsNode): HostNode {
    const d = this.node(n);
    if (d.kind !== 'dir') throw new P9Error(Errno.ENOTDIR);
    return d;
  }

  private file(f: FsFile): HostFile {
    if (!(f instanceof HostFile) || f.owner !== this || f.refs <= 0) {
      throw new P9Error(Errno.EBADF, 'not a file of this export');
    }
    return f;
  }

  /** `/proc/self/fd/<dir>/<name>`: NAME looked up inside the directory DIR holds, and nowhere else. */
  private at(dir: HostNode, name: Uint8Array): Buffer {
    if (dir.kind !== 'dir') throw new P9Error(Errno.ENOTDIR);
    return Buffer.concat([Buffer.from(`${fdPath(dir.fd)}/`), checkComponent(name)]);
  }

  private writable(): void {
    if (this.readOnly) throw new P9Error(Errno.EROFS);
  }

  private async openFd(path: fs.PathLike, flags: number, mode?: number): Promise<number> {
    if (this.closed) throw new P9Error(Errno.EIO, 'export closed');
    if (this.descriptors >= this.maxDescriptors) throw new P9Error(Errno.EMFILE);
    this.descriptors++;
    try {
      return await pOpen(path, flags, mode);
    } catch (e) {
      this.descriptors--;
      throw e;
    }
  }

  private closeFd(fd: number): void {
    this.descriptors--;
    fs.close(fd, () => undefined);
  }

  /** Make a node from an O_PATH descriptor (takes ownership of fd and retains parent). */
  private async adopt(fd: number, parent: HostNode, name: Buffer): Promise<HostNode> {
    let st: fs.BigIntStats;
    try {
      st = await pFstat(fd, { bigint: true });
    } catch (e) {
      this.closeFd(fd);
      throw e;
    }
    parent.retain();
    const node = new HostNode(
      this,
      fd,
      kindOf(Number(st.mode)),
      st.dev,
      st.ino,
      this.qidPathOf(st),
      parent,
      Buffer.from(name),
    );
    this.live.add(node);
    return node;
  }

  /** @internal Last reference gone. */
  dispose(n: HostNode): void {
    if (n === this.rootNode) return;
    this.live.delete(n);
    this.closeFd(n.fd);
    n.parent?.release();
    n.parent = null;
  }

  /** @internal */
  disposeFile(f: HostFile): void {
    this.closeFd(f.fd);
    f.node.release();
  }

  /** The node's current (parent, name), retained parent; ENOENT once unlinked. */
  private location(n: HostNode): HostNode {
    const p = n.parent;
    if (p === null) throw new P9Error(Errno.EBUSY, 'the export root');
    if (n.orphan) throw new P9Error(Errno.ENOENT);
    p.retain();
    return p;
  }

  /** Check that `name` in `dir` is still `n` (it may have been replaced behind our back). */
  private async verify(dir: HostNode, n: HostNode): Promise<Buffer> {
    const path = this.at(dir, n.name);
    const st = await pLstat(path, { bigint: true });
    if (st.ino !== n.ino || st.dev !== n.dev) throw new P9Error(Errno.ESTALE);
    return path;
  }

  /** Names changed by a rename: the moved entry's nodes follow it; nodes it replaced are orphaned. */
  private renamed(from: HostNode, fromName: Buffer, to: HostNode, toName: Buffer): void {
    const moved: HostNode[] = [];
    for (const n of this.live) {
      if (n.orphan || n.parent === null) continue;
      if (n.parent.is(to) && sameName(n.name, toName)) n.orphan = true;
      else if (n.parent.is(from) && sameName(n.name, fromName)) moved.push(n);
    }
    for (const n of moved) {
      to.retain();
      n.parent!.release();
      n.parent = to;
      n.name = Buffer.from(toName);
    }
  }

  private unlinked(dir: HostNode, name: Buffer): void {
    for (const n of this.live) {
      if (n.parent !== null && n.parent.is(dir) && sameName(n.name, name)) n.orphan = true;
    }
  }

  // -------------------------------------------------------------------------
  // FsBackend

  root(): FsNode {
    this.rootNode.retain();
    return this.rootNode;
  }

  pathOf(n: FsNode): Uint8Array[] | undefined {
    const names: Uint8Array[] = [];
    for (let node = this.node(n); node !== this.rootNode;) {
      if (node.orphan || node.parent === null) return undefined;
      names.push(node.name);
      node = node.parent;
    }
    return names.reverse();
  }

  parent(n: FsNode): FsNode {
    const node = this.node(n);
    const p = node.parent ?? this.rootNode;
    p.retain();
    return p;
  }

  async walk(dir: FsNode, name: Uint8Array): Promise<FsNode> {
    const d = this.dirNode(dir);
    const fd = await this.openFd(this.at(d, name), O_PATH | C.O_NOFOLLOW);
    return this.adopt(fd, d, Buffer.from(name));
  }

  async getattr(n: FsNode): Promise<FsAttr> {
    const node = this.node(n);
    return this.attrOf(await pFstat(node.fd, { bigint: true }));
  }

  async lookupAttr(dir: FsNode, name: Uint8Array): Promise<FsAttr> {
    const d = this.dirNode(dir);
    return this.attrOf(await pLstat(this.at(d, name), { bigint: true }));
  }

  async setattr(n: FsNode, req: SetattrRequest, f?: FsFile): Promise<void> {
    const node = this.node(n);
    this.writable();
    const file = f !== undefined ? this.file(f) : undefined;
    if (req.mode !== undefined && node.kind !== 'symlink') {
      // Linux ignores a symlink's mode; everything else through its own descriptor.
      if (file) await pFchmod(file.fd, req.mode & 0o7777);
      else await pChmod(fdPath(node.fd), req.mode & 0o7777);
    }
    if (req.size !== undefined) {
      if (node.kind !== 'file')
        throw new P9Error(node.kind === 'dir' ? Errno.EISDIR : Errno.EINVAL);
      if (file) await pFtruncate(file.fd, Number(req.size));
      else await pTruncate(fdPath(node.fd), Number(req.size));
    }
    if (req.atime !== undefined || req.mtime !== undefined) {
      const st = await pFstat(node.fd, { bigint: true });
      const now = Date.now() / 1000;
      const secs = (t: bigint | 'now' | undefined, cur: bigint): number =>
        t === 'now' ? now : Number(t ?? cur) / 1e9;
      const atime = secs(req.atime, st.atimeNs);
      const mtime = secs(req.mtime, st.mtimeNs);
      if (node.kind === 'symlink') {
        const p = this.location(node);
        try {
          await pLutimes(await this.verify(p, node), atime, mtime);
        } finally {
          p.release();
        }
      } else {
        await pUtimes(fdPath(node.fd), atime, mtime);
      }
    }
  }

  private hostFlags(flags: number): number {
    let h =
      (flags & LFLAG.ACCMODE) === LFLAG.RDWR
        ? C.O_RDWR
        : (flags & LFLAG.ACCMODE) === LFLAG.WRONLY
          ? C.O_WRONLY
          : C.O_RDONLY;
    if (flags & LFLAG.TRUNC) h |= C.O_TRUNC;
    if (flags & LFLAG.APPEND) h |= C.O_APPEND;
    if (flags & LFLAG.SYNC) h |= C.O_SYNC;
    if (flags & LFLAG.DSYNC) h |= C.O_DSYNC;
    return h;
  }

  async open(n: FsNode, flags: number): Promise<FsFile> {
    const node = this.node(n);
    const access = flags & LFLAG.ACCMODE;
    if (this.readOnly && (access !== 0 || flags & LFLAG.TRUNC)) throw new P9Error(Errno.EROFS);
    let hostFlags: number;
    if (node.kind === 'dir') {
      if (access !== 0) throw new P9Error(Errno.EISDIR);
      hostFlags = C.O_RDONLY | C.O_DIRECTORY;
    } else if (node.kind === 'file') {
      hostFlags = this.hostFlags(flags) | C.O_NONBLOCK;
    } else {
      throw new P9Error(node.kind === 'symlink' ? Errno.ELOOP : Errno.EOPNOTSUPP);
    }
    // Reopen the very inode the node holds (the magic link is not resolved by name).
    const fd = await this.openFd(fdPath(node.fd), hostFlags);
    node.retain();
    return new HostFile(this, fd, node);
  }

  async create(
    dir: FsNode,
    name: Uint8Array,
    flags: number,
    mode: number,
  ): Promise<{ node: FsNode; file: FsFile }> {
    const d = this.dirNode(dir);
    this.writable();
    const path = this.at(d, name);
    const base = this.hostFlags(flags) | C.O_NOFOLLOW | C.O_NONBLOCK;
    let fd: number;
    let created = true;
    try {
      fd = await this.openFd(path, base | C.O_CREAT | C.O_EXCL, mode & 0o7777);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || flags & LFLAG.EXCL) throw e;
      // open(O_CREAT) without O_EXCL of an existing file: open it as it is.
      created = false;
      fd = await this.openFd(path, base);
    }
    try {
      const st = await pFstat(fd, { bigint: true });
      if (kindOf(Number(st.mode)) !== 'file') throw new P9Error(Errno.EEXIST);
      // The host's umask may have cut bits the guest asked for.
      if (created && (Number(st.mode) & 0o7777) !== (mode & 0o7777)) {
        await pFchmod(fd, mode & 0o7777);
      }
      const pathFd = await this.openFd(fdPath(fd), O_PATH);
      const node = await this.adopt(pathFd, d, Buffer.from(name));
      node.retain();
      return { node, file: new HostFile(this, fd, node) };
    } catch (e) {
      this.closeFd(fd);
      throw e;
    }
  }

  async read(f: FsFile, offset: bigint, into: Uint8Array): Promise<number> {
    const file = this.file(f);
    if (into.length === 0) return 0;
    return pRead(file.fd, into, offset);
  }

  async write(f: FsFile, offset: bigint, data: Uint8Array): Promise<number> {
    const file = this.file(f);
    this.writable();
    if (offset + BigInt(data.length) > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new P9Error(Errno.EFBIG);
    }
    if (data.length === 0) return 0;
    return pWrite(file.fd, data, Number(offset));
  }

  async list(f: FsFile): Promise<Uint8Array[]> {
    const file = this.file(f);
    if (file.node.kind !== 'dir') throw new P9Error(Errno.ENOTDIR);
    return pReaddir(fdPath(file.fd), { encoding: 'buffer' });
  }

  async mkdir(dir: FsNode, name: Uint8Array, mode: number): Promise<FsNode> {
    const d = this.dirNode(dir);
    this.writable();
    await pMkdir(this.at(d, name), mode & 0o7777);
    const node = (await this.walk(d, name)) as HostNode;
    try {
      if (node.kind === 'dir') {
        const st = await pFstat(node.fd, { bigint: true });
        if ((Number(st.mode) & 0o7777) !== (mode & 0o7777)) {
          await pChmod(fdPath(node.fd), mode & 0o7777);
        }
      }
    } catch (e) {
      node.release();
      throw e;
    }
    return node;
  }

  async symlink(dir: FsNode, name: Uint8Array, target: Uint8Array): Promise<FsNode> {
    const d = this.dirNode(dir);
    this.writable();
    if (target.length === 0 || target.includes(0)) throw new P9Error(Errno.EINVAL);
    await pSymlink(Buffer.from(target), this.at(d, name));
    return this.walk(d, name);
  }

  async link(dir: FsNode, name: Uint8Array, target: FsNode): Promise<void> {
    const d = this.dirNode(dir);
    const t = this.node(target);
    this.writable();
    if (t.kind === 'dir') throw new P9Error(Errno.EPERM);
    const p = this.location(t);
    try {
      // link(2) does not follow a symlink named as the source.
      await pLink(await this.verify(p, t), this.at(d, name));
    } finally {
      p.release();
    }
  }

  async rename(
    oldDir: FsNode,
    oldName: Uint8Array,
    newDir: FsNode,
    newName: Uint8Array,
  ): Promise<void> {
    const from = this.dirNode(oldDir);
    const to = this.dirNode(newDir);
    this.writable();
    await pRename(this.at(from, oldName), this.at(to, newName));
    if (!(from.is(to) && sameName(oldName, newName))) {
      this.renamed(from, Buffer.from(oldName), to, Buffer.from(newName));
    }
  }

  async renameNode(n: FsNode, dir: FsNode, name: Uint8Array): Promise<void> {
    const node = this.node(n);
    this.dirNode(dir);
    this.writable();
    const p = this.location(node);
    try {
      await this.verify(p, node);
      await this.rename(p, node.name, dir, name);
    } finally {
      p.release();
    }
  }

  async unlink(dir: FsNode, name: Uint8Array, removeDir: boolean): Promise<void> {
    const d = this.dirNode(dir);
    this.writable();
    const path = this.at(d, name);
    if (removeDir) await pRmdir(path);
    else await pUnlink(path);
    this.unlinked(d, Buffer.from(name));
  }

  async removeNode(n: FsNode): Promise<void> {
    const node = this.node(n);
    this.writable();
    const p = this.location(node);
    try {
      const path = await this.verify(p, node);
      if (node.kind === 'dir') await pRmdir(path);
      else await pUnlink(path);
      this.unlinked(p, node.name);
    } finally {
      p.release();
    }
  }

  async readlink(n: FsNode): Promise<Uint8Array> {
    const node = this.node(n);
    if (node.kind !== 'symlink') throw new P9Error(Errno.EINVAL);
    const p = this.location(node);
    try {
      return await pReadlink(await this.verify(p, node), { encoding: 'buffer' });
    } finally {
      p.release();
    }
  }

  async statfs(n: FsNode): Promise<FsStatfs> {
    this.node(n);
    const s = await pStatfs(fdPath(this.rootNode.fd), { bigint: true });
    return {
      type: Number(s.type & 0xffff_ffffn),
      bsize: Number(s.bsize),
      blocks: s.blocks,
      bfree: s.bfree,
      bavail: s.bavail,
      files: s.files,
      ffree: s.ffree,
      fsid: this.rootDev,
      namelen: 255,
    };
  }

  async fsync(f: FsFile, dataOnly: boolean): Promise<void> {
    const file = this.file(f);
    if (file.node.kind !== 'file') return;
    await (dataOnly ? pFdatasync(file.fd) : pFsync(file.fd));
  }
}

/** Open a host directory for export (see HostDir.open). */
export function openHostDir(dir: string, opts: HostDirOptions = {}): Promise<HostDir> {
  return HostDir.open(dir, opts);
}

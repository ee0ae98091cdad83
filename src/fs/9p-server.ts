/**
 * A 9P2000.L file server over an FsBackend: one session (what one virtio-9p
 * device carries), its fid table, and the request handlers.
 *
 * `handle(request, maxReply)` takes one T-message and resolves with the
 * R-message; it never rejects. Requests run concurrently (host I/O is async),
 * so every handler takes its own references on the nodes and files it uses:
 * a Tclunk racing a Tread only drops the fid's reference, and the host file
 * stays open until the read is done. A fid being walked into, opened or
 * created is marked busy synchronously, so two racing requests cannot both
 * claim it.
 *
 * Policy (see docs/architecture.md, "cofs"):
 *  - ownership: every file appears owned by uid 0, gid 0 (the host user who
 *    runs colinux is root inside); chown/chgrp to 0 succeed and change
 *    nothing, any other owner is refused with EPERM;
 *  - mode bits pass through, except that set-user-ID is never set and
 *    set-group-ID only on directories;
 *  - a read-only export answers EROFS to everything that would modify it;
 *  - names are checked here (1..255 bytes, no `/` or NUL); `..` is resolved
 *    by the server from its own parent links and stops at the export root.
 */
import {
  AT_REMOVEDIR,
  DT,
  Errno,
  GETATTR,
  HEADER_SIZE,
  LFLAG,
  LOCK_STATUS,
  LOCK_TYPE,
  NOFID,
  P9Error,
  QT,
  RREAD_HEADER,
  SETATTR,
  VERSION_9P2000L,
  Writer,
  bytesOf,
  decodeMessage,
  encodeMessage,
  encodeRlerror,
  errnoFromCode,
  textOf,
  type Message,
  type Qid,
} from './9p-protocol.js';
import type { FsAttr, FsBackend, FsFile, FsNode, NodeKind, SetattrRequest } from './fs-backend.js';
import { LockTable } from './9p-locks.js';

export interface P9ServerOptions {
  /** Largest msize offered in Rversion (default 1 MiB; Linux's virtio transport uses up to 500 KiB). */
  maxMsize?: number;
  /** Most fids one session may hold (default 8192); more get EMFILE. */
  maxFids?: number;
  /**
   * Most directory entries held in readdir snapshots across all fids
   * (default 2^21); beyond it the oldest other snapshots are dropped (and
   * taken again if their fid reads on).
   */
  maxListingEntries?: number;
}

export const DEFAULT_MAX_MSIZE = 1 << 20;
export const MIN_MSIZE = 4096;
const NAME_MAX = 255;
const SYMLINK_MAX = 4095;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;
const S_IFSOCK = 0o140000;
const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const DOT = 0x2e;
const SLASH = 0x2f;

type FidState = 'busy' | 'walked' | 'open' | 'xattr';

interface Fid {
  state: FidState;
  node: FsNode;
  file?: FsFile;
  /** LFLAG access mode the fid was opened with. */
  access: number;
  /** Open flags that reopen it as it was (no TRUNC, CREAT or EXCL), for snapshots. */
  reopen?: number;
  /** Directory listing snapshot for Treaddir (offset n = entry n). */
  listing?: Uint8Array[];
  /** Contents of an xattr fid. */
  xattr?: Uint8Array;
  /** Set once the fid left the table (clunk, remove, session reset). */
  gone: boolean;
}

function qidOf(kind: NodeKind, path: bigint): Qid {
  return {
    type: kind === 'dir' ? QT.DIR : kind === 'symlink' ? QT.SYMLINK : QT.FILE,
    version: 0,
    path,
  };
}

function nodeQid(node: FsNode): Qid {
  return qidOf(node.kind, node.qidPath);
}

function dtOf(mode: number): number {
  switch (mode & S_IFMT) {
    case S_IFDIR:
      return DT.DIR;
    case S_IFREG:
      return DT.REG;
    case 0o120000:
      return DT.LNK;
    case S_IFCHR:
      return DT.CHR;
    case S_IFBLK:
      return DT.BLK;
    case S_IFIFO:
      return DT.FIFO;
    case S_IFSOCK:
      return DT.SOCK;
    default:
      return DT.UNKNOWN;
  }
}

function fail(errno: number, why?: string): never {
  throw new P9Error(errno, why);
}

function isDotName(name: Uint8Array): boolean {
  return (
    (name.length === 1 && name[0] === DOT) ||
    (name.length === 2 && name[0] === DOT && name[1] === DOT)
  );
}

/** Check a path component; `.` and `..` are refused too unless `allowDots`. */
export function checkName(name: Uint8Array, allowDots = false): void {
  if (name.length === 0) fail(Errno.ENOENT, 'empty name');
  if (name.length > NAME_MAX) fail(Errno.ENAMETOOLONG);
  for (const b of name) if (b === SLASH || b === 0) fail(Errno.EINVAL, 'name holds / or NUL');
  if (!allowDots && isDotName(name)) fail(Errno.EINVAL, '. or ..');
}

/** Mode bits kept on the host for a new or chmod'ed object. */
function hostMode(mode: number, kind: NodeKind): number {
  let m = mode & 0o7777 & ~S_ISUID;
  if (kind !== 'dir') m &= ~S_ISGID;
  return m;
}

const NS = 1_000_000_000n;

function splitNs(ns: bigint): [bigint, bigint] {
  let s = ns / NS;
  let n = ns % NS;
  if (n < 0n) {
    n += NS;
    s -= 1n;
  }
  return [s, n];
}

/** A 9P session in a snapshot (P9Server.save). */
export interface P9State {
  v: 1;
  msize: number;
  established: boolean;
  /** Each fid: its number, its object's path from the root (base64 names), and its open flags (null if only walked). */
  fids: Array<{ num: number; path: string[]; open: number | null }>;
}

export class P9Server {
  readonly maxMsize: number;
  private readonly maxFids: number;
  private msize = 0;
  private established = false;
  private fids = new Map<number, Fid>();
  private readonly inflight = new Map<number, Promise<unknown>>();
  private readonly locks = new LockTable();
  private readonly maxListingEntries: number;
  /** Fids holding a listing, oldest first, with its length. */
  private readonly listings = new Map<Fid, number>();
  private listingEntries = 0;

  constructor(
    private readonly fs: FsBackend,
    opts: P9ServerOptions = {},
  ) {
    this.maxMsize = Math.max(MIN_MSIZE, opts.maxMsize ?? DEFAULT_MAX_MSIZE);
    this.maxFids = opts.maxFids ?? 8192;
    this.maxListingEntries = opts.maxListingEntries ?? 1 << 21;
  }

  /** The negotiated msize (0 before Tversion). */
  get negotiatedMsize(): number {
    return this.msize;
  }

  /** Number of fids in the table (for tests). */
  get fidCount(): number {
    return this.fids.size;
  }

  /**
   * The session as plain data, for a snapshot taken with no request in
   * flight: the msize and each fid as the path of its object and how it was
   * opened. Fids of unlinked objects, xattr fids and POSIX locks are not
   * kept (after a resume the guest gets EBADF on the former and its locks
   * are gone, as after a server restart).
   */
  save(): P9State {
    const fids: P9State['fids'] = [];
    for (const [num, fid] of this.fids) {
      if (fid.state !== 'walked' && fid.state !== 'open') continue;
      const names = this.fs.pathOf(fid.node);
      if (!names) continue;
      fids.push({
        num,
        path: names.map((n) => btoa(String.fromCharCode(...n))),
        open: fid.state === 'open' ? (fid.reopen ?? fid.access) : null,
      });
    }
    return { v: 1, msize: this.msize, established: this.established, fids };
  }

  /**
   * Take a session from save(): the fids are found and opened again before
   * the next request is served. The state is outside input: names are
   * checked like a Twalk's, flags masked to what Tlopen accepts.
   */
  restore(state: P9State): void {
    if (state?.v !== 1 || !Array.isArray(state.fids)) throw new Error('9p: unknown session state');
    this.reset();
    const msize = Number(state.msize);
    if (state.established === true && Number.isInteger(msize)) {
      this.msize = Math.min(Math.max(msize, MIN_MSIZE), this.maxMsize);
      this.established = true;
    }
    const list = state.fids.slice(0, this.maxFids);
    this.restoring = this.reopenFids(list).finally(() => (this.restoring = undefined));
  }

  private restoring: Promise<void> | undefined;

  private async reopenFids(list: P9State['fids']): Promise<void> {
    const KEEP = LFLAG.ACCMODE | LFLAG.APPEND | LFLAG.SYNC | LFLAG.DSYNC | LFLAG.DIRECTORY;
    for (const saved of list) {
      const num = Number(saved?.num);
      if (!Number.isInteger(num) || num < 0 || num >= NOFID || this.fids.has(num)) continue;
      if (!Array.isArray(saved.path)) continue;
      let node = this.fs.root();
      try {
        for (const b64 of saved.path) {
          const name = Uint8Array.from(atob(String(b64)), (c) => c.charCodeAt(0));
          checkName(name);
          if (node.kind !== 'dir') fail(Errno.ENOTDIR);
          const next = await this.fs.walk(node, name);
          node.release();
          node = next;
        }
        const fid: Fid = { state: 'walked', node, access: 0, gone: false };
        if (typeof saved.open === 'number') {
          const flags = saved.open & KEEP;
          const access = flags & LFLAG.ACCMODE;
          if (access === 3 || (this.fs.readOnly && access !== 0)) fail(Errno.EROFS);
          fid.file = await this.fs.open(node, flags);
          fid.state = 'open';
          fid.access = access;
          fid.reopen = flags;
        }
        this.fids.set(num, fid);
      } catch {
        // Gone or changed on the host meanwhile: the guest gets EBADF for this fid.
        node.release();
      }
    }
  }

  /** Forget the session: every fid is clunked, every lock dropped (device reset, Tversion). */
  reset(): void {
    for (const fid of this.fids.values()) this.dropFid(fid);
    this.fids = new Map();
    this.locks.clear();
    this.listings.clear();
    this.listingEntries = 0;
    this.established = false;
    this.msize = 0;
  }

  /**
   * Serve one request. `maxReply` is the room the client gave for the reply;
   * replies never exceed it nor the msize (reads and readdir are shortened to
   * fit). Resolves with an empty array only when not even an Rlerror fits.
   */
  async handle(request: Uint8Array, maxReply = Infinity): Promise<Uint8Array> {
    if (this.restoring) await this.restoring;
    const limit = Math.min(maxReply, this.msize || this.maxMsize);
    const decoded = decodeMessage(request, this.msize || this.maxMsize);
    let reply: Uint8Array;
    if (!decoded.ok) {
      reply = encodeRlerror(decoded.tag, decoded.errno);
    } else {
      const msg = decoded.msg;
      const work = this.dispatch(msg, limit).catch((e: unknown) =>
        encodeRlerror(msg.tag, errnoOf(e)),
      );
      if (msg.op !== 'Tflush') this.inflight.set(msg.tag, work);
      try {
        reply = await work;
      } finally {
        if (this.inflight.get(msg.tag) === work) this.inflight.delete(msg.tag);
      }
      if (reply.length > limit) reply = encodeRlerror(msg.tag, Errno.ERANGE);
    }
    return reply.length <= maxReply ? reply : new Uint8Array(0);
  }

  private async dispatch(m: Message, limit: number): Promise<Uint8Array> {
    if (m.op === 'Tversion') return this.version(m);
    if (!this.established) fail(Errno.EPROTO, 'no Tversion yet');
    switch (m.op) {
      case 'Tattach':
        return this.attach(m);
      case 'Tauth':
        return fail(Errno.EOPNOTSUPP, 'no authentication');
      case 'Tflush':
        return this.flush(m);
      case 'Twalk':
        return this.walk(m);
      case 'Tgetattr':
        return this.getattr(m);
      case 'Tsetattr':
        return this.setattr(m);
      case 'Tlopen':
        return this.lopen(m);
      case 'Tlcreate':
        return this.lcreate(m);
      case 'Tread':
        return this.read(m, limit);
      case 'Twrite':
        return this.write(m);
      case 'Treaddir':
        return this.readdir(m, limit);
      case 'Tclunk':
        return Promise.resolve(this.clunk(m));
      case 'Tremove':
        return this.remove(m);
      case 'Tstatfs':
        return this.statfs(m);
      case 'Tfsync':
        return this.fsync(m);
      case 'Tlock':
        return Promise.resolve(this.lock(m));
      case 'Tgetlock':
        return Promise.resolve(this.getlock(m));
      case 'Txattrwalk':
        return Promise.resolve(this.xattrwalk(m));
      case 'Txattrcreate':
        return fail(this.fs.readOnly ? Errno.EROFS : Errno.EOPNOTSUPP, 'no extended attributes');
      case 'Tmkdir':
        return this.mkdir(m);
      case 'Tsymlink':
        return this.symlink(m);
      case 'Tlink':
        return this.link(m);
      case 'Tmknod':
        return this.mknod(m);
      case 'Trename':
        return this.rename(m);
      case 'Trenameat':
        return this.renameat(m);
      case 'Tunlinkat':
        return this.unlinkat(m);
      case 'Treadlink':
        return this.readlink(m);
      default:
        return fail(Errno.EOPNOTSUPP, `${m.op} is not supported`);
    }
  }

  // -------------------------------------------------------------------------
  // Fid table

  /** A fid usable as a file system object (walked or open). */
  private fid(num: number): Fid {
    const fid = this.fids.get(num);
    if (fid === undefined || fid.state === 'busy' || fid.state === 'xattr') {
      fail(Errno.EBADF, `fid ${num} is not in use`);
    }
    return fid;
  }

  /** A fid that is a directory not yet opened (for name-based operations). */
  private dirFid(num: number): Fid {
    const fid = this.fid(num);
    if (fid.node.kind !== 'dir') fail(Errno.ENOTDIR);
    return fid;
  }

  /** Claim an unused fid number for a new fid (marked busy until filled). */
  private claim(num: number, node: FsNode): Fid {
    if (num === NOFID) fail(Errno.EBADF, 'NOFID');
    if (this.fids.has(num)) fail(Errno.EBADF, `fid ${num} is in use`);
    if (this.fids.size >= this.maxFids) fail(Errno.EMFILE, 'too many fids');
    const fid: Fid = { state: 'busy', node, access: 0, gone: false };
    this.fids.set(num, fid);
    return fid;
  }

  private dropFid(fid: Fid): void {
    if (fid.gone) return;
    fid.gone = true;
    this.forgetListing(fid);
    fid.file?.release();
    fid.file = undefined;
    fid.node.release();
  }

  /** Run `fn` with `n` retained, so a racing clunk cannot close it underneath. */
  private async using<T, C extends { retain(): void; release(): void }>(
    n: C,
    fn: () => Promise<T>,
  ): Promise<T> {
    n.retain();
    try {
      return await fn();
    } finally {
      n.release();
    }
  }

  private checkWritable(): void {
    if (this.fs.readOnly) fail(Errno.EROFS);
  }

  // -------------------------------------------------------------------------
  // Session

  private version(m: Message<'Tversion'>): Uint8Array {
    this.reset();
    if (m.msize < MIN_MSIZE) fail(Errno.EINVAL, `msize ${m.msize} is below ${MIN_MSIZE}`);
    const msize = Math.min(m.msize, this.maxMsize);
    const v = textOf(m.version);
    const ok = v === VERSION_9P2000L || v.startsWith(VERSION_9P2000L + '.');
    if (ok) {
      this.msize = msize;
      this.established = true;
    }
    return encodeMessage('Rversion', m.tag, {
      msize,
      version: bytesOf(ok ? VERSION_9P2000L : 'unknown'),
    });
  }

  private async attach(m: Message<'Tattach'>): Promise<Uint8Array> {
    if (m.afid !== NOFID) fail(Errno.EINVAL, 'no authentication fids');
    const root = this.fs.root();
    let fid: Fid;
    try {
      fid = this.claim(m.fid, root);
    } catch (e) {
      root.release();
      throw e;
    }
    fid.state = 'walked';
    return encodeMessage('Rattach', m.tag, { qid: nodeQid(root) });
  }

  private async flush(m: Message<'Tflush'>): Promise<Uint8Array> {
    // Requests cannot be cancelled half-way through host I/O; answer once the
    // old one has been answered, which is what the client waits for.
    const old = this.inflight.get(m.oldtag);
    if (old) await old.catch(() => undefined);
    return encodeMessage('Rflush', m.tag, {});
  }

  private clunk(m: Message<'Tclunk'>): Uint8Array {
    const fid = this.fids.get(m.fid);
    if (fid === undefined || fid.state === 'busy') fail(Errno.EBADF);
    this.fids.delete(m.fid);
    this.locks.dropFid(m.fid);
    this.dropFid(fid);
    return encodeMessage('Rclunk', m.tag, {});
  }

  // -------------------------------------------------------------------------
  // Walking and attributes

  private async walk(m: Message<'Twalk'>): Promise<Uint8Array> {
    const from = this.fids.get(m.fid);
    if (from === undefined || from.state === 'busy' || from.state === 'xattr') fail(Errno.EBADF);
    for (const name of m.wnames) checkName(name, true);
    const same = m.newfid === m.fid;
    if (same && from.state === 'open' && m.wnames.length > 0) fail(Errno.EBADF, 'fid is open');
    if (m.wnames.length > 0 && from.node.kind !== 'dir') fail(Errno.ENOTDIR);

    // The new fid is claimed now, so a racing request cannot take its number.
    let target: Fid | undefined;
    if (!same) {
      from.node.retain();
      try {
        target = this.claim(m.newfid, from.node);
      } catch (e) {
        from.node.release();
        throw e;
      }
    }
    const unclaim = (): void => {
      if (!target) return;
      if (this.fids.get(m.newfid) === target) this.fids.delete(m.newfid);
      this.dropFid(target);
    };
    let cur = from.node;
    cur.retain();
    const qids: Qid[] = [];
    try {
      for (const name of m.wnames) {
        let next: FsNode;
        try {
          if (cur.kind !== 'dir') fail(Errno.ENOTDIR);
          if (isDotName(name)) {
            next = name.length === 1 ? (cur.retain(), cur) : this.fs.parent(cur);
          } else {
            next = await this.fs.walk(cur, name);
          }
        } catch (e) {
          if (qids.length === 0) throw e;
          break; // a partial walk: Rwalk with the qids so far, newfid untouched
        }
        cur.release();
        cur = next;
        qids.push(nodeQid(cur));
      }
    } catch (e) {
      cur.release();
      unclaim();
      throw e;
    }
    const complete = qids.length === m.wnames.length;
    if (!complete) {
      cur.release();
      unclaim();
    } else if (target) {
      if (!target.gone) {
        target.node.release();
        target.node = cur;
        target.state = 'walked';
      } else {
        cur.release(); // the session was reset meanwhile
      }
    } else if (!from.gone && from.state === 'walked') {
      from.node.release();
      from.node = cur;
      this.forgetListing(from);
    } else {
      cur.release();
    }
    return encodeMessage('Rwalk', m.tag, { wqids: qids });
  }

  private async getattr(m: Message<'Tgetattr'>): Promise<Uint8Array> {
    const fid = this.fid(m.fid);
    const a = await this.using(fid.node, () => this.fs.getattr(fid.node));
    return encodeGetattr(m.tag, a);
  }

  private async setattr(m: Message<'Tsetattr'>): Promise<Uint8Array> {
    const fid = this.fid(m.fid);
    const valid = m.valid;
    const changes =
      SETATTR.MODE | SETATTR.UID | SETATTR.GID | SETATTR.SIZE | SETATTR.ATIME | SETATTR.MTIME;
    if ((valid & changes) === 0) return encodeMessage('Rsetattr', m.tag, {});
    this.checkWritable();
    if (valid & SETATTR.UID && m.uid !== 0) fail(Errno.EPERM, 'files belong to root');
    if (valid & SETATTR.GID && m.gid !== 0) fail(Errno.EPERM, 'files belong to group root');
    const req: SetattrRequest = {};
    if (valid & SETATTR.MODE) req.mode = hostMode(m.mode, fid.node.kind);
    if (valid & SETATTR.SIZE) {
      if (fid.node.kind === 'dir') fail(Errno.EISDIR);
      if (fid.node.kind !== 'file') fail(Errno.EINVAL);
      if (m.size > BigInt(Number.MAX_SAFE_INTEGER)) fail(Errno.EFBIG);
      req.size = m.size;
    }
    const time = (set: boolean, sec: bigint, nsec: bigint): bigint | 'now' => {
      if (!set) return 'now';
      if (nsec >= NS) fail(Errno.EINVAL, 'nanoseconds out of range');
      return BigInt.asIntN(64, sec) * NS + nsec;
    };
    if (valid & SETATTR.ATIME) {
      req.atime = time((valid & SETATTR.ATIME_SET) !== 0, m.atimeSec, m.atimeNsec);
    }
    if (valid & SETATTR.MTIME) {
      req.mtime = time((valid & SETATTR.MTIME_SET) !== 0, m.mtimeSec, m.mtimeNsec);
    }
    const file = fid.state === 'open' && fid.access !== 0 ? fid.file : undefined;
    file?.retain();
    try {
      await this.using(fid.node, () => this.fs.setattr(fid.node, req, file));
    } finally {
      file?.release();
    }
    return encodeMessage('Rsetattr', m.tag, {});
  }

  private async statfs(m: Message<'Tstatfs'>): Promise<Uint8Array> {
    const fid = this.fid(m.fid);
    const s = await this.using(fid.node, () => this.fs.statfs(fid.node));
    return encodeMessage('Rstatfs', m.tag, s);
  }

  private async readlink(m: Message<'Treadlink'>): Promise<Uint8Array> {
    const fid = this.fid(m.fid);
    if (fid.node.kind !== 'symlink') fail(Errno.EINVAL, 'not a symlink');
    const target = await this.using(fid.node, () => this.fs.readlink(fid.node));
    if (target.length > 0xffff) fail(Errno.ENAMETOOLONG);
    return encodeMessage('Rreadlink', m.tag, { target });
  }

  private xattrwalk(m: Message<'Txattrwalk'>): Uint8Array {
    const fid = this.fid(m.fid);
    // No extended attributes are exported: the list is empty and every name is absent.
    if (m.name.length > 0) fail(Errno.ENODATA);
    fid.node.retain();
    let x: Fid;
    try {
      x = this.claim(m.newfid, fid.node);
    } catch (e) {
      fid.node.release();
      throw e;
    }
    x.state = 'xattr';
    x.xattr = new Uint8Array(0);
    return encodeMessage('Rxattrwalk', m.tag, { size: BigInt(x.xattr.length) });
  }

  // -------------------------------------------------------------------------
  // Opening, reading, writing

  private async lopen(m: Message<'Tlopen'>): Promise<Uint8Array> {
    const fid = this.fid(m.fid);
    if (fid.state !== 'walked') fail(Errno.EBADF, 'fid already open');
    const access = m.flags & LFLAG.ACCMODE;
    if (access === 3) fail(Errno.EINVAL);
    const node = fid.node;
    if (node.kind === 'symlink') fail(Errno.ELOOP);
    if (node.kind === 'other') fail(Errno.EOPNOTSUPP, 'special files are opened by the guest');
    if (node.kind === 'dir' && access !== 0) fail(Errno.EISDIR);
    if (this.fs.readOnly && (access !== 0 || m.flags & LFLAG.TRUNC)) fail(Errno.EROFS);
    const flags =
      access |
      (m.flags & (LFLAG.TRUNC | LFLAG.APPEND | LFLAG.SYNC | LFLAG.DSYNC | LFLAG.DIRECTORY));
    fid.state = 'busy';
    let file: FsFile;
    try {
      file = await this.using(node, () => this.fs.open(node, flags));
    } catch (e) {
      if (!fid.gone) fid.state = 'walked';
      throw e;
    }
    if (fid.gone) {
      file.release();
      fail(Errno.EBADF, 'fid clunked while opening');
    }
    fid.state = 'open';
    fid.file = file;
    fid.access = access;
    fid.reopen = flags & ~LFLAG.TRUNC;
    this.forgetListing(fid);
    return encodeMessage('Rlopen', m.tag, { qid: nodeQid(node), iounit: 0 });
  }

  private async lcreate(m: Message<'Tlcreate'>): Promise<Uint8Array> {
    const fid = this.dirFid(m.fid);
    if (fid.state !== 'walked') fail(Errno.EBADF, 'fid already open');
    this.checkWritable();
    checkName(m.name);
    const access = m.flags & LFLAG.ACCMODE;
    if (access === 3) fail(Errno.EINVAL);
    const flags =
      access | (m.flags & (LFLAG.TRUNC | LFLAG.APPEND | LFLAG.SYNC | LFLAG.DSYNC | LFLAG.EXCL));
    const dir = fid.node;
    fid.state = 'busy';
    let made: { node: FsNode; file: FsFile };
    try {
      made = await this.using(dir, () =>
        this.fs.create(dir, m.name, flags, hostMode(m.mode, 'file')),
      );
    } catch (e) {
      if (!fid.gone) fid.state = 'walked';
      throw e;
    }
    if (fid.gone) {
      made.file.release();
      made.node.release();
      fail(Errno.EBADF, 'fid clunked while creating');
    }
    dir.release();
    fid.node = made.node;
    fid.file = made.file;
    fid.state = 'open';
    fid.access = access;
    fid.reopen = flags & ~(LFLAG.TRUNC | LFLAG.EXCL);
    return encodeMessage('Rlcreate', m.tag, { qid: nodeQid(made.node), iounit: 0 });
  }

  private async read(m: Message<'Tread'>, limit: number): Promise<Uint8Array> {
    const f = this.fids.get(m.fid);
    if (f === undefined || (f.state !== 'open' && f.state !== 'xattr')) fail(Errno.EBADF);
    const count = Math.max(0, Math.min(m.count, limit - RREAD_HEADER));
    if (f.state === 'xattr') {
      const data = f.xattr ?? new Uint8Array(0);
      const start = m.offset > BigInt(data.length) ? data.length : Number(m.offset);
      return encodeMessage('Rread', m.tag, { data: data.subarray(start, start + count) });
    }
    if (f.node.kind === 'dir') fail(Errno.EISDIR);
    if (f.access === LFLAG.WRONLY) fail(Errno.EBADF, 'not open for reading');
    const out = new Uint8Array(RREAD_HEADER + count);
    const file = f.file!;
    const n = await this.using(file, () =>
      this.fs.read(file, m.offset, out.subarray(RREAD_HEADER)),
    );
    const w = new Writer(out);
    w.u32(RREAD_HEADER + n);
    w.u8(117);
    w.u16(m.tag);
    w.u32(n);
    return out.subarray(0, RREAD_HEADER + n);
  }

  private async write(m: Message<'Twrite'>): Promise<Uint8Array> {
    const f = this.fids.get(m.fid);
    if (f === undefined || f.state !== 'open') fail(Errno.EBADF);
    if (f.access === 0) fail(Errno.EBADF, 'not open for writing');
    this.checkWritable();
    const file = f.file!;
    const n = await this.using(file, () => this.fs.write(file, m.offset, m.data));
    return encodeMessage('Rwrite', m.tag, { count: n });
  }

  private async fsync(m: Message<'Tfsync'>): Promise<Uint8Array> {
    const f = this.fids.get(m.fid);
    if (f === undefined || f.state === 'busy') fail(Errno.EBADF);
    if (f.state === 'open' && f.file) {
      const file = f.file;
      await this.using(file, () => this.fs.fsync(file, m.datasync !== 0));
    }
    return encodeMessage('Rfsync', m.tag, {});
  }

  private async readdir(m: Message<'Treaddir'>, limit: number): Promise<Uint8Array> {
    const f = this.fids.get(m.fid);
    if (f === undefined || f.state !== 'open') fail(Errno.EBADF);
    if (f.node.kind !== 'dir') fail(Errno.ENOTDIR);
    const room = Math.min(m.count, limit - RREAD_HEADER);
    const node = f.node;
    const file = f.file!;
    node.retain();
    file.retain();
    try {
      // Offsets are positions in a snapshot taken when reading starts (offset
      // 0), so they stay valid however many calls the listing takes.
      let listing = f.listing;
      if (listing === undefined || m.offset === 0n) {
        const names = await this.fs.list(file);
        listing = [bytesOf('.'), bytesOf('..'), ...names];
        if (!f.gone) this.keepListing(f, listing);
      }
      let first = m.offset >= BigInt(listing.length) ? listing.length : Number(m.offset);
      for (;;) {
        if (first >= listing.length) {
          return encodeMessage('Rreaddir', m.tag, { data: new Uint8Array(0) });
        }
        let end = first;
        let bytes = 0;
        while (end < listing.length && bytes + 24 + listing[end]!.length <= room) {
          bytes += 24 + listing[end]!.length;
          end++;
        }
        if (end === first) fail(Errno.EINVAL, 'count too small for the next entry');
        const attrs = await this.entryAttrs(node, listing, first, end);
        const out = new Uint8Array(RREAD_HEADER + bytes);
        const w = new Writer(out);
        w.pos = RREAD_HEADER;
        for (let i = first; i < end; i++) {
          const a = attrs[i - first];
          if (a === undefined) continue; // gone since the snapshot
          w.qid(qidOf(a.kind, a.qidPath));
          w.u64(BigInt(i + 1));
          w.u8(dtOf(a.mode));
          w.str(listing[i]!);
        }
        if (w.pos === RREAD_HEADER) {
          first = end; // every entry of this chunk vanished: try the next ones
          continue;
        }
        const size = w.pos;
        w.pos = 0;
        w.u32(size);
        w.u8(41);
        w.u16(m.tag);
        w.u32(size - RREAD_HEADER);
        return out.subarray(0, size);
      }
    } finally {
      file.release();
      node.release();
    }
  }

  private forgetListing(fid: Fid): void {
    const n = this.listings.get(fid);
    if (n !== undefined) {
      this.listingEntries -= n;
      this.listings.delete(fid);
    }
    fid.listing = undefined;
  }

  private keepListing(fid: Fid, listing: Uint8Array[]): void {
    this.forgetListing(fid);
    fid.listing = listing;
    this.listings.set(fid, listing.length);
    this.listingEntries += listing.length;
    for (const old of this.listings.keys()) {
      if (this.listingEntries <= this.maxListingEntries) break;
      if (old !== fid) this.forgetListing(old);
    }
  }

  /** Attributes of listing entries [first, end), undefined for entries that vanished. */
  private async entryAttrs(
    dir: FsNode,
    listing: Uint8Array[],
    first: number,
    end: number,
  ): Promise<(FsAttr | undefined)[]> {
    const out: (FsAttr | undefined)[] = new Array(end - first);
    let next = first;
    const worker = async (): Promise<void> => {
      while (next < end) {
        const i = next++;
        const name = listing[i]!;
        try {
          if (i === 0) out[i - first] = await this.fs.getattr(dir);
          else if (i === 1) {
            const parent = this.fs.parent(dir);
            try {
              out[i - first] = await this.fs.getattr(parent);
            } finally {
              parent.release();
            }
          } else out[i - first] = await this.fs.lookupAttr(dir, name);
        } catch {
          out[i - first] = undefined;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(16, end - first) }, worker));
    return out;
  }

  // -------------------------------------------------------------------------
  // Creating, linking, renaming, removing

  private async mkdir(m: Message<'Tmkdir'>): Promise<Uint8Array> {
    const d = this.dirFid(m.dfid);
    this.checkWritable();
    checkName(m.name);
    const node = await this.using(d.node, () =>
      this.fs.mkdir(d.node, m.name, hostMode(m.mode, 'dir')),
    );
    node.release();
    return encodeMessage('Rmkdir', m.tag, { qid: nodeQid(node) });
  }

  private async symlink(m: Message<'Tsymlink'>): Promise<Uint8Array> {
    const d = this.dirFid(m.fid);
    this.checkWritable();
    checkName(m.name);
    if (m.symtgt.length === 0) fail(Errno.ENOENT, 'empty symlink target');
    if (m.symtgt.length > SYMLINK_MAX) fail(Errno.ENAMETOOLONG);
    if (m.symtgt.includes(0)) fail(Errno.EINVAL, 'NUL in symlink target');
    const node = await this.using(d.node, () => this.fs.symlink(d.node, m.name, m.symtgt));
    node.release();
    return encodeMessage('Rsymlink', m.tag, { qid: nodeQid(node) });
  }

  private async mknod(m: Message<'Tmknod'>): Promise<Uint8Array> {
    const d = this.dirFid(m.dfid);
    this.checkWritable();
    checkName(m.name);
    switch (m.mode & S_IFMT) {
      case S_IFREG:
      case 0: {
        const made = await this.using(d.node, () =>
          this.fs.create(d.node, m.name, LFLAG.EXCL, hostMode(m.mode, 'file')),
        );
        made.file.release();
        made.node.release();
        return encodeMessage('Rmknod', m.tag, { qid: nodeQid(made.node) });
      }
      case S_IFCHR:
      case S_IFBLK:
        return fail(Errno.EPERM, 'device nodes cannot be created in a shared folder');
      case S_IFIFO:
      case S_IFSOCK:
        return fail(Errno.EOPNOTSUPP, 'FIFOs and sockets cannot be created in a shared folder');
      default:
        return fail(Errno.EINVAL, 'unknown file type');
    }
  }

  private async link(m: Message<'Tlink'>): Promise<Uint8Array> {
    const d = this.dirFid(m.dfid);
    const target = this.fid(m.fid);
    this.checkWritable();
    checkName(m.name);
    if (target.node.kind === 'dir') fail(Errno.EPERM, 'hard links to directories');
    await this.using(d.node, () =>
      this.using(target.node, () => this.fs.link(d.node, m.name, target.node)),
    );
    return encodeMessage('Rlink', m.tag, {});
  }

  private async rename(m: Message<'Trename'>): Promise<Uint8Array> {
    const f = this.fid(m.fid);
    const d = this.dirFid(m.dfid);
    this.checkWritable();
    checkName(m.name);
    await this.using(d.node, () =>
      this.using(f.node, () => this.fs.renameNode(f.node, d.node, m.name)),
    );
    return encodeMessage('Rrename', m.tag, {});
  }

  private async renameat(m: Message<'Trenameat'>): Promise<Uint8Array> {
    const from = this.dirFid(m.olddirfid);
    const to = this.dirFid(m.newdirfid);
    this.checkWritable();
    checkName(m.oldname);
    checkName(m.newname);
    await this.using(from.node, () =>
      this.using(to.node, () => this.fs.rename(from.node, m.oldname, to.node, m.newname)),
    );
    return encodeMessage('Rrenameat', m.tag, {});
  }

  private async unlinkat(m: Message<'Tunlinkat'>): Promise<Uint8Array> {
    const d = this.dirFid(m.dirfid);
    this.checkWritable();
    checkName(m.name);
    if ((m.flags & ~AT_REMOVEDIR) !== 0) fail(Errno.EINVAL, 'unknown unlinkat flags');
    await this.using(d.node, () => this.fs.unlink(d.node, m.name, (m.flags & AT_REMOVEDIR) !== 0));
    return encodeMessage('Runlinkat', m.tag, {});
  }

  private async remove(m: Message<'Tremove'>): Promise<Uint8Array> {
    const f = this.fids.get(m.fid);
    if (f === undefined || f.state === 'busy') fail(Errno.EBADF);
    // Tremove clunks the fid whatever the outcome.
    this.fids.delete(m.fid);
    this.locks.dropFid(m.fid);
    const node = f.node;
    node.retain();
    this.dropFid(f);
    try {
      if (f.state === 'xattr') fail(Errno.EINVAL);
      this.checkWritable();
      await this.fs.removeNode(node);
    } finally {
      node.release();
    }
    return encodeMessage('Rremove', m.tag, {});
  }

  // -------------------------------------------------------------------------
  // Locks

  private lockFile(num: number, type: number): Fid {
    const f = this.fid(num);
    if (f.node.kind === 'dir') fail(Errno.EISDIR);
    if (type > LOCK_TYPE.UNLCK) fail(Errno.EINVAL, 'unknown lock type');
    if (f.state === 'open') {
      if (type === LOCK_TYPE.WRLCK && f.access === 0) fail(Errno.EBADF);
      if (type === LOCK_TYPE.RDLCK && f.access === LFLAG.WRONLY) fail(Errno.EBADF);
    }
    return f;
  }

  private lock(m: Message<'Tlock'>): Uint8Array {
    const f = this.lockFile(m.fid, m.type);
    if (BigInt.asIntN(64, m.start) < 0n || BigInt.asIntN(64, m.length) < 0n) {
      return encodeMessage('Rlock', m.tag, { status: LOCK_STATUS.ERROR });
    }
    const status = this.locks.lock(f.node.qidPath, m.fid, m);
    return encodeMessage('Rlock', m.tag, { status });
  }

  private getlock(m: Message<'Tgetlock'>): Uint8Array {
    const f = this.lockFile(m.fid, m.type);
    if (m.type === LOCK_TYPE.UNLCK) fail(Errno.EINVAL);
    const holder = this.locks.test(f.node.qidPath, m);
    return encodeMessage(
      'Rgetlock',
      m.tag,
      holder ?? {
        type: LOCK_TYPE.UNLCK,
        start: m.start,
        length: m.length,
        procId: m.procId,
        clientId: m.clientId,
      },
    );
  }
}

function errnoOf(e: unknown): number {
  if (e instanceof P9Error) return e.errno;
  if (e instanceof RangeError) return Errno.EINVAL;
  return errnoFromCode((e as { code?: unknown } | null)?.code);
}

function encodeGetattr(tag: number, a: FsAttr): Uint8Array {
  const [as, an] = splitNs(a.atimeNs);
  const [ms, mn] = splitNs(a.mtimeNs);
  const [cs, cn] = splitNs(a.ctimeNs);
  const [bs, bn] = a.btimeNs !== undefined ? splitNs(a.btimeNs) : [0n, 0n];
  return encodeMessage('Rgetattr', tag, {
    valid: GETATTR.BASIC | (a.btimeNs !== undefined ? GETATTR.BTIME : 0n),
    qid: qidOf(a.kind, a.qidPath),
    mode: a.mode,
    uid: 0,
    gid: 0,
    nlink: a.nlink,
    rdev: a.rdev,
    size: a.size,
    blksize: a.blksize,
    blocks: a.blocks,
    atimeSec: as,
    atimeNsec: an,
    mtimeSec: ms,
    mtimeNsec: mn,
    ctimeSec: cs,
    ctimeNsec: cn,
    btimeSec: bs,
    btimeNsec: bn,
    gen: 0n,
    dataVersion: 0n,
  });
}

/** Size of the 9P header, re-exported for devices that frame messages. */
export { HEADER_SIZE };

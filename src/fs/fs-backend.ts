/**
 * What the 9P server needs from a file system: reference-counted nodes
 * (what a fid points at), open files, and name-based operations inside a
 * directory node. `src/backends/fs/host-dir.ts` implements it on a host
 * directory; a browser host could implement it on anything else.
 *
 * Contract:
 *  - Every name a backend receives is one path component that the server has
 *    already checked (1..255 bytes, no `/`, no NUL, never `.` or `..`); a
 *    backend checks again and never lets the host follow a symlink for it.
 *  - `..` is the server's business: it asks `parent()`, which for the root is
 *    the root, so nothing above the root is ever named.
 *  - Methods that return a node or file return it retained once for the
 *    caller. A node or file stays usable until its last `release()`.
 *  - Errors are thrown as objects with a `code` (`ENOENT`, …) or as P9Error;
 *    the server turns them into Rlerror.
 */

export type NodeKind = 'dir' | 'file' | 'symlink' | 'other';

/** Reference counting shared by nodes and open files. */
export interface Counted {
  retain(): void;
  release(): void;
}

/** One file system object (a walked fid points at one). */
export interface FsNode extends Counted {
  readonly kind: NodeKind;
  /** Unique, stable identity of the object (becomes qid.path). */
  readonly qidPath: bigint;
}

/** An open file or directory (an lopen/lcreate'd fid). */
export type FsFile = Counted;

export interface FsAttr {
  kind: NodeKind;
  /** st_mode, with the file-type bits. */
  mode: number;
  nlink: bigint;
  rdev: bigint;
  size: bigint;
  blksize: bigint;
  /** 512-byte blocks allocated. */
  blocks: bigint;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  /** Creation time, when the host knows it. */
  btimeNs?: bigint;
  qidPath: bigint;
}

export interface FsStatfs {
  type: number;
  bsize: number;
  blocks: bigint;
  bfree: bigint;
  bavail: bigint;
  files: bigint;
  ffree: bigint;
  fsid: bigint;
  namelen: number;
}

/** A time to set: nanoseconds since the epoch, or the host's current time. */
export type SetTime = bigint | 'now';

export interface SetattrRequest {
  /** Permission bits only (0o7777 at most), already filtered by the server. */
  mode?: number;
  size?: bigint;
  atime?: SetTime;
  mtime?: SetTime;
}

/** Open flags the server passes on (Linux generic values, see LFLAG). */
export interface FsBackend {
  /** Every modifying operation fails with EROFS. */
  readonly readOnly: boolean;
  /** The export's root, retained for the caller. */
  root(): FsNode;
  /** The parent directory of `node` (the root for the root), retained. */
  parent(node: FsNode): FsNode;
  /** The entry `name` in directory `dir`, not following a symlink there. */
  walk(dir: FsNode, name: Uint8Array): Promise<FsNode>;
  getattr(node: FsNode): Promise<FsAttr>;
  /** `file`, when given, is an open file of `node` the change may go through. */
  setattr(node: FsNode, req: SetattrRequest, file?: FsFile): Promise<void>;
  /** Open a regular file or directory (flags: access mode, TRUNC, APPEND, SYNC, DSYNC). */
  open(node: FsNode, flags: number): Promise<FsFile>;
  /** Create and open a regular file `name` in `dir`. */
  create(
    dir: FsNode,
    name: Uint8Array,
    flags: number,
    mode: number,
  ): Promise<{ node: FsNode; file: FsFile }>;
  /** Read at `offset` into `into`; returns the byte count (0 at end of file). */
  read(file: FsFile, offset: bigint, into: Uint8Array): Promise<number>;
  write(file: FsFile, offset: bigint, data: Uint8Array): Promise<number>;
  /** Names in an open directory, without `.` and `..`. */
  list(file: FsFile): Promise<Uint8Array[]>;
  /** Attributes of entry `name` of `dir`, not following a symlink. */
  lookupAttr(dir: FsNode, name: Uint8Array): Promise<FsAttr>;
  mkdir(dir: FsNode, name: Uint8Array, mode: number): Promise<FsNode>;
  symlink(dir: FsNode, name: Uint8Array, target: Uint8Array): Promise<FsNode>;
  /** Make `name` in `dir` a hard link to `target`. */
  link(dir: FsNode, name: Uint8Array, target: FsNode): Promise<void>;
  rename(oldDir: FsNode, oldName: Uint8Array, newDir: FsNode, newName: Uint8Array): Promise<void>;
  /** Rename the object `node` (wherever it is now) to `name` in `dir`. */
  renameNode(node: FsNode, dir: FsNode, name: Uint8Array): Promise<void>;
  unlink(dir: FsNode, name: Uint8Array, removeDir: boolean): Promise<void>;
  /** Remove the object `node` from its directory. */
  removeNode(node: FsNode): Promise<void>;
  readlink(node: FsNode): Promise<Uint8Array>;
  statfs(node: FsNode): Promise<FsStatfs>;
  fsync(file: FsFile, dataOnly: boolean): Promise<void>;
  /**
   * The node's names from the root (empty for the root itself), or
   * undefined once it was unlinked: how a snapshot finds it again.
   */
  pathOf(node: FsNode): Uint8Array[] | undefined;
}

/**
 * POSIX record locks for Tlock/Tgetlock, kept by the server.
 *
 * Locks live in the 9P server, not on the host: Node has no fcntl() locking,
 * and the guest is the only client of its export, so guest processes exclude
 * each other correctly while host processes do not see these locks.
 *
 * An owner is (client_id, proc_id), as the Linux client sends them. Ranges are
 * [start, end) with `length` 0 meaning "to the end of any file". Acquiring
 * replaces the owner's own overlapping ranges (so upgrades, downgrades and
 * partial unlocks split ranges as fcntl does); a conflicting range held by
 * another owner answers BLOCKED, and the Linux client retries blocking
 * requests itself.
 */
import { LOCK_STATUS, LOCK_TYPE } from './9p-protocol.js';

const INF = 1n << 64n;

interface LockRecord {
  owner: string;
  type: number;
  start: bigint;
  end: bigint;
  procId: number;
  clientId: Uint8Array;
  /** The fid number it was taken through (dropped when that fid is clunked). */
  fid: number;
}

export interface LockQuery {
  type: number;
  start: bigint;
  length: bigint;
  procId: number;
  clientId: Uint8Array;
}

export interface LockHolder {
  type: number;
  start: bigint;
  length: bigint;
  procId: number;
  clientId: Uint8Array;
}

function ownerOf(q: LockQuery): string {
  let s = `${q.procId}:`;
  for (const b of q.clientId) s += b.toString(16).padStart(2, '0');
  return s;
}

function rangeOf(q: LockQuery): [bigint, bigint] {
  const end = q.length === 0n ? INF : q.start + q.length;
  return [q.start, end > INF ? INF : end];
}

export class LockTable {
  private readonly byFile = new Map<bigint, LockRecord[]>();
  private count = 0;

  constructor(private readonly maxRecords = 65536) {}

  /** Tlock: set or clear a lock on file `key` (its qid path). Returns an Rlock status. */
  lock(key: bigint, fid: number, q: LockQuery): number {
    const owner = ownerOf(q);
    const [start, end] = rangeOf(q);
    if (start >= end) return LOCK_STATUS.SUCCESS;
    const list = this.byFile.get(key) ?? [];
    if (q.type !== LOCK_TYPE.UNLCK) {
      const conflict = list.some(
        (r) =>
          r.owner !== owner &&
          r.start < end &&
          start < r.end &&
          (r.type === LOCK_TYPE.WRLCK || q.type === LOCK_TYPE.WRLCK),
      );
      if (conflict) return LOCK_STATUS.BLOCKED;
    }
    // Cut the owner's own ranges out of [start, end).
    const next: LockRecord[] = [];
    for (const r of list) {
      if (r.owner !== owner || r.end <= start || end <= r.start) {
        next.push(r);
        continue;
      }
      if (r.start < start) next.push({ ...r, end: start });
      if (end < r.end) next.push({ ...r, start: end });
    }
    if (q.type !== LOCK_TYPE.UNLCK) {
      next.push({
        owner,
        type: q.type,
        start,
        end,
        procId: q.procId,
        clientId: q.clientId.slice(),
        fid,
      });
    }
    const grown = next.length - list.length;
    if (this.count + grown > this.maxRecords) return LOCK_STATUS.ERROR;
    this.count += grown;
    if (next.length) this.byFile.set(key, next);
    else this.byFile.delete(key);
    return LOCK_STATUS.SUCCESS;
  }

  /** Tgetlock: the first lock that would block `q`, or undefined. */
  test(key: bigint, q: LockQuery): LockHolder | undefined {
    const owner = ownerOf(q);
    const [start, end] = rangeOf(q);
    for (const r of this.byFile.get(key) ?? []) {
      if (r.owner === owner || r.end <= start || end <= r.start) continue;
      if (r.type !== LOCK_TYPE.WRLCK && q.type !== LOCK_TYPE.WRLCK) continue;
      return {
        type: r.type,
        start: r.start,
        length: r.end === INF ? 0n : r.end - r.start,
        procId: r.procId,
        clientId: r.clientId,
      };
    }
    return undefined;
  }

  /** Drop every lock taken through fid `fid`. */
  dropFid(fid: number): void {
    for (const [key, list] of this.byFile) {
      const keep = list.filter((r) => r.fid !== fid);
      if (keep.length === list.length) continue;
      this.count -= list.length - keep.length;
      if (keep.length) this.byFile.set(key, keep);
      else this.byFile.delete(key);
    }
  }

  clear(): void {
    this.byFile.clear();
    this.count = 0;
  }
}

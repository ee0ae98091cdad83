/**
 * The user's snapshot key: `stateDir()/snapshot.key`, 32 random bytes, mode
 * 0600. Snapshots this user's VMs write are sealed with it (src/snapshot/
 * seal.ts), so `colinux resume` can tell a file of one's own, which may have
 * the disks, folders and ports it names, from a file made by someone else,
 * which must be trusted explicitly (`--trust`).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SEAL_KEY_BYTES } from '../snapshot/seal.js';
import { stateDir } from './runtime.js';

export class SnapshotKeyError extends Error {
  override name = 'SnapshotKeyError';
}

export function snapshotKeyPath(env: Record<string, string | undefined> = process.env): string {
  return path.join(stateDir(env), 'snapshot.key');
}

/** Read the key, checking that only this user can read or change it. */
function readKey(file: string): Uint8Array {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0));
  try {
    const st = fs.fstatSync(fd);
    const uid = process.getuid?.();
    if (
      process.platform !== 'win32' &&
      ((st.mode & 0o077) !== 0 || (uid !== undefined && st.uid !== uid))
    ) {
      throw new SnapshotKeyError(
        `${file}: others can read or change it (mode ${(st.mode & 0o777).toString(8)}); make it yours only (chmod 600), or delete it (your older snapshots then need --trust to resume)`,
      );
    }
    const key = fs.readFileSync(fd);
    if (key.length < SEAL_KEY_BYTES) {
      throw new SnapshotKeyError(
        `${file}: not a snapshot key (${key.length} bytes); delete it and a new one is made`,
      );
    }
    return key;
  } finally {
    fs.closeSync(fd);
  }
}

/** The user's key, made on first use. */
export function snapshotKey(env: Record<string, string | undefined> = process.env): Uint8Array {
  const file = snapshotKeyPath(env);
  try {
    return readKey(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // Written whole under a temporary name, then linked into place: a VM
  // suspending at the same moment reads either no key or all of one.
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, randomBytes(SEAL_KEY_BYTES), { mode: 0o600, flag: 'wx' });
  try {
    fs.linkSync(tmp, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return readKey(file);
}

/**
 * The guest image cache: where it lives, the content key of a recipe, a
 * lock so concurrent callers build once, and atomic publishing.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  lstatSync,
  openSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { hostname, homedir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ImageBuildError } from './proc.js';

/** $COLINUX_CACHE_DIR, else $XDG_CACHE_HOME/colinux, else ~/.cache/colinux. */
export function cacheRoot(): string {
  const env = process.env['COLINUX_CACHE_DIR'];
  if (env !== undefined && env !== '') return env;
  const xdg = process.env['XDG_CACHE_HOME'];
  if (xdg !== undefined && xdg !== '') return join(xdg, 'colinux');
  return join(homedir(), '.cache', 'colinux');
}

/**
 * images/<name> of the colinux installation (found upwards from this module,
 * so it works from src/ and from dist/), recognised by its file `marker`.
 */
export function findRecipeDir(name: string, marker: string): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(d, 'images', name);
    if (existsSync(join(candidate, marker))) return candidate;
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  throw new ImageBuildError(
    `colinux: cannot find images/${name}/${marker} next to the colinux installation`,
  );
}

/**
 * A new, unique work directory path `<dir>/.tmp-<name>-<pid>-<random>` for a
 * build, after removing what interrupted builds of the same name left there
 * (and entries starting with any of `alsoStale`). Call it holding the
 * build's lock.
 */
export function freshWorkDir(dir: string, name: string, alsoStale: string[] = []): string {
  const stale = [`.tmp-${name}-`, ...alsoStale];
  for (const n of readdirSync(dir)) {
    if (stale.some((p) => n.startsWith(p))) rmSync(join(dir, n), { recursive: true, force: true });
  }
  return join(dir, `.tmp-${name}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** A file of a recipe directory, as hashed and as packed. */
export interface RecipeFile {
  /** Path relative to the recipe directory, '/'-separated. */
  path: string;
  kind: 'file' | 'dir' | 'symlink';
  executable: boolean;
  data?: Buffer;
  target?: string;
}

/** Every entry under `dir` (sorted, stable), following no symlinks. */
export function listRecipeDir(dir: string): RecipeFile[] {
  const out: RecipeFile[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const full = join(d, name);
      const rel = relative(dir, full).split(sep).join('/');
      const st = lstatSync(full);
      if (st.isSymbolicLink()) {
        out.push({ path: rel, kind: 'symlink', executable: false, target: readlinkSync(full) });
      } else if (st.isDirectory()) {
        out.push({ path: rel, kind: 'dir', executable: true });
        walk(full);
      } else if (st.isFile()) {
        out.push({
          path: rel,
          kind: 'file',
          executable: (st.mode & 0o111) !== 0,
          data: readFileSync(full),
        });
      }
    }
  };
  walk(dir);
  return out;
}

/** sha256 (hex) over a builder version, named blobs and recipe trees. */
export function recipeKey(
  builderVersion: string,
  blobs: Record<string, Buffer | string>,
  trees: Record<string, readonly RecipeFile[]>,
): string {
  const h = createHash('sha256');
  const field = (s: string | Buffer): void => {
    const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
    h.update(`${b.length}:`);
    h.update(b);
  };
  field(`builder ${builderVersion}`);
  for (const name of Object.keys(blobs).sort()) {
    field(`blob ${name}`);
    field(blobs[name]!);
  }
  for (const name of Object.keys(trees).sort()) {
    field(`tree ${name}`);
    for (const f of trees[name]!) {
      field(`${f.kind} ${f.executable ? 'x' : '-'} ${f.path}`);
      if (f.data !== undefined) field(f.data);
      if (f.target !== undefined) field(f.target);
    }
  }
  return h.digest('hex');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface LockInfo {
  pid: number;
  host: string;
  started: string;
}

function readLock(path: string): LockInfo | undefined {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockInfo>;
    if (typeof v.pid === 'number' && typeof v.host === 'string') {
      return { pid: v.pid, host: v.host, started: String(v.started ?? '') };
    }
  } catch {
    // being written, or garbage
  }
  return undefined;
}

/**
 * Run `fn` holding an exclusive lock file. A second caller waits (polling)
 * until the first one is done. A lock left by a dead process on this host is
 * taken over; a lock file that stays unreadable for a minute is too.
 */
export async function withLock<T>(
  lockPath: string,
  onWait: (holder: string) => void,
  fn: () => Promise<T>,
): Promise<T> {
  let announced = false;
  let unreadableSince: number | undefined;
  for (;;) {
    try {
      const fd = openSync(lockPath, 'wx');
      try {
        const info: LockInfo = {
          pid: process.pid,
          host: hostname(),
          started: new Date().toISOString(),
        };
        writeSync(fd, JSON.stringify(info));
      } finally {
        closeSync(fd);
      }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const info = readLock(lockPath);
    if (info === undefined) {
      unreadableSince ??= Date.now();
      if (Date.now() - unreadableSince > 60_000) {
        rmSync(lockPath, { force: true });
        unreadableSince = undefined;
        continue;
      }
    } else {
      unreadableSince = undefined;
      if (info.host === hostname() && !pidAlive(info.pid)) {
        rmSync(lockPath, { force: true });
        continue;
      }
      if (!announced) {
        onWait(`pid ${info.pid} on ${info.host}, since ${info.started}`);
        announced = true;
      }
    }
    await sleep(1000);
  }
  try {
    return await fn();
  } finally {
    try {
      const info = readLock(lockPath);
      if (info?.pid === process.pid && info.host === hostname()) unlinkSync(lockPath);
    } catch {
      // already gone
    }
  }
}

/**
 * Move a fully written directory `tmp` to `final`, replacing an older one
 * (which is first moved aside, so `final` never holds a mix).
 */
export function publishDir(tmp: string, final: string): void {
  if (existsSync(final)) {
    const old = `${final}.old-${process.pid}-${Date.now()}`;
    renameSync(final, old);
    renameSync(tmp, final);
    rmSync(old, { recursive: true, force: true });
  } else {
    renameSync(tmp, final);
  }
}

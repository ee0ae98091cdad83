/**
 * Image locks, so two VMs never write one disk image (or one writes while
 * another reads it).
 *
 * A writer creates `<image>.lock` exclusively (O_EXCL); a reader creates
 * `<image>.lock.r<pid>.<n>`. Each file holds JSON {pid, host, start}, where
 * `start` is the process start time from /proc (so a recycled pid is not
 * mistaken for the holder). Writers refuse if a live writer or reader
 * exists, readers refuse if a live writer exists; both create their file
 * first and check after, so two racing VMs cannot both win. Locks whose
 * process is gone (a VM that was SIGKILLed) are stale and removed.
 *
 * Host block devices are locked in `<tmpdir>/colinux-locks/` under their
 * device number, as /dev is not writable for users. Readers whose lock file
 * cannot be created (a read-only directory) go ahead without one.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export class LockError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LockError';
  }
}

interface Holder {
  pid: number;
  host: string;
  start?: string;
}

/** Start time of a process (field 22 of /proc/PID/stat), if this is Linux. */
function processStart(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

const me: Holder = { pid: process.pid, host: os.hostname(), start: processStart(process.pid) };

/** Is the process that wrote this lock still running? Unknown (another host) counts as alive. */
function alive(h: Holder): boolean {
  if (h.host !== me.host) return true;
  if (h.pid === me.pid) return h.start === undefined || h.start === me.start;
  try {
    process.kill(h.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  if (h.start !== undefined) {
    const now = processStart(h.pid);
    if (now !== undefined && now !== h.start) return false; // pid reused
  }
  return true;
}

function readHolder(file: string): Holder | undefined {
  try {
    const h = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Holder>;
    if (typeof h.pid === 'number' && typeof h.host === 'string') {
      return { pid: h.pid, host: h.host, start: typeof h.start === 'string' ? h.start : undefined };
    }
  } catch {
    // unreadable or half-written: treated as a live holder below
  }
  return undefined;
}

function describe(h: Holder | undefined): string {
  if (!h) return 'another process';
  if (h.pid === me.pid && h.host === me.host) return 'this VM (is it given twice?)';
  return `colinux pid ${h.pid}${h.host !== me.host ? ` on host ${h.host}` : ''}`;
}

/** Where the locks of an image live: [directory, base name]. */
export function lockLocation(realPath: string, st: fs.Stats): [string, string] {
  if (st.isBlockDevice()) {
    const major = Math.floor(st.rdev / 256) & 0xfff;
    const minor = (st.rdev & 0xff) | (Math.floor(st.rdev / 4096) & ~0xff);
    return [path.join(os.tmpdir(), 'colinux-locks'), `blockdev-${major}-${minor}.lock`];
  }
  return [path.dirname(realPath), `${path.basename(realPath)}.lock`];
}

const held = new Set<string>();
let exitHook = false;
let readerSeq = 0;

function hookExit(): void {
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const f of held) {
      try {
        fs.unlinkSync(f);
      } catch {
        // already gone
      }
    }
  });
}

export class ImageLock {
  private file: string | undefined;

  constructor(file: string | undefined) {
    this.file = file;
    if (file) {
      held.add(file);
      hookExit();
    }
  }

  /** The lock file, if one was created. */
  get path(): string | undefined {
    return this.file;
  }

  release(): void {
    const f = this.file;
    this.file = undefined;
    if (!f) return;
    held.delete(f);
    try {
      fs.unlinkSync(f);
    } catch {
      // already gone
    }
  }
}

function createExclusive(file: string): boolean {
  try {
    fs.writeFileSync(file, JSON.stringify(me) + '\n', { flag: 'wx', mode: 0o644 });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

function liveReaders(dir: string, base: string, except?: string): Array<Holder | undefined> {
  const out: Array<Holder | undefined> = [];
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return out;
  }
  for (const n of names) {
    if (!n.startsWith(`${base}.r`)) continue;
    const f = path.join(dir, n);
    if (f === except) continue;
    const h = readHolder(f);
    if (h && !alive(h)) {
      try {
        fs.unlinkSync(f);
      } catch {
        // raced with its owner
      }
      continue;
    }
    out.push(h);
  }
  return out;
}

/** The live writer's holder, or null if there is none (a stale lock is removed). */
function liveWriter(file: string): Holder | undefined | null {
  if (!fs.existsSync(file)) return null;
  const h = readHolder(file);
  if (h && !alive(h)) {
    try {
      fs.unlinkSync(file);
    } catch {
      // someone else removed it
    }
    return null;
  }
  return h;
}

/** The shared lock directory for block devices: world-writable and sticky, like /tmp. */
function ensureDir(dir: string): void {
  if (fs.existsSync(dir)) return;
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.chmodSync(dir, 0o1777); // mkdir's mode is cut by the umask
  } catch {
    // another process made it first, or we may not: the lock attempt reports it
  }
}

/**
 * Lock an image. `what` names it in messages (`cobd0=disk.img`).
 * Throws LockError when another live VM holds a conflicting lock.
 */
export function lockImage(
  realPath: string,
  st: fs.Stats,
  mode: 'write' | 'read',
  what: string,
): ImageLock {
  const [dir, base] = lockLocation(realPath, st);
  const file = path.join(dir, base);
  if (st.isBlockDevice()) ensureDir(dir);
  if (mode === 'write') {
    for (let attempt = 0; ; attempt++) {
      let created: boolean;
      try {
        created = createExclusive(file);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new LockError(
          `${what}: cannot create the lock file ${file} (${code ?? String(e)}); make its directory writable, or add ,ro or ,cow`,
        );
      }
      if (created) break;
      const h = liveWriter(file);
      if (h === null && attempt < 3) continue; // stale lock removed: try again
      throw new LockError(
        `${what}: the image is in use by ${describe(h ?? undefined)} (lock file ${file}); stop that VM first, or remove the lock file if no VM is using the image`,
      );
    }
    const readers = liveReaders(dir, base);
    if (readers.length > 0) {
      fs.unlinkSync(file);
      throw new LockError(
        `${what}: the image is open read-only in ${describe(readers[0])}; stop that VM before opening the image for writing`,
      );
    }
    return new ImageLock(file);
  }
  const check = (): void => {
    const h = liveWriter(file);
    if (h !== null) {
      throw new LockError(
        `${what}: the image is open for writing in ${describe(h)} (lock file ${file}); stop that VM first, or remove the lock file if no VM is using the image`,
      );
    }
  };
  check();
  const mine = `${file}.r${process.pid}.${++readerSeq}`;
  try {
    fs.writeFileSync(mine, JSON.stringify(me) + '\n', { flag: 'wx', mode: 0o644 });
  } catch {
    return new ImageLock(undefined); // read-only directory: go ahead unlocked
  }
  const lock = new ImageLock(mine);
  try {
    check();
  } catch (e) {
    lock.release();
    throw e;
  }
  return lock;
}

/** Small helpers to run host programs for the image builder. */
import { spawn } from 'node:child_process';
import { accessSync, constants, createWriteStream, type WriteStream } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Every output line (stdout and stderr) is also appended here. */
  log?: WriteStream;
  /** Called for every complete output line. */
  onLine?: (line: string) => void;
  /** How many trailing output lines to keep for error messages. */
  keepTail?: number;
}

export interface RunResult {
  code: number;
  signal: NodeJS.Signals | null;
  tail: string[];
}

/** Run a program (no shell) and wait for it. Never throws for a non-zero exit. */
export function run(
  cmd: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<RunResult> {
  const keep = opts.keepTail ?? 30;
  const tail: string[] = [];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const partial = { out: '', err: '' };
    const feed = (which: 'out' | 'err', chunk: Buffer): void => {
      opts.log?.write(chunk);
      const text = partial[which] + chunk.toString('utf8');
      const lines = text.split('\n');
      partial[which] = lines.pop() ?? '';
      for (const line of lines) emit(line);
    };
    const emit = (line: string): void => {
      tail.push(line);
      if (tail.length > keep) tail.shift();
      opts.onLine?.(line);
    };
    child.stdout.on('data', (c: Buffer) => feed('out', c));
    child.stderr.on('data', (c: Buffer) => feed('err', c));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (partial.out !== '') emit(partial.out);
      if (partial.err !== '') emit(partial.err);
      resolve({ code: code ?? -1, signal, tail });
    });
  });
}

/** Full path of an executable found on PATH (plus the sbin dirs), or undefined. */
export function which(name: string): string | undefined {
  const dirs = (process.env['PATH'] ?? '').split(delimiter).filter((d) => d !== '');
  for (const extra of ['/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin']) {
    if (!dirs.includes(extra)) dirs.push(extra);
  }
  for (const dir of dirs) {
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Open a log file for appending; the caller ends it. */
export function openLog(path: string): WriteStream {
  return createWriteStream(path, { flags: 'a' });
}

export function closeLog(log: WriteStream): Promise<void> {
  return new Promise((resolve) => log.end(() => resolve()));
}

/** Environment for build tools: stable locale, no inherited make flags. */
export function toolEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C', LANG: 'C', ...extra };
  delete env['MAKEFLAGS'];
  delete env['MFLAGS'];
  delete env['MAKELEVEL'];
  return env;
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

export class ImageBuildError extends Error {
  override name = 'ImageBuildError';
}

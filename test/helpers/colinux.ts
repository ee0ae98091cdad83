/** Run the real `colinux` CLI in a child process, as a user would. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../src/cli/colinux.js', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Data for stdin; the stream is closed after it. Default: stdin is /dev/null. */
  input?: string;
  /** Called with stdout as it grows; may write more input. */
  onStdout?: (all: string, write: (s: string) => void) => void;
  /** Kill the child after this many ms (safety net, not a pass/fail timing). */
  killAfterMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const interactive = opts.onStdout !== undefined;
    const child = spawn(process.execPath, [CLI, ...args], {
      stdio: [opts.input !== undefined || interactive ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...opts.env },
      cwd: opts.cwd,
    });
    let stdout = '';
    let stderr = '';
    const write = (s: string): void => void child.stdin?.write(s);
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString('latin1');
      opts.onStdout?.(stdout, write);
    });
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    if (opts.input !== undefined) {
      child.stdin?.end(opts.input);
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs ?? 20 * 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

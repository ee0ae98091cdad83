/**
 * Detached VMs in real processes, for tests: each fixture has its own root
 * directory; each `env(tag)` its own runtime and state directories (the
 * control sockets, pid files and console logs). `cleanup()` kills every VM
 * and child the fixture started and removes the directory.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { CLI, runCli, type CliResult } from './colinux.js';

/** The default image's shell prompt. */
export const PROMPT = /root@colinux:[^\r\n]*# /;

export function show(r: CliResult): string {
  return `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

export function readOr(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A free TCP port on 127.0.0.1 (closed again before it is used). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Wait until `check` holds (polling); fail with `what` after a generous safety limit. */
export async function waitFor(what: string, check: () => boolean, limitMs = 60_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface Step {
  /** Wait for this on the console's stdout… */
  wait?: RegExp;
  /** …then type this. */
  send?: string;
}

export class DaemonFixture {
  readonly root: string;
  private readonly children = new Set<ChildProcess>();
  private readonly envs: NodeJS.ProcessEnv[] = [];

  constructor(prefix: string) {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  }

  /** A fresh runtime + state directory pair, as the environment of the CLI. */
  env(tag: string): NodeJS.ProcessEnv {
    const base = path.join(this.root, tag);
    const env = {
      COLINUX_RUNTIME_DIR: path.join(base, 'run'),
      COLINUX_STATE_DIR: path.join(base, 'state'),
    };
    this.envs.push(env);
    return env;
  }

  cli(env: NodeJS.ProcessEnv, args: string[], killAfterMs = 120_000): Promise<CliResult> {
    return runCli(args, { env, killAfterMs });
  }

  logOf(env: NodeJS.ProcessEnv, name: string): string {
    return path.join(env['COLINUX_STATE_DIR']!, 'logs', `${name}.log`);
  }

  pidOf(env: NodeJS.ProcessEnv, name: string): number {
    return Number(fs.readFileSync(path.join(env['COLINUX_RUNTIME_DIR']!, `${name}.pid`), 'utf8'));
  }

  /** `colinux run --detach --name NAME …`, then wait for `prompt` in its console log. */
  async detach(
    env: NodeJS.ProcessEnv,
    name: string,
    extra: string[] = [],
    prompt: RegExp = PROMPT,
    promptLimitMs = 60_000,
  ): Promise<number> {
    const r = await this.cli(env, ['run', '--detach', '--name', name, ...extra]);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, `${name}\n`);
    assert.match(r.stderr, new RegExp(`VM "${name}" is running in the background`));
    const pid = this.pidOf(env, name);
    assert.ok(alive(pid));
    await waitFor(
      `the shell prompt of ${name}`,
      () => prompt.test(readOr(this.logOf(env, name))),
      promptLimitMs,
    );
    return pid;
  }

  /**
   * `colinux console ARGS` over a pipe: each step waits for a pattern on
   * stdout, then types. Ends stdin (which detaches) after the last step.
   */
  console(env: NodeJS.ProcessEnv, args: string[], steps: Step[]): Promise<CliResult> {
    return new Promise((resolve, reject) => {
      const child = this.spawn(env, ['console', ...args]);
      let stdout = '';
      let stderr = '';
      let i = 0;
      const advance = (): void => {
        while (i < steps.length) {
          const s = steps[i]!;
          if (s.wait && !s.wait.test(stdout)) return;
          if (s.send !== undefined) child.stdin!.write(s.send);
          i++;
        }
        child.stdin!.end();
      };
      child.stdout!.on('data', (d: Buffer) => {
        stdout += d.toString('latin1');
        advance();
      });
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr });
      });
      advance();
    });
  }

  /** The CLI as a child process with piped stdio (killed by `cleanup()` if still running). */
  spawn(env: NodeJS.ProcessEnv, args: string[]): ChildProcess {
    const child = spawn(process.execPath, [CLI, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    this.children.add(child);
    child.on('close', () => this.children.delete(child));
    return child;
  }

  /** Kill whatever a failed test left running (every VM of every env, every child); remove the files. */
  cleanup(): void {
    for (const env of this.envs) {
      const dir = env['COLINUX_RUNTIME_DIR']!;
      for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
        if (!f.endsWith('.pid')) continue;
        const pid = Number(fs.readFileSync(path.join(dir, f), 'utf8'));
        if (pid > 0 && pid !== process.pid) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone
          }
        }
      }
    }
    for (const c of this.children) c.kill('SIGKILL');
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/**
 * `colinux run --detach`: the command starts a second `colinux run` with the
 * same arguments as a background process (its own session, no terminal)
 * and returns once that process reports its VM running. Until then the
 * background process's stderr (image build progress, errors) is relayed;
 * if it fails to start, the command exits with its status.
 *
 * The background process learns its role from COLINUX_DAEMON_CHILD=1 and an
 * IPC channel, on which it sends one message, {type: "ready", …}, and then
 * disconnects.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EXIT_OK, EXIT_VM_ERROR } from './exit-codes.js';

const CHILD_ENV = 'COLINUX_DAEMON_CHILD';

export interface ReadyMessage {
  type: 'ready';
  name: string;
  pid: number;
  socket: string | null;
  log: string | null;
}

/** Is this process the background half of `run --detach`? */
export function isDaemonChild(): boolean {
  return process.env[CHILD_ENV] === '1' && typeof process.send === 'function';
}

/** In the background process: the VM runs; let the starting command return. */
export function reportReady(msg: Omit<ReadyMessage, 'type'>): void {
  if (!isDaemonChild()) return;
  // Once the parent has gone, nobody reads our stderr any more.
  process.stderr.on('error', () => undefined);
  process.send!({ type: 'ready', ...msg } satisfies ReadyMessage, () => {
    process.disconnect?.();
  });
  delete process.env[CHILD_ENV];
}

// The bundled command line (scripts/bundle.mjs), which starts fastest.
const CLI = fileURLToPath(new URL('./colinux.js', import.meta.url));

/**
 * Start `colinux run <args>` (or `resume`) in the background and wait until
 * its VM runs. Prints the VM name on stdout (for scripts) and how to reach it
 * on stderr.
 */
export function startDetached(args: string[], command: 'run' | 'resume' = 'run'): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, CLI, command, ...args], {
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: { ...process.env, [CHILD_ENV]: '1' },
      cwd: process.cwd(),
      windowsHide: true,
    });
    let settled = false;
    const onSignal = (): void => {
      // Interrupted while the VM starts (an image build can take minutes): abandon it.
      if (child.pid !== undefined) {
        try {
          process.kill(process.platform === 'win32' ? child.pid : -child.pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const finish = (code: number): void => {
      if (settled) return;
      settled = true;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(code);
    };
    child.stderr!.on('data', (d: Buffer) => {
      if (!settled) process.stderr.write(d);
    });
    child.on('message', (m: unknown) => {
      const msg = m as Partial<ReadyMessage>;
      if (msg.type !== 'ready' || settled) return;
      child.stderr!.destroy();
      child.unref();
      process.stdout.write(`${msg.name}\n`);
      process.stderr.write(
        `colinux: VM "${msg.name}" is running in the background (pid ${msg.pid}).\n` +
          `  colinux console ${msg.name}    attach (Ctrl-A d detaches)\n` +
          `  colinux stop ${msg.name}       shut it down\n` +
          (msg.log ? `  console log: ${msg.log}\n` : ''),
      );
      finish(EXIT_OK);
    });
    child.on('error', (e) => {
      process.stderr.write(`colinux: cannot start the VM process: ${e.message}\n`);
      finish(EXIT_VM_ERROR);
    });
    child.on('close', (code, signal) => {
      if (settled) return;
      if (code === null || code === 0) {
        process.stderr.write(
          `colinux: the VM process ended${signal ? ` (${signal})` : ''} before its VM was running\n`,
        );
        finish(EXIT_VM_ERROR);
      } else {
        finish(code);
      }
    });
  });
}

/**
 * `colinux run` around the VM: claim the name, open the console log and the
 * control socket, report the VM running to a waiting `run --detach`, and
 * turn signals into a graceful stop.
 */
import type { VmConfig } from './config.js';
import { isDaemonChild, reportReady } from './daemon.js';
import { EXIT_USAGE, EXIT_VM_ERROR } from './exit-codes.js';
import {
  claimVmName,
  defaultLogPath,
  NameInUseError,
  RuntimeError,
  runtimeDir,
  type VmClaim,
} from './runtime.js';
import { VmHost } from './vm-host.js';
import type { VmExit } from '../vm.js';
import { forwardLabels } from './net-spec.js';

function say(line: string): void {
  process.stderr.write(`colinux: ${line}\n`);
}

/** Disks as `colinux ls` shows them. */
function diskLabels(cfg: VmConfig): string[] {
  return cfg.disks.map(
    (d) =>
      `cobd${d.index}=${d.path}${d.readOnly ? ',ro' : ''}${d.overlay !== undefined ? ',cow' : ''}`,
  );
}

/**
 * Claim the VM's name and open its host (log, control socket). For a
 * foreground VM without --name, a runtime directory that cannot be used only
 * costs the control socket (a warning); otherwise it is an error. Returns an
 * exit status on failure.
 */
export async function openVmHost(cfg: VmConfig, version: string): Promise<VmHost | number> {
  const detached = isDaemonChild();
  // Whoever read our stderr may be gone (a closed pipe): that must not crash a running VM.
  process.stderr.on('error', () => undefined);
  let claim: VmClaim | undefined;
  try {
    claim = await claimVmName(runtimeDir(), cfg.name, (p) =>
      say(`removed the files of VM "${p.name}" (pid ${p.pid ?? '?'} ended without cleaning up)`),
    );
  } catch (e) {
    if (e instanceof NameInUseError) {
      say(e.message);
      return EXIT_USAGE;
    }
    if (!(e instanceof RuntimeError) && (e as NodeJS.ErrnoException).code === undefined) throw e;
    if (detached || cfg.name !== undefined) {
      say((e as Error).message);
      return EXIT_VM_ERROR;
    }
    say(`warning: ${(e as Error).message}; this VM gets no control socket`);
  }
  const name = claim?.name ?? cfg.name ?? 'vm';
  try {
    const host = new VmHost({
      name,
      claim,
      logPath: cfg.log === null ? null : (cfg.log ?? defaultLogPath(name)),
      detached,
      version,
      info: {
        memMiB: cfg.memMiB,
        disks: diskLabels(cfg),
        forwards: forwardLabels(cfg.nics),
        panic: cfg.panic,
      },
      serialPorts: cfg.serialPorts,
      gdb: cfg.gdb ? { endpoint: cfg.gdb.endpoint, wait: cfg.gdbWait === true } : undefined,
      notice: detached ? undefined : say,
    });
    await host.open();
    return host;
  } catch (e) {
    claim?.release();
    say(`cannot set up VM "${name}": ${(e as Error).message}`);
    return EXIT_VM_ERROR;
  }
}

/**
 * Run the VM; a `run --detach` waiting for us hears that it runs. A first
 * SIGINT/SIGTERM (see `onSignal`) presses the power button, a second one
 * stops at once.
 */
export async function runHosted(host: VmHost): Promise<VmExit> {
  const running = host.run();
  if (isDaemonChild()) {
    reportReady({
      name: host.name,
      pid: process.pid,
      socket: host.socketPath ?? null,
      log: host.logPath,
    });
    // A background process must not keep a directory busy.
    process.chdir('/');
    process.on('SIGHUP', () => undefined);
  }
  return running;
}

/** The signal handler for a hosted VM: graceful first, at once the second time. */
export function signalHandler(host: VmHost): (sig: NodeJS.Signals) => void {
  let count = 0;
  return (sig) => {
    count++;
    if (count === 1) {
      host.note(
        `${sig}: asking the guest to shut down (power button); send it again to stop at once`,
      );
      host.gracefulStop();
    } else {
      host.kill();
    }
  };
}

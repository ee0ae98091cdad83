/**
 * Connects the VM console to this process's terminal. On a TTY: raw mode, so
 * every key (Ctrl-C included) reaches the guest, and a QEMU-style escape:
 * Ctrl-A x quits, Ctrl-A h shows help, Ctrl-A Ctrl-A sends Ctrl-A. On a pipe
 * or file: input is forwarded as it arrives and EOF is not an error (with
 * --cmd, EOF reaches the command as end of input).
 */
import type { Vm } from '../vm.js';

const CTRL_A = 0x01;
const CTRL_D = 0x04;

export interface TerminalLink {
  detach(): void;
  /** The user pressed Ctrl-A x. */
  readonly quitByUser: boolean;
  /** The signal that stopped the VM, if any. */
  readonly signal: NodeJS.Signals | undefined;
}

export const ESCAPE_HELP = [
  '',
  'colinux console escapes:',
  '  Ctrl-A x    quit colinux (stops the VM at once)',
  '  Ctrl-A h    this help',
  '  Ctrl-A Ctrl-A   send Ctrl-A to the guest',
  '',
].join('\r\n');

export function attachTerminal(
  vm: Vm,
  opts: {
    commandMode: boolean;
    /** SIGINT/SIGTERM handler (default: stop the VM); with it, signals are caught on a TTY too. */
    onSignal?: (sig: NodeJS.Signals) => void;
    /** Forward stdin to the guest (default true; false when the caller took it). */
    input?: boolean;
  },
): TerminalLink {
  const stdin = process.stdin;
  const tty = stdin.isTTY === true;
  let escaped = false;
  let quitByUser = false;
  let signal: NodeJS.Signals | undefined;

  const onData = (chunk: Buffer): void => {
    if (!tty) {
      vm.write(new Uint8Array(chunk));
      return;
    }
    const out: number[] = [];
    for (const b of chunk) {
      if (escaped) {
        escaped = false;
        if (b === 0x78 /* x */ || b === 0x58) {
          quitByUser = true;
          vm.stop();
          return;
        }
        if (b === 0x68 /* h */ || b === 0x48) process.stderr.write(ESCAPE_HELP);
        else if (b === CTRL_A) out.push(CTRL_A);
        continue;
      }
      if (b === CTRL_A) escaped = true;
      else out.push(b);
    }
    if (out.length) vm.write(Uint8Array.from(out));
  };
  const onEnd = (): void => {
    // With --cmd, end of input reaches the command as EOF (Ctrl-D at the start of a line).
    if (opts.commandMode) vm.write(Uint8Array.of(CTRL_D));
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    signal ??= sig;
    if (opts.onSignal) opts.onSignal(sig);
    else vm.stop();
  };

  const input = opts.input !== false;
  if (input) {
    if (tty) stdin.setRawMode(true);
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdin.on('error', () => undefined);
    stdin.resume();
  }
  if (!tty || opts.onSignal) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  return {
    get quitByUser() {
      return quitByUser;
    },
    get signal() {
      return signal;
    },
    detach() {
      if (input) {
        stdin.off('data', onData);
        stdin.off('end', onEnd);
        if (tty) stdin.setRawMode(false);
        stdin.pause();
      }
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

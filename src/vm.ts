/**
 * The embedding API: create a VM, stream its console, send input, await its
 * exit. With no kernel given it boots colinux's default image (built from
 * Debian packages on first use and cached).
 *
 *   import { Vm } from 'colinux';
 *   const vm = await Vm.create({ cmd: 'uname -a' });
 *   vm.onOutput((bytes) => process.stdout.write(bytes));
 *   const exit = await vm.run();   // { reason: 'poweroff', exitCode: 0 }
 */
import { readFile } from 'node:fs/promises';
import { Machine, type MachineExit } from './machine/machine.js';
import { CommandStatusFilter, commandCmdline } from './machine/command-status.js';
import { ensureDefaultImage } from './backends/image/index.js';

export interface VmOptions {
  /** Kernel `Image` or ELF: a path or the bytes. Default: the default image. */
  kernel?: string | Uint8Array;
  /** initrd/initramfs: a path or the bytes; null for none. Default: the default image's (when the kernel is default). */
  initrd?: string | Uint8Array | null;
  /** Guest RAM in MiB (default 256). */
  memMiB?: number;
  /** The kernel command line (default `console=ttyS0 earlycon=sbi`). */
  cmdline?: string;
  /** Extra kernel command-line words, appended. */
  kernelArgs?: string[];
  /** Run this shell command in the guest (default image), stream its output, exit with its status. */
  cmd?: string;
  /** Progress lines while the default image is built (first use only). */
  onProgress?: (line: string) => void;
  /** Stop with reason 'timeout' after about this many guest instructions. */
  instructionLimit?: number;
}

export interface VmExit extends MachineExit {
  /** With `cmd`: the command's exit status (also in exitCode), if it finished. */
  commandStatus?: number;
}

export const DEFAULT_KERNEL_ARGS = ['console=ttyS0', 'earlycon=sbi'];

async function bytesOf(src: string | Uint8Array, what: string): Promise<Uint8Array> {
  if (typeof src !== 'string') return src;
  try {
    return new Uint8Array(await readFile(src));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(e);
    throw new Error(`${what}=${src}: ${why}`);
  }
}

export class Vm {
  private machine: Machine;
  private readonly listeners: Array<(bytes: Uint8Array) => void> = [];
  private readonly filter: CommandStatusFilter | undefined;
  private readonly make: () => Machine;

  private constructor(make: () => Machine, hasCmd: boolean) {
    this.make = make;
    this.filter = hasCmd ? new CommandStatusFilter() : undefined;
    this.machine = make();
  }

  static async create(opts: VmOptions = {}): Promise<Vm> {
    let kernel: Uint8Array;
    let initrd: Uint8Array | undefined;
    if (opts.kernel === undefined) {
      const image = await ensureDefaultImage({ onProgress: opts.onProgress });
      kernel = await bytesOf(image.kernel, 'kernel');
      if (opts.initrd !== null) initrd = await bytesOf(opts.initrd ?? image.initrd, 'initrd');
    } else {
      kernel = await bytesOf(opts.kernel, 'kernel');
      if (opts.initrd) initrd = await bytesOf(opts.initrd, 'initrd');
    }
    const words = [opts.cmdline ?? DEFAULT_KERNEL_ARGS.join(' '), ...(opts.kernelArgs ?? [])];
    let cmdline = words.filter((w) => w !== '').join(' ');
    if (opts.cmd !== undefined) cmdline = commandCmdline(cmdline, opts.cmd);
    let vm: Vm | undefined = undefined;
    const make = (): Machine =>
      new Machine({
        memMiB: opts.memMiB ?? 256,
        kernel,
        initrd,
        cmdline,
        instructionLimit: opts.instructionLimit,
        onOutput: (bytes) => vm?.deliver(bytes),
      });
    vm = new Vm(make, opts.cmd !== undefined);
    return vm;
  }

  /** Receive console output (called with each chunk as the guest writes it). */
  onOutput(listener: (bytes: Uint8Array) => void): void {
    this.listeners.push(listener);
  }

  /** Send console input to the guest. */
  write(data: Uint8Array | string): void {
    this.machine.sendInput(data);
  }

  /** Stop the VM from the host side; run() resolves with reason 'stopped'. */
  stop(): void {
    this.machine.stop('stopped', 0);
  }

  private deliver(bytes: Uint8Array): void {
    const out = this.filter ? this.filter.push(bytes) : bytes;
    if (out.length) for (const l of this.listeners) l(out);
  }

  /** Boot and run until the guest powers off, panics or is stopped. A guest reboot restarts it. */
  async run(): Promise<VmExit> {
    for (;;) {
      const exit = await this.machine.run();
      if (exit.reason === 'reboot') {
        this.machine = this.make();
        continue;
      }
      if (this.filter) {
        const rest = this.filter.flush();
        if (rest.length) for (const l of this.listeners) l(rest);
        if (this.filter.status !== undefined && exit.reason === 'poweroff') {
          return { ...exit, exitCode: this.filter.status, commandStatus: this.filter.status };
        }
      }
      return exit;
    }
  }
}

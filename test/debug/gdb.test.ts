/**
 * The GDB stub with the real debugger: Debian's gdb-multiarch against the
 * default kernel's vmlinux, driving a `colinux run` as a kernel developer
 * would (`gdb=tcp:PORT gdbwait`, then `target remote`).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ensureDefaultImage } from '../../src/backends/image/index.js';
import { CLI } from '../helpers/colinux.js';
import { PROMPT, freePort, waitFor } from '../helpers/daemon.js';

const GDB = 'gdb-multiarch';
const haveGdb = spawnSync(GDB, ['--version'], { stdio: 'ignore' }).status === 0;
const skip = haveGdb ? false : `${GDB} is not installed (apt-get install gdb-multiarch)`;
let vmlinux = '';
let kernelImage = '';

before(async () => {
  if (skip) return;
  const img = await ensureDefaultImage({ onProgress: (line) => process.stderr.write(`${line}\n`) });
  vmlinux = img.vmlinux;
  kernelImage = img.kernel;
});

interface Child {
  proc: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

function start(cmd: string, args: string[], stdin: 'pipe' | 'ignore' = 'ignore'): Child {
  const proc = spawn(cmd, args, { stdio: [stdin, 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)));
  // A safety net against hangs, not a timing.
  const timer = setTimeout(() => proc.kill('SIGKILL'), 300_000);
  void exited.then(() => clearTimeout(timer));
  return { proc, out: () => out, exited };
}

function startVm(args: string[]): Child {
  return start(process.execPath, [CLI, 'run', 'eth0=none', '--log', 'none', ...args]);
}

test(
  'gdb-multiarch: break at start_kernel, read linux_banner, step, watch jiffies, detach and the VM runs on',
  { skip },
  async () => {
    const port = await freePort();
    const vm = startVm([`gdb=tcp:${port}`, 'gdbwait', '--cmd', 'echo after-gdb']);
    await waitFor('the stub to listen', () => vm.out().includes('waiting for a debugger'));
    const gdb = start(GDB, [
    '-q', '-nx', '-batch',
    '-ex', 'set pagination off',
    '-ex', `target remote 127.0.0.1:${port}`,
    '-ex', 'info registers pc priv',
    '-ex', 'break start_kernel',
    '-ex', 'continue',
    '-ex', 'x/s &linux_banner',
    '-ex', 'set $t0 = 0x1234abcd',
    '-ex', 'p/x $t0',
    '-ex', 'monitor phys on',
    '-ex', 'x/2wx 0x80200000',
    '-ex', 'monitor phys off',
    '-ex', 'stepi',
    '-ex', 'stepi',
    '-ex', 'info registers pc',
    '-ex', 'delete',
    '-ex', 'watch *(long *)&jiffies',
    '-ex', 'continue',
    '-ex', 'delete',
    '-ex', 'hbreak kernel_power_off',
    '-ex', 'continue',
    '-ex', 'delete',
    '-ex', 'monitor info cpu',
    '-ex', 'detach',
    vmlinux,
  ]); // prettier-ignore
    assert.equal(await gdb.exited, 0, gdb.out());
    const g = gdb.out();
    // Held before the first instruction: the kernel's entry, in S-mode (cooperative boot).
    assert.match(g, /^pc\s+0x80200000\b/m, g);
    assert.match(g, /^priv\s+0x1\b/m, g);
    assert.match(g, /Breakpoint 1, 0x[0-9a-f]+ in start_kernel \(\)/, g);
    assert.match(g, /<linux_banner>:\s+"Linux version 6\.12/, g);
    // Two steps later pc is inside start_kernel still, past its first instruction.
    const pcs = [...g.matchAll(/^pc\s+(0x[0-9a-f]+)\s+0x[0-9a-f]+ <start_kernel\+(\d+)>/gm)];
    assert.ok(pcs.length >= 1 && Number(pcs.at(-1)![2]) > 0, g);
    assert.match(
      g,
      /Hardware watchpoint 2: \*\(long \*\)&jiffies\s+Old value = -?\d+\s+New value = -?\d+/,
      g,
    );
    // Registers are written, physical memory read: the Image's first words, as in the file.
    assert.match(g, /^\$1 = 0x1234abcd$/m, g);
    const image = readFileSync(kernelImage);
    const word = (at: number): string =>
      `0x${image.readUInt32LE(at).toString(16).padStart(8, '0')}`;
    assert.ok(g.includes(`0x80200000:\t${word(0)}\t${word(4)}`), g);
    assert.match(g, /Breakpoint 3, 0x[0-9a-f]+ in kernel_power_off \(\)/, g);
    assert.match(g, /^priv S {2}pc 0x/m, g);
    assert.match(g, /Inferior 1 \(Remote target\) detached/, g);
    // The VM runs on to its command and powers off.
    assert.equal(await vm.exited, 0, vm.out());
    assert.match(vm.out(), /after-gdb/);
    assert.match(vm.out(), /gdb: debugger left; the VM runs on/);
  },
);

test(
  'gdb-multiarch: Ctrl-C stops a running VM, registers read, kill ends it',
  { skip },
  async () => {
    const port = await freePort();
    const vm = startVm([`gdb=tcp:127.0.0.1:${port}`]);
    await waitFor('a shell prompt', () => PROMPT.test(vm.out()), 120_000);
    const gdb = start(
      GDB,
      ['-q', '-nx', '-ex', `target remote 127.0.0.1:${port}`, vmlinux],
      'pipe',
    );
    gdb.proc.stdin!.write('set confirm off\ncontinue\n');
    await waitFor('gdb to continue', () => gdb.out().includes('Continuing.'));
    // What Ctrl-C at gdb's terminal does: gdb sends the interrupt byte.
    gdb.proc.kill('SIGINT');
    await waitFor('the stop', () => gdb.out().includes('received signal SIGINT'));
    gdb.proc.stdin!.write('info registers sp\nmonitor info tlb\nkill\nquit\n');
    assert.equal(await gdb.exited, 0, gdb.out());
    const g = gdb.out();
    // An idle kernel: stopped in kernel code, on a kernel stack.
    assert.match(g, /\bsp\s+0xffff[0-9a-f]+/, g);
    // The kernel's page table: its image mapped at the top of the address space.
    assert.match(g, /0xffffffff80000000-0x[0-9a-f]+ -> 0x0080200000/, g);
    assert.notEqual(await vm.exited, null);
    assert.match(vm.out(), /killed by the debugger|the debugger killed the VM/, vm.out());
  },
);

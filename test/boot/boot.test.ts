/**
 * Real Linux boots: the default image (kernel built from Debian's
 * linux-source-6.12, busybox-static initramfs) on colinux, driven through the
 * `colinux` command exactly as a user runs it.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { ensureDefaultImage } from '../../src/backends/image/index.js';
import { runCli } from '../helpers/colinux.js';

const ESC_6N = String.fromCharCode(27) + '[6n';

before(async () => {
  // First run on a fresh machine builds the image (several minutes); later runs hit the cache.
  await ensureDefaultImage({ onProgress: (line) => process.stderr.write(`${line}\n`) });
});

test('--cmd runs a command in the guest and reports riscv64 and the ISA', async () => {
  const r = await runCli(['run', '--cmd', 'uname -m; grep isa /proc/cpuinfo']);
  assert.equal(r.code, 0, `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.match(r.stdout, /^riscv64$/m);
  assert.match(r.stdout, /^isa\s*:\s*rv64imafdc/m);
  // The kernel found the bit manipulation and Zicond extensions in the device tree.
  assert.match(r.stdout, /^isa\s*:.*_zicond_.*_zba_zbb_zbc_zbs_/m);
  assert.doesNotMatch(r.stdout, /colinux-exit-status/);
});

test('a VM has a network by default (eth0 by DHCP from the NAT), and none with eth0=none', async () => {
  const r = await runCli(['run', '--cmd', 'ip -4 addr show eth0']);
  assert.equal(r.code, 0, `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.match(r.stdout, /inet 10\.0\.2\.15\/24/);
  const none = await runCli(['run', 'eth0=none', '--cmd', 'ls /sys/class/net']);
  assert.equal(none.code, 0, `stdout:\n${none.stdout}\nstderr:\n${none.stderr}`);
  assert.doesNotMatch(none.stdout, /eth0/);
  assert.match(none.stdout, /^lo$/m);
});

test("a failing command's exit status comes back", async () => {
  const r = await runCli(['run', '--cmd', 'echo before; exit 7']);
  assert.equal(r.code, 7, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.match(r.stdout, /^before$/m);
});

test('--cmd forwards piped stdin and EOF to the command', async () => {
  const r = await runCli(['run', '--cmd', 'cat; echo "[done]"'], { input: 'line one\nline two\n' });
  assert.equal(r.code, 0, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.match(r.stdout, /line one\nline two\n\[done\]/);
});

test('interactive shell over a pipe: type a command, then poweroff exits 0', async () => {
  let sent = 0;
  const r = await runCli(['run'], {
    onStdout: (out, write) => {
      // busybox ash follows its prompt with a cursor-position query (ESC [6n).
      if (sent === 0 && out.replace(ESC_6N, '').endsWith('# ')) {
        sent = 1;
        write('echo result-$((6*7))\n');
      } else if (sent === 1 && /result-42/.test(out)) {
        sent = 2;
        write('poweroff\n');
      }
    },
  });
  assert.equal(sent, 2, `never reached the prompt; stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.equal(r.code, 0, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.match(r.stdout, /result-42/);
});

test('a kernel panic (no root filesystem) stops the VM with a non-zero status and the panic line', async () => {
  const r = await runCli(['run', 'initrd=none', 'root=/dev/vda']);
  assert.equal(r.code, 3, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.match(r.stderr, /guest kernel panic: Kernel panic - not syncing/);
});

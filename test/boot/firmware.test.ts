/**
 * Firmware boot: Debian's OpenSBI (M-mode) on colinux, then the default Linux
 * on top of it, as QEMU's -bios does.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { ensureDefaultImage } from '../../src/backends/image/index.js';
import { runCli } from '../helpers/colinux.js';
import { Vm } from '../../src/index.js';
import { waitFor } from '../helpers/daemon.js';

const OPENSBI = '/usr/lib/riscv64-linux-gnu/opensbi/generic';
const ESC_6N = String.fromCharCode(27) + '[6n';

before(async () => {
  if (!existsSync(`${OPENSBI}/fw_dynamic.bin`) && process.getuid?.() === 0) {
    process.stderr.write('colinux test: installing Debian opensbi\n');
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'opensbi'], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  }
  assert.ok(
    existsSync(`${OPENSBI}/fw_dynamic.bin`),
    'Debian opensbi is not installed: apt-get install opensbi',
  );
  await ensureDefaultImage({ onProgress: (line) => process.stderr.write(`${line}\n`) });
});

test('OpenSBI fw_dynamic boots Linux, which runs a command and powers off through SBI', async () => {
  const r = await runCli([
    'run',
    `bios=${OPENSBI}/fw_dynamic.bin`,
    '--cmd',
    'echo fw-ok; grep ^isa /proc/cpuinfo',
  ]);
  assert.equal(r.code, 0, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.match(r.stdout, /OpenSBI v\d+\.\d+/);
  assert.match(r.stdout, /Boot HART PMP Count\s*: 16/);
  assert.match(r.stdout, /^fw-ok$/m);
  assert.match(r.stdout, /^isa\s*: rv64imafdc/m);
});

test('OpenSBI fw_jump (ELF) boots Linux to an interactive prompt', async () => {
  let sent = 0;
  const r = await runCli(['run', `bios=${OPENSBI}/fw_jump.elf`], {
    onStdout: (out, write) => {
      if (sent === 0 && out.replace(ESC_6N, '').endsWith('# ')) {
        sent = 1;
        write('echo via-firmware-$((40+2))\n');
      } else if (sent === 1 && /via-firmware-42/.test(out)) {
        sent = 2;
        write('poweroff\n');
      }
    },
  });
  assert.equal(sent, 2, `never reached the prompt; stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.equal(r.code, 0, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.match(r.stdout, /Domain0 Next Address\s*: 0x0*80200000/);
});

test('firmware that does not fit below the kernel is refused clearly', async () => {
  const big = '/tmp/colinux-test-bigfw.bin';
  spawnSync('truncate', ['-s', '3M', big]);
  const r = await runCli(['run', `bios=${big}`, 'initrd=none']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /firmware is too large/);
});

test('a VM booted through OpenSBI suspends and resumes (M-mode firmware state in RAM and the hart)', async () => {
  const vm = await Vm.create({ memMiB: 128, bios: `${OPENSBI}/fw_dynamic.bin` });
  let out = '';
  vm.onOutput((b) => (out += Buffer.from(b).toString('latin1')));
  const done = vm.run();
  try {
    await waitFor('the shell prompt', () => /~# /.test(out), 120_000);
    vm.write('sleep 0.2; echo fw-$((3*3))\n');
    await waitFor('the command', () => /fw-9/.test(out), 120_000);
    const file = await vm.suspend();
    assert.equal((await done).reason, 'suspended');

    const vm2 = await Vm.resume(file);
    let out2 = '';
    vm2.onOutput((b) => (out2 += Buffer.from(b).toString('latin1')));
    const done2 = vm2.run();
    // sleep needs the timer (SBI through the firmware), poweroff the SBI reset.
    vm2.write('sleep 0.5; echo back-$((4*4)); poweroff\n');
    const exit = await done2;
    assert.match(out2, /back-16/);
    assert.equal(exit.reason, 'poweroff');
  } finally {
    vm.stop();
  }
});

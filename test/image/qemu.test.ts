/**
 * Sanity check of the default image on the reference machine: boots it in
 * QEMU's `virt` board (if qemu-system-riscv64 is installed) in command mode
 * and in interactive mode. Skipped without QEMU or with
 * COLINUX_SKIP_IMAGE_BUILD=1.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { ensureDefaultImage } from '../../src/backends/image/index.js';

const QEMU = 'qemu-system-riscv64';
const haveQemu = spawnSync(QEMU, ['--version']).status === 0;
const skip =
  process.env['COLINUX_SKIP_IMAGE_BUILD'] === '1'
    ? 'COLINUX_SKIP_IMAGE_BUILD=1'
    : !haveQemu && `${QEMU} not installed`;

interface Step {
  /** Wait until the output (after the previous match) matches this. */
  wait: RegExp;
  /** Then type this. */
  send?: string;
}

/** Boot QEMU, play `steps`, wait for QEMU to exit by itself. */
function boot(
  kernel: string,
  initrd: string,
  append: string,
  steps: Step[],
  timeoutMs = 120_000,
): Promise<{ output: string; code: number | null; stepsDone: number }> {
  const q = spawn(
    QEMU,
    [
      ...['-M', 'virt', '-m', '256', '-nographic', '-bios', 'default'],
      ...['-kernel', kernel, '-initrd', initrd, '-append', append],
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let output = '';
  let from = 0;
  let step = 0;
  // Never leave a QEMU behind, even if this test process dies first.
  const killQemu = (): void => {
    q.kill('SIGKILL');
  };
  process.once('exit', killQemu);
  return new Promise((resolve) => {
    const timer = setTimeout(killQemu, timeoutMs);
    q.stdout.on('data', (c: Buffer) => {
      output += c.toString('latin1');
      while (step < steps.length) {
        const m = steps[step]!.wait.exec(output.slice(from));
        if (!m) break;
        from += m.index + m[0].length;
        const send = steps[step]!.send;
        if (send !== undefined) setTimeout(() => q.stdin.write(send), 200);
        step++;
      }
    });
    q.stderr.on('data', (c: Buffer) => (output += c.toString('latin1')));
    q.on('exit', (code) => {
      clearTimeout(timer);
      process.removeListener('exit', killQemu);
      resolve({ output, code, stepsDone: step });
    });
  });
}

// busybox's line editor asks the terminal for the cursor position after
// each prompt; nothing answers here, so allow that query after "# ".
// eslint-disable-next-line no-control-regex
const PROMPT = /root@colinux:[^\n]*# (\x1b\[6n)?$/;

test('command mode: output, exit status marker, power off', { skip }, async () => {
  const img = await ensureDefaultImage();
  const cmd = Buffer.from('uname -m; exit 3').toString('base64');
  const r = await boot(img.kernel, img.initrd, `console=ttyS0 quiet colinux.cmd=${cmd}`, [
    { wait: /colinux-exit-status:\d+\n/ },
  ]);
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, /\nriscv64\n\ncolinux-exit-status:3\n/);
});

test('interactive shell, Ctrl-C, poweroff', { skip }, async () => {
  const img = await ensureDefaultImage();
  const r = await boot(img.kernel, img.initrd, 'console=ttyS0', [
    { wait: PROMPT, send: 'echo sum=$((40+2)); hostname\n' },
    { wait: /sum=42\r?\ncolinux\r?\n/ },
    { wait: PROMPT, send: 'sleep 100\n' },
    { wait: /sleep 100\r?\n/, send: '\x03' },
    { wait: PROMPT, send: 'echo status=$?\n' },
    { wait: /status=130/ },
    { wait: PROMPT, send: 'poweroff\n' },
    { wait: /reboot: Power down/ },
  ]);
  assert.equal(r.stepsDone, 8, r.output);
  assert.equal(r.code, 0, r.output);
});

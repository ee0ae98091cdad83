/** The embedding API, as a program that embeds colinux uses it. */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { Vm } from '../../src/index.js';
import { ensureDefaultImage } from '../../src/backends/image/index.js';

before(async () => {
  await ensureDefaultImage({ onProgress: (line) => process.stderr.write(`${line}\n`) });
});

test('Vm.create({cmd}) streams the output and resolves with the command status', async () => {
  const vm = await Vm.create({ cmd: 'echo embedded; cat /proc/sys/kernel/hostname; exit 5' });
  let out = '';
  vm.onOutput((b) => (out += Buffer.from(b).toString()));
  const exit = await vm.run();
  assert.equal(exit.reason, 'poweroff');
  assert.equal(exit.exitCode, 5);
  assert.equal(exit.commandStatus, 5);
  assert.match(out, /^embedded\ncolinux\n$/);
});

test('an interactive VM takes input through write() and can be stopped from the host', async () => {
  const vm = await Vm.create({ memMiB: 64 });
  let out = '';
  let typed = false;
  vm.onOutput((b) => {
    out += Buffer.from(b).toString('latin1');
    if (!typed && out.includes('# ')) {
      typed = true;
      vm.write('echo $((1+2))-from-api\n');
    }
    if (/3-from-api/.test(out)) vm.stop();
  });
  const exit = await vm.run();
  assert.equal(exit.reason, 'stopped');
  assert.match(out, /3-from-api/);
  // No shared folder was asked for: the boot does not try (and warn about) one.
  assert.doesNotMatch(out, /no channels available/);
});

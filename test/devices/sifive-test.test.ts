import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SifiveTest } from '../../src/devices/sifive-test.js';

test('syscon power off, exit codes and reset', () => {
  const events: string[] = [];
  const d = new SifiveTest({
    onPowerOff: (c) => events.push(`off ${c}`),
    onReset: () => events.push('reset'),
  });
  d.write(0, 4, 0x5555);
  d.write(0, 4, 0x3333 | (42 << 16));
  d.write(0, 4, 0x3333 | (0xffff << 16));
  d.write(0, 4, 0x7777);
  d.write(0, 4, 0x1234); // ignored
  d.write(4, 4, 0x5555); // wrong offset
  d.write(0, 1, 0x55); // byte write
  d.write(0, 2, 0x5555);
  assert.deepEqual(events, ['off 0', 'off 42', 'off 65535', 'reset', 'off 0']);
  assert.equal(d.read(0, 4), 0);
  assert.deepEqual(d.save(), { version: 1 });
  d.restore({ version: 1 });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeKconfig, parseKconfig, verifyKconfig } from '../../src/backends/image/kconfig.js';

const base = `#
# Automatically generated file; DO NOT EDIT.
#
CONFIG_A=y
# CONFIG_B is not set
CONFIG_C="text"
CONFIG_D=5
`;

test('parse', () => {
  const m = parseKconfig(base);
  assert.equal(m.get('CONFIG_A'), 'y');
  assert.equal(m.get('CONFIG_B'), 'n');
  assert.equal(m.get('CONFIG_C'), '"text"');
  assert.equal(m.get('CONFIG_D'), '5');
});

test('merge moves fragment options to the end (choices: last wins)', () => {
  const merged = mergeKconfig(base, '# CONFIG_A is not set\nCONFIG_B=y\nCONFIG_E=m\n');
  assert.equal(
    merged,
    `#
# Automatically generated file; DO NOT EDIT.
#
CONFIG_C="text"
CONFIG_D=5
# CONFIG_A is not set
CONFIG_B=y
CONFIG_E=m
`,
  );
});

test('verify names options that did not stick', () => {
  const fragment =
    'CONFIG_A=y\nCONFIG_B=y\n# CONFIG_C is not set\n# CONFIG_Z is not set\nCONFIG_D=5\n';
  assert.deepEqual(verifyKconfig(fragment, base), [
    { option: 'CONFIG_B', wanted: 'y', got: 'n' },
    { option: 'CONFIG_C', wanted: 'n', got: '"text"' },
  ]);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ConfigError,
  fileProblems,
  formatConfig,
  parseRunArgs,
  VIRTIO_SLOTS,
} from '../../src/cli/config.js';

test('cofsN=dir[,ro]: shared folders are parsed, sorted and resolved', () => {
  const cfg = parseRunArgs(['cofs1=/srv/b,ro', 'cofs0=rel/dir', 'cofs1=/srv/c'], { cwd: '/w' });
  assert.deepEqual(
    cfg.shares.map((s) => [s.index, s.path, s.readOnly]),
    [
      [0, '/w/rel/dir', false],
      [1, '/srv/c', false],
    ],
    'later cofs1= replaces the earlier one',
  );
  const ro = parseRunArgs(['cofs3=/x,ro'], { cwd: '/w' }).shares[0]!;
  assert.equal(ro.readOnly, true);
  assert.match(
    formatConfig(parseRunArgs(['cofs3=/x,ro'])),
    /^cofs3=\/x,ro \(guest mount tag cofs3\)/m,
  );
});

test('cofsN=: bad values name the problem', () => {
  const bad = (args: string[], re: RegExp) =>
    assert.throws(
      () => parseRunArgs(args, { cwd: '/w' }),
      (e: unknown) => e instanceof ConfigError && re.test(e.message),
    );
  bad(['cofs0='], /cofs0=: empty path/);
  bad(['cofs0=/x,rw,bogus'], /unknown shared folder option "bogus"/);
  bad(['cofs32=/x'], /from 0 to 31/);
  const many = Array.from({ length: VIRTIO_SLOTS + 1 }, (_, i) => `cofs${i}=/x${i}`);
  bad(many, /virtio slots/);
});

test('cofsN=: a missing directory or a file is a file problem', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cofs-cfg-'));
  try {
    fs.writeFileSync(path.join(tmp, 'file'), '');
    const cfg = parseRunArgs([`cofs0=${tmp}`, `cofs1=${tmp}/file`, `cofs2=${tmp}/missing`]);
    const p = fileProblems(cfg);
    assert.equal(p.length, 2);
    assert.match(p[0]!, /cofs1=.*: not a directory/);
    assert.match(p[1]!, /cofs2=.*: no such file/);
  } finally {
    fs.rmSync(tmp, { recursive: true });
  }
});

/** `cobdN=` disks in the config parser, and root=/dev/cobdN translation. */
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
  translateRootDevice,
  buildKernelCmdline,
  type VmConfig,
} from '../../src/cli/config.js';

function parseAt(argv: string[], files: Record<string, string> = {}): VmConfig {
  return parseRunArgs(argv, {
    cwd: '/w',
    readFile: (p) => {
      const text = files[p.split(path.sep).join('/')];
      if (text === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
      return text;
    },
  });
}

function configError(fn: () => unknown, re: RegExp): ConfigError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    assert.match(e.message, re);
    return e;
  }
  assert.fail('expected a ConfigError');
}

test('cobdN=path with options; paths resolve; later values win; sorted by N', () => {
  const cfg = parseAt(
    ['cobd3=data.img,ro', '@conf/vm.conf', 'cobd0=other.img', 'cobd7=/abs/x.img,cow=/tmp/x.cow'],
    { '/w/conf/vm.conf': 'cobd0=root.img,cow\ncobd1="disk two.img,rw"\n' },
  );
  assert.deepEqual(
    cfg.disks.map((d) => [d.index, d.path, d.readOnly, d.overlay]),
    [
      [0, '/w/other.img', false, undefined],
      [1, '/w/conf/disk two.img', false, undefined],
      [3, '/w/data.img', true, undefined],
      [7, '/abs/x.img', false, '/tmp/x.cow'],
    ],
  );
  assert.equal(cfg.disks[1]!.source.where, 'conf/vm.conf:2');
  const c2 = parseAt(['cobd0=root.img,cow']);
  assert.equal(c2.disks[0]!.overlay, '/w/root.img.cow');
  assert.equal(parseAt(['cobd0=a.img,ro,rw']).disks[0]!.readOnly, false);
});

test('cobd errors: number range, empty path, unknown option, ro+cow, too many disks', () => {
  configError(() => parseAt(['cobd32=x.img']), /cobd32=x\.img: disk numbers go from 0 to 31/);
  configError(() => parseAt(['cobd0=']), /cobd0=: empty path/);
  configError(() => parseAt(['cobd0=,ro']), /empty path/);
  configError(
    () => parseAt(['cobd0=x.img,rx']),
    /unknown disk option "rx"; the options are ro, rw, cow/,
  );
  configError(() => parseAt(['cobd0=x.img,ro,cow']), /ro and cow exclude each other/);
  const nine = Array.from({ length: 9 }, (_, i) => `cobd${i * 2}=d${i}.img`);
  configError(
    () => parseAt(nine),
    /cobd16=: too many disks \(9\); the virt board has 8 virtio slots, shared by disks, network cards and shared folders/,
  );
  const e = configError(
    () => parseAt(['@vm.conf'], { '/w/vm.conf': nine.join('\n') }),
    /^vm\.conf:9: cobd16=: too many disks/,
  );
  assert.equal(e.line, 9);
  assert.equal(parseAt(nine.slice(0, 8)).disks.length, 8);
});

test('root=/dev/cobdN follows the attach order (sorted N), whatever the order of arguments', () => {
  assert.equal(parseAt(['root=/dev/cobd3', 'cobd3=b.img', 'cobd0=a.img']).root, '/dev/vdb');
  assert.equal(parseAt(['cobd5=a.img', 'root=/dev/cobd5']).root, '/dev/vda');
  assert.equal(parseAt(['cobd2=a.img', 'cobd9=b.img', 'root=/dev/cobd9p2']).root, '/dev/vdb2');
  assert.equal(parseAt(['cobd0=a.img', 'root=/dev/cobd/0']).root, '/dev/vda');
  assert.equal(parseAt(['cobd0=a.img', 'root=/dev/vdb1']).root, '/dev/vdb1');
  // Not configured: N-th name, with a warning.
  const cfg = parseAt(['cobd0=a.img', 'root=/dev/cobd2']);
  assert.equal(cfg.root, '/dev/vdc');
  assert.match(
    cfg.warnings[0]!,
    /root=\/dev\/cobd2: no cobd2= disk is configured \(disks: cobd0\)/,
  );
  assert.equal(parseAt(['root=/dev/cobd1']).root, '/dev/vdb');
  assert.deepEqual(parseAt(['root=/dev/cobd1']).warnings, []);
  assert.equal(translateRootDevice('/dev/cobd4', [1, 4, 9]), '/dev/vdb');
  assert.equal(translateRootDevice('/dev/cobd0p1'), '/dev/vda1');
  assert.match(
    buildKernelCmdline(parseAt(['cobd1=r.img', 'root=/dev/cobd1']), ['console=ttyS0']),
    /root=\/dev\/vda/,
  );
});

test('formatConfig lists disks with their guest names; fileProblems checks the files', () => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'colinux-cobd-')));
  try {
    fs.writeFileSync(path.join(dir, 'ok.img'), new Uint8Array(4096));
    fs.mkdirSync(path.join(dir, 'sub'));
    const cfg = parseRunArgs(
      ['cobd0=ok.img,ro', 'cobd2=missing.img', 'cobd4=sub', 'cobd6=/dev/null'],
      {
        cwd: dir,
      },
    );
    const out = formatConfig(cfg);
    assert.match(
      out,
      new RegExp(`^cobd0=${dir}/ok\\.img,ro \\(guest /dev/vda\\) {2}\\[command line\\]$`, 'm'),
    );
    assert.match(out, /^cobd2=.*missing\.img \(guest \/dev\/vdb\)/m);
    const problems = fileProblems(cfg);
    assert.equal(problems.length, 3, problems.join('\n'));
    assert.match(
      problems[0]!,
      /cobd2=.*missing\.img: no such file; create an image with: colinux disk create/,
    );
    assert.match(problems[1]!, /cobd4=.*sub: is a directory/);
    assert.match(problems[2]!, /cobd6=\/dev\/null: is neither a regular file nor a block device/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

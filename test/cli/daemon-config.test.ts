/** Settings and options of detached VMs: ttysN=, panic=, --name, --detach, --log. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { ConfigError, formatConfig, parseRunArgs } from '../../src/cli/config.js';
import { parseSerialEndpoint, formatSerialEndpoint } from '../../src/cli/serial-spec.js';

function parseMem(
  argv: string[],
  files: Record<string, string> = {},
): ReturnType<typeof parseRunArgs> {
  return parseRunArgs(argv, {
    cwd: '/w',
    readFile: (p) => {
      const t = files[p.split(path.sep).join('/')];
      if (t === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      return t;
    },
  });
}

function throwsConfig(fn: () => unknown, ...parts: string[]): ConfigError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    for (const p of parts) assert.ok(e.message.includes(p), `${e.message}\n  lacks: ${p}`);
    return e;
  }
  assert.fail('expected a ConfigError');
}

test('ttysN= maps guest serial ports 1..3 to host ends, paths relative to the file', () => {
  const cfg = parseMem(['ttys2=tcp:5002', '@d/vm.conf'], {
    '/w/d/vm.conf': '# serial ports\nttys1 = unix:s1.sock\nttys3="file:out log.txt"\n',
  });
  assert.deepEqual(
    cfg.serialPorts.map((p) => [p.index, p.endpoint]),
    [
      [1, { kind: 'unix', path: '/w/d/s1.sock' }],
      [2, { kind: 'tcp', host: '127.0.0.1', port: 5002 }],
      [3, { kind: 'file', path: '/w/d/out log.txt' }],
    ],
  );
  assert.equal(cfg.serialPorts[0]!.source.where, 'd/vm.conf:2');
  // A later value replaces an earlier one.
  const again = parseMem(['ttys1=file:a', 'ttys1=file:b']);
  assert.equal(again.serialPorts.length, 1);
  assert.deepEqual(again.serialPorts[0]!.endpoint, { kind: 'file', path: '/w/b' });
  assert.match(
    formatConfig(cfg),
    /^ttys1=unix:\/w\/d\/s1\.sock \(guest \/dev\/ttyS1\) {2}\[d\/vm\.conf:2\]$/m,
  );
});

test('bad ttysN= values name the problem, and the file and line', () => {
  throwsConfig(() => parseMem(['ttys0=file:x']), 'ttys0=file:x: ttyS0 is the console');
  throwsConfig(() => parseMem(['ttys4=file:x']), 'serial ports go from ttys1= to ttys3=');
  throwsConfig(() => parseMem(['ttys1=com1']), 'unknown serial host end "com1"');
  throwsConfig(() => parseMem(['ttys1=tcp:99999']), 'out of range');
  throwsConfig(() => parseMem(['ttys1=tcp:']), 'tcp: needs a port');
  throwsConfig(() => parseMem(['ttys1=unix:']), 'unix: needs a socket path');
  throwsConfig(() => parseMem(['ttys1=file:']), 'file: needs a path');
  throwsConfig(() => parseMem([`ttys1=unix:/${'x'.repeat(120)}`]), 'longer than 100 bytes');
  const e = throwsConfig(
    () => parseMem(['@vm.conf'], { '/w/vm.conf': 'mem=64\n\nttys1=serial0\n' }),
    'vm.conf:3: ttys1=serial0: unknown serial host end',
  );
  assert.equal(e.line, 3);
  assert.equal(e.file, '/w/vm.conf');
});

test('serial endpoint forms round-trip; pipe: is for Windows', () => {
  const r = (p: string): string => path.resolve('/w', p);
  for (const v of ['unix:/tmp/a.sock', 'file:/tmp/x.log', 'tcp:127.0.0.1:5000', 'tcp:[::1]:7']) {
    const e = parseSerialEndpoint(v, r, 'linux');
    assert.notEqual(typeof e, 'string', v);
    assert.equal(formatSerialEndpoint(e as Exclude<typeof e, string>), v);
  }
  assert.deepEqual(parseSerialEndpoint('tcp:0.0.0.0:80', r, 'linux'), {
    kind: 'tcp',
    host: '0.0.0.0',
    port: 80,
  });
  assert.match(String(parseSerialEndpoint('pipe:x', r, 'linux')), /Windows/);
  assert.deepEqual(parseSerialEndpoint('pipe:vm-1', r, 'win32'), {
    kind: 'pipe',
    path: '\\\\.\\pipe\\vm-1',
  });
  assert.match(String(parseSerialEndpoint('pipe:a/b', r, 'win32')), /letters, digits/);
  assert.match(String(parseSerialEndpoint('unix:/x', r, 'win32')), /pipe:NAME/);
});

test('panic=stop|restart; anything else is refused with the alternatives', () => {
  assert.equal(parseMem([]).panic, 'stop');
  assert.equal(parseMem(['panic=restart']).panic, 'restart');
  assert.equal(parseMem(['panic=restart', 'panic=stop']).panic, 'stop');
  throwsConfig(() => parseMem(['panic=10']), 'panic=10: use stop or restart');
  // The kernel's own panic= goes through cmdline=.
  assert.deepEqual(parseMem(['cmdline="panic=10"']).cmdline, ['panic=10']);
  assert.match(formatConfig(parseMem(['panic=restart'])), /^panic=restart {2}\[command line\]$/m);
});

test('--name, --detach / -d and --log', () => {
  const cfg = parseMem(['--name', 'web-1.test', '-d', '--log=logs/web.log']);
  assert.equal(cfg.name, 'web-1.test');
  assert.equal(cfg.detach, true);
  assert.equal(cfg.log, '/w/logs/web.log');
  assert.equal(parseMem(['--log', 'none']).log, null);
  assert.equal(parseMem([]).detach, false);
  assert.equal(parseMem([]).name, undefined);
  assert.equal(parseMem(['--name=db']).name, 'db');
  throwsConfig(() => parseMem(['--name']), '--name needs a value');
  throwsConfig(() => parseMem(['--name', '../x']), '--name "../x": use letters, digits');
  throwsConfig(() => parseMem(['--name', 'x'.repeat(33)]), 'at most 32 characters');
  throwsConfig(() => parseMem(['--name', '-x']), 'use letters');
  throwsConfig(() => parseMem(['--log', '']), '--log needs a file name');
  // An option's value is not mistaken for --help.
  assert.equal(parseMem(['--log', '-h']).help, false);
  assert.equal(parseMem(['--log', '-h']).log, '/w/-h');
});

test('gdb= takes a TCP port (127.0.0.1 by default) or a Unix socket; gdbwait needs it', () => {
  const cfg = parseMem(['gdb=tcp:1234', 'gdbwait', 'quiet']);
  assert.deepEqual(cfg.gdb?.endpoint, { kind: 'tcp', host: '127.0.0.1', port: 1234 });
  assert.equal(cfg.gdbWait, true);
  // The bare word gdbwait is a setting, not a kernel argument; other words still are.
  assert.deepEqual(cfg.kernelArgs, ['quiet']);
  assert.match(formatConfig(cfg), /^gdb=tcp:127\.0\.0\.1:1234 {2}\[command line\]$/m);
  assert.match(formatConfig(cfg), /^gdbwait=on/m);
  assert.deepEqual(parseMem(['gdb=unix:g.sock']).gdb?.endpoint, {
    kind: 'unix',
    path: '/w/g.sock',
  });
  assert.equal(parseMem(['gdb=tcp:1234', 'gdbwait=off']).gdbWait, false);
  throwsConfig(() => parseMem(['gdb=file:x']), 'gdb=file:x: the GDB stub listens on a socket');
  throwsConfig(() => parseMem(['gdb=tcp:99999']), 'out of range');
  throwsConfig(() => parseMem(['gdbwait']), 'no gdb= setting; add gdb=tcp:1234');
});

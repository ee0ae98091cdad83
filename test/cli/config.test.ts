import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import {
  buildKernelCmdline,
  checkFiles,
  cobdToVirtio,
  ConfigError,
  DEFAULT_MEM_MIB,
  fileProblems,
  formatConfig,
  helpText,
  parseRunArgs,
  SETTINGS,
  splitKernelWords,
  translateRootDevice,
  virtioDiskName,
  type VmConfig,
} from '../../src/cli/config.js';
import { forwardLabels } from '../../src/cli/net-spec.js';

/** A temp directory with the given files; returns its path. */
function tree(files: Record<string, string>): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'colinux-config-')));
  for (const [name, text] of Object.entries(files)) {
    const p = path.join(dir, name);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, text);
  }
  return dir;
}

/** Parse with an in-memory file system rooted at /w. */
function parseMem(argv: string[], files: Record<string, string> = {}): VmConfig {
  return parseRunArgs(argv, {
    cwd: '/w',
    readFile: (p) => {
      const key = p.split(path.sep).join('/');
      const text = files[key];
      if (text === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
      return text;
    },
  });
}

function throwsConfig(fn: () => unknown, ...parts: (string | RegExp)[]): ConfigError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
  for (const p of parts) {
    if (typeof p === 'string') assert.ok(err.message.includes(p), `${err.message} lacks ${p}`);
    else assert.match(err.message, p);
  }
  return err;
}

const posix = path.sep === '/';

test('defaults', () => {
  const cfg = parseRunArgs([], { cwd: '/w' });
  assert.equal(cfg.memMiB, DEFAULT_MEM_MIB);
  assert.equal(cfg.memMiB, 256);
  assert.equal(cfg.kernel, undefined);
  assert.equal(cfg.initrd, undefined);
  assert.equal(cfg.bios, undefined);
  assert.equal(cfg.root, undefined);
  assert.equal(cfg.cmd, undefined);
  assert.deepEqual(cfg.kernelArgs, []);
  assert.deepEqual(cfg.cmdline, []);
  assert.equal(cfg.help, false);
  assert.deepEqual(cfg.warnings, []);
});

test('known settings on the command line; paths relative to cwd', { skip: !posix }, () => {
  const cfg = parseRunArgs(
    ['kernel=Image', 'initrd=/abs/initrd', 'mem=512', 'bios=fw/fw.bin', 'root=/dev/vdb'],
    { cwd: '/w' },
  );
  assert.equal(cfg.kernel, '/w/Image');
  assert.equal(cfg.initrd, '/abs/initrd');
  assert.equal(cfg.memMiB, 512);
  assert.equal(cfg.bios, '/w/fw/fw.bin');
  assert.equal(cfg.root, '/dev/vdb');
  assert.equal(cfg.sources.mem?.where, 'command line');
});

test('~ expands to the home directory in paths', () => {
  const cfg = parseRunArgs(['kernel=~/k/Image'], { cwd: '/w' });
  assert.equal(cfg.kernel, path.join(os.homedir(), 'k/Image'));
});

test('initrd=none and bios=none', () => {
  const cfg = parseRunArgs(['initrd=x', 'bios=fw', 'initrd=none', 'bios=none'], { cwd: '/w' });
  assert.equal(cfg.initrd, null);
  assert.equal(cfg.bios, undefined);
  assert.equal(parseRunArgs(['initrd=./none'], { cwd: '/w' }).initrd, path.resolve('/w/none'));
});

test('bare words and unknown name=value go to the kernel in order', () => {
  const cfg = parseRunArgs(
    ['quiet', 'loglevel=3', 'mem=64', 'init=/bin/sh', 'single', 'loglevel=7'],
    {
      cwd: '/w',
    },
  );
  assert.deepEqual(cfg.kernelArgs, ['quiet', 'loglevel=3', 'init=/bin/sh', 'single', 'loglevel=7']);
  assert.equal(cfg.memMiB, 64);
});

test('later known values override earlier ones, left to right across files', () => {
  const files = {
    '/w/a.conf': 'mem=100\nkernel=ka\nfoo=1\n',
    '/w/b.conf': 'mem=200\nfoo=2\n',
  };
  let cfg = parseMem(['mem=50', '@a.conf', '@b.conf'], files);
  assert.equal(cfg.memMiB, 200);
  assert.equal(cfg.kernel, path.resolve('/w/ka'));
  assert.deepEqual(cfg.kernelArgs, ['foo=1', 'foo=2']);
  assert.equal(cfg.sources.mem?.where, 'b.conf:1');
  cfg = parseMem(['@a.conf', 'mem=300', '@b.conf', 'mem=400'], files);
  assert.equal(cfg.memMiB, 400);
  assert.equal(cfg.sources.mem?.where, 'command line');
  cfg = parseMem(['@b.conf', '@a.conf'], files);
  assert.equal(cfg.memMiB, 100);
});

test('config file syntax: comments, blanks, quotes, spaces around =', () => {
  const text = [
    '# whole-line comment',
    '',
    '   ',
    '  # indented comment',
    'mem=128 # trailing comment',
    'kernel = "my kernel/Image"   # quoted with spaces',
    "initrd='it#has#hashes'",
    'cmdline="console=hvc0 init=\\"/bin/sh\\"" ',
    'init="/bin/sh -c echo"',
    'quiet',
    'single   # bare word with comment',
    '"quoted bare"',
    'hash=a#b',
    'empty=',
    "esc='back\\slash'",
    'dq="a\\\\b"',
    '\tloglevel=4\r',
  ].join('\n');
  const cfg = parseMem(['@vm.conf'], { '/w/vm.conf': '\uFEFF' + text });
  assert.equal(cfg.memMiB, 128);
  assert.equal(cfg.kernel, path.resolve('/w/my kernel/Image'));
  assert.equal(cfg.initrd, path.resolve('/w/it#has#hashes'));
  assert.deepEqual(cfg.cmdline, ['console=hvc0', 'init=/bin/sh']);
  assert.deepEqual(cfg.kernelArgs, [
    'init=/bin/sh -c echo',
    'quiet',
    'single',
    'quoted bare',
    'hash=a#b',
    'empty=',
    'esc=back\\slash',
    'dq=a\\b',
    'loglevel=4',
  ]);
  assert.equal(cfg.sources.kernel?.where, 'vm.conf:6');
  assert.equal(cfg.sources.kernel?.line, 6);
  assert.equal(cfg.sources.kernel?.file, path.resolve('/w/vm.conf'));
});

test('cmdline= splits like the kernel, replaces an earlier one, empty clears', () => {
  let cfg = parseRunArgs(['cmdline=a  b="c d" e', 'x'], { cwd: '/w' });
  assert.deepEqual(cfg.cmdline, ['a', 'b=c d', 'e']);
  cfg = parseRunArgs(['cmdline=a b', 'cmdline=c'], { cwd: '/w' });
  assert.deepEqual(cfg.cmdline, ['c']);
  cfg = parseRunArgs(['cmdline=a b', 'cmdline='], { cwd: '/w' });
  assert.deepEqual(cfg.cmdline, []);
  assert.deepEqual(splitKernelWords(' a\t"b c"d  '), ['a', 'b cd']);
  assert.deepEqual(splitKernelWords('""'), ['']);
});

test('command-line values are taken verbatim (no quote or comment processing)', () => {
  const cfg = parseRunArgs(['foo=a # b', "bar='x'", 'kernel=a b'], { cwd: '/w' });
  assert.deepEqual(cfg.kernelArgs, ['foo=a # b', "bar='x'"]);
  assert.equal(cfg.kernel, path.resolve('/w/a b'));
});

test('paths in files resolve against the file directory', { skip: !posix }, () => {
  const files = {
    '/w/conf/vm.conf': 'kernel=Image\ninitrd=../initrd\nbios=/abs/fw\n@sub/more.conf\n',
    '/w/conf/sub/more.conf': 'root=/dev/cobd1\ncmdline=ro\n@../../other.conf\n',
    '/w/other.conf': 'kernel=k2\n',
  };
  const cfg = parseMem(['@conf/vm.conf'], files);
  assert.equal(cfg.kernel, '/w/k2');
  assert.equal(cfg.initrd, '/w/initrd');
  assert.equal(cfg.bios, '/abs/fw');
  assert.equal(cfg.root, '/dev/vdb');
  assert.equal(cfg.sources.root?.where, 'conf/sub/more.conf:1');
  assert.equal(cfg.sources.kernel?.where, 'other.conf:1');
});

test('real files: include relative to the including file, quoted @ path', () => {
  const dir = tree({
    'vm.conf': 'mem=64\n@"inc dir/x.conf"  # include\n',
    'inc dir/x.conf': 'kernel=Image\n',
  });
  const cfg = parseRunArgs([`@${path.join(dir, 'vm.conf')}`], { cwd: os.tmpdir() });
  assert.equal(cfg.memMiB, 64);
  assert.equal(cfg.kernel, path.join(dir, 'inc dir', 'Image'));
});

test('the same file may be included twice (not a loop)', () => {
  const files = { '/w/a.conf': 'x\n', '/w/b.conf': '@a.conf\n@a.conf\n' };
  assert.deepEqual(parseMem(['@b.conf', '@a.conf'], files).kernelArgs, ['x', 'x', 'x']);
});

test('include loops are detected', () => {
  const files = {
    '/w/a.conf': 'mem=64\n@b.conf\n',
    '/w/b.conf': '\n\n@a.conf\n',
    '/w/self.conf': '@./self.conf\n',
  };
  const e = throwsConfig(
    () => parseMem(['@a.conf'], files),
    'b.conf:3: @a.conf: include loop (a.conf -> b.conf -> a.conf)',
    'remove one of these @ lines',
  );
  assert.equal(e.file, path.resolve('/w/b.conf'));
  assert.equal(e.line, 3);
  throwsConfig(() => parseMem(['@self.conf'], files), 'self.conf:1:', 'include loop');
});

test('includes nested too deep are refused', () => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 40; i++) files[`/w/f${i}.conf`] = `@f${i + 1}.conf\n`;
  files['/w/f40.conf'] = 'x\n';
  throwsConfig(() => parseMem(['@f0.conf'], files), 'nested more than 32 deep', 'flatten');
});

test('missing config files', () => {
  throwsConfig(
    () => parseMem(['@nope.conf'], {}),
    /^@nope\.conf: no such file \(.*nope\.conf\); check the path$/,
  );
  const e = throwsConfig(
    () => parseMem(['@a.conf'], { '/w/a.conf': 'mem=64\n@gone.conf\n' }),
    'a.conf:2: @gone.conf: no such file',
  );
  assert.equal(e.line, 2);
  const dir = tree({ 'd/x': '' });
  throwsConfig(() => parseRunArgs(['@d'], { cwd: dir }), '@d: is a directory, not a config file');
  throwsConfig(() => parseMem(['@'], {}), '"@" needs a file name; write @vm.conf');
});

test('file syntax errors name FILE:LINE, the problem and the fix', () => {
  const check = (text: string, ...parts: (string | RegExp)[]): ConfigError =>
    throwsConfig(() => parseMem(['@vm.conf'], { '/w/vm.conf': text }), ...parts);
  const e = check(
    'mem=64\n\n# c\n\n\n\nfoo bar # comment\n',
    'vm.conf:7: expected name=value, got "foo bar"',
    'one setting per line',
  );
  assert.equal(e.line, 7);
  assert.equal(e.file, path.resolve('/w/vm.conf'));
  check(
    'kernel=/my Image\n',
    'vm.conf:1: kernel=/my Image: unquoted value with spaces',
    'kernel="/my Image"',
  );
  check('kernel="/x\n', 'vm.conf:1: kernel: unterminated "; close the quote with "');
  check("x='abc\n", "vm.conf:1: x: unterminated '");
  check(
    'kernel="/x" y\n',
    'vm.conf:1: kernel: unexpected "y" after the closing quote',
    'inside the quotes',
  );
  check('=3\n', 'vm.conf:1: missing name before "="');
  check('"" \n', 'vm.conf:1: empty quoted argument');
  check('ok\n@a b\n', 'vm.conf:2: @a b: unquoted value with spaces', '@"a b"');
  check('cmdline="a \\"b"\n', 'vm.conf:1: cmdline=a "b: unterminated " in kernel arguments');
  check('mem=9999\n', 'vm.conf:1: mem=9999: out of range; use a value from 16 to 2048 (MiB)');
});

test('mem range and format', () => {
  assert.equal(parseRunArgs(['mem=16']).memMiB, 16);
  assert.equal(parseRunArgs(['mem=2048']).memMiB, 2048);
  assert.equal(parseRunArgs(['mem=0256']).memMiB, 256);
  throwsConfig(
    () => parseRunArgs(['mem=4096']),
    /^mem=4096: out of range; use a value from 16 to 2048 \(MiB\)$/,
  );
  throwsConfig(
    () => parseRunArgs(['mem=15']),
    'mem=15: out of range; use a value from 16 to 2048 (MiB)',
  );
  throwsConfig(() => parseRunArgs(['mem=2049']), 'out of range');
  for (const bad of ['abc', '256M', '-1', '1.5', '', ' 64', '0x100']) {
    throwsConfig(
      () => parseRunArgs([`mem=${bad}`]),
      `mem=${bad}: not a whole number; use a value from 16 to 2048 (MiB), e.g. mem=256`,
    );
  }
});

test('empty values for settings that need one', () => {
  throwsConfig(() => parseRunArgs(['kernel=']), 'kernel=: empty value; give a path, e.g. kernel=');
  throwsConfig(() => parseRunArgs(['initrd=']), 'initrd=: empty value; give a path');
  throwsConfig(() => parseRunArgs(['bios=']), 'bios=: empty value; give a path');
  throwsConfig(
    () => parseRunArgs(['root=']),
    'root=: empty value; give a device, e.g. root=/dev/vda',
  );
  throwsConfig(
    () => parseRunArgs(['root=/dev/a b']),
    'root=/dev/a b: a device name cannot contain spaces',
  );
  throwsConfig(() => parseRunArgs(['=x']), '"=x": missing name before "="; write name=value');
  throwsConfig(() => parseRunArgs(['']), 'empty argument; remove it');
});

test('ethN=: slirp with MAC, forwards and restrict; switch:NAME; canonical form', () => {
  const cfg = parseMem([
    'eth0=slirp,02:AA:bb:00:00:01,tcp:2222:22/udp:5353:53/tcp:0.0.0.0:8080:80:3,restrict',
    'eth2=switch:lab',
    'eth1=nat',
  ]);
  assert.deepEqual(
    cfg.nics.map((n) => n.index),
    [0, 1, 2],
  );
  const [e0, e1, e2] = cfg.nics;
  assert.equal(e0!.kind, 'slirp');
  if (e0!.kind !== 'slirp' || e2!.kind !== 'switch') throw new Error('kinds');
  assert.equal(e0!.mac, '02:aa:bb:00:00:01');
  assert.equal(e0!.restrict, true);
  assert.deepEqual(e0!.forwards, [
    { proto: 'tcp', hostPort: 2222, guestPort: 22, count: 1 },
    { proto: 'udp', hostPort: 5353, guestPort: 53, count: 1 },
    { proto: 'tcp', hostAddress: '0.0.0.0', hostPort: 8080, guestPort: 80, count: 3 },
  ]);
  assert.equal(e1!.kind, 'slirp');
  assert.equal(e2!.name, 'lab');
  const out = formatConfig(cfg);
  assert.match(
    out,
    /^eth0=slirp,02:aa:bb:00:00:01,tcp:2222:22\/udp:5353:53\/tcp:0\.0\.0\.0:8080:80:3,restrict {2}\[command line\]$/m,
  );
  assert.match(out, /^eth1=slirp {2}\[command line\]$/m);
  assert.match(out, /^eth2=switch:lab {2}\[command line\]$/m);
  assert.deepEqual(forwardLabels(cfg.nics), [
    'tcp:2222->22',
    'udp:5353->53',
    'tcp:0.0.0.0:8080-8082->80-82',
  ]);
  // coLinux's empty MAC field, a later value replacing an earlier one, files with FILE:LINE.
  assert.deepEqual(
    (parseMem(['eth0=slirp', 'eth0=slirp,,tcp:80:8080']).nics[0] as { forwards: unknown[] })
      .forwards,
    [{ proto: 'tcp', hostPort: 80, guestPort: 8080, count: 1 }],
  );
  const e = throwsConfig(
    () => parseMem(['@vm.conf'], { '/w/vm.conf': 'mem=64\neth0=tuntap\n' }),
    'vm.conf:2: eth0=tuntap: tuntap needs host drivers and privileges',
  );
  assert.equal(e.line, 2);
  // Without a number they are not the family: passed to the kernel.
  assert.deepEqual(parseRunArgs(['ethx=2', 'eth0']).kernelArgs, ['ethx=2', 'eth0']);
});

test('eth0=slirp unless the settings name eth0= (none included), when a virtio slot is free', () => {
  const plain = parseMem([]);
  assert.deepEqual(
    plain.nics.map((n) => [n.index, n.kind, n.source.where]),
    [[0, 'slirp', 'default']],
  );
  assert.match(formatConfig(plain), /^eth0=slirp {2}\[default\]$/m);
  assert.deepEqual(parseMem(['eth0=none']).nics, []);
  // A file's eth0=none, then the command line's card: the last one wins.
  assert.deepEqual(
    parseMem(['@vm.conf', 'eth0=switch:lab'], { '/w/vm.conf': 'eth0=none\n' }).nics.map(
      (n) => n.kind,
    ),
    ['switch'],
  );
  assert.deepEqual(parseMem(['eth0=slirp', 'eth0=none']).nics, []);
  assert.deepEqual(
    parseMem(['eth1=switch:lab']).nics.map((n) => [n.index, n.kind]),
    [
      [0, 'slirp'],
      [1, 'switch'],
    ],
  );
  // Eight disks fill the board: no card is added, and nothing fails.
  const disks = Array.from({ length: 8 }, (_, i) => `cobd${i}=/w/d${i}.img`);
  assert.deepEqual(parseMem(disks).nics, []);
});

test('isa=: kept as given when it parses; one clear message when not', () => {
  const cfg = parseMem(['isa=rv64gc,+zbb']);
  assert.equal(cfg.isa, 'rv64gc,+zbb');
  assert.match(formatConfig(cfg), /^isa=rv64gc,\+zbb {2}\[command line\]$/m);
  assert.equal(parseMem([]).isa, undefined);
  throwsConfig(
    () => parseMem(['isa=-zbq']),
    'isa=-zbq: zbq: not an extension colinux implements; the ones that can be left out are zba, zbb, zbc, zbs, zicond, zimop, zcmop, zawrs, zcb, zicbom, zicboz',
  );
});

test('ethN=: bad values get one clear message each', () => {
  const bad: Array<[string, string]> = [
    ['eth16=slirp', 'network cards go from eth0= to eth15='],
    ['eth0=', 'empty value'],
    ['eth0=wifi', 'unknown network type "wifi"'],
    ['eth0=slirp,01:00:5e:00:00:01', 'must be unicast'],
    ['eth0=slirp,00:00:00:00:00:00', 'not all zero'],
    ['eth0=slirp,tcp:22', 'write tcp:[ADDR:]HOSTPORT:GUESTPORT[:COUNT]'],
    ['eth0=slirp,tcp:0:22', 'host port "0" is not a port number'],
    ['eth0=slirp,tcp:22:70000', 'guest port "70000" is not a port number'],
    ['eth0=slirp,tcp:65000:22:1000', 'go past 65535'],
    ['eth0=slirp,tcp:2222:22:0', 'COUNT "0"'],
    ['eth0=slirp,tcp:300.1.1.1:22:22', 'is not an IPv4 address'],
    ['eth0=slirp,tcp:2222:22/tcp:2222:23', 'host tcp port 2222 is forwarded twice'],
    ['eth0=slirp,sctp:1:2', '"sctp:1:2" is not a MAC address, a port forward'],
    ['eth0=slirp,tcp:1:2,02:00:00:00:00:01', 'must come right after slirp'],
    ['eth0=switch', 'switch needs a name'],
    ['eth0=switch:../x', 'switch name "../x"'],
    ['eth0=switch:lab,bogus', '"bogus" after switch:lab is not a MAC address'],
  ];
  for (const [arg, message] of bad) throwsConfig(() => parseRunArgs([arg]), `${arg}: `, message);
  // Disks and network cards share the 8 virtio slots.
  const nine = Array.from({ length: 9 }, (_, i) => `eth${i}=slirp`);
  throwsConfig(
    () => parseRunArgs(nine),
    'eth8=: 9 network card(s) and 0 disk(s) need 9 virtio slots',
  );
});

test('options: --cmd, --cmd=, --help, -h, unknown options, --', () => {
  assert.equal(parseRunArgs(['--cmd', 'uname -a']).cmd, 'uname -a');
  assert.equal(parseRunArgs(['--cmd=ls -l', 'quiet']).cmd, 'ls -l');
  assert.equal(parseRunArgs(['--cmd', 'a', '--cmd=b']).cmd, 'b');
  assert.equal(parseRunArgs(['--cmd=']).cmd, '');
  assert.equal(parseRunArgs(['--cmd', '-h']).help, false);
  assert.equal(parseRunArgs(['--cmd', '-h']).cmd, '-h');
  throwsConfig(() => parseRunArgs(['--cmd']), '--cmd needs a value; write --cmd "uname -a"');
  throwsConfig(
    () => parseRunArgs(['--quiet']),
    'unknown option --quiet; the options are --cmd, --name, --detach, -d, --log, --help, -h; to pass --quiet to the kernel, put it after --',
  );
  throwsConfig(() => parseRunArgs(['-s']), 'unknown option -s');
  // --help wins over anything else, even errors.
  const h = parseRunArgs(['mem=99999', '--help', '@missing']);
  assert.equal(h.help, true);
  assert.equal(h.memMiB, 256);
  assert.equal(parseRunArgs(['-h']).help, true);
  // After --, everything is passed verbatim.
  const cfg = parseRunArgs(['quiet', '--', 'mem=64', '--help', '@x', '-s'], { cwd: '/w' });
  assert.equal(cfg.help, false);
  assert.equal(cfg.memMiB, 256);
  assert.deepEqual(cfg.kernelArgs, ['quiet', '--', 'mem=64', '--help', '@x', '-s']);
});

test('root= translation of coLinux cobd names', () => {
  assert.equal(virtioDiskName(0), 'vda');
  assert.equal(virtioDiskName(1), 'vdb');
  assert.equal(virtioDiskName(25), 'vdz');
  assert.equal(virtioDiskName(26), 'vdaa');
  assert.equal(virtioDiskName(27), 'vdab');
  assert.equal(virtioDiskName(701), 'vdzz');
  assert.equal(virtioDiskName(702), 'vdaaa');
  assert.throws(() => virtioDiskName(-1), RangeError);
  assert.equal(cobdToVirtio(0), '/dev/vda');
  assert.equal(cobdToVirtio(3), '/dev/vdd');
  assert.equal(translateRootDevice('/dev/cobd0'), '/dev/vda');
  assert.equal(translateRootDevice('/dev/cobd/2'), '/dev/vdc');
  assert.equal(translateRootDevice('/dev/cobd27'), '/dev/vdab');
  assert.equal(translateRootDevice('/dev/vda1'), '/dev/vda1');
  assert.equal(translateRootDevice('/dev/cobdx'), '/dev/cobdx');
  assert.equal(translateRootDevice('PARTUUID=1234'), 'PARTUUID=1234');
  assert.equal(parseRunArgs(['root=/dev/cobd0']).root, '/dev/vda');
});

test('warnings for unknown names that look like settings', () => {
  const cfg = parseRunArgs([
    'Kernel=x',
    'kernal=y',
    'initdr=z',
    'MEM=4',
    'init=/bin/sh',
    'rootwait',
    'roo=1',
  ]);
  assert.equal(cfg.warnings.length, 4);
  assert.match(
    cfg.warnings[0]!,
    /^Kernel=x: "Kernel" is not a colinux setting.*did you mean kernel=\?$/,
  );
  assert.match(cfg.warnings[1]!, /did you mean kernel=/);
  assert.match(cfg.warnings[2]!, /did you mean initrd=/);
  assert.match(cfg.warnings[3]!, /did you mean mem=/);
  assert.deepEqual(cfg.kernelArgs, [
    'Kernel=x',
    'kernal=y',
    'initdr=z',
    'MEM=4',
    'init=/bin/sh',
    'rootwait',
    'roo=1',
  ]);
  const f = parseMem(['@vm.conf'], { '/w/vm.conf': '\nkernl=x\n' });
  assert.match(f.warnings[0]!, /^vm\.conf:2: kernl=x:/);
});

test('buildKernelCmdline: defaults, root, cmdline, args; user console replaces defaults', () => {
  const base = parseRunArgs([]);
  assert.equal(
    buildKernelCmdline(base, ['console=ttyS0', 'earlycon=sbi']),
    'console=ttyS0 earlycon=sbi',
  );
  assert.equal(buildKernelCmdline(base, []), '');

  let cfg = parseRunArgs(['root=/dev/cobd0', 'cmdline=rw rootwait', 'quiet', 'init=/bin/sh -c x']);
  assert.equal(
    buildKernelCmdline(cfg, ['console=ttyS0']),
    'console=ttyS0 root=/dev/vda rw rootwait quiet init="/bin/sh -c x"',
  );

  cfg = parseRunArgs(['console=hvc0', 'console=ttyS1']);
  assert.equal(
    buildKernelCmdline(cfg, ['console=ttyS0', 'console=tty0', 'earlycon=sbi']),
    'earlycon=sbi console=hvc0 console=ttyS1',
  );
  cfg = parseRunArgs(['cmdline=console=hvc0']);
  assert.equal(buildKernelCmdline(cfg, ['console=ttyS0']), 'console=hvc0');
  // A bare word replaces a default with the same name; root= replaces a default root=.
  cfg = parseRunArgs(['earlycon', 'root=/dev/vdb']);
  assert.equal(
    buildKernelCmdline(cfg, ['earlycon=sbi', 'root=/dev/vda', 'ro']),
    'ro root=/dev/vdb earlycon',
  );
});

test('buildKernelCmdline keeps init arguments after a single --', () => {
  const cfg = parseRunArgs(['quiet', '--', 'console=x', 'single'], { cwd: '/w' });
  cfg.cmdline = ['rw', '--', 'from-cmdline'];
  cfg.root = '/dev/vda';
  assert.equal(
    buildKernelCmdline(cfg, ['console=ttyS0']),
    'console=ttyS0 root=/dev/vda rw quiet -- from-cmdline console=x single',
  );
});

test('buildKernelCmdline quoting and limits', () => {
  const cfg = parseRunArgs(['a b', 'x="q"']);
  assert.equal(buildKernelCmdline(cfg, []), '"a b" x="q"');
  cfg.kernelArgs = ['init=/bin/sh -c "x"'];
  throwsConfig(
    () => buildKernelCmdline(cfg, []),
    'holds both spaces and a double quote',
    'drop one',
  );
  cfg.kernelArgs = ['x'.repeat(1023)];
  assert.equal(buildKernelCmdline(cfg, []).length, 1023);
  cfg.kernelArgs = ['x'.repeat(1000), 'y'.repeat(30)];
  throwsConfig(
    () => buildKernelCmdline(cfg, []),
    'kernel command line is 1031 bytes',
    'at most 1023',
    'shorten',
  );
});

test('checkFiles: missing, directory, empty, unreadable, ok', () => {
  const dir = tree({ Image: 'MZ', initrd: '', fw: '', 'vm.conf': 'kernel=nope\n' });
  const ok = parseRunArgs(['kernel=Image', 'initrd=initrd'], { cwd: dir });
  checkFiles(ok);
  assert.deepEqual(fileProblems(ok), []);
  checkFiles(parseRunArgs(['initrd=none']));
  checkFiles(parseRunArgs([]));

  const missing = parseRunArgs(['kernel=/x/Image'], { cwd: dir });
  throwsConfig(() => checkFiles(missing), /^kernel=\/x\/Image: no such file; check the path$/);

  const fromFile = parseRunArgs(['@vm.conf'], { cwd: dir });
  throwsConfig(
    () => checkFiles(fromFile),
    `vm.conf:1: kernel=${path.join(dir, 'nope')}: no such file`,
  );

  const many = parseRunArgs(['kernel=.', 'initrd=gone', 'bios=fw'], { cwd: dir });
  const problems = fileProblems(many);
  assert.equal(problems.length, 3);
  assert.match(
    problems[0]!,
    /^kernel=.*: is a directory; give the path of the kernel file inside it$/,
  );
  assert.match(problems[1]!, /^initrd=.*gone: no such file/);
  assert.match(problems[2]!, /^bios=.*fw: file is empty; rebuild or re-download it$/);
  throwsConfig(() => checkFiles(many), /\n.*initrd=.*\n.*bios=/);

  throwsConfig(
    () => checkFiles(parseRunArgs([]), { requireKernel: true }),
    'kernel= is not set; add kernel=',
  );

  if (posix && process.getuid?.() !== 0) {
    const p = path.join(dir, 'Image');
    fs.chmodSync(p, 0o000);
    try {
      throwsConfig(
        () => checkFiles(ok),
        'kernel=',
        'not readable (permission denied)',
        'permissions',
      );
    } finally {
      fs.chmodSync(p, 0o644);
    }
  }
});

test('helpText and formatConfig derive from the table', () => {
  const help = helpText();
  for (const s of SETTINGS) {
    assert.ok(help.includes(s.family ? `${s.name}N=` : `${s.name}=`), `help lacks ${s.name}`);
    assert.ok(help.includes(s.description), `help lacks description of ${s.name}`);
  }
  assert.match(help, /--cmd <command>/);
  assert.match(help, /--help, -h/);
  assert.match(help, /default: 256/);
  assert.doesNotMatch(help, /Reserved, not supported yet:/);

  const cfg = parseMem(['@vm.conf', 'initrd=none', 'quiet', '--cmd', 'ls'], {
    '/w/vm.conf': 'mem=64\nroot=/dev/cobd0\ncmdline="a b=\'c d\'"\n',
  });
  const out = formatConfig(cfg);
  assert.match(out, /^mem=64 MiB {2}\[vm\.conf:1\]$/m);
  assert.match(out, /^root=\/dev\/vda {2}\[vm\.conf:2\]$/m);
  assert.match(out, /^initrd=none {2}\[command line\]$/m);
  assert.match(out, /^kernel=\(the built default image\)$/m);
  assert.match(out, /^cmdline=a b='c d'/m);
  assert.match(out, /^kernel args: quiet$/m);
  assert.match(out, /^--cmd: ls$/m);
});

test('jit= and jitcache=: the JIT and its memory budget', () => {
  const dflt = parseMem([]);
  assert.equal(dflt.jit, undefined, 'left to the machine, which turns the JIT on');
  assert.equal(dflt.jitCacheMiB, undefined);
  const cfg = parseMem(['jit=off', 'jitcache=128']);
  assert.equal(cfg.jit, 'off');
  assert.equal(cfg.jitCacheMiB, 128);
  assert.match(formatConfig(parseMem([])), /^jitcache=64 MiB$/m);
  throwsConfig(
    () => parseMem(['jitcache=2']),
    'jitcache=2: out of range; use a value from 4 to 4096 (MiB)',
  );
  throwsConfig(() => parseMem(['jitcache=lots']), 'jitcache=lots: not a whole number');
  throwsConfig(() => parseMem(['jit=fast']), 'jit=fast', 'on or off');
});

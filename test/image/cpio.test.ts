import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readCpio, writeCpio, type CpioEntry } from '../../src/backends/image/cpio.js';

const enc = new TextEncoder();

function sample(): CpioEntry[] {
  const big = new Uint8Array(70_001);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + 3) & 0xff;
  return [
    { name: 'bin', type: 'dir', mode: 0o755 },
    { name: 'bin/tool', type: 'file', mode: 0o755, data: enc.encode('#!/bin/sh\necho hi\n') },
    { name: 'bin/sh', type: 'symlink', mode: 0o777, target: 'tool' },
    { name: '/etc', type: 'dir', mode: 0o750 },
    { name: './etc/a', type: 'file', mode: 0o644, data: enc.encode('a') },
    { name: 'etc/ab', type: 'file', mode: 0o600, data: enc.encode('ab') },
    { name: 'etc/abc', type: 'file', mode: 0o640, data: enc.encode('abc') },
    { name: 'etc/empty', type: 'file', mode: 0o644 },
    { name: 'etc/big.bin', type: 'file', mode: 0o644, data: big },
    { name: 'etc/link-abs', type: 'symlink', mode: 0o777, target: '/etc/abc' },
    { name: 'tmp', type: 'dir', mode: 0o1777 },
    { name: 'dev', type: 'dir', mode: 0o755 },
    { name: 'dev/console', type: 'char', mode: 0o600, major: 5, minor: 1 },
  ];
}

function hostCpio(args: string[], input: Uint8Array, cwd?: string): string {
  const r = spawnSync('cpio', args, { input, cwd, encoding: 'buffer' });
  if (r.error) throw r.error;
  assert.equal(r.status, 0, `cpio ${args.join(' ')} failed: ${r.stderr.toString()}`);
  return r.stdout.toString('utf8');
}

const hasCpio = spawnSync('cpio', ['--version']).status === 0;

test('layout: header, 4-byte alignment, trailer', () => {
  const a = writeCpio([{ name: 'x', type: 'file', mode: 0o644, data: enc.encode('12345') }]);
  const text = new TextDecoder('latin1').decode(a);
  assert.ok(text.startsWith('070701'));
  assert.equal(a.length % 4, 0);
  assert.ok(text.includes('TRAILER!!!\0'));
  // header 110 + "x\0" = 112 (aligned), data 5 -> padded to 8
  assert.equal(text.slice(112, 117), '12345');
  assert.equal(text.slice(120, 126), '070701');
});

test('round trip through readCpio', () => {
  const members = readCpio(writeCpio(sample()));
  const byName = new Map(members.map((m) => [m.name, m]));
  assert.deepEqual(
    members.map((m) => m.name),
    [
      'bin',
      'bin/tool',
      'bin/sh',
      'etc',
      'etc/a',
      'etc/ab',
      'etc/abc',
      'etc/empty',
      'etc/big.bin',
      'etc/link-abs',
      'tmp',
      'dev',
      'dev/console',
    ],
  );
  assert.equal(byName.get('tmp')!.mode, 0o041777);
  assert.equal(byName.get('bin/sh')!.mode, 0o120777);
  assert.equal(new TextDecoder().decode(byName.get('bin/sh')!.data), 'tool');
  assert.equal(byName.get('dev/console')!.major, 5);
  assert.equal(byName.get('dev/console')!.minor, 1);
  assert.equal(byName.get('etc/big.bin')!.data.length, 70_001);
});

test('rejects bad input', () => {
  assert.throws(() => writeCpio([{ name: 'a/../b', type: 'file', mode: 0o644 }]));
  assert.throws(() => writeCpio([{ name: 'l', type: 'symlink', mode: 0o777 }]));
  assert.throws(() => writeCpio([{ name: 'f', type: 'file', mode: 0o10000 }]));
  assert.throws(() =>
    writeCpio([
      { name: 'a', type: 'dir', mode: 0o755 },
      { name: '/a', type: 'dir', mode: 0o755 },
    ]),
  );
});

test('host cpio lists names, modes and link targets', { skip: !hasCpio && 'no cpio tool' }, () => {
  const archive = writeCpio(sample());
  const names = hostCpio(['-t', '--quiet'], archive).trim().split('\n');
  assert.deepEqual(names, [
    'bin',
    'bin/tool',
    'bin/sh',
    'etc',
    'etc/a',
    'etc/ab',
    'etc/abc',
    'etc/empty',
    'etc/big.bin',
    'etc/link-abs',
    'tmp',
    'dev',
    'dev/console',
  ]);
  const long = hostCpio(['-tv', '--quiet'], archive);
  assert.match(long, /^lrwxrwxrwx .* bin\/sh -> tool$/m);
  assert.match(long, /^-rwxr-xr-x .* bin\/tool$/m);
  assert.match(long, /^drwxrwxrwt .* tmp$/m);
  assert.match(long, /^crw------- .* dev\/console$/m);
});

test('host cpio extracts files, modes and symlinks', { skip: !hasCpio && 'no cpio tool' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'colinux-cpio-'));
  try {
    const entries = sample().filter((e) => e.type !== 'char'); // mknod needs privileges
    hostCpio(
      ['-i', '--quiet', '--no-absolute-filenames', '--preserve-modification-time'],
      writeCpio(entries),
      dir,
    );
    assert.equal(readFileSync(join(dir, 'bin/tool'), 'utf8'), '#!/bin/sh\necho hi\n');
    assert.equal(lstatSync(join(dir, 'bin/tool')).mode & 0o7777, 0o755);
    assert.equal(readlinkSync(join(dir, 'bin/sh')), 'tool');
    assert.equal(readlinkSync(join(dir, 'etc/link-abs')), '/etc/abc');
    for (const [n, text, mode] of [
      ['etc/a', 'a', 0o644],
      ['etc/ab', 'ab', 0o600],
      ['etc/abc', 'abc', 0o640],
      ['etc/empty', '', 0o644],
    ] as const) {
      assert.equal(readFileSync(join(dir, n), 'utf8'), text, n);
      assert.equal(lstatSync(join(dir, n)).mode & 0o7777, mode, n);
    }
    const big = readFileSync(join(dir, 'etc/big.bin'));
    assert.equal(big.length, 70_001);
    for (let i = 0; i < big.length; i += 997) assert.equal(big[i], (i * 7 + 3) & 0xff);
    assert.ok(lstatSync(join(dir, 'tmp')).isDirectory());
    assert.equal(lstatSync(join(dir, 'etc')).mode & 0o7777, 0o750);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * Detached VMs in real processes: `colinux run --detach`, ls, console
 * (attach, replay, detach), stop (the power button: the guest shuts down
 * cleanly) and kill, two VMs at once, a guest reboot and panic=restart, and
 * the cleanup after a VM process that was killed. Each test uses its own
 * runtime and state directories and kills every process it started.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as net from 'node:net';
import { ensureDefaultImage } from '../../src/backends/image/index.js';
import { ControlClient } from '../../src/cli/control.js';
import { type CliResult } from '../helpers/colinux.js';
import {
  alive,
  DaemonFixture,
  freePort,
  PROMPT,
  readOr,
  show,
  waitFor,
  type Step,
} from '../helpers/daemon.js';

const fx = new DaemonFixture('cld-');
const root = fx.root;

before(async () => {
  // First run on a fresh machine builds the image (several minutes); later runs hit the cache.
  await ensureDefaultImage({ onProgress: (line) => process.stderr.write(`${line}\n`) });
});

after(() => fx.cleanup());

const newEnv = (tag: string): NodeJS.ProcessEnv => fx.env(tag);
const cli = (env: NodeJS.ProcessEnv, args: string[]): Promise<CliResult> => fx.cli(env, args);
const logOf = (env: NodeJS.ProcessEnv, name: string): string => fx.logOf(env, name);
const pidOf = (env: NodeJS.ProcessEnv, name: string): number => fx.pidOf(env, name);
const detach = (env: NodeJS.ProcessEnv, name: string, extra: string[] = []): Promise<number> =>
  fx.detach(env, name, extra);
const consoleSession = (
  env: NodeJS.ProcessEnv,
  args: string[],
  steps: Step[],
): Promise<CliResult> => fx.console(env, args, steps);

/** A "service" that says hello on ttyS1 and writes its last words there when it gets SIGTERM. */
const SERVICE =
  `sh -c 'trap "echo flushed-on-term >/dev/ttyS1; exit 0" TERM; echo service-up >/dev/ttyS1; ` +
  `while :; do sleep 1; done' </dev/null >/dev/null 2>&1 &\n`;

test('detach, ls, console with replay, kill: kill pulls the plug', async () => {
  const env = newEnv('a');
  const serial = path.join(root, 'a-ttyS1.out');
  const pid = await detach(env, 't1', [`ttys1=file:${serial}`, 'mem=128']);

  const ls = await cli(env, ['ls']);
  assert.equal(ls.code, 0, show(ls));
  assert.match(ls.stdout, /^NAME\s+PID\s+STATE\s+UPTIME\s+MEM\s+DISKS\s+FORWARDS$/m);
  assert.match(ls.stdout, new RegExp(`^t1\\s+${pid}\\s+running\\s+\\d+s\\s+128M\\s+-\\s+-$`, 'm'));
  const json = await cli(env, ['ls', '--json']);
  const rows = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!['name'], 't1');
  assert.deepEqual(rows[0]!['serial'], [`ttys1=file:${serial}`]);
  assert.equal(rows[0]!['log'], logOf(env, 't1'));

  // Attach, type, detach (end of input): the VM keeps running.
  const c1 = await consoleSession(
    env,
    ['t1'],
    [{ wait: PROMPT, send: 'echo mark-$((6*7))\n' }, { wait: /mark-42/ }, { send: SERVICE }],
  );
  assert.equal(c1.code, 0, show(c1));
  assert.match(c1.stdout, /mark-42/);
  assert.ok(alive(pid));
  await waitFor('the service on ttyS1', () => readOr(serial).includes('service-up'));

  // A second console sees the earlier session in the replay.
  const c2 = await consoleSession(env, ['--read-only', 't1'], []);
  assert.equal(c2.code, 0, show(c2));
  assert.match(c2.stdout, /echo mark-\$\(\(6\*7\)\)\r?\nmark-42/);
  assert.match(c2.stdout, /Linux version 6\.12/, 'the boot messages are in the replay too');

  const k = await cli(env, ['kill', 't1']);
  assert.equal(k.code, 0, show(k));
  assert.match(k.stderr, /VM "t1" was stopped/);
  await waitFor('the VM process to end', () => !alive(pid), 10_000);
  assert.equal(readOr(serial).includes('flushed-on-term'), false, 'kill: no shutdown');
  assert.deepEqual(fs.readdirSync(env['COLINUX_RUNTIME_DIR']!), [], 'pid file and socket removed');
  const ls2 = await cli(env, ['ls']);
  assert.doesNotMatch(ls2.stdout, /t1/);
  const log = readOr(logOf(env, 't1'));
  assert.match(log, /mark-42/, 'the console log has the session');
  assert.match(log, /VM "t1" ended: stopped/);
});

test('stop is graceful: init stops the services and the guest powers off; data reaches the host', async () => {
  const env = newEnv('b');
  const serial = path.join(root, 'b-ttyS1.out');
  const pid = await detach(env, 't2', [`ttys1=file:${serial}`]);
  const c = await consoleSession(env, ['t2'], [{ wait: PROMPT, send: SERVICE }]);
  assert.equal(c.code, 0, show(c));
  await waitFor('the service on ttyS1', () => readOr(serial).includes('service-up'));

  const s = await cli(env, ['stop', 't2']);
  assert.equal(s.code, 0, show(s));
  assert.match(s.stderr, /VM "t2" shut down/);
  await waitFor('the VM process to end', () => !alive(pid), 10_000);
  // Written by the guest during its shutdown, checked on the host.
  assert.match(readOr(serial), /service-up\r?\nflushed-on-term/);
  const log = readOr(logOf(env, 't2'));
  assert.match(log, /power button pressed \(graceful stop\)/);
  assert.match(log, /colinux: power button pressed, shutting down/, 'acpid ran the handler');
  assert.match(log, /The system is going down NOW!/, 'busybox init shut down');
  assert.match(log, /VM "t2" ended: poweroff, status 0/);
  assert.deepEqual(fs.readdirSync(env['COLINUX_RUNTIME_DIR']!), []);
});

test('a graceful stop keeps file data written just before it (checked in the disk image on the host)', async () => {
  const env = newEnv('disk');
  const img = path.join(root, 'disk.img');
  const mk = await cli(env, ['disk', 'create', img, '32M']);
  assert.equal(mk.code, 0, show(mk));
  const fmt = await cli(env, ['run', `cobd0=${img}`, '--cmd', 'mke2fs -q /dev/vda']);
  assert.equal(fmt.code, 0, show(fmt));
  // Written, not synced: the guest's page cache holds it until init's shutdown syncs and unmounts.
  const write = (word: string): string =>
    `mount -t ext2 /dev/vda /mnt && echo ${word}-$((6*7)) > /mnt/${word}.txt && echo written-${word}\n`;

  const pid = await detach(env, 'disk', [`cobd0=${img}`]);
  const c = await consoleSession(
    env,
    ['disk'],
    [{ wait: PROMPT, send: write('graceful') }, { wait: /written-graceful/ }],
  );
  assert.equal(c.code, 0, show(c));
  const s = await cli(env, ['stop', 'disk']);
  assert.equal(s.code, 0, show(s));
  await waitFor('the VM process to end', () => !alive(pid), 10_000);
  assert.ok(fs.readFileSync(img).includes('graceful-42\n'), 'the data is in the image');

  // The same without the shutdown: kill right after writing loses what the guest had not synced.
  const pid2 = await detach(env, 'disk', [`cobd0=${img}`]);
  const c2 = await consoleSession(
    env,
    ['disk'],
    [{ wait: PROMPT, send: write('killed') }, { wait: /written-killed/ }],
  );
  assert.equal(c2.code, 0, show(c2));
  assert.equal((await cli(env, ['kill', 'disk'])).code, 0);
  await waitFor('the VM process to end', () => !alive(pid2), 10_000);
  assert.equal(fs.readFileSync(img).includes('killed-42\n'), false, 'kill skips the shutdown');
});

/** Connect to a host end and collect what arrives. */
function hostEnd(
  target: string | number,
): Promise<{ sock: net.Socket; got: () => string; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const sock =
      typeof target === 'number' ? net.connect(target, '127.0.0.1') : net.connect(target);
    let got = '';
    sock.on('data', (d: Buffer) => (got += d.toString('latin1')));
    const closed = new Promise<void>((r) => sock.on('close', () => r()));
    sock.once('connect', () => resolve({ sock, got: () => got, closed }));
    sock.once('error', reject);
  });
}

test('ttysN=unix: and tcp: connect guest serial ports to host sockets, both ways', async () => {
  const env = newEnv('serial');
  const sockPath = path.join(root, 's1.sock');
  const port = await freePort();
  const pid = await detach(env, 'ser', [`ttys1=unix:${sockPath}`, `ttys2=tcp:${port}`]);
  assert.equal(fs.statSync(sockPath).mode & 0o777, 0o600);

  // Type on the console through the control socket, as any program may.
  const ctl = await ControlClient.connect(path.join(env['COLINUX_RUNTIME_DIR']!, 'ser.sock'));
  let screen = '';
  ctl.onEvent = (m) => {
    if (m['type'] === 'output') screen += Buffer.from(String(m['data']), 'base64').toString();
  };
  assert.equal((await ctl.request('attach', { replay: false })).ok, true);
  const type = async (line: string, expect: RegExp): Promise<void> => {
    const r = await ctl.request('input', { data: Buffer.from(line + '\n').toString('base64') });
    assert.equal(r.ok, true);
    await waitFor(String(expect), () => expect.test(screen));
  };

  const s1 = await hostEnd(sockPath);
  const s2 = await hostEnd(port);
  const busy = await hostEnd(sockPath);
  await busy.closed; // one client at a time: the second is turned away
  await type(
    'stty -F /dev/ttyS1 raw -echo && stty -F /dev/ttyS2 raw -echo && (head -n1 /dev/ttyS1 > /tmp/got1 &) && echo stty-$((2+3))',
    /stty-5/,
  );
  await type(
    'echo to-host-1 > /dev/ttyS1; echo to-host-2 > /dev/ttyS2; echo sent-$((3+4))',
    /sent-7/,
  );
  await waitFor('ttyS1 output on the Unix socket', () => s1.got().includes('to-host-1\n'));
  await waitFor('ttyS2 output on the TCP port', () => s2.got().includes('to-host-2\n'));
  s1.sock.write('from-host-1\n');
  await type('sleep 1; cat /tmp/got1 | tr a-z A-Z', /FROM-HOST-1/);
  ctl.close();
  s1.sock.destroy();
  s2.sock.destroy();
  assert.equal((await cli(env, ['kill', 'ser'])).code, 0);
  await waitFor('the VM process to end', () => !alive(pid), 10_000);
  assert.equal(fs.existsSync(sockPath), false, 'the serial socket is removed');
});

test('two VMs at once; stop takes several names', async () => {
  const env = newEnv('c');
  const [pa, pb] = await Promise.all([detach(env, 'va'), detach(env, 'vb')]);
  assert.notEqual(pa, pb);
  const ls = await cli(env, ['ls']);
  assert.match(ls.stdout, /^va\s+\d+\s+running/m);
  assert.match(ls.stdout, /^vb\s+\d+\s+running/m);
  const [ca, cb] = await Promise.all([
    consoleSession(
      env,
      ['va'],
      [{ wait: PROMPT, send: 'echo I-am-$((1+1))a\n' }, { wait: /I-am-2a/ }],
    ),
    consoleSession(
      env,
      ['vb'],
      [{ wait: PROMPT, send: 'echo I-am-$((1+2))b\n' }, { wait: /I-am-3b/ }],
    ),
  ]);
  assert.match(ca.stdout, /I-am-2a/);
  assert.doesNotMatch(ca.stdout, /I-am-3b/);
  assert.match(cb.stdout, /I-am-3b/);
  assert.doesNotMatch(cb.stdout, /I-am-2a/);
  const s = await cli(env, ['stop', 'va', 'vb']);
  assert.equal(s.code, 0, show(s));
  assert.match(s.stderr, /VM "va" shut down/);
  assert.match(s.stderr, /VM "vb" shut down/);
  await waitFor('both processes to end', () => !alive(pa) && !alive(pb), 10_000);
});

test('a killed VM process leaves files that ls cleans up; the name is free again', async () => {
  const env = newEnv('d');
  const dir = env['COLINUX_RUNTIME_DIR']!;
  const pid = await detach(env, 't4');
  process.kill(pid, 'SIGKILL');
  await waitFor('the VM process to die', () => !alive(pid), 10_000);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['t4.pid', 't4.sock'], 'a crash leaves its files');
  const ls = await cli(env, ['ls']);
  assert.equal(ls.code, 0, show(ls));
  assert.match(ls.stderr, /removed the files of VM "t4" \(pid \d+ ended without cleaning up\)/);
  assert.doesNotMatch(ls.stdout, /t4/);
  assert.deepEqual(fs.readdirSync(dir), []);

  // Also found and cleaned when the name is asked for directly, or reused.
  const pid2 = await detach(env, 't4');
  process.kill(pid2, 'SIGKILL');
  await waitFor('the VM process to die', () => !alive(pid2), 10_000);
  const st = await cli(env, ['stop', 't4']);
  assert.equal(st.code, 4, show(st));
  assert.match(st.stderr, /VM "t4" is gone/);
  assert.deepEqual(fs.readdirSync(dir), []);
  const pid3 = await detach(env, 't4');
  const k = await cli(env, ['kill', 't4']);
  assert.equal(k.code, 0, show(k));
  await waitFor('the VM process to end', () => !alive(pid3), 10_000);
});

test('names in use, unknown VMs, bad configs: clear messages, nothing left running', async () => {
  const env = newEnv('e');
  const dir = env['COLINUX_RUNTIME_DIR']!;
  const conf = path.join(root, 'bad.conf');
  fs.writeFileSync(conf, '# a VM\nmem=64\nttys1=serial\n');
  const bad = await cli(env, ['run', '--detach', '--name', 'x', `@${conf}`]);
  assert.equal(bad.code, 2, show(bad));
  assert.match(bad.stderr, /bad\.conf:3: ttys1=serial: unknown serial host end/);
  assert.deepEqual(fs.existsSync(dir) ? fs.readdirSync(dir) : [], []);

  const cmd = await cli(env, ['run', '--detach', '--cmd', 'true']);
  assert.equal(cmd.code, 2, show(cmd));
  assert.match(cmd.stderr, /drop --detach/);

  for (const c of [
    ['console', 'nope'],
    ['stop', 'nope'],
    ['kill', 'nope'],
  ]) {
    const r = await cli(env, c);
    assert.equal(r.code, 4, show(r));
    assert.match(r.stderr, /no VM named "nope" is running/);
  }
  const badName = await cli(env, ['stop', '../etc']);
  assert.equal(badName.code, 2, show(badName));

  const pid = await detach(env, 'dup');
  const again = await cli(env, ['run', '--detach', '--name', 'dup']);
  assert.equal(again.code, 2, show(again));
  assert.match(again.stderr, /a VM named "dup" is already running \(pid \d+\)/);
  // A VM that fails while starting reports why, and leaves nothing behind.
  const noKernel = await cli(env, ['run', '--detach', '--name', 'nk', `kernel=${conf}`]);
  assert.equal(noKernel.code, 2, show(noKernel));
  assert.match(noKernel.stderr, /not a RISC-V Linux kernel/);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['dup.pid', 'dup.sock']);
  assert.equal((await cli(env, ['kill', 'dup'])).code, 0);
  await waitFor('the VM process to end', () => !alive(pid), 10_000);
});

test('guest reboot restarts the VM in the same process; panic=restart restarts after a panic', async () => {
  const env = newEnv('f');
  const pid = await detach(env, 'rb');
  const c = await consoleSession(env, ['rb'], [{ wait: PROMPT, send: 'reboot\n' }]);
  assert.equal(c.code, 0, show(c));
  await waitFor('the restart', () =>
    /guest rebooted; restarting the VM/.test(readOr(logOf(env, 'rb'))),
  );
  await waitFor('the second boot', () => {
    const log = readOr(logOf(env, 'rb'));
    return PROMPT.test(log.slice(log.indexOf('guest rebooted')));
  });
  assert.equal(pidOf(env, 'rb'), pid, 'same process');
  const json = JSON.parse((await cli(env, ['ls', '--json'])).stdout) as Array<
    Record<string, unknown>
  >;
  assert.equal(json[0]!['restarts'], 1);

  // No root file system: the kernel panics; with panic=restart the VM boots again.
  const pp = await (async () => {
    const r = await cli(env, [
      'run',
      '--detach',
      '--name',
      'pn',
      'initrd=none',
      'root=/dev/vda',
      'panic=restart',
    ]);
    assert.equal(r.code, 0, show(r));
    return pidOf(env, 'pn');
  })();
  const restartMark =
    /guest kernel panic \(Kernel panic - not syncing: VFS: .*\); restarting the VM \(panic=restart\)/g;
  await waitFor(
    'two restarts after panics',
    () => (readOr(logOf(env, 'pn')).match(restartMark) ?? []).length >= 2,
  );
  assert.ok(alive(pp));
  const k = await cli(env, ['kill', 'rb', 'pn']);
  assert.equal(k.code, 0, show(k));
  await waitFor('both processes to end', () => !alive(pid) && !alive(pp), 10_000);
});

test('SIGTERM to a foreground VM shuts the guest down cleanly (exit 143)', async () => {
  const env = newEnv('g');
  const child = fx.spawn(env, ['run', '--name', 'fg']);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString('latin1')));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  await waitFor('the prompt', () => PROMPT.test(out));
  // The foreground VM is listed and reachable too.
  const ls = await cli(env, ['ls']);
  assert.match(ls.stdout, /^fg\s+\d+\s+running/m);
  child.kill('SIGTERM');
  const code = await closed;
  assert.equal(code, 143, `stdout:\n${out}\nstderr:\n${err}`);
  assert.match(err, /SIGTERM: asking the guest to shut down/);
  assert.match(out, /The system is going down NOW!/);
  assert.deepEqual(fs.readdirSync(env['COLINUX_RUNTIME_DIR']!), []);
});

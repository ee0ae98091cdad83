/**
 * The control socket (protocol 1) served by VmHost, driven by a stand-in
 * for the Vm; the runtime directory, name claims and stale-file cleanup.
 * (Real VMs in real processes: test/daemon/daemon.test.ts.)
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ControlClient, LineDecoder, MAX_LINE, type Message } from '../../src/cli/control.js';
import {
  claimVmName,
  listVmNames,
  NameInUseError,
  prepareRuntimeDir,
  probeVm,
  vmNameProblem,
} from '../../src/cli/runtime.js';
import { VmHost } from '../../src/cli/vm-host.js';
import type { Vm, VmExit } from '../../src/vm.js';

/** A Vm stand-in: records what the host does to it; run() ends when told to. */
class FakeVm {
  written: string[] = [];
  presses = 0;
  stops = 0;
  /** Power off when the button is pressed. */
  obeysButton = true;
  private out: Array<(b: Uint8Array) => void> = [];
  private end: ((e: VmExit) => void) | undefined;
  private readonly ended = new Promise<VmExit>((r) => (this.end = r));

  onOutput(l: (b: Uint8Array) => void): void {
    this.out.push(l);
  }
  onRestart(): void {}
  async close(): Promise<void> {}
  onSerialOutput(): void {}
  writeSerial(): void {}
  write(d: Uint8Array | string): void {
    this.written.push(typeof d === 'string' ? d : Buffer.from(d).toString());
  }
  emit(s: string): void {
    for (const l of this.out) l(new TextEncoder().encode(s));
  }
  pressPowerButton(): void {
    this.presses++;
    if (this.obeysButton) setTimeout(() => this.end!({ reason: 'poweroff', exitCode: 0 }), 20);
  }
  stop(): void {
    this.stops++;
    this.end!({ reason: 'stopped', exitCode: 0, source: 'host' });
  }
  run(): Promise<VmExit> {
    return this.ended;
  }
}

const tmpDirs: string[] = [];
after(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

function tmpDir(): string {
  // Short: Unix socket paths are limited to about 100 bytes.
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-'));
  tmpDirs.push(d);
  return d;
}

async function startHost(
  name = 'web',
): Promise<{ host: VmHost; vm: FakeVm; dir: string; socket: string; done: Promise<void> }> {
  const dir = path.join(tmpDir(), 'run');
  const claim = await claimVmName(dir, name);
  const vm = new FakeVm();
  const host = new VmHost({
    name,
    claim,
    logPath: path.join(dir, '..', 'logs', `${name}.log`),
    detached: true,
    version: '0.0.0-test',
    info: { memMiB: 64, disks: ['cobd0=/x.img'], forwards: [], panic: 'stop' },
  });
  await host.open();
  host.attach(vm as unknown as Vm);
  const done = host.run().then((exit) => host.close(exit));
  return { host, vm, dir, socket: claim.paths.socket, done };
}

/** Raw connection: send lines, collect parsed messages. */
function raw(socket: string): Promise<{
  sock: net.Socket;
  msgs: Message[];
  next: (pred: (m: Message) => boolean) => Promise<Message>;
  closed: Promise<void>;
}> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(socket);
    const msgs: Message[] = [];
    const waiters: Array<[(m: Message) => boolean, (m: Message) => void]> = [];
    const dec = new LineDecoder(
      (m) => {
        msgs.push(m);
        for (const [i, [p, r]] of waiters.entries()) {
          if (p(m)) {
            waiters.splice(i, 1);
            r(m);
            break;
          }
        }
      },
      () => undefined,
    );
    sock.on('data', (d: Buffer) => dec.push(d));
    const closed = new Promise<void>((r) => sock.on('close', () => r()));
    const next = (pred: (m: Message) => boolean): Promise<Message> => {
      const found = msgs.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((r) => waiters.push([pred, r]));
    };
    sock.once('connect', () => resolve({ sock, msgs, next, closed }));
    sock.once('error', reject);
  });
}

test('runtime dir is 0700, the socket 0600; hello, then status', async () => {
  const { host, dir, socket, vm, done } = await startHost();
  assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
  assert.equal(fs.statSync(socket).mode & 0o777, 0o600);
  assert.equal(fs.readFileSync(path.join(dir, 'web.pid'), 'utf8'), `${process.pid}\n`);
  const c = await ControlClient.connect(socket);
  assert.equal(c.hello?.['protocol'], 1);
  assert.equal(c.hello?.['name'], 'web');
  const r = await c.request('status');
  assert.equal(r.ok, true);
  const st = r['vm'] as Record<string, unknown>;
  assert.equal(st['name'], 'web');
  assert.equal(st['state'], 'running');
  assert.equal(st['memMiB'], 64);
  assert.deepEqual(st['disks'], ['cobd0=/x.img']);
  assert.deepEqual(st['forwards'], []);
  assert.equal(st['pid'], process.pid);
  assert.equal(typeof st['uptimeSec'], 'number');
  c.close();
  host.kill();
  await done;
  assert.equal(vm.stops, 1);
  assert.equal(fs.existsSync(socket), false, 'socket removed');
  assert.equal(fs.existsSync(path.join(dir, 'web.pid')), false, 'pid file removed');
});

test('attach replays recent output, then streams; several viewers; who may type', async () => {
  const { host, vm, socket, done } = await startHost();
  for (let i = 0; i < 1500; i++) vm.emit(`line ${i}\r\n`);
  const a = await ControlClient.connect(socket);
  const b = await ControlClient.connect(socket);
  const outA: string[] = [];
  const outB: string[] = [];
  const replayFlags: unknown[] = [];
  a.onEvent = (m) => {
    if (m['type'] === 'output') {
      outA.push(Buffer.from(String(m['data']), 'base64').toString());
      replayFlags.push(m['replay']);
    }
  };
  b.onEvent = (m) => {
    if (m['type'] === 'output') outB.push(Buffer.from(String(m['data']), 'base64').toString());
  };
  const ra = await a.request('attach');
  assert.equal(ra.ok, true);
  const rb = await b.request('attach', { replay: false, input: false });
  assert.equal(rb.ok, true);
  const replay = outA.join('');
  assert.ok(replay.startsWith('line 500\r\n'), replay.slice(0, 40));
  assert.ok(replay.endsWith('line 1499\r\n'));
  assert.equal(replay.split('\n').length - 1, 1000, 'the last 1000 lines');
  assert.ok(replayFlags.every((f) => f === true));
  assert.deepEqual(outB, [], 'no replay asked');

  vm.emit('live!\n');
  const st = await a.request('status');
  assert.equal((st['vm'] as Record<string, unknown>)['viewers'], 2);
  assert.equal(outA.at(-1), 'live!\n');
  assert.deepEqual(outB, ['live!\n']);

  assert.equal(
    (await a.request('input', { data: Buffer.from('ls\n').toString('base64') })).ok,
    true,
  );
  const ro = await b.request('input', { data: Buffer.from('rm\n').toString('base64') });
  assert.equal(ro.ok, false);
  assert.match(String(ro['error']), /read-only/);
  assert.deepEqual(vm.written, ['ls\n']);

  assert.equal((await a.request('detach')).ok, true);
  vm.emit('after detach\n');
  await b.request('status');
  assert.equal(outA.includes('after detach\n'), false);
  assert.equal(outB.at(-1), 'after detach\n');
  host.kill();
  await Promise.all([a.closed, b.closed, done]);
});

test('stop presses the power button; the exit event reaches every client', async () => {
  const { vm, socket, done } = await startHost();
  const watcher = await raw(socket);
  const c = await ControlClient.connect(socket);
  const r = await c.request('stop', { timeoutSec: 30 });
  assert.equal(r.ok, true);
  assert.equal(r['state'], 'stopping');
  const ev = await watcher.next((m) => m['type'] === 'exit');
  assert.deepEqual(
    { reason: ev['reason'], exitCode: ev['exitCode'], forced: ev['forced'] },
    { reason: 'poweroff', exitCode: 0, forced: false },
  );
  assert.ok(watcher.msgs.some((m) => m['type'] === 'state' && m['state'] === 'stopping'));
  await Promise.all([watcher.closed, c.closed, done]);
  assert.equal(vm.presses, 1);
  assert.equal(vm.stops, 0);
});

test('a guest that ignores the button is stopped hard after the timeout', async () => {
  const { vm, socket, done, dir } = await startHost();
  vm.obeysButton = false;
  const c = await ControlClient.connect(socket);
  let exit: Message | undefined;
  c.onEvent = (m) => {
    if (m['type'] === 'exit') exit = m;
  };
  assert.equal((await c.request('stop', { timeoutSec: 0.2 })).ok, true);
  await c.closed;
  await done;
  assert.equal(exit?.['forced'], true);
  assert.equal(exit?.['reason'], 'stopped');
  assert.equal(vm.stops, 1);
  const log = fs.readFileSync(path.join(dir, '..', 'logs', 'web.log'), 'utf8');
  assert.match(log, /power button pressed/);
  assert.match(log, /did not shut down within 0\.2 s/);
});

test('bad requests get an error reply; garbage closes the connection', async () => {
  const { host, socket, done } = await startHost();
  const c = await ControlClient.connect(socket);
  const cases: Array<[string, Message, RegExp]> = [
    ['frob', {}, /unknown command "frob"/],
    ['input', { data: '***' }, /base64/],
    ['input', { data: 7 }, /base64/],
    ['input', { data: Buffer.alloc(70_000).toString('base64') }, /at most 65536 bytes/],
    ['stop', { timeoutSec: -1 }, /timeoutSec/],
    ['stop', { timeoutSec: 'soon' }, /timeoutSec/],
    ['attach', { replay: 'yes' }, /true or false/],
  ];
  for (const [cmd, args, re] of cases) {
    const r = await c.request(cmd, args);
    assert.equal(r.ok, false, cmd);
    assert.match(String(r['error']), re);
  }
  const g = await raw(socket);
  g.sock.write('this is not json\n');
  const bad = await g.next((m) => m['type'] === 'reply');
  assert.equal(bad['ok'], false);
  assert.match(String(bad['error']), /not JSON/);
  await g.closed;
  const big = await raw(socket);
  big.sock.write(Buffer.alloc(MAX_LINE + 10, 0x61));
  const tooLong = await big.next((m) => m['type'] === 'reply');
  assert.match(String(tooLong['error']), /longer than/);
  await big.closed;
  const noCmd = await c.request('', {});
  assert.equal(noCmd.ok, false);
  assert.equal((await c.request('status')).ok, true, 'the good connection still works');
  host.kill();
  await done;
});

test('LineDecoder: lines split across chunks, CRLF, blank lines, non-objects', () => {
  const got: Message[] = [];
  const errs: string[] = [];
  const d = new LineDecoder(
    (m) => got.push(m),
    (e) => errs.push(e),
  );
  d.push(Buffer.from('{"a":'));
  d.push(Buffer.from('1}\r\n\n{"b":2}\n[1]\n'));
  assert.deepEqual(got, [{ a: 1 }, { b: 2 }]);
  assert.deepEqual(errs, ['a message must be a JSON object']);
});

test('names: validation, exclusive claims, vm1/vm2 defaults, stale pid files cleaned', async () => {
  assert.equal(vmNameProblem('web-1'), undefined);
  assert.match(String(vmNameProblem('a/b')), /letters/);
  assert.match(String(vmNameProblem('')), /empty/);
  const dir = path.join(tmpDir(), 'run');
  const a = await claimVmName(dir, undefined);
  const b = await claimVmName(dir, undefined);
  assert.deepEqual([a.name, b.name], ['vm1', 'vm2']);
  // vm1 has a pid file of a live process (this one) and no socket yet: starting, so taken.
  await assert.rejects(claimVmName(dir, 'vm1'), NameInUseError);
  assert.deepEqual(listVmNames(dir), ['vm1', 'vm2']);

  // A pid file left by a process that died.
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  fs.writeFileSync(path.join(dir, 'old.pid'), `${dead}\n`);
  assert.equal((await probeVm(dir, 'old')).state, 'stale');
  const stale: string[] = [];
  const c = await claimVmName(dir, 'old', (p) => stale.push(p.name));
  assert.deepEqual(stale, ['old']);
  assert.equal(fs.readFileSync(path.join(dir, 'old.pid'), 'utf8'), `${process.pid}\n`);
  for (const x of [a, b, c]) x.release();
  assert.deepEqual(listVmNames(dir), []);
});

test('a runtime dir of ours with a wide mode is tightened; a file in its place is refused', () => {
  const base = tmpDir();
  const dir = path.join(base, 'run');
  fs.mkdirSync(dir, { mode: 0o755 });
  fs.chmodSync(dir, 0o755);
  prepareRuntimeDir(dir);
  assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
  const file = path.join(base, 'file');
  fs.writeFileSync(file, '');
  assert.throws(() => prepareRuntimeDir(file), /not a directory/);
});

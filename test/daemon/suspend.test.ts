/**
 * `colinux suspend`, `snapshot` and `resume` on detached VMs in real
 * processes: the guest's state survives the VM process, the file is
 * user-only, and bad input gets one clear message and a non-zero status.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureDefaultImage } from '../../src/backends/image/index.js';
import { alive, DaemonFixture, freePort, PROMPT, show, waitFor } from '../helpers/daemon.js';

const fx = new DaemonFixture('cls-');

before(async () => {
  await ensureDefaultImage({ onProgress: (line) => process.stderr.write(`${line}\n`) });
});

after(() => fx.cleanup());

test('suspend ends the VM process with its state in a file; resume continues it; snapshot keeps it running', async () => {
  const env = fx.env('s');
  const file = path.join(fx.root, 'vm.snap');
  const pid = await fx.detach(env, 's1', ['mem=128']);
  const c1 = await fx.console(
    env,
    ['s1'],
    [
      { wait: PROMPT, send: 'echo kept-$((6*7)) > /tmp/f; echo typed-$((1+1))\n' },
      { wait: /typed-2/ },
    ],
  );
  assert.equal(c1.code, 0, show(c1));

  const s = await fx.cli(env, ['suspend', 's1', file]);
  assert.equal(s.code, 0, show(s));
  assert.match(s.stderr, /VM "s1" suspended to .*vm\.snap/);
  await waitFor('the suspended VM process to end', () => !alive(pid));
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(
    fs.readdirSync(fx.root).filter((f) => f.includes('.partial')),
    [],
    'no half-written file is left',
  );
  const ls = await fx.cli(env, ['ls']);
  assert.doesNotMatch(ls.stdout, /^s1\s/m);

  const r = await fx.cli(env, ['resume', file, '--detach']);
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stdout, 's1\n', 'the VM keeps the name it had');
  const pid2 = fx.pidOf(env, 's1');
  assert.notEqual(pid2, pid);
  // The console history comes along: the replay shows what was typed before the suspend.
  const c2 = await fx.console(
    env,
    ['s1'],
    [{ wait: /typed-2/, send: 'cat /tmp/f; echo again-$((2+3))\n' }, { wait: /again-5/ }],
  );
  assert.equal(c2.code, 0, show(c2));
  assert.match(c2.stdout, /kept-42/);

  // A second time in a row, with a process running across both.
  const c2b = await fx.console(
    env,
    ['s1'],
    [
      {
        send: '(i=0; while :; do i=$((i+1)); echo $i > /tmp/n; sleep 0.1; done) & echo bg-$((1+8))\n',
      },
      { wait: /bg-9/ },
    ],
  );
  assert.equal(c2b.code, 0, show(c2b));
  const again = await fx.cli(env, ['suspend', 's1', file]);
  assert.equal(again.code, 0, show(again));
  await waitFor('the VM process to end', () => !alive(pid2));
  const r3 = await fx.cli(env, ['resume', file, '--detach']);
  assert.equal(r3.code, 0, show(r3));
  const c2c = await fx.console(
    env,
    ['s1'],
    [
      { send: 'cat /tmp/f; a=$(cat /tmp/n); sleep 1; b=$(cat /tmp/n); echo "counted $((b-a))"\n' },
      { wait: /counted \d+/ },
    ],
  );
  assert.match(c2c.stdout, /kept-42/);
  const counted = Number(/counted (\d+)/.exec(c2c.stdout)![1]);
  assert.ok(counted >= 3, `the background counter goes on after the second resume (${counted})`);
  const pid3 = fx.pidOf(env, 's1');

  const copy = path.join(fx.root, 'copy.snap');
  const sn = await fx.cli(env, ['snapshot', 's1', copy]);
  assert.equal(sn.code, 0, show(sn));
  assert.match(sn.stderr, /it runs on/);
  assert.ok(alive(pid3));
  // The copy runs beside the original under another name.
  const r2 = await fx.cli(env, ['resume', copy, '--detach', '--name', 's2']);
  assert.equal(r2.code, 0, show(r2));
  const c3 = await fx.console(
    env,
    ['s2'],
    [{ send: 'cat /tmp/f; echo copy-$((3+4))\n' }, { wait: /copy-7/ }],
  );
  assert.match(c3.stdout, /kept-42/);
  for (const name of ['s1', 's2']) {
    const k = await fx.cli(env, ['kill', name]);
    assert.equal(k.code, 0, show(k));
  }
});

test('resume and suspend refuse bad input with one clear message', async () => {
  const env = fx.env('b');
  const missing = await fx.cli(env, ['resume', path.join(fx.root, 'nothing.snap')]);
  assert.equal(missing.code, 2, show(missing));
  assert.match(missing.stderr, /no such file/);

  const junk = path.join(fx.root, 'junk.snap');
  fs.writeFileSync(junk, 'not a snapshot at all\n');
  const bad = await fx.cli(env, ['resume', junk]);
  assert.equal(bad.code, 2, show(bad));
  assert.match(bad.stderr, /not a colinux snapshot/);

  const extra = await fx.cli(env, ['resume', junk, 'mem=512']);
  assert.equal(extra.code, 2, show(extra));
  assert.match(extra.stderr, /only --name, --log, --detach, --trust and new host ports/);

  // A key others could read would let them seal files as this user.
  const keyFile = path.join(env['COLINUX_STATE_DIR']!, 'snapshot.key');
  fs.mkdirSync(path.dirname(keyFile), { recursive: true });
  fs.writeFileSync(keyFile, Buffer.alloc(32, 7), { mode: 0o644 });
  fs.chmodSync(keyFile, 0o644);
  const shared = await fx.cli(env, ['resume', junk]);
  assert.equal(shared.code, 2, show(shared));
  assert.match(shared.stderr, /snapshot\.key: others can read or change it .*chmod 600/);
  fs.rmSync(keyFile);

  const noVm = await fx.cli(env, ['suspend', 'nosuchvm', junk]);
  assert.equal(noVm.code, 4, show(noVm));
  const usage = await fx.cli(env, ['suspend', 'onlyname']);
  assert.equal(usage.code, 2, show(usage));
  assert.match(usage.stderr, /usage: colinux suspend NAME FILE/);
});

test('resume can move port forwards to other host ports, and nothing else', async () => {
  const env = fx.env('f');
  const file = path.join(fx.root, 'web.snap');
  const [oldPort, newPort] = [await freePort(), await freePort()];
  await fx.detach(env, 'w1', ['mem=128', `eth0=slirp,tcp:${oldPort}:8080`]);
  const c1 = await fx.console(
    env,
    ['w1'],
    [
      {
        wait: PROMPT,
        send: 'mkdir -p /tmp/www; echo served-$((5*5)) > /tmp/www/index.html; httpd -p 8080 -h /tmp/www; echo up-$((1+1))\n',
      },
      { wait: /up-2/ },
    ],
  );
  assert.equal(c1.code, 0, show(c1));
  const s = await fx.cli(env, ['suspend', 'w1', file]);
  assert.equal(s.code, 0, show(s));

  // Another user (another state directory, so another key): the file is not
  // theirs, and it names a listening port and the network, so it is refused
  // until they say they trust it.
  const other = fx.env('o');
  const foreign = await fx.cli(other, ['resume', file]);
  assert.equal(foreign.code, 2, show(foreign));
  assert.match(foreign.stderr, /not sealed with your key/);
  assert.match(foreign.stderr, new RegExp(`eth0: listens on tcp 127\\.0\\.0\\.1:${oldPort}`));
  assert.match(foreign.stderr, /--trust/);
  const keyFile = path.join(other['COLINUX_STATE_DIR']!, 'snapshot.key');
  assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
  const trustPort = await freePort();
  const trusted = await fx.cli(other, [
    'resume',
    file,
    '--trust',
    '--detach',
    '--name',
    'w2',
    `eth0=slirp,tcp:${trustPort}:8080`,
  ]);
  assert.equal(trusted.code, 0, show(trusted));
  const viaTrusted = await fetch(`http://127.0.0.1:${trustPort}/`);
  assert.equal((await viaTrusted.text()).trim(), 'served-25');
  assert.equal((await fx.cli(other, ['kill', 'w2'])).code, 0);

  const moved = await fx.cli(env, ['resume', file, `eth0=slirp,tcp:${newPort}:9999`]);
  assert.equal(moved.code, 2, show(moved));
  assert.match(moved.stderr, /only the host side of its port forwards can change/);

  const r = await fx.cli(env, ['resume', file, '--detach', `eth0=slirp,tcp:${newPort}:8080`]);
  assert.equal(r.code, 0, show(r));
  const ls = await fx.cli(env, ['ls']);
  assert.match(ls.stdout, new RegExp(`^w1\\s.*tcp:${newPort}->8080`, 'm'));
  const res = await fetch(`http://127.0.0.1:${newPort}/`);
  assert.equal((await res.text()).trim(), 'served-25');
  const k = await fx.cli(env, ['kill', 'w1']);
  assert.equal(k.code, 0, show(k));
});

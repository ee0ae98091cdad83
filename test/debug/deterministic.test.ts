/**
 * deterministic=on, record= and replay=: the same VM with the same input
 * runs the same instructions and prints the same bytes, whatever the host's
 * speed, the JIT, or when typed input arrived.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Vm } from '../../src/vm.js';
import { parseInputLog, logHeader, logLine, type InputEvent } from '../../src/debug/replay.js';
import { runCli } from '../helpers/colinux.js';
import { PROMPT } from '../helpers/daemon.js';

const GUEST =
  'cat /proc/uptime; head -c 16 /dev/urandom | od -An -tx1; sleep 2; cat /proc/uptime; date -u';

function withDir<T>(f: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'colinux-det-'));
  return f(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('deterministic=on: two runs, and a run with jit=off, print the same bytes and sample the same pcs', () =>
  withDir(async (dir) => {
    const run = async (
      name: string,
      extra: string[],
    ): Promise<{ out: string; profile: string }> => {
      const file = join(dir, `${name}.txt`);
      const r = await runCli(
        ['run', 'deterministic=on', '--log', 'none', `profile=${file}`, ...extra, '--cmd', GUEST],
        { input: '', killAfterMs: 300_000 },
      );
      assert.equal(r.code, 0, r.stderr);
      return { out: r.stdout, profile: readFileSync(file, 'utf8') };
    };
    const a = await run('a', []);
    const b = await run('b', []);
    const c = await run('c', ['jit=off']);
    assert.equal(b.out, a.out);
    assert.equal(b.profile, a.profile);
    // The translator's code and the interpreter retire the very same
    // instructions (the profiles differ only in the JIT's own line).
    const withoutJit = (p: string): string => p.replace(/^translated code: .*\n\n/m, '');
    assert.match(a.profile, /^translated code: /m);
    assert.equal(c.out, a.out);
    assert.equal(withoutJit(c.profile), withoutJit(a.profile));
    // Guest time follows the instructions: `sleep 2` took two seconds of it,
    // skipped on the host; the clock starts at the fixed epoch.
    const up = [...a.out.matchAll(/^(\d+\.\d+) \d+\.\d+$/gm)].map((m) => Number(m[1]));
    assert.equal(up.length, 2, a.out);
    assert.ok(up[1]! - up[0]! >= 2 && up[1]! - up[0]! < 3, a.out);
    assert.match(a.out, /2026/);
    // The seed decides the random bytes.
    const seeded = await run('d', ['deterministic=7']);
    const bytes = (s: string): string => /^( [0-9a-f]{2}){16}$/m.exec(s)?.[0] ?? '';
    assert.notEqual(bytes(seeded.out), '');
    assert.notEqual(bytes(seeded.out), bytes(a.out));
  }));

test('record= and replay=: piped input is logged with its instruction count, and a replay repeats the run', () =>
  withDir(async (dir) => {
    const log = join(dir, 'run.log');
    const args = (extra: string[], p: string): string[] => [
      'run', '--log', 'none', `profile=${join(dir, p)}`, ...extra, '--cmd', `read x; echo "got [$x]"; ${GUEST}`,
    ]; // prettier-ignore
    const rec = await runCli(args([`record=${log}`], 'rec.txt'), {
      input: 'hello\n',
      killAfterMs: 300_000,
    });
    assert.equal(rec.code, 0, rec.stderr);
    assert.match(rec.stdout, /got \[hello\]/);
    const parsed = parseInputLog(readFileSync(log, 'utf8'));
    assert.equal(parsed.seed, 0);
    assert.equal(new TextDecoder().decode(parsed.events[0]!.bytes), 'hello\n');
    // The replay ignores what it is given now, and takes the log's.
    const rep = await runCli(args([`replay=${log}`], 'rep.txt'), {
      input: 'other\n',
      killAfterMs: 300_000,
    });
    assert.equal(rep.code, 0, rep.stderr);
    assert.equal(rep.stdout, rec.stdout);
    assert.equal(
      readFileSync(join(dir, 'rep.txt'), 'utf8'),
      readFileSync(join(dir, 'rec.txt'), 'utf8'),
    );
  }));

test('record= logs the frames the NAT gives the guest; replay= gives them back with no NAT at all', () =>
  withDir(async (dir) => {
    const server = http.createServer((_req, res) =>
      res.end(`served at ${process.hrtime.bigint()}\n`),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const log = join(dir, 'net.log');
    const cmd = `ip -4 addr show eth0 | grep -o 'inet [0-9./]*'; wget -q -O - http://10.0.2.2:${port}/`;
    let rec;
    try {
      rec = await runCli(['run', '--log', 'none', `record=${log}`, '--cmd', cmd], {
        input: '',
        killAfterMs: 300_000,
      });
    } finally {
      server.close();
    }
    assert.equal(rec.code, 0, rec.stderr);
    assert.match(rec.stdout, /inet 10\.0\.2\.15\/24/);
    assert.match(rec.stdout, /served at \d+/);
    assert.match(readFileSync(log, 'utf8'), /^\d+ eth0 [c-] (-|\d+:\d+) [A-Za-z0-9+/=]+$/m);
    // The server is gone: the replay's answers come from the log.
    const rep = await runCli(['run', '--log', 'none', `replay=${log}`, '--cmd', cmd], {
      input: '',
      killAfterMs: 300_000,
    });
    assert.equal(rep.code, 0, rep.stderr);
    assert.equal(rep.stdout, rec.stdout);
  }));

test('Vm API: input typed at whatever moment is recorded at its instruction count and replayed exactly', async () => {
  const events: InputEvent[] = [];
  const first = await Vm.create({
    deterministic: true,
    onInputRecorded: (at, bytes) => events.push({ at, bytes: bytes.slice() }),
  });
  let out = '';
  let typed = false;
  first.onOutput((b) => {
    out += new TextDecoder().decode(b);
    // Typed when the host sees the prompt: a moment that depends on its speed.
    if (PROMPT.test(out) && !typed) {
      typed = true;
      first.write('echo SUM=$((6*7)); sleep 1; poweroff\n');
    }
  });
  const exit = await first.run();
  assert.equal(exit.reason, 'poweroff', out);
  assert.match(out, /SUM=42/);
  assert.ok(events.length >= 1 && events[0]!.at > 0n, 'typed input arrives during the run');

  const second = await Vm.create({ deterministic: true, replayInput: events });
  let again = '';
  second.onOutput((b) => (again += new TextDecoder().decode(b)));
  // Typing into a replay changes nothing.
  second.write('echo intruder\n');
  assert.equal((await second.run()).reason, 'poweroff');
  assert.equal(again, out);
});

test('bad uses of deterministic mode and input logs name the problem', () =>
  withDir(async (dir) => {
    const bad = join(dir, 'bad.log');
    writeFileSync(
      bad,
      logHeader(0) + logLine(100n, Uint8Array.of(65)) + logLine(5n, Uint8Array.of(66)),
    );
    const r = await runCli(['run', `replay=${bad}`, '--cmd', 'true']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /replay=.*bad\.log: line 3: instruction counts go backwards/);
    writeFileSync(bad, 'hello\n');
    const r2 = await runCli(['run', `replay=${bad}`, '--cmd', 'true']);
    assert.match(r2.stderr, /line 1: not a colinux input log/);
    const r3 = await runCli(['run', 'deterministic=on', 'eth0=slirp', '--cmd', 'true']);
    assert.equal(r3.code, 2);
    assert.match(
      r3.stderr,
      /deterministic=on cannot have network cards .* unless record= logs them/,
    );
    const r4 = await runCli(['run', `record=${join(dir, 'a')}`, `replay=${bad}`, '--cmd', 'true']);
    assert.match(r4.stderr, /record= and replay= together/);
    const r5 = await runCli(['run', 'deterministic=maybe', '--cmd', 'true']);
    assert.match(r5.stderr, /deterministic=maybe: use on, off or a seed/);
  }));

test('record= and tracefile= leave no file behind when the VM cannot be made', () =>
  withDir(async (dir) => {
    const junk = join(dir, 'junk.bin');
    writeFileSync(junk, new Uint8Array(100).fill(7));
    const log = join(dir, 'run.log');
    const trace = join(dir, 'run.trace');
    const r = await runCli(
      [
        'run',
        '--log',
        'none',
        `kernel=${junk}`,
        `record=${log}`,
        'trace=all',
        `tracefile=${trace}`,
        '--cmd',
        'true',
      ],
      { input: '', killAfterMs: 60_000 },
    );
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /not a RISC-V Linux kernel/);
    assert.equal(existsSync(log), false, 'record= file left behind');
    assert.equal(existsSync(trace), false, 'tracefile= file left behind');
  }));

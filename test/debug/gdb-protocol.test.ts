/**
 * The GDB stub takes whatever a debugger (or anything that connects to its
 * port) sends: well-formed packets with hostile arguments, broken framing
 * and random bytes get replies or are dropped, and never throw.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Vm } from '../../src/vm.js';
import { CLI } from '../helpers/colinux.js';
import { waitFor } from '../helpers/daemon.js';

function packet(body: string): Uint8Array {
  let sum = 0;
  for (let i = 0; i < body.length; i++) sum = (sum + body.charCodeAt(i)) & 0xff;
  return new TextEncoder().encode(`$${body}#${sum.toString(16).padStart(2, '0')}`);
}

/** A tiny deterministic generator, so a failure can be repeated. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

test('hostile packets and bytes get well-formed replies or none, never an exception', async () => {
  const vm = await Vm.create({ memMiB: 64, nics: [] });
  const stub = vm.gdbStub();
  const out: string[] = [];
  stub.attach((b) => out.push(new TextDecoder('latin1').decode(b)));
  const r = rng(12345);
  const hex = (n: number): string => Math.floor(r() * n).toString(16);
  const big = (): string =>
    ['0', 'ffffffffffffffff', '80000000', '7fffffff', hex(2 ** 40), 'zz', ''][Math.floor(r() * 7)]!;
  const forms = [
    () => `m${big()},${hex(0x20000)}`,
    () => `M${big()},${hex(16)}:${'ab'.repeat(Math.floor(r() * 20))}`,
    () => `p${hex(5000)}`,
    () => `P${hex(5000)}=${'01'.repeat(Math.floor(r() * 10))}`,
    () => `Z${hex(6)},${big()},${hex(9000)}`,
    () => `z${hex(6)},${big()},${hex(9000)}`,
    () => `qXfer:features:read:target.xml:${big()},${hex(0x10000)}`,
    () => `qXfer:features:read:../../etc/passwd:0,100`,
    () =>
      `qRcmd,${Buffer.from(['info tlb', 'phys on', 'phys off', 'x'.repeat(300), 'info cpu'][Math.floor(r() * 5)]!).toString('hex')}`,
    () => `qRcmd,zz`,
    () => `G${'00'.repeat(Math.floor(r() * 300))}`,
    () => 'g',
    () => 's',
    () => `vCont;${['s', 'c', 't', 'x', ''][Math.floor(r() * 5)]}`,
    () => '?',
    () => `H${hex(4)}${hex(100)}`,
    // Any text but detach and kill (which end the session, as they should).
    () =>
      'q' +
      String.fromCharCode(
        ...Array.from({ length: Math.floor(r() * 40) }, () => 32 + Math.floor(r() * 90)),
      ),
  ];
  for (let i = 0; i < 3000; i++) {
    if (r() < 0.1) {
      // Raw noise: stray framing characters, bad checksums, the interrupt byte.
      stub.receive(Uint8Array.from({ length: Math.floor(r() * 64) }, () => Math.floor(r() * 256)));
      continue;
    }
    stub.receive(packet(forms[Math.floor(r() * forms.length)]!()));
  }
  // An oversized packet is refused, not buffered.
  stub.receive(packet('m0,' + '1'.repeat(40000)));
  // Still answering properly afterwards.
  out.length = 0;
  stub.receive(packet('qC'));
  assert.ok(out.join('').includes('$QC01#'), out.join(''));
  for (const chunk of out) assert.match(chunk, /^(\+|-|\$[^#]*#[0-9a-f]{2})+$/s);
  stub.detach();
  vm.stop();
  await vm.run();
});

test('gdb=unix:PATH: a user-only socket; the stub holds the VM (gdbwait), continues it, and reports its exit', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'colinux-gdbsock-'));
  const sock = join(dir, 'gdb.sock');
  const vm = spawn(
    process.execPath,
    [CLI, 'run', 'eth0=none', '--log', 'none', `gdb=unix:${sock}`, 'gdbwait', '--cmd', 'echo ran'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let vmOut = '';
  vm.stdout!.on('data', (d: Buffer) => (vmOut += d.toString()));
  vm.stderr!.on('data', (d: Buffer) => (vmOut += d.toString()));
  const exited = new Promise<number | null>((resolve) => vm.on('close', resolve));
  try {
    await waitFor('the socket', () => existsSync(sock), 60_000);
    assert.equal(statSync(sock).mode & 0o777, 0o600);
    const conn = net.createConnection(sock);
    let got = '';
    conn.on('data', (d: Buffer) => (got += d.toString('latin1')));
    await new Promise<void>((resolve) => conn.once('connect', () => resolve()));
    conn.write(packet('?'));
    await waitFor('the stop reply', () => got.includes('$T05'));
    // Held before the first instruction: nothing ran yet.
    assert.doesNotMatch(vmOut, /ran/);
    conn.write(packet('c'));
    // The VM runs its command and powers off: the stub says it exited, status 0.
    await waitFor('the exit packet', () => got.includes('$W00#'), 120_000);
    conn.end();
    assert.equal(await exited, 0, vmOut);
    assert.match(vmOut, /^ran$/m);
  } finally {
    vm.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

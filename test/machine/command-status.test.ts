import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandStatusFilter, commandCmdline } from '../../src/machine/command-status.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

test('the status marker is removed and recorded, even split across chunks', () => {
  const text = 'out 1\nout 2\n\ncolinux-exit-status:42\n[ 1.0] reboot: Power down\n';
  for (let cut = 1; cut < text.length; cut++) {
    const f = new CommandStatusFilter();
    const got =
      dec(f.push(enc(text.slice(0, cut)))) + dec(f.push(enc(text.slice(cut)))) + dec(f.flush());
    assert.equal(got, 'out 1\nout 2\n', `cut at ${cut}`);
    assert.equal(f.status, 42);
  }
});

test('output that only looks like the start of the marker is passed through', () => {
  const f = new CommandStatusFilter();
  const got =
    dec(f.push(enc('a\ncolinux-exit'))) + dec(f.push(enc('-other\nb\n'))) + dec(f.flush());
  assert.equal(got, 'a\ncolinux-exit-other\nb\n');
  assert.equal(f.status, undefined);
});

test('commandCmdline puts quiet first and encodes the command', () => {
  const line = commandCmdline('console=ttyS0 earlycon=sbi', 'echo "hi there"');
  assert.match(line, /^quiet console=ttyS0 earlycon=sbi colinux\.cmd=[A-Za-z0-9+/=]+$/);
  assert.equal(atob(line.split('colinux.cmd=')[1]!), 'echo "hi there"');
});

/**
 * Suspend and resume of a real Linux VM through the embedding API: the
 * guest's processes, tmpfs files, console and clock go on in a new VM built
 * from the file alone; a damaged or hostile file is refused with a
 * SnapshotError and never crashes the host.
 */
import { test, before, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Vm, SnapshotError, UntrustedSnapshotError } from '../../src/index.js';
import { ensureDefaultImage } from '../../src/backends/image/index.js';
import { readContainer, writeContainer } from '../../src/snapshot/container.js';

before(async () => {
  await ensureDefaultImage({ onProgress: (line) => process.stderr.write(`${line}\n`) });
});

/** Every VM a test made: stopped after it, so a failed assertion cannot leave one running. */
const made: Vm[] = [];
afterEach(() => {
  for (const vm of made.splice(0)) vm.stop();
});

/** Console output of a VM, and a way to wait for a pattern in what comes next. */
class Console {
  text = '';
  constructor(vm: Vm) {
    made.push(vm);
    vm.onOutput((b) => (this.text += Buffer.from(b).toString('latin1')));
  }
  async waitFor(re: RegExp, from = 0, ms = 120_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = re.exec(this.text.slice(from));
      if (m) return m;
      if (Date.now() > deadline)
        throw new Error(`no ${re} in the console:\n${this.text.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

const PROMPT = /~# /;

/** Boot a VM to its shell prompt. */
async function boot(
  opts: Parameters<typeof Vm.create>[0],
): Promise<{ vm: Vm; con: Console; done: ReturnType<Vm['run']> }> {
  const vm = await Vm.create(opts);
  const con = new Console(vm);
  const done = vm.run();
  await con.waitFor(PROMPT);
  return { vm, con, done };
}

/** Build a VM from a snapshot and start it. */
async function resumed(
  file: Uint8Array,
  opts?: Parameters<typeof Vm.resume>[1],
): Promise<{ vm: Vm; con: Console; done: ReturnType<Vm['run']> }> {
  const vm = await Vm.resume(file, opts);
  const con = new Console(vm);
  return { vm, con, done: vm.run() };
}

/** `file` with one section changed and its CRC fixed up, keeping the old seal (as an attacker could). */
function withSection(file: Uint8Array, name: string, edit: (b: Uint8Array) => void): Uint8Array {
  const { header, sections, seal } = readContainer(file);
  const copy = new Map([...sections].map(([k, v]) => [k, v.slice()]));
  edit(copy.get(name)!);
  const out = writeContainer(header, [...copy], seal?.code.length ?? 0);
  if (seal) out.set(seal.code, out.length - seal.code.length);
  return out;
}

/** Boot to the prompt and start a counter in the background (10 per second into /tmp/count). */
async function bootWithWork(): Promise<{ vm: Vm; con: Console; done: ReturnType<Vm['run']> }> {
  const { vm, con, done } = await boot({ memMiB: 128 });
  const mark = con.text.length;
  vm.write(
    'echo kept-$((6*7)) > /tmp/f; (i=0; while :; do i=$((i+1)); echo $i > /tmp/count; sleep 0.1; done) & echo started\n',
  );
  await con.waitFor(/started\r?\n/, mark);
  await new Promise((r) => setTimeout(r, 500));
  return { vm, con, done };
}

test('a suspended VM resumes from the file alone: tmpfs, processes, console and clock go on', async () => {
  const { vm, con, done } = await bootWithWork();
  const mark = con.text.length;
  vm.write('cat /proc/uptime\n');
  const before = Number((await con.waitFor(/^(\d+\.\d+) /m, mark))[1]);
  const tBefore = performance.now();
  const file = await vm.suspend();
  const exit = await done;
  assert.equal(exit.reason, 'suspended');
  assert.ok(file.length > 1e6 && file.length < 64e6, `${file.length} bytes`);
  const tSuspended = performance.now();
  await new Promise((r) => setTimeout(r, 4000)); // suspended for a while
  const tResume = performance.now();

  const { vm: vm2, con: con2, done: done2 } = await resumed(file);
  const sent = Date.now() / 1000;
  vm2.write(
    'cat /tmp/f; cat /proc/uptime; cat /tmp/count; sleep 1; cat /tmp/count; date +%s; poweroff\n',
  );
  const m = await con2.waitFor(/kept-42\r?\n(\d+\.\d+) \S+\r?\n(\d+)\r?\n(\d+)\r?\n(\d+)\r?\n/);
  const received = Date.now() / 1000;
  const tAfter = performance.now();
  // The guest's monotonic time runs only while a VM runs it: the seconds
  // spent suspended do not count (an inequality, whatever the host's load).
  const after = Number(m[1]);
  const running = (tAfter - tBefore - (tResume - tSuspended)) / 1000;
  assert.ok(
    after >= before && after - before <= running + 0.5,
    `uptime ${before} → ${after}, ${running} s running`,
  );
  const [c1, c2] = [Number(m[2]), Number(m[3])];
  assert.ok(c2 > c1, `the background counter runs on after resume (${c1} → ${c2})`);
  // The wall clock, though, was set from the RTC when the host signalled the
  // resume: without that it would lag by the 4 s suspended.
  const guestNow = Number(m[4]);
  assert.ok(
    guestNow >= sent - 1 && guestNow <= received + 1,
    `guest date ${guestNow}, host ${sent}–${received}`,
  );
  const exit2 = await done2;
  assert.equal(exit2.reason, 'poweroff');
  assert.equal(exit2.exitCode, 0);
});

test('snapshot() leaves the VM running, and resuming the file shows the state it was taken in', async () => {
  const { vm, con, done } = await bootWithWork();
  const file = await vm.snapshot();
  let mark = con.text.length;
  vm.write('echo after > /tmp/later; cat /tmp/later\n');
  await con.waitFor(/^after\r?$/m, mark);
  mark = con.text.length;
  vm.write('poweroff\n');
  assert.equal((await done).reason, 'poweroff');

  const { vm: vm2, con: con2, done: done2 } = await resumed(file);
  vm2.write('cat /tmp/f; ls /tmp/later 2>&1 | grep -c "No such"; poweroff\n');
  await con2.waitFor(/kept-42\r?\n1\r?\n/);
  assert.equal((await done2).reason, 'poweroff');
});

test('a shared folder goes on after resume: open files, the working directory, new files', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'colinux-snap-share-'));
  try {
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.writeFileSync(path.join(dir, 'in.txt'), 'from-the-host\n');
    fs.writeFileSync(path.join(dir, 'sub', 'here.txt'), '');
    const { vm, con, done } = await boot({ memMiB: 128, shares: [{ path: dir }] });
    const mark = con.text.length;
    vm.write(
      'exec 3</mnt/cofs0/in.txt 4>>/mnt/cofs0/log; cd /mnt/cofs0/sub; echo before >&4; echo set-up\n',
    );
    await con.waitFor(/set-up\r?\n/, mark);
    const key = crypto.getRandomValues(new Uint8Array(32));
    const file = await vm.suspend(undefined, { key });
    assert.equal((await done).reason, 'suspended');

    // The folder is only the file's to have if it is sealed with the key
    // resuming it: not without a key, not with another one, not once any
    // byte after the header was changed (CRCs fixed up, as an attacker would).
    const refused = (e: unknown): boolean =>
      e instanceof UntrustedSnapshotError &&
      e.hostResources.some((r) => r === `cofs0: shared folder ${dir} (read-write)`);
    await assert.rejects(Vm.resume(file), refused);
    await assert.rejects(
      Vm.resume(file, { key: crypto.getRandomValues(new Uint8Array(32)) }),
      refused,
    );
    const forged = withSection(file, 'hart', (b) => (b[b.length - 1]! ^= 1));
    await assert.rejects(Vm.resume(forged, { key }), refused);
    let asked: string[] = [];
    await assert.rejects(
      Vm.resume(file, {
        approve: (c) => {
          asked = c.hostResources;
          assert.equal(c.sealed, false);
          throw new SnapshotError('not today');
        },
      }),
      /not today/,
    );
    assert.deepEqual(asked, [`cofs0: shared folder ${dir} (read-write)`]);

    const { vm: vm2, con: con2, done: done2 } = await resumed(file, { key });
    vm2.write('cat <&3; ls; echo after >&4; echo made > /mnt/cofs0/new.txt; echo fin-$((1+1))\n');
    await con2.waitFor(/fin-2\r?\n/);
    assert.match(con2.text, /from-the-host\r?\n/);
    assert.match(con2.text, /here\.txt/);
    vm2.write('poweroff\n');
    assert.equal((await done2).reason, 'poweroff');
    assert.equal(fs.readFileSync(path.join(dir, 'log'), 'utf8'), 'before\nafter\n');
    assert.equal(fs.readFileSync(path.join(dir, 'new.txt'), 'utf8'), 'made\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a disk keeps what the guest wrote before the suspend; snapshot() refuses a writable disk', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'colinux-snap-disk-'));
  try {
    const image = path.join(dir, 'disk.img');
    fs.writeFileSync(image, Buffer.alloc(1 << 20));
    const { vm, con, done } = await boot({ memMiB: 64, disks: [{ path: image }] });
    const mark = con.text.length;
    vm.write(
      'echo written-before | dd of=/dev/vda bs=512 conv=fsync 2>/dev/null; echo w-$((2*2))\n',
    );
    await con.waitFor(/w-4\r?\n/, mark);
    await assert.rejects(vm.snapshot(), /cobd0 .* is writable/);
    const key = crypto.getRandomValues(new Uint8Array(32));
    const file = await vm.suspend(undefined, { key });
    assert.equal((await done).reason, 'suspended');

    const { vm: vm2, con: con2, done: done2 } = await resumed(file, { key });
    vm2.write(
      'head -c 14 /dev/vda; echo; echo written-after | dd of=/dev/vda bs=512 seek=8 conv=fsync 2>/dev/null; poweroff\n',
    );
    await con2.waitFor(/written-before\r?\n/);
    assert.equal((await done2).reason, 'poweroff');
    const bytes = fs.readFileSync(image);
    assert.equal(bytes.subarray(0, 14).toString(), 'written-before');
    assert.equal(bytes.subarray(4096, 4096 + 13).toString(), 'written-after');
    // The disk changed since the snapshot (the resumed VM wrote to it): refused, naming it.
    await assert.rejects(Vm.resume(file, { key }), /cobd0=.*disk\.img changed since the snapshot/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a damaged or hostile snapshot is refused with a SnapshotError', async () => {
  const vm = await Vm.create({ memMiB: 64, cmd: 'true' });
  const running = vm.run();
  const file = await vm.snapshot();
  vm.stop();
  await running;

  const flipped = file.slice();
  flipped[file.length - 100]! ^= 1;
  await assert.rejects(Vm.resume(flipped), SnapshotError);
  await assert.rejects(Vm.resume(file.subarray(0, file.length / 2)), SnapshotError);

  // Well-formed files (valid CRCs) with hostile contents.
  const { header, sections } = readContainer(file);
  const remade = (
    edit: (h: Record<string, unknown>, s: Map<string, Uint8Array>) => void,
  ): Uint8Array => {
    const h = structuredClone(header);
    const s = new Map([...sections].map(([k, v]) => [k, v.slice()]));
    edit(h, s);
    return writeContainer(h, [...s]);
  };
  const machine = (h: Record<string, unknown>): Record<string, unknown> =>
    h['machine'] as Record<string, unknown>;
  const cases: Array<[string, Uint8Array]> = [
    ['no PLIC state', remade((h) => (machine(h)['plic'] = null))],
    ['a virtio device too many', remade((h) => (machine(h)['virtio'] = [{}]))],
    ['a short hart state', remade((_, s) => s.set('hart', s.get('hart')!.subarray(8)))],
    ['a privilege level no hart has', remade((_, s) => s.get('hart')!.fill(0xff))],
    ['another memory size', remade((h) => ((h['vm'] as Record<string, unknown>)['memMiB'] = 128))],
    ['a negative guest time', remade((h) => (machine(h)['ticks'] = -5))],
    ['a layout from the future', remade((h) => (h['layout'] = 99))],
    [
      'a kernel length that lies',
      remade((h) => ((h['boot'] as Record<string, number>)['kernel'] = 10)),
    ],
  ];
  for (const [what, bad] of cases) {
    await assert.rejects(Vm.resume(bad), SnapshotError, what);
  }
});

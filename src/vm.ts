/**
 * The embedding API: create a VM, stream its console, send input, await its
 * exit. With no kernel given it boots colinux's default image (built from
 * Debian packages on first use and cached).
 *
 *   import { Vm } from 'colinux';
 *   const vm = await Vm.create({ cmd: 'uname -a' });
 *   vm.onOutput((bytes) => process.stdout.write(bytes));
 *   const exit = await vm.run();   // { reason: 'poweroff', exitCode: 0 }
 */
import { open, stat } from 'node:fs/promises';
import { BootError, Machine, type MachineExit } from './machine/machine.js';
import { GdbStub, type GdbStubOptions } from './debug/gdb-stub.js';
import { GuestProfile, type JitSummary } from './debug/profile.js';
import type { InputEvent } from './debug/replay.js';
import { RecordingBackend, ReplayBackend } from './debug/net-replay.js';
import type { GsoInfo } from './net/link.js';
import { Tracer, type TraceKind } from './debug/trace.js';
import {
  readVmSnapshot,
  writeVmSnapshot,
  type BootPayload,
  type VmSnapshot,
} from './snapshot/vm-file.js';
import { SnapshotError } from './snapshot/container.js';
import { IsaError, parseIsa } from './machine/isa.js';
import { CommandStatusFilter, commandCmdline } from './machine/command-status.js';
import { ensureDefaultImage } from './backends/image/index.js';
import { openDisk, DiskError, type OpenDisk } from './backends/block/index.js';
import { virtioBlk } from './devices/virtio/blk.js';
import { openShares, shareDevices, type VmShare } from './backends/fs/index.js';
import { virtioNet } from './devices/virtio/net.js';
import { openNetBackend, NetError, type NetBackendSpec } from './backends/net/index.js';
import type { NetBackend, NetStats } from './net/link.js';
import type { PortForward } from './net/stack.js';
import { defaultMac, formatMac, isUsableMac, parseMac } from './net/bytes.js';
import { runtimeDir } from './cli/runtime.js';
import * as path from 'node:path';

export interface VmOptions {
  /** Kernel `Image` or ELF: a path or the bytes. Default: the default image. */
  kernel?: string | Uint8Array;
  /** initrd/initramfs: a path or the bytes; null for none. Default: the default image's (when the kernel is default). */
  initrd?: string | Uint8Array | null;
  /** M-mode firmware (path or bytes), e.g. OpenSBI's fw_dynamic.bin; default: none (the host serves SBI). */
  bios?: string | Uint8Array;
  /** Guest RAM in MiB (default 256). */
  memMiB?: number;
  /** The kernel command line (default `console=ttyS0 earlycon=sbi`). */
  cmdline?: string;
  /** Extra kernel command-line words, appended. */
  kernelArgs?: string[];
  /** Run this shell command in the guest (default image), stream its output, exit with its status. */
  cmd?: string;
  /** Progress lines while the default image is built (first use only). */
  onProgress?: (line: string) => void;
  /** Stop with reason 'timeout' after about this many guest instructions. */
  instructionLimit?: number;
  /**
   * Sample the guest's pc every N instructions (true: every 10007) into
   * `vm.profile` (src/debug/profile.ts), e.g. to see where a boot spends its time.
   */
  profile?: boolean | number;
  /**
   * Deterministic mode (`true`, or a seed): guest time follows the
   * instruction count, idle time is skipped, randomness comes from the
   * seed (0 for `true`), and device requests complete before the guest
   * runs on, so two runs with the same input are the same, byte for byte.
   * Network cards bring the host's timing in: not with this.
   */
  deterministic?: boolean | number;
  /**
   * Log traps, interrupts, SBI calls and virtio notifications with the
   * instruction count (src/debug/trace.ts): which kinds, and where the
   * lines go.
   */
  trace?: { kinds: ReadonlySet<TraceKind>; write: (text: string) => void };
  /** Deterministic mode: told of each console input with the instruction count it reached the guest at (src/debug/replay.ts). */
  onInputRecorded?: (at: bigint, bytes: Uint8Array) => void;
  /** Deterministic mode: told of each frame a network card gets from its NAT, with the instruction count (record=). */
  onFrameRecorded?: (
    at: bigint,
    nic: number,
    frame: Uint8Array,
    checksummed: boolean,
    gso: GsoInfo | undefined,
  ) => void;
  /**
   * Deterministic mode: give the guest this recorded input (console input,
   * and frames for its network cards, which then open no NAT) instead of
   * the host's (a replay).
   */
  replayInput?: InputEvent[];
  /** Translate hot guest code to wasm (default: on); false keeps the pure interpreter. */
  jit?: boolean;
  /** Budget for translated code in MiB (default DEFAULT_JIT_CACHE_MIB, 64). */
  jitCacheMiB?: number;
  /**
   * Extensions to offer, as the `isa=` setting: `rv64gc`, or items like
   * `-zba,-zbb` (src/machine/isa.ts). Default: every one implemented.
   */
  isa?: string;
  /**
   * Disks (virtio-blk), attached in this order to the first virtio slots:
   * the guest names them /dev/vda, /dev/vdb, … At most 8 virtio devices fit.
   */
  disks?: VmDisk[];
  /**
   * Network cards (virtio-net), attached after the disks; the guest names
   * them eth0, eth1, … in this order.
   */
  nics?: VmNic[];
  /**
   * Shared folders (virtio-9p), attached after the network cards: the guest
   * mounts each with `mount -t 9p -o trans=virtio,version=9p2000.L <tag> DIR`.
   */
  shares?: VmShare[];
  /** Device problems worth telling the user (e.g. a guest driver broke the virtio protocol). */
  onWarning?: (message: string) => void;
  /** After a guest kernel panic: 'stop' (default; run() resolves with reason 'panic') or 'restart' the VM. */
  panic?: 'stop' | 'restart';
  /** Extra serial ports to create: 1..3 for the guest's ttyS1..ttyS3 (see onSerialOutput, writeSerial). */
  serialPorts?: number[];
  /**
   * The embedding program's own data (JSON), kept in snapshots and given
   * back by `vm.embedder` after Vm.resume (the CLI keeps its settings there).
   */
  embedder?: unknown;
}

export interface VmExit extends MachineExit {
  /** With `cmd`: the command's exit status (also in exitCode), if it finished. */
  commandStatus?: number;
}

export const DEFAULT_KERNEL_ARGS = ['console=ttyS0', 'earlycon=sbi'];

/**
 * The settings a snapshot keeps to build the same VM again: the resolved
 * command line, and the devices in slot order (paths as given).
 */
export interface VmSettings {
  memMiB: number;
  cmdline: string;
  /** The VM runs a `cmd` (its exit status is filtered out of the console). */
  hasCmd: boolean;
  disks: VmDisk[];
  nics: Array<Omit<VmNic, 'backend'>>;
  shares: VmShare[];
  serialPorts: number[];
  panic: 'stop' | 'restart';
  jit?: boolean;
  jitCacheMiB?: number;
  /** VmOptions.isa, as given. */
  isa?: string;
  /** Deterministic mode's seed (VmOptions.deterministic), if on. */
  deterministicSeed?: number;
  /** VmOptions.embedder. */
  embedder?: unknown;
  /** Set in a snapshot: each disk's files as they were when it was taken (after a flush). */
  diskFiles?: DiskFingerprint[][];
}

/** What tells that a disk's file changed: its identity, size and modification time. */
interface DiskFingerprint {
  path: string;
  dev: string;
  ino: string;
  size: string;
  mtimeNs: string;
}

async function fingerprint(path: string): Promise<DiskFingerprint> {
  const st = await stat(path, { bigint: true });
  return {
    path,
    dev: String(st.dev),
    ino: String(st.ino),
    size: String(st.size),
    mtimeNs: String(st.mtimeNs),
  };
}

/** The files of `disk`: the image, and the overlay that takes its writes. */
function diskPaths(disk: VmDisk): string[] {
  return disk.overlay === undefined ? [disk.path] : [disk.path, disk.overlay];
}

/**
 * Refuse to resume on a disk whose files changed since the snapshot: the
 * guest's page cache and file system state in RAM would no longer match them.
 */
async function checkDiskFiles(settings: VmSettings): Promise<void> {
  const saved = settings.diskFiles;
  if (!Array.isArray(saved)) return;
  for (const [i, disk] of settings.disks.entries()) {
    const name = disk.name ?? `cobd${i}`;
    for (const [j, path] of diskPaths(disk).entries()) {
      const then = saved[i]?.[j];
      let now: DiskFingerprint;
      try {
        now = await fingerprint(path);
      } catch {
        throw new DiskError(`${name}=${path}: the disk of the snapshot is gone (no such file)`);
      }
      const same =
        then !== undefined &&
        then.dev === now.dev &&
        then.ino === now.ino &&
        then.size === now.size &&
        then.mtimeNs === now.mtimeNs;
      if (!same) {
        throw new DiskError(
          `${name}=${path} changed since the snapshot was taken; resuming would corrupt the guest's file system (put the file back as it was, or boot afresh)`,
        );
      }
    }
  }
}

/** What may differ when a snapshot is resumed (the rest comes from the snapshot). */
export interface VmResumeOptions {
  onWarning?: (message: string) => void;
  /** Override the translator setting the VM had (it does not change what the guest sees). */
  jit?: boolean;
  jitCacheMiB?: number;
  /**
   * New host sides for network card N's port forwards: the same forwards in
   * the same order (protocol, guest port, count) with other host addresses
   * or ports, e.g. when the old ones are taken. Anything else is refused.
   */
  forwards?: Record<number, PortForward[]>;
  /** Check the file's seal with this key (the one SnapshotOptions.key sealed it with). */
  key?: Uint8Array;
  /**
   * Decide whether the snapshot may have the host resources it names (see
   * ResumeCheck); throw to refuse. Called before anything is opened. The
   * default refuses a file that is not sealed under `key` and names any.
   */
  approve?: (check: ResumeCheck) => void | Promise<void>;
}

/** Options of vm.snapshot() and vm.suspend(). */
export interface SnapshotOptions {
  /**
   * Seal the file with this key (at least 32 random bytes, kept private):
   * Vm.resume with the same key then knows the file as one of its own and
   * lets it have the host resources it names.
   */
  key?: Uint8Array;
}

/** What Vm.resume asks `approve` about. */
export interface ResumeCheck {
  /** The file is sealed under the key given to resume: its maker holds that key. */
  sealed: boolean;
  /** The host resources its settings name, one line each (disks, shared folders, network). */
  hostResources: string[];
  /** VmOptions.embedder as the file has it (the embedder may derive more resources from it). */
  embedder: unknown;
}

/**
 * A snapshot not sealed under the resuming key names host resources: a
 * file made by someone else must not open them just by being resumed.
 */
export class UntrustedSnapshotError extends SnapshotError {
  override name = 'UntrustedSnapshotError';
  constructor(readonly hostResources: string[]) {
    super(
      `the snapshot is not sealed with this host's key, and it would use: ${hostResources.join('; ')}; resume it with approve() accepting them if you trust its maker`,
    );
  }
}

/** The host resources a VM with these settings opens, as lines for a person to judge. */
function hostResourcesOf(settings: VmSettings): string[] {
  const out: string[] = [];
  settings.disks.forEach((d, i) => {
    const name = d.name ?? `cobd${i}`;
    if (d.overlay !== undefined) out.push(`${name}: disk ${d.path} (changes to ${d.overlay})`);
    else out.push(`${name}: disk ${d.path}${d.readOnly ? ' (read-only)' : ' (read-write)'}`);
  });
  settings.shares.forEach((sh, i) => {
    out.push(
      `${sh.tag ?? `cofs${i}`}: shared folder ${sh.path}${sh.readOnly ? ' (read-only)' : ' (read-write)'}`,
    );
  });
  settings.nics.forEach((n, i) => {
    const name = n.name ?? `eth${i}`;
    if (n.kind === 'switch') {
      out.push(
        `${name}: network switch ${n.switchName ?? '?'}${n.switchDir ? ` in ${n.switchDir}` : ''}`,
      );
      return;
    }
    out.push(`${name}: network${n.restrict ? ' (restricted)' : ' through this host'}`);
    for (const f of n.forwards ?? []) {
      out.push(
        `${name}: listens on ${f.proto} ${f.hostAddress ?? '127.0.0.1'}:${f.hostPort}${(f.count ?? 1) > 1 ? ` (+${(f.count ?? 1) - 1})` : ''}`,
      );
    }
  });
  return out;
}

export { SnapshotError, IsaError };

async function bytesOf(src: string | Uint8Array, what: string): Promise<Uint8Array> {
  if (typeof src !== 'string') return src;
  try {
    return await readWhole(src);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(e);
    throw new Error(`${what}=${src}: ${why}`);
  }
}

/**
 * A file's bytes in one read of its whole size: fs.readFile reads in 512 KiB
 * chunks, a thread-pool round trip each, which took 7–16 ms for the default
 * kernel against 2–4 ms this way (start-up is on the boot's critical path).
 */
async function readWhole(path: string): Promise<Uint8Array> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    const bytes = new Uint8Array(size);
    let done = 0;
    while (done < size) {
      const { bytesRead } = await file.read(bytes, done, size - done, done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return bytes.subarray(0, done);
  } finally {
    await file.close();
  }
}

/** One disk of a VM (see `colinux run cobdN=`). */
export interface VmDisk {
  /** Image file or host block device. */
  path: string;
  /** The guest may only read it. */
  readOnly?: boolean;
  /** Copy-on-write overlay file (created if missing); the image is then never written. */
  overlay?: string;
  /** Name in messages and the virtio-blk ID string (/sys/block/vdX/serial); default `cobdN` (N = position). */
  name?: string;
}

/** One network card of a VM (see `colinux run ethN=`). */
export interface VmNic {
  /**
   * `slirp`: user-mode NAT (DHCP gives 10.0.2.15; the host is 10.0.2.2; DNS
   * 10.0.2.3). `switch`: an Ethernet segment shared with other VMs of this
   * user that join switch `switchName`.
   */
  kind: 'slirp' | 'switch';
  /** MAC as aa:bb:cc:dd:ee:ff or 6 bytes; default: stable per card position (02:63:6c:…). */
  mac?: string | Uint8Array;
  /** slirp: host → guest port forwards (bound to 127.0.0.1 unless hostAddress is given). */
  forwards?: PortForward[];
  /** slirp: no access to the host or the outside world. */
  restrict?: boolean;
  /** switch: the switch's name. */
  switchName?: string;
  /** switch: directory of the switch sockets (default: the runtime directory's switch/). */
  switchDir?: string;
  /** Instead of kind's backend: your own (tests, embedders). */
  backend?: NetBackend;
  /** Name in messages (default ethN, N = position). */
  name?: string;
}

function nicMac(nic: VmNic, index: number): Uint8Array {
  if (nic.mac === undefined) return defaultMac('colinux', index);
  const mac = typeof nic.mac === 'string' ? parseMac(nic.mac) : nic.mac;
  if (!mac || !isUsableMac(mac)) {
    throw new NetError(
      `${nic.name ?? `eth${index}`}: MAC ${typeof nic.mac === 'string' ? nic.mac : formatMac(nic.mac)} is not a unicast MAC address`,
    );
  }
  return mac;
}

/** Open every NIC's backend (NetError names the one that failed); nothing stays open on failure. */
async function openNics(
  nics: VmNic[],
): Promise<Array<{ mac: Uint8Array; backend: NetBackend; name: string }>> {
  const opened: Array<{ mac: Uint8Array; backend: NetBackend; name: string }> = [];
  try {
    for (const [i, nic] of nics.entries()) {
      const name = nic.name ?? `eth${i}`;
      const mac = nicMac(nic, i);
      let backend = nic.backend;
      if (!backend) {
        let spec: NetBackendSpec;
        if (nic.kind === 'switch') {
          if (nic.switchName === undefined)
            throw new NetError(`${name}: a switch NIC needs switchName`);
          spec = {
            kind: 'switch',
            name: nic.switchName,
            dir: nic.switchDir ?? path.join(runtimeDir(), 'switch'),
          };
        } else {
          spec = { kind: 'slirp', forwards: nic.forwards, restrict: nic.restrict };
        }
        backend = await openNetBackend(spec, mac, name);
      }
      opened.push({ mac, backend, name });
    }
  } catch (e) {
    for (const n of opened) n.backend.close();
    throw e;
  }
  return opened;
}

/** virtio-mmio slots on the board (disks, network cards, shared folders together). */
export const MAX_VIRTIO_DEVICES = 8;

/** Open every disk (DiskError names the one that failed); nothing stays open on failure. */
async function openDisks(specs: VmDisk[]): Promise<Array<[string, OpenDisk]>> {
  if (specs.length > MAX_VIRTIO_DEVICES) {
    throw new DiskError(
      `${specs.length} disks: the virt board has ${MAX_VIRTIO_DEVICES} virtio slots (shared by disks, network cards and shared folders)`,
    );
  }
  const opened: Array<[string, OpenDisk]> = [];
  try {
    for (const [i, d] of specs.entries()) {
      const name = d.name ?? `cobd${i}`;
      const disk = await openDisk({
        name: `${name}=${d.path}`,
        path: d.path,
        readOnly: d.readOnly,
        overlay: d.overlay,
      });
      opened.push([name, disk]);
    }
  } catch (e) {
    await Promise.allSettled(opened.map(([, d]) => d.close()));
    throw e;
  }
  return opened;
}

/** A snapshot's settings are outside input: check their shape before building from them. */
/** A snapshot's `isa` setting, checked like any input from outside. */
function isaOf(isa: unknown): string | undefined {
  if (isa === undefined) return undefined;
  try {
    if (typeof isa !== 'string') throw new IsaError('not text');
    parseIsa(isa);
    return isa;
  } catch (e) {
    throw new SnapshotError(
      `the snapshot's VM settings are damaged (isa: ${(e as Error).message})`,
    );
  }
}

function checkSettings(v: VmSettings): VmSettings {
  const bad = (what: string): never => {
    throw new SnapshotError(`the snapshot's VM settings are damaged (${what})`);
  };
  if (!Number.isInteger(v.memMiB)) bad('memory size');
  if (typeof v.cmdline !== 'string') bad('command line');
  for (const list of ['disks', 'nics', 'shares', 'serialPorts'] as const) {
    if (!Array.isArray(v[list])) bad(list);
  }
  for (const d of v.disks) if (typeof d?.path !== 'string') bad('a disk path');
  for (const n of v.nics) if (n?.kind !== 'slirp' && n?.kind !== 'switch') bad('a network card');
  for (const sh of v.shares) if (typeof sh?.path !== 'string') bad('a shared folder');
  for (const i of v.serialPorts) if (!Number.isInteger(i)) bad('a serial port');
  return {
    memMiB: v.memMiB,
    cmdline: v.cmdline,
    hasCmd: v.hasCmd === true,
    disks: v.disks,
    nics: v.nics,
    shares: v.shares,
    serialPorts: v.serialPorts,
    panic: v.panic === 'restart' ? 'restart' : 'stop',
    jit: typeof v.jit === 'boolean' ? v.jit : undefined,
    jitCacheMiB: Number.isInteger(v.jitCacheMiB) ? v.jitCacheMiB : undefined,
    isa: isaOf(v.isa),
    deterministicSeed:
      Number.isSafeInteger(v.deterministicSeed) && (v.deterministicSeed as number) >= 0
        ? v.deterministicSeed
        : undefined,
    embedder: v.embedder,
    diskFiles: Array.isArray(v.diskFiles) ? v.diskFiles : [],
  };
}

export class Vm {
  private machine: Machine;
  private readonly listeners: Array<(bytes: Uint8Array) => void> = [];
  private readonly serialListeners = new Map<number, Array<(bytes: Uint8Array) => void>>();
  private readonly restartListeners: Array<(why: 'reboot' | 'panic', exit: VmExit) => void> = [];
  private panicPolicy: 'stop' | 'restart' = 'stop';
  /** stop() was called: a reboot in progress must not bring the VM back. */
  private stopRequested = false;
  private readonly filter: CommandStatusFilter | undefined;
  private readonly make: (resuming: boolean) => Machine;

  private constructor(
    make: (resuming: boolean) => Machine,
    private readonly settings: VmSettings,
    private readonly boot: BootPayload,
    customNics: boolean,
    resuming: boolean,
  ) {
    this.make = make;
    this.filter = settings.hasCmd ? new CommandStatusFilter() : undefined;
    this.machine = make(resuming);
    this.customNics = customNics;
  }

  private readonly customNics: boolean;

  /**
   * VmOptions.embedder, also of a resumed VM. The embedding program may
   * replace it at any time: snapshots keep what it holds when they are taken.
   */
  get embedder(): unknown {
    return this.settings.embedder;
  }
  set embedder(data: unknown) {
    this.settings.embedder = data;
  }

  static async create(opts: VmOptions = {}): Promise<Vm> {
    let kernel: Uint8Array;
    let initrd: Uint8Array | undefined;
    if (opts.kernel === undefined) {
      const image = await ensureDefaultImage({ onProgress: opts.onProgress });
      kernel = await bytesOf(image.kernel, 'kernel');
      if (opts.initrd !== null) initrd = await bytesOf(opts.initrd ?? image.initrd, 'initrd');
    } else {
      kernel = await bytesOf(opts.kernel, 'kernel');
      if (opts.initrd) initrd = await bytesOf(opts.initrd, 'initrd');
    }
    const firmware = opts.bios === undefined ? undefined : await bytesOf(opts.bios, 'bios');
    const words = [opts.cmdline ?? DEFAULT_KERNEL_ARGS.join(' '), ...(opts.kernelArgs ?? [])];
    let cmdline = words.filter((w) => w !== '').join(' ');
    if (opts.cmd !== undefined) cmdline = commandCmdline(cmdline, opts.cmd);
    const settings: VmSettings = {
      memMiB: opts.memMiB ?? 256,
      cmdline,
      hasCmd: opts.cmd !== undefined,
      disks: opts.disks ?? [],
      nics: (opts.nics ?? []).map(({ backend: _backend, ...nic }) => nic),
      shares: opts.shares ?? [],
      serialPorts: opts.serialPorts ?? [],
      panic: opts.panic ?? 'stop',
      jit: opts.jit,
      jitCacheMiB: opts.jitCacheMiB,
      isa: opts.isa,
      embedder: opts.embedder,
    };
    if (opts.deterministic !== undefined && opts.deterministic !== false) {
      const seed = opts.deterministic === true ? 0 : opts.deterministic;
      if (!Number.isSafeInteger(seed) || seed < 0) {
        throw new BootError(`deterministic: the seed must be a whole number ≥ 0, not ${seed}`);
      }
      if ((opts.nics ?? []).length > 0 && !opts.onFrameRecorded && !opts.replayInput) {
        throw new BootError(
          'deterministic mode cannot have network cards unless their frames are recorded or replayed: frames from the host arrive when they do (use eth0=none, or record=)',
        );
      }
      settings.deterministicSeed = seed;
    }
    if (opts.isa !== undefined) parseIsa(opts.isa); // an IsaError names the problem
    return Vm.assemble(settings, { kernel, initrd, firmware }, opts);
  }

  /**
   * Build a VM from a file made by snapshot() or suspend(): the same board,
   * devices and disks, RAM and every register as they were; run() continues
   * where the guest stopped. Guest time goes on from the snapshot's. The
   * host resources the file names are only opened if it is sealed under
   * `opts.key` or `opts.approve` accepts them (UntrustedSnapshotError).
   */
  static async resume(file: Uint8Array, opts: VmResumeOptions = {}): Promise<Vm> {
    const snap = await readVmSnapshot<VmSettings>(file, opts.key);
    const settings = checkSettings(snap.vm);
    if (opts.jit !== undefined) settings.jit = opts.jit;
    if (opts.jitCacheMiB !== undefined) settings.jitCacheMiB = opts.jitCacheMiB;
    for (const [key, forwards] of Object.entries(opts.forwards ?? {})) {
      const nic = settings.nics[Number(key)];
      const was = nic?.kind === 'slirp' ? (nic.forwards ?? []) : undefined;
      const same =
        was !== undefined &&
        was.length === forwards.length &&
        was.every(
          (f, i) =>
            f.proto === forwards[i]!.proto &&
            f.guestPort === forwards[i]!.guestPort &&
            (f.count ?? 1) === (forwards[i]!.count ?? 1),
        );
      if (!same) {
        throw new NetError(
          `eth${key}: a resumed VM keeps its network cards; only the host side of its port forwards can change (same forwards, same guest ports)`,
        );
      }
      settings.nics[Number(key)] = { ...nic, forwards };
    }
    // What the file asks of this host, judged before anything is opened.
    const check: ResumeCheck = {
      sealed: snap.sealed,
      hostResources: hostResourcesOf(settings),
      embedder: settings.embedder,
    };
    if (opts.approve) await opts.approve(check);
    else if (!check.sealed && check.hostResources.length > 0) {
      throw new UntrustedSnapshotError(check.hostResources);
    }
    return Vm.assemble(settings, snap.boot, { onWarning: opts.onWarning }, snap);
  }

  private static async assemble(
    settings: VmSettings,
    boot: BootPayload,
    opts: Pick<
      VmOptions,
      | 'nics'
      | 'onWarning'
      | 'instructionLimit'
      | 'profile'
      | 'onInputRecorded'
      | 'replayInput'
      | 'onFrameRecorded'
      | 'trace'
    >,
    snap?: VmSnapshot<VmSettings>,
  ): Promise<Vm> {
    const { kernel, initrd, firmware } = boot;
    const nicSpecs: VmNic[] = opts.nics ?? settings.nics;
    const shareSpecs = settings.shares;
    const diskSpecs = settings.disks;
    if (diskSpecs.length + nicSpecs.length + shareSpecs.length > MAX_VIRTIO_DEVICES) {
      throw new NetError(
        `${diskSpecs.length} disks, ${nicSpecs.length} network cards and ${shareSpecs.length} shared folders: the virt board has ${MAX_VIRTIO_DEVICES} virtio slots (shared by disks, network cards and shared folders)`,
      );
    }
    if (snap) await checkDiskFiles(settings);
    const disks = await openDisks(diskSpecs);
    const det = settings.deterministicSeed !== undefined;
    // A replay's cards get the logged frames: no NAT, no host socket.
    const replaying = det && opts.replayInput !== undefined;
    const replayNics = replaying ? nicSpecs.map(() => new ReplayBackend()) : [];
    let nics: Awaited<ReturnType<typeof openNics>>;
    try {
      nics = await openNics(
        replaying ? nicSpecs.map((n, i) => ({ ...n, backend: replayNics[i] })) : nicSpecs,
      );
    } catch (e) {
      await Promise.allSettled(disks.map(([, d]) => d.close()));
      throw e;
    }
    let shares: Awaited<ReturnType<typeof openShares>>;
    try {
      shares = await openShares(shareSpecs);
    } catch (e) {
      await Promise.allSettled(disks.map(([, d]) => d.close()));
      for (const n of nics) n.backend.close();
      throw e;
    }
    // A recording's cards log what their NAT gives them, at exact counts.
    const recorders: RecordingBackend[] = [];
    const onFrame = det && !replaying ? opts.onFrameRecorded : undefined;
    if (onFrame) {
      const clock = {
        instret: () => vm?.machine.hart.x.getInstret() ?? 0n,
        inSlice: () => vm?.machine.inSlice ?? false,
      };
      nics = nics.map((n, i) => {
        const rec = new RecordingBackend(
          n.backend,
          (at, f, c, g) => onFrame(at, i, f, c, g),
          clock,
        );
        recorders.push(rec);
        return { ...n, backend: rec };
      });
    }
    const nicDevices = nics.map((n) =>
      virtioNet({
        mac: n.mac,
        backend: n.backend,
        onError: (reason) => opts.onWarning?.(`${n.name}: device reset needed: ${reason}`),
      }),
    );
    const diskDevices = disks.map(([name, disk]) =>
      virtioBlk(disk, {
        id: name,
        onError: (reason) => opts.onWarning?.(`${name}: device reset needed: ${reason}`),
      }),
    );
    let vm: Vm | undefined = undefined;
    const profile =
      opts.profile === undefined || opts.profile === false
        ? undefined
        : new GuestProfile(
            typeof opts.profile === 'number' ? Math.max(1, Math.floor(opts.profile)) : undefined,
          );
    const tracer = opts.trace ? new Tracer(opts.trace.kinds, opts.trace.write) : undefined;
    // A resumed VM's first machine gets the snapshot's state instead of a
    // boot; a guest reboot later boots the payload as usual.
    const make = (resuming: boolean): Machine =>
      new Machine({
        memMiB: settings.memMiB,
        kernel: resuming ? undefined : kernel,
        initrd,
        cmdline: settings.cmdline,
        instructionLimit: opts.instructionLimit,
        profile,
        tracer,
        onInputRecorded:
          settings.deterministicSeed === undefined ? undefined : opts.onInputRecorded,
        replayInput: settings.deterministicSeed === undefined ? undefined : opts.replayInput,
        replayFrame: (e) => replayNics[e.nic!]?.deliver(e.bytes, e.checksummed === true, e.gso),
        afterSlice:
          recorders.length > 0 ? () => recorders.forEach((r) => r.afterSlice()) : undefined,
        deterministic:
          settings.deterministicSeed === undefined
            ? undefined
            : { seed: settings.deterministicSeed },
        jit:
          settings.jit !== false && settings.jitCacheMiB !== undefined
            ? { cacheBytes: settings.jitCacheMiB * 2 ** 20 }
            : settings.jit,
        firmware,
        disabledExtensions: settings.isa === undefined ? [] : parseIsa(settings.isa),
        virtio: [...diskDevices, ...nicDevices, ...shareDevices(shares, opts.onWarning)],
        onOutput: (bytes) => vm?.deliver(bytes),
        serialPorts: settings.serialPorts.map((index) => ({
          index,
          onOutput: (bytes: Uint8Array) => vm?.deliverSerial(index, bytes),
        })),
      });
    try {
      vm = new Vm(make, settings, boot, opts.nics?.some((n) => n.backend) ?? false, !!snap);
      vm.profile = profile;
      if (snap) await vm.restore(snap);
    } catch (e) {
      await Promise.allSettled(disks.map(([, d]) => d.close()));
      for (const n of nics) n.backend.close();
      await Promise.allSettled(shares.map((sh) => sh.backend.close()));
      throw e;
    }
    vm.closers.push(...shares.map((sh) => () => sh.backend.close()));
    for (const [, d] of disks) vm.closers.push(() => d.close());
    vm.diskBackends = disks.map(([, d]) => d);
    vm.closers.push(...nics.map((n) => async () => n.backend.close()));
    vm.nicBackends = nics.map((n) => n.backend);
    vm.panicPolicy = settings.panic;
    return vm;
  }

  private async restore(snap: VmSnapshot<VmSettings>): Promise<void> {
    const machine = this.machine;
    try {
      await snap.restoreRam(machine.hart.ram);
      machine.restoreState(snap.machine, snap.hart);
      // Tell the guest it was resumed: the default image sets its clock from the RTC.
      machine.signalResumed();
    } catch (e) {
      if (e instanceof SnapshotError) throw e;
      throw new SnapshotError(
        `the snapshot's machine state is damaged or from another build: ${(e as Error).message ?? String(e)}`,
      );
    }
  }

  /**
   * The VM's whole state as a file's bytes (see Vm.resume); the VM goes on
   * running. The guest stands still while it is taken (about a second per
   * 100 MiB of used RAM, which is compressed). Disks the guest can write are
   * refused: they would go on changing after the snapshot; use suspend().
   */
  snapshot(opts: SnapshotOptions = {}): Promise<Uint8Array> {
    const n = this.settings.disks.findIndex((d) => !d.readOnly);
    if (n >= 0) {
      const disk = this.settings.disks[n]!;
      return Promise.reject(
        new Error(
          `${disk.name ?? `cobd${n}`} (${disk.path}) is writable: the guest would change it after the snapshot; use suspend, or attach it read-only`,
        ),
      );
    }
    return this.machine.whilePaused(() => this.writeSnapshot(opts));
  }

  /**
   * Stop the VM at an instruction boundary and return its whole state as a
   * file's bytes; run() then resolves with reason 'suspended' (after disks
   * are flushed and closed). `save`, if given, gets the bytes while the VM
   * still stands: if it throws, the VM runs on and suspend() rejects, so a
   * state that could not be stored is never lost.
   */
  suspend(
    save?: (file: Uint8Array) => Promise<void> | void,
    opts: SnapshotOptions = {},
  ): Promise<Uint8Array> {
    const machine = this.machine;
    return machine.whilePaused(async () => {
      const file = await this.writeSnapshot(opts);
      await save?.(file);
      this.stopRequested = true;
      machine.stop('suspended', 0);
      return file;
    });
  }

  private async writeSnapshot(opts: SnapshotOptions): Promise<Uint8Array> {
    if (this.customNics) {
      throw new Error('a network card uses a backend given by the embedder: it cannot be saved');
    }
    // Disks durable first, then their files' fingerprints: nothing is written
    // to them after this while the guest stands still (closing writes nothing
    // once flushed), so resume can tell if they changed.
    for (const d of this.diskBackends) if (!d.readOnly) await d.flush();
    const diskFiles = await Promise.all(
      this.settings.disks.map((d) => Promise.all(diskPaths(d).map(fingerprint))),
    );
    return writeVmSnapshot({
      producer: 'colinux',
      key: opts.key,
      vm: { ...this.settings, diskFiles },
      machine: this.machine.capture(),
      boot: this.boot,
    });
  }

  private diskBackends: OpenDisk[] = [];

  private readonly closers: Array<() => Promise<void>> = [];
  private nicBackends: NetBackend[] = [];

  /** Counters of each network card's backend (frames, drops by reason, connections), in NIC order. */
  netStats(): NetStats[] {
    return this.nicBackends.map((b) => b.stats());
  }

  /**
   * Release host resources: finish disk I/O, make writes durable, close
   * files, drop image locks. run() does this when the VM ends.
   */
  async close(): Promise<void> {
    const all = this.closers.splice(0);
    const results = await Promise.allSettled(all.map((c) => c()));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  /** Receive console output (called with each chunk as the guest writes it). */
  onOutput(listener: (bytes: Uint8Array) => void): void {
    this.listeners.push(listener);
  }

  /** Send console input to the guest. */
  write(data: Uint8Array | string): void {
    this.machine.sendInput(data);
  }

  /** Stop the VM from the host side; run() resolves with reason 'stopped'. */
  stop(): void {
    this.stopRequested = true;
    this.machine.stop('stopped', 0);
  }

  /**
   * Press the power button: the guest is asked to shut down cleanly (init
   * stops its services, syncs, powers off) and run() then resolves with
   * reason 'poweroff'. Nothing happens if the guest ignores it; see stop().
   */
  pressPowerButton(): void {
    this.machine.pressPowerButton();
  }

  /** Receive what the guest writes to serial port ttyS`index` (given in `serialPorts`). */
  onSerialOutput(index: number, listener: (bytes: Uint8Array) => void): void {
    const list = this.serialListeners.get(index) ?? [];
    list.push(listener);
    this.serialListeners.set(index, list);
  }

  /** Send input to serial port ttyS`index` (given in `serialPorts`). */
  writeSerial(index: number, data: Uint8Array | string): void {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    this.machine.sendSerialInput(index, bytes);
  }

  /** Called when run() restarts the VM: after a guest reboot, or a panic with `panic: 'restart'`. */
  onRestart(listener: (why: 'reboot' | 'panic', exit: VmExit) => void): void {
    this.restartListeners.push(listener);
  }

  private deliverSerial(index: number, bytes: Uint8Array): void {
    for (const l of this.serialListeners.get(index) ?? []) l(bytes);
  }

  private deliver(bytes: Uint8Array): void {
    const out = this.filter ? this.filter.push(bytes) : bytes;
    if (out.length) for (const l of this.listeners) l(out);
  }

  private readonly gdbStubs: GdbStub[] = [];

  /** With VmOptions.profile: the guest pcs sampled so far; `report(vmlinuxSymbols)` summarises them. */
  profile: GuestProfile | undefined;

  /** The JIT's counters since the guest last booted (undefined with `jit: false`). */
  jitCounters(): JitSummary | undefined {
    const jit = this.machine.hart.jit;
    if (!jit) return undefined;
    return {
      instructions: Number(this.machine.hart.x.getInstret()),
      translated: Number(jit.instructions),
      blocks: jit.stats.blocks,
      evictedBlocks: jit.stats.evictedBlocks,
    };
  }

  /**
   * A GDB remote stub for this VM (src/debug/gdb-stub.ts): give it a
   * debugger's bytes and where to send its replies. Its breakpoints hold
   * across guest reboots.
   */
  gdbStub(opts: GdbStubOptions = {}): GdbStub {
    const stub = new GdbStub(() => this.machine, opts);
    this.gdbStubs.push(stub);
    return stub;
  }

  /** Boot and run until the guest powers off, panics or is stopped. A guest reboot restarts it. */
  async run(): Promise<VmExit> {
    try {
      return await this.runMachine();
    } finally {
      await this.close();
    }
  }

  private async runMachine(): Promise<VmExit> {
    for (;;) {
      const exit = await this.machine.run();
      if (exit.reason === 'reboot' || (exit.reason === 'panic' && this.panicPolicy === 'restart')) {
        if (this.stopRequested) return { reason: 'stopped', exitCode: 0, source: 'host' };
        for (const l of this.restartListeners) l(exit.reason, exit);
        this.machine = this.make(false);
        for (const stub of this.gdbStubs) stub.machineChanged();
        continue;
      }
      if (this.filter) {
        const rest = this.filter.flush();
        if (rest.length) for (const l of this.listeners) l(rest);
        if (this.filter.status !== undefined && exit.reason === 'poweroff') {
          return { ...exit, exitCode: this.filter.status, commandStatus: this.filter.status };
        }
      }
      return exit;
    }
  }
}

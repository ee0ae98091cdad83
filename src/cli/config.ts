/**
 * The one parser for VM settings: `colinux run name=value … @file … words …`.
 *
 * Like coLinux's `colinux-daemon`, every argument is one of:
 *   - an option: `--cmd <command>`, `--cmd=<command>`, `--help` / `-h`;
 *   - `name=value` for a setting known to colinux (see SETTINGS);
 *   - `@file`, a config file holding one `name=value` (or one bare word) per line;
 *   - anything else (`quiet`, `init=/bin/sh`, …), appended to the kernel command line.
 *
 * Arguments are processed left to right, files inline where they appear, so a
 * later value of a known setting replaces an earlier one. `--` on the command
 * line is passed to the kernel (it separates init's arguments) and every
 * argument after it is passed through verbatim.
 *
 * Every setting lives in the one SETTINGS table: the parser, `helpText()` and
 * `formatConfig()` all derive from it.
 */

import { parseTraceKinds, type TraceKind } from '../debug/trace.js';
import { IsaError, parseIsa, SWITCHABLE } from '../machine/isa.js';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  formatSerialEndpoint,
  parseSerialEndpoint,
  SERIAL_MAX_INDEX,
  SERIAL_MIN_INDEX,
  type SerialEndpoint,
} from './serial-spec.js';
import { vmNameProblem } from './runtime.js';
import { DEFAULT_JIT_CACHE_MIB } from '../jit/jit.js';
import { MAX_ETH_INDEX, NIC_FORMS, formatNicSpec, parseNicSpec, type NicSpec } from './net-spec.js';

/** Largest kernel command line the RISC-V kernel keeps (COMMAND_LINE_SIZE 1024, including the NUL). */
export const KERNEL_CMDLINE_MAX = 1023;

export const DEFAULT_MEM_MIB = 256;

/** Where a setting's current value came from. */
export interface Source {
  /** Absolute path of the config file, if it came from one. */
  file?: string;
  /** 1-based line in that file. */
  line?: number;
  /** Human form: `vm.conf:3` or `command line`. */
  where: string;
  /** Not given at all: colinux's default (e.g. eth0=slirp). */
  byDefault?: true;
}

export type SettingName =
  | 'kernel'
  | 'initrd'
  | 'mem'
  | 'bios'
  | 'root'
  | 'cmdline'
  | 'panic'
  | 'jit'
  | 'jitcache'
  | 'isa'
  | 'gdbwait';

/** `gdb=<host end>`: where the GDB stub listens (src/debug/gdb-stub.ts). */
export interface GdbConfig {
  endpoint: SerialEndpoint;
  source: Source;
}

/** One `ttysN=<host end>`: guest serial port ttySN (N = 1..3) and its host end. */
export interface SerialPortConfig {
  index: number;
  endpoint: SerialEndpoint;
  source: Source;
}

/** One `ethN=`: network card ethN and what it is plugged into (src/cli/net-spec.ts). */
export type NicConfig = NicSpec & { index: number; source: Source };

/** Highest coLinux block device number (`cobd0=` … `cobd31=`). */
export const MAX_COBD_INDEX = 31;
/** virtio-mmio slots on the virt board, shared by disks, network cards and shared folders. */
export const VIRTIO_SLOTS = 8;

/** One `cobdN=path[,ro|,cow[=overlay]]`. */
export interface DiskConfig {
  /** N of cobdN. */
  index: number;
  /** Absolute path of the image file or host block device. */
  path: string;
  readOnly: boolean;
  /** Absolute path of the copy-on-write overlay (`,cow` → `<path>.cow`). */
  overlay?: string;
  source: Source;
}

/** Highest shared folder number (`cofs0=` … `cofs31=`). */
export const MAX_COFS_INDEX = 31;

/** One `cofsN=dir[,ro]`: a host directory the guest mounts by the 9p tag `cofsN`. */
export interface ShareConfig {
  /** N of cofsN (the mount tag is `cofsN`). */
  index: number;
  /** Absolute path of the host directory. */
  path: string;
  readOnly: boolean;
  source: Source;
}

export interface VmConfig {
  /** Absolute path of the kernel Image; undefined = the machine's default. */
  kernel?: string;
  /** Absolute path of the initrd; undefined = the machine's default; null = `initrd=none`. */
  initrd?: string | null;
  /** Guest RAM in MiB. */
  memMiB: number;
  /** Absolute path of M-mode firmware (reserved for firmware boot); undefined = cooperative boot. */
  bios?: string;
  /** Root device for the kernel (`root=`), with coLinux's /dev/cobdN already translated. */
  root?: string;
  /** Disks (`cobdN=`), sorted by N: the order they are attached, so the guest names them vda, vdb, … */
  disks: DiskConfig[];
  /** Shared folders (`cofsN=`), sorted by N. */
  shares: ShareConfig[];
  /** Words of `cmdline=` (last one wins), quotes removed. */
  cmdline: string[];
  /** Bare words and unknown name=value arguments, in order, quotes removed. */
  kernelArgs: string[];
  /** `--cmd`: shell command to run in the guest. */
  cmd?: string;
  /** `--name`: the VM's name (for colinux ls, console, stop, kill); default: the first free vmN. */
  name?: string;
  /** `--detach`: run the VM in the background. */
  detach: boolean;
  /** `--log`: the console log file; null for `--log none`; undefined for the default place. */
  log?: string | null;
  /** `panic=`: what a guest kernel panic does. */
  panic: 'stop' | 'restart';
  /** `jit=`: translate hot guest code to wasm; undefined = the machine's default. */
  jit?: 'on' | 'off';
  /** `jitcache=`: budget for translated code in MiB; undefined = the default. */
  jitCacheMiB?: number;
  /** `isa=`: the ISA extensions offered, as given; undefined = all. */
  isa?: string;
  /** Extra serial ports (`ttysN=`), sorted by N. */
  serialPorts: SerialPortConfig[];
  /** `gdb=`: the GDB stub's listening socket. */
  gdb?: GdbConfig;
  /** `gdbwait`: hold the VM before its first instruction until a debugger continues it. */
  gdbWait?: boolean;
  /** `deterministic=on|SEED`: the seed of deterministic mode, when on. */
  deterministicSeed?: number;
  /** The seed was not given: record=/replay= turned deterministic mode on (replay takes the log's). */
  deterministicImplied?: boolean;
  /** `trace=KINDS`: what to log (src/debug/trace.ts). */
  trace?: Set<TraceKind>;
  /** `tracefile=FILE`: where the trace goes (default: stderr). */
  traceFile?: string;
  /** `record=FILE`: log console input with instruction counts (implies deterministic mode). */
  record?: string;
  /** `replay=FILE`: give the guest a recorded log's input (deterministic mode, the log's seed). */
  replay?: string;
  /** `profile=FILE[,vmlinux=PATH]`: where to write a sampled guest profile, and its symbols. */
  profile?: { path: string; vmlinux?: string; source: Source };
  /** Network cards (`ethN=`), sorted by N. */
  nics: NicConfig[];
  /** `--help` / `-h` was given (nothing else was parsed). */
  help: boolean;
  /** Where each known setting that was given came from. */
  sources: Partial<Record<SettingName, Source>>;
  /** Non-fatal remarks, e.g. an unknown name that looks like a misspelt setting. */
  warnings: string[];
}

export class ConfigError extends Error {
  /** Absolute path of the config file the problem is in, if any. */
  readonly file?: string;
  /** 1-based line in that file, if any. */
  readonly line?: number;

  constructor(message: string, where?: { file?: string; line?: number }) {
    super(message);
    this.name = 'ConfigError';
    if (where?.file !== undefined) this.file = where.file;
    if (where?.line !== undefined) this.line = where.line;
  }
}

// ---------------------------------------------------------------------------
// The table

type Kind =
  /** A host file; resolved against cwd or the config file's directory. */
  | 'path'
  /** A host file, or `none`. */
  | 'path-or-none'
  /** A whole decimal number in [min, max]. */
  | 'integer'
  /** A guest device name; /dev/cobdN is translated to /dev/vdX. */
  | 'device'
  /** Kernel command-line words, split like the kernel does. */
  | 'words'
  /** One of `choices`. */
  | 'choice'
  /** A serial port's host end (src/cli/serial-spec.ts). */
  | 'serial'
  /** The GDB stub's socket: a serial host end of kind unix or tcp. */
  | 'gdb'
  /** A profile file: `FILE[,vmlinux=PATH]`. */
  | 'profile'
  /** `on`, `off` or a seed. */
  | 'deterministic'
  /** An input log file (record=, replay=). */
  | 'inputlog'
  /** Trace kinds, or the trace file. */
  | 'trace'
  /** The ISA extensions offered (src/machine/isa.ts). */
  | 'isa'
  /** A disk: `path[,ro|,rw|,cow|,cow=overlay]`. */
  | 'disk'
  /** A shared folder: `dir[,ro|,rw]`. */
  | 'share'
  /** A network card: `slirp[,…]` or `switch:NAME[,MAC]` (src/cli/net-spec.ts). */
  | 'nic';

export interface SettingSpec {
  /** `mem`, or for a reserved family the prefix (`cobd`) with `family: true`. */
  name: string;
  /** True for numbered families (`cobd0=`, `cobd1=`, …). */
  family?: boolean;
  /** False for names reserved for later (accepting them is an error for now). */
  supported: boolean;
  kind?: Kind;
  /** VmConfig field the value is stored in. */
  field?:
    | 'kernel'
    | 'initrd'
    | 'memMiB'
    | 'bios'
    | 'root'
    | 'cmdline'
    | 'panic'
    | 'jit'
    | 'jitCacheMiB'
    | 'isa'
    | 'gdbWait';
  /** The values a 'choice' setting accepts. */
  choices?: readonly string[];
  /** Value that `none` maps to (for path-or-none). */
  none?: null | undefined;
  min?: number;
  max?: number;
  unit?: string;
  /** Placeholder shown in help, e.g. `<path>`. */
  placeholder: string;
  /** A valid example, used in help and in error fixes. */
  example: string;
  description: string;
  /** Default shown in help, if any. */
  defaultText?: string;
}

export const SETTINGS: readonly SettingSpec[] = [
  {
    name: 'kernel',
    supported: true,
    kind: 'path',
    field: 'kernel',
    placeholder: '<path>',
    example: 'kernel=images/Image',
    description: 'Linux kernel Image (riscv64) to boot',
    defaultText: 'the built default image',
  },
  {
    name: 'initrd',
    supported: true,
    kind: 'path-or-none',
    field: 'initrd',
    none: null,
    placeholder: '<path>|none',
    example: 'initrd=images/initrd.cpio.gz',
    description: 'initial ramdisk, or none (./none for a file named "none")',
    defaultText: 'the built default initramfs',
  },
  {
    name: 'mem',
    supported: true,
    kind: 'integer',
    field: 'memMiB',
    min: 16,
    max: 2048,
    unit: 'MiB',
    placeholder: '<MiB>',
    example: 'mem=256',
    description: 'guest RAM in MiB, 16 to 2048',
    defaultText: String(DEFAULT_MEM_MIB),
  },
  {
    name: 'root',
    supported: true,
    kind: 'device',
    field: 'root',
    placeholder: '<device>',
    example: 'root=/dev/vda',
    description: 'root device, passed as root=…; coLinux names /dev/cobdN become /dev/vdX',
  },
  {
    name: 'cmdline',
    supported: true,
    kind: 'words',
    field: 'cmdline',
    placeholder: '"<args>"',
    example: 'cmdline="loglevel=7 rootwait"',
    description: 'extra kernel arguments (replaces an earlier cmdline=; cmdline= clears it)',
  },
  {
    name: 'panic',
    supported: true,
    kind: 'choice',
    field: 'panic',
    choices: ['stop', 'restart'],
    placeholder: 'stop|restart',
    example: 'panic=restart',
    description:
      'after a guest kernel panic: stop (show the reason, exit 3) or restart the VM (for the kernel\'s own panic=N, use cmdline="panic=N")',
    defaultText: 'stop',
  },
  {
    name: 'jit',
    supported: true,
    kind: 'choice',
    field: 'jit',
    choices: ['on', 'off'],
    placeholder: 'on|off',
    example: 'jit=off',
    description:
      'translate hot guest code to WebAssembly, or only interpret it (slower; for comparison and debugging)',
    defaultText: 'on',
  },
  {
    name: 'isa',
    supported: true,
    kind: 'isa',
    field: 'isa',
    placeholder: 'rv64gc|[rv64gc,]±<ext>,…',
    example: 'isa=-zba,-zbb',
    description: `the ISA extensions the CPU offers: rv64gc for RV64GC only, or changes to the default like -zba,-zbb or rv64gc,+zbb (those that can be left out: ${Object.keys(SWITCHABLE).join(', ')}); a left-out one is not in the device tree and its instructions are illegal`,
    defaultText: 'every extension colinux implements',
  },
  {
    name: 'jitcache',
    supported: true,
    kind: 'integer',
    field: 'jitCacheMiB',
    min: 4,
    max: 4096,
    unit: 'MiB',
    placeholder: '<MiB>',
    example: 'jitcache=64',
    description:
      'memory for translated code, 4 to 4096 MiB; the oldest translations are dropped to stay within it',
    defaultText: String(DEFAULT_JIT_CACHE_MIB),
  },
  {
    name: 'gdb',
    supported: true,
    kind: 'gdb',
    placeholder: 'tcp:[<host>:]<port>|unix:<path>',
    example: 'gdb=tcp:1234',
    description:
      'a GDB remote stub on this TCP port (127.0.0.1 unless a host is given) or Unix socket: gdb-multiarch vmlinux, then target remote :1234 (breakpoints, watchpoints, steps, registers, memory; monitor help lists the rest)',
  },
  {
    name: 'deterministic',
    supported: true,
    kind: 'deterministic',
    placeholder: 'on|off|<seed>',
    example: 'deterministic=on',
    description:
      'guest time follows the instruction count (a 100 MIPS virtual CPU), idle time is skipped, randomness comes from the seed (on = 0), and disk and shared-folder requests complete before the guest runs on: the same VM with the same input prints the same bytes every run; network cards only with record= or replay=, which log their frames',
    defaultText: 'off',
  },
  {
    name: 'trace',
    supported: true,
    kind: 'trace',
    placeholder: 'traps,irqs,sbi,virtio|all',
    example: 'trace=traps,sbi',
    description:
      'log traps, interrupts, SBI calls and virtio queue notifications, each with the instruction count it happened at, to stderr or tracefile=',
  },
  {
    name: 'tracefile',
    supported: true,
    kind: 'trace',
    placeholder: '<file>',
    example: 'tracefile=boot.trace',
    description: 'where trace= writes (default: stderr)',
  },
  {
    name: 'record',
    supported: true,
    kind: 'inputlog',
    placeholder: '<file>',
    example: 'record=run.log',
    description:
      'write the console input with the instruction count at which it reached the guest, so replay= can repeat the run exactly (turns deterministic=on)',
  },
  {
    name: 'replay',
    supported: true,
    kind: 'inputlog',
    placeholder: '<file>',
    example: 'replay=run.log',
    description:
      "repeat a run made with record=: the guest gets the log's input at the same instructions, with its seed; input typed now is ignored",
  },
  {
    name: 'profile',
    supported: true,
    kind: 'profile',
    placeholder: '<file>[,vmlinux=<path>]',
    example: 'profile=boot.txt',
    description:
      "sample the guest pc every 10007 instructions and write, when the VM ends, where the time went by kernel function (symbols from vmlinux=, else from kernel= when it is an ELF, else the default image's vmlinux)",
  },
  {
    name: 'gdbwait',
    supported: true,
    kind: 'choice',
    field: 'gdbWait',
    choices: ['on', 'off'],
    placeholder: 'on|off',
    example: 'gdbwait=on',
    description:
      'with gdb=: hold the VM before its first instruction until the debugger continues it (as QEMU -S); a bare "gdbwait" means on',
    defaultText: 'off',
  },
  {
    name: 'bios',
    supported: true,
    kind: 'path-or-none',
    field: 'bios',
    none: undefined,
    placeholder: '<path>|none',
    example: 'bios=fw_dynamic.bin',
    description:
      'M-mode firmware (e.g. OpenSBI fw_dynamic.bin), started at 0x80000000 as with QEMU -bios',
    defaultText: 'none, cooperative boot',
  },
  {
    name: 'cobd',
    family: true,
    supported: true,
    kind: 'disk',
    placeholder: '<file>[,ro|,cow[=<overlay>]]',
    example: 'cobd0=disk.img',
    description: `disk N (0 to ${MAX_COBD_INDEX}) on an image file or host block device, via virtio-blk; ,ro read-only; ,cow writes go to <file>.cow (or <overlay>); the guest sees disks as /dev/vda, /dev/vdb, … in order of N; at most ${VIRTIO_SLOTS} virtio devices in all`,
  },
  {
    name: 'eth',
    family: true,
    supported: true,
    kind: 'nic',
    placeholder:
      'slirp[,<mac>][,tcp:<hostport>:<guestport>[:<count>]/udp:…][,restrict] | switch:<name>[,<mac>] | none',
    example: 'eth0=slirp,,tcp:2222:22',
    description: `network card ethN (N = 0 to ${MAX_ETH_INDEX}), via virtio-net: slirp = user-mode NAT (guest 10.0.2.15 by DHCP, host reachable at 10.0.2.2, DNS 10.0.2.3) with host→guest port forwards bound to 127.0.0.1 unless tcp:ADDR:… says otherwise, restrict = no access to the host or outside; switch:NAME = an Ethernet segment shared with this user's other VMs on switch NAME; none = no such card; the MAC defaults to one derived from --name. Without an eth0= setting a VM gets eth0=slirp (when a virtio slot is free)`,
  },
  {
    name: 'cofs',
    family: true,
    supported: true,
    kind: 'share',
    placeholder: '<dir>[,ro]',
    example: 'cofs0=/home/me/shared',
    description: `host directory shared with the guest (N = 0 to ${MAX_COFS_INDEX}), via virtio-9p with mount tag cofsN; ,ro read-only; the default image mounts cofs0 on /mnt/cofs0 (others: mount -t 9p -o trans=virtio,version=9p2000.L cofsN /mnt/x)`,
  },
  {
    name: 'ttys',
    family: true,
    supported: true,
    kind: 'serial',
    placeholder: 'unix:<path>|tcp:[<host>:]<port>|file:<path>',
    example: 'ttys1=unix:/tmp/vm-ttyS1.sock',
    description: `guest serial port /dev/ttySN (N = ${SERIAL_MIN_INDEX} to ${SERIAL_MAX_INDEX}; ttyS0 is the console) on a host Unix socket or TCP port colinux listens on (one client at a time), or appended to a file (output only); pipe:<name> for a named pipe on Windows`,
  },
];

interface OptionSpec {
  names: string[];
  placeholder?: string;
  description: string;
}

/** The command-line options (`--…`); they are not valid in config files. */
export const OPTIONS: readonly OptionSpec[] = [
  {
    names: ['--cmd'],
    placeholder: '<command>',
    description: 'shell command to run in the guest (also --cmd=<command>)',
  },
  {
    names: ['--name'],
    placeholder: '<name>',
    description:
      'name of the VM for colinux ls/console/stop/kill: letters, digits, "_", "." and "-", up to 32 (default: the first free vm1, vm2, …)',
  },
  {
    names: ['--detach', '-d'],
    description: 'run the VM in the background; returns once it runs (attach with colinux console)',
  },
  {
    names: ['--log'],
    placeholder: '<file>|none',
    description: 'console log file (default: <state dir>/logs/<name>.log)',
  },
  { names: ['--help', '-h'], description: 'show this help and exit' },
];

function findSetting(name: string): SettingSpec | undefined {
  for (const s of SETTINGS) {
    if (s.family) {
      if (name.startsWith(s.name) && /^\d+$/.test(name.slice(s.name.length))) return s;
    } else if (s.name === name) {
      return s;
    }
  }
  return undefined;
}

function settingLabel(s: SettingSpec): string {
  return s.family ? `${s.name}N=` : `${s.name}=`;
}

// ---------------------------------------------------------------------------
// Help and description

export function helpText(): string {
  const rows = (items: [string, string][]): string[] => {
    const width = Math.max(...items.map(([l]) => l.length)) + 2;
    return items.map(([l, r]) => `  ${l.padEnd(width)}${r}`);
  };
  const supported = SETTINGS.filter((s) => s.supported);
  const reserved = SETTINGS.filter((s) => !s.supported);
  const lines: string[] = [
    'Usage: colinux run [options] [name=value ...] [@file ...] [kernel args ...]',
    '',
    'Settings:',
    ...rows(
      supported.map((s) => [
        `${settingLabel(s)}${s.placeholder}`,
        s.description + (s.defaultText !== undefined ? ` (default: ${s.defaultText})` : ''),
      ]),
    ),
    '',
    ...(reserved.length > 0
      ? [
          'Reserved, not supported yet:',
          ...rows(reserved.map((s) => [`${settingLabel(s)}${s.placeholder}`, s.description])),
          '',
        ]
      : []),
    'Options:',
    ...rows(
      OPTIONS.map((o) => [
        o.names.join(', ') + (o.placeholder !== undefined ? ` ${o.placeholder}` : ''),
        o.description,
      ]),
    ),
    '',
    'Anything else (bare words such as "quiet", or other name=value such as',
    '"init=/bin/sh") is appended to the kernel command line, in order. After',
    '"--" every argument goes to the kernel command line unchanged.',
    '',
    'Config files (@file): one name=value or one kernel word per line; "#" starts',
    'a comment (at the start of a line, or after whitespace); quote values with',
    'spaces or "#" in "..." or \'...\'; "@other" includes another file. Paths in',
    "a file are relative to that file's directory, on the command line to the",
    'current directory. Arguments and files are read left to right; a later value',
    'of a setting replaces an earlier one.',
    '',
    'Example:',
    `  colinux run @vm.conf mem=512 ${SETTINGS.find((s) => s.name === 'root')?.example ?? ''} quiet`,
  ];
  return lines.join('\n') + '\n';
}

/** The effective settings, one per line, with where each came from (for `config check`). */
export function formatConfig(cfg: VmConfig): string {
  const lines: string[] = [];
  for (const s of SETTINGS) {
    if (!s.supported || s.field === undefined) continue;
    const name = s.name as SettingName;
    let value: string;
    switch (s.field) {
      case 'kernel':
        value = cfg.kernel ?? `(${s.defaultText})`;
        break;
      case 'initrd':
        value = cfg.initrd === null ? 'none' : (cfg.initrd ?? `(${s.defaultText})`);
        break;
      case 'memMiB':
        value = `${cfg.memMiB} MiB`;
        break;
      case 'bios':
        value = cfg.bios ?? `(${s.defaultText})`;
        break;
      case 'root':
        value = cfg.root ?? '(not set)';
        break;
      case 'panic':
        value = cfg.panic;
        break;
      case 'jit':
        value = cfg.jit ?? `(${s.defaultText})`;
        break;
      case 'jitCacheMiB':
        value = `${cfg.jitCacheMiB ?? DEFAULT_JIT_CACHE_MIB} MiB`;
        break;
      case 'isa':
        value = cfg.isa ?? `(${s.defaultText})`;
        break;
      case 'gdbWait':
        value = cfg.gdbWait === true ? 'on' : 'off';
        break;
      case 'cmdline':
        value = cfg.cmdline.length > 0 ? cfg.cmdline.map(quoteKernelWord).join(' ') : '(empty)';
        break;
    }
    const src = cfg.sources[name];
    lines.push(`${s.name}=${value}${src ? `  [${src.where}]` : ''}`);
  }
  for (const [i, d] of cfg.disks.entries()) {
    const opts = `${d.readOnly ? ',ro' : ''}${d.overlay !== undefined ? `,cow=${d.overlay}` : ''}`;
    lines.push(
      `cobd${d.index}=${d.path}${opts} (guest /dev/${virtioDiskName(i)})  [${d.source.where}]`,
    );
  }
  for (const sh of cfg.shares) {
    lines.push(
      `cofs${sh.index}=${sh.path}${sh.readOnly ? ',ro' : ''} (guest mount tag cofs${sh.index})  [${sh.source.where}]`,
    );
  }
  lines.push(...formatSerialPorts(cfg));
  if (cfg.gdb) {
    lines.push(`gdb=${formatSerialEndpoint(cfg.gdb.endpoint)}  [${cfg.gdb.source.where}]`);
  }
  if (cfg.deterministicSeed !== undefined) {
    lines.push(`deterministic=on (seed ${cfg.deterministicSeed})`);
  }
  if (cfg.trace) {
    lines.push(`trace=${[...cfg.trace].join(',')} (to ${cfg.traceFile ?? 'stderr'})`);
  }
  if (cfg.record !== undefined) lines.push(`record=${cfg.record}`);
  if (cfg.replay !== undefined) lines.push(`replay=${cfg.replay}`);
  if (cfg.profile) {
    const p = cfg.profile;
    lines.push(
      `profile=${p.path}${p.vmlinux !== undefined ? `,vmlinux=${p.vmlinux}` : ''}  [${p.source.where}]`,
    );
  }
  lines.push(...formatNics(cfg));
  lines.push(
    `kernel args: ${cfg.kernelArgs.length > 0 ? cfg.kernelArgs.map(quoteKernelWord).join(' ') : '(none)'}`,
  );
  if (cfg.cmd !== undefined) lines.push(`--cmd: ${cfg.cmd}`);
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------
// root= translation

/** Linux's virtio-blk disk name for index n: 0 → vda, 25 → vdz, 26 → vdaa, … */
export function virtioDiskName(n: number): string {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`disk index must be >= 0, got ${n}`);
  let s = '';
  let i = n;
  do {
    s = String.fromCharCode(97 + (i % 26)) + s;
    i = Math.floor(i / 26) - 1;
  } while (i >= 0);
  return `vd${s}`;
}

/** coLinux's block device N (`/dev/cobdN`) as the guest sees it here: `/dev/vdX`. */
export function cobdToVirtio(n: number): string {
  return `/dev/${virtioDiskName(n)}`;
}

/**
 * Translate a coLinux root device (`/dev/cobd0`, devfs-style `/dev/cobd/0`,
 * a partition `/dev/cobd0p1`) to its virtio-blk name; anything else is
 * returned unchanged. `disks` are the configured cobd numbers: disks are
 * attached in increasing N and the guest names them vda, vdb, … in that
 * order, so with cobd0 and cobd3, /dev/cobd3 is /dev/vdb. Without `disks`
 * (or when N is not among them) cobdN maps to the Nth name.
 */
export function translateRootDevice(dev: string, disks?: readonly number[]): string {
  const m = /^\/dev\/cobd\/?(\d+)(?:p(\d+))?$/.exec(dev);
  if (!m) return dev;
  const n = Number(m[1]);
  const sorted = [...(disks ?? [])].sort((a, b) => a - b);
  const pos = sorted.indexOf(n);
  return cobdToVirtio(pos >= 0 ? pos : n) + (m[2] ?? '');
}

// ---------------------------------------------------------------------------
// Kernel command line

/** Split text into kernel words the way the kernel does: whitespace separates, "…" groups; quotes are removed. */
export function splitKernelWords(text: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') {
      quoted = !quoted;
      inWord = true;
    } else if (!quoted && /\s/.test(ch)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quoted) throw new Error('unterminated " in kernel arguments; add the closing "');
  if (inWord) words.push(cur);
  return words;
}

/** One argument in kernel command-line form: `name="a b"` when the value holds whitespace. */
export function quoteKernelWord(word: string): string {
  if (word.length > 0 && !/\s/.test(word)) return word;
  if (word.includes('"')) {
    throw new ConfigError(
      `kernel argument ${JSON.stringify(word)} holds both spaces and a double quote, which the kernel cannot parse; drop one of them`,
    );
  }
  const eq = word.indexOf('=');
  return eq > 0 ? `${word.slice(0, eq + 1)}"${word.slice(eq + 1)}"` : `"${word}"`;
}

function argKey(word: string): string {
  const eq = word.indexOf('=');
  return eq >= 0 ? word.slice(0, eq) : word;
}

function splitAtDashDash(words: readonly string[]): [string[], string[] | null] {
  const i = words.indexOf('--');
  return i < 0 ? [[...words], null] : [words.slice(0, i), words.slice(i + 1)];
}

/**
 * The kernel command line: `defaults`, then `root=`, `cmdline=` words and the
 * extra arguments. A user argument with the same name as a default replaces
 * it (every default `console=` goes when the user gives any `console=`; a bare
 * word replaces the same default word). Arguments after `--` (init's) are
 * kept after a single `--` at the end. Throws ConfigError if the result
 * exceeds KERNEL_CMDLINE_MAX bytes.
 */
export function buildKernelCmdline(cfg: VmConfig, defaults: string[]): string {
  const [cmdKernel, cmdInit] = splitAtDashDash(cfg.cmdline);
  const [argKernel, argInit] = splitAtDashDash(cfg.kernelArgs);
  const user = [
    ...(cfg.root !== undefined ? [`root=${cfg.root}`] : []),
    ...cmdKernel,
    ...argKernel,
  ];
  const userKeys = new Set(user.map(argKey));
  const words = [...defaults.filter((d) => !userKeys.has(argKey(d))), ...user];
  if (cmdInit !== null || argInit !== null)
    words.push('--', ...(cmdInit ?? []), ...(argInit ?? []));
  const line = words.map(quoteKernelWord).join(' ');
  const bytes = new TextEncoder().encode(line).length;
  if (bytes > KERNEL_CMDLINE_MAX) {
    throw new ConfigError(
      `kernel command line is ${bytes} bytes; the kernel keeps at most ${KERNEL_CMDLINE_MAX}; shorten cmdline= or the extra kernel arguments`,
    );
  }
  return line;
}

// ---------------------------------------------------------------------------
// Parsing

export interface ParseOptions {
  /** Read a config file as text (default: fs.readFileSync utf8). Errors with `code` ENOENT/EACCES/EISDIR get clear messages. */
  readFile?: (path: string) => string;
  /** Directory command-line paths are relative to (default: process.cwd()). */
  cwd?: string;
}

interface Ctx {
  cfg: VmConfig;
  cwd: string;
  /** Cards an `ethN=` named (`none` included): eth0 is not added by default then. */
  nicsNamed: Set<number>;
  readFile: (path: string) => string;
  /** Absolute paths of the files being read, outermost first (for loop detection). */
  stack: string[];
}

/** Where a value or line is: the file and line, or nothing for the command line. */
interface Loc {
  file?: string;
  line?: number;
  /** Directory relative paths resolve against. */
  dir: string;
}

const MAX_INCLUDE_DEPTH = 32;

function displayPath(abs: string, cwd: string): string {
  const rel = path.relative(cwd, abs);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : abs;
}

function fail(ctx: Ctx, loc: Loc, message: string): never {
  if (loc.file === undefined) throw new ConfigError(message);
  const prefix = `${displayPath(loc.file, ctx.cwd)}${loc.line !== undefined ? `:${loc.line}` : ''}: `;
  throw new ConfigError(prefix + message, { file: loc.file, line: loc.line });
}

function whereOf(ctx: Ctx, loc: Loc): Source {
  if (loc.file === undefined) return { where: 'command line' };
  return {
    file: loc.file,
    line: loc.line,
    where: `${displayPath(loc.file, ctx.cwd)}${loc.line !== undefined ? `:${loc.line}` : ''}`,
  };
}

function resolvePath(value: string, dir: string): string {
  if (value === '~') return os.homedir();
  if (value.startsWith('~/')) return path.join(os.homedir(), value.slice(2));
  return path.resolve(dir, value);
}

/** Optimal string alignment distance (edits incl. one transposition), for "did you mean". */
function editDistance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    d.push([i]);
    for (let j = 1; j <= b.length; j++) d[i]!.push(i === 0 ? j : 0);
  }
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      }
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

function lookalike(name: string): SettingSpec | undefined {
  const lower = name.toLowerCase();
  for (const s of SETTINGS) {
    if (!s.supported || s.family) continue;
    if (lower === s.name) return s;
    if (s.name.length >= 4 && lower.length >= 4 && editDistance(lower, s.name) <= 1) return s;
  }
  return undefined;
}

function applySetting(ctx: Ctx, loc: Loc, spec: SettingSpec, name: string, value: string): void {
  const cfg = ctx.cfg;
  const arg = `${name}=${value}`;
  if (!spec.supported) {
    fail(
      ctx,
      loc,
      `${arg}: ${name}= is not supported yet (${spec.description}); remove it for now`,
    );
  }
  const bad = (problem: string): never => fail(ctx, loc, `${arg}: ${problem}`);
  switch (spec.kind) {
    case 'path':
    case 'path-or-none': {
      if (value === '') bad(`empty value; give a path, e.g. ${spec.example}`);
      if (spec.kind === 'path-or-none' && value === 'none') {
        if (spec.field === 'initrd') cfg.initrd = null;
        else if (spec.field === 'bios') delete cfg.bios;
        break;
      }
      const abs = resolvePath(value, loc.dir);
      if (spec.field === 'kernel') cfg.kernel = abs;
      else if (spec.field === 'initrd') cfg.initrd = abs;
      else if (spec.field === 'bios') cfg.bios = abs;
      break;
    }
    case 'integer': {
      const range = `use a value from ${spec.min} to ${spec.max}${spec.unit ? ` (${spec.unit})` : ''}`;
      if (!/^\d+$/.test(value)) bad(`not a whole number; ${range}, e.g. ${spec.example}`);
      const n = Number(value);
      if (n < (spec.min ?? 0) || n > (spec.max ?? Number.MAX_SAFE_INTEGER)) {
        bad(`out of range; ${range}`);
      }
      if (spec.field === 'memMiB') cfg.memMiB = n;
      if (spec.field === 'jitCacheMiB') cfg.jitCacheMiB = n;
      break;
    }
    case 'device':
      if (value === '') bad(`empty value; give a device, e.g. ${spec.example}`);
      if (/\s/.test(value)) bad(`a device name cannot contain spaces; e.g. ${spec.example}`);
      // Translated once every cobdN= is known (parseRunArgs).
      if (spec.field === 'root') cfg.root = value;
      break;
    case 'choice': {
      const choices = spec.choices ?? [];
      if (!choices.includes(value)) bad(`use ${choices.join(' or ')}, e.g. ${spec.example}`);
      if (spec.field === 'panic') cfg.panic = value as VmConfig['panic'];
      if (spec.field === 'jit') cfg.jit = value as 'on' | 'off';
      if (spec.field === 'gdbWait') cfg.gdbWait = value === 'on';
      break;
    }
    case 'serial':
      applySerial(ctx, loc, name, value, bad);
      return;
    case 'trace': {
      if (name === 'tracefile') {
        if (value === '') bad(`give a file, e.g. ${spec.example}`);
        cfg.traceFile = resolvePath(value, loc.dir);
        return;
      }
      const kinds = parseTraceKinds(value);
      if (typeof kinds === 'string') return bad(kinds);
      cfg.trace = kinds;
      return;
    }
    case 'inputlog': {
      if (value === '') bad(`give a file, e.g. ${spec.example}`);
      if (name === 'record') cfg.record = resolvePath(value, loc.dir);
      else cfg.replay = resolvePath(value, loc.dir);
      return;
    }
    case 'deterministic': {
      if (value === 'off') delete cfg.deterministicSeed;
      else if (value === 'on') cfg.deterministicSeed = 0;
      else if (/^\d{1,15}$/.test(value)) cfg.deterministicSeed = Number(value);
      else bad(`use on, off or a seed (a whole number), e.g. ${spec.example}`);
      return;
    }
    case 'profile': {
      const [file = '', ...opts] = value.split(',');
      if (file === '') bad(`give a file to write, e.g. ${spec.example}`);
      const profile: VmConfig['profile'] = {
        path: resolvePath(file, loc.dir),
        source: whereOf(ctx, loc),
      };
      for (const o of opts) {
        if (!o.startsWith('vmlinux=') || o.length === 'vmlinux='.length) {
          bad(`unknown option "${o}"; the only one is vmlinux=PATH (the kernel's symbols)`);
        }
        profile.vmlinux = resolvePath(o.slice('vmlinux='.length), loc.dir);
      }
      cfg.profile = profile;
      return;
    }
    case 'gdb': {
      const endpoint = parseSerialEndpoint(value, (p) => resolvePath(p, loc.dir));
      if (typeof endpoint === 'string') return bad(endpoint.replace(/ttys1=/g, 'gdb='));
      if (endpoint.kind !== 'tcp' && endpoint.kind !== 'unix') {
        bad(`the GDB stub listens on a socket; use ${spec.placeholder}, e.g. ${spec.example}`);
      }
      cfg.gdb = { endpoint, source: whereOf(ctx, loc) };
      return;
    }
    case 'isa':
      try {
        parseIsa(value);
      } catch (e) {
        if (e instanceof IsaError) bad(e.message);
        throw e;
      }
      cfg.isa = value;
      break;
    case 'words': {
      let words: string[];
      try {
        words = splitKernelWords(value);
      } catch (e) {
        return bad((e as Error).message);
      }
      if (spec.field === 'cmdline') cfg.cmdline = words;
      break;
    }
    case 'disk':
      applyDisk(ctx, loc, name, value, bad);
      return;
    case 'share':
      applyShare(ctx, loc, name, value, bad);
      return;
    case 'nic':
      applyNic(ctx, loc, name, value, bad);
      return;
    default:
      bad('internal error: setting has no kind');
  }
  cfg.sources[spec.name as SettingName] = whereOf(ctx, loc);
}

function applyDisk(
  ctx: Ctx,
  loc: Loc,
  name: string,
  value: string,
  bad: (problem: string) => never,
): void {
  const index = Number(name.slice('cobd'.length));
  if (index > MAX_COBD_INDEX) bad(`disk numbers go from 0 to ${MAX_COBD_INDEX}`);
  const [file, ...options] = value.split(',');
  if (file === undefined || file === '') {
    bad('empty path; give an image file, e.g. cobd0=disk.img or cobd0=disk.img,ro');
  }
  const disk: DiskConfig = {
    index,
    path: resolvePath(file, loc.dir),
    readOnly: false,
    source: whereOf(ctx, loc),
  };
  for (const o of options) {
    if (o === 'ro') disk.readOnly = true;
    else if (o === 'rw') disk.readOnly = false;
    else if (o === 'cow') disk.overlay = `${disk.path}.cow`;
    else if (o.startsWith('cow=') && o.length > 4) disk.overlay = resolvePath(o.slice(4), loc.dir);
    else {
      bad(
        `unknown disk option "${o}"; the options are ro, rw, cow and cow=<overlay file> (an image path cannot contain ",")`,
      );
    }
  }
  if (disk.readOnly && disk.overlay !== undefined) {
    bad('ro and cow exclude each other: ,cow already keeps the image unchanged; use one');
  }
  const cfg = ctx.cfg;
  cfg.disks = [...cfg.disks.filter((d) => d.index !== index), disk].sort(
    (a, b) => a.index - b.index,
  );
}

function applyShare(
  ctx: Ctx,
  loc: Loc,
  name: string,
  value: string,
  bad: (problem: string) => never,
): void {
  const index = Number(name.slice('cofs'.length));
  if (index > MAX_COFS_INDEX) bad(`shared folder numbers go from 0 to ${MAX_COFS_INDEX}`);
  const [dir, ...options] = value.split(',');
  if (dir === undefined || dir === '') {
    bad('empty path; give a host directory, e.g. cofs0=/home/me/shared or cofs0=.,ro');
  }
  const share: ShareConfig = {
    index,
    path: resolvePath(dir, loc.dir),
    readOnly: false,
    source: whereOf(ctx, loc),
  };
  for (const o of options) {
    if (o === 'ro') share.readOnly = true;
    else if (o === 'rw') share.readOnly = false;
    else
      bad(
        `unknown shared folder option "${o}"; the options are ro and rw (a directory path cannot contain ",")`,
      );
  }
  const cfg = ctx.cfg;
  cfg.shares = [...cfg.shares.filter((d) => d.index !== index), share].sort(
    (a, b) => a.index - b.index,
  );
}

/** Shared folders take virtio slots after the disks and network cards. */
function finishShares(ctx: Ctx): void {
  const cfg = ctx.cfg;
  const used = cfg.disks.length + cfg.nics.length + cfg.shares.length;
  if (cfg.shares.length === 0 || used <= VIRTIO_SLOTS) return;
  const extra = cfg.shares[Math.max(0, VIRTIO_SLOTS - cfg.disks.length - cfg.nics.length)]!;
  fail(
    ctx,
    { file: extra.source.file, line: extra.source.line, dir: ctx.cwd },
    `cofs${extra.index}=: ${cfg.shares.length} shared folder(s), ${cfg.nics.length} network card(s) and ${cfg.disks.length} disk(s) need ${used} virtio slots; the virt board has ${VIRTIO_SLOTS}; remove some`,
  );
}

function applySerial(
  ctx: Ctx,
  loc: Loc,
  name: string,
  value: string,
  bad: (problem: string) => never,
): void {
  const index = Number(name.slice('ttys'.length));
  if (index === 0) {
    bad(
      `ttyS0 is the console (this terminal, colinux console NAME and the log); extra serial ports are ttys${SERIAL_MIN_INDEX}= to ttys${SERIAL_MAX_INDEX}=`,
    );
  }
  if (index < SERIAL_MIN_INDEX || index > SERIAL_MAX_INDEX) {
    bad(`serial ports go from ttys${SERIAL_MIN_INDEX}= to ttys${SERIAL_MAX_INDEX}=`);
  }
  const endpoint = parseSerialEndpoint(value, (p) => resolvePath(p, loc.dir));
  if (typeof endpoint === 'string') bad(endpoint);
  const cfg = ctx.cfg;
  const port: SerialPortConfig = { index, endpoint, source: whereOf(ctx, loc) };
  cfg.serialPorts = [...cfg.serialPorts.filter((p) => p.index !== index), port].sort(
    (a, b) => a.index - b.index,
  );
}

function applyNic(
  ctx: Ctx,
  loc: Loc,
  name: string,
  value: string,
  bad: (problem: string) => never,
): void {
  const index = Number(name.slice('eth'.length));
  if (index > MAX_ETH_INDEX) bad(`network cards go from eth0= to eth${MAX_ETH_INDEX}=`);
  if (value === '') bad(`empty value; use ${NIC_FORMS}, or none`);
  const cfg = ctx.cfg;
  ctx.nicsNamed.add(index);
  const others = cfg.nics.filter((n) => n.index !== index);
  if (value === 'none') {
    cfg.nics = others;
    return;
  }
  const spec = parseNicSpec(value);
  if (typeof spec === 'string') bad(spec);
  const nic: NicConfig = { ...spec, index, source: whereOf(ctx, loc) };
  cfg.nics = [...others, nic].sort((a, b) => a.index - b.index);
}

/** `ethN=…` lines for formatConfig. */
export function formatNics(cfg: VmConfig): string[] {
  return cfg.nics.map((n) => `eth${n.index}=${formatNicSpec(n)}  [${n.source.where}]`);
}

/** `ttysN=…` lines for formatConfig. */
export function formatSerialPorts(cfg: VmConfig): string[] {
  return cfg.serialPorts.map(
    (p) =>
      `ttys${p.index}=${formatSerialEndpoint(p.endpoint)} (guest /dev/ttyS${p.index})  [${p.source.where}]`,
  );
}

function appendKernelArg(ctx: Ctx, loc: Loc, word: string): void {
  const eq = word.indexOf('=');
  if (eq > 0) {
    const name = word.slice(0, eq);
    const like = lookalike(name);
    if (like) {
      const w = whereOf(ctx, loc).where;
      ctx.cfg.warnings.push(
        `${loc.file !== undefined ? `${w}: ` : ''}${word}: "${name}" is not a colinux setting, so it goes to the kernel command line; did you mean ${like.name}=?`,
      );
    }
  }
  ctx.cfg.kernelArgs.push(word);
}

/** One `name=value`, `@file` or bare word (from the command line or a file line). */
function handleItem(ctx: Ctx, loc: Loc, item: string): void {
  if (item.startsWith('@')) {
    includeFile(ctx, loc, item.slice(1));
    return;
  }
  const eq = item.indexOf('=');
  if (eq === 0) {
    fail(ctx, loc, `${JSON.stringify(item)}: missing name before "="; write name=value`);
  }
  if (eq > 0) {
    const name = item.slice(0, eq);
    const spec = findSetting(name);
    if (spec) {
      applySetting(ctx, loc, spec, name, item.slice(eq + 1));
      return;
    }
  }
  if (item === '') fail(ctx, loc, 'empty argument; remove it');
  if (item === 'gdbwait') {
    // As QEMU's -S: a word of its own, not a kernel argument.
    applySetting(ctx, loc, findSetting('gdbwait')!, 'gdbwait', 'on');
    return;
  }
  appendKernelArg(ctx, loc, item);
}

function readErrorText(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'is a directory, not a config file';
  if (code === 'EACCES' || code === 'EPERM') return 'not readable (permission denied)';
  return e instanceof Error ? e.message : String(e);
}

function includeFile(ctx: Ctx, loc: Loc, target: string): void {
  if (target === '') fail(ctx, loc, '"@" needs a file name; write @vm.conf');
  const abs = resolvePath(target, loc.dir);
  if (ctx.stack.includes(abs)) {
    const chain = [...ctx.stack.slice(ctx.stack.indexOf(abs)), abs]
      .map((p) => displayPath(p, ctx.cwd))
      .join(' -> ');
    fail(ctx, loc, `@${target}: include loop (${chain}); remove one of these @ lines`);
  }
  if (ctx.stack.length >= MAX_INCLUDE_DEPTH) {
    fail(ctx, loc, `@${target}: files nested more than ${MAX_INCLUDE_DEPTH} deep; flatten them`);
  }
  let text: string;
  try {
    text = ctx.readFile(abs);
  } catch (e) {
    fail(ctx, loc, `@${target}: ${readErrorText(e)} (${abs}); check the path`);
  }
  ctx.stack.push(abs);
  parseFileText(ctx, abs, text);
  ctx.stack.pop();
}

/**
 * Read a value starting at `s` (text after `=` or `@`): quoted with "…" (\" and
 * \\ escapes) or '…' (literal), or unquoted up to a `#` that follows whitespace.
 */
function readValue(ctx: Ctx, loc: Loc, s: string, what: string, sep = '='): string {
  const t = s.replace(/^[ \t]+/, '');
  const q = t[0];
  if (q === '"' || q === "'") {
    let out = '';
    let i = 1;
    for (; i < t.length; i++) {
      const ch = t[i]!;
      if (ch === q) break;
      if (q === '"' && ch === '\\' && (t[i + 1] === '"' || t[i + 1] === '\\')) {
        out += t[i + 1];
        i++;
      } else {
        out += ch;
      }
    }
    if (i >= t.length) fail(ctx, loc, `${what}: unterminated ${q}; close the quote with ${q}`);
    const rest = t.slice(i + 1).trim();
    if (rest !== '' && !rest.startsWith('#')) {
      fail(
        ctx,
        loc,
        `${what}: unexpected ${JSON.stringify(rest)} after the closing quote; put the whole value inside the quotes`,
      );
    }
    return out;
  }
  const hash = /\s#/.exec(s);
  const v = (hash ? s.slice(0, hash.index) : s).trim();
  if (/\s/.test(v)) {
    fail(
      ctx,
      loc,
      `${what}${sep}${v}: unquoted value with spaces; put it in quotes: ${what}${sep}"${v}"`,
    );
  }
  return v;
}

function parseLine(ctx: Ctx, loc: Loc, raw: string): void {
  const line = raw.trim();
  if (line === '' || line.startsWith('#')) return;
  if (line.startsWith('@')) {
    handleItem(ctx, loc, '@' + readValue(ctx, loc, line.slice(1), '@', ''));
    return;
  }
  if (line.startsWith('"') || line.startsWith("'")) {
    // A quoted bare kernel word.
    const word = readValue(ctx, loc, line, 'argument');
    if (word === '') fail(ctx, loc, 'empty quoted argument; remove the line');
    appendKernelArg(ctx, loc, word);
    return;
  }
  const m = /^([^=\s]*)/.exec(line)!;
  const name = m[1]!;
  let rest = line.slice(name.length);
  if (rest.startsWith('=') || /^\s+=/.test(rest)) {
    if (name === '')
      fail(ctx, loc, `missing name before "=" in ${JSON.stringify(line)}; write name=value`);
    rest = rest.replace(/^\s*=/, '');
    const value = readValue(ctx, loc, rest, name);
    handleItem(ctx, loc, `${name}=${value}`);
    return;
  }
  const after = rest.trim();
  if (after === '' || after.startsWith('#')) {
    handleItem(ctx, loc, name);
    return;
  }
  const shown = /\s#/.exec(line) ? line.slice(0, /\s#/.exec(line)!.index).trim() : line;
  fail(
    ctx,
    loc,
    `expected name=value, got ${JSON.stringify(shown)}; put one setting per line and quote values with spaces`,
  );
}

function parseFileText(ctx: Ctx, file: string, text: string): void {
  const dir = path.dirname(file);
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => parseLine(ctx, { file, line: i + 1, dir }, raw));
}

function isHelp(a: string): boolean {
  return a === '--help' || a === '-h';
}

/**
 * Parse the arguments after `colinux run`. Throws ConfigError (message names
 * the problem and the fix, prefixed with FILE:LINE for config files).
 * If `--help`/`-h` appears (before any `--`), returns defaults with help=true
 * without parsing anything else.
 */
export function parseRunArgs(argv: string[], opts: ParseOptions = {}): VmConfig {
  const cfg: VmConfig = {
    memMiB: DEFAULT_MEM_MIB,
    disks: [],
    shares: [],
    cmdline: [],
    kernelArgs: [],
    detach: false,
    panic: 'stop',
    serialPorts: [],
    nics: [],
    help: false,
    sources: {},
    warnings: [],
  };
  for (let i = 0; i < argv.length && argv[i] !== '--'; i++) {
    if (argv[i] === '--cmd' || argv[i] === '--name' || argv[i] === '--log') i++;
    else if (isHelp(argv[i]!)) {
      cfg.help = true;
      return cfg;
    }
  }
  const cwd = path.resolve(opts.cwd ?? process.cwd());
  const ctx: Ctx = {
    cfg,
    cwd,
    nicsNamed: new Set(),
    readFile: opts.readFile ?? ((p) => fs.readFileSync(p, 'utf8')),
    stack: [],
  };
  const loc: Loc = { dir: cwd };
  const optionNames = OPTIONS.flatMap((o) => o.names).join(', ');
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      cfg.kernelArgs.push(...argv.slice(i));
      break;
    }
    if (a === '--cmd') {
      if (i + 1 >= argv.length) fail(ctx, loc, '--cmd needs a value; write --cmd "uname -a"');
      cfg.cmd = argv[++i];
      continue;
    }
    if (a.startsWith('--cmd=')) {
      cfg.cmd = a.slice('--cmd='.length);
      continue;
    }
    if (a === '--detach' || a === '-d') {
      cfg.detach = true;
      continue;
    }
    const opt = /^(--name|--log)(?:=(.*))?$/.exec(a);
    if (opt) {
      let v = opt[2];
      if (v === undefined) {
        if (i + 1 >= argv.length) {
          fail(ctx, loc, `${a} needs a value; write ${a} ${a === '--name' ? 'web' : 'vm.log'}`);
        }
        v = argv[++i]!;
      }
      if (opt[1] === '--name') {
        const problem = vmNameProblem(v);
        if (problem !== undefined) fail(ctx, loc, `--name ${JSON.stringify(v)}: ${problem}`);
        cfg.name = v;
      } else {
        if (v === '') fail(ctx, loc, '--log needs a file name, or none');
        cfg.log = v === 'none' ? null : resolvePath(v, cwd);
      }
      continue;
    }
    if (a.startsWith('-')) {
      fail(
        ctx,
        loc,
        `unknown option ${a}; the options are ${optionNames}; to pass ${a} to the kernel, put it after --`,
      );
    }
    handleItem(ctx, loc, a);
  }
  if (cfg.record !== undefined && cfg.replay !== undefined) {
    fail(ctx, loc, 'record= and replay= together: replay a log, or record a new one');
  }
  // Recording or replaying input only makes sense for a deterministic run.
  if (
    (cfg.record !== undefined || cfg.replay !== undefined) &&
    cfg.deterministicSeed === undefined
  ) {
    cfg.deterministicSeed = 0;
    cfg.deterministicImplied = true;
  }
  finishDisks(ctx);
  finishNics(ctx);
  finishShares(ctx);
  if (cfg.traceFile !== undefined && !cfg.trace) {
    fail(ctx, loc, 'tracefile= says where the trace goes, but there is no trace=; add trace=all');
  }
  if (cfg.gdbWait === true && !cfg.gdb) {
    fail(
      ctx,
      loc,
      'gdbwait holds the VM for a debugger, but there is no gdb= setting; add gdb=tcp:1234',
    );
  }
  return cfg;
}

/**
 * Disks and network cards share the board's virtio slots. Unless the
 * settings name eth0= (`eth0=none` included), the VM gets eth0=slirp, as a
 * VM in QEMU or Lima gets a network by default, if a slot is free for it.
 */
function finishNics(ctx: Ctx): void {
  const cfg = ctx.cfg;
  if (cfg.deterministicSeed !== undefined && cfg.record === undefined && cfg.replay === undefined) {
    // Frames from the host arrive when they do: no network in deterministic
    // mode, unless record= logs them (and replay= gives them back).
    const nic = cfg.nics[0];
    if (nic) {
      fail(
        ctx,
        { dir: ctx.cwd },
        `eth${nic.index}=: deterministic=on cannot have network cards (frames from the host arrive when they do) unless record= logs them; remove eth${nic.index}= or add record=FILE`,
      );
    }
    return;
  }
  if (
    !ctx.nicsNamed.has(0) &&
    cfg.disks.length + cfg.nics.length + cfg.shares.length < VIRTIO_SLOTS
  ) {
    const nic: NicConfig = {
      kind: 'slirp',
      restrict: false,
      forwards: [],
      index: 0,
      source: { where: 'default', byDefault: true },
    };
    cfg.nics = [nic, ...cfg.nics];
  }
  const used = cfg.disks.length + cfg.nics.length;
  if (cfg.nics.length === 0 || used <= VIRTIO_SLOTS) return;
  const extra = cfg.nics[Math.max(0, VIRTIO_SLOTS - cfg.disks.length)]!;
  fail(
    ctx,
    { file: extra.source.file, line: extra.source.line, dir: ctx.cwd },
    `eth${extra.index}=: ${cfg.nics.length} network card(s) and ${cfg.disks.length} disk(s) need ${used} virtio slots; the virt board has ${VIRTIO_SLOTS}, shared by disks, network cards and shared folders; remove some`,
  );
}

/** Check the disk count; translate root=/dev/cobdN now that every disk is known. */
function finishDisks(ctx: Ctx): void {
  const cfg = ctx.cfg;
  if (cfg.disks.length > VIRTIO_SLOTS) {
    const extra = cfg.disks[VIRTIO_SLOTS]!;
    fail(
      ctx,
      { file: extra.source.file, line: extra.source.line, dir: ctx.cwd },
      `cobd${extra.index}=: too many disks (${cfg.disks.length}); the virt board has ${VIRTIO_SLOTS} virtio slots, shared by disks, network cards and shared folders`,
    );
  }
  if (cfg.root === undefined) return;
  const m = /^\/dev\/cobd\/?(\d+)(?:p\d+)?$/.exec(cfg.root);
  const indices = cfg.disks.map((d) => d.index);
  if (m && cfg.disks.length > 0 && !indices.includes(Number(m[1]))) {
    const where = cfg.sources.root?.file !== undefined ? `${cfg.sources.root.where}: ` : '';
    cfg.warnings.push(
      `${where}root=${cfg.root}: no cobd${m[1]}= disk is configured (disks: ${indices.map((i) => `cobd${i}`).join(', ')})`,
    );
  }
  cfg.root = translateRootDevice(cfg.root, indices);
}

// ---------------------------------------------------------------------------
// File checks

export interface CheckOptions {
  /** Report a missing kernel= as a problem (default false: the machine has a default). */
  requireKernel?: boolean;
}

/** Every problem with the host files the config names (kernel, initrd, bios), one message each. */
export function fileProblems(cfg: VmConfig, opts: CheckOptions = {}): string[] {
  const problems: string[] = [];
  const check = (name: SettingName, p: string | null | undefined, nonEmpty: boolean): void => {
    if (p === undefined || p === null) return;
    const src = cfg.sources[name];
    const prefix = `${src?.file !== undefined ? `${src.where}: ` : ''}${name}=${p}: `;
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch (e) {
      problems.push(prefix + readErrorText(e) + '; check the path');
      return;
    }
    if (st.isDirectory()) {
      problems.push(prefix + `is a directory; give the path of the ${name} file inside it`);
      return;
    }
    try {
      fs.accessSync(p, fs.constants.R_OK);
    } catch {
      problems.push(prefix + "not readable (permission denied); fix the file's permissions");
      return;
    }
    if (nonEmpty && st.isFile() && st.size === 0) {
      problems.push(prefix + 'file is empty; rebuild or re-download it');
    }
  };
  if (cfg.kernel === undefined && opts.requireKernel) {
    const ex = SETTINGS.find((s) => s.name === 'kernel')?.example ?? 'kernel=<path>';
    problems.push(`kernel= is not set; add ${ex}`);
  }
  check('kernel', cfg.kernel, true);
  check('initrd', cfg.initrd, false);
  check('bios', cfg.bios, true);
  for (const d of cfg.disks) {
    const prefix = `${d.source.file !== undefined ? `${d.source.where}: ` : ''}cobd${d.index}=${d.path}: `;
    let st: fs.Stats;
    try {
      st = fs.statSync(d.path);
    } catch (e) {
      const why = (e as { code?: unknown }).code === 'ENOENT' ? 'no such file' : readErrorText(e);
      problems.push(`${prefix}${why}; create an image with: colinux disk create ${d.path} 4G`);
      continue;
    }
    if (st.isDirectory())
      problems.push(`${prefix}is a directory; give a disk image file or a block device`);
    else if (!st.isFile() && !st.isBlockDevice())
      problems.push(`${prefix}is neither a regular file nor a block device`);
  }
  for (const sh of cfg.shares) {
    const prefix = `${sh.source.file !== undefined ? `${sh.source.where}: ` : ''}cofs${sh.index}=${sh.path}: `;
    try {
      if (!fs.statSync(sh.path).isDirectory()) {
        problems.push(`${prefix}not a directory; give the directory to share`);
      }
    } catch (e) {
      problems.push(`${prefix}${readErrorText(e)}; check the path`);
    }
  }
  return problems;
}

/** Throw a ConfigError listing every file problem (one per line), if any. */
export function checkFiles(cfg: VmConfig, opts: CheckOptions = {}): void {
  const problems = fileProblems(cfg, opts);
  if (problems.length > 0) throw new ConfigError(problems.join('\n'));
}

/**
 * The virt machine and its cooperative run loop (DESIGN.md §4): the hart runs
 * in slices on the host's event loop; between slices the host does its own
 * I/O; a guest `wfi` with nothing pending sleeps until the next timer
 * deadline or host event, so an idle guest costs almost nothing.
 */
import { Hart, Exit, Line, RAM_BASE, DebugStopKind } from './core.js';
import {
  createVirtBoard,
  buildDeviceTree,
  POWER_BUTTON_PIN,
  RESUME_SWITCH_PIN,
  type VirtBoard,
} from './virt-board.js';
import { SerialLink } from './serial-link.js';
import {
  placeKernel,
  placeFirmware,
  layoutBoot,
  fwDynamicInfo,
  BootError,
  FIRMWARE_LIMIT,
} from './boot.js';
import { isElf, parseElf, type ElfFile } from './elf.js';
import { handleSbiCall } from '../sbi/sbi.js';
import type { DeviceFactory, GuestMemory, MmioDevice, Snapshottable } from './device.js';
import type { ClintState } from '../devices/clint.js';
import type { PlicState } from '../devices/plic.js';
import type { Uart16550State } from '../devices/uart16550.js';
import type { GoldfishRtcState } from '../devices/goldfish-rtc.js';
import type { SifiveGpioState } from '../devices/sifive-gpio.js';
import type { SifiveTestState } from '../devices/sifive-test.js';
import { ConsoleWatcher } from './console-watch.js';
import { Htif } from './htif.js';
import type { JitOptions } from '../jit/jit.js';
import { disabledMask, isaStrings } from './isa.js';
import type { GuestProfile } from '../debug/profile.js';
import type { Tracer } from '../debug/trace.js';
import type { InputEvent } from '../debug/replay.js';

export { BootError };

/** Extensions the hart implements, as advertised in the device tree (all of them). */
export const { isa: ISA_STRING, extensions: ISA_EXTENSIONS } = isaStrings();

export const MIN_MEM_MIB = 16;
export const MAX_MEM_MIB = 2048;

export interface MachineOptions {
  /** Guest RAM in MiB. */
  memMiB: number;
  /**
   * Linux kernel: flat `Image` or ELF `vmlinux`. Left out when the machine
   * is built to take a snapshot's state (`restoreState`).
   */
  kernel?: Uint8Array;
  initrd?: Uint8Array;
  /** Kernel command line (bootargs). */
  cmdline: string;
  /** Console output from the guest (UART and SBI console). */
  onOutput?: (bytes: Uint8Array) => void;
  /** Wall-clock source for the RTC in ns since the epoch. */
  rtcClock?: () => bigint;
  /** Instructions per run() call (default 200 000). */
  sliceInstructions?: number;
  /** Stop with reason 'timeout' after about this many instructions. */
  instructionLimit?: number;
  /** Log traps, interrupts, SBI calls and virtio notifications (src/debug/trace.ts). */
  tracer?: Tracer;
  /** Sample the pc into this profile every `profile.interval` instructions (src/debug/profile.ts). */
  profile?: GuestProfile;
  /**
   * Deterministic mode (as QEMU's icount): guest time is a function of
   * retired instructions (DET_INSNS_PER_TICK), idle time is skipped, the
   * rng-seed and the RTC derive from `seed`, and device requests complete
   * before the guest runs on, so the same VM with the same input runs the
   * same instructions and prints the same bytes every time.
   */
  deterministic?: { seed: number };
  /** Deterministic mode: told of each console input as it reaches the guest, with the instruction count (record=). */
  onInputRecorded?: (at: bigint, bytes: Uint8Array) => void;
  /**
   * Deterministic mode: console input to give the guest when it has retired
   * exactly these many instructions, in order (replay=); input from the host
   * is then ignored.
   */
  replayInput?: readonly InputEvent[];
  /** Replay: give a logged frame (an event with `nic`) to its network card. */
  replayFrame?: (event: InputEvent) => void;
  /** Called after every run() slice (recorded network cards deliver what came during it). */
  afterSlice?: () => void;
  /**
   * M-mode firmware (e.g. OpenSBI fw_dynamic/fw_jump), loaded at 0x8000_0000
   * and started in M-mode with a0 = hartid, a1 = device tree, a2 = fw_dynamic
   * info, as QEMU's -bios does. Without it the host serves SBI itself.
   */
  firmware?: Uint8Array;
  /** Devices for virtio-mmio slots 0, 1, … (at most 8). */
  virtio?: DeviceFactory[];
  /** Extra serial ports ttyS1..ttyS3 (`index` 1..3) and where their output goes. */
  serialPorts?: Array<{ index: number; onOutput: (bytes: Uint8Array) => void }>;
  /**
   * Translate hot guest code to wasm (src/jit): true/false, or the JIT's
   * options. Default: on (COLINUX_JIT=off turns the default off, to run the
   * test suite interpreted).
   */
  jit?: boolean | JitOptions;
  /**
   * Extensions to leave out (src/machine/isa.ts: parseIsa of an `isa=`
   * value): not in the device tree, and their instructions are illegal.
   */
  disabledExtensions?: readonly string[];
}

/** The JIT setting when the options leave it open: on, unless COLINUX_JIT=off. */
function defaultJit(): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process
    ?.env;
  return env?.['COLINUX_JIT'] !== 'off';
}

export type ExitReason =
  'poweroff' | 'reboot' | 'panic' | 'error' | 'stopped' | 'timeout' | 'suspended';

/**
 * Everything of a machine's state that is not RAM or the hart's block, as
 * plain JSON: device registers, guest time, console input not yet read.
 */
export interface MachineState {
  v: 1;
  /** Guest time (10 MHz ticks) when the state was taken: it goes on from here. */
  ticks: number;
  clint: ClintState;
  plic: PlicState;
  uart: Uart16550State;
  rtc: GoldfishRtcState;
  gpio: SifiveGpioState;
  syscon: SifiveTestState;
  /** Extra UARTs, by index. */
  serials: Array<{ index: number; uart: Uart16550State }>;
  /** One per virtio slot, in slot order. */
  virtio: unknown[];
  /** Console input the guest has not read yet. */
  input: number[];
}

/** A machine's whole state (see Machine.capture). `ram` is a live view: encode it while paused. */
export interface MachineSnapshot {
  state: MachineState;
  hart: Uint8Array;
  ram: Uint8Array;
}

/** How long devices may take to finish requests in flight before a snapshot gives up. */
const SETTLE_TIMEOUT_MS = 30_000;

type SnapshotDevice = MmioDevice & Snapshottable<unknown> & { readonly inFlight?: number };

export interface MachineExit {
  reason: ExitReason;
  /** Process-style exit status: 0 for a clean power-off. */
  exitCode: number;
  /** Human-readable detail (the panic line, the error). */
  message?: string;
  /** What ended it: the syscon device, an SBI call, HTIF `tohost`, or the host. */
  source?: 'syscon' | 'sbi' | 'htif' | 'host';
}

/** A bare-metal program (not a Linux kernel): an ELF linked at physical addresses. */
export function isBareMetalElf(bytes: Uint8Array): boolean {
  if (!isElf(bytes)) return false;
  const elf = parseElf(bytes);
  return elf.entry < 0x8000_0000_0000_0000n;
}

const CSR_MEDELEG = 0x302;
const CSR_MIDELEG = 0x303;
const CSR_MCOUNTEREN = 0x306;
const CSR_SCOUNTEREN = 0x106;
const CSR_MENVCFG = 0x30a;
const CSR_MSTATEEN0 = 0x30c;
// Smstateen: S-mode may use senvcfg (ENVCFG, bit 62) and sstateen0 (SE0).
const MSTATEEN0_SE0_ENVCFG = (1n << 63n) | (1n << 62n);
const CSR_PMPCFG0 = 0x3a0;
const CSR_PMPADDR0 = 0x3b0;
const PMP_NAPOT_RWX = 0x1fn;
const PMPADDR_ALL = 0x3f_ffff_ffff_ffffn;
const MENVCFG_STCE = 1n << 63n;
const MENVCFG_PBMTE = 1n << 62n;
const MENVCFG_ADUE = 1n << 61n;
// Cache-block operations for S-mode, as firmware enables them: cbo.inval
// performs a flush (CBIE = 01), cbo.clean/flush (CBCFE), cbo.zero (CBZE).
const MENVCFG_CBO = (1n << 4n) | (1n << 6n) | (1n << 7n);
const TICKS_PER_MS = 10_000;
/** A debugger stop: what the core hit (DebugStopKind.None: a step ended normally) and where. */
export interface DebugStop {
  kind: DebugStopKind;
  /** The breakpoint's pc, or the watched range's first byte. */
  addr: bigint;
}

const SLICE_MS = 10;
/** virtio device IDs (virtio 1.2 §5) for the trace. */
const VIRTIO_NAMES: Record<number, string> = { 1: 'net', 2: 'block', 9: '9p' };
const NO_DEADLINE = 0xffff_ffff_ffff_ffffn;
const PANIC_GRACE_MS = 1500;

function yieldToHost(): Promise<void> {
  return new Promise((resolve) => {
    if (typeof setImmediate === 'function') setImmediate(resolve);
    else setTimeout(resolve, 0);
  });
}

/**
 * Entropy for the guest's random number generator, passed as /chosen
 * `rng-seed` (as QEMU's virt board does). Linux credits it at once, so its
 * CRNG is ready early; without it the kernel spent about 15% of the default
 * boot's instructions in blake2s and chacha gathering timer jitter.
 */
function rngSeed(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(64));
}

/** Deterministic mode: instructions per 10 MHz tick (a 100 MIPS virtual CPU). */
export const DET_INSNS_PER_TICK = 10;
/** Deterministic mode: the RTC's time at guest time 0 (2026-01-01T00:00:00Z). */
const DET_EPOCH_NS = 1_767_225_600n * 1_000_000_000n;

/** `n` bytes from `seed` (splitmix64): the same seed, the same bytes. */
function seededBytes(seed: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = BigInt.asUintN(64, BigInt(Math.floor(seed)));
  for (let i = 0; i < n; i += 8) {
    x = BigInt.asUintN(64, x + 0x9e3779b97f4a7c15n);
    let z = x;
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
    z ^= z >> 31n;
    for (let j = 0; j < 8 && i + j < n; j++) out[i + j] = Number((z >> BigInt(8 * j)) & 0xffn);
  }
  return out;
}

const SHF_ALLOC = 2n;

/** Does any allocated section overlap virtual addresses [lo, hi)? */
function hasAllocatedBytes(elf: ElfFile, lo: bigint, hi: bigint): boolean {
  return elf.sections.some(
    (sec) =>
      (sec.flags & SHF_ALLOC) !== 0n && sec.size > 0n && sec.addr < hi && sec.addr + sec.size > lo,
  );
}

function jitSetting(jit: MachineOptions['jit']): JitOptions | false {
  const on = jit ?? defaultJit();
  if (on === false) return false;
  return on === true ? {} : on;
}

export class Machine {
  readonly hart: Hart;
  readonly board: VirtBoard;
  private readonly opts: MachineOptions;
  /** The device tree's ISA strings for this machine's extensions. */
  private readonly isa: { isa: string; extensions: string[] };
  /** performance.now() when guest time was 0 (moved back when a snapshot's state is restored). */
  private t0 = performance.now();
  private readonly virtioDevices: MmioDevice[] = [];
  /** Callers of whilePaused() waiting for the run loop to stand still. */
  private pauseWaiters: Array<() => Promise<void>> = [];
  private outBuf = new Uint8Array(4096);
  private outLen = 0;
  private input: number[] = [];
  private exitState: MachineExit | undefined;
  private wakeUp: (() => void) | undefined;
  private running = false;
  private readonly watcher = new ConsoleWatcher();
  private panicSince = 0;
  private virtioSlots: number[] = [];
  private readonly serialLinks: SerialLink[] = [];

  constructor(opts: MachineOptions) {
    if (!Number.isInteger(opts.memMiB) || opts.memMiB < MIN_MEM_MIB || opts.memMiB > MAX_MEM_MIB) {
      throw new BootError(
        `mem=${opts.memMiB}: use a whole number of MiB from ${MIN_MEM_MIB} to ${MAX_MEM_MIB}`,
      );
    }
    this.opts = opts;
    const ramSize = opts.memMiB * 2 ** 20;
    this.isa = isaStrings(opts.disabledExtensions);

    this.hart = new Hart(
      ramSize,
      {
        mmioRead: (addr, size) => {
          try {
            return this.board.bus.read(addr, size as 1 | 2 | 4) ?? 0;
          } catch (e) {
            this.deviceFault(addr, e);
            return 0;
          }
        },
        mmioWrite: (addr, size, value) => {
          try {
            this.board.bus.write(addr, size as 1 | 2 | 4, value);
          } catch (e) {
            this.deviceFault(addr, e);
          }
        },
        time: () => this.ticks(),
      },
      jitSetting(opts.jit),
    );
    const hart = this.hart;
    this.board = createVirtBoard({
      timer: {
        now: () => BigInt(Math.floor(this.ticks())),
        getMtimecmp: () => hart.x.getMtimecmp(),
        setMtimecmp: (v) => hart.x.setMtimecmp(v),
        msip: { set: (level) => hart.setLine(Line.Msip, level) },
      },
      // A rising line (device completion, input) also ends an idle sleep.
      meip: { set: (level) => this.raiseLine(Line.Meip, level) },
      seip: { set: (level) => this.raiseLine(Line.Seip, level) },
      onTransmit: (byte) => this.emit(byte),
      onRxSpace: () => this.feedUart(),
      rtcClock:
        opts.rtcClock ??
        (opts.deterministic
          ? () => DET_EPOCH_NS + BigInt(Math.floor(this.ticks())) * 100n
          : undefined),
      onPowerOff: (code) => this.finish({ reason: 'poweroff', exitCode: code, source: 'syscon' }),
      onReset: () => this.finish({ reason: 'reboot', exitCode: 0, source: 'syscon' }),
      serialPorts: (opts.serialPorts ?? []).map((p) => {
        const link = new SerialLink(p.index, p.onOutput);
        this.serialLinks.push(link);
        return {
          index: p.index,
          onTransmit: (b: number) => link.transmit(b),
          onRxSpace: () => link.feed(),
        };
      }),
      onGpioInputRead: (value, inputEnabled) => this.pinsSampled(value, inputEnabled),
    });
    for (const l of this.serialLinks) l.uart = this.board.serials.get(l.index);
    const virtio = opts.virtio ?? [];
    if (virtio.length > 8) throw new BootError('at most 8 virtio devices fit the virt board');
    const memory: GuestMemory = {
      view: (pa, len) => (hart.inRam(pa, len) ? hart.ramView(pa, len) : undefined),
    };
    virtio.forEach((make, n) => {
      const slot = this.board.virtioSlot(n);
      const tracer = opts.tracer?.kinds.has('virtio') ? opts.tracer : undefined;
      const dev = make({
        memory,
        irq: slot.line,
        wake: () => this.wake(),
        ordered: opts.deterministic !== undefined,
        notified: tracer
          ? (queue, id) =>
              tracer.virtio(hart.x.getInstret(), n, VIRTIO_NAMES[id] ?? `device ${id}`, queue)
          : undefined,
      });
      this.virtioDevices.push(dev);
      this.board.mapVirtio(n, dev);
    });
    this.virtioSlots = virtio.map((_, n) => n);
    for (const r of this.board.bus.ranges()) hart.x.addMmioRange(r.base, r.size);
    if (opts.tracer && (opts.tracer.kinds.has('traps') || opts.tracer.kinds.has('irqs'))) {
      hart.x.traceEnable(1);
    }
    hart.x.setDisabledExtensions(disabledMask(opts.disabledExtensions ?? []));

    if (!opts.kernel) return; // built for restoreState()
    if (isBareMetalElf(opts.kernel)) this.loadBareMetal(parseElf(opts.kernel), ramSize);
    else this.loadLinux(opts.kernel, ramSize);
  }

  private loadLinux(kernel: Uint8Array, ramSize: number): void {
    const opts = this.opts;
    const hart = this.hart;
    const payload = placeKernel(kernel);
    const layout = layoutBoot(ramSize, payload.end, opts.initrd?.length);
    for (const seg of payload.segments) {
      if (!hart.inRam(seg.address, seg.data.length))
        throw new BootError('the kernel does not fit in RAM');
      hart.ramView(seg.address, seg.data.length).set(seg.data);
    }
    if (opts.initrd && layout.initrd)
      hart.ramView(layout.initrd.start, opts.initrd.length).set(opts.initrd);
    const dtb = buildDeviceTree({
      ramBase: RAM_BASE,
      ramSize,
      bootargs: opts.cmdline,
      initrd: layout.initrd,
      rngSeed: this.opts.deterministic ? seededBytes(this.opts.deterministic.seed, 64) : rngSeed(),
      isa: this.isa.isa,
      isaExtensions: this.isa.extensions,
      mmuType: 'sv39',
      virtioSlots: this.virtioSlots,
      serialPorts: this.serialLinks.map((l) => l.index),
    });
    if (dtb.length > 0x10_0000) throw new BootError('device tree too large');
    hart.ramView(layout.dtbAddress, dtb.length).set(dtb);

    if (opts.firmware) {
      this.startFirmware(opts.firmware, payload.entry, layout.dtbAddress, ramSize);
      return;
    }
    // Cooperative boot: S-mode at the kernel entry, SBI served by the host,
    // every trap and supervisor interrupt delegated to S-mode.
    hart.x.setHostSbi(1);
    hart.setCsr(CSR_MEDELEG, 0xffffn);
    hart.setCsr(CSR_MIDELEG, 0xffffn);
    // As firmware does (Linux never sets scounteren): cycle, time and instret
    // readable from S and U, so the vDSO's clock_gettime can use rdtime.
    hart.setCsr(CSR_MCOUNTEREN, 0x7n);
    hart.setCsr(CSR_SCOUNTEREN, 0x7n);
    hart.setCsr(CSR_MENVCFG, MENVCFG_STCE | MENVCFG_PBMTE | MENVCFG_ADUE | MENVCFG_CBO);
    hart.setCsr(CSR_MSTATEEN0, MSTATEEN0_SE0_ENVCFG);
    // With PMP implemented, S/U accesses matching no entry fail: open all of
    // memory to them, as firmware does.
    hart.setCsr(CSR_PMPADDR0, PMPADDR_ALL);
    hart.setCsr(CSR_PMPCFG0, PMP_NAPOT_RWX);
    hart.setReg(10, 0n);
    hart.setReg(11, BigInt(layout.dtbAddress));
    hart.pc = BigInt(payload.entry);
    hart.x.setPriv(1);
  }

  /** Firmware boot: M-mode at the firmware entry, the firmware serves SBI. */
  private startFirmware(
    firmware: Uint8Array,
    kernelEntry: number,
    dtbAddress: number,
    ramSize: number,
  ): void {
    const hart = this.hart;
    const fw = placeFirmware(firmware);
    if (fw.end > FIRMWARE_LIMIT) {
      throw new BootError(
        `the firmware is too large: it ends at 0x${fw.end.toString(16)}, past the kernel at 0x${FIRMWARE_LIMIT.toString(16)}`,
      );
    }
    for (const seg of fw.segments) {
      if (!hart.inRam(seg.address, seg.data.length))
        throw new BootError('the firmware does not fit in RAM');
      hart.ramView(seg.address, seg.data.length).set(seg.data);
    }
    const infoAddress = RAM_BASE + ramSize - 4096; // last page, above the device tree
    hart.ramView(infoAddress, 48).set(fwDynamicInfo(kernelEntry));
    hart.setReg(10, 0n);
    hart.setReg(11, BigInt(dtbAddress));
    hart.setReg(12, BigInt(infoAddress));
    hart.pc = BigInt(fw.entry);
    hart.x.setPriv(3);
  }

  /** Load an ELF at its physical addresses and start it in M-mode (as QEMU -bios none, or Spike). */
  private loadBareMetal(elf: ElfFile, ramSize: number): void {
    const hart = this.hart;
    for (const seg of elf.segments) {
      if (seg.memSize === 0n) continue;
      let paddr = seg.paddr;
      let data = seg.data;
      let size = Number(seg.memSize);
      // Linkers often put the ELF headers in the first segment, below the
      // program's first section; skip such bytes if they fall outside RAM.
      const below = BigInt(RAM_BASE) - paddr;
      if (
        below > 0n &&
        below < seg.memSize &&
        !hasAllocatedBytes(elf, seg.vaddr, seg.vaddr + below)
      ) {
        paddr += below;
        data = data.subarray(Math.min(data.length, Number(below)));
        size -= Number(below);
      }
      if (!hart.inRam(paddr, size)) {
        throw new BootError(
          `ELF segment at 0x${seg.paddr.toString(16)} (${size} bytes) is outside RAM (0x80000000, ${ramSize / 2 ** 20} MiB)`,
        );
      }
      const view = hart.ramView(paddr, size);
      view.fill(0);
      view.set(data.subarray(0, Math.min(data.length, size)));
    }
    const tohost = elf.symbols.get('tohost');
    if (tohost !== undefined) {
      if (!hart.inRam(tohost, 8)) throw new BootError('the ELF symbol tohost is not in RAM');
      this.htif = new Htif(hart, tohost, elf.symbols.get('fromhost'), {
        console: (bytes) => this.emitBytes(bytes),
        exit: (code) => this.finish({ reason: 'poweroff', exitCode: code, source: 'htif' }),
      });
      hart.x.setHtif(tohost);
    }
    const dtb = buildDeviceTree({
      ramBase: RAM_BASE,
      ramSize,
      bootargs: this.opts.cmdline,
      isa: this.isa.isa,
      isaExtensions: this.isa.extensions,
      mmuType: 'sv48',
      virtioSlots: this.virtioSlots,
      serialPorts: this.serialLinks.map((l) => l.index),
    });
    const dtbAddress = RAM_BASE + ramSize - 0x10_0000;
    hart.ramView(dtbAddress, dtb.length).set(dtb);
    hart.setReg(10, 0n);
    hart.setReg(11, BigInt(dtbAddress));
    hart.pc = elf.entry;
    hart.x.setPriv(3);
  }

  private htif: Htif | undefined;

  /**
   * Run `f` while the machine stands still: the hart stopped at an
   * instruction boundary (the run loop finishes its current slice) and no
   * device request in flight (they are let finish first). The run loop goes
   * on afterwards unless `f` stopped the machine. Works on a machine that is
   * not running too.
   */
  whilePaused<T>(f: () => Promise<T> | T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const job = async (): Promise<void> => {
        try {
          await this.settleDevices();
          resolve(await f());
        } catch (e) {
          reject(e);
        }
      };
      if (!this.running) {
        void job();
        return;
      }
      this.pauseWaiters.push(job);
      this.wake();
    });
  }

  private async settleDevices(): Promise<void> {
    const deadline = performance.now() + SETTLE_TIMEOUT_MS;
    for (;;) {
      const busy = this.busySlot();
      if (busy < 0) return;
      if (performance.now() > deadline) {
        throw new Error(
          `virtio device in slot ${busy} did not finish its requests within ${SETTLE_TIMEOUT_MS / 1000} s`,
        );
      }
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  /**
   * The machine's whole state. Call it inside whilePaused(), and finish
   * with the RAM view before the callback returns.
   */
  capture(): MachineSnapshot {
    if (this.htif) throw new Error('a bare-metal program with HTIF cannot be snapshotted');
    const devices = this.virtioDevices.map((d, n) => {
      const dev = d as Partial<SnapshotDevice>;
      if (typeof dev.save !== 'function') {
        throw new Error(`the device in virtio slot ${n} cannot be snapshotted`);
      }
      return dev.save();
    });
    this.flushOutput();
    const b = this.board;
    return {
      state: {
        v: 1,
        ticks: this.ticks(),
        clint: b.clint.save(),
        plic: b.plic.save(),
        uart: b.uart.save(),
        rtc: b.rtc.save(),
        gpio: b.gpio.save(),
        syscon: b.syscon.save(),
        serials: [...b.serials].map(([index, uart]) => ({ index, uart: uart.save() })),
        virtio: devices,
        input: this.input.slice(),
      },
      hart: this.hart.saveState(),
      ram: this.hart.ram,
    };
  }

  /**
   * Take a state from capture() of a machine built with the same options
   * (RAM size, virtio devices in the same slots, serial ports), after its
   * RAM was filled. The state is outside input: anything malformed is
   * refused with an error, and the machine must then be discarded.
   */
  restoreState(state: MachineState, hart: Uint8Array): void {
    if (state?.v !== 1) throw new Error('unknown machine state version');
    if (!Number.isFinite(state.ticks) || state.ticks < 0) throw new Error('bad guest time');
    if (!Array.isArray(state.virtio) || state.virtio.length !== this.virtioDevices.length) {
      throw new Error(
        `the snapshot has ${state.virtio?.length} virtio devices; this machine has ${this.virtioDevices.length}`,
      );
    }
    const serials = Array.isArray(state.serials) ? state.serials : [];
    const ours = [...this.board.serials.keys()].sort().join(',');
    if (
      serials
        .map((s) => s.index)
        .sort()
        .join(',') !== ours
    ) {
      throw new Error('the snapshot has other serial ports than this machine');
    }
    this.hart.loadState(hart);
    this.t0 = performance.now() - state.ticks / TICKS_PER_MS;
    this.idleTicks = state.ticks - Number(this.hart.x.getInstret()) / DET_INSNS_PER_TICK;
    const b = this.board;
    b.clint.restore(state.clint);
    b.plic.restore(state.plic);
    b.uart.restore(state.uart);
    b.rtc.restore(state.rtc);
    b.gpio.restore(state.gpio);
    b.syscon.restore(state.syscon);
    for (const s of serials) b.serials.get(s.index)!.restore(s.uart);
    this.virtioDevices.forEach((d, n) => (d as SnapshotDevice).restore(state.virtio[n]));
    this.input = Array.isArray(state.input)
      ? state.input.slice(0, 1 << 20).map((v) => Number(v) & 0xff)
      : [];
    // RAM was written behind the translator's back: nothing translated may survive.
    this.hart.jit?.flush();
  }

  /** Deterministic mode: guest time spent idle (skipped), in ticks. */
  private idleTicks = 0;

  /** Guest time in 10 MHz ticks since the machine was created. */
  private ticks(): number {
    if (this.opts.deterministic) {
      // (The hart exists once the constructor is done; nothing asks before.)
      return Number(this.hart?.x.getInstret() ?? 0n) / DET_INSNS_PER_TICK + this.idleTicks;
    }
    return ((this.debugHalted ? this.haltedAt : performance.now()) - this.t0) * TICKS_PER_MS;
  }

  /** Move the core's trap trace to the tracer, and write what it gathered. */
  private drainTrace(): void {
    const x = this.hart.x;
    const tracer = this.opts.tracer!;
    const count = x.traceEntries();
    if (count > 0) {
      const size = x.traceEntryBytes();
      const view = new DataView(x.memory.buffer, x.traceBuffer(), count * size);
      for (let i = 0; i < count; i++) {
        const e = i * size;
        tracer.trap(
          view.getBigUint64(e, true),
          view.getBigUint64(e + 8, true),
          view.getBigUint64(e + 16, true),
          view.getBigUint64(e + 24, true),
          view.getUint32(e + 32, true),
          view.getUint32(e + 36, true),
        );
      }
      const lost = x.traceLost();
      if (lost > 0) tracer.lost(x.getInstret(), lost);
      x.traceClear();
    }
    tracer.flush();
  }

  /** The first virtio slot with requests in flight, or -1. */
  private busySlot(): number {
    return this.virtioDevices.findIndex((d) => ((d as SnapshotDevice).inFlight ?? 0) > 0);
  }

  /**
   * Queue console input for the guest (it reaches the UART as the guest
   * reads). Host code runs between run() slices, so the input arrives at an
   * exact instruction count, which record= keeps; a replay ignores it.
   */
  sendInput(bytes: Uint8Array | string): void {
    if (this.opts.replayInput) return;
    const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
    this.opts.onInputRecorded?.(this.hart.x.getInstret(), data);
    this.acceptInput(data);
  }

  private acceptInput(data: Uint8Array): void {
    for (const b of data) this.input.push(b);
    this.feedUart();
    this.wake();
  }

  /** Replay: the next recorded input not given to the guest yet. */
  private replayNext = 0;

  /** Replay: give the guest the inputs due at (or before) the current instruction count. */
  private replayDue(): void {
    const events = this.opts.replayInput!;
    const now = this.hart.x.getInstret();
    while (this.replayNext < events.length && events[this.replayNext]!.at <= now) {
      this.replayEvent(events[this.replayNext++]!);
    }
  }

  private replayEvent(e: InputEvent): void {
    if (e.nic === undefined) this.acceptInput(e.bytes);
    else this.opts.replayFrame?.(e);
  }

  /** True while the hart runs a slice (device callbacks then come from inside it). */
  inSlice = false;

  /** Stop the machine from the host side. */
  stop(reason: ExitReason = 'stopped', exitCode = 0, message?: string): void {
    this.finish({ reason, exitCode, message, source: 'host' });
    this.wake();
  }

  /**
   * Press the power button (a momentary push: it is released as soon as the
   * guest has read it pressed). The guest's gpio-keys driver reports
   * KEY_POWER; acpid or systemd-logind then shut the system down cleanly.
   */
  pressPowerButton(): void {
    this.press(POWER_BUTTON_PIN);
  }

  /**
   * Close and open the resume switch (after a resume from a snapshot): the
   * guest's gpio-keys driver reports SW_LID, and the default image's acpid
   * sets the system clock from the RTC.
   */
  signalResumed(): void {
    this.press(RESUME_SWITCH_PIN);
  }

  /** Pull an active-low pin low until the guest has read it low (a momentary push). */
  private press(pin: number): void {
    this.board.gpio.setPin(pin, false);
    this.wake();
  }

  private pinsSampled(value: number, inputEnabled: number): void {
    const gpio = this.board.gpio;
    for (const pin of [POWER_BUTTON_PIN, RESUME_SWITCH_PIN]) {
      const bit = 1 << pin;
      if (!gpio.pin(pin) && (inputEnabled & bit) !== 0 && (value & bit) === 0) {
        gpio.setPin(pin, true);
      }
    }
  }

  /** Send input to extra serial port ttyS`index` (held until the guest's driver listens). */
  sendSerialInput(index: number, bytes: Uint8Array): void {
    const link = this.serialLinks.find((l) => l.index === index);
    if (!link) throw new RangeError(`no serial port ttyS${index} on this machine`);
    link.send(bytes);
    this.wake();
  }

  private feedUart(): void {
    for (const l of this.serialLinks) l.feed();
    if (this.input.length === 0 || !this.board.uart.receiverReady()) return;
    const n = this.board.uart.pushInput(Uint8Array.from(this.input.slice(0, 256)));
    if (n > 0) this.input.splice(0, n);
  }

  private emit(byte: number): void {
    if (this.outLen === this.outBuf.length) this.flushOutput();
    this.outBuf[this.outLen++] = byte;
  }

  private emitBytes(bytes: Uint8Array): void {
    for (const b of bytes) this.emit(b);
  }

  private flushOutput(): void {
    for (const l of this.serialLinks) l.flush();
    if (this.outLen === 0) return;
    const chunk = this.outBuf.slice(0, this.outLen);
    this.outLen = 0;
    if (this.watcher.scan(chunk) && this.panicSince === 0) this.panicSince = performance.now();
    this.opts.onOutput?.(chunk);
  }

  private finish(state: MachineExit): void {
    if (!this.exitState) this.exitState = state;
    this.hart.x.requestExit(Exit.Requested);
  }

  private readonly sbiHost = {
    consoleWrite: (b: Uint8Array) => this.emitBytes(b),
    consoleRead: () => (this.input.length ? this.input.shift()! : -1),
    systemReset: (kind: 'shutdown' | 'reboot', code: number) =>
      this.finish({
        reason: kind === 'shutdown' ? 'poweroff' : 'reboot',
        exitCode: code,
        source: 'sbi',
      }),
  };

  /** A device threw: never let it unwind through the CPU core; stop the VM with the reason. */
  private deviceFault(addr: number, e: unknown): void {
    this.finish({
      reason: 'error',
      exitCode: 1,
      message: `${addr ? `device at 0x${addr.toString(16)}` : 'host service'} failed: ${(e as Error).message ?? String(e)}`,
      source: 'host',
    });
  }

  private raiseLine(line: Line, level: boolean): void {
    this.hart.setLine(line, level);
    if (level) this.wake();
  }

  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        if (this.wakeUp === done) this.wakeUp = undefined;
        resolve();
      };
      if (ms !== Infinity) timer = setTimeout(done, Math.max(0, ms));
      this.wakeUp = done;
    });
  }

  /** Serve a run() exit that needs the host: an SBI call, a trap to M-mode, HTIF. */
  private serve(r: Exit): void {
    const hart = this.hart;
    if (r === Exit.Ecall) {
      const tracer = this.opts.tracer?.kinds.has('sbi') ? this.opts.tracer : undefined;
      const call = tracer && [hart.reg(17), hart.reg(16), hart.reg(10), hart.reg(11)];
      try {
        handleSbiCall(hart, this.sbiHost);
      } catch (e) {
        this.deviceFault(0, e);
      }
      if (tracer && call) {
        const [eid, fid, a0, a1] = call;
        const at = hart.x.getInstret();
        tracer.sbi(
          at,
          Number(eid! & 0xffffffffn),
          Number(fid! & 0xffffffffn),
          a0!,
          a1!,
          hart.reg(10),
          hart.reg(11),
        );
      }
    } else if (r === Exit.MachineTrap) {
      const cause = hart.csr(0x342);
      const epc = hart.csr(0x341);
      const tval = hart.csr(0x343);
      this.finish({
        reason: 'error',
        exitCode: 1,
        message: `guest trap reached M-mode (mcause=0x${cause.toString(16)} mepc=0x${epc.toString(16)} mtval=0x${tval.toString(16)}); the kernel cannot continue`,
      });
    } else if (r === Exit.Htif) {
      try {
        this.htif?.service();
      } catch (e) {
        this.deviceFault(0, e);
      }
    }
  }

  // ---- Debugger (src/debug) ----
  //
  // Host code runs only between run() slices, so whenever a debugger's
  // request is handled the hart stands at an instruction boundary: holding
  // it takes effect at once. While held, guest time stands still (as QEMU
  // stops its virtual clock), so timers do not all fire on continue.

  /** Set while a debugger holds the hart: the run loop idles. */
  private debugHalted = false;
  private haltedAt = 0;
  private debugOnStop: ((stop: DebugStop) => void) | undefined;

  /** Hold the hart (Ctrl-C in the debugger, or before the first instruction). */
  debugHalt(): void {
    if (this.debugHalted) return;
    this.debugHalted = true;
    this.haltedAt = performance.now();
  }

  /** Let a held hart run; `onStop` hears of the next breakpoint or watchpoint hit. */
  debugContinue(onStop: (stop: DebugStop) => void): void {
    this.debugOnStop = onStop;
    if (!this.debugHalted) return;
    this.t0 += performance.now() - this.haltedAt;
    this.debugHalted = false;
    // Resuming at a breakpoint executes it rather than stopping again.
    this.hart.x.debugResumeAt(this.hart.pc);
    this.wake();
  }

  /** Execute one instruction of a held hart, interrupts held back; returns what ended it. */
  debugStep(): DebugStop {
    const hart = this.hart;
    hart.x.debugResumeAt(hart.pc);
    hart.x.debugNoIrq(1);
    try {
      const r = hart.run(1);
      if (r === Exit.Debug) return this.debugStopOf();
      if (r !== Exit.Budget && r !== Exit.Wfi) this.serve(r);
    } finally {
      hart.x.debugNoIrq(0);
      // The step may have ended the VM (a power-off call): the idle run loop must see it.
      if (this.exitState) this.wake();
    }
    return { kind: DebugStopKind.None, addr: 0n };
  }

  private debugStopOf(): DebugStop {
    return {
      kind: this.hart.x.debugStopKind() as DebugStopKind,
      addr: BigInt.asUintN(64, this.hart.x.debugStopAddr()),
    };
  }

  private debugStopHit(): void {
    this.debugHalt();
    const onStop = this.debugOnStop;
    this.debugOnStop = undefined;
    onStop?.(this.debugStopOf());
  }

  /** Boot and run until the guest powers off, reboots, panics or is stopped. */
  async run(): Promise<MachineExit> {
    if (this.running) throw new Error('machine is already running');
    this.running = true;
    const budget = this.opts.sliceInstructions ?? 200_000;
    const limit =
      this.opts.instructionLimit === undefined ? undefined : BigInt(this.opts.instructionLimit);
    const hart = this.hart;
    const profile = this.opts.profile;
    const det = this.opts.deterministic !== undefined;
    const replay = this.opts.replayInput;
    const every = BigInt(profile?.interval ?? 0);
    let nextSample = hart.x.getInstret() + every;
    try {
      for (;;) {
        const sliceEnd = performance.now() + SLICE_MS;
        let sleepMs = -1;
        let settle = false;
        while (!this.exitState && !this.debugHalted) {
          let n = budget;
          if (replay) {
            this.replayDue();
            const next = replay[this.replayNext];
            if (next) n = Math.max(1, Math.min(n, Number(next.at - hart.x.getInstret())));
          }
          if (det) {
            // Stop exactly at the next timer deadline, so its interrupt is
            // taken at the same instruction every time.
            const d = BigInt.asUintN(64, hart.x.nextDeadline());
            if (d !== NO_DEADLINE) {
              n = Math.max(
                1,
                Math.min(n, Math.ceil((Number(d) - this.ticks()) * DET_INSNS_PER_TICK)),
              );
            }
          }
          // Run exactly to the next sample point (run() retires its budget exactly).
          if (profile) n = Math.max(1, Math.min(n, Number(nextSample - hart.x.getInstret())));
          this.inSlice = true;
          const r = hart.run(n);
          this.inSlice = false;
          this.opts.afterSlice?.();
          if (this.opts.tracer) this.drainTrace();
          if (profile) {
            const now = hart.x.getInstret();
            if (now >= nextSample) {
              profile.add(hart.pc, hart.x.getPriv());
              nextSample = now + every;
            }
          }
          if (det) {
            // Input waiting for the UART goes in at this exact boundary, not
            // whenever a slice happens to end on the host's clock.
            this.feedUart();
            // A device request started: it completes before the guest runs on.
            if (this.busySlot() >= 0) settle = true;
          }
          if (r === Exit.Budget) {
            if (settle || performance.now() >= sliceEnd) break;
          } else if (r === Exit.Wfi) {
            const deadline = BigInt.asUintN(64, hart.x.nextDeadline());
            if (det && !settle) {
              // Idle time is skipped: the clock jumps to the deadline.
              if (deadline === NO_DEADLINE) {
                // Waiting for input: a replay gives the next one now (the
                // guest was waiting for it here when it was recorded).
                const next = replay?.[this.replayNext];
                if (next) {
                  this.replayEvent(next);
                  this.replayNext++;
                  continue;
                }
                sleepMs = Infinity;
                break;
              }
              const now = this.ticks();
              if (Number(deadline) > now) this.idleTicks += Number(deadline) - now;
              continue;
            }
            if (deadline === NO_DEADLINE) sleepMs = Infinity;
            // Whole milliseconds, rounded up: host timers have millisecond
            // resolution, and a wake-up before the deadline only finds the
            // guest still waiting and costs a second wake-up.
            else sleepMs = det ? 0 : Math.ceil((Number(deadline) - this.ticks()) / TICKS_PER_MS);
            break;
          } else if (r === Exit.Debug) {
            this.debugStopHit();
            break;
          } else {
            this.serve(r);
          }
          if (settle) break;
          if (limit !== undefined && hart.x.getInstret() >= limit) {
            this.finish({
              reason: 'timeout',
              exitCode: 1,
              message: `instruction limit reached`,
              source: 'host',
            });
          }
        }
        this.flushOutput();
        this.feedUart();
        this.board.rtc.update();
        if (
          this.panicSince &&
          (this.watcher.panicEnded || performance.now() - this.panicSince > PANIC_GRACE_MS)
        ) {
          this.finish({ reason: 'panic', exitCode: 1, message: this.watcher.panicLine });
        }
        if (this.exitState) return this.exitState;
        if (this.pauseWaiters.length > 0) {
          for (const job of this.pauseWaiters.splice(0)) await job();
          continue;
        }
        if (settle) {
          await this.settleDevices();
          continue;
        }
        if (this.debugHalted) {
          // Held by a debugger: idle until it lets go (or the VM is stopped).
          await this.sleep(Infinity);
          continue;
        }
        // Input fed or a device raised a line since the guest went idle: run, don't sleep.
        if (sleepMs > 0 && hart.x.interruptWaiting()) sleepMs = 0;
        if (sleepMs > 0.05) {
          await this.sleep(this.panicSince ? Math.min(sleepMs, 50) : sleepMs);
        } else {
          await yieldToHost();
        }
      }
    } finally {
      this.flushOutput();
      this.running = false;
    }
  }
}

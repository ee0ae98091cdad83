/**
 * The hart: a thin typed wrapper around the wasm core (src/cpu). The core
 * imports its linear memory, which this creates and sizes: the core's
 * constant data, the hart's state block, then guest RAM from `ramOffset`,
 * which the machine reads and writes directly through `ram`.
 */
import { cpuWasmBase64, cpuMemoryPages } from './cpu-wasm.js';
import { Jit, type JitCore, type JitOptions } from '../jit/jit.js';

/** Exit reasons of `run()` (src/cpu/state.ts). */
export const enum Exit {
  Budget = 0,
  Wfi = 1,
  Ecall = 2,
  Htif = 3,
  Requested = 4,
  MachineTrap = 5,
  /** The eager JIT (tests) queued an entry: translate, then run on. */
  Translate = 6,
  /** A debugger breakpoint or watchpoint: pc is the instruction, not executed. */
  Debug = 7,
}

/** Why the core stopped for a debugger (src/cpu/debug.ts STOP_*). */
export const enum DebugStopKind {
  None = 0,
  Break = 1,
  WatchWrite = 2,
  WatchRead = 3,
  WatchAccess = 4,
}

/** Interrupt lines the devices drive (src/cpu/index.ts). */
export const enum Line {
  Msip = 0,
  Meip = 1,
  Seip = 2,
}

export const RAM_BASE = 0x8000_0000;

interface CoreExports extends JitCore {
  memory: WebAssembly.Memory;
  layout(ramBytes: number): number;
  init(ramBytes: number): number;
  reset(): void;
  run(budget: number): number;
  getPc(): bigint;
  setPc(v: bigint): void;
  getPriv(): number;
  setPriv(p: number): void;
  getX(i: number): bigint;
  setX(i: number, v: bigint): void;
  getF(i: number): bigint;
  setF(i: number, v: bigint): void;
  getInstret(): bigint;
  setHartId(id: bigint): void;
  setHostSbi(on: number): void;
  readCsr(addr: number): bigint;
  writeCsr(addr: number, v: bigint): number;
  setLine(line: number, level: number): void;
  getMtimecmp(): bigint;
  setMtimecmp(v: bigint): void;
  getStimecmp(): bigint;
  setStimecmp(v: bigint): void;
  nextDeadline(): bigint;
  pollTimers(): void;
  interruptWaiting(): number;
  setHtif(pa: bigint): void;
  /** Extensions the machine lacks (src/machine/isa.ts disabledMask): their instructions trap. */
  setDisabledExtensions(mask: number): void;
  getHtifValue(): bigint;
  requestExit(reason: number): void;
  addMmioRange(base: number, size: number): void;
  ramOffset(): number;
  hostWrote(pa: bigint, len: bigint): void;
  hartState(): number;
  hartStateBytes(): number;
  hartStateLoaded(): number;
  debugSetBreak(va: bigint, on: number): number;
  debugSetWatch(va: bigint, len: bigint, kind: number, on: number): number;
  debugClear(): void;
  debugResumeAt(pc: bigint): void;
  debugNoIrq(on: number): void;
  debugStopKind(): number;
  debugStopAddr(): bigint;
  debugTranslate(va: bigint): bigint;
  traceEnable(on: number): void;
  traceBuffer(): number;
  traceClear(): void;
  traceEntries(): number;
  traceEntryBytes(): number;
  traceLost(): number;
}

/** What the core calls back into. */
export interface CoreHost {
  mmioRead(addr: number, size: number): number;
  mmioWrite(addr: number, size: number, value: number): void;
  /** Current time in 10 MHz ticks. */
  time(): number;
}

let compiled: WebAssembly.Module | undefined;

function coreModule(): WebAssembly.Module {
  if (!compiled) {
    const bin = atob(cpuWasmBase64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    compiled = new WebAssembly.Module(bytes);
  }
  return compiled;
}

export class Hart {
  readonly x: CoreExports;
  readonly ramSize: number;
  /** Guest RAM, physical RAM_BASE .. RAM_BASE + ramSize. */
  readonly ram: Uint8Array;

  /** The translator, when the JIT is on. */
  readonly jit: Jit | undefined;

  constructor(ramSize: number, host: CoreHost, jit?: JitOptions | false) {
    const memory = new WebAssembly.Memory({ initial: cpuMemoryPages });
    const instance = new WebAssembly.Instance(coreModule(), {
      env: {
        memory,
        mmioRead: (addr: number, size: number) => host.mmioRead(addr >>> 0, size) >>> 0,
        mmioWrite: (addr: number, size: number, value: number) =>
          host.mmioWrite(addr >>> 0, size, value >>> 0),
        hostTime: () => host.time(),
        abort: () => {
          throw new Error('colinux: internal error in the CPU core');
        },
      },
    });
    this.x = instance.exports as unknown as CoreExports;
    const noRoom = `cannot allocate ${ramSize / 2 ** 20} MiB of guest RAM`;
    const bytes = this.x.layout(ramSize) >>> 0;
    if (bytes === 0) throw new Error(noRoom);
    try {
      memory.grow(bytes / 65536 - memory.buffer.byteLength / 65536);
    } catch {
      throw new Error(noRoom);
    }
    const offset = this.x.init(ramSize);
    if (offset === 0) throw new Error(noRoom);
    this.ramSize = ramSize;
    this.ram = new Uint8Array(this.x.memory.buffer, offset, ramSize);
    this.jit = jit ? new Jit(this.x, jit) : undefined;
  }

  run(budget: number): Exit {
    const r = this.x.run(budget) as Exit;
    this.jit?.service();
    return r;
  }

  get pc(): bigint {
    return this.x.getPc();
  }
  set pc(v: bigint) {
    this.x.setPc(v);
  }
  reg(i: number): bigint {
    return this.x.getX(i);
  }
  setReg(i: number, v: bigint): void {
    this.x.setX(i, BigInt.asUintN(64, v));
  }
  csr(addr: number): bigint {
    return this.x.readCsr(addr);
  }
  setCsr(addr: number, v: bigint): void {
    this.x.writeCsr(addr, BigInt.asUintN(64, v));
  }
  setLine(line: Line, level: boolean): void {
    this.x.setLine(line, level ? 1 : 0);
  }

  /**
   * A copy of the hart's architectural state: registers, CSRs, FP state,
   * reservation, PMP (one block of the core's memory; caches excluded).
   */
  saveState(): Uint8Array {
    const at = this.x.hartState() >>> 0;
    return new Uint8Array(this.x.memory.buffer, at, this.x.hartStateBytes() >>> 0).slice();
  }

  /**
   * Put back a state from saveState() of a hart of the same core build. The
   * bytes are checked like any input from outside: a state no hart could be
   * in is refused (RangeError) and the hart is reset.
   */
  loadState(state: Uint8Array): void {
    const size = this.x.hartStateBytes() >>> 0;
    if (state.length !== size) {
      throw new RangeError(`hart state of ${state.length} bytes; this core's is ${size}`);
    }
    new Uint8Array(this.x.memory.buffer, this.x.hartState() >>> 0, size).set(state);
    this.jit?.flush();
    if (!this.x.hartStateLoaded()) {
      this.x.reset();
      throw new RangeError('hart state holds values no hart can (privilege level or CSR fields)');
    }
  }

  /** Is [pa, pa + len) entirely inside guest RAM? */
  inRam(pa: bigint | number, len: number): boolean {
    const off = Number(BigInt(pa) - BigInt(RAM_BASE));
    return off >= 0 && len >= 0 && off + len <= this.ramSize;
  }

  /**
   * View of guest RAM at physical `pa` (caller checked inRam). The caller may
   * write through it: translated code of those pages is dropped.
   */
  ramView(pa: bigint | number, len: number): Uint8Array {
    if (this.jit && len > 0) this.x.hostWrote(BigInt(pa), BigInt(len));
    const off = Number(BigInt(pa) - BigInt(RAM_BASE));
    return this.ram.subarray(off, off + len);
  }
}

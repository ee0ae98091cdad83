/**
 * The JIT manager (DESIGN.md §6.2). Between run slices it takes the blocks
 * the core found hot, translates them in batches into one wasm module each,
 * and installs the functions in the core's table. The core counts, dispatches
 * and invalidates (src/cpu/jit.ts, src/cpu/codepages.ts); nothing here runs
 * while guest code does.
 *
 * No Node-specific APIs: this runs in a browser too, where a large module
 * cannot be compiled synchronously on the main thread; then it is compiled
 * asynchronously and installed when ready (if its pages are unchanged).
 */
import { formRegion } from './block.js';
import { emitRegion, LOCALS, type CoreLayout } from './codegen.js';
import { encodeModule, I32, I64, type FuncBody, type Import } from './wasm-encoder.js';

/** What the JIT needs from the core instance (src/cpu/index.ts exports). */
export interface JitCore {
  memory: WebAssembly.Memory;
  table: WebAssembly.Table;
  loadTable: WebAssembly.Global;
  storeTable: WebAssembly.Global;
  jitPc: WebAssembly.Global;
  jitStatus: WebAssembly.Global;
  jitLoad: (...args: never[]) => unknown;
  jitStore: (...args: never[]) => unknown;
  jitMulDiv: (...args: never[]) => unknown;
  jitFp: (...args: never[]) => unknown;
  jitFma: (...args: never[]) => unknown;
  jitEnable(on: number, threshold: number, eager: number): void;
  jitQueue(): number;
  jitInstructions(): bigint;
  jitCallCount(): bigint;
  jitQueued(): number;
  jitClearQueue(): void;
  jitMarkCode(host: number): number;
  jitInstall(host: number, word: number, fn: number, maxLen: number): number;
  jitReject(host: number, word: number): void;
  jitDropSlots(lo: number, hi: number): void;
  jitFlush(): void;
  expandRvc(c: number): number;
  decodeInsn(inst: number): number;
  xregs(): number;
  fregs(): number;
  mstatusAddr(): number;
  fflagsAddr(): number;
  frmAddr(): number;
  tlbIndexMask(): number;
}

/**
 * Executions of a block entry before it is translated. Measured on 2 cores
 * (docs/architecture.md, JIT): 50000 boots as fast as 10000 and runs 400
 * short-lived processes 20-30 % faster, since less warm kernel code is
 * compiled (and tiered up by V8 in the background, on the other core).
 */
export const DEFAULT_JIT_THRESHOLD = 50_000;

/** Default budget of the translation cache (`jitcache=`), MiB. */
export const DEFAULT_JIT_CACHE_MIB = 64;

export interface JitOptions {
  /** Executions of a block entry before it is translated (default DEFAULT_JIT_THRESHOLD). */
  threshold?: number;
  /**
   * Budget for translated code, in bytes of engine memory (estimated from
   * the modules' size, see COST_PER_BYTE). The oldest modules are evicted
   * to stay within it. Default DEFAULT_JIT_CACHE_MIB.
   */
  cacheBytes?: number;
  /** Hot entries that make a batch worth compiling at once (default 64). */
  batch?: number;
  /** Run slices after which a smaller batch is compiled anyway (default 8). */
  patience?: number;
  /**
   * Translate each entry before it runs at all: run() returns as soon as one
   * is queued, and the next service() translates it (for tests, with
   * threshold 1 and batch 1, so that every instruction runs translated).
   */
  eager?: boolean;
}

export interface JitStats {
  /** Blocks installed since the start. */
  blocks: number;
  /** Modules compiled since the start. */
  modules: number;
  rejected: number;
  /** Modules evicted to stay within the budget, and their blocks. */
  evictedModules: number;
  evictedBlocks: number;
  /** Live modules and their estimated engine memory, bytes. */
  liveModules: number;
  cacheBytes: number;
  /** Modules the engine refused (a translator bug); their blocks stay interpreted. */
  errors: number;
  lastError?: string;
}

/**
 * Estimated engine memory per byte of a module's wasm, and per module. V8
 * keeps the wire bytes, the module's metadata, baseline (Liftoff) code and,
 * for hot functions, optimised (TurboFan) code; what it frees lags behind
 * eviction until its next garbage collection. The factors are measured
 * (docs/architecture.md, "JIT memory").
 */
const COST_PER_BYTE = 8;
const COST_PER_MODULE = 16 * 1024;
/** Table slots for translations: a ring, far more than a budget's worth of blocks. */
const SLOTS = 1 << 16;

const BLOCK_TYPE = 0;
const MIN_BLOCK = 4;
const IMPORTS: Import[] = [
  { module: 'env', name: 'jitLoad', kind: 'func', type: 1 },
  { module: 'env', name: 'jitStore', kind: 'func', type: 2 },
  { module: 'env', name: 'jitMulDiv', kind: 'func', type: 3 },
  { module: 'env', name: 'jitFp', kind: 'func', type: 4 },
  { module: 'env', name: 'jitFma', kind: 'func', type: 5 },
  { module: 'env', name: 'memory', kind: 'memory' },
  { module: 'env', name: 'loadTable', kind: 'global', valType: I32, mutable: true },
  { module: 'env', name: 'storeTable', kind: 'global', valType: I32, mutable: true },
  { module: 'env', name: 'jitPc', kind: 'global', valType: I64, mutable: true },
  { module: 'env', name: 'jitStatus', kind: 'global', valType: I32, mutable: true },
];
const TYPES = [
  { params: [I64, I32], results: [I32] }, // a block
  { params: [I64, I32], results: [I64] }, // jitLoad(va, info)
  { params: [I64, I64, I32], results: [I32] }, // jitStore(va, value, info)
  { params: [I32, I64, I64], results: [I64] }, // jitMulDiv(op, a, b)
  { params: [I32, I32, I32], results: [I32] }, // jitFp(inst, raw, xrd)
  { params: [I64, I64, I64], results: [I64] }, // jitFma(a, b, c)
];

/** A live module: its table slots [base, base + count) and estimated cost. */
interface Resident {
  base: number;
  count: number;
  cost: number;
}

interface Pending {
  host: number;
  word: number;
  maxLen: number;
}

export class Jit {
  readonly stats: JitStats = {
    blocks: 0,
    modules: 0,
    rejected: 0,
    evictedModules: 0,
    evictedBlocks: 0,
    liveModules: 0,
    cacheBytes: 0,
    errors: 0,
  };
  private readonly core: JitCore;
  private readonly imports: WebAssembly.Imports;
  private readonly layout: CoreLayout;
  private readonly budget: number;
  /** Live modules, oldest first; their slots follow each other around the ring. */
  private readonly resident: Resident[] = [];
  /** Next free table slot. */
  private next: number;
  private readonly first: number;
  private syncCompile = true;
  /** Hot entries waiting for a batch. */
  private waiting: number[] = [];
  /** Slices the oldest waiting entry has waited. */
  private waited = 0;
  private readonly batch: number;
  private readonly patience: number;

  constructor(core: JitCore, opts: JitOptions = {}) {
    this.core = core;
    this.layout = {
      xregs: core.xregs(),
      fregs: core.fregs(),
      mstatus: core.mstatusAddr(),
      fflags: core.fflagsAddr(),
      frm: core.frmAddr(),
      tlbIndexMask: core.tlbIndexMask(),
    };
    this.budget = opts.cacheBytes ?? DEFAULT_JIT_CACHE_MIB * 2 ** 20;
    if (!(this.budget > 0) || !Number.isFinite(this.budget)) {
      throw new RangeError(
        `JIT cache budget ${String(opts.cacheBytes)} bytes: give a positive size (jitcache=MiB, e.g. jitcache=64)`,
      );
    }
    this.batch = opts.batch ?? 64;
    this.patience = opts.patience ?? 8;
    this.first = core.table.length;
    this.next = this.first;
    this.imports = {
      env: {
        memory: core.memory,
        loadTable: core.loadTable,
        storeTable: core.storeTable,
        jitPc: core.jitPc,
        jitStatus: core.jitStatus,
        jitLoad: core.jitLoad,
        jitStore: core.jitStore,
        jitMulDiv: core.jitMulDiv,
        jitFp: core.jitFp,
        jitFma: core.jitFma,
      },
    };
    core.jitEnable(1, opts.threshold ?? DEFAULT_JIT_THRESHOLD, opts.eager ? 1 : 0);
  }

  /**
   * Called after every run slice: collect the entries the core queued, and
   * translate them once enough have gathered (one module per batch: the
   * engine's cost per module is much higher than per function).
   */
  service(): void {
    const core = this.core;
    const count = core.jitQueued();
    if (count > 0) {
      const queue = new Uint32Array(core.memory.buffer, core.jitQueue(), count);
      for (const host of queue) this.waiting.push(host);
      core.jitClearQueue();
    }
    if (this.waiting.length === 0) return;
    if (this.waiting.length < this.batch && ++this.waited < this.patience) return;
    this.waited = 0;
    const hosts = this.waiting;
    this.waiting = [];
    try {
      this.translate(hosts);
    } catch (e) {
      // Never let a translator problem reach the run loop: those blocks stay interpreted.
      this.stats.errors++;
      this.stats.lastError = (e as Error)?.message ?? String(e);
    }
  }

  private translate(hosts: number[]): void {
    const core = this.core;
    const mem = new Uint8Array(core.memory.buffer);
    const pending: Pending[] = [];
    const funcs: FuncBody[] = [];
    for (const host of hosts) {
      // Mark the page before reading it: from now on a store to it drops the word.
      const word = core.jitMarkCode(host) >>> 0;
      const region = word === 0 ? undefined : formRegion(mem, host, core);
      // A short block that goes nowhere else costs more to enter than to interpret.
      const entryLen = region?.blocks[0]!.insns.length ?? 0;
      if (!region || entryLen === 0 || (region.size < MIN_BLOCK && !region.linked)) {
        core.jitReject(host, word);
        this.stats.rejected++;
        continue;
      }
      pending.push({ host, word, maxLen: entryLen });
      funcs.push({
        type: BLOCK_TYPE,
        locals: LOCALS,
        code: emitRegion(region, this.layout),
      });
    }
    if (funcs.length === 0) return;
    const bytes = encodeModule(TYPES, IMPORTS, funcs);
    const cost = bytes.length * COST_PER_BYTE + COST_PER_MODULE;
    const base = this.reserve(funcs.length, cost);
    const resident: Resident = { base, count: funcs.length, cost };
    this.resident.push(resident);
    this.stats.liveModules++;
    this.stats.cacheBytes += cost;
    if (this.syncCompile) {
      try {
        const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), this.imports);
        return this.install(resident, instance, pending);
      } catch (e) {
        // A browser's main thread refuses to compile large modules synchronously.
        if (e instanceof RangeError) this.syncCompile = false;
        else return this.failed(resident, pending, e);
      }
    }
    WebAssembly.instantiate(bytes, this.imports).then(
      ({ instance }) => this.install(resident, instance, pending),
      (e: unknown) => this.failed(resident, pending, e),
    );
  }

  /**
   * Table slots for `count` functions costing `cost`: evict the oldest
   * modules until the budget and the ring have room. Returns the first slot.
   */
  private reserve(count: number, cost: number): number {
    const table = this.core.table;
    if (this.next + count > this.first + SLOTS) this.next = this.first;
    const lo = this.next;
    const hi = lo + count;
    for (;;) {
      const oldest = this.resident[0];
      if (!oldest) break;
      const overlaps = oldest.base < hi && oldest.base + oldest.count > lo;
      if (!overlaps && this.stats.cacheBytes + cost <= this.budget) break;
      this.evict();
    }
    // Grown in steps: each grow may copy the table.
    if (table.length < hi) table.grow(Math.max(hi - table.length, 1024));
    this.next = hi;
    return lo;
  }

  /**
   * Drop the oldest module (or `m`): the core forgets its slots, the table
   * lets go of its functions, and nothing else refers to the instance, so
   * the engine frees it. A module still compiling is never installed.
   */
  private evict(m = this.resident[0]!): void {
    this.resident.splice(this.resident.indexOf(m), 1);
    this.core.jitDropSlots(m.base, m.base + m.count);
    for (let i = m.base; i < m.base + m.count; i++) this.core.table.set(i, null);
    this.stats.liveModules--;
    this.stats.cacheBytes -= m.cost;
    this.stats.evictedModules++;
    this.stats.evictedBlocks += m.count;
  }

  /** Put the module's functions in their slots and let the core call them. */
  private install(m: Resident, instance: WebAssembly.Instance, pending: Pending[]): void {
    if (!this.resident.includes(m)) return; // evicted while compiling
    const table = this.core.table;
    pending.forEach((p, i) => {
      table.set(m.base + i, instance.exports[String(i)] as () => void);
      if (this.core.jitInstall(p.host, p.word, m.base + i, p.maxLen)) this.stats.blocks++;
    });
    this.stats.modules++;
  }

  private failed(m: Resident, pending: Pending[], e: unknown): void {
    if (this.resident.includes(m)) this.evict(m);
    this.stats.errors++;
    this.stats.lastError = (e as Error)?.message ?? String(e);
    for (const p of pending) this.core.jitReject(p.host, 0);
  }

  /** Guest instructions retired by translated code so far. */
  get instructions(): bigint {
    return this.core.jitInstructions();
  }

  /** Calls into translated code so far (each one a dispatch from the interpreter loop). */
  get calls(): bigint {
    return this.core.jitCallCount();
  }

  /** Drop every translation. */
  flush(): void {
    while (this.resident.length > 0) this.evict();
    this.core.jitFlush();
    this.waiting = [];
  }
}

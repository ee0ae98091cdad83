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
import { formBlock } from './block.js';
import { emitBlock, LOCALS } from './codegen.js';
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
  jitEnable(on: number, threshold: number): void;
  jitQueue(): number;
  jitInstructions(): bigint;
  jitQueued(): number;
  jitClearQueue(): void;
  jitMarkCode(host: number): number;
  jitInstall(host: number, word: number, fn: number, maxLen: number): number;
  jitReject(host: number, word: number): void;
  jitFlush(): void;
  expandRvc(c: number): number;
  xregs(): number;
}

export interface JitOptions {
  /** Executions of a block entry before it is translated (default 10000). */
  threshold?: number;
  /** Table slots before everything is dropped and the table reused (default 16384; bounds the memory a guest can make compiled code take). */
  tableLimit?: number;
  /** Hot entries that make a batch worth compiling at once (default 64). */
  batch?: number;
  /** Run slices after which a smaller batch is compiled anyway (default 8). */
  patience?: number;
}

export interface JitStats {
  blocks: number;
  modules: number;
  rejected: number;
  flushes: number;
  /** Modules the engine refused (a translator bug); their blocks stay interpreted. */
  errors: number;
  lastError?: string;
}

const BLOCK_TYPE = 0;
const MIN_BLOCK = 4;
const IMPORTS: Import[] = [
  { module: 'env', name: 'jitLoad', kind: 'func', type: 1 },
  { module: 'env', name: 'jitStore', kind: 'func', type: 2 },
  { module: 'env', name: 'jitMulDiv', kind: 'func', type: 3 },
  { module: 'env', name: 'table', kind: 'table' },
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
];

interface Pending {
  host: number;
  word: number;
  maxLen: number;
}

export class Jit {
  readonly stats: JitStats = { blocks: 0, modules: 0, rejected: 0, flushes: 0, errors: 0 };
  private readonly core: JitCore;
  private readonly imports: WebAssembly.Imports;
  private readonly xregs: number;
  private readonly tableLimit: number;
  /** Next free table slot; slots below it belong to the current epoch. */
  private next: number;
  private readonly first: number;
  private syncCompile = true;
  private inflight = false;
  /** Hot entries waiting for a batch. */
  private waiting: number[] = [];
  /** Slices the oldest waiting entry has waited. */
  private waited = 0;
  private readonly batch: number;
  private readonly patience: number;

  constructor(core: JitCore, opts: JitOptions = {}) {
    this.core = core;
    this.xregs = core.xregs();
    this.tableLimit = opts.tableLimit ?? 16384;
    this.batch = opts.batch ?? 64;
    this.patience = opts.patience ?? 8;
    this.first = core.table.length;
    this.next = this.first;
    this.imports = {
      env: {
        memory: core.memory,
        table: core.table,
        loadTable: core.loadTable,
        storeTable: core.storeTable,
        jitPc: core.jitPc,
        jitStatus: core.jitStatus,
        jitLoad: core.jitLoad,
        jitStore: core.jitStore,
        jitMulDiv: core.jitMulDiv,
      },
    };
    core.jitEnable(1, opts.threshold ?? 10_000);
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
    if (this.waiting.length === 0 || this.inflight) return;
    if (this.waiting.length < this.batch && ++this.waited < this.patience) return;
    this.waited = 0;
    const hosts = this.waiting;
    this.waiting = [];
    // Out of table slots: drop everything; hot entries are counted and queued again.
    if (this.next + hosts.length > this.tableLimit) return this.flush();
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
    const expand = (c: number): number => core.expandRvc(c) >>> 0;
    for (const host of hosts) {
      // Mark the page before reading it: from now on a store to it drops the word.
      const word = core.jitMarkCode(host) >>> 0;
      const block = word === 0 ? undefined : formBlock(mem, host, expand);
      // A short block that does not loop costs more to enter than to interpret.
      if (!block || (block.insns.length < MIN_BLOCK && !block.loops)) {
        core.jitReject(host, word);
        this.stats.rejected++;
        continue;
      }
      pending.push({ host, word, maxLen: block.insns.length });
      funcs.push({
        type: BLOCK_TYPE,
        locals: LOCALS,
        code: emitBlock(block, this.xregs),
      });
    }
    if (funcs.length === 0) return;
    const base = this.next;
    this.next += funcs.length;
    const table = core.table;
    // Grown in steps: each grow may copy the table.
    if (table.length < this.next) table.grow(Math.max(this.next - table.length, 1024));
    const bytes = encodeModule(TYPES, IMPORTS, funcs, base);
    if (this.syncCompile) {
      try {
        new WebAssembly.Instance(new WebAssembly.Module(bytes), this.imports);
        return this.install(base, pending);
      } catch (e) {
        // A browser's main thread refuses to compile large modules synchronously.
        if (e instanceof RangeError) this.syncCompile = false;
        else return this.failed(pending, e);
      }
    }
    // One compile in flight at a time, and no flush meanwhile: its element
    // segment writes the slots reserved now.
    this.inflight = true;
    WebAssembly.instantiate(bytes, this.imports).then(
      () => {
        this.inflight = false;
        this.install(base, pending);
      },
      (e: unknown) => {
        this.inflight = false;
        this.failed(pending, e);
      },
    );
  }

  /** The module's functions are in the table from `base` on: let the core call them. */
  private install(base: number, pending: Pending[]): void {
    pending.forEach((p, i) => {
      if (this.core.jitInstall(p.host, p.word, base + i, p.maxLen)) this.stats.blocks++;
    });
    this.stats.modules++;
  }

  private failed(pending: Pending[], e: unknown): void {
    this.stats.errors++;
    this.stats.lastError = (e as Error)?.message ?? String(e);
    for (const p of pending) this.core.jitReject(p.host, 0);
  }

  /** Guest instructions retired by translated code so far. */
  get instructions(): bigint {
    return this.core.jitInstructions();
  }

  /** Drop every translation and start reusing the table. */
  flush(): void {
    if (this.inflight) return;
    this.core.jitFlush();
    this.waiting = [];
    this.next = this.first;
    this.stats.flushes++;
  }
}

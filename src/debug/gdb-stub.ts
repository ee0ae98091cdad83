/**
 * A GDB remote stub for a Machine (GDB manual, "Remote Protocol"): one
 * debugger at a time, one thread (the hart). The host end (a TCP or Unix
 * socket) is the caller's: it passes the debugger's bytes to `receive` and
 * sends what `write` gives it.
 *
 * Breakpoints (Z0, Z1) and watchpoints (Z2 write, Z3 read, Z4 access) live
 * in the core (src/cpu/debug.ts), not in guest memory, so they hold for
 * every mapping of an address and never show in the guest's code. A
 * watchpoint stops before the access, as RISC-V triggers do and GDB expects
 * of this architecture (it steps over the access itself). While the hart
 * is held, guest time stands still.
 *
 * Everything the debugger sends is checked: a malformed packet gets an
 * error reply (`E01`), an address that maps to nothing or to a device
 * `E14` (device registers are never read: reads have side effects).
 */
import { RAM_BASE, DebugStopKind } from '../machine/core.js';
import type { DebugStop, Machine } from '../machine/machine.js';
import { MAX_PACKET, RspConnection, fromHex, parseRegHex, regHex, toHex } from './rsp.js';
import { REG_F0, REG_PC, REG_PRIV, csrOfReg, targetXml } from './target.js';
import { MONITOR_HELP, infoCpu, infoTlb } from './monitor.js';

const NO_ADDRESS = 0xffff_ffff_ffff_ffffn;
const PAGE = 4096n;
const U64 = 0xffff_ffff_ffff_ffffn;
/** Largest memory read or write we serve in one packet (hex doubles it). */
const MAX_MEMORY = (MAX_PACKET - 32) >> 1;

const SIGINT = 2;
const SIGTRAP = 5;

export interface GdbStubOptions {
  /** Diagnostics for the user (a debugger connected or left). */
  notice?: (line: string) => void;
}

export class GdbStub {
  private conn: RspConnection | undefined;
  private xml = targetXml();
  /** Memory packets use physical addresses (`monitor phys on`). */
  private physical = false;
  /** The debugger resumed the hart and waits for a stop reply. */
  private waiting = false;
  private noAckAfterReply = false;
  private lastStop = `T${hex2(SIGTRAP)}thread:01;`;
  /** Addresses set with Z0 (reported as swbreak) rather than Z1 (hwbreak). */
  private swBreaks = new Set<bigint>();
  /** Every Z point set, to set again in a new machine (after a guest reboot). */
  private points = new Map<string, () => void>();
  private readonly notice: (line: string) => void;

  /** `current` gives the VM's machine (a new one after a guest reboot). */
  constructor(
    private readonly current: () => Machine,
    opts: GdbStubOptions = {},
  ) {
    this.notice = opts.notice ?? (() => undefined);
  }

  private get machine(): Machine {
    return this.current();
  }

  /** Hold the VM before its first instruction until a debugger lets it go (gdbwait). */
  holdAtStart(): void {
    this.machine.debugHalt();
  }

  /** The VM rebooted into a new machine: the debugger's points hold there too. */
  machineChanged(): void {
    for (const apply of this.points.values()) apply();
    if (this.waiting) this.machine.debugContinue((stop) => this.stopped(stop));
  }

  /** A debugger connected; `write` sends it bytes. The hart is held until it says continue. */
  attach(write: (bytes: Uint8Array) => void): void {
    this.conn = new RspConnection(
      { packet: (p) => this.packet(p), interrupt: () => this.interrupt() },
      write,
    );
    this.waiting = false;
    this.machine.debugHalt();
    this.lastStop = `T${hex2(SIGTRAP)}thread:01;`;
    this.notice('gdb: debugger connected; the VM is stopped');
  }

  /** The debugger's bytes. */
  receive(bytes: Uint8Array): void {
    this.conn?.receive(bytes);
  }

  /** The debugger went away without detaching: forget its breakpoints and let the VM run. */
  detach(): void {
    if (!this.conn) return;
    this.conn = undefined;
    this.waiting = false;
    this.machine.hart.x.debugClear();
    this.swBreaks.clear();
    this.points.clear();
    this.physical = false;
    this.machine.debugContinue(() => undefined);
    this.notice('gdb: debugger left; the VM runs on');
  }

  /** The VM ended (power-off, stop, panic): tell the debugger, which then leaves. */
  vmExited(code: number): void {
    this.conn?.send(`W${hex2(code & 0xff)}`);
  }

  private send(reply: string): void {
    this.conn?.send(reply);
  }

  private interrupt(): void {
    if (!this.waiting) return;
    this.waiting = false;
    this.machine.debugHalt();
    this.lastStop = `T${hex2(SIGINT)}thread:01;`;
    this.send(this.lastStop);
  }

  private packet(bytes: Uint8Array): void {
    // X carries binary data after the colon; everything else is text.
    if (bytes[0] === 0x58 /* X */) {
      this.send(this.writeBinary(bytes));
      return;
    }
    const p = new TextDecoder('latin1').decode(bytes);
    const reply = this.command(p);
    if (reply !== undefined) this.send(reply);
    if (this.noAckAfterReply && this.conn) {
      this.noAckAfterReply = false;
      this.conn.noAck = true;
    }
  }

  /** The reply to packet `p`, or undefined when the reply comes later (continue). */
  private command(p: string): string | undefined {
    switch (p[0]) {
      case '?':
        return this.lastStop;
      case 'g':
        return this.readGeneral();
      case 'G':
        return this.writeGeneral(p.slice(1));
      case 'p': {
        const n = parseInt(p.slice(1), 16);
        const v = Number.isNaN(n) ? undefined : this.readReg(n);
        return v === undefined ? 'E01' : regHex(v, 8);
      }
      case 'P': {
        const eq = p.indexOf('=');
        const n = parseInt(p.slice(1, eq), 16);
        const v = eq < 0 ? undefined : parseRegHex(p.slice(eq + 1));
        if (Number.isNaN(n) || v === undefined) return 'E01';
        return this.writeReg(n, v) ? 'OK' : 'E01';
      }
      case 'm': {
        const a = parseAddrLen(p.slice(1));
        if (!a || a.len > MAX_MEMORY) return 'E01';
        const data = this.readMemory(a.addr, a.len);
        return data.length === 0 && a.len > 0 ? 'E14' : toHex(data);
      }
      case 'M': {
        const colon = p.indexOf(':');
        const a = colon < 0 ? undefined : parseAddrLen(p.slice(1, colon));
        const data = colon < 0 ? undefined : fromHex(p.slice(colon + 1));
        if (!a || !data || data.length !== a.len) return 'E01';
        return this.writeMemory(a.addr, data) ? 'OK' : 'E14';
      }
      case 'c':
      case 'C':
        return this.resume(false, p);
      case 's':
      case 'S':
        return this.resume(true, p);
      case 'Z':
      case 'z':
        return this.breakpoint(p);
      case 'H':
      case 'T':
        return 'OK';
      case 'D':
        this.send('OK');
        this.detach();
        return undefined;
      case 'k':
        this.kill();
        return undefined;
      case 'q':
      case 'Q':
        return this.query(p);
      case 'v':
        return this.vPacket(p);
      default:
        return '';
    }
  }

  private query(p: string): string {
    if (p.startsWith('qSupported')) {
      return `PacketSize=${MAX_PACKET.toString(16)};qXfer:features:read+;swbreak+;hwbreak+;QStartNoAckMode+;vContSupported+`;
    }
    if (p === 'QStartNoAckMode') {
      // Acknowledged itself; no acks after the reply (packet() switches).
      this.noAckAfterReply = true;
      return 'OK';
    }
    if (p.startsWith('qXfer:features:read:')) {
      const [annex, range] = p.slice('qXfer:features:read:'.length).split(':');
      if (annex !== 'target.xml' || range === undefined) return 'E00';
      const a = parseAddrLen(range);
      if (!a) return 'E01';
      const off = Number(a.addr);
      if (off > this.xml.length) return 'E01';
      const chunk = this.xml.slice(off, off + Math.min(a.len, MAX_MEMORY));
      return (off + chunk.length >= this.xml.length ? 'l' : 'm') + chunk;
    }
    if (p === 'qAttached') return '1';
    if (p === 'qC') return 'QC01';
    if (p === 'qfThreadInfo') return 'm01';
    if (p === 'qsThreadInfo') return 'l';
    if (p.startsWith('qSymbol')) return 'OK';
    if (p.startsWith('qRcmd,')) return this.monitor(p.slice(6));
    return '';
  }

  private vPacket(p: string): string | undefined {
    if (p === 'vMustReplyEmpty') return '';
    if (p === 'vCont?') return 'vCont;c;C;s;S';
    if (p.startsWith('vCont;')) {
      // One thread: a step action for it (or for all) steps, else continue.
      const actions = p.slice(6).split(';');
      const step = actions.some((a) => a[0] === 's' || a[0] === 'S');
      if (!step && !actions.some((a) => a[0] === 'c' || a[0] === 'C')) return 'E01';
      return this.resume(step, step ? 's' : 'c');
    }
    if (p.startsWith('vKill')) {
      this.send('OK');
      this.kill();
      return undefined;
    }
    return '';
  }

  private kill(): void {
    this.notice('gdb: the debugger killed the VM');
    this.conn = undefined;
    this.machine.stop('stopped', 0, 'killed by the debugger');
  }

  // ---- Running ----

  private resume(step: boolean, p: string): string | undefined {
    const m = this.machine;
    // `c ADDR` / `s ADDR` resume at ADDR; `C sig;ADDR` likewise.
    const at =
      /^[cs]([0-9a-fA-F]+)$/.exec(p)?.[1] ?? /^[CS][0-9a-fA-F]{2};([0-9a-fA-F]+)$/.exec(p)?.[1];
    if (at !== undefined) m.hart.pc = BigInt('0x' + at) & U64;
    if (step) {
      const stop = m.debugStep();
      this.lastStop =
        stop.kind === DebugStopKind.None ? `T${hex2(SIGTRAP)}thread:01;` : this.stopReply(stop);
      return this.lastStop;
    }
    this.waiting = true;
    m.debugContinue((stop) => this.stopped(stop));
    return undefined;
  }

  private stopped(stop: DebugStop): void {
    if (!this.waiting) return;
    this.waiting = false;
    this.lastStop = this.stopReply(stop);
    this.send(this.lastStop);
  }

  private stopReply(stop: DebugStop): string {
    const t = `T${hex2(SIGTRAP)}`;
    const addr = stop.addr.toString(16);
    switch (stop.kind) {
      case DebugStopKind.Break:
        return `${t}${this.swBreaks.has(stop.addr) ? 'swbreak' : 'hwbreak'}:;thread:01;`;
      case DebugStopKind.WatchWrite:
        return `${t}watch:${addr};thread:01;`;
      case DebugStopKind.WatchRead:
        return `${t}rwatch:${addr};thread:01;`;
      case DebugStopKind.WatchAccess:
        return `${t}awatch:${addr};thread:01;`;
      default:
        return `${t}thread:01;`;
    }
  }

  private breakpoint(p: string): string {
    const m = /^([Zz])([0-4]),([0-9a-fA-F]+),([0-9a-fA-F]+)(?:;.*)?$/.exec(p);
    if (!m) return 'E01';
    const on = m[1] === 'Z';
    const type = Number(m[2]);
    const addr = BigInt('0x' + m[3]!) & U64;
    const kind = parseInt(m[4]!, 16);
    // Z2 write, Z3 read, Z4 access watchpoints; kind is the length in bytes.
    if (type >= 2 && (kind < 1 || kind > 4096)) return 'E01';
    const access = type === 2 ? 2 : type === 3 ? 1 : 3;
    const apply = (set: boolean): boolean => {
      const x = this.machine.hart.x;
      return type <= 1
        ? x.debugSetBreak(addr, set ? 1 : 0) !== 0
        : x.debugSetWatch(addr, BigInt(kind), access, set ? 1 : 0) !== 0;
    };
    if (!apply(on)) return 'E0E';
    const key = `${type <= 1 ? 'b' : `w${kind},${access}`}:${addr}`;
    if (on) this.points.set(key, () => apply(true));
    else this.points.delete(key);
    if (type === 0) {
      if (on) this.swBreaks.add(addr);
      else this.swBreaks.delete(addr);
    }
    return 'OK';
  }

  // ---- Registers ----

  private readGeneral(): string {
    const h = this.machine.hart;
    let s = '';
    for (let i = 0; i < 32; i++) s += regHex(h.reg(i), 8);
    return s + regHex(h.pc, 8);
  }

  private writeGeneral(text: string): string {
    const h = this.machine.hart;
    const n = Math.min(33, Math.floor(text.length / 16));
    if (n === 0 || text.length % 16 !== 0) return 'E01';
    for (let i = 0; i < n; i++) {
      const v = parseRegHex(text.slice(16 * i, 16 * i + 16));
      if (v === undefined) return 'E01';
      if (i === 32) h.pc = v;
      else h.setReg(i, v);
    }
    return 'OK';
  }

  private readReg(n: number): bigint | undefined {
    const h = this.machine.hart;
    if (n >= 0 && n < 32) return h.reg(n);
    if (n === REG_PC) return h.pc;
    if (n >= REG_F0 && n < REG_F0 + 32) return h.x.getF(n - REG_F0);
    if (n === REG_PRIV) return BigInt(h.x.getPriv());
    const csr = csrOfReg(n);
    return csr < 0 ? undefined : h.csr(csr);
  }

  private writeReg(n: number, v: bigint): boolean {
    const h = this.machine.hart;
    if (n >= 0 && n < 32) h.setReg(n, v);
    else if (n === REG_PC) h.pc = v;
    else if (n >= REG_F0 && n < REG_F0 + 32) h.x.setF(n - REG_F0, v);
    else if (n === REG_PRIV) {
      if (v !== 0n && v !== 1n && v !== 3n) return false;
      h.x.setPriv(Number(v));
    } else {
      const csr = csrOfReg(n);
      if (csr < 0) return false;
      return h.x.writeCsr(csr, v) !== 0;
    }
    return true;
  }

  // ---- Memory ----

  /** Physical address of `va` for a memory packet, or NO_ADDRESS. */
  private physicalOf(va: bigint): bigint {
    return this.physical ? va : BigInt.asUintN(64, this.machine.hart.x.debugTranslate(va));
  }

  /** Up to `len` bytes at `addr`; shorter when it reaches something that is not RAM. */
  private readMemory(addr: bigint, len: number): Uint8Array {
    const h = this.machine.hart;
    const out = new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const va = (addr + BigInt(done)) & U64;
      const chunk = Math.min(len - done, Number(PAGE - (va % PAGE)));
      const pa = this.physicalOf(va);
      if (pa === NO_ADDRESS || !h.inRam(pa, chunk)) break;
      const off = Number(pa - BigInt(RAM_BASE));
      out.set(h.ram.subarray(off, off + chunk), done);
      done += chunk;
    }
    return out.subarray(0, done);
  }

  /** Write all of `data` at `addr`, or nothing if any of it is not RAM. */
  private writeMemory(addr: bigint, data: Uint8Array): boolean {
    const h = this.machine.hart;
    const pieces: Array<[bigint, number, number]> = [];
    for (let done = 0; done < data.length;) {
      const va = (addr + BigInt(done)) & U64;
      const chunk = Math.min(data.length - done, Number(PAGE - (va % PAGE)));
      const pa = this.physicalOf(va);
      if (pa === NO_ADDRESS || !h.inRam(pa, chunk)) return false;
      pieces.push([pa, done, chunk]);
      done += chunk;
    }
    // ramView drops translated code of the pages written.
    for (const [pa, from, n] of pieces) h.ramView(pa, n).set(data.subarray(from, from + n));
    return true;
  }

  private writeBinary(bytes: Uint8Array): string {
    const colon = bytes.indexOf(0x3a);
    if (colon < 0) return 'E01';
    const a = parseAddrLen(new TextDecoder('latin1').decode(bytes.subarray(1, colon)));
    const data = bytes.subarray(colon + 1);
    if (!a || data.length !== a.len) return 'E01';
    if (a.len === 0) return 'OK'; // GDB probes X support with an empty write
    return this.writeMemory(a.addr, data) ? 'OK' : 'E14';
  }

  // ---- monitor ----

  private monitor(hexCmd: string): string {
    const raw = fromHex(hexCmd);
    if (!raw) return 'E01';
    const cmd = new TextDecoder().decode(raw).trim().split(/\s+/);
    const h = this.machine.hart;
    let text: string;
    if (cmd[0] === 'help' || cmd[0] === '') text = MONITOR_HELP;
    else if (cmd[0] === 'info' && cmd[1] === 'cpu') text = infoCpu(h);
    else if (cmd[0] === 'info' && cmd[1] === 'tlb') text = infoTlb(h);
    else if (cmd[0] === 'phys' && (cmd[1] === 'on' || cmd[1] === 'off')) {
      this.physical = cmd[1] === 'on';
      text = `memory accesses use ${this.physical ? 'physical' : 'virtual'} addresses`;
    } else text = `unknown monitor command "${cmd.join(' ')}"; monitor help lists them`;
    // Console output (O packets) in pieces that fit a packet, then OK.
    const out = new TextEncoder().encode(text + '\n');
    for (let i = 0; i < out.length; i += MAX_MEMORY >> 1) {
      this.send('O' + toHex(out.subarray(i, i + (MAX_MEMORY >> 1))));
    }
    return 'OK';
  }
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** `ADDR,LEN` in hex; undefined if malformed. */
function parseAddrLen(text: string): { addr: bigint; len: number } | undefined {
  const m = /^([0-9a-fA-F]{1,16}),([0-9a-fA-F]{1,8})$/.exec(text);
  if (!m) return undefined;
  return { addr: BigInt('0x' + m[1]!), len: parseInt(m[2]!, 16) };
}

// Tests for src/cpu/fpu.ts (IEEE 754 binary32/binary64 with RISC-V rules).
//
// The library is compiled at test time with asc from src/cpu/fpu-harness.ts
// and checked against an exact reference written here with BigInt rationals:
// every finite operand is m * 2^e, results are computed exactly and rounded
// once to the target format with the requested rounding mode, with the IEEE
// exception flags (tininess detected after rounding, as RISC-V requires).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// ---------------------------------------------------------------------------
// Building and loading the wasm module

type WasmFn = (...args: (number | bigint)[]) => number | bigint;
type Exports = Record<string, WasmFn>;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

let cached: Exports | undefined;

function loadFpu(): Exports {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'colinux-fpu-'));
  try {
    const out = join(dir, 'fpu.wasm');
    const asc = join(root, 'node_modules/assemblyscript/bin/asc.js');
    const r = spawnSync(
      process.execPath,
      [asc, 'src/cpu/fpu-harness.ts', '--runtime', 'stub', '-O2', '--noAssert', '-o', out],
      { cwd: root, encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`asc failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
    const mod = new WebAssembly.Module(readFileSync(out));
    // asc reads asconfig.json, so the library imports its memory as the core does;
    // the tables' few pages fit in 64.
    const inst = new WebAssembly.Instance(mod, {
      env: {
        memory: new WebAssembly.Memory({ initial: 64 }),
        abort: () => {
          throw new Error('abort');
        },
      },
    });
    const ex = inst.exports as unknown as Exports;
    if (typeof ex._start === 'function') ex._start();
    cached = ex;
    return ex;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------
// Formats and the exact reference

interface Fmt {
  name: string;
  n: number; // total bits
  p: number; // precision (with hidden bit)
  w: number; // exponent bits
  emax: number;
}

const F32: Fmt = { name: 'f32', n: 32, p: 24, w: 8, emax: 127 };
const F64: Fmt = { name: 'f64', n: 64, p: 53, w: 11, emax: 1023 };

const NX = 1;
const UF = 2;
const OF = 4;
const DZ = 8;
const NV = 16;
const RNE = 0;
const RTZ = 1;
const RDN = 2;
const RUP = 3;
const RMM = 4;
const RMS = [RNE, RTZ, RDN, RUP, RMM];
const RM_NAMES = ['rne', 'rtz', 'rdn', 'rup', 'rmm'];

const emin = (f: Fmt): number => 1 - f.emax;
const qmin = (f: Fmt): number => emin(f) - (f.p - 1);
const canon = (f: Fmt): bigint => (f.n === 32 ? 0x7fc00000n : 0x7ff8000000000000n);
const signBit = (f: Fmt, s: number): bigint => BigInt(s) << BigInt(f.n - 1);
const infBits = (f: Fmt, s: number): bigint =>
  signBit(f, s) | (((1n << BigInt(f.w)) - 1n) << BigInt(f.p - 1));
const maxBits = (f: Fmt, s: number): bigint => infBits(f, s) - 1n;
const zeroBits = (f: Fmt, s: number): bigint => signBit(f, s);

interface Res {
  bits: bigint;
  flags: number;
}

type Val =
  | { k: 'nan'; snan: boolean }
  | { k: 'inf'; s: number }
  | { k: 'num'; s: number; m: bigint; e: number }; // (-1)^s * m * 2^e, m may be 0

function decode(f: Fmt, bits: bigint): Val {
  const fb = BigInt(f.p - 1);
  const s = Number((bits >> BigInt(f.n - 1)) & 1n);
  const E = Number((bits >> fb) & ((1n << BigInt(f.w)) - 1n));
  const F = bits & ((1n << fb) - 1n);
  if (E === (1 << f.w) - 1) {
    if (F === 0n) return { k: 'inf', s };
    return { k: 'nan', snan: ((F >> (fb - 1n)) & 1n) === 0n };
  }
  if (E === 0) return { k: 'num', s, m: F, e: qmin(f) };
  return { k: 'num', s, m: F | (1n << fb), e: E - f.emax - (f.p - 1) };
}

function bitlen(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

/** Rounding increment decision given the discarded part R/D of a magnitude. */
function incr(rm: number, s: number, odd: boolean, R: bigint, D: bigint): boolean {
  if (R === 0n) return false;
  const c = 2n * R - D; // sign of (remainder - half)
  switch (rm) {
    case RNE:
      return c > 0n || (c === 0n && odd);
    case RTZ:
      return false;
    case RDN:
      return s === 1;
    case RUP:
      return s === 0;
    default:
      return c >= 0n;
  }
}

/** Round (-1)^s * num/den (num > 0) to the format: correctly rounded with flags. */
function roundTo(f: Fmt, s: number, num: bigint, den: bigint, rm: number): Res {
  const p = f.p;
  // E = floor(log2(num/den))
  let E = bitlen(num) - bitlen(den);
  const ge = E >= 0 ? num >= den << BigInt(E) : num << BigInt(-E) >= den;
  if (!ge) E -= 1;
  const scaled = (q: number): [bigint, bigint, bigint] => {
    const N = q >= 0 ? num : num << BigInt(-q);
    const D = q >= 0 ? den << BigInt(q) : den;
    const I = N / D;
    return [I, N - I * D, D];
  };
  let q = Math.max(E, emin(f)) - (p - 1);
  const [I0, R, D] = scaled(q);
  let I = I0 + (incr(rm, s, (I0 & 1n) === 1n, R, D) ? 1n : 0n);
  if (I === 1n << BigInt(p)) {
    I = 1n << BigInt(p - 1);
    q += 1;
  }
  const inexact = R !== 0n;
  let flags = inexact ? NX : 0;
  if (q + p - 1 > f.emax) {
    flags = OF | NX;
    const toMax = rm === RTZ || (rm === RDN && s === 0) || (rm === RUP && s === 1);
    return { bits: toMax ? maxBits(f, s) : infBits(f, s), flags };
  }
  if (E < emin(f) && inexact) {
    // tininess after rounding: round with unbounded exponent range
    const qu = E - (p - 1);
    const [Iu0, Ru, Du] = scaled(qu);
    const Iu = Iu0 + (incr(rm, s, (Iu0 & 1n) === 1n, Ru, Du) ? 1n : 0n);
    // tiny iff Iu * 2^qu < 2^emin
    if (Iu < 1n << BigInt(emin(f) - qu)) flags |= UF;
  }
  const bits = signBit(f, s) | ((BigInt(q - qmin(f)) << BigInt(p - 1)) + I);
  return { bits, flags };
}

/** Round (-1)^s * M * 2^e (M > 0). */
function roundME(f: Fmt, s: number, M: bigint, e: number, rm: number): Res {
  return e >= 0 ? roundTo(f, s, M << BigInt(e), 1n, rm) : roundTo(f, s, M, 1n << BigInt(-e), rm);
}

function nanResult(f: Fmt, vals: Val[], extraNV = false): Res {
  const sn = vals.some((v) => v.k === 'nan' && v.snan);
  return { bits: canon(f), flags: sn || extraNV ? NV : 0 };
}

function refAdd(f: Fmt, a: bigint, b: bigint, rm: number): Res {
  const x = decode(f, a);
  const y = decode(f, b);
  if (x.k === 'nan' || y.k === 'nan') return nanResult(f, [x, y]);
  if (x.k === 'inf' && y.k === 'inf') {
    if (x.s !== y.s) return { bits: canon(f), flags: NV };
    return { bits: a, flags: 0 };
  }
  if (x.k === 'inf') return { bits: a, flags: 0 };
  if (y.k === 'inf') return { bits: b, flags: 0 };
  const e = Math.min(x.e, y.e);
  const X = (x.s ? -x.m : x.m) << BigInt(x.e - e);
  const Y = (y.s ? -y.m : y.m) << BigInt(y.e - e);
  const S = X + Y;
  if (S === 0n) {
    if (x.m === 0n && y.m === 0n && x.s === y.s) return { bits: zeroBits(f, x.s), flags: 0 };
    return { bits: zeroBits(f, rm === RDN ? 1 : 0), flags: 0 };
  }
  return roundME(f, S < 0n ? 1 : 0, S < 0n ? -S : S, e, rm);
}

function refSub(f: Fmt, a: bigint, b: bigint, rm: number): Res {
  return refAdd(f, a, b ^ signBit(f, 1), rm);
}

function refMul(f: Fmt, a: bigint, b: bigint, rm: number): Res {
  const x = decode(f, a);
  const y = decode(f, b);
  if (x.k === 'nan' || y.k === 'nan') return nanResult(f, [x, y]);
  const s = (x.s ^ y.s) as number;
  if (x.k === 'inf' || y.k === 'inf') {
    if ((x.k === 'num' && x.m === 0n) || (y.k === 'num' && y.m === 0n))
      return { bits: canon(f), flags: NV };
    return { bits: infBits(f, s), flags: 0 };
  }
  if (x.m === 0n || y.m === 0n) return { bits: zeroBits(f, s), flags: 0 };
  return roundME(f, s, x.m * y.m, x.e + y.e, rm);
}

function refDiv(f: Fmt, a: bigint, b: bigint, rm: number): Res {
  const x = decode(f, a);
  const y = decode(f, b);
  if (x.k === 'nan' || y.k === 'nan') return nanResult(f, [x, y]);
  const s = (x.s ^ y.s) as number;
  if (x.k === 'inf') {
    if (y.k === 'inf') return { bits: canon(f), flags: NV };
    return { bits: infBits(f, s), flags: 0 };
  }
  if (y.k === 'inf') return { bits: zeroBits(f, s), flags: 0 };
  if (y.m === 0n) {
    if (x.m === 0n) return { bits: canon(f), flags: NV };
    return { bits: infBits(f, s), flags: DZ };
  }
  if (x.m === 0n) return { bits: zeroBits(f, s), flags: 0 };
  const d = x.e - y.e;
  const num = d >= 0 ? x.m << BigInt(d) : x.m;
  const den = d >= 0 ? y.m : y.m << BigInt(-d);
  return roundTo(f, s, num, den, rm);
}

function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt((bitlen(n) >> 1) + 1);
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

function refSqrt(f: Fmt, a: bigint, rm: number): Res {
  const x = decode(f, a);
  if (x.k === 'nan') return nanResult(f, [x]);
  if (x.k === 'inf') return x.s ? { bits: canon(f), flags: NV } : { bits: a, flags: 0 };
  if (x.m === 0n) return { bits: a, flags: 0 };
  if (x.s) return { bits: canon(f), flags: NV };
  // sqrt(m * 2^e) = sqrt(m * 2^(e+2k)) * 2^-k with at least 2(p+3) bits under the root
  const k = Math.max(Math.ceil(-x.e / 2), Math.ceil((2 * f.p + 6 - bitlen(x.m) - x.e) / 2));
  const X = x.m << BigInt(x.e + 2 * k);
  const S = isqrt(X);
  if (S * S === X) return roundME(f, 0, S, -k, rm);
  // inexact: any value strictly between S and S+1 rounds the same (>= p+3 bits)
  return roundME(f, 0, 2n * S + 1n, -k - 1, rm);
}

function refFma(f: Fmt, a: bigint, b: bigint, c: bigint, rm: number): Res {
  const x = decode(f, a);
  const y = decode(f, b);
  const z = decode(f, c);
  const isZero = (v: Val): boolean => v.k === 'num' && v.m === 0n;
  const infTimesZero = (x.k === 'inf' && isZero(y)) || (isZero(x) && y.k === 'inf');
  if (x.k === 'nan' || y.k === 'nan' || z.k === 'nan') return nanResult(f, [x, y, z], infTimesZero);
  if (infTimesZero) return { bits: canon(f), flags: NV };
  const sp = (x.s ^ y.s) as number;
  if (x.k === 'inf' || y.k === 'inf') {
    if (z.k === 'inf' && z.s !== sp) return { bits: canon(f), flags: NV };
    return { bits: infBits(f, sp), flags: 0 };
  }
  if (z.k === 'inf') return { bits: c, flags: 0 };
  const pm = x.m * y.m;
  const pe = x.e + y.e;
  const e = Math.min(pe, z.e);
  const P = (sp ? -pm : pm) << BigInt(pe - e);
  const C = (z.s ? -z.m : z.m) << BigInt(z.e - e);
  const S = P + C;
  if (S === 0n) {
    if (pm === 0n && z.m === 0n && sp === z.s) return { bits: zeroBits(f, sp), flags: 0 };
    return { bits: zeroBits(f, rm === RDN ? 1 : 0), flags: 0 };
  }
  return roundME(f, S < 0n ? 1 : 0, S < 0n ? -S : S, e, rm);
}

function refMinMax(f: Fmt, a: bigint, b: bigint, isMax: boolean): Res {
  const x = decode(f, a);
  const y = decode(f, b);
  const flags = (x.k === 'nan' && x.snan) || (y.k === 'nan' && y.snan) ? NV : 0;
  if (x.k === 'nan' && y.k === 'nan') return { bits: canon(f), flags };
  if (x.k === 'nan') return { bits: b, flags };
  if (y.k === 'nan') return { bits: a, flags };
  const c = cmpVal(x, y);
  // -0 < +0 for min/max
  let less = c < 0 || (c === 0 && x.s === 1 && y.s === 0);
  if (c === 0 && x.s === y.s) less = true; // identical: either
  return { bits: (isMax ? !less : less) ? a : b, flags };
}

/** Numeric comparison of two non-NaN values: -1, 0, 1 (-0 == +0). */
function cmpVal(x: Val, y: Val): number {
  const num = (v: Val): [number, bigint, number] => {
    if (v.k === 'inf') return [v.s ? -1 : 1, 0n, 0];
    if (v.k === 'num') return [0, v.s ? -v.m : v.m, v.e];
    throw new Error('nan');
  };
  const [ix, mx, ex] = num(x);
  const [iy, my, ey] = num(y);
  if (ix !== iy) return ix < iy ? -1 : 1;
  if (ix !== 0) return 0;
  const e = Math.min(ex, ey);
  const X = mx << BigInt(ex - e);
  const Y = my << BigInt(ey - e);
  return X < Y ? -1 : X > Y ? 1 : 0;
}

function refCmp(f: Fmt, a: bigint, b: bigint, op: 'eq' | 'lt' | 'le'): Res {
  const x = decode(f, a);
  const y = decode(f, b);
  if (x.k === 'nan' || y.k === 'nan') {
    const sn = (x.k === 'nan' && x.snan) || (y.k === 'nan' && y.snan);
    return { bits: 0n, flags: op === 'eq' ? (sn ? NV : 0) : NV };
  }
  const c = cmpVal(x, y);
  const r = op === 'eq' ? c === 0 : op === 'lt' ? c < 0 : c <= 0;
  return { bits: r ? 1n : 0n, flags: 0 };
}

function refClass(f: Fmt, a: bigint): number {
  const v = decode(f, a);
  if (v.k === 'nan') return v.snan ? 1 << 8 : 1 << 9;
  if (v.k === 'inf') return v.s ? 1 << 0 : 1 << 7;
  if (v.m === 0n) return v.s ? 1 << 3 : 1 << 4;
  const sub = v.m < 1n << BigInt(f.p - 1);
  if (v.s) return sub ? 1 << 2 : 1 << 1;
  return sub ? 1 << 5 : 1 << 6;
}

interface IntFmt {
  name: string;
  bits: number;
  signed: boolean;
}
const I32: IntFmt = { name: 'i32', bits: 32, signed: true };
const U32: IntFmt = { name: 'u32', bits: 32, signed: false };
const I64: IntFmt = { name: 'i64', bits: 64, signed: true };
const U64: IntFmt = { name: 'u64', bits: 64, signed: false };

function intRange(t: IntFmt): [bigint, bigint] {
  const n = BigInt(t.bits);
  return t.signed ? [-(1n << (n - 1n)), (1n << (n - 1n)) - 1n] : [0n, (1n << n) - 1n];
}

/** float -> integer, result as an unsigned bit pattern of the integer width. */
function refToInt(f: Fmt, a: bigint, t: IntFmt, rm: number): Res {
  const [lo, hi] = intRange(t);
  const wrap = (v: bigint): bigint => BigInt.asUintN(t.bits, v);
  const x = decode(f, a);
  if (x.k === 'nan') return { bits: wrap(hi), flags: NV };
  if (x.k === 'inf') return { bits: wrap(x.s ? lo : hi), flags: NV };
  let I: bigint;
  let inexact = false;
  if (x.e >= 0) I = x.m << BigInt(x.e);
  else {
    const D = 1n << BigInt(-x.e);
    const I0 = x.m / D;
    const R = x.m - I0 * D;
    inexact = R !== 0n;
    I = I0 + (incr(rm, x.s, (I0 & 1n) === 1n, R, D) ? 1n : 0n);
  }
  const v = x.s ? -I : I;
  if (v < lo || v > hi) return { bits: wrap(x.s ? lo : hi), flags: NV };
  return { bits: wrap(v), flags: inexact ? NX : 0 };
}

/** integer (given as a mathematical BigInt) -> float. */
function refFromInt(f: Fmt, v: bigint, rm: number): Res {
  if (v === 0n) return { bits: 0n, flags: 0 };
  return roundTo(f, v < 0n ? 1 : 0, v < 0n ? -v : v, 1n, rm);
}

function refConvertFF(from: Fmt, to: Fmt, a: bigint, rm: number): Res {
  const x = decode(from, a);
  if (x.k === 'nan') return nanResult(to, [x]);
  if (x.k === 'inf') return { bits: infBits(to, x.s), flags: 0 };
  if (x.m === 0n) return { bits: zeroBits(to, x.s), flags: 0 };
  return roundME(to, x.s, x.m, x.e, rm);
}

// ---------------------------------------------------------------------------
// Calling the implementation

function flagsOf(ex: Exports): number {
  const v = Number(ex.getFlags());
  ex.clearFlags();
  return v;
}

/** Calls a binary32/binary64 function; arguments and result as unsigned BigInt bit patterns. */
function callF(ex: Exports, name: string, f: Fmt, args: bigint[], rm?: number): Res {
  ex.clearFlags();
  const conv = args.map((x) => (f.n === 32 ? Number(x) | 0 : x));
  if (rm !== undefined) conv.push(rm);
  const r = ex[name](...conv);
  const bits = typeof r === 'number' ? BigInt(r >>> 0) : BigInt.asUintN(64, r);
  return { bits, flags: flagsOf(ex) };
}

const hex = (f: Fmt | number, x: bigint): string => {
  const n = typeof f === 'number' ? f : f.n;
  return '0x' + x.toString(16).padStart(n / 4, '0');
};

class Mismatches {
  list: string[] = [];
  count = 0;
  total = 0;
  check(desc: string, got: Res, want: Res, width: number): void {
    this.total++;
    if (got.bits !== want.bits || got.flags !== want.flags) {
      this.count++;
      if (this.list.length < 12)
        this.list.push(
          `${desc}: got ${hex(width, got.bits)} flags ${got.flags}, want ${hex(width, want.bits)} flags ${want.flags}`,
        );
    }
  }
  assertNone(): void {
    assert.equal(this.count, 0, `${this.count}/${this.total} mismatches:\n${this.list.join('\n')}`);
  }
}

// ---------------------------------------------------------------------------
// Random operands (deterministic)

function makeRng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Gen {
  rnd: () => number;
  constructor(seed: number) {
    this.rnd = makeRng(seed);
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rnd() * (hi - lo + 1));
  }
  bits(n: number): bigint {
    let r = 0n;
    for (let i = 0; i < n; i += 30) r = (r << 30n) | BigInt(Math.floor(this.rnd() * 2 ** 30));
    return r & ((1n << BigInt(n)) - 1n);
  }
  /** A bit pattern of `n` bits biased towards rounding-relevant shapes. */
  pattern(n: number): bigint {
    const r = this.rnd();
    const mask = (1n << BigInt(n)) - 1n;
    if (r < 0.3) return this.bits(n);
    if (r < 0.42) return mask;
    if (r < 0.5) return 0n;
    if (r < 0.65) {
      let v = 0n;
      const k = this.int(1, 3);
      for (let i = 0; i < k; i++) v |= 1n << BigInt(this.int(0, n - 1));
      return v;
    }
    if (r < 0.75) {
      const k = this.int(0, n);
      return (mask ^ ((1n << BigInt(k)) - 1n)) | this.bits(Math.min(k, 4));
    }
    if (r < 0.85) return this.bits(this.int(0, n));
    if (r < 0.93) return (1n << BigInt(n - 1)) | this.bits(this.int(0, 3));
    return mask ^ (1n << BigInt(this.int(0, n - 1)));
  }
  special(f: Fmt): bigint {
    const fb = BigInt(f.p - 1);
    const list = [
      0n,
      infBits(f, 0),
      canon(f),
      canon(f) | 1n,
      infBits(f, 0) | 1n, // sNaN
      infBits(f, 0) | (1n << (fb - 2n)), // sNaN
      1n, // min subnormal
      (1n << fb) - 1n, // max subnormal
      1n << fb, // min normal
      maxBits(f, 0),
      BigInt(f.emax) << fb, // 1.0
    ];
    return list[this.int(0, list.length - 1)] | signBit(f, this.int(0, 1));
  }
  /** Random float; `rel` is a biased exponent the result's exponent clusters around. */
  float(f: Fmt, rel?: number): bigint {
    if (this.rnd() < 0.05) return this.special(f);
    const top = (1 << f.w) - 2;
    let E: number;
    const c = this.rnd();
    if (rel !== undefined && c < 0.5) E = rel + this.int(-(f.p + 4), f.p + 4);
    else if (c < 0.65) E = this.int(0, top);
    else if (c < 0.75) E = this.int(0, 3);
    else if (c < 0.85) E = top - this.int(0, 3);
    else E = f.emax + this.int(-f.p - 2, f.p + 2);
    E = Math.max(0, Math.min(top, E));
    const frac = this.pattern(f.p - 1);
    return signBit(f, this.int(0, 1)) | (BigInt(E) << BigInt(f.p - 1)) | frac;
  }
  biasedExp(f: Fmt, x: bigint): number {
    return Number((x >> BigInt(f.p - 1)) & ((1n << BigInt(f.w)) - 1n));
  }
  /** Random integer of the given type, as a mathematical value. */
  integer(t: IntFmt): bigint {
    const len = this.int(0, t.bits);
    let v = len === 0 ? 0n : this.pattern(len) | (1n << BigInt(len - 1));
    if (t.signed) {
      if (len === t.bits) v = BigInt.asIntN(t.bits, v);
      else if (this.rnd() < 0.5) v = -v;
    }
    return v;
  }
}

// ---------------------------------------------------------------------------
// Tests

const FMTS = [F32, F64];
const pre = (f: Fmt): string => f.name;

test('fpu: compiles and exports the API', () => {
  const ex = loadFpu();
  for (const f of ['f32', 'f64'])
    for (const op of [
      'add',
      'sub',
      'mul',
      'div',
      'sqrt',
      'fma',
      'min',
      'max',
      'eq',
      'lt',
      'le',
      'classify',
      'to_i32',
      'to_u32',
      'to_i64',
      'to_u64',
    ])
      assert.equal(typeof ex[`${f}_${op}`], 'function', `${f}_${op}`);
  for (const n of [
    'i32_to_f32',
    'u32_to_f32',
    'i64_to_f32',
    'u64_to_f32',
    'i32_to_f64',
    'u32_to_f64',
    'i64_to_f64',
    'u64_to_f64',
    'f32_to_f64',
    'f64_to_f32',
  ])
    assert.equal(typeof ex[n], 'function', n);
});

// Hand-derived cases: [op, fmt, operands, rm, expected bits, expected flags].
type Case = [string, Fmt, bigint[], number, bigint, number];

const HAND: Case[] = [
  // 1 + 2^-24: exactly halfway between 1 and 1 + 2^-23
  ['add', F32, [0x3f800000n, 0x33800000n], RNE, 0x3f800000n, NX],
  ['add', F32, [0x3f800000n, 0x33800000n], RTZ, 0x3f800000n, NX],
  ['add', F32, [0x3f800000n, 0x33800000n], RDN, 0x3f800000n, NX],
  ['add', F32, [0x3f800000n, 0x33800000n], RUP, 0x3f800001n, NX],
  ['add', F32, [0x3f800000n, 0x33800000n], RMM, 0x3f800001n, NX],
  // (1 + 2^-23) + 2^-24: halfway, odd below
  ['add', F32, [0x3f800001n, 0x33800000n], RNE, 0x3f800002n, NX],
  ['add', F32, [0x3f800001n, 0x33800000n], RTZ, 0x3f800001n, NX],
  // -1 - 2^-24
  ['add', F32, [0xbf800000n, 0xb3800000n], RDN, 0xbf800001n, NX],
  ['add', F32, [0xbf800000n, 0xb3800000n], RUP, 0xbf800000n, NX],
  ['add', F32, [0xbf800000n, 0xb3800000n], RMM, 0xbf800001n, NX],
  // x + (-x): +0, or -0 in RDN; signed zero sums
  ['add', F32, [0x3f800000n, 0xbf800000n], RNE, 0x00000000n, 0],
  ['add', F32, [0x3f800000n, 0xbf800000n], RDN, 0x80000000n, 0],
  ['sub', F32, [0x3f800000n, 0x3f800000n], RUP, 0x00000000n, 0],
  ['sub', F32, [0x3f800000n, 0x3f800000n], RDN, 0x80000000n, 0],
  ['add', F32, [0x80000000n, 0x80000000n], RNE, 0x80000000n, 0],
  ['add', F32, [0x00000000n, 0x80000000n], RNE, 0x00000000n, 0],
  ['add', F32, [0x00000000n, 0x80000000n], RDN, 0x80000000n, 0],
  ['sub', F32, [0x00000000n, 0x00000000n], RDN, 0x80000000n, 0],
  ['sub', F32, [0x80000000n, 0x00000000n], RNE, 0x80000000n, 0],
  // overflow
  ['add', F32, [0x7f7fffffn, 0x7f7fffffn], RNE, 0x7f800000n, OF | NX],
  ['add', F32, [0x7f7fffffn, 0x7f7fffffn], RTZ, 0x7f7fffffn, OF | NX],
  ['add', F32, [0x7f7fffffn, 0x7f7fffffn], RDN, 0x7f7fffffn, OF | NX],
  ['add', F32, [0x7f7fffffn, 0x7f7fffffn], RUP, 0x7f800000n, OF | NX],
  ['add', F32, [0x7f7fffffn, 0x7f7fffffn], RMM, 0x7f800000n, OF | NX],
  ['add', F32, [0xff7fffffn, 0xff7fffffn], RDN, 0xff800000n, OF | NX],
  ['add', F32, [0xff7fffffn, 0xff7fffffn], RUP, 0xff7fffffn, OF | NX],
  // max + half ulp of max (2^103): ties away from max -> overflow in RNE
  ['add', F32, [0x7f7fffffn, 0x73000000n], RNE, 0x7f800000n, OF | NX],
  ['add', F32, [0x7f7fffffn, 0x73000000n], RTZ, 0x7f7fffffn, NX], // rounds to max: no overflow
  // infinities and NaNs
  ['add', F32, [0x7f800000n, 0xff800000n], RNE, 0x7fc00000n, NV],
  ['add', F32, [0x7f800000n, 0x7f800000n], RNE, 0x7f800000n, 0],
  ['add', F32, [0xffc00001n, 0x3f800000n], RNE, 0x7fc00000n, 0],
  ['add', F32, [0x7f800001n, 0x3f800000n], RNE, 0x7fc00000n, NV],
  // min subnormal * 0.5 = 2^-150: halfway between 0 and 2^-149
  ['mul', F32, [0x00000001n, 0x3f000000n], RNE, 0x00000000n, UF | NX],
  ['mul', F32, [0x00000001n, 0x3f000000n], RTZ, 0x00000000n, UF | NX],
  ['mul', F32, [0x00000001n, 0x3f000000n], RDN, 0x00000000n, UF | NX],
  ['mul', F32, [0x00000001n, 0x3f000000n], RUP, 0x00000001n, UF | NX],
  ['mul', F32, [0x00000001n, 0x3f000000n], RMM, 0x00000001n, UF | NX],
  ['mul', F32, [0x80000001n, 0x3f000000n], RDN, 0x80000001n, UF | NX],
  ['mul', F32, [0x80000001n, 0x3f000000n], RNE, 0x80000000n, UF | NX],
  // exact subnormal result: no underflow flag
  ['mul', F32, [0x00000002n, 0x3f000000n], RNE, 0x00000001n, 0],
  // (1 - 2^-24) * 2^-126 = 2^-126 - 2^-150: tiny after rounding (exact with
  // unbounded exponent), halfway between 0x7fffff and 0x800000 when subnormal
  ['mul', F32, [0x3f7fffffn, 0x00800000n], RNE, 0x00800000n, UF | NX],
  ['mul', F32, [0x3f7fffffn, 0x00800000n], RTZ, 0x007fffffn, UF | NX],
  ['mul', F32, [0x3f7fffffn, 0x00800000n], RUP, 0x00800000n, UF | NX],
  ['mul', F32, [0x3f7fffffn, 0x00800000n], RMM, 0x00800000n, UF | NX],
  // 2^-126 - 2^-152 (from binary64): rounds to 2^-126 with unbounded exponent
  // in RNE/RUP/RMM (not tiny), stays below in RTZ/RDN (tiny)
  ['f64_to_f32', F64, [0x380ffffff8000000n], RNE, 0x00800000n, NX],
  ['f64_to_f32', F64, [0x380ffffff8000000n], RUP, 0x00800000n, NX],
  ['f64_to_f32', F64, [0x380ffffff8000000n], RMM, 0x00800000n, NX],
  ['f64_to_f32', F64, [0x380ffffff8000000n], RTZ, 0x007fffffn, UF | NX],
  ['f64_to_f32', F64, [0x380ffffff8000000n], RDN, 0x007fffffn, UF | NX],
  // 1/3
  ['div', F32, [0x3f800000n, 0x40400000n], RNE, 0x3eaaaaabn, NX],
  ['div', F32, [0x3f800000n, 0x40400000n], RTZ, 0x3eaaaaaan, NX],
  ['div', F32, [0x3f800000n, 0x40400000n], RDN, 0x3eaaaaaan, NX],
  ['div', F32, [0x3f800000n, 0x40400000n], RUP, 0x3eaaaaabn, NX],
  ['div', F32, [0x3f800000n, 0x40400000n], RMM, 0x3eaaaaabn, NX],
  ['div', F32, [0xbf800000n, 0x40400000n], RDN, 0xbeaaaaabn, NX],
  ['div', F32, [0xbf800000n, 0x40400000n], RUP, 0xbeaaaaaan, NX],
  ['div', F32, [0x3f800000n, 0x00000000n], RNE, 0x7f800000n, DZ],
  ['div', F32, [0xbf800000n, 0x00000000n], RNE, 0xff800000n, DZ],
  ['div', F32, [0x3f800000n, 0x80000000n], RNE, 0xff800000n, DZ],
  ['div', F32, [0x00000000n, 0x00000000n], RNE, 0x7fc00000n, NV],
  ['div', F32, [0x7f800000n, 0x7f800000n], RNE, 0x7fc00000n, NV],
  ['div', F32, [0x7f800000n, 0x00000000n], RNE, 0x7f800000n, 0],
  ['div', F32, [0x3f800000n, 0xff800000n], RNE, 0x80000000n, 0],
  // sqrt
  ['sqrt', F32, [0x40000000n], RNE, 0x3fb504f3n, NX],
  ['sqrt', F32, [0x40000000n], RTZ, 0x3fb504f3n, NX],
  ['sqrt', F32, [0x40000000n], RUP, 0x3fb504f4n, NX],
  ['sqrt', F32, [0x40800000n], RUP, 0x40000000n, 0],
  ['sqrt', F32, [0xbf800000n], RNE, 0x7fc00000n, NV],
  ['sqrt', F32, [0x80000000n], RNE, 0x80000000n, 0],
  ['sqrt', F32, [0xff800000n], RNE, 0x7fc00000n, NV],
  ['sqrt', F32, [0x7f800000n], RNE, 0x7f800000n, 0],
  ['sqrt', F32, [0xff800001n], RNE, 0x7fc00000n, NV],
  // fma: inf*0 is invalid even with a quiet NaN addend
  ['fma', F32, [0x7f800000n, 0x00000000n, 0x7fc00000n], RNE, 0x7fc00000n, NV],
  ['fma', F32, [0x00000000n, 0xff800000n, 0x3f800000n], RNE, 0x7fc00000n, NV],
  ['fma', F32, [0x7f800000n, 0x3f800000n, 0xff800000n], RNE, 0x7fc00000n, NV],
  ['fma', F32, [0x7f800000n, 0x3f800000n, 0x7f800000n], RNE, 0x7f800000n, 0],
  ['fma', F32, [0x3f800000n, 0x3f800000n, 0xbf800000n], RNE, 0x00000000n, 0],
  ['fma', F32, [0x3f800000n, 0x3f800000n, 0xbf800000n], RDN, 0x80000000n, 0],
  ['fma', F32, [0x00000000n, 0x3f800000n, 0x80000000n], RNE, 0x00000000n, 0],
  ['fma', F32, [0x00000000n, 0x3f800000n, 0x80000000n], RDN, 0x80000000n, 0],
  ['fma', F32, [0x80000000n, 0x3f800000n, 0x80000000n], RNE, 0x80000000n, 0],
  ['fma', F32, [0x80000000n, 0x3f800000n, 0x00000000n], RUP, 0x00000000n, 0],
  // (1 + 2^-23)(1 - 2^-23) - 1 = -2^-46 exactly (single rounding)
  ['fma', F32, [0x3f800001n, 0x3f7ffffen, 0xbf800000n], RNE, 0xa8800000n, 0],
  // tiny product plus zero keeps the product's sign when it rounds to zero
  ['fma', F32, [0x00000001n, 0x80000001n, 0x00000000n], RNE, 0x80000000n, UF | NX],
  ['fma', F32, [0x00000001n, 0x80000001n, 0x00000000n], RDN, 0x80000001n, UF | NX],
  // 2^-126 - 2^-152 as an fma result: not tiny after rounding in RNE
  ['fma', F32, [0x80000001n, 0x3e800000n, 0x00800000n], RNE, 0x00800000n, NX],
  ['fma', F32, [0x80000001n, 0x3e800000n, 0x00800000n], RTZ, 0x007fffffn, UF | NX],
  // binary64
  ['add', F64, [0x3ff0000000000000n, 0x3ca0000000000000n], RNE, 0x3ff0000000000000n, NX],
  ['add', F64, [0x3ff0000000000000n, 0x3ca0000000000000n], RUP, 0x3ff0000000000001n, NX],
  ['add', F64, [0x3ff0000000000000n, 0x3ca0000000000000n], RMM, 0x3ff0000000000001n, NX],
  ['add', F64, [0x3fb999999999999an, 0x3fc999999999999an], RNE, 0x3fd3333333333334n, NX],
  ['add', F64, [0x3fb999999999999an, 0x3fc999999999999an], RTZ, 0x3fd3333333333333n, NX],
  ['add', F64, [0x3ff0000000000000n, 0xbff0000000000000n], RDN, 0x8000000000000000n, 0],
  ['add', F64, [0x7fefffffffffffffn, 0x7fefffffffffffffn], RTZ, 0x7fefffffffffffffn, OF | NX],
  ['add', F64, [0x7fefffffffffffffn, 0x7fefffffffffffffn], RNE, 0x7ff0000000000000n, OF | NX],
  ['mul', F64, [0x0000000000000001n, 0x3fe0000000000000n], RNE, 0n, UF | NX],
  ['mul', F64, [0x0000000000000001n, 0x3fe0000000000000n], RUP, 1n, UF | NX],
  ['mul', F64, [0x3fefffffffffffffn, 0x0010000000000000n], RNE, 0x0010000000000000n, UF | NX],
  ['mul', F64, [0x3fefffffffffffffn, 0x0010000000000000n], RTZ, 0x000fffffffffffffn, UF | NX],
  // 2^-1022 - 2^-1076: a tie at 53 bits that rounds up to 2^-1022 (not tiny)
  [
    'fma',
    F64,
    [0x8000000000000001n, 0x3fd0000000000000n, 0x0010000000000000n],
    RNE,
    0x0010000000000000n,
    NX,
  ],
  [
    'fma',
    F64,
    [0x8000000000000001n, 0x3fd0000000000000n, 0x0010000000000000n],
    RTZ,
    0x000fffffffffffffn,
    UF | NX,
  ],
  [
    'fma',
    F64,
    [0x8000000000000001n, 0x3fd0000000000000n, 0x0010000000000000n],
    RMM,
    0x0010000000000000n,
    NX,
  ],
  ['mul', F64, [0x7fe0000000000000n, 0x4000000000000000n], RNE, 0x7ff0000000000000n, OF | NX],
  ['mul', F64, [0x7fe0000000000000n, 0xc000000000000000n], RUP, 0xffefffffffffffffn, OF | NX],
  ['div', F64, [0x3ff0000000000000n, 0x4008000000000000n], RNE, 0x3fd5555555555555n, NX],
  ['div', F64, [0x3ff0000000000000n, 0x4008000000000000n], RUP, 0x3fd5555555555556n, NX],
  ['div', F64, [0x0000000000000000n, 0x8000000000000000n], RNE, 0x7ff8000000000000n, NV],
  ['div', F64, [0xc000000000000000n, 0x0000000000000000n], RNE, 0xfff0000000000000n, DZ],
  ['sqrt', F64, [0x4000000000000000n], RNE, 0x3ff6a09e667f3bcdn, NX],
  ['sqrt', F64, [0x4000000000000000n], RTZ, 0x3ff6a09e667f3bccn, NX],
  ['sqrt', F64, [0x4000000000000000n], RDN, 0x3ff6a09e667f3bccn, NX],
  ['sqrt', F64, [0x4000000000000000n], RUP, 0x3ff6a09e667f3bcdn, NX],
  ['sqrt', F64, [0x4022000000000000n], RNE, 0x4008000000000000n, 0],
  ['sqrt', F64, [0x0000000000000001n], RNE, 0x1e60000000000000n, 0],
  // (1 + 2^-52)(1 - 2^-53) - 1 = 2^-53 - 2^-105, exact
  [
    'fma',
    F64,
    [0x3ff0000000000001n, 0x3fefffffffffffffn, 0xbff0000000000000n],
    RNE,
    0x3c9ffffffffffffen,
    0,
  ],
  [
    'fma',
    F64,
    [0x7ff0000000000000n, 0x0000000000000000n, 0x7ff8000000000000n],
    RNE,
    0x7ff8000000000000n,
    NV,
  ],
  [
    'fma',
    F64,
    [0x3ff0000000000000n, 0x3ff0000000000000n, 0xbff0000000000000n],
    RDN,
    0x8000000000000000n,
    0,
  ],
  // conversions to integers
  ['f32_to_i32', F32, [0x40200000n], RNE, 2n, NX], // 2.5
  ['f32_to_i32', F32, [0x40200000n], RTZ, 2n, NX],
  ['f32_to_i32', F32, [0x40200000n], RDN, 2n, NX],
  ['f32_to_i32', F32, [0x40200000n], RUP, 3n, NX],
  ['f32_to_i32', F32, [0x40200000n], RMM, 3n, NX],
  ['f32_to_i32', F32, [0xc0200000n], RNE, 0xfffffffen, NX], // -2.5
  ['f32_to_i32', F32, [0xc0200000n], RDN, 0xfffffffdn, NX],
  ['f32_to_i32', F32, [0xc0200000n], RUP, 0xfffffffen, NX],
  ['f32_to_i32', F32, [0xc0200000n], RMM, 0xfffffffdn, NX],
  ['f32_to_i32', F32, [0x7fc00000n], RNE, 0x7fffffffn, NV],
  ['f32_to_i32', F32, [0xffc00000n], RNE, 0x7fffffffn, NV],
  ['f32_to_i32', F32, [0x4f000000n], RNE, 0x7fffffffn, NV], // 2^31
  ['f32_to_i32', F32, [0xcf000000n], RNE, 0x80000000n, 0], // -2^31
  ['f32_to_i32', F32, [0xff800000n], RNE, 0x80000000n, NV],
  ['f32_to_i32', F32, [0x7f800000n], RNE, 0x7fffffffn, NV],
  ['f32_to_u32', F32, [0xbf000000n], RTZ, 0n, NX], // -0.5
  ['f32_to_u32', F32, [0xbf000000n], RNE, 0n, NX],
  ['f32_to_u32', F32, [0xbf000000n], RMM, 0n, NV],
  ['f32_to_u32', F32, [0xbf800000n], RTZ, 0n, NV], // -1
  ['f32_to_u32', F32, [0x4f800000n], RNE, 0xffffffffn, NV], // 2^32
  ['f32_to_u32', F32, [0x4f7fffffn], RNE, 0xffffff00n, 0],
  ['f32_to_u32', F32, [0x7fc00000n], RNE, 0xffffffffn, NV],
  ['f32_to_u32', F32, [0xff800000n], RNE, 0n, NV],
  ['f32_to_i64', F32, [0x7fc00000n], RNE, 0x7fffffffffffffffn, NV],
  ['f32_to_i64', F32, [0xdf000000n], RNE, 0x8000000000000000n, 0], // -2^63
  ['f32_to_i64', F32, [0x5f000000n], RNE, 0x7fffffffffffffffn, NV], // 2^63
  ['f32_to_u64', F32, [0xff800000n], RNE, 0n, NV],
  ['f32_to_u64', F32, [0x5f800000n], RNE, 0xffffffffffffffffn, NV], // 2^64
  ['f64_to_i32', F64, [0x41dfffffffc00000n], RNE, 0x7fffffffn, 0], // 2^31 - 1
  ['f64_to_i32', F64, [0x41dfffffffe00000n], RTZ, 0x7fffffffn, NX], // 2^31 - 0.5
  ['f64_to_i32', F64, [0x41dfffffffe00000n], RNE, 0x7fffffffn, NV],
  ['f64_to_i32', F64, [0xc1e0000000100000n], RTZ, 0x80000000n, NX], // -2^31 - 0.5
  ['f64_to_i32', F64, [0xc1e0000000100000n], RNE, 0x80000000n, NX],
  ['f64_to_i32', F64, [0xc1e0000000100000n], RMM, 0x80000000n, NV],
  ['f64_to_u32', F64, [0x41efffffffe00000n], RNE, 0xffffffffn, 0], // 2^32 - 1
  ['f64_to_u32', F64, [0x41efffffffe00000n], RUP, 0xffffffffn, 0],
  ['f64_to_u32', F64, [0x41effffffff00000n], RUP, 0xffffffffn, NV], // 2^32 - 0.5
  ['f64_to_u32', F64, [0x41effffffff00000n], RTZ, 0xffffffffn, NX],
  ['f64_to_i64', F64, [0x43dfffffffffffffn], RNE, 0x7ffffffffffffc00n, 0],
  ['f64_to_i64', F64, [0x43e0000000000000n], RNE, 0x7fffffffffffffffn, NV],
  ['f64_to_i64', F64, [0xc3e0000000000000n], RNE, 0x8000000000000000n, 0],
  ['f64_to_i64', F64, [0x3fe0000000000000n], RMM, 1n, NX], // 0.5
  ['f64_to_i64', F64, [0x3fe0000000000000n], RNE, 0n, NX],
  ['f64_to_i64', F64, [0xbfe0000000000000n], RMM, 0xffffffffffffffffn, NX],
  ['f64_to_u64', F64, [0x43efffffffffffffn], RNE, 0xfffffffffffff800n, 0],
  ['f64_to_u64', F64, [0x43f0000000000000n], RNE, 0xffffffffffffffffn, NV],
  ['f64_to_u64', F64, [0xbfefffffffffffffn], RUP, 0n, NX],
  ['f64_to_u64', F64, [0xbfefffffffffffffn], RNE, 0n, NV],
  ['f64_to_u64', F64, [0x7ff0000000000001n], RNE, 0xffffffffffffffffn, NV],
  // float -> float
  ['f32_to_f64', F32, [0x7f800001n], RNE, 0x7ff8000000000000n, NV],
  ['f32_to_f64', F32, [0xffc00000n], RNE, 0x7ff8000000000000n, 0],
  ['f32_to_f64', F32, [0x00000001n], RNE, 0x36a0000000000000n, 0],
  ['f32_to_f64', F32, [0x80000000n], RNE, 0x8000000000000000n, 0],
  ['f64_to_f32', F64, [0x7fefffffffffffffn], RNE, 0x7f800000n, OF | NX],
  ['f64_to_f32', F64, [0x7fefffffffffffffn], RTZ, 0x7f7fffffn, OF | NX],
  ['f64_to_f32', F64, [0xffefffffffffffffn], RUP, 0xff7fffffn, OF | NX],
  ['f64_to_f32', F64, [0x3ff0000010000000n], RNE, 0x3f800000n, NX], // 1 + 2^-24
  ['f64_to_f32', F64, [0x3ff0000010000000n], RMM, 0x3f800001n, NX],
  ['f64_to_f32', F64, [0x35a0000000000000n], RNE, 0x00000000n, UF | NX], // 2^-165
  ['f64_to_f32', F64, [0x35a0000000000000n], RUP, 0x00000001n, UF | NX],
  ['f64_to_f32', F64, [0x7ff0000000000001n], RNE, 0x7fc00000n, NV],
  ['f64_to_f32', F64, [0xfff8000000000000n], RNE, 0x7fc00000n, 0],
];

// integer -> float hand cases: [name, value, rm, bits, flags]
const HAND_INT: [string, bigint, number, bigint, number][] = [
  ['i32_to_f32', 16777217n, RNE, 0x4b800000n, NX],
  ['i32_to_f32', 16777217n, RUP, 0x4b800001n, NX],
  ['i32_to_f32', 16777217n, RMM, 0x4b800001n, NX],
  ['i32_to_f32', 16777217n, RTZ, 0x4b800000n, NX],
  ['i32_to_f32', -16777217n, RDN, 0xcb800001n, NX],
  ['i32_to_f32', -2147483648n, RNE, 0xcf000000n, 0],
  ['i32_to_f32', 2147483647n, RTZ, 0x4effffffn, NX],
  ['u32_to_f32', 4294967295n, RNE, 0x4f800000n, NX],
  ['u32_to_f32', 4294967295n, RTZ, 0x4f7fffffn, NX],
  ['u64_to_f32', 18446744073709551615n, RNE, 0x5f800000n, NX],
  ['u64_to_f32', 18446744073709551615n, RTZ, 0x5f7fffffn, NX],
  ['i64_to_f32', -9223372036854775808n, RNE, 0xdf000000n, 0],
  ['i64_to_f64', -9223372036854775808n, RNE, 0xc3e0000000000000n, 0],
  ['i64_to_f64', 9007199254740993n, RNE, 0x4340000000000000n, NX], // 2^53 + 1
  ['i64_to_f64', 9007199254740993n, RUP, 0x4340000000000001n, NX],
  ['u64_to_f64', 18446744073709551615n, RNE, 0x43f0000000000000n, NX],
  ['u64_to_f64', 18446744073709551615n, RTZ, 0x43efffffffffffffn, NX],
  ['i32_to_f64', -1n, RNE, 0xbff0000000000000n, 0],
  ['u32_to_f64', 4294967295n, RNE, 0x41efffffffe00000n, 0],
  ['i32_to_f32', 0n, RDN, 0n, 0],
  ['u64_to_f64', 0n, RDN, 0n, 0],
];

function refFor(name: string, f: Fmt, args: bigint[], rm: number): Res {
  switch (name) {
    case 'add':
      return refAdd(f, args[0], args[1], rm);
    case 'sub':
      return refSub(f, args[0], args[1], rm);
    case 'mul':
      return refMul(f, args[0], args[1], rm);
    case 'div':
      return refDiv(f, args[0], args[1], rm);
    case 'sqrt':
      return refSqrt(f, args[0], rm);
    case 'fma':
      return refFma(f, args[0], args[1], args[2], rm);
    case 'f32_to_f64':
      return refConvertFF(F32, F64, args[0], rm);
    case 'f64_to_f32':
      return refConvertFF(F64, F32, args[0], rm);
  }
  const m = /^f(32|64)_to_([iu](32|64))$/.exec(name);
  if (m) {
    const t = { i32: I32, u32: U32, i64: I64, u64: U64 }[m[2]] as IntFmt;
    return refToInt(f, args[0], t, rm);
  }
  throw new Error(name);
}

function callFor(ex: Exports, name: string, f: Fmt, args: bigint[], rm: number): Res {
  if (name.includes('_to_')) {
    const out = name.startsWith('f64_to_f32') ? F32 : name.endsWith('f64') ? F64 : undefined;
    ex.clearFlags();
    const conv = f.n === 32 ? Number(args[0]) | 0 : args[0];
    const r = name === 'f32_to_f64' ? ex[name](conv) : ex[name](conv, rm);
    const width = out ? out.n : name.endsWith('32') ? 32 : 64;
    const bits = width === 32 ? BigInt(Number(r) >>> 0) : BigInt.asUintN(64, BigInt(r));
    return { bits, flags: flagsOf(ex) };
  }
  return callF(ex, `${pre(f)}_${name}`, f, args, rm);
}

test('fpu: hand-picked cases agree with the reference and the implementation', () => {
  const ex = loadFpu();
  const mm = new Mismatches();
  for (const [name, f, args, rm, bits, flags] of HAND) {
    const desc = `${name} ${f.name} ${args.map((a) => hex(f, a)).join(' ')} ${RM_NAMES[rm]}`;
    const width =
      name === 'f64_to_f32' || /_to_[iu]32$/.test(name)
        ? 32
        : name === 'f32_to_f64'
          ? 64
          : /_to_[iu]64$/.test(name)
            ? 64
            : f.n;
    const want = { bits, flags };
    mm.check(`ref ${desc}`, refFor(name, f, args, rm), want, width);
    mm.check(`impl ${desc}`, callFor(ex, name, f, args, rm), want, width);
  }
  for (const [name, v, rm, bits, flags] of HAND_INT) {
    const out = name.endsWith('f32') ? F32 : F64;
    const want = { bits, flags };
    mm.check(`ref ${name} ${v} ${RM_NAMES[rm]}`, refFromInt(out, v, rm), want, out.n);
    mm.check(`impl ${name} ${v} ${RM_NAMES[rm]}`, callFromInt(ex, name, v, rm), want, out.n);
  }
  mm.assertNone();
});

function callFromInt(ex: Exports, name: string, v: bigint, rm: number): Res {
  ex.clearFlags();
  const small = name.startsWith('i32') || name.startsWith('u32');
  const arg = small ? Number(BigInt.asIntN(32, v)) : v;
  const r = ex[name](arg, rm);
  const bits = name.endsWith('f32') ? BigInt(Number(r) >>> 0) : BigInt.asUintN(64, BigInt(r));
  return { bits, flags: flagsOf(ex) };
}

test('fpu: special operand pairs, all ops and rounding modes', () => {
  const ex = loadFpu();
  for (const f of FMTS) {
    const fb = BigInt(f.p - 1);
    const base = [
      0n,
      1n,
      (1n << fb) - 1n,
      1n << fb,
      (1n << fb) + 1n,
      BigInt(f.emax) << fb, // 1
      (BigInt(f.emax) << fb) | 1n,
      BigInt(f.emax + 1) << fb, // 2
      (BigInt(f.emax) - 1n) << fb, // 0.5
      maxBits(f, 0),
      maxBits(f, 0) - 1n,
      infBits(f, 0),
      canon(f),
      infBits(f, 0) | 1n,
    ];
    const vals = [...base, ...base.map((x) => x | signBit(f, 1))];
    const mm = new Mismatches();
    for (const rm of RMS)
      for (const a of vals) {
        mm.check(
          `sqrt ${hex(f, a)} ${rm}`,
          callF(ex, `${f.name}_sqrt`, f, [a], rm),
          refSqrt(f, a, rm),
          f.n,
        );
        for (const b of vals) {
          for (const op of ['add', 'sub', 'mul', 'div'] as const) {
            const d = `${op} ${hex(f, a)} ${hex(f, b)} ${RM_NAMES[rm]}`;
            mm.check(
              d,
              callF(ex, `${f.name}_${op}`, f, [a, b], rm),
              refFor(op, f, [a, b], rm),
              f.n,
            );
          }
          for (const c of [
            0n,
            signBit(f, 1),
            BigInt(f.emax) << fb,
            infBits(f, 1),
            canon(f),
            maxBits(f, 1),
            1n,
          ])
            mm.check(
              `fma ${hex(f, a)} ${hex(f, b)} ${hex(f, c)} ${RM_NAMES[rm]}`,
              callF(ex, `${f.name}_fma`, f, [a, b, c], rm),
              refFma(f, a, b, c, rm),
              f.n,
            );
        }
      }
    mm.assertNone();
  }
});

const N_RANDOM = 4000;

for (const f of FMTS) {
  test(`fpu: randomized ${f.name} add/sub/mul/div/sqrt/fma vs exact reference`, () => {
    const ex = loadFpu();
    const g = new Gen(f.n === 32 ? 12345 : 67890);
    const mm = new Mismatches();
    const slowSuffix = f.n === 32 ? '32' : '64';
    for (const rm of RMS) {
      for (let i = 0; i < N_RANDOM; i++) {
        const a = g.float(f);
        const ea = g.biasedExp(f, a);
        const b = g.float(f, ea);
        const c = g.float(f, ea + g.biasedExp(f, b) - f.emax);
        const R = RM_NAMES[rm];
        const ds = (op: string, xs: bigint[]): string =>
          `${f.name}_${op} ${xs.map((x) => hex(f, x)).join(' ')} ${R}`;
        for (const op of ['add', 'sub', 'mul', 'div'] as const) {
          const want = refFor(op, f, [a, b], rm);
          mm.check(ds(op, [a, b]), callF(ex, `${f.name}_${op}`, f, [a, b], rm), want, f.n);
          if (op !== 'sub' && rm === RNE)
            mm.check(
              `slow ${ds(op, [a, b])}`,
              callF(ex, `${op}Slow${slowSuffix}`, f, [a, b], rm),
              want,
              f.n,
            );
        }
        mm.check(ds('sqrt', [a]), callF(ex, `${f.name}_sqrt`, f, [a], rm), refSqrt(f, a, rm), f.n);
        const wantFma = refFma(f, a, b, c, rm);
        mm.check(ds('fma', [a, b, c]), callF(ex, `${f.name}_fma`, f, [a, b, c], rm), wantFma, f.n);
        if (rm === RNE)
          mm.check(
            `slow ${ds('fma', [a, b, c])}`,
            callF(ex, `fmaSlow${slowSuffix}`, f, [a, b, c], rm),
            wantFma,
            f.n,
          );
      }
    }
    mm.assertNone();
  });
}

test('fpu: randomized fma near cancellation and ties', () => {
  // c chosen close to -a*b so that the sum cancels heavily or lands on ties
  const ex = loadFpu();
  const g = new Gen(424242);
  for (const f of FMTS) {
    const mm = new Mismatches();
    for (const rm of RMS)
      for (let i = 0; i < 1500; i++) {
        const a = g.float(f);
        const b = g.float(
          f,
          g.biasedExp(f, a) > f.emax ? 2 * f.emax - g.biasedExp(f, a) : undefined,
        );
        const p = callF(ex, `${f.name}_mul`, f, [a, b], g.int(0, 4)).bits;
        // c = -(p +- a few ulps), or p scaled by a power of two
        let c = p ^ signBit(f, 1);
        const k = g.rnd();
        if (k < 0.4) c = c + BigInt(g.int(-3, 3));
        else if (k < 0.6) c = c - (BigInt(g.int(1, f.p + 2)) << BigInt(f.p - 1));
        c = BigInt.asUintN(f.n, c);
        mm.check(
          `${f.name}_fma ${hex(f, a)} ${hex(f, b)} ${hex(f, c)} ${RM_NAMES[rm]}`,
          callF(ex, `${f.name}_fma`, f, [a, b, c], rm),
          refFma(f, a, b, c, rm),
          f.n,
        );
      }
    mm.assertNone();
  }
});

test('fpu: randomized conversions vs exact reference', () => {
  const ex = loadFpu();
  const g = new Gen(777);
  const mm = new Mismatches();
  for (const rm of RMS) {
    for (let i = 0; i < 3000; i++) {
      for (const f of FMTS) {
        // floats around the integer ranges
        const x =
          g.rnd() < 0.7
            ? signBit(f, g.int(0, 1)) |
              (BigInt(f.emax + g.int(-3, 66)) << BigInt(f.p - 1)) |
              g.pattern(f.p - 1)
            : g.float(f);
        for (const t of [I32, U32, I64, U64]) {
          const name = `${f.name}_to_${t.name}`;
          mm.check(
            `${name} ${hex(f, x)} ${RM_NAMES[rm]}`,
            callFor(ex, name, f, [x], rm),
            refToInt(f, x, t, rm),
            t.bits,
          );
        }
      }
      for (const t of [I32, U32, I64, U64])
        for (const out of FMTS) {
          const name = `${t.name}_to_${out.name}`;
          const v = g.integer(t);
          mm.check(
            `${name} ${v} ${RM_NAMES[rm]}`,
            callFromInt(ex, name, v, rm),
            refFromInt(out, v, rm),
            out.n,
          );
        }
      // binary64 -> binary32, exponents mostly around the binary32 range
      const d =
        g.rnd() < 0.7
          ? signBit(F64, g.int(0, 1)) | (BigInt(1023 + g.int(-155, 130)) << 52n) | g.pattern(52)
          : g.float(F64);
      const want = refConvertFF(F64, F32, d, rm);
      mm.check(
        `f64_to_f32 ${hex(F64, d)} ${RM_NAMES[rm]}`,
        callFor(ex, 'f64_to_f32', F64, [d], rm),
        want,
        32,
      );
      ex.clearFlags();
      const slow = BigInt(Number(ex.cvtSlow64to32(d, rm)) >>> 0);
      mm.check(
        `cvtSlow64to32 ${hex(F64, d)} ${RM_NAMES[rm]}`,
        { bits: slow, flags: flagsOf(ex) },
        want,
        32,
      );
      const s = g.float(F32);
      mm.check(
        `f32_to_f64 ${hex(F32, s)}`,
        callFor(ex, 'f32_to_f64', F32, [s], rm),
        refConvertFF(F32, F64, s, rm),
        64,
      );
    }
  }
  mm.assertNone();
});

test('fpu: min/max/compare/classify', () => {
  const ex = loadFpu();
  const g = new Gen(99);
  for (const f of FMTS) {
    const mm = new Mismatches();
    const fb = BigInt(f.p - 1);
    const qnan = canon(f);
    const snan = infBits(f, 0) | 1n;
    const one = BigInt(f.emax) << fb;
    const negZero = signBit(f, 1);
    // spec examples
    const cases: [string, bigint, bigint, Res][] = [
      ['min', negZero, 0n, { bits: negZero, flags: 0 }],
      ['min', 0n, negZero, { bits: negZero, flags: 0 }],
      ['max', negZero, 0n, { bits: 0n, flags: 0 }],
      ['max', 0n, negZero, { bits: 0n, flags: 0 }],
      ['min', qnan, one, { bits: one, flags: 0 }],
      ['max', one, qnan | signBit(f, 1), { bits: one, flags: 0 }],
      ['min', snan, one, { bits: one, flags: NV }],
      ['max', one, snan, { bits: one, flags: NV }],
      ['min', qnan, qnan | 5n, { bits: qnan, flags: 0 }],
      ['max', snan, qnan, { bits: qnan, flags: NV }],
      ['eq', qnan, one, { bits: 0n, flags: 0 }],
      ['eq', snan, one, { bits: 0n, flags: NV }],
      ['eq', negZero, 0n, { bits: 1n, flags: 0 }],
      ['eq', qnan, qnan, { bits: 0n, flags: 0 }],
      ['lt', qnan, one, { bits: 0n, flags: NV }],
      ['le', one, qnan, { bits: 0n, flags: NV }],
      ['lt', negZero, 0n, { bits: 0n, flags: 0 }],
      ['le', negZero, 0n, { bits: 1n, flags: 0 }],
      ['le', 0n, negZero, { bits: 1n, flags: 0 }],
      ['lt', infBits(f, 1), maxBits(f, 1), { bits: 1n, flags: 0 }],
    ];
    for (const [op, a, b, want] of cases) {
      const got = callF(ex, `${f.name}_${op}`, f, [a, b]);
      if (op === 'eq' || op === 'lt' || op === 'le') got.bits &= 1n;
      mm.check(`${f.name}_${op} ${hex(f, a)} ${hex(f, b)} (spec)`, got, want, f.n);
      const ref =
        op === 'min' || op === 'max'
          ? refMinMax(f, a, b, op === 'max')
          : refCmp(f, a, b, op as 'eq');
      mm.check(`ref ${f.name}_${op} ${hex(f, a)} ${hex(f, b)}`, ref, want, f.n);
    }
    // classification of each class
    const classes: [bigint, number][] = [
      [infBits(f, 1), 0],
      [one | signBit(f, 1), 1],
      [1n | signBit(f, 1), 2],
      [negZero, 3],
      [0n, 4],
      [(1n << fb) - 1n, 5],
      [maxBits(f, 0), 6],
      [infBits(f, 0), 7],
      [snan, 8],
      [qnan, 9],
      [qnan | signBit(f, 1), 9],
      [snan | signBit(f, 1) | 12345n, 8],
    ];
    for (const [x, bit] of classes) {
      assert.equal(
        Number(ex[`${f.name}_classify`](f.n === 32 ? Number(x) | 0 : x)),
        1 << bit,
        `${f.name} classify ${hex(f, x)}`,
      );
      assert.equal(refClass(f, x), 1 << bit);
    }
    // random
    for (let i = 0; i < 4000; i++) {
      const a = g.float(f);
      const b =
        g.rnd() < 0.2 ? a ^ (g.rnd() < 0.5 ? signBit(f, 1) : 0n) : g.float(f, g.biasedExp(f, a));
      for (const op of ['min', 'max'] as const)
        mm.check(
          `${f.name}_${op} ${hex(f, a)} ${hex(f, b)}`,
          callF(ex, `${f.name}_${op}`, f, [a, b]),
          refMinMax(f, a, b, op === 'max'),
          f.n,
        );
      for (const op of ['eq', 'lt', 'le'] as const) {
        const got = callF(ex, `${f.name}_${op}`, f, [a, b]);
        got.bits &= 0xffffffffn;
        mm.check(`${f.name}_${op} ${hex(f, a)} ${hex(f, b)}`, got, refCmp(f, a, b, op), f.n);
      }
      const cls = Number(ex[`${f.name}_classify`](f.n === 32 ? Number(a) | 0 : a));
      mm.check(
        `${f.name}_classify ${hex(f, a)}`,
        { bits: BigInt(cls), flags: 0 },
        { bits: BigInt(refClass(f, a)), flags: 0 },
        f.n,
      );
    }
    mm.assertNone();
  }
});

test('fpu: flags accumulate until cleared', () => {
  const ex = loadFpu();
  ex.clearFlags();
  ex.f32_div(0x3f800000, 0, RNE); // DZ
  ex.f32_add(0x3f800000, 0x33800000, RNE); // NX
  ex.f64_sqrt(-1n, RNE); // NV (-NaN bits: quiet NaN input, no flag) ...
  ex.f64_sqrt(0xbff0000000000000n, RNE); // NV
  assert.equal(Number(ex.getFlags()), DZ | NX | NV);
  ex.clearFlags();
  assert.equal(Number(ex.getFlags()), 0);
});

test('fpu: the host shortcut gives the softfloat result whenever it is taken', () => {
  // hostF32/hostF64/hostSqrt* (src/cpu/fpu.ts) may be used only when
  // rounding is to nearest even and inexact is already raised: then their
  // result must be the softfloat result bit for bit, and the softfloat must
  // raise no flag but NX. Operands: random, near overflow and underflow,
  // zeros, and cancelling pairs.
  const ex = loadFpu();
  const ops = ['add', 'sub', 'mul', 'div'] as const;
  let taken = 0;
  for (const f of [F32, F64]) {
    const g = new Gen(f.n === 32 ? 31337 : 4711);
    const mm = new Mismatches();
    const fb = BigInt(f.n - 1);
    const host = (name: string, args: bigint[], op?: number): { bits: bigint; ok: boolean } => {
      const conv: (number | bigint)[] = args.map((x) => (f.n === 32 ? Number(x) | 0 : x));
      if (op !== undefined) conv.unshift(op);
      const r = ex[name]!(...conv);
      return {
        bits: typeof r === 'number' ? BigInt(r >>> 0) : BigInt.asUintN(64, r),
        ok: Number(ex.hostUsable!()) !== 0,
      };
    };
    for (let i = 0; i < 20000; i++) {
      const a = g.rnd() < 0.05 ? (g.rnd() < 0.5 ? 0n : 1n << fb) : g.float(f);
      const shape = g.rnd();
      const b =
        shape < 0.1
          ? a ^ (1n << fb) // cancels in add
          : shape < 0.15
            ? 0n
            : g.float(f, shape < 0.6 ? g.biasedExp(f, a) : undefined);
      ops.forEach((op, code) => {
        const h = host(f.n === 32 ? 'hostF32' : 'hostF64', [a, b], code);
        if (!h.ok) return;
        taken++;
        const soft = callF(ex, `${f.name}_${op}`, f, [a, b], RNE);
        mm.check(
          `host ${f.name}_${op} ${hex(f, a)} ${hex(f, b)}`,
          { bits: h.bits, flags: soft.flags & ~NX },
          { bits: soft.bits, flags: 0 },
          f.n,
        );
      });
      const s = host(f.n === 32 ? 'hostSqrt32' : 'hostSqrt64', [a]);
      if (s.ok) {
        taken++;
        const soft = callF(ex, `${f.name}_sqrt`, f, [a], RNE);
        mm.check(
          `host ${f.name}_sqrt ${hex(f, a)}`,
          { bits: s.bits, flags: soft.flags & ~NX },
          { bits: soft.bits, flags: 0 },
          f.n,
        );
      }
    }
    // Products and quotients that land next to the smallest normal.
    const fracBits = BigInt(f.p - 1);
    const bias = (1 << (f.w - 1)) - 1;
    const make = (field: number): bigint =>
      (BigInt(field) << fracBits) | g.bits(f.p - 1) | (g.rnd() < 0.5 ? 1n << fb : 0n);
    for (let i = 0; i < 20000; i++) {
      const ea = g.int(bias - (bias >> 1), bias + (bias >> 1));
      const d = g.int(-2, 2);
      const a = make(ea);
      for (const [code, eb] of [
        [2, 1 + bias - ea + d],
        [3, ea - 1 + bias - d],
      ] as const) {
        if (eb < 1 || eb >= 2 * bias + 1) continue;
        const b = make(eb);
        const h = host(f.n === 32 ? 'hostF32' : 'hostF64', [a, b], code);
        if (!h.ok) continue;
        taken++;
        const soft = callF(ex, `${f.name}_${ops[code]}`, f, [a, b], RNE);
        mm.check(
          `host ${f.name}_${ops[code]} ${hex(f, a)} ${hex(f, b)}`,
          { bits: h.bits, flags: soft.flags & ~NX },
          { bits: soft.bits, flags: 0 },
          f.n,
        );
      }
    }
    mm.assertNone();
  }
  assert.ok(taken > 50000, `the shortcut was taken only ${taken} times`);
});

test('fpu: the emulated fused multiply-add gives the softfloat result whenever it is taken', () => {
  // hostFma64 (src/cpu/fpu.ts) emulates a binary64 fused multiply-add with
  // plain operations and rounding to odd. Whenever it says it may be used,
  // its result must be f64_fma's bit for bit, and f64_fma must raise no
  // flag but NX. Significands with few or many set bits put exact products
  // on and next to halfway points; addends near the product's magnitude and
  // near its negation make cancellations; zero factors and addends check
  // the signs of zero sums.
  const ex = loadFpu();
  const g = new Gen(2718);
  const mm = new Mismatches();
  const view = new DataView(new ArrayBuffer(8));
  const toNum = (x: bigint): number => (view.setBigUint64(0, x), view.getFloat64(0));
  const toBits = (x: number): bigint => (view.setFloat64(0, x), view.getBigUint64(0));
  const sign = (): bigint => (g.rnd() < 0.5 ? 1n << 63n : 0n);
  const make = (e: number): bigint => (BigInt(e) << 52n) | g.pattern(52) | sign();
  let taken = 0;
  for (let i = 0; i < 300_000; i++) {
    const ea = g.int(1023 - 490, 1023 + 490);
    const eb = g.int(1023 - 490, 1023 + 490);
    // Now and then a zero factor (an exact zero product).
    const a = g.rnd() < 0.03 ? sign() : make(ea);
    const b = g.rnd() < 0.03 ? sign() : make(eb);
    const shape = g.rnd();
    let c: bigint;
    if (shape < 0.1) c = sign();
    else if (shape < 0.45) c = make(Math.min(2046, Math.max(1, ea + eb - 1023 + g.int(-60, 60))));
    else if (shape < 0.7) {
      // Next to -(a·b) rounded: the result is (nearly) the product's rounding error.
      const p = toBits(-(toNum(a) * toNum(b)));
      c = BigInt.asUintN(64, p + BigInt(g.int(-3, 3)));
    } else c = make(g.int(1023 - 490, 1023 + 490));
    const r = ex.hostFma64!(a, b, c);
    if (Number(ex.hostUsable!()) === 0) continue;
    taken++;
    const soft = callF(ex, 'f64_fma', F64, [a, b, c], RNE);
    mm.check(
      `hostFma64 ${hex(F64, a)} ${hex(F64, b)} ${hex(F64, c)}`,
      { bits: BigInt.asUintN(64, BigInt(r)), flags: soft.flags & ~NX },
      { bits: soft.bits, flags: 0 },
      64,
    );
  }
  mm.assertNone();
  assert.ok(taken > 200_000, `the shortcut was taken only ${taken} times`);
});

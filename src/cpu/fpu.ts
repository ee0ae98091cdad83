// IEEE 754 binary32 / binary64 arithmetic for the RISC-V F and D extensions.
//
// All values are raw bit patterns: singles as u32, doubles as u64. Every
// operation takes an already-resolved rounding mode (0 RNE, 1 RTZ, 2 RDN,
// 3 RUP, 4 RMM) where it matters and ORs its exception flags into
// `fflagsAcc` (NX=1, UF=2, OF=4, DZ=8, NV=16), which the caller reads and
// clears.
//
// RISC-V specifics implemented here:
//   - every NaN result is the canonical NaN (0x7fc00000 / 0x7ff8000000000000);
//     signalling NaN operands raise NV;
//   - tininess is detected after rounding; UF = tiny and inexact;
//   - fma raises NV for inf*0 even when the addend is a quiet NaN;
//   - fmin/fmax follow the 2.2+ rules (a single NaN operand is ignored,
//     -0 < +0, sNaN raises NV);
//   - float->int conversions saturate (NaN -> largest positive) and raise NV
//     only (no NX) when the rounded value does not fit.
//
// Two implementations live side by side:
//   - an exact integer path (unpacked sign / exponent / significand, round
//     and pack once) that handles every rounding mode, and
//   - host fast paths for round-to-nearest-even, used only where the host's
//     IEEE operation (wasm float ops are correctly rounded RNE, with
//     subnormals) gives the same bits and the flags can be derived exactly:
//     finite normal results above 2^emin, inexactness from exact error
//     terms (2Sum/Fast2Sum) or exact integer checks. Binary64 fma uses an
//     error-free emulation (Dekker product + 2Sum + round-to-odd).
//   sqrt and float->int conversions use exact host operations in every
//   rounding mode (correctly rounded sqrt plus an exact y*y vs x check;
//   floor/ceil/trunc/nearest are exact).
// The host's NaN bits are never returned: every NaN result is produced here
// as the canonical NaN.
//
// Types: f32 values are u32 bits, f64 values u64 bits. Float->int results
// are bit patterns: *_to_i32/_to_u32 return the 32-bit pattern as u32 (RV64
// sign-extends both W and WU results), *_to_i64/_to_u64 the 64-bit pattern
// as u64. Int->float take i32/u32/i64/u64 values.
//
// No function allocates; scratch results travel through module globals.
// The exact paths are also exported (addSlow32, ..., cvtSlow64to32) so the
// tests can check them in round-to-nearest mode, where the fast paths would
// otherwise hide them.

/** Accrued exception flags: NX=1, UF=2, OF=4, DZ=8, NV=16. */
export let fflagsAcc: u32 = 0;

const NX: u32 = 1;
const UF: u32 = 2;
const OF: u32 = 4;
const DZ: u32 = 8;
const NV: u32 = 16;

const RNE: u32 = 0;
const RTZ: u32 = 1;
const RDN: u32 = 2;
const RUP: u32 = 3;
const RMM: u32 = 4;

// binary32 constants
const S_SIGN: u32 = 0x80000000;
const S_ABS: u32 = 0x7fffffff;
const S_INF: u32 = 0x7f800000;
const S_QNAN: u32 = 0x7fc00000;
const S_QBIT: u32 = 0x00400000;
const S_MAXF: u32 = 0x7f7fffff;
const S_MINN: u32 = 0x00800000;
const S_FRAC: u32 = 0x007fffff;

// binary64 constants
const D_SIGN: u64 = 0x8000000000000000;
const D_ABS: u64 = 0x7fffffffffffffff;
const D_INF: u64 = 0x7ff0000000000000;
const D_QNAN: u64 = 0x7ff8000000000000;
const D_QBIT: u64 = 0x0008000000000000;
const D_MAXF: u64 = 0x7fefffffffffffff;
const D_MINN: u64 = 0x0010000000000000;
const D_FRAC: u64 = 0x000fffffffffffff;
const D_HIDDEN: u64 = 0x0010000000000000;

// ---------------------------------------------------------------------------
// Scratch globals (multiple return values without allocation)

// unpacked finite non-zero operand: value = uSig * 2^(uExp - 62), MSB of uSig at bit 62
let uExp: i32 = 0;
let uSig: u64 = 0;
// 128-bit scratch (hi:lo)
export let wHi: u64 = 0;
let wLo: u64 = 0;
// result of addCore: value = (-1)^rSign * rSig * 2^(rExp - 62); rSig == 0 means exact zero
let rSign: u32 = 0;
let rExp: i32 = 0;
let rSig: u64 = 0;

// ---------------------------------------------------------------------------
// Classification helpers

@inline function isNaN32(a: u32): bool {
  return (a & S_ABS) > S_INF;
}
@inline function isSNaN32(a: u32): bool {
  return (a & S_ABS) > S_INF && (a & S_QBIT) == 0;
}
@inline function isNaN64(a: u64): bool {
  return (a & D_ABS) > D_INF;
}
@inline function isSNaN64(a: u64): bool {
  return (a & D_ABS) > D_INF && (a & D_QBIT) == 0;
}

/** Unpacks a finite non-zero binary32 into uExp/uSig (normalized, MSB at bit 62). */
@inline function unpack32(a: u32): void {
  let e = <i32>((a >> 23) & 0xff);
  let f = <u64>(a & S_FRAC);
  if (e != 0) {
    uExp = e - 127;
    uSig = (f | 0x800000) << 39;
  } else {
    let lz = <i32>clz<u64>(f);
    uSig = f << <u64>(lz - 1);
    uExp = -86 - lz;
  }
}

/** Unpacks a finite non-zero binary64 into uExp/uSig (normalized, MSB at bit 62). */
@inline function unpack64(a: u64): void {
  let e = <i32>((a >> 52) & 0x7ff);
  let f = a & D_FRAC;
  if (e != 0) {
    uExp = e - 1023;
    uSig = (f | D_HIDDEN) << 10;
  } else {
    let lz = <i32>clz<u64>(f);
    uSig = f << <u64>(lz - 1);
    uExp = -1011 - lz;
  }
}

/** Shift right by d >= 0, OR-ing every bit shifted out into bit 0 ("jamming"). */
@inline function shrJam(x: u64, d: i32): u64 {
  if (d == 0) return x;
  if (d >= 63) return x != 0 ? 1 : 0;
  return (x >> <u64>d) | ((x << <u64>(64 - d)) != 0 ? 1 : 0);
}

/** 64x64 -> 128-bit product into wHi:wLo (also the integer MULH* instructions). */
@inline export function mul128(a: u64, b: u64): void {
  let a0 = a & 0xffffffff;
  let a1 = a >> 32;
  let b0 = b & 0xffffffff;
  let b1 = b >> 32;
  let p00 = a0 * b0;
  let p01 = a0 * b1;
  let p10 = a1 * b0;
  let p11 = a1 * b1;
  let mid = (p00 >> 32) + (p01 & 0xffffffff) + (p10 & 0xffffffff);
  wLo = (mid << 32) | (p00 & 0xffffffff);
  wHi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

/** Shift the 128-bit value hi:lo right by d >= 1 with jamming, into wHi:wLo. */
function shr128Jam(hi: u64, lo: u64, d: i32): void {
  if (d >= 127) {
    wHi = 0;
    wLo = (hi | lo) != 0 ? 1 : 0;
  } else if (d >= 64) {
    let s = d - 64;
    let sticky: u64;
    let nl: u64;
    if (s == 0) {
      nl = hi;
      sticky = lo;
    } else {
      nl = hi >> <u64>s;
      sticky = (hi << <u64>(64 - s)) | lo;
    }
    wHi = 0;
    wLo = nl | (sticky != 0 ? 1 : 0);
  } else {
    let sticky = lo << <u64>(64 - d);
    wLo = (lo >> <u64>d) | (hi << <u64>(64 - d)) | (sticky != 0 ? 1 : 0);
    wHi = hi >> <u64>d;
  }
}

/** Whether a value with the given discarded bits `rem` (half = the weight of
 *  one half ulp) must be rounded away from zero. */
@inline function roundUp(rm: u32, sign: u32, lsb: u64, rem: u64, half: u64): bool {
  if (rm == RNE) return rem > half || (rem == half && lsb != 0);
  if (rm == RTZ) return false;
  if (rm == RDN) return sign != 0 && rem != 0;
  if (rm == RUP) return sign == 0 && rem != 0;
  return rem >= half; // RMM
}

// ---------------------------------------------------------------------------
// Round and pack. Value = (-1)^sign * sig * 2^(e - 62), sig != 0, any MSB.

function overflow32(sign: u32, rm: u32): u32 {
  fflagsAcc |= OF | NX;
  let s = sign << 31;
  if (rm == RTZ || (rm == RDN && sign == 0) || (rm == RUP && sign != 0)) return s | S_MAXF;
  return s | S_INF;
}

function overflow64(sign: u32, rm: u32): u64 {
  fflagsAcc |= OF | NX;
  let s = <u64>sign << 63;
  if (rm == RTZ || (rm == RDN && sign == 0) || (rm == RUP && sign != 0)) return s | D_MAXF;
  return s | D_INF;
}

function roundPack32(sign: u32, e: i32, sig: u64, rm: u32): u32 {
  let lz = <i32>clz<u64>(sig);
  if (lz == 0) {
    sig = (sig >> 1) | (sig & 1);
    e += 1;
  } else if (lz > 1) {
    sig <<= <u64>(lz - 1);
    e -= lz - 1;
  }
  // now sig in [2^62, 2^63): 24 kept bits (62..39), 39 round bits
  if (e > 127) return overflow32(sign, rm);
  const RB: u64 = 0x7fffffffff; // 39 bits
  const HALF: u64 = 0x4000000000;
  if (e >= -126) {
    let rem = sig & RB;
    let m = sig >> 39;
    if (rem != 0) {
      fflagsAcc |= NX;
      if (roundUp(rm, sign, m & 1, rem, HALF)) {
        m += 1;
        if (m == 0x1000000) {
          m = 0x800000;
          e += 1;
          if (e > 127) return overflow32(sign, rm);
        }
      }
    }
    return (sign << 31) | (<u32>(e + 127) << 23) | (<u32>m & S_FRAC);
  }
  // Below the normal range before rounding. Tiny after rounding unless the
  // value rounds (at full precision, unbounded exponent) up to 2^-126.
  let tiny = true;
  if (e == -127) {
    let rem0 = sig & RB;
    if ((sig >> 39) == 0xffffff && rem0 != 0 && roundUp(rm, sign, 1, rem0, HALF)) tiny = false;
  }
  let d = shrJam(sig, -126 - e);
  let rem = d & RB;
  let m = d >> 39;
  if (rem != 0) {
    fflagsAcc |= tiny ? NX | UF : NX;
    if (roundUp(rm, sign, m & 1, rem, HALF)) m += 1;
  }
  // m <= 2^23; m == 2^23 carries into the exponent field (min normal)
  return (sign << 31) | <u32>m;
}

function roundPack64(sign: u32, e: i32, sig: u64, rm: u32): u64 {
  let lz = <i32>clz<u64>(sig);
  if (lz == 0) {
    sig = (sig >> 1) | (sig & 1);
    e += 1;
  } else if (lz > 1) {
    sig <<= <u64>(lz - 1);
    e -= lz - 1;
  }
  // now sig in [2^62, 2^63): 53 kept bits (62..10), 10 round bits
  if (e > 1023) return overflow64(sign, rm);
  const RB: u64 = 0x3ff;
  const HALF: u64 = 0x200;
  let s = <u64>sign << 63;
  if (e >= -1022) {
    let rem = sig & RB;
    let m = sig >> 10;
    if (rem != 0) {
      fflagsAcc |= NX;
      if (roundUp(rm, sign, m & 1, rem, HALF)) {
        m += 1;
        if (m == 0x20000000000000) {
          m = D_HIDDEN;
          e += 1;
          if (e > 1023) return overflow64(sign, rm);
        }
      }
    }
    return s | (<u64>(e + 1023) << 52) | (m & D_FRAC);
  }
  let tiny = true;
  if (e == -1023) {
    let rem0 = sig & RB;
    if ((sig >> 10) == 0x1fffffffffffff && rem0 != 0 && roundUp(rm, sign, 1, rem0, HALF)) tiny = false;
  }
  let d = shrJam(sig, -1022 - e);
  let rem = d & RB;
  let m = d >> 10;
  if (rem != 0) {
    fflagsAcc |= tiny ? NX | UF : NX;
    if (roundUp(rm, sign, m & 1, rem, HALF)) m += 1;
  }
  return s | m;
}

// ---------------------------------------------------------------------------
// Exact addition of two non-zero finite values given as (sign, exp, sig) with
// sig MSB exactly at bit 62. Result in rSign/rExp/rSig (rSig == 0: exact 0).

function addCore(sa: u32, ea: i32, ma: u64, sb: u32, eb: i32, mb: u64): void {
  if (ea < eb || (ea == eb && ma < mb)) {
    let ts = sa;
    sa = sb;
    sb = ts;
    let te = ea;
    ea = eb;
    eb = te;
    let tm = ma;
    ma = mb;
    mb = tm;
  }
  mb = shrJam(mb, ea - eb);
  rSign = sa;
  rExp = ea;
  rSig = sa == sb ? ma + mb : ma - mb;
}

// ---------------------------------------------------------------------------
// binary32 arithmetic

export function addSlow32(a: u32, b: u32, rm: u32): u32 {
  let aa = a & S_ABS;
  let ab = b & S_ABS;
  if (aa >= S_INF || ab >= S_INF) {
    if (aa > S_INF || ab > S_INF) {
      if (isSNaN32(a) || isSNaN32(b)) fflagsAcc |= NV;
      return S_QNAN;
    }
    if (aa == S_INF && ab == S_INF && a != b) {
      fflagsAcc |= NV;
      return S_QNAN;
    }
    return aa == S_INF ? a : b;
  }
  if (aa == 0 || ab == 0) {
    if (aa != 0) return a;
    if (ab != 0) return b;
    if (a == b) return a;
    return rm == RDN ? S_SIGN : 0;
  }
  unpack32(a);
  let ea = uExp;
  let ma = uSig;
  unpack32(b);
  addCore(a >> 31, ea, ma, b >> 31, uExp, uSig);
  if (rSig == 0) return rm == RDN ? S_SIGN : 0;
  return roundPack32(rSign, rExp, rSig, rm);
}

export function f32_add(a: u32, b: u32, rm: u32): u32 {
  if (rm == RNE) {
    let x = reinterpret<f32>(a);
    let y = reinterpret<f32>(b);
    let s = x + y;
    let sb = reinterpret<u32>(s);
    if ((sb & S_ABS) < S_INF) {
      // finite result: both operands finite. Fast2Sum: with |x| >= |y|,
      // s - x is exact and the rounding error is y - (s - x).
      if ((a & S_ABS) < (b & S_ABS)) {
        let t = x;
        x = y;
        y = t;
      }
      if (s - x != y) fflagsAcc |= NX;
      return sb;
    }
  }
  return addSlow32(a, b, rm);
}

export function f32_sub(a: u32, b: u32, rm: u32): u32 {
  return f32_add(a, b ^ S_SIGN, rm);
}

export function mulSlow32(a: u32, b: u32, rm: u32): u32 {
  let aa = a & S_ABS;
  let ab = b & S_ABS;
  let sign = (a ^ b) >> 31;
  if (aa >= S_INF || ab >= S_INF) {
    if (aa > S_INF || ab > S_INF) {
      if (isSNaN32(a) || isSNaN32(b)) fflagsAcc |= NV;
      return S_QNAN;
    }
    if (aa == 0 || ab == 0) {
      fflagsAcc |= NV;
      return S_QNAN;
    }
    return (sign << 31) | S_INF;
  }
  if (aa == 0 || ab == 0) return sign << 31;
  unpack32(a);
  let ea = uExp;
  let ma = uSig >> 39;
  unpack32(b);
  let p = ma * (uSig >> 39); // exact, < 2^48
  return roundPack32(sign, ea + uExp + 16, p, rm);
}

export function f32_mul(a: u32, b: u32, rm: u32): u32 {
  if (rm == RNE) {
    let x = reinterpret<f32>(a);
    let y = reinterpret<f32>(b);
    let r = x * y;
    let rb = reinterpret<u32>(r);
    let ar = rb & S_ABS;
    if (ar > S_MINN && ar < S_INF) {
      // normal result above 2^-126: no underflow/overflow; the exact
      // product of two singles fits in a double.
      if (<f64>x * <f64>y != <f64>r) fflagsAcc |= NX;
      return rb;
    }
  }
  return mulSlow32(a, b, rm);
}

export function divSlow32(a: u32, b: u32, rm: u32): u32 {
  let aa = a & S_ABS;
  let ab = b & S_ABS;
  let sign = (a ^ b) >> 31;
  if (aa > S_INF || ab > S_INF) {
    if (isSNaN32(a) || isSNaN32(b)) fflagsAcc |= NV;
    return S_QNAN;
  }
  if (aa == S_INF) {
    if (ab == S_INF) {
      fflagsAcc |= NV;
      return S_QNAN;
    }
    return (sign << 31) | S_INF;
  }
  if (ab == S_INF) return sign << 31;
  if (ab == 0) {
    if (aa == 0) {
      fflagsAcc |= NV;
      return S_QNAN;
    }
    fflagsAcc |= DZ;
    return (sign << 31) | S_INF;
  }
  if (aa == 0) return sign << 31;
  unpack32(a);
  let e = uExp;
  let ma = uSig >> 39;
  unpack32(b);
  let mb = uSig >> 39;
  e -= uExp;
  if (ma < mb) {
    ma <<= 1;
    e -= 1;
  }
  let n = ma << 39;
  let q = n / mb; // in [2^39, 2^40)
  let r = n - q * mb;
  return roundPack32(sign, e, (q << 23) | (r != 0 ? 1 : 0), rm);
}

export function f32_div(a: u32, b: u32, rm: u32): u32 {
  if (rm == RNE) {
    let x = reinterpret<f32>(a);
    let y = reinterpret<f32>(b);
    let q = x / y;
    let qb = reinterpret<u32>(q);
    let aq = qb & S_ABS;
    if (aq > S_MINN && aq < S_INF) {
      // q*y is exact in binary64; q is exact iff q*y == x
      if (<f64>q * <f64>y != <f64>x) fflagsAcc |= NX;
      return qb;
    }
  }
  return divSlow32(a, b, rm);
}

export function f32_sqrt(a: u32, rm: u32): u32 {
  let aa = a & S_ABS;
  if (aa > S_INF) {
    if (isSNaN32(a)) fflagsAcc |= NV;
    return S_QNAN;
  }
  if (aa == 0) return a;
  if (a >> 31) {
    fflagsAcc |= NV;
    return S_QNAN;
  }
  if (a == S_INF) return a;
  // The host square root is correctly rounded (RNE) and the result is always
  // a normal number. y*y is exact in binary64, so comparing it with x tells
  // on which side of the exact root y lies; directed modes step one ulp.
  let x = reinterpret<f32>(a);
  let y = sqrt<f32>(x);
  let yb = reinterpret<u32>(y);
  let y2 = <f64>y * <f64>y;
  let xd = <f64>x;
  if (y2 == xd) return yb;
  fflagsAcc |= NX;
  if (y2 > xd) {
    if (rm == RTZ || rm == RDN) return yb - 1;
  } else {
    if (rm == RUP) return yb + 1;
  }
  return yb;
}

// fma on binary32: the 48-bit product is exact in a u64.
export function fmaSlow32(a: u32, b: u32, c: u32, rm: u32): u32 {
  let aa = a & S_ABS;
  let ab = b & S_ABS;
  let ac = c & S_ABS;
  let sp = (a ^ b) >> 31;
  if (aa > S_INF || ab > S_INF || ac > S_INF) {
    if (isSNaN32(a) || isSNaN32(b) || isSNaN32(c)) fflagsAcc |= NV;
    if ((aa == S_INF && ab == 0) || (aa == 0 && ab == S_INF)) fflagsAcc |= NV;
    return S_QNAN;
  }
  if (aa == S_INF || ab == S_INF) {
    if (aa == 0 || ab == 0) {
      fflagsAcc |= NV;
      return S_QNAN;
    }
    if (ac == S_INF && (c >> 31) != sp) {
      fflagsAcc |= NV;
      return S_QNAN;
    }
    return (sp << 31) | S_INF;
  }
  if (ac == S_INF) return c;
  if (aa == 0 || ab == 0) {
    if (ac != 0) return c;
    if ((c >> 31) == sp) return c;
    return rm == RDN ? S_SIGN : 0;
  }
  unpack32(a);
  let ep = uExp;
  let ma = uSig >> 39;
  unpack32(b);
  ep += uExp;
  let p = ma * (uSig >> 39); // [2^46, 2^48)
  if (ac == 0) return roundPack32(sp, ep + 16, p, rm);
  // normalize the product to MSB at bit 62
  if (p >= 0x800000000000) {
    p <<= 15;
    ep += 1;
  } else {
    p <<= 16;
  }
  unpack32(c);
  addCore(sp, ep, p, c >> 31, uExp, uSig);
  if (rSig == 0) return rm == RDN ? S_SIGN : 0;
  return roundPack32(rSign, rExp, rSig, rm);
}

export function f32_fma(a: u32, b: u32, c: u32, rm: u32): u32 {
  if (rm == RNE) {
    // p = a*b is exact in binary64; s = p + c rounded once to binary64 with
    // its exact error e (Fast2Sum). Rounding s to binary32 is correct unless
    // s sits exactly on a binary32 midpoint while e != 0; then the sign of e
    // picks the neighbour.
    let p = <f64>reinterpret<f32>(a) * <f64>reinterpret<f32>(b);
    let cd = <f64>reinterpret<f32>(c);
    let s = p + cd;
    let sbits = reinterpret<u64>(s);
    if ((sbits & D_ABS) < D_INF) {
      let r = <f32>s;
      let rb = reinterpret<u32>(r);
      let ar = rb & S_ABS;
      if (ar > S_MINN && ar < S_INF) {
        let big = p;
        let small = cd;
        if (abs<f64>(p) < abs<f64>(cd)) {
          big = cd;
          small = p;
        }
        let err = small - (s - big);
        if (err != 0) {
          fflagsAcc |= NX;
          // binary32 midpoint: the 29 low fraction bits of s are 1000...0
          if ((sbits & 0x1fffffff) == 0x10000000) {
            let rd = <f64>r;
            let other = abs<f64>(rd) > abs<f64>(s) ? rb - 1 : rb + 1;
            // err and s of the same sign: exact value has the larger magnitude
            let wantLarger = (err > 0) == (s > 0);
            let rbIsLarger = abs<f64>(rd) > abs<f64>(s);
            if (wantLarger != rbIsLarger) rb = other;
            // a candidate at or below 2^-126 would need the exact underflow test
            if ((rb & S_ABS) <= S_MINN || (rb & S_ABS) >= S_INF) return fmaSlow32(a, b, c, rm);
          }
          return rb;
        }
        if (<f64>r != s) fflagsAcc |= NX;
        return rb;
      }
    }
  }
  return fmaSlow32(a, b, c, rm);
}

// ---------------------------------------------------------------------------
// binary64 arithmetic

export function addSlow64(a: u64, b: u64, rm: u32): u64 {
  let aa = a & D_ABS;
  let ab = b & D_ABS;
  if (aa >= D_INF || ab >= D_INF) {
    if (aa > D_INF || ab > D_INF) {
      if (isSNaN64(a) || isSNaN64(b)) fflagsAcc |= NV;
      return D_QNAN;
    }
    if (aa == D_INF && ab == D_INF && a != b) {
      fflagsAcc |= NV;
      return D_QNAN;
    }
    return aa == D_INF ? a : b;
  }
  if (aa == 0 || ab == 0) {
    if (aa != 0) return a;
    if (ab != 0) return b;
    if (a == b) return a;
    return rm == RDN ? D_SIGN : 0;
  }
  unpack64(a);
  let ea = uExp;
  let ma = uSig;
  unpack64(b);
  addCore(<u32>(a >> 63), ea, ma, <u32>(b >> 63), uExp, uSig);
  if (rSig == 0) return rm == RDN ? D_SIGN : 0;
  return roundPack64(rSign, rExp, rSig, rm);
}

export function f64_add(a: u64, b: u64, rm: u32): u64 {
  if (rm == RNE) {
    let x = reinterpret<f64>(a);
    let y = reinterpret<f64>(b);
    let s = x + y;
    let sb = reinterpret<u64>(s);
    if ((sb & D_ABS) < D_INF) {
      if ((a & D_ABS) < (b & D_ABS)) {
        let t = x;
        x = y;
        y = t;
      }
      if (s - x != y) fflagsAcc |= NX;
      return sb;
    }
  }
  return addSlow64(a, b, rm);
}

export function f64_sub(a: u64, b: u64, rm: u32): u64 {
  return f64_add(a, b ^ D_SIGN, rm);
}

export function mulSlow64(a: u64, b: u64, rm: u32): u64 {
  let aa = a & D_ABS;
  let ab = b & D_ABS;
  let sign = <u32>((a ^ b) >> 63);
  if (aa >= D_INF || ab >= D_INF) {
    if (aa > D_INF || ab > D_INF) {
      if (isSNaN64(a) || isSNaN64(b)) fflagsAcc |= NV;
      return D_QNAN;
    }
    if (aa == 0 || ab == 0) {
      fflagsAcc |= NV;
      return D_QNAN;
    }
    return (<u64>sign << 63) | D_INF;
  }
  if (aa == 0 || ab == 0) return <u64>sign << 63;
  unpack64(a);
  let ea = uExp;
  let ma = uSig;
  unpack64(b);
  mul128(ma, uSig); // [2^124, 2^126)
  let sig = (wHi << 2) | (wLo >> 62) | ((wLo & 0x3fffffffffffffff) != 0 ? 1 : 0);
  return roundPack64(sign, ea + uExp, sig, rm);
}

/** Significand (with hidden bit) of a finite non-zero binary64, odd part. */
@inline function oddSig64(a: u64): u64 {
  let m = a & D_FRAC;
  if ((a & 0x7ff0000000000000) != 0) m |= D_HIDDEN;
  return m >> ctz<u64>(m);
}

export function f64_mul(a: u64, b: u64, rm: u32): u64 {
  if (rm == RNE) {
    let r = reinterpret<f64>(a) * reinterpret<f64>(b);
    let rb = reinterpret<u64>(r);
    let ar = rb & D_ABS;
    if (ar > D_MINN && ar < D_INF) {
      // exact iff the product of the odd parts of the significands fits in 53 bits
      let oa = oddSig64(a);
      let ob = oddSig64(b);
      let bits = 128 - <i32>clz<u64>(oa) - <i32>clz<u64>(ob);
      if (bits > 54 || (bits == 54 && oa * ob >= 0x20000000000000)) fflagsAcc |= NX;
      return rb;
    }
  }
  return mulSlow64(a, b, rm);
}

export function divSlow64(a: u64, b: u64, rm: u32): u64 {
  let aa = a & D_ABS;
  let ab = b & D_ABS;
  let sign = <u32>((a ^ b) >> 63);
  let s = <u64>sign << 63;
  if (aa > D_INF || ab > D_INF) {
    if (isSNaN64(a) || isSNaN64(b)) fflagsAcc |= NV;
    return D_QNAN;
  }
  if (aa == D_INF) {
    if (ab == D_INF) {
      fflagsAcc |= NV;
      return D_QNAN;
    }
    return s | D_INF;
  }
  if (ab == D_INF) return s;
  if (ab == 0) {
    if (aa == 0) {
      fflagsAcc |= NV;
      return D_QNAN;
    }
    fflagsAcc |= DZ;
    return s | D_INF;
  }
  if (aa == 0) return s;
  unpack64(a);
  let e = uExp;
  let ma = uSig >> 10;
  unpack64(b);
  let mb = uSig >> 10;
  e -= uExp;
  if (ma < mb) {
    ma <<= 1;
    e -= 1;
  }
  // long division, 11 quotient bits per step: 1 + 5*11 = 56 bits
  let q: u64 = 1;
  let r = ma - mb;
  for (let i = 0; i < 5; i++) {
    r <<= 11;
    let d = r / mb;
    r -= d * mb;
    q = (q << 11) | d;
  }
  return roundPack64(sign, e, (q << 7) | (r != 0 ? 1 : 0), rm);
}

export function f64_div(a: u64, b: u64, rm: u32): u64 {
  if (rm == RNE) {
    let q = reinterpret<f64>(a) / reinterpret<f64>(b);
    let qb = reinterpret<u64>(q);
    let aq = qb & D_ABS;
    if (aq > D_MINN && aq < D_INF) {
      // exact iff q*b == a, i.e. odd(q) * odd(b) == odd(a)
      let oq = oddSig64(qb);
      let ob = oddSig64(b);
      let bits = 128 - <i32>clz<u64>(oq) - <i32>clz<u64>(ob);
      if (bits > 54 || oq * ob != oddSig64(a)) fflagsAcc |= NX;
      return qb;
    }
  }
  return divSlow64(a, b, rm);
}

export function f64_sqrt(a: u64, rm: u32): u64 {
  let aa = a & D_ABS;
  if (aa > D_INF) {
    if (isSNaN64(a)) fflagsAcc |= NV;
    return D_QNAN;
  }
  if (aa == 0) return a;
  if (a >> 63) {
    fflagsAcc |= NV;
    return D_QNAN;
  }
  if (a == D_INF) return a;
  // Host sqrt is correctly rounded (RNE) and normal. Compare y*y with x
  // exactly in 128-bit integers to know the side of the exact root.
  let y = sqrt<f64>(reinterpret<f64>(a));
  let yb = reinterpret<u64>(y);
  let my = (yb & D_FRAC) | D_HIDDEN;
  // y*y == x needs odd(my)^2 < 2^53; in the nearest modes the side is irrelevant
  if ((rm == RNE || rm == RMM) && my >> ctz<u64>(my) > 0x7ffffff) {
    fflagsAcc |= NX;
    return yb;
  }
  let ey = <i32>(yb >> 52) - 1023;
  unpack64(a);
  let mx = uSig >> 10;
  let t = uExp - 2 * ey; // -1, 0 or 1
  // y^2 = my^2 * 2^(2ey-104); x = (mx << (52+t)) * 2^(2ey-104)
  let sh = 52 + t;
  let xh = mx >> <u64>(64 - sh);
  let xl = mx << <u64>sh;
  mul128(my, my);
  if (wHi == xh && wLo == xl) return yb;
  fflagsAcc |= NX;
  if (wHi > xh || (wHi == xh && wLo > xl)) {
    if (rm == RTZ || rm == RDN) return yb - 1;
  } else {
    if (rm == RUP) return yb + 1;
  }
  return yb;
}

export function fmaSlow64(a: u64, b: u64, c: u64, rm: u32): u64 {
  let aa = a & D_ABS;
  let ab = b & D_ABS;
  let ac = c & D_ABS;
  let sp = <u32>((a ^ b) >> 63);
  let sc = <u32>(c >> 63);
  if (aa > D_INF || ab > D_INF || ac > D_INF) {
    if (isSNaN64(a) || isSNaN64(b) || isSNaN64(c)) fflagsAcc |= NV;
    if ((aa == D_INF && ab == 0) || (aa == 0 && ab == D_INF)) fflagsAcc |= NV;
    return D_QNAN;
  }
  if (aa == D_INF || ab == D_INF) {
    if (aa == 0 || ab == 0) {
      fflagsAcc |= NV;
      return D_QNAN;
    }
    if (ac == D_INF && sc != sp) {
      fflagsAcc |= NV;
      return D_QNAN;
    }
    return (<u64>sp << 63) | D_INF;
  }
  if (ac == D_INF) return c;
  if (aa == 0 || ab == 0) {
    if (ac != 0) return c;
    if (sc == sp) return c;
    return rm == RDN ? D_SIGN : 0;
  }
  unpack64(a);
  let ep = uExp;
  let ma = uSig;
  unpack64(b);
  ep += uExp;
  mul128(ma, uSig); // [2^124, 2^126), value = P * 2^(ep - 124)
  let ph = wHi;
  let pl = wLo;
  if (ac == 0) {
    let sig = (ph << 2) | (pl >> 62) | ((pl & 0x3fffffffffffffff) != 0 ? 1 : 0);
    return roundPack64(sp, ep, sig, rm);
  }
  // normalize P to MSB at bit 126: value = P * 2^(ep - 126)
  if ((ph >> 61) != 0) {
    ph = (ph << 1) | (pl >> 63);
    pl <<= 1;
    ep += 1;
  } else {
    ph = (ph << 2) | (pl >> 62);
    pl <<= 2;
  }
  unpack64(c);
  let ec = uExp;
  let ch = uSig; // C = uSig << 64, MSB at bit 126
  let cl: u64 = 0;
  // order by magnitude: X = larger
  let xs = sp;
  let xe = ep;
  let xh = ph;
  let xl = pl;
  let ys = sc;
  let ye = ec;
  let yh = ch;
  let yl = cl;
  if (ep < ec || (ep == ec && (ph < ch || (ph == ch && pl < cl)))) {
    xs = sc;
    xe = ec;
    xh = ch;
    xl = cl;
    ys = sp;
    ye = ep;
    yh = ph;
    yl = pl;
  }
  let d = xe - ye;
  if (d > 0) {
    shr128Jam(yh, yl, d);
    yh = wHi;
    yl = wLo;
  }
  let rh: u64;
  let rl: u64;
  if (xs == ys) {
    rl = xl + yl;
    rh = xh + yh + (rl < xl ? 1 : 0);
  } else {
    rl = xl - yl;
    rh = xh - yh - (xl < yl ? 1 : 0);
  }
  if ((rh | rl) == 0) return rm == RDN ? D_SIGN : 0;
  // bring the MSB to bit 126 (value = R * 2^(e - 126)), then keep the top word
  let e = xe;
  if (rh == 0) {
    // at least 64 bits cancelled: R < 2^64 exactly (no bits were lost)
    rh = rl;
    rl = 0;
    e -= 64;
  }
  let lz = <i32>clz<u64>(rh);
  if (lz == 0) {
    rl = (rl >> 1) | (rh << 63) | (rl & 1);
    rh >>= 1;
    e += 1;
  } else if (lz > 1) {
    let k = lz - 1;
    rh = (rh << <u64>k) | (rl >> <u64>(64 - k));
    rl <<= <u64>k;
    e -= k;
  }
  return roundPack64(xs, e, rh | (rl != 0 ? 1 : 0), rm);
}

/** Rounding error of s = RN(x + y) (Knuth's 2Sum; exact barring overflow). */
@inline function sumErr(x: f64, y: f64, s: f64): f64 {
  let yv = s - x;
  return (x - (s - yv)) + (y - yv);
}

/** Veltkamp split of x into 26 + 27 bit halves: high half in splitHi, low in splitLo. */
let splitHi: f64 = 0;
let splitLo: f64 = 0;
@inline function split(x: f64): void {
  let t = 134217729.0 * x; // 2^27 + 1
  splitHi = t - (t - x);
  splitLo = x - splitHi;
}

export function f64_fma(a: u64, b: u64, c: u64, rm: u32): u64 {
  if (rm == RNE) {
    // Round-to-nearest fma from binary64 operations (Boldo & Melquiond's
    // emulation with round-to-odd): a*b = uh + ul exactly (Dekker), c + uh =
    // th + tl exactly (2Sum), v = RO(tl + ul), result = RN(th + v). Valid
    // when nothing overflows or underflows, which the exponent checks below
    // and the checks on th, v and the result guarantee (else: exact path).
    let ea = <i32>(a >> 52) & 0x7ff;
    let eb = <i32>(b >> 52) & 0x7ff;
    let ec = <i32>(c >> 52) & 0x7ff;
    let ep = ea + eb - 2046; // unbiased exponent of the product (+0/+1)
    if (
      ea >= 1 && ea <= 2013 && eb >= 1 && eb <= 2013 && ep >= -900 && ep <= 990 &&
      ((c & D_ABS) == 0 || (ec >= 1 && ec <= 2023))
    ) {
      let x = reinterpret<f64>(a);
      let y = reinterpret<f64>(b);
      let z = reinterpret<f64>(c);
      let uh = x * y;
      split(x);
      let xh = splitHi;
      let xl = splitLo;
      split(y);
      let ul = ((xh * splitHi - uh) + xh * splitLo + xl * splitHi) + xl * splitLo;
      let th = z + uh;
      let tl = sumErr(z, uh, th);
      if (th == 0 || (reinterpret<u64>(th) & D_ABS) >= 0x07b0000000000000) { // 2^-900
        // v = round-to-odd(tl + ul)
        let s1 = tl + ul;
        let e1 = sumErr(tl, ul, s1);
        let v = s1;
        if (e1 != 0) {
          let vb = reinterpret<u64>(s1);
          if ((vb & 1) == 0) vb = (e1 > 0) == (s1 > 0) ? vb + 1 : vb - 1;
          v = reinterpret<f64>(vb);
        }
        if ((reinterpret<u64>(v) & D_ABS) == 0 || (reinterpret<u64>(v) & D_ABS) >= D_MINN) {
          let r = th + v;
          let rb = reinterpret<u64>(r);
          let ar = rb & D_ABS;
          if (ar > D_MINN && ar < D_INF) {
            // inexact iff tl + ul was not representable or th + v was not exact
            if (e1 != 0 || sumErr(th, v, r) != 0) fflagsAcc |= NX;
            return rb;
          }
        }
      }
    }
  }
  return fmaSlow64(a, b, c, rm);
}

// ---------------------------------------------------------------------------
// min / max / compare / classify

/** Monotonic key for non-NaN values: integer order == numeric order, -0 < +0. */
@inline function key32(a: u32): u32 {
  return (a >> 31) != 0 ? ~a : a | S_SIGN;
}
@inline function key64(a: u64): u64 {
  return (a >> 63) != 0 ? ~a : a | D_SIGN;
}

export function f32_min(a: u32, b: u32): u32 {
  let na = isNaN32(a);
  let nb = isNaN32(b);
  if (na || nb) {
    if (isSNaN32(a) || isSNaN32(b)) fflagsAcc |= NV;
    if (na && nb) return S_QNAN;
    return na ? b : a;
  }
  return key32(a) <= key32(b) ? a : b;
}

export function f32_max(a: u32, b: u32): u32 {
  let na = isNaN32(a);
  let nb = isNaN32(b);
  if (na || nb) {
    if (isSNaN32(a) || isSNaN32(b)) fflagsAcc |= NV;
    if (na && nb) return S_QNAN;
    return na ? b : a;
  }
  return key32(a) >= key32(b) ? a : b;
}

export function f64_min(a: u64, b: u64): u64 {
  let na = isNaN64(a);
  let nb = isNaN64(b);
  if (na || nb) {
    if (isSNaN64(a) || isSNaN64(b)) fflagsAcc |= NV;
    if (na && nb) return D_QNAN;
    return na ? b : a;
  }
  return key64(a) <= key64(b) ? a : b;
}

export function f64_max(a: u64, b: u64): u64 {
  let na = isNaN64(a);
  let nb = isNaN64(b);
  if (na || nb) {
    if (isSNaN64(a) || isSNaN64(b)) fflagsAcc |= NV;
    if (na && nb) return D_QNAN;
    return na ? b : a;
  }
  return key64(a) >= key64(b) ? a : b;
}

/** feq.s: quiet comparison (NV only for signalling NaNs). */
export function f32_eq(a: u32, b: u32): u32 {
  if (isNaN32(a) || isNaN32(b)) {
    if (isSNaN32(a) || isSNaN32(b)) fflagsAcc |= NV;
    return 0;
  }
  return a == b || ((a | b) & S_ABS) == 0 ? 1 : 0;
}

/** flt.s: signalling comparison (NV for any NaN). */
export function f32_lt(a: u32, b: u32): u32 {
  if (isNaN32(a) || isNaN32(b)) {
    fflagsAcc |= NV;
    return 0;
  }
  if (((a | b) & S_ABS) == 0) return 0;
  return key32(a) < key32(b) ? 1 : 0;
}

/** fle.s: signalling comparison (NV for any NaN). */
export function f32_le(a: u32, b: u32): u32 {
  if (isNaN32(a) || isNaN32(b)) {
    fflagsAcc |= NV;
    return 0;
  }
  if (((a | b) & S_ABS) == 0) return 1;
  return key32(a) <= key32(b) ? 1 : 0;
}

export function f64_eq(a: u64, b: u64): u32 {
  if (isNaN64(a) || isNaN64(b)) {
    if (isSNaN64(a) || isSNaN64(b)) fflagsAcc |= NV;
    return 0;
  }
  return a == b || ((a | b) & D_ABS) == 0 ? 1 : 0;
}

export function f64_lt(a: u64, b: u64): u32 {
  if (isNaN64(a) || isNaN64(b)) {
    fflagsAcc |= NV;
    return 0;
  }
  if (((a | b) & D_ABS) == 0) return 0;
  return key64(a) < key64(b) ? 1 : 0;
}

export function f64_le(a: u64, b: u64): u32 {
  if (isNaN64(a) || isNaN64(b)) {
    fflagsAcc |= NV;
    return 0;
  }
  if (((a | b) & D_ABS) == 0) return 1;
  return key64(a) <= key64(b) ? 1 : 0;
}

/** fclass.s mask: bit 0 -inf, 1 -normal, 2 -subnormal, 3 -0, 4 +0,
 *  5 +subnormal, 6 +normal, 7 +inf, 8 sNaN, 9 qNaN. */
export function f32_classify(a: u32): u32 {
  let neg = (a >> 31) != 0;
  let e = (a >> 23) & 0xff;
  let f = a & S_FRAC;
  if (e == 0xff) {
    if (f == 0) return neg ? 1 : 1 << 7;
    return (f & S_QBIT) != 0 ? 1 << 9 : 1 << 8;
  }
  if (e == 0) {
    if (f == 0) return neg ? 1 << 3 : 1 << 4;
    return neg ? 1 << 2 : 1 << 5;
  }
  return neg ? 1 << 1 : 1 << 6;
}

export function f64_classify(a: u64): u32 {
  let neg = (a >> 63) != 0;
  let e = <u32>(a >> 52) & 0x7ff;
  let f = a & D_FRAC;
  if (e == 0x7ff) {
    if (f == 0) return neg ? 1 : 1 << 7;
    return (f & D_QBIT) != 0 ? 1 << 9 : 1 << 8;
  }
  if (e == 0) {
    if (f == 0) return neg ? 1 << 3 : 1 << 4;
    return neg ? 1 << 2 : 1 << 5;
  }
  return neg ? 1 << 1 : 1 << 6;
}

// ---------------------------------------------------------------------------
// float -> integer. The value is first rounded to an integral binary64 with
// the host's exact rounding operations (floor/ceil/trunc/nearest are exact),
// then range-checked and converted (the conversion itself is exact).

@inline function roundIntegral(x: f64, rm: u32): f64 {
  if (rm == RNE) return nearest<f64>(x);
  if (rm == RTZ) return trunc<f64>(x);
  if (rm == RDN) return floor<f64>(x);
  if (rm == RUP) return ceil<f64>(x);
  // RMM: x - trunc(x) is exact; |t| < 2^52 whenever it is non-zero
  let t = trunc<f64>(x);
  if (abs<f64>(x - t) >= 0.5) t += x < 0 ? -1.0 : 1.0;
  return t;
}

function cvtI32(x: f64, rm: u32): u32 {
  if (x != x) {
    fflagsAcc |= NV;
    return 0x7fffffff;
  }
  let r = roundIntegral(x, rm);
  if (r >= -2147483648.0 && r <= 2147483647.0) {
    if (r != x) fflagsAcc |= NX;
    return <u32>(<i32>r);
  }
  fflagsAcc |= NV;
  return x < 0 ? 0x80000000 : 0x7fffffff;
}

function cvtU32(x: f64, rm: u32): u32 {
  if (x != x) {
    fflagsAcc |= NV;
    return 0xffffffff;
  }
  let r = roundIntegral(x, rm);
  if (r > -1.0 && r <= 4294967295.0) {
    if (r != x) fflagsAcc |= NX;
    return <u32>r;
  }
  fflagsAcc |= NV;
  return x < 0 ? 0 : 0xffffffff;
}

function cvtI64(x: f64, rm: u32): u64 {
  if (x != x) {
    fflagsAcc |= NV;
    return 0x7fffffffffffffff;
  }
  let r = roundIntegral(x, rm);
  if (r >= -9223372036854775808.0 && r < 9223372036854775808.0) {
    if (r != x) fflagsAcc |= NX;
    return <u64>(<i64>r);
  }
  fflagsAcc |= NV;
  return x < 0 ? 0x8000000000000000 : 0x7fffffffffffffff;
}

function cvtU64(x: f64, rm: u32): u64 {
  if (x != x) {
    fflagsAcc |= NV;
    return 0xffffffffffffffff;
  }
  let r = roundIntegral(x, rm);
  if (r > -1.0 && r < 18446744073709551616.0) {
    if (r != x) fflagsAcc |= NX;
    return <u64>r;
  }
  fflagsAcc |= NV;
  return x < 0 ? 0 : 0xffffffffffffffff;
}

/** fcvt.w.s: result is the i32 bit pattern (caller sign-extends to 64 bits). */
export function f32_to_i32(a: u32, rm: u32): u32 {
  return cvtI32(<f64>reinterpret<f32>(a), rm);
}
/** fcvt.wu.s: result is the u32 bit pattern (RV64 sign-extends it too). */
export function f32_to_u32(a: u32, rm: u32): u32 {
  return cvtU32(<f64>reinterpret<f32>(a), rm);
}
export function f32_to_i64(a: u32, rm: u32): u64 {
  return cvtI64(<f64>reinterpret<f32>(a), rm);
}
export function f32_to_u64(a: u32, rm: u32): u64 {
  return cvtU64(<f64>reinterpret<f32>(a), rm);
}
export function f64_to_i32(a: u64, rm: u32): u32 {
  return cvtI32(reinterpret<f64>(a), rm);
}
export function f64_to_u32(a: u64, rm: u32): u32 {
  return cvtU32(reinterpret<f64>(a), rm);
}
export function f64_to_i64(a: u64, rm: u32): u64 {
  return cvtI64(reinterpret<f64>(a), rm);
}
export function f64_to_u64(a: u64, rm: u32): u64 {
  return cvtU64(reinterpret<f64>(a), rm);
}

// ---------------------------------------------------------------------------
// integer -> float

export function i32_to_f32(x: i32, rm: u32): u32 {
  return i64_to_f32(<i64>x, rm);
}

export function u32_to_f32(x: u32, rm: u32): u32 {
  return u64_to_f32(<u64>x, rm);
}

export function i64_to_f32(x: i64, rm: u32): u32 {
  let neg = x < 0;
  let mag = neg ? <u64>(0 - x) : <u64>x;
  if (mag <= 0x1000000) return reinterpret<u32>(<f32>x);
  if (rm == RNE) {
    // host conversion is correctly rounded; exact iff the odd part fits 24 bits
    if (mag >> ctz<u64>(mag) > 0xffffff) fflagsAcc |= NX;
    return reinterpret<u32>(<f32>x);
  }
  return roundPack32(neg ? 1 : 0, 62, mag, rm);
}

export function u64_to_f32(x: u64, rm: u32): u32 {
  if (x <= 0x1000000) return reinterpret<u32>(<f32>x);
  if (rm == RNE) {
    if (x >> ctz<u64>(x) > 0xffffff) fflagsAcc |= NX;
    return reinterpret<u32>(<f32>x);
  }
  return roundPack32(0, 62, x, rm);
}

/** Always exact (rm accepted for a uniform signature, unused). */
export function i32_to_f64(x: i32, rm: u32): u64 {
  return reinterpret<u64>(<f64>x);
}

/** Always exact (rm accepted for a uniform signature, unused). */
export function u32_to_f64(x: u32, rm: u32): u64 {
  return reinterpret<u64>(<f64>x);
}

export function i64_to_f64(x: i64, rm: u32): u64 {
  let neg = x < 0;
  let mag = neg ? <u64>(0 - x) : <u64>x;
  if (mag <= 0x20000000000000) return reinterpret<u64>(<f64>x);
  if (rm == RNE) {
    // host conversion is correctly rounded; exact iff the odd part fits 53 bits
    if (mag >> ctz<u64>(mag) > 0x1fffffffffffff) fflagsAcc |= NX;
    return reinterpret<u64>(<f64>x);
  }
  return roundPack64(neg ? 1 : 0, 62, mag, rm);
}

export function u64_to_f64(x: u64, rm: u32): u64 {
  if (x <= 0x20000000000000) return reinterpret<u64>(<f64>x);
  if (rm == RNE) {
    if (x >> ctz<u64>(x) > 0x1fffffffffffff) fflagsAcc |= NX;
    return reinterpret<u64>(<f64>x);
  }
  return roundPack64(0, 62, x, rm);
}

// ---------------------------------------------------------------------------
// float <-> float

/** fcvt.d.s: exact; NaN -> canonical NaN (NV for sNaN). */
export function f32_to_f64(a: u32): u64 {
  if (isNaN32(a)) {
    if (isSNaN32(a)) fflagsAcc |= NV;
    return D_QNAN;
  }
  return reinterpret<u64>(<f64>reinterpret<f32>(a));
}

/** fcvt.s.d: rounded. */
export function f64_to_f32(a: u64, rm: u32): u32 {
  let aa = a & D_ABS;
  let sign = <u32>(a >> 63);
  if (aa >= D_INF) {
    if (aa > D_INF) {
      if (isSNaN64(a)) fflagsAcc |= NV;
      return S_QNAN;
    }
    return (sign << 31) | S_INF;
  }
  if (aa == 0) return sign << 31;
  if (rm == RNE) {
    let x = reinterpret<f64>(a);
    let r = <f32>x;
    let rb = reinterpret<u32>(r);
    let ar = rb & S_ABS;
    if (ar > S_MINN && ar < S_INF) {
      if (<f64>r != x) fflagsAcc |= NX;
      return rb;
    }
  }
  unpack64(a);
  return roundPack32(sign, uExp, uSig, rm);
}

/** f64_to_f32 without the host fast path (exported for tests). */
export function cvtSlow64to32(a: u64, rm: u32): u32 {
  let aa = a & D_ABS;
  if (aa >= D_INF || aa == 0) return f64_to_f32(a, rm); // NaN, inf, zero
  unpack64(a);
  return roundPack32(<u32>(a >> 63), uExp, uSig, rm);
}

// ---- The host's IEEE 754 arithmetic where it gives the same answer ----
//
// As QEMU's "hardfloat": with round-to-nearest-even and the (sticky) inexact
// flag already raised, an add, subtract, multiply, divide or square root of
// normal or zero operands whose result is normal (or an exact zero), and
// not the smallest normal, which a tiny result may have rounded up to, can
// raise no flag that is not raised already, and wasm's f32/f64 arithmetic
// (IEEE 754, round to nearest even) returns the very bits fpu.ts computes.
// Overflow, underflow, invalid, division by zero and NaNs take the
// softfloat path (the caller's, when hostOk is false). wasm has no fused
// multiply-add; binary64's is emulated from plain operations (hostFma64).
// test/cpu/fpu.test.ts checks every shortcut against the softfloat result
// and flags.

export let hostOk = false;

/** Is the binary32 (B = u32) or binary64 (B = u64) value `x` a normal number or a zero? */
@inline function normalOrZero<B>(x: B): bool {
  const e = (x >> <B>(sizeof<B>() == 8 ? 52 : 23)) & <B>(sizeof<B>() == 8 ? 0x7ff : 0xff);
  return e != <B>(sizeof<B>() == 8 ? 0x7ff : 0xff) && (e != 0 || (x << 1) == 0);
}

/**
 * `op` (0 add, 1 sub, 2 mul, 3 div) on the bit patterns `a`, `b` of float
 * type F (B its bits); sets hostOk when the result can be used.
 */
@inline function hostBinary<F, B>(op: u32, a: B, b: B): B {
  hostOk = false;
  if (!normalOrZero<B>(a) || !normalOrZero<B>(b)) return 0;
  const x = reinterpret<F>(a);
  const y = reinterpret<F>(b);
  let r: F;
  if (op == 0) r = x + y;
  else if (op == 1) r = x - y;
  else if (op == 2) r = x * y;
  else {
    if (y == 0) return 0;
    r = x / y;
  }
  const bits = reinterpret<B>(r);
  // Infinity (overflow) or a subnormal (may have underflowed).
  if (!normalOrZero<B>(bits)) return 0;
  // The smallest normal may be a tiny result rounded up (underflow).
  if ((bits << 1) == (<B>1 << <B>(sizeof<B>() == 8 ? 53 : 24))) return 0;
  // A zero product or quotient of non-zero operands underflowed.
  if ((bits << 1) == 0 && op >= 2 && x != 0 && (op == 3 || y != 0)) return 0;
  hostOk = true;
  return bits;
}

export function hostF64(op: u32, a: u64, b: u64): u64 {
  return hostBinary<f64, u64>(op, a, b);
}

export function hostF32(op: u32, a: u32, b: u32): u32 {
  return hostBinary<f32, u32>(op, a, b);
}

/** Square root of `a` if the host may compute it (a positive normal number or a zero). */
export function hostSqrt64(a: u64): u64 {
  hostOk = normalOrZero<u64>(a) && (a >> 63 == 0 || a << 1 == 0);
  return hostOk ? reinterpret<u64>(Math.sqrt(reinterpret<f64>(a))) : 0;
}

export function hostSqrt32(a: u32): u32 {
  hostOk = normalOrZero<u32>(a) && (a >> 31 == 0 || a << 1 == 0);
  return hostOk ? reinterpret<u32>(Mathf.sqrt(reinterpret<f32>(a))) : 0;
}



/**
 * Is `x` (binary64 bits) a normal number with an unbiased exponent in
 * [-480, 480]? Then a product of two such numbers, its exact low half and
 * Dekker's splitting of either can neither overflow nor underflow.
 */
@inline function fmaRange(x: u64): bool {
  const e = <u32>(x >> 52) & 0x7ff;
  return e >= 1023 - 480 && e <= 1023 + 480;
}

/**
 * a·b + c on binary64 bit patterns, rounded once, when the host may compute
 * it: a or b zero and all three normal or zero (the product is exact), or
 * a and b in fmaRange, c in fmaRange or a zero, and a result that is
 * normal and above the smallest normal, or a zero (then exact: the exact
 * result is a multiple of 2^-1064 and would be representable). Emulated
 * with rounding to odd (S. Boldo and G. Melquiond, "Emulation of a FMA and
 * correctly rounded sums: proved algorithms using rounding to odd", IEEE
 * Trans. Computers 57(4), 2008): the exact product as uh + ul (Dekker),
 * c + uh exactly as th + tl (TwoSum), tl + ul rounded to odd, and that
 * added to th with the one rounding to nearest even.
 */
export function hostFma64(a: u64, b: u64, c: u64): u64 {
  hostOk = false;
  const x = reinterpret<f64>(a);
  const y = reinterpret<f64>(b);
  const z = reinterpret<f64>(c);
  if ((a << 1) == 0 || (b << 1) == 0) {
    // A zero product is exact: the sum is c itself, or a zero with the sum's sign rules.
    if (!normalOrZero<u64>(a) || !normalOrZero<u64>(b) || !normalOrZero<u64>(c)) return 0;
    hostOk = true;
    return reinterpret<u64>(z + x * y);
  }
  if (!fmaRange(a) || !fmaRange(b) || (!fmaRange(c) && (c << 1) != 0)) return 0;
  // Dekker: split each factor into 26 + 27 significant bits; uh + ul == x·y.
  const SPLIT: f64 = 134217729.0; // 2^27 + 1
  let t = SPLIT * x;
  const xh = t - (t - x);
  const xl = x - xh;
  t = SPLIT * y;
  const yh = t - (t - y);
  const yl = y - yh;
  const uh = x * y;
  const ul = xh * yh - uh + xh * yl + xl * yh + xl * yl;
  // TwoSum (Knuth): th + tl == z + uh.
  const th = z + uh;
  let bv = th - z;
  const tl = z - (th - bv) + (uh - bv);
  // v = tl + ul rounded to odd: rounded to nearest, then, if that was
  // inexact and landed on an even significand, the neighbour on the side of
  // the exact sum (the odd one of the two around it).
  let v = tl + ul;
  bv = v - tl;
  const ve = tl - (v - bv) + (ul - bv);
  if (ve != 0) {
    const vb = reinterpret<u64>(v);
    if ((vb & 1) == 0) v = reinterpret<f64>((vb ^ reinterpret<u64>(ve)) >> 63 == 0 ? vb + 1 : vb - 1);
  }
  const r = th + v;
  const bits = reinterpret<u64>(r);
  if ((bits << 1) != 0) {
    const e = <u32>(bits >> 52) & 0x7ff;
    // Infinity, a subnormal, or the smallest normal (maybe a rounded-up tiny result).
    if (e == 0x7ff || e == 0 || (bits << 1) == (<u64>1 << 53)) return 0;
  }
  hostOk = true;
  return bits;
}

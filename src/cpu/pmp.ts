// Physical memory protection (privileged spec §3.7): 16 entries, OFF / TOR /
// NA4 / NAPOT, the L bit, grain 4 bytes. Checked on TLB fills and slow paths
// only: a page enters the TLB only if the whole page passes for that access,
// so TLB hits need no check; any PMP write flushes every TLB bank.

import { PRV_M, PMP_COUNT, HART_PMPCFG, HART_PMPADDR, hart, hartAddr } from './state';
import { flushAll, selectTables, ACC_FETCH, ACC_LOAD } from './mmu';

// pmpcfg bytes and pmpaddr words live in the hart's block.
@inline function pmpCfg(): usize {
  return hartAddr() + HART_PMPCFG;
}
@inline function pmpAddr(): usize {
  return hartAddr() + HART_PMPADDR;
}

const PMP_R: u32 = 1;
const PMP_W: u32 = 2;
const PMP_X: u32 = 4;
const PMP_L: u32 = 0x80;
const A_OFF: u32 = 0;
const A_TOR: u32 = 1;
const A_NA4: u32 = 2;
const ADDR_MASK: u64 = 0x003f_ffff_ffff_ffff; // pmpaddr holds bits 55:2

// hart.pmpActive: number of leading entries that may be active (entries at or past it are OFF).

@inline function cfgOf(i: u32): u32 {
  return <u32>load<u8>(pmpCfg() + <usize>i);
}
@inline function addrOf(i: u32): u64 {
  return load<u64>(pmpAddr() + (<usize>i << 3));
}

export function pmpReset(): void {
  for (let i: u32 = 0; i < PMP_COUNT; i++) {
    store<u8>(pmpCfg() + <usize>i, 0);
    store<u64>(pmpAddr() + (<usize>i << 3), 0);
  }
  hart.pmpActive = 0;
}

/** pmpcfgN (even N on RV64): eight entries per register. */
export function readPmpcfg(reg: u32): u64 {
  let v: u64 = 0;
  for (let k: u32 = 0; k < 8; k++) {
    const i = reg * 4 + k;
    if (i < PMP_COUNT) v |= <u64>cfgOf(i) << (<u64>k * 8);
  }
  return v;
}

export function writePmpcfg(reg: u32, v: u64): void {
  for (let k: u32 = 0; k < 8; k++) {
    const i = reg * 4 + k;
    if (i >= PMP_COUNT) break;
    if ((cfgOf(i) & PMP_L) != 0) continue;
    let b = <u32>(v >> (<u64>k * 8)) & 0x9f; // bits 6:5 are reserved, read as zero
    if ((b & (PMP_R | PMP_W)) == PMP_W) b &= ~PMP_W; // R=0 W=1 is reserved
    store<u8>(pmpCfg() + <usize>i, <u8>b);
  }
  pmpChanged();
}

export function readPmpaddr(i: u32): u64 {
  return i < PMP_COUNT ? addrOf(i) : 0;
}

export function writePmpaddr(i: u32, v: u64): void {
  if (i >= PMP_COUNT) return;
  if ((cfgOf(i) & PMP_L) != 0) return;
  // A locked TOR entry also locks the address register below it.
  if (i + 1 < PMP_COUNT) {
    const next = cfgOf(i + 1);
    if ((next & PMP_L) != 0 && ((next >> 3) & 3) == A_TOR) return;
  }
  store<u64>(pmpAddr() + (<usize>i << 3), v & ADDR_MASK);
  pmpChanged();
}

/**
 * Could software have written these entries (no reserved bits, no W without
 * R)? For state loaded from outside the hart (a snapshot), which is untrusted.
 */
export function pmpStateValid(): bool {
  for (let i: u32 = 0; i < PMP_COUNT; i++) {
    const cfg = cfgOf(i);
    if ((cfg & 0x60) != 0 || (cfg & (PMP_R | PMP_W)) == PMP_W) return false;
    if ((addrOf(i) & ~ADDR_MASK) != 0) return false;
  }
  return true;
}

/** The entries changed: recount the active ones and drop every TLB entry. */
export function pmpChanged(): void {
  hart.pmpActive = 0;
  for (let i: u32 = 0; i < PMP_COUNT; i++) if (((cfgOf(i) >> 3) & 3) != A_OFF) hart.pmpActive = i + 1;
  flushAll();
  selectTables();
}

/**
 * May privilege `p` perform `access` on physical bytes [pa, pa + len)?
 * The lowest-numbered entry matching any byte decides, and it must match all
 * of them. With no match, M-mode succeeds and S/U fail (if entries exist).
 */
export function pmpAllows(pa: u64, len: u64, access: u32, p: u32): bool {
  const end = pa + len;
  for (let i: u32 = 0; i < hart.pmpActive; i++) {
    const cfg = cfgOf(i);
    const a = (cfg >> 3) & 3;
    if (a == A_OFF) continue;
    let lo: u64;
    let hi: u64;
    const addr = addrOf(i);
    if (a == A_TOR) {
      lo = i == 0 ? 0 : addrOf(i - 1) << 2;
      hi = addr << 2;
    } else if (a == A_NA4) {
      lo = addr << 2;
      hi = lo + 4;
    } else {
      const ones = <u64>ctz(~addr);
      if (ones >= 54) {
        lo = 0;
        hi = 0xffff_ffff_ffff_ffff;
      } else {
        lo = (addr & ~((<u64>1 << ones) - 1)) << 2;
        hi = lo + (<u64>1 << (ones + 3));
      }
    }
    if (!(pa < hi && end > lo)) continue;
    if (pa < lo || end > hi) return false; // only some bytes match
    if (p == PRV_M && (cfg & PMP_L) == 0) return true;
    const need = access == ACC_FETCH ? PMP_X : access == ACC_LOAD ? PMP_R : PMP_W;
    return (cfg & need) != 0;
  }
  return p == PRV_M || PMP_COUNT == 0;
}

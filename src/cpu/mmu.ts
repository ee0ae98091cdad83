// Address translation (Sv39/Sv48), the software TLB, and physical accesses.
//
// The TLB is direct-mapped and split into banks by the context that decides
// permissions: bare/M (identity), S with SUM=0, S with SUM=1, and U. Each bank
// has one table per access kind (fetch, load, store), and an entry is only
// present in a kind's table if that access is allowed, so a hit needs no
// permission check. A hit entry holds the virtual page address (its low 12
// bits zero) and the offset that turns a guest virtual address into a
// linear-memory address. A lookup compares the tag with the address masked
// to its page plus its low log2(size) bits, so one compare also sends
// misaligned accesses (which might cross the page) to the slow path. Only RAM
// pages are cached; device pages always take the slow path. M-mode's bank
// holds identity mappings (M never translates except through MPRV, which
// selects the MPP bank).

import {
  RAM_BASE, ramOffset, ramSize, hart, PRV_M, PRV_S, PRV_U, raise,
  CAUSE_FETCH_ACCESS, CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS,
  CAUSE_FETCH_PAGE_FAULT, CAUSE_LOAD_PAGE_FAULT, CAUSE_STORE_PAGE_FAULT,
  MSTATUS_MPRV, MSTATUS_MPP, MSTATUS_MPP_SHIFT, MSTATUS_SUM, MSTATUS_MXR,
  EXIT_HTIF, TLB_SIZE, TLB_TABLE_BYTES, TLB_BANKS, TLB_LOG_SIZE,
} from './state';
import * as S from './state';
import { mmioRead, mmioWrite } from './host';
import { pmpAllows } from './pmp';
import { isCodePage, codeWritten } from './codepages';
import * as J from './jit';
import * as D from './debug';

export const ACC_FETCH: u32 = 0;
export const ACC_LOAD: u32 = 1;
export const ACC_STORE: u32 = 2;

// 4096 entries per table cover 16 MiB: big working sets (a sort, a hash
// table, a kernel build) miss far less than with 256 (QEMU grows its TLB
// with use for the same reason). Flushes stay cheap through the fill logs.
// The tables live in the hart's block (state.ts: TLB_BITS, TLB_BANKS).
const TLB_MASK: u64 = <u64>(TLB_SIZE - 1);
const TABLE_BYTES: usize = TLB_TABLE_BYTES;
const BANKS: u32 = TLB_BANKS;
@inline function tlbArea(): usize {
  return S.hartAddr() + S.HART_TLB;
}
const INVALID_TAG: u64 = 0xffff_ffff_ffff_ffff;

// Fill logs: the entries each bank filled since it was last cleared, so a
// flush clears those instead of the whole bank; past LOG_SIZE fills the
// bank is cleared whole.
const LOG_SIZE: u32 = TLB_LOG_SIZE;
@inline function tlbLogs(): usize {
  return S.hartAddr() + S.HART_TLB_LOGS;
}
@inline function tlbLogCount(): usize {
  return S.hartAddr() + S.HART_TLB_LOG_COUNT;
}

// hart.superLo..hart.superHi: the hull of the virtual ranges of superpages
// (and Svnapot's 64 KiB ranges) cached in banks 1..3: an address-specific
// SFENCE.VMA inside it must flush everything, since one such PTE stands
// behind many cached 4 KiB entries.
// log2 of the size the last translate()'s leaf maps (12: a 4 KiB page or no translation).
let walkSpan: u64 = 12;

// Table base addresses for the current hart and context (selectTables).
export let fetchTable: usize = 0;
export let loadTable: usize = 0;
export let storeTable: usize = 0;

// Physical page written by HTIF programs to report results; stores to it take
// the slow path so the host sees them.
export let htifTohost: u64 = 0;
export let htifValue: u64 = 0;

// Device windows the host has mapped (physical, below 4 GiB).
const MAX_MMIO: i32 = 64;
const MMIO_BASE: usize = memory.data(MAX_MMIO * 8, 8);
let mmioCount: i32 = 0;

export function addMmioRange(base: u32, size: u32): void {
  if (mmioCount >= MAX_MMIO) return;
  store<u32>(MMIO_BASE + (<usize>mmioCount << 3), base);
  store<u32>(MMIO_BASE + (<usize>mmioCount << 3) + 4, base + size);
  mmioCount++;
}

function mmioMapped(pa: u64, size: u32): bool {
  if (pa + size > 0x1_0000_0000) return false;
  const a = <u32>pa;
  for (let i = 0; i < mmioCount; i++) {
    const lo = load<u32>(MMIO_BASE + (<usize>i << 3));
    const hi = load<u32>(MMIO_BASE + (<usize>i << 3) + 4);
    if (a >= lo && a + size <= hi) return true;
  }
  return false;
}

function bankBase(p: u32, sum: bool): usize {
  // S and U keep their own banks even with satp bare: PMP may grant them
  // less than M-mode on the same physical page.
  let bank: u32;
  if (p == PRV_M) bank = 0;
  else if (p == PRV_S) bank = sum ? 2 : 1;
  else bank = 3;
  return tlbArea() + <usize>(bank * 3) * TABLE_BYTES;
}

/** Re-select the tables after a change of privilege, hart.satp mode, MPRV/MPP or SUM. */
export function selectTables(): void {
  const sum = (hart.mstatus & MSTATUS_SUM) != 0;
  fetchTable = bankBase(hart.priv, sum);
  let dp = hart.priv;
  if (hart.priv == PRV_M && (hart.mstatus & MSTATUS_MPRV) != 0) dp = <u32>((hart.mstatus & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT);
  const d = bankBase(dp, sum);
  loadTable = d + TABLE_BYTES;
  storeTable = d + 2 * TABLE_BYTES;
  fetchVpn = INVALID_TAG;
}

/** Forget every translated entry (sfence.vma, hart.satp or MXR change). The bare bank stays valid. */
export function flushTlb(): void {
  for (let b: u32 = 1; b < BANKS; b++) clearBank(b);
  hart.superLo = INVALID_TAG;
  hart.superHi = 0;
}

/** Linear-memory byte mask of a TLB entry's offset in its table, for translated code. */
export function tlbIndexMask(): u32 {
  return (TLB_SIZE - 1) << 4;
}

/**
 * SFENCE.VMA with an address: forget the translations of the page at `va`
 * (in every bank, whatever the ASID: dropping more is always allowed).
 * Privileged spec §12.2.1.
 */
export function flushPage(va: u64): void {
  if (va >= hart.superLo && va <= hart.superHi) {
    flushTlb();
    return;
  }
  fetchVpn = INVALID_TAG;
  const tag = va & ~(<u64>0xfff);
  const slot = (<usize>((va >> 12) & TLB_MASK)) << 4;
  for (let b: u32 = 1; b < BANKS; b++) {
    for (let k: u32 = 0; k < 3; k++) {
      const e = tlbArea() + <usize>(b * 3 + k) * TABLE_BYTES + slot;
      if (load<u64>(e) == tag) store<u64>(e, INVALID_TAG);
    }
  }
}

/** Forget everything, including identity mappings (reset, PMP or HTIF page changed). */
export function flushAll(): void {
  // INVALID_TAG is all ones: fill every table with 0xff bytes.
  memory.fill(tlbArea(), 0xff, <usize>(BANKS * 3) * TABLE_BYTES);
  memory.fill(tlbLogCount(), 0, <usize>BANKS * 4);
  hart.superLo = INVALID_TAG;
  hart.superHi = 0;
  fetchVpn = INVALID_TAG;
}

/** Remove every store-table entry that maps the page at linear address `hostPage`. */
export function dropStoreEntries(hostPage: usize): void {
  for (let b: u32 = 0; b < BANKS; b++) {
    const t = tlbArea() + <usize>(b * 3 + 2) * TABLE_BYTES;
    const n = load<u32>(tlbLogCount() + (<usize>b << 2));
    if (n <= LOG_SIZE) {
      const log = tlbLogs() + <usize>(b * LOG_SIZE) * 4;
      for (let i: usize = 0; i < <usize>n; i++) {
        const e = <usize>load<u32>(log + (i << 2));
        if (e >= t && e < t + TABLE_BYTES) dropIfMaps(e, hostPage);
      }
    } else {
      for (let i: usize = 0; i < <usize>TLB_SIZE; i++) dropIfMaps(t + (i << 4), hostPage);
    }
  }
}

@inline function dropIfMaps(e: usize, hostPage: usize): void {
  const tag = load<u64>(e);
  if (tag != INVALID_TAG && <usize>(tag + load<u64>(e, 8)) == hostPage) store<u64>(e, INVALID_TAG);
}

function clearBank(b: u32): void {
  fetchVpn = INVALID_TAG;
  const countAt = tlbLogCount() + (<usize>b << 2);
  const n = load<u32>(countAt);
  if (n <= LOG_SIZE) {
    const log = tlbLogs() + <usize>(b * LOG_SIZE) * 4;
    for (let i: usize = 0; i < <usize>n; i++) store<u64>(<usize>load<u32>(log + (i << 2)), INVALID_TAG);
  } else {
    // INVALID_TAG is all ones: fill the whole bank with 0xff bytes.
    memory.fill(tlbArea() + <usize>(b * 3) * TABLE_BYTES, 0xff, 3 * TABLE_BYTES);
  }
  store<u32>(countAt, 0);
}

/**
 * Fast path: linear-memory address for a naturally aligned access of `size`
 * bytes at `va`, or 0 on a miss (a misaligned access always misses).
 */
@inline export function tlbLookup(table: usize, va: u64, size: u32): usize {
  const e = table + ((<usize>((va >> 12) & TLB_MASK)) << 4);
  if (load<u64>(e) == (va & ~(<u64>0xfff - (size - 1)))) {
    return <usize>(va + load<u64>(e, 8));
  }
  return 0;
}

/** The cached page holding `va` (no alignment required; the caller checked the access stays in it), or 0. */
@inline function tlbPage(table: usize, va: u64): usize {
  return tlbLookup(table, va, 1);
}

function tlbFill(table: usize, va: u64, pa: u64): void {
  const e = table + ((<usize>((va >> 12) & TLB_MASK)) << 4);
  const b = <u32>((table - tlbArea()) / (3 * TABLE_BYTES));
  const countAt = tlbLogCount() + (<usize>b << 2);
  const n = load<u32>(countAt);
  if (n < LOG_SIZE) store<u32>(tlbLogs() + <usize>(b * LOG_SIZE + n) * 4, <u32>e);
  if (n <= LOG_SIZE) store<u32>(countAt, n + 1);
  if (walkSpan > 12 && b != 0) {
    const span: u64 = <u64>1 << walkSpan;
    const lo = va & ~(span - 1);
    if (lo < hart.superLo) hart.superLo = lo;
    if (lo + (span - 1) > hart.superHi) hart.superHi = lo + (span - 1);
  }
  store<u64>(e, va & ~(<u64>0xfff));
  store<u64>(e, (<u64>ramOffset + ((pa & ~0xfff) - RAM_BASE)) - (va & ~0xfff), 8);
}

/** Is `pa` in the page of the watched HTIF word (whose stores the host must see)? */
@inline function isHtifPage(pa: u64): bool {
  return htifTohost != 0 && (pa >> 12) == (htifTohost >> 12);
}

@inline function inRam(pa: u64, size: u32): bool {
  return pa >= RAM_BASE && pa - RAM_BASE + size <= ramSize;
}

@inline function ramPtr(pa: u64): usize {
  return ramOffset + <usize>(pa - RAM_BASE);
}

function pageFault(access: u32, va: u64): void {
  raise(access == ACC_FETCH ? CAUSE_FETCH_PAGE_FAULT : access == ACC_LOAD ? CAUSE_LOAD_PAGE_FAULT : CAUSE_STORE_PAGE_FAULT, va);
}

function accessFault(access: u32, va: u64): void {
  raise(access == ACC_FETCH ? CAUSE_FETCH_ACCESS : access == ACC_LOAD ? CAUSE_LOAD_ACCESS : CAUSE_STORE_ACCESS, va);
}

/** The privilege an access is made with (data accesses honour MPRV). */
export function effectivePriv(access: u32): u32 {
  if (access != ACC_FETCH && hart.priv == PRV_M && (hart.mstatus & MSTATUS_MPRV) != 0) {
    return <u32>((hart.mstatus & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT);
  }
  return hart.priv;
}

/** translate() followed by the PMP check of the physical bytes. */
function translateChecked(va: u64, size: u32, access: u32): u64 {
  const pa = translate(va, access);
  if (hart.excCause >= 0) return 0;
  if (!pmpAllows(pa, <u64>size, access, effectivePriv(access))) {
    accessFault(access, va);
    return 0;
  }
  return pa;
}

/**
 * cbo.clean/flush/inval at `va`: allowed wherever a load or a store would
 * be (they change nothing here, memory being coherent); otherwise the
 * fault is raised as a store/AMO fault (privileged spec, Zicbom).
 */
export function cboCheck(va: u64): void {
  translateChecked(va, 1, ACC_LOAD);
  if (hart.excCause == <i64>S.CAUSE_LOAD_PAGE_FAULT) hart.excCause = <i64>S.CAUSE_STORE_PAGE_FAULT;
  else if (hart.excCause == <i64>S.CAUSE_LOAD_ACCESS) hart.excCause = <i64>S.CAUSE_STORE_ACCESS;
}

/** May the virtual page at `va` enter a data TLB (no debugger watchpoint in it)? */
@inline function unwatched(va: u64): bool {
  return (!D.watchArmed && !D.trigData) || D.dataPageFree(va);
}

/** May the page holding `pa` be cached for `access` (PMP allows all of it)? */
@inline function cacheable(pa: u64, access: u32): bool {
  return pmpAllows(pa & ~(<u64>0xfff), 4096, access, effectivePriv(access));
}

const PTE_V: u64 = 1;
const PTE_R: u64 = 2;
const PTE_W: u64 = 4;
const PTE_X: u64 = 8;
const PTE_U: u64 = 16;
const PTE_A: u64 = 64;
const PTE_D: u64 = 128;
const PTE_PPN_MASK: u64 = 0x003f_ffff_ffff_fc00; // bits 53:10
// Bits 63:54 are reserved, except N (63, Svnapot, below) and PBMT (62:61)
// in a leaf when menvcfg.PBMTE is set (Svpbmt): memory types colinux has no
// use for (every access is coherent and ordered already), 3 reserved.
const PTE_RESERVED: u64 = 0xffc0_0000_0000_0000;
const PTE_PBMT: u64 = <u64>3 << 61;
const PTE_N: u64 = <u64>1 << 63;

/**
 * Translate `va` for `access`. Returns the physical address; on failure raises
 * the page or access fault and returns 0 (callers check hart.excCause).
 * Privileged spec §12.3.2 (virtual address translation process).
 */
export function translate(va: u64, access: u32): u64 {
  walkSpan = 12;
  const p = effectivePriv(access);
  const mode = hart.satp >> 60;
  if (p == PRV_M || mode == 0) return va;

  const levels: i32 = mode == 9 ? 4 : 3;
  const vaBits: u64 = 12 + 9 * <u64>levels;
  // The upper bits must all equal bit vaBits-1.
  const top = <i64>va >> (vaBits - 1);
  if (top != 0 && top != -1) {
    pageFault(access, va);
    return 0;
  }
  let table: u64 = (hart.satp & 0x0000_0fff_ffff_ffff) << 12;
  for (let level = levels - 1; level >= 0; level--) {
    const vpn = (va >> (12 + 9 * <u64>level)) & 0x1ff;
    const pteAddr = table + (vpn << 3);
    // Page-table reads are implicit S-mode accesses, subject to PMP.
    if (!inRam(pteAddr, 8) || !pmpAllows(pteAddr, 8, ACC_LOAD, PRV_S)) {
      accessFault(access, va);
      return 0;
    }
    const ptePtr = ramPtr(pteAddr);
    let pte = load<u64>(ptePtr);
    const leaf = (pte & (PTE_R | PTE_X)) != 0;
    // Svnapot: N in a 4 KiB leaf whose PPN ends in 1000 maps the 64 KiB
    // range it is part of; any other use of N is reserved.
    const napot = (pte & PTE_N) != 0;
    const pbmt = leaf && (hart.menvcfg & S.MENVCFG_PBMTE) != 0 ? PTE_PBMT : 0;
    const reserved =
      (pte & PTE_RESERVED & ~PTE_N & ~pbmt) != 0 ||
      (pbmt != 0 && (pte & PTE_PBMT) == PTE_PBMT) ||
      (napot && (!leaf || level != 0 || ((pte >> 10) & 0xf) != 8));
    if ((pte & PTE_V) == 0 || (pte & (PTE_R | PTE_W)) == PTE_W || reserved) {
      pageFault(access, va);
      return 0;
    }
    if (!leaf) {
      // Pointer to the next level; bits D, A, U must be clear.
      if (level == 0 || (pte & (PTE_D | PTE_A | PTE_U)) != 0) {
        pageFault(access, va);
        return 0;
      }
      table = (pte & PTE_PPN_MASK) << 2;
      continue;
    }
    // Leaf: check permissions.
    if (p == PRV_U) {
      if ((pte & PTE_U) == 0) { pageFault(access, va); return 0; }
    } else if ((pte & PTE_U) != 0) {
      if (access == ACC_FETCH || (hart.mstatus & MSTATUS_SUM) == 0) { pageFault(access, va); return 0; }
    }
    let ok: bool;
    if (access == ACC_FETCH) ok = (pte & PTE_X) != 0;
    else if (access == ACC_LOAD) ok = (pte & PTE_R) != 0 || ((hart.mstatus & MSTATUS_MXR) != 0 && (pte & PTE_X) != 0);
    else ok = (pte & PTE_W) != 0;
    if (!ok) { pageFault(access, va); return 0; }
    let ppn = (pte & PTE_PPN_MASK) >> 10;
    if (napot) ppn = (ppn & ~(<u64>0xf)) | ((va >> 12) & 0xf);
    // Superpages must be aligned.
    const lowMask: u64 = (<u64>1 << (9 * <u64>level)) - 1;
    if ((ppn & lowMask) != 0) { pageFault(access, va); return 0; }
    // A and D (Svadu): the walk sets them while menvcfg.ADUE is set (its
    // reset value); with it clear, a missing one is a page fault (Svade).
    let want = pte | PTE_A;
    if (access == ACC_STORE) want |= PTE_D;
    if (want != pte) {
      if ((hart.menvcfg & S.MENVCFG_ADUE) == 0) { pageFault(access, va); return 0; }
      store<u64>(ptePtr, want);
    }
    const pageMask: u64 = (<u64>1 << (12 + 9 * <u64>level)) - 1;
    walkSpan = napot ? 16 : 12 + 9 * <u64>level;
    return ((ppn << 12) & ~pageMask) | (va & pageMask);
  }
  pageFault(access, va);
  return 0;
}

// ---- Slow paths -----------------------------------------------------------

function mmioLoad(pa: u64, size: u32, va: u64, access: u32): u64 {
  if (!mmioMapped(pa, size)) { accessFault(access, va); return 0; }
  const a = <u32>pa;
  if (size == 8) return <u64>mmioRead(a, 4) | (<u64>mmioRead(a + 4, 4) << 32);
  return <u64>mmioRead(a, size);
}

function mmioStore(pa: u64, size: u32, v: u64, va: u64): void {
  if (!mmioMapped(pa, size)) { accessFault(ACC_STORE, va); return; }
  const a = <u32>pa;
  if (size == 8) {
    mmioWrite(a, 4, <u32>v);
    mmioWrite(a + 4, 4, <u32>(v >> 32));
  } else {
    mmioWrite(a, size, <u32>v);
  }
}

@inline function readRam(ptr: usize, size: u32): u64 {
  if (size == 1) return <u64>load<u8>(ptr);
  if (size == 2) return <u64>load<u16>(ptr);
  if (size == 4) return <u64>load<u32>(ptr);
  return load<u64>(ptr);
}

@inline function writeRam(ptr: usize, size: u32, v: u64): void {
  if (size == 1) store<u8>(ptr, <u8>v);
  else if (size == 2) store<u16>(ptr, <u16>v);
  else if (size == 4) store<u32>(ptr, <u32>v);
  else store<u64>(ptr, v);
}

/** Sign-extend a loaded value as funct3 `f3` asks (LB, LH, LW; the others are zero-extended or 64-bit). */
@inline export function extendLoad(v: u64, f3: u32): u64 {
  if (f3 == 0) return <u64><i64><i8>v;
  if (f3 == 1) return <u64><i64><i16>v;
  if (f3 == 2) return <u64><i64><i32>v;
  return v;
}

/**
 * A load as LOAD's funct3 `f3` encodes it (1 << (f3 & 3) bytes, sign-extended
 * unless bit 2 is set): the TLB, else the slow path. A fault is left in
 * hart.excCause.
 */
@inline export function loadInt(va: u64, f3: u32): u64 {
  const size: u32 = 1 << (f3 & 3);
  const h = tlbLookup(loadTable, va, size);
  return extendLoad(h ? readRam(h, size) : loadSlow(va, size), f3);
}

/** Store the low `size` bytes of `v` at `va`: the TLB, else the slow path. A fault is left in hart.excCause. */
@inline export function storeInt(va: u64, size: u32, v: u64): void {
  const h = tlbLookup(storeTable, va, size);
  if (h) writeRam(h, size, v);
  else storeSlow(va, size, v);
}

/** Load `size` bytes (zero-extended) at `va`, with translation; raises on fault. */
export function loadSlow(va: u64, size: u32): u64 {
  if ((D.watchArmed || D.trigData) && D.dataCheck(va, size, D.WATCH_READ)) return 0;
  if ((<u32>va & 0xfff) + size > 4096) {
    // Crosses a page: byte by byte, so each page is translated and checked.
    let v: u64 = 0;
    for (let i: u32 = 0; i < size; i++) {
      const b = loadSlow(va + i, 1);
      if (hart.excCause >= 0) return 0;
      v |= b << (<u64>i << 3);
    }
    return v;
  }
  // A misaligned access inside a cached page.
  const h = tlbPage(loadTable, va);
  if (h != 0) return readRam(h, size);
  const pa = translateChecked(va, size, ACC_LOAD);
  if (hart.excCause >= 0) return 0;
  if (inRam(pa, size)) {
    if (cacheable(pa, ACC_LOAD) && unwatched(va)) tlbFill(loadTable, va, pa);
    return readRam(ramPtr(pa), size);
  }
  return mmioLoad(pa, size, va, ACC_LOAD);
}

/** Store the low `size` bytes of `v` at `va`, with translation; raises on fault. */
export function storeSlow(va: u64, size: u32, v: u64): void {
  if ((D.watchArmed || D.trigData) && D.dataCheck(va, size, D.WATCH_WRITE)) return;
  if ((<u32>va & 0xfff) + size > 4096) {
    // Check both pages before writing anything so a fault leaves memory unchanged.
    translateChecked(va, 1, ACC_STORE);
    if (hart.excCause >= 0) return;
    translateChecked(va + size - 1, 1, ACC_STORE);
    if (hart.excCause >= 0) return;
    for (let i: u32 = 0; i < size; i++) {
      storeSlow(va + i, 1, v >> (<u64>i << 3));
      if (hart.excCause >= 0) return;
    }
    return;
  }
  const h = tlbPage(storeTable, va);
  if (h != 0) {
    writeRam(h, size, v);
    return;
  }
  const pa = translateChecked(va, size, ACC_STORE);
  if (hart.excCause >= 0) return;
  if (inRam(pa, size)) {
    if (isHtifPage(pa)) {
      writeRam(ramPtr(pa), size, v);
      if (codeWritten(pa)) J.jitCodeWritten = true;
      if (pa <= htifTohost && pa + size > htifTohost) {
        const word = load<u64>(ramPtr(htifTohost));
        if (word != 0) {
          htifValue = word;
          hart.exitRequest = EXIT_HTIF;
          hart.attention = true;
        }
      }
      return;
    }
    if (isCodePage(pa)) {
      // Translated code lives here: the store stays on the slow path and drops it.
      writeRam(ramPtr(pa), size, v);
      codeWritten(pa);
      J.jitCodeWritten = true;
      return;
    }
    if (cacheable(pa, ACC_STORE) && unwatched(va)) tlbFill(storeTable, va, pa);
    writeRam(ramPtr(pa), size, v);
    return;
  }
  mmioStore(pa, size, v, va);
}

/**
 * RAM pointer for an LR (`access` = ACC_LOAD) or an SC/AMO (ACC_STORE), or 0
 * with a fault raised. Atomics must be naturally aligned and on RAM.
 */
export function atomicPointer(va: u64, size: u32, access: u32): usize {
  if ((<u32>va & (size - 1)) != 0) {
    raise(access == ACC_LOAD ? S.CAUSE_MISALIGNED_LOAD : S.CAUSE_MISALIGNED_STORE, va);
    return 0;
  }
  // A store-table hit is a writable (hence readable), dirty RAM page that
  // holds no translated code: nothing more to check.
  const h = tlbLookup(access == ACC_LOAD ? loadTable : storeTable, va, size);
  if (h != 0) return h;
  // SC and AMOs count as reads and writes for watchpoints.
  if ((D.watchArmed || D.trigData) && D.dataCheck(va, size, access == ACC_LOAD ? D.WATCH_READ : D.WATCH_READ | D.WATCH_WRITE)) return 0;
  const pa = translateChecked(va, size, access);
  if (hart.excCause >= 0) return 0;
  if (!inRam(pa, size)) {
    accessFault(access, va);
    return 0;
  }
  if (access == ACC_STORE) {
    // The write drops the page's translations, so it may enter the store table.
    codeWritten(pa);
    if (cacheable(pa, ACC_STORE) && !isHtifPage(pa) && unwatched(va)) tlbFill(storeTable, va, pa);
  } else if (cacheable(pa, ACC_LOAD) && unwatched(va)) {
    tlbFill(loadTable, va, pa);
  }
  return ramPtr(pa);
}

// Instruction fetch: a one-entry cache of the current code page in front of the fetch TLB.
export let fetchVpn: u64 = INVALID_TAG;
export let fetchAdd: u64 = 0;

export function invalidateFetch(): void {
  fetchVpn = INVALID_TAG;
}

function fetchHalf(va: u64): u32 {
  const host = tlbPage(fetchTable, va);
  if (host != 0) return <u32>load<u16>(host);
  const pa = translateChecked(va, 2, ACC_FETCH);
  if (hart.excCause >= 0) return 0;
  if (!inRam(pa, 2)) {
    accessFault(ACC_FETCH, va);
    return 0;
  }
  if (cacheable(pa, ACC_FETCH)) tlbFill(fetchTable, va, pa);
  return <u32>load<u16>(ramPtr(pa));
}

/** Fetch the instruction at `va` (16 or 32 bits); raises on fault. Updates the code-page cache. */
export function fetchSlow(va: u64): u32 {
  if ((D.breakArmed || D.trigExec) && D.fetchCheck(va)) return 0;
  const vpn = va >> 12;
  if ((<u32>va & 0xfff) <= 0xffc) {
    let host = tlbPage(fetchTable, va);
    if (host == 0) {
      const pa = translateChecked(va, 2, ACC_FETCH);
      if (hart.excCause >= 0) return 0;
      if (!inRam(pa, 2)) {
        accessFault(ACC_FETCH, va);
        return 0;
      }
      host = ramPtr(pa);
      if (!cacheable(pa, ACC_FETCH)) {
        // Not cacheable: fetch this halfword (and the next one if needed) checked one at a time.
        const lo = <u32>load<u16>(host);
        if ((lo & 3) != 3) return lo;
        const hi = fetchHalf(va + 2);
        if (hart.excCause >= 0) return 0;
        return lo | (hi << 16);
      }
      tlbFill(fetchTable, va, pa);
    }
    // A page with a breakpoint is never the fetch page: each fetch comes here.
    if ((!D.breakArmed && !D.trigExec) || D.fetchPageFree(vpn)) {
      fetchVpn = vpn;
      fetchAdd = <u64>host - va;
    }
    return load<u32>(host);
  }
  // The last halfword of a page: a 32-bit instruction continues on the next page.
  fetchVpn = INVALID_TAG;
  const lo = fetchHalf(va);
  if (hart.excCause >= 0) return 0;
  if ((lo & 3) != 3) return lo;
  const hi = fetchHalf(va + 2);
  if (hart.excCause >= 0) return 0;
  return lo | (hi << 16);
}

/**
 * The physical address `va` maps to under the current satp, for a debugger:
 * any valid leaf counts whatever its permissions, nothing is written (no A
 * or D bit), nothing is raised. Returns u64 max when nothing is mapped
 * there. With satp bare (or in M-mode) addresses are physical.
 */
export function debugTranslate(va: u64): u64 {
  const NONE: u64 = 0xffff_ffff_ffff_ffff;
  const mode = hart.satp >> 60;
  if (hart.priv == PRV_M || mode == 0) return va;
  const levels: i32 = mode == 9 ? 4 : 3;
  const top = <i64>va >> (12 + 9 * <u64>levels - 1);
  if (top != 0 && top != -1) return NONE;
  let table: u64 = (hart.satp & 0x0000_0fff_ffff_ffff) << 12;
  for (let level = levels - 1; level >= 0; level--) {
    const pteAddr = table + (((va >> (12 + 9 * <u64>level)) & 0x1ff) << 3);
    if (!inRam(pteAddr, 8)) return NONE;
    const pte = load<u64>(ramPtr(pteAddr));
    if ((pte & PTE_V) == 0 || (pte & (PTE_R | PTE_W)) == PTE_W) return NONE;
    let ppn = (pte & PTE_PPN_MASK) >> 10;
    if ((pte & (PTE_R | PTE_X)) == 0) {
      table = ppn << 12;
      continue;
    }
    if ((pte & PTE_N) != 0) ppn = (ppn & ~(<u64>0xf)) | ((va >> 12) & 0xf);
    const pageMask: u64 = (<u64>1 << (12 + 9 * <u64>level)) - 1;
    return ((ppn << 12) & ~pageMask) | (va & pageMask);
  }
  return NONE;
}

// ---- Physical access for the host (loaders, devices doing DMA go through JS directly) ----

export function physRead(pa: u64, size: u32): u64 {
  if (inRam(pa, size)) return readRam(ramPtr(pa), size);
  return 0;
}

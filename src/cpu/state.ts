// Hart state: constants of the privileged spec, and the block that holds a
// hart. Nothing here allocates, so the interpreter loop never does.

// Privilege levels.
export const PRV_U: u32 = 0;
export const PRV_S: u32 = 1;
export const PRV_M: u32 = 3;

// Exception causes (privileged spec, Table "mcause values").
export const CAUSE_MISALIGNED_FETCH: u64 = 0;
export const CAUSE_FETCH_ACCESS: u64 = 1;
export const CAUSE_ILLEGAL_INSTRUCTION: u64 = 2;
export const CAUSE_BREAKPOINT: u64 = 3;
export const CAUSE_MISALIGNED_LOAD: u64 = 4;
export const CAUSE_LOAD_ACCESS: u64 = 5;
export const CAUSE_MISALIGNED_STORE: u64 = 6;
export const CAUSE_STORE_ACCESS: u64 = 7;
export const CAUSE_USER_ECALL: u64 = 8;
export const CAUSE_SUPERVISOR_ECALL: u64 = 9;
export const CAUSE_MACHINE_ECALL: u64 = 11;
export const CAUSE_FETCH_PAGE_FAULT: u64 = 12;
export const CAUSE_LOAD_PAGE_FAULT: u64 = 13;
export const CAUSE_STORE_PAGE_FAULT: u64 = 15;

// Interrupt bits in mip/mie.
export const MIP_SSIP: u64 = 1 << 1;
export const MIP_MSIP: u64 = 1 << 3;
export const MIP_STIP: u64 = 1 << 5;
export const MIP_MTIP: u64 = 1 << 7;
export const MIP_SEIP: u64 = 1 << 9;
export const MIP_MEIP: u64 = 1 << 11;

// mstatus fields.
export const MSTATUS_SIE: u64 = 1 << 1;
export const MSTATUS_MIE: u64 = 1 << 3;
export const MSTATUS_SPIE: u64 = 1 << 5;
export const MSTATUS_UBE: u64 = 1 << 6;
export const MSTATUS_MPIE: u64 = 1 << 7;
export const MSTATUS_SPP: u64 = 1 << 8;
export const MSTATUS_VS: u64 = 3 << 9;
export const MSTATUS_MPP_SHIFT: u64 = 11;
export const MSTATUS_MPP: u64 = 3 << 11;
export const MSTATUS_FS_SHIFT: u64 = 13;
export const MSTATUS_FS: u64 = 3 << 13;
export const MSTATUS_XS: u64 = 3 << 15;
export const MSTATUS_MPRV: u64 = 1 << 17;
export const MSTATUS_SUM: u64 = 1 << 18;
export const MSTATUS_MXR: u64 = 1 << 19;
export const MSTATUS_TVM: u64 = 1 << 20;

// menvcfg: Sstc's STCE, Svpbmt's PBMTE (PTE memory types), Svadu's ADUE
// (the walk updates A and D; else they fault, as Svade).
export const MENVCFG_STCE: u64 = <u64>1 << 63;
export const MENVCFG_PBMTE: u64 = <u64>1 << 62;
export const MENVCFG_ADUE: u64 = <u64>1 << 61;
export const MSTATUS_TW: u64 = 1 << 21;
export const MSTATUS_TSR: u64 = 1 << 22;
export const MSTATUS_UXL: u64 = 3 << 32;
export const MSTATUS_SXL: u64 = 3 << 34;
export const MSTATUS_SD: u64 = 1 << 63;

// Exit reasons returned by run().
export const EXIT_BUDGET: i32 = 0;
export const EXIT_WFI: i32 = 1;
export const EXIT_ECALL: i32 = 2; // S-mode ecall to be served by the host SBI
export const EXIT_HTIF: i32 = 3; // write to the watched tohost word
export const EXIT_REQUESTED: i32 = 4; // the host asked the loop to stop (power off, reset, …)
export const EXIT_MACHINE_TRAP: i32 = 5; // a trap reached M-mode while the host serves SBI (no firmware to handle it)
export const EXIT_TRANSLATE: i32 = 6; // eager JIT (tests): an entry was queued; translate it before it runs
export const EXIT_DEBUG: i32 = 7; // a debugger breakpoint or watchpoint (debug.ts): pc is the instruction, not executed

// Physical memory: guest RAM starts at RAM_BASE and occupies ramSize bytes of
// linear memory from ramOffset.
export const RAM_BASE: u64 = 0x8000_0000;
export let ramOffset: usize = 0;
export let ramSize: u64 = 0;

// ---- The hart's state block ----
//
// Everything that defines one hart lives in one block of linear memory, at
// the address `hart` points to, so that several harts (each a block) can share
// one memory and a snapshot is a copy of bytes. The first HART_STATE_BYTES
// are the architectural state; the rest are caches derived from it (the TLB
// and the JIT's entry table), which a flush rebuilds. Module globals hold only
// machine-wide settings, values derived from the block (the selected TLB
// tables, the fetch page) and scratch values that never outlive a call.
@unmanaged export class Hart {
  pc: u64;
  hartid: u64;
  // Pending exception raised by a helper (memory access, CSR, …); -1 = none.
  excCause: i64;
  excTval: u64;
  // Instructions retired (run() keeps the running count in a local).
  instret: u64;
  // LR/SC reservation (linear address of the reserved word, or -1).
  reservation: i64;
  // CSRs (privileged spec chapters 2, 3, 10); mip is split by who drives it.
  mstatus: u64;
  medeleg: u64;
  mideleg: u64;
  mie: u64;
  mipSw: u64; // bits software can write: SSIP, STIP (when !STCE), SEIP
  mipHw: u64; // lines driven by devices: MSIP, MTIP, MEIP, SEIP
  mtvec: u64;
  mcounteren: u64;
  mcountinhibit: u64;
  menvcfg: u64;
  mscratch: u64;
  mepc: u64;
  mcause: u64;
  mtval: u64;
  stvec: u64;
  scounteren: u64;
  senvcfg: u64;
  sscratch: u64;
  sepc: u64;
  scause: u64;
  stval: u64;
  satp: u64;
  stimecmp: u64;
  mtimecmp: u64;
  mcycleOffset: u64; // mcycle = instret + offset (written values shift it)
  minstretOffset: u64;
  // Smstateen: mstateen0's SE0 and ENVCFG bits, and bit 63 (SE) of
  // mstateen1..3 in bits 1..3 of mstateenSe.
  mstateen0: u64;
  mstateenSe: u64;
  // Sdtrig (debug.ts): tselect, and tdata1/tdata2 of the two triggers.
  tselect: u64;
  tdata1a: u64;
  tdata1b: u64;
  tdata2a: u64;
  tdata2b: u64;
  // tcontrol: mte (bit 3) lets triggers fire in M-mode; mpte (bit 7) keeps it across a trap.
  tcontrol: u64;
  // The hull of the virtual ranges of superpages in the TLB (see mmu.ts).
  superLo: u64;
  superHi: u64; // inclusive
  priv: u32;
  fflags: u32;
  frm: u32;
  // Number of leading PMP entries that may be active.
  pmpActive: u32;
  // Block entries queued for translation.
  jitQueued: u32;
  // Set when the host asked run() to stop (EXIT_* reason), else 0.
  exitRequest: i32;
  // Set whenever something may have made an interrupt takeable or the host
  // asked to stop; the loop re-examines it between instructions.
  attention: bool;
  // When true, ecall from S-mode leaves run() with EXIT_ECALL (the host serves SBI).
  hostSbi: bool;
}

export const PMP_COUNT: u32 = 16;
// Direct-mapped TLB: banks × kinds (fetch, load, store) × entries × 16 bytes.
export const TLB_BITS: u32 = 12;
export const TLB_SIZE: u32 = 1 << TLB_BITS;
export const TLB_BANKS: u32 = 4; // 0 bare/M, 1 S, 2 S+SUM, 3 U
export const TLB_TABLE_BYTES: usize = <usize>TLB_SIZE * 16;
export const TLB_LOG_SIZE: u32 = 512;
export const JIT_CACHE_BITS: u32 = 14;
export const JIT_QUEUE_SIZE: u32 = 256;

// Offsets in the block. Integer registers first after the fields: translated
// code addresses them as constants from the block's address.
export const HART_XREGS: usize = (offsetof<Hart>() + 15) & ~15;
export const HART_FREGS: usize = HART_XREGS + 32 * 8;
export const HART_PMPADDR: usize = HART_FREGS + 32 * 8;
export const HART_PMPCFG: usize = HART_PMPADDR + <usize>PMP_COUNT * 8;
/** Bytes of architectural state at the start of the block. */
export const HART_STATE_BYTES: usize = HART_PMPCFG + <usize>PMP_COUNT;
export const HART_TLB: usize = (HART_STATE_BYTES + 63) & ~63;
export const HART_TLB_LOGS: usize = HART_TLB + <usize>(TLB_BANKS * 3) * TLB_TABLE_BYTES;
export const HART_TLB_LOG_COUNT: usize = HART_TLB_LOGS + <usize>(TLB_BANKS * TLB_LOG_SIZE) * 4;
export const HART_JIT_CACHE: usize = (HART_TLB_LOG_COUNT + <usize>TLB_BANKS * 4 + 63) & ~63;
export const HART_JIT_QUEUE: usize = HART_JIT_CACHE + (<usize>16 << JIT_CACHE_BITS);
/** Size of a hart's block. */
export const HART_BYTES: usize = (HART_JIT_QUEUE + <usize>JIT_QUEUE_SIZE * 4 + 63) & ~63;

/** The current hart's block. */
export let hart: Hart = changetype<Hart>(0);

@inline export function hartAddr(): usize {
  return changetype<usize>(hart);
}
@inline export function xregBase(): usize {
  return changetype<usize>(hart) + HART_XREGS;
}
@inline export function fregBase(): usize {
  return changetype<usize>(hart) + HART_FREGS;
}

@inline export function getX(i: u32): u64 {
  return load<u64>(xregBase() + ((<usize>i) << 3));
}
@inline export function setX(i: u32, v: u64): void {
  store<u64>(xregBase() + ((<usize>i) << 3), v);
}

export function raise(cause: u64, tval: u64): void {
  hart.excCause = <i64>cause;
  hart.excTval = tval;
}

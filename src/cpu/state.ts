// Hart state. Everything mutable lives in wasm globals or in fixed static
// buffers so the interpreter loop never allocates.

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

// Physical memory: guest RAM starts at RAM_BASE and occupies ramSize bytes of
// linear memory from ramOffset.
export const RAM_BASE: u64 = 0x8000_0000;
export let ramOffset: usize = 0;
export let ramSize: u64 = 0;

// Integer and FP register files (x0 is re-zeroed before every instruction).
export const XREGS: usize = memory.data(32 * 8, 16);
export const FREGS: usize = memory.data(32 * 8, 16);

export let pc: u64 = 0;
export let priv: u32 = PRV_M;
export let hartid: u64 = 0;

// Pending exception raised by a helper (memory access, CSR, …); -1 = none.
export let excCause: i64 = -1;
export let excTval: u64 = 0;

// Instruction counting: instret = instretBase + (retired in the current run()).
export let instret: u64 = 0;

// Set whenever something may have made an interrupt takeable or the host asked
// to stop; the loop re-examines it between instructions.
export let attention: bool = false;
export let exitRequest: i32 = 0;

// LR/SC reservation (physical address, or -1).
export let reservation: i64 = -1;

// When true, ecall from S-mode leaves run() with EXIT_ECALL (the host serves SBI).
export let hostSbi: bool = false;

@inline export function getX(i: u32): u64 {
  return load<u64>(XREGS + ((<usize>i) << 3));
}
@inline export function setX(i: u32, v: u64): void {
  store<u64>(XREGS + ((<usize>i) << 3), v);
}

export function raise(cause: u64, tval: u64): void {
  excCause = <i64>cause;
  excTval = tval;
}

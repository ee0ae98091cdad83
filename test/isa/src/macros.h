/*
 * colinux ISA test framework: shared macros for the test/isa/src/*.S programs.
 *
 * Every program is a bare-metal M-mode program linked with test/isa/link.ld.
 * It reports its result through the HTIF `tohost` mailbox:
 *   pass:  tohost = 1
 *   fail:  tohost = (code << 1) | 1, code != 0
 * where code bits are
 *   0..11   number of the test case that failed (never 0, never a multiple
 *           of 256, so that QEMU's 8-bit process exit status is non-zero too;
 *           4095 means "failed before the first case")
 *   12..19  trap cause (bit 19 = interrupt) when the failure is an
 *           unexpected trap
 *   20      unexpected trap taken in the M-mode handler
 *   21      unexpected trap taken in the S-mode handler
 *
 * Test cases are numbered automatically (TEST_BEGIN). For each case the
 * program carries an absolute symbol `isa_case_L<line> = <number>`, so the
 * harness can name the source line of a failing case.
 *
 * Register conventions:
 *   gp (x3)        current test case number; tests must not change it
 *   tp (x4)        used only while reporting
 *   t5, t6         scratch of the CHECK and EXPECT macros (clobbered)
 * The trap handlers preserve every integer register, but they overwrite
 * mscratch / sscratch.
 *
 * Build with -DISA_BREAK=n to invert every check of case n: the program must
 * then fail with code n (used to prove that the checks work).
 */
#ifndef ISA_MACROS_H
#define ISA_MACROS_H

#ifndef ISA_BREAK
#define ISA_BREAK 0
#endif

/* ---------------------------------------------------------------- constants */

#define MSTATUS_SIE   (1 << 1)
#define MSTATUS_MIE   (1 << 3)
#define MSTATUS_SPIE  (1 << 5)
#define MSTATUS_UBE   (1 << 6)
#define MSTATUS_MPIE  (1 << 7)
#define MSTATUS_SPP   (1 << 8)
#define MSTATUS_VS    (3 << 9)
#define MSTATUS_MPP   (3 << 11)
#define MSTATUS_MPP_S (1 << 11)
#define MSTATUS_MPP_M (3 << 11)
#define MSTATUS_FS    (3 << 13)
#define MSTATUS_FS_INITIAL (1 << 13)
#define MSTATUS_FS_CLEAN   (2 << 13)
#define MSTATUS_FS_DIRTY   (3 << 13)
#define MSTATUS_XS    (3 << 15)
#define MSTATUS_MPRV  (1 << 17)
#define MSTATUS_SUM   (1 << 18)
#define MSTATUS_MXR   (1 << 19)
#define MSTATUS_TVM   (1 << 20)
#define MSTATUS_TW    (1 << 21)
#define MSTATUS_TSR   (1 << 22)
#define MSTATUS_SD    (1 << 63)

#define PRV_U 0
#define PRV_S 1
#define PRV_M 3

#define CAUSE_MISALIGNED_FETCH 0
#define CAUSE_FETCH_ACCESS     1
#define CAUSE_ILLEGAL_INSN     2
#define CAUSE_BREAKPOINT       3
#define CAUSE_MISALIGNED_LOAD  4
#define CAUSE_LOAD_ACCESS      5
#define CAUSE_MISALIGNED_STORE 6
#define CAUSE_STORE_ACCESS     7
#define CAUSE_USER_ECALL       8
#define CAUSE_SUPERVISOR_ECALL 9
#define CAUSE_MACHINE_ECALL    11
#define CAUSE_FETCH_PAGE_FAULT 12
#define CAUSE_LOAD_PAGE_FAULT  13
#define CAUSE_STORE_PAGE_FAULT 15

#define IRQ_S_SOFT  1
#define IRQ_M_SOFT  3
#define IRQ_S_TIMER 5
#define IRQ_M_TIMER 7
#define IRQ_S_EXT   9
#define IRQ_M_EXT   11
#define MIP_SSIP (1 << IRQ_S_SOFT)
#define MIP_MSIP (1 << IRQ_M_SOFT)
#define MIP_STIP (1 << IRQ_S_TIMER)
#define MIP_MTIP (1 << IRQ_M_TIMER)
#define MIP_SEIP (1 << IRQ_S_EXT)
#define MIP_MEIP (1 << IRQ_M_EXT)
#define CAUSE_INTR (1 << 63)

/* CLINT, identical on QEMU virt and spike */
#define CLINT_BASE     0x02000000
#define CLINT_MSIP     0x02000000
#define CLINT_MTIMECMP 0x02004000
#define CLINT_MTIME    0x0200bff8

/* page table entries */
#define PTE_V (1 << 0)
#define PTE_R (1 << 1)
#define PTE_W (1 << 2)
#define PTE_X (1 << 3)
#define PTE_U (1 << 4)
#define PTE_G (1 << 5)
#define PTE_A (1 << 6)
#define PTE_D (1 << 7)
#define SATP_MODE_SV39 (8 << 60)
#define SATP_MODE_SV48 (9 << 60)

#define ISA_REPORT_MAGIC 0x7265706f7274 /* "report" */

/* trap record layout (isa_mtrap / isa_strap) */
#define TR_SAVE   0
#define TR_CAUSE  32
#define TR_EPC    40
#define TR_TVAL   48
#define TR_STATUS 56
#define TR_COUNT  64
#define TR_RESUME 72
#define TR_RESUME_PP 80

/* --------------------------------------------------------------- assembler */

  .option nopic
  .option norelax
#ifndef ISA_RVC
  .option norvc
#endif

/* --------------------------------------------------------------- numbering */

#define ISA_CASE_NUM(k) ((k) + 1 + (k) / 255)

#define TEST_BEGIN TEST_BEGIN_1(__COUNTER__, __LINE__)
#define TEST_BEGIN_1(k, l) TEST_BEGIN_2(k, l)
#define TEST_BEGIN_2(k, l) \
  .set isa_cur, ISA_CASE_NUM(k); \
  .equ isa_case_L##l, ISA_CASE_NUM(k); \
  li gp, ISA_CASE_NUM(k)

/* In the ISA_BREAK build, corrupt `reg` before the comparisons of that case. */
#define ISA_FLIP(reg) \
  .if isa_cur == ISA_BREAK; xori reg, reg, 1; .endif

/* branch to fail when a != b, without the +-4 KiB range limit */
#define ISA_BNE(a, b) \
  beq a, b, 8571f; j fail; 8571:

/* ------------------------------------------------------------------ checks */

/* reg must equal the constant val (scratch: t6; reg must not be t6) */
#define CHECK_EQ(reg, val) \
  li t6, val; ISA_FLIP(reg); ISA_BNE(reg, t6)

/* reg must equal reg2 */
#define CHECK_REG(reg, reg2) \
  ISA_FLIP(reg); ISA_BNE(reg, reg2)

/* reg must equal the address of label (scratch t6) */
#define CHECK_LABEL(reg, label) \
  lla t6, label; ISA_FLIP(reg); ISA_BNE(reg, t6)

/* the 8-byte word at label must equal val (scratch t5, t6) */
#define CHECK_MEM(label, val) \
  ld t5, label; CHECK_EQ(t5, val)

/* --------------------------------------------------------- trap expectation */

/* The next trap taken into M-mode resumes at `label` (same privilege). */
#define EXPECT_TRAP(label) EXPECT_TRAP_PP(label, -1)
/* ... and resumes in privilege `pp` (0 U, 1 S, 3 M; -1 keep); when pp is
   given, the handler also clears MPIE, so that mstatus.MIE is 0 after the
   return (GOTO_M lands in M-mode with interrupts disabled). */
#define EXPECT_TRAP_PP(label, pp) \
  lla t6, isa_mtrap; \
  lla t5, label; sd t5, TR_RESUME(t6); \
  li t5, pp; sd t5, TR_RESUME_PP(t6); \
  li t5, -1; sd t5, TR_CAUSE(t6); sd t5, TR_EPC(t6); sd t5, TR_TVAL(t6)

/* The same for traps taken into S-mode (resume with sret). */
#define EXPECT_STRAP(label) EXPECT_STRAP_PP(label, -1)
#define EXPECT_STRAP_PP(label, pp) \
  lla t6, isa_strap; \
  lla t5, label; sd t5, TR_RESUME(t6); \
  li t5, pp; sd t5, TR_RESUME_PP(t6); \
  li t5, -1; sd t5, TR_CAUSE(t6); sd t5, TR_EPC(t6); sd t5, TR_TVAL(t6)

/* Cancel a pending expectation (when a trap may or may not happen). */
#define EXPECT_NONE \
  lla t6, isa_mtrap; sd zero, TR_RESUME(t6); \
  lla t6, isa_strap; sd zero, TR_RESUME(t6)

/* checks of the last trap recorded by the M-mode handler */
#define CHECK_MCAUSE(c)  ld t5, isa_mtrap + TR_CAUSE; CHECK_EQ(t5, c); EXPECT_NONE
#define CHECK_MEPC(label) ld t5, isa_mtrap + TR_EPC; CHECK_LABEL(t5, label)
#define CHECK_MTVAL(v)   ld t5, isa_mtrap + TR_TVAL; CHECK_EQ(t5, v)
#define CHECK_MTVAL_LABEL(label) ld t5, isa_mtrap + TR_TVAL; CHECK_LABEL(t5, label)
/* the mstatus value seen by the handler (after the trap), masked */
#define CHECK_MSTATUS_BITS(mask, v) \
  ld t5, isa_mtrap + TR_STATUS; li t6, mask; and t5, t5, t6; CHECK_EQ(t5, v)
#define CHECK_NO_MTRAP   ld t5, isa_mtrap + TR_CAUSE; CHECK_EQ(t5, -1); EXPECT_NONE

/* checks of the last trap recorded by the S-mode handler */
#define CHECK_SCAUSE(c)  ld t5, isa_strap + TR_CAUSE; CHECK_EQ(t5, c); EXPECT_NONE
#define CHECK_SEPC(label) ld t5, isa_strap + TR_EPC; CHECK_LABEL(t5, label)
#define CHECK_STVAL(v)   ld t5, isa_strap + TR_TVAL; CHECK_EQ(t5, v)
#define CHECK_STVAL_LABEL(label) ld t5, isa_strap + TR_TVAL; CHECK_LABEL(t5, label)
#define CHECK_SSTATUS_BITS(mask, v) \
  ld t5, isa_strap + TR_STATUS; li t6, mask; and t5, t5, t6; CHECK_EQ(t5, v)
#define CHECK_NO_STRAP   ld t5, isa_strap + TR_CAUSE; CHECK_EQ(t5, -1); EXPECT_NONE

/* ------------------------------------------------ common instruction tests */

#define TEST_RR(inst, res, v1, v2) \
  TEST_BEGIN; li a1, v1; li a2, v2; inst a0, a1, a2; CHECK_EQ(a0, res)
#define TEST_RR_S1D(inst, res, v1, v2) \
  TEST_BEGIN; li a0, v1; li a2, v2; inst a0, a0, a2; CHECK_EQ(a0, res)
#define TEST_RR_S2D(inst, res, v1, v2) \
  TEST_BEGIN; li a1, v1; li a0, v2; inst a0, a1, a0; CHECK_EQ(a0, res)
#define TEST_RR_S12D(inst, res, v) \
  TEST_BEGIN; li a0, v; inst a0, a0, a0; CHECK_EQ(a0, res)
#define TEST_RR_Z1(inst, res, v) \
  TEST_BEGIN; li a2, v; inst a0, x0, a2; CHECK_EQ(a0, res)
#define TEST_RR_Z2(inst, res, v) \
  TEST_BEGIN; li a1, v; inst a0, a1, x0; CHECK_EQ(a0, res)
#define TEST_RR_ZD(inst, v1, v2) \
  TEST_BEGIN; li a1, v1; li a2, v2; inst x0, a1, a2; mv a0, x0; CHECK_EQ(a0, 0)
#define TEST_IMM(inst, res, v, imm) \
  TEST_BEGIN; li a1, v; inst a0, a1, imm; CHECK_EQ(a0, res)
#define TEST_IMM_SD(inst, res, v, imm) \
  TEST_BEGIN; li a0, v; inst a0, a0, imm; CHECK_EQ(a0, res)
/* the instruction (its text, or a directive and encoding) must trap as illegal at its own address */
#define TEST_ILLEGAL(...) \
  TEST_BEGIN; EXPECT_TRAP(8582f); 8581: __VA_ARGS__; 8582: \
  CHECK_MCAUSE(CAUSE_ILLEGAL_INSN); CHECK_MEPC(8581b)
/* ... with mtval = its encoding (dir: .word or .hword) */
#define TEST_ILLEGAL_ENC(dir, enc) \
  TEST_ILLEGAL(dir enc); CHECK_MTVAL(enc)
#define TEST_LD(inst, res, off, base) \
  TEST_BEGIN; lla a1, base; inst a0, off(a1); CHECK_EQ(a0, res)
#define TEST_ST(ldi, sti, val, res, off, base) \
  TEST_BEGIN; lla a1, base; li a2, val; sti a2, off(a1); ldi a0, off(a1); CHECK_EQ(a0, res)
#define TEST_BR_TAKEN(inst, v1, v2) \
  TEST_BEGIN; li a1, v1; li a2, v2; li a0, 0; inst a1, a2, 8580f; li a0, 1; 8580: CHECK_EQ(a0, 0)
#define TEST_BR_NOT(inst, v1, v2) \
  TEST_BEGIN; li a1, v1; li a2, v2; li a0, 1; inst a1, a2, 8581f; li a0, 0; 8581: CHECK_EQ(a0, 0)
/* backward taken: the branch is executed twice, first time it must be taken */
#define TEST_BR_BACK(inst, v1, v2) \
  TEST_BEGIN; li a1, v1; li a2, v2; li a0, 0; j 8583f; \
  8582: addi a0, a0, 1; j 8584f; \
  8583: inst a1, a2, 8582b; addi a0, a0, 100; \
  8584: CHECK_EQ(a0, 1)

/* ------------------------------------------------------ floating-point tests */

#define FFLAG_NX 1
#define FFLAG_UF 2
#define FFLAG_OF 4
#define FFLAG_DZ 8
#define FFLAG_NV 16

/* operands are placed in .data; results compared as bit patterns (singles
   zero-extended from fmv.x.w) and fflags compared exactly */
#define ISA_FP_DATA_S(a, b, c) \
  .pushsection .data; .align 3; 8590: .word a, b, c, 0; .popsection; \
  lla a0, 8590b; flw fa0, 0(a0); flw fa1, 4(a0); flw fa3, 8(a0)
#define ISA_FP_DATA_D(a, b, c) \
  .pushsection .data; .align 3; 8590: .dword a, b, c; .popsection; \
  lla a0, 8590b; fld fa0, 0(a0); fld fa1, 8(a0); fld fa3, 16(a0)
#define ISA_FP_RES_S(res, flags) \
  frflags a2; fmv.x.w a1, fa2; slli a1, a1, 32; srli a1, a1, 32; \
  CHECK_EQ(a1, res); CHECK_EQ(a2, flags)
#define ISA_FP_RES_D(res, flags) \
  frflags a2; fmv.x.d a1, fa2; CHECK_EQ(a1, res); CHECK_EQ(a2, flags)
#define ISA_INT_RES(res, flags) \
  frflags a2; CHECK_EQ(a1, res); CHECK_EQ(a2, flags)

/* fa2 = inst(fa0, fa1[, fa3]) with rounding mode rm */
#define TEST_FP_OP1_S(inst, rm, flags, res, a) \
  TEST_BEGIN; ISA_FP_DATA_S(a, 0, 0); fsflags x0; inst fa2, fa0, rm; ISA_FP_RES_S(res, flags)
#define TEST_FP_OP2_S(inst, rm, flags, res, a, b) \
  TEST_BEGIN; ISA_FP_DATA_S(a, b, 0); fsflags x0; inst fa2, fa0, fa1, rm; ISA_FP_RES_S(res, flags)
#define TEST_FP_OP2N_S(inst, flags, res, a, b) \
  TEST_BEGIN; ISA_FP_DATA_S(a, b, 0); fsflags x0; inst fa2, fa0, fa1; ISA_FP_RES_S(res, flags)
#define TEST_FP_OP3_S(inst, rm, flags, res, a, b, c) \
  TEST_BEGIN; ISA_FP_DATA_S(a, b, c); fsflags x0; inst fa2, fa0, fa1, fa3, rm; ISA_FP_RES_S(res, flags)
#define TEST_FP_CMP_S(inst, flags, res, a, b) \
  TEST_BEGIN; ISA_FP_DATA_S(a, b, 0); fsflags x0; inst a1, fa0, fa1; ISA_INT_RES(res, flags)
#define TEST_FCVT_X_S(inst, rm, flags, res, a) \
  TEST_BEGIN; ISA_FP_DATA_S(a, 0, 0); fsflags x0; inst a1, fa0, rm; ISA_INT_RES(res, flags)
#define TEST_FCVT_S_X(inst, rm, flags, res, ival) \
  TEST_BEGIN; li a3, ival; fsflags x0; inst fa2, a3, rm; ISA_FP_RES_S(res, flags)
#define TEST_FCLASS_S(res, a) \
  TEST_BEGIN; ISA_FP_DATA_S(a, 0, 0); fsflags x0; fclass.s a1, fa0; ISA_INT_RES(res, 0)

#define TEST_FP_OP1_D(inst, rm, flags, res, a) \
  TEST_BEGIN; ISA_FP_DATA_D(a, 0, 0); fsflags x0; inst fa2, fa0, rm; ISA_FP_RES_D(res, flags)
#define TEST_FP_OP2_D(inst, rm, flags, res, a, b) \
  TEST_BEGIN; ISA_FP_DATA_D(a, b, 0); fsflags x0; inst fa2, fa0, fa1, rm; ISA_FP_RES_D(res, flags)
#define TEST_FP_OP2N_D(inst, flags, res, a, b) \
  TEST_BEGIN; ISA_FP_DATA_D(a, b, 0); fsflags x0; inst fa2, fa0, fa1; ISA_FP_RES_D(res, flags)
#define TEST_FP_OP3_D(inst, rm, flags, res, a, b, c) \
  TEST_BEGIN; ISA_FP_DATA_D(a, b, c); fsflags x0; inst fa2, fa0, fa1, fa3, rm; ISA_FP_RES_D(res, flags)
#define TEST_FP_CMP_D(inst, flags, res, a, b) \
  TEST_BEGIN; ISA_FP_DATA_D(a, b, 0); fsflags x0; inst a1, fa0, fa1; ISA_INT_RES(res, flags)
#define TEST_FCVT_X_D(inst, rm, flags, res, a) \
  TEST_BEGIN; ISA_FP_DATA_D(a, 0, 0); fsflags x0; inst a1, fa0, rm; ISA_INT_RES(res, flags)
#define TEST_FCVT_D_X(inst, rm, flags, res, ival) \
  TEST_BEGIN; li a3, ival; fsflags x0; inst fa2, a3, rm; ISA_FP_RES_D(res, flags)
#define TEST_FCVT_D_XN(inst, flags, res, ival) \
  TEST_BEGIN; li a3, ival; fsflags x0; inst fa2, a3; ISA_FP_RES_D(res, flags)
#define TEST_FCLASS_D(res, a) \
  TEST_BEGIN; ISA_FP_DATA_D(a, 0, 0); fsflags x0; fclass.d a1, fa0; ISA_INT_RES(res, 0)
/* conversions between the two formats */
#define TEST_FCVT_S_D(rm, flags, res, a) \
  TEST_BEGIN; ISA_FP_DATA_D(a, 0, 0); fsflags x0; fcvt.s.d fa2, fa0, rm; ISA_FP_RES_S(res, flags)
#define TEST_FCVT_D_S(flags, res, a) \
  TEST_BEGIN; ISA_FP_DATA_S(a, 0, 0); fsflags x0; fcvt.d.s fa2, fa0; ISA_FP_RES_D(res, flags)

/* ------------------------------------------------------- privilege changes */

/* From M-mode: continue at `label` in privilege `mode` (clobbers t5, t6). */
#define ENTER_MODE(mode, label) \
  li t6, MSTATUS_MPP; csrc mstatus, t6; \
  li t6, ((mode) << 11); csrs mstatus, t6; \
  lla t6, label; csrw mepc, t6; mret

/* From M-mode: continue at address in `reg` in privilege `mode`. */
#define ENTER_MODE_REG(mode, reg) \
  li t6, MSTATUS_MPP; csrc mstatus, t6; \
  li t6, ((mode) << 11); csrs mstatus, t6; \
  csrw mepc, reg; mret

/* From any mode: ecall into M-mode and continue at `label` in M-mode.
   Only valid where `label`'s address as computed here is its physical one
   (identity-mapped or bare). */
#define GOTO_M(label) \
  EXPECT_TRAP_PP(label, PRV_M); ecall

/* ------------------------------------------------------------- test bodies */

#define RVTEST_CODE_BEGIN \
  .section .text.init, "ax", @progbits; \
  .globl _start; \
_start: \
  j isa_reset; \
  ISA_TRAP_HANDLERS; \
isa_reset: \
  ISA_RESET; \
  .text; \
  .align 2; \
isa_test_body:

#define RVTEST_CODE_END \
  j pass; \
  ISA_PASS_FAIL

#define RVTEST_DATA_BEGIN \
  ISA_DATA; \
  .data; \
  .align 4

#define RVTEST_DATA_END

#define RVTEST_PASS j pass
#define RVTEST_FAIL j fail

/* --------------------------------------------------------------- internals */

#define ISA_RESET \
  li x1, 0; li x2, 0; li x3, 0; li x4, 0; li x5, 0; li x6, 0; li x7, 0; \
  li x8, 0; li x9, 0; li x10, 0; li x11, 0; li x12, 0; li x13, 0; \
  li x14, 0; li x15, 0; li x16, 0; li x17, 0; li x18, 0; li x19, 0; \
  li x20, 0; li x21, 0; li x22, 0; li x23, 0; li x24, 0; li x25, 0; \
  li x26, 0; li x27, 0; li x28, 0; li x29, 0; li x30, 0; li x31, 0; \
  /* any trap during reset is fatal (code 4095 | unexpected trap) */ \
  lla t0, trap_vector; csrw mtvec, t0; \
  /* PMP: allow S and U everything; skipped if PMP is not implemented */ \
  lla t0, 8573f; csrw mtvec, t0; \
  li t0, (1 << 53) - 1; csrw pmpaddr0, t0; \
  li t0, 0x1f; csrw pmpcfg0, t0; \
  .align 2; \
8573: \
  lla t0, trap_vector; csrw mtvec, t0; \
  csrwi mie, 0; csrw medeleg, zero; csrw mideleg, zero; \
  csrw satp, zero; sfence.vma; \
  li t0, MSTATUS_FS_INITIAL; csrw mstatus, t0; \
  csrwi fcsr, 0; \
  lla t0, strap_vector; csrw stvec, t0; \
  csrw mscratch, zero; csrw sscratch, zero; \
  lla sp, isa_stack_top; \
  j isa_test_body

#define ISA_TRAP_HANDLERS \
  .align 6; \
  .globl trap_vector; \
trap_vector: \
  csrw mscratch, t0; \
  lla t0, isa_mtrap; \
  sd t1, 0(t0); sd t2, 8(t0); sd t3, 16(t0); \
  csrr t1, mscratch; sd t1, 24(t0); \
  li t1, ISA_REPORT_MAGIC; beq tp, t1, isa_report; \
  li t1, MSTATUS_MPRV; csrc mstatus, t1; \
  csrr t1, mcause; sd t1, TR_CAUSE(t0); \
  csrr t1, mepc; sd t1, TR_EPC(t0); \
  csrr t1, mtval; sd t1, TR_TVAL(t0); \
  csrr t1, mstatus; sd t1, TR_STATUS(t0); \
  ld t1, TR_COUNT(t0); addi t1, t1, 1; sd t1, TR_COUNT(t0); \
  ld t1, TR_RESUME(t0); beqz t1, isa_m_unexpected; \
  csrw mepc, t1; sd zero, TR_RESUME(t0); \
  ld t2, TR_RESUME_PP(t0); bltz t2, 1f; \
  li t3, MSTATUS_MPP | MSTATUS_MPIE; csrc mstatus, t3; \
  slli t2, t2, 11; csrs mstatus, t2; \
  li t2, -1; sd t2, TR_RESUME_PP(t0); \
1: \
  csrr t1, mcause; bgez t1, 2f; \
  li t1, MSTATUS_MPIE; csrc mstatus, t1; \
2: \
  ld t1, 0(t0); ld t2, 8(t0); ld t3, 16(t0); ld t0, 24(t0); \
  mret; \
isa_m_unexpected: \
  csrr t1, mcause; andi t2, t1, 0x7f; bgez t1, 3f; ori t2, t2, 0x80; \
3: \
  slli t2, t2, 12; li t1, 1 << 20; or t2, t2, t1; \
  ISA_TESTNUM_CODE(t5); or t5, t5, t2; \
  j isa_report; \
  \
  .align 6; \
  .globl strap_vector; \
strap_vector: \
  csrw sscratch, t0; \
  lla t0, isa_strap; \
  sd t1, 0(t0); sd t2, 8(t0); sd t3, 16(t0); \
  csrr t1, sscratch; sd t1, 24(t0); \
  li t1, ISA_REPORT_MAGIC; beq tp, t1, 4f; \
  csrr t1, scause; sd t1, TR_CAUSE(t0); \
  csrr t1, sepc; sd t1, TR_EPC(t0); \
  csrr t1, stval; sd t1, TR_TVAL(t0); \
  csrr t1, sstatus; sd t1, TR_STATUS(t0); \
  ld t1, TR_COUNT(t0); addi t1, t1, 1; sd t1, TR_COUNT(t0); \
  ld t1, TR_RESUME(t0); beqz t1, 5f; \
  csrw sepc, t1; sd zero, TR_RESUME(t0); \
  ld t2, TR_RESUME_PP(t0); bltz t2, 1f; \
  li t3, MSTATUS_SPP; csrc sstatus, t3; \
  beqz t2, 6f; csrs sstatus, t3; \
6: \
  li t2, -1; sd t2, TR_RESUME_PP(t0); \
1: \
  csrr t1, scause; bgez t1, 2f; \
  li t1, MSTATUS_SPIE; csrc sstatus, t1; \
2: \
  ld t1, 0(t0); ld t2, 8(t0); ld t3, 16(t0); ld t0, 24(t0); \
  sret; \
5: \
  csrr t1, scause; andi t2, t1, 0x7f; bgez t1, 3f; ori t2, t2, 0x80; \
3: \
  slli t2, t2, 12; li t1, 1 << 21; or t2, t2, t1; \
  ISA_TESTNUM_CODE(t5); or t5, t5, t2; \
  li tp, ISA_REPORT_MAGIC; \
4: \
  ecall; \
  j 4b

/* reg = gp & 0xfff, or 0xfff when gp is 0 */
#define ISA_TESTNUM_CODE(reg) \
  andi reg, gp, 0x7ff; li t6, 0x800; and t6, gp, t6; or reg, reg, t6; \
  bnez reg, 7f; li reg, 0xfff; \
7:

#define ISA_PASS_FAIL \
  .align 2; \
  .globl pass; \
pass: \
  li t5, 0; \
  j isa_report; \
  .globl fail; \
fail: \
  ISA_TESTNUM_CODE(t5); \
  .globl isa_report; \
isa_report: \
  li tp, ISA_REPORT_MAGIC; \
  fence; \
  slli t6, t5, 1; ori t6, t6, 1; \
  lla t4, tohost; \
  sd t6, 0(t4); \
8574: \
  j 8574b

#define ISA_DATA \
  .pushsection .tohost, "aw", @progbits; \
  .align 6; \
  .globl tohost; \
tohost: .dword 0; \
  .size tohost, 8; \
  .align 6; \
  .globl fromhost; \
fromhost: .dword 0; \
  .size fromhost, 8; \
  .popsection; \
  .data; \
  .align 6; \
  .globl isa_mtrap; \
isa_mtrap: .dword 0, 0, 0, 0, -1, -1, -1, 0, 0, 0, -1, 0; \
  .align 6; \
  .globl isa_strap; \
isa_strap: .dword 0, 0, 0, 0, -1, -1, -1, 0, 0, 0, -1, 0; \
  .align 4; \
isa_stack: .skip 4096; \
isa_stack_top: .dword 0

#endif /* ISA_MACROS_H */

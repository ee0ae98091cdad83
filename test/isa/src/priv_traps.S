/*
 * Privileged architecture, exceptions taken into M-mode (no delegation, no
 * paging): ecall from M/S/U (causes 11/9/8, mepc = the ecall), ebreak (3),
 * illegal instructions with mtval = instruction bits (bad encodings, M-mode
 * CSRs from S/U, S-mode CSRs from U, mret/sret from lower modes, wfi in U),
 * counter access from S/U gated by mcounteren/scounteren, trap entry
 * (MPP/MPIE/MIE), mret (MIE <- MPIE, MPIE <- 1, MPP <- U, MPRV cleared when
 * leaving M) and sret (SIE <- SPIE, SPIE <- 1, SPP <- U), and misaligned
 * loads/stores: a CPU may either perform them or raise address-misaligned
 * (4/6, mtval = address); the test accepts both but requires correct data
 * when there is no trap and no side effect when there is one.
 */
#include "macros.h"

/* misaligned load: either traps with cause 4 (rd unchanged) or loads `res` */
#define TEST_MISALIGNED_LD(inst, off, res) \
  TEST_BEGIN; lla a1, mdata; li a0, 0x5a5a; EXPECT_TRAP(8602f); \
  8601: inst a0, off(a1); \
  8602: ld t5, isa_mtrap + TR_CAUSE; li t6, -1; beq t5, t6, 8603f; \
  CHECK_EQ(t5, CAUSE_MISALIGNED_LOAD); CHECK_MEPC(8601b); CHECK_MTVAL_LABEL(mdata + off); \
  CHECK_EQ(a0, 0x5a5a); j 8604f; \
  8603: CHECK_EQ(a0, res); \
  8604: EXPECT_NONE
/* misaligned store of `val` (width given by sti, read back with ldi as `res`) */
#define TEST_MISALIGNED_ST(sti, ldi, off, val, res) \
  TEST_BEGIN; lla a1, mbuf; sd zero, 0(a1); sd zero, 8(a1); sd zero, 16(a1); \
  li a2, val; EXPECT_TRAP(8606f); \
  8605: sti a2, off(a1); \
  8606: ld t5, isa_mtrap + TR_CAUSE; li t6, -1; beq t5, t6, 8607f; \
  CHECK_EQ(t5, CAUSE_MISALIGNED_STORE); CHECK_MEPC(8605b); CHECK_MTVAL_LABEL(mbuf + off); \
  ld a0, 0(a1); CHECK_EQ(a0, 0); ld a0, 8(a1); CHECK_EQ(a0, 0); ld a0, 16(a1); CHECK_EQ(a0, 0); \
  j 8608f; \
  8607: ldi a0, off(a1); CHECK_EQ(a0, res); \
  8608: EXPECT_NONE

RVTEST_CODE_BEGIN

  /* ------------------------------------------------------------ ecall / ebreak in M */
  TEST_BEGIN
  EXPECT_TRAP(2f)
1: ecall
2: CHECK_MCAUSE(CAUSE_MACHINE_ECALL)
  CHECK_MEPC(1b)
  CHECK_MTVAL(0)
  TEST_BEGIN
  EXPECT_TRAP(2f)
1: ebreak
2: CHECK_MCAUSE(CAUSE_BREAKPOINT)
  CHECK_MEPC(1b)
  TEST_BEGIN                               /* trap entry from M: MPP = M, MPIE <- MIE, MIE <- 0 */
  csrsi mstatus, MSTATUS_MIE               /* no interrupt is enabled in mie */
  EXPECT_TRAP(2f)
1: ecall
2: CHECK_MSTATUS_BITS(MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE, MSTATUS_MPP_M | MSTATUS_MPIE)
  CHECK_MCAUSE(CAUSE_MACHINE_ECALL)
  TEST_BEGIN                               /* ... mret restored MIE from MPIE */
  csrr a0, mstatus; andi a0, a0, MSTATUS_MIE; CHECK_EQ(a0, MSTATUS_MIE)
  csrci mstatus, MSTATUS_MIE
  TEST_BEGIN                               /* registers survive the trap */
  li a0, 0x1234; li a1, 0x5678; li t0, 0x9abc
  EXPECT_TRAP(2f)
  ecall
2: CHECK_EQ(a0, 0x1234); CHECK_EQ(a1, 0x5678); CHECK_EQ(t0, 0x9abc)
  CHECK_MCAUSE(CAUSE_MACHINE_ECALL)

  /* ------------------------------------------------------------ illegal instructions in M */
  TEST_BEGIN
  EXPECT_TRAP(2f)
1: .word 0xfe000033                        /* OP with funct7 = 0x7f */
2: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  CHECK_MEPC(1b)
  CHECK_MTVAL(0xfe000033)
  TEST_BEGIN
  EXPECT_TRAP(2f)
1: .word 0x0000601b                        /* OP-IMM-32 funct3 = 6 */
2: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  CHECK_MTVAL(0x0000601b)
  TEST_BEGIN
  EXPECT_TRAP(2f)
1: .word 0x00007003                        /* LOAD funct3 = 7 */
2: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  CHECK_MTVAL(0x00007003)
  TEST_BEGIN
  EXPECT_TRAP(2f)
1: .word 0x00004073                        /* SYSTEM funct3 = 4 */
2: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  CHECK_MTVAL(0x00004073)
  TEST_BEGIN
  EXPECT_TRAP(2f)
1: .word 0x00001067                        /* JALR funct3 = 1 */
2: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  CHECK_MTVAL(0x00001067)
  TEST_BEGIN                               /* registers are not written by a trapping instruction */
  li a0, 77
  EXPECT_TRAP(2f)
1: .word 0xfe000533                        /* "add a0, x0, x0" with funct7 = 0x7f */
2: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  CHECK_EQ(a0, 77)

  /* ------------------------------------------------------------ S-mode */
  TEST_BEGIN                               /* ecall from S: cause 9, MPP = S */
  ENTER_MODE(PRV_S, 1f)
1: EXPECT_TRAP_PP(3f, PRV_M)
2: ecall
3: CHECK_MCAUSE(CAUSE_SUPERVISOR_ECALL)
  CHECK_MEPC(2b)
  CHECK_MSTATUS_BITS(MSTATUS_MPP, MSTATUS_MPP_S)
  TEST_BEGIN                               /* M-mode CSR from S: illegal, mtval = bits */
  ENTER_MODE(PRV_S, 1f)
1: EXPECT_TRAP(2f)
4: csrr a0, mstatus
2: GOTO_M(3f)
3: CHECK_MCAUSE(CAUSE_SUPERVISOR_ECALL)    /* the GOTO_M ecall came from S */
  TEST_BEGIN
  ENTER_MODE(PRV_S, 1f)
1: EXPECT_TRAP_PP(3f, PRV_M)
2: csrw mscratch, zero
3: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  CHECK_MEPC(2b)
  CHECK_MTVAL(0x34001073)
  CHECK_MSTATUS_BITS(MSTATUS_MPP, MSTATUS_MPP_S)
  TEST_BEGIN
  ENTER_MODE(PRV_S, 1f)
1: EXPECT_TRAP_PP(3f, PRV_M)
2: csrr a0, mhartid
3: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  CHECK_MTVAL(0xf1402573)
  TEST_BEGIN                               /* mret from S: illegal */
  ENTER_MODE(PRV_S, 1f)
1: EXPECT_TRAP_PP(3f, PRV_M)
2: mret
3: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  CHECK_MEPC(2b)
  CHECK_MTVAL(0x30200073)
  TEST_BEGIN                               /* S-mode CSRs are accessible from S */
  ENTER_MODE(PRV_S, 1f)
1: li a1, 0x77; csrw sscratch, a1; csrr a0, sscratch
  GOTO_M(3f)
3: CHECK_MCAUSE(CAUSE_SUPERVISOR_ECALL)
  CHECK_EQ(a0, 0x77)

  /* ------------------------------------------------------------ U-mode */
  TEST_BEGIN                               /* ecall from U: cause 8, MPP = U */
  ENTER_MODE(PRV_U, 1f)
1: EXPECT_TRAP_PP(3f, PRV_M)
2: ecall
3: CHECK_MCAUSE(CAUSE_USER_ECALL)
  CHECK_MEPC(2b)
  CHECK_MSTATUS_BITS(MSTATUS_MPP, 0)
  TEST_BEGIN                               /* ebreak from U */
  ENTER_MODE(PRV_U, 1f)
1: EXPECT_TRAP_PP(3f, PRV_M)
2: ebreak
3: CHECK_MCAUSE(CAUSE_BREAKPOINT)
  CHECK_MEPC(2b)
  TEST_BEGIN                               /* S-mode CSR from U */
  ENTER_MODE(PRV_U, 1f)
1: EXPECT_TRAP_PP(3f, PRV_M)
2: csrr a0, sstatus
3: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  CHECK_MEPC(2b)
  CHECK_MTVAL(0x10002573)
  TEST_BEGIN
  ENTER_MODE(PRV_U, 1f)
1: EXPECT_TRAP_PP(3f, PRV_M)
2: csrw satp, zero
3: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  CHECK_MTVAL(0x18001073)
  TEST_BEGIN
  ENTER_MODE(PRV_U, 1f)
1: EXPECT_TRAP_PP(3f, PRV_M)
2: sret
3: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  CHECK_MTVAL(0x10200073)
  TEST_BEGIN
  ENTER_MODE(PRV_U, 1f)
1: EXPECT_TRAP_PP(3f, PRV_M)
2: mret
3: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  TEST_BEGIN                               /* wfi in U (S-mode exists): illegal */
  ENTER_MODE(PRV_U, 1f)
1: EXPECT_TRAP_PP(3f, PRV_M)
2: wfi
3: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  CHECK_MEPC(2b)
  CHECK_MTVAL(0x10500073)
  TEST_BEGIN                               /* sfence.vma in U: illegal */
  ENTER_MODE(PRV_U, 1f)
1: EXPECT_TRAP_PP(3f, PRV_M)
2: sfence.vma
3: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  TEST_BEGIN                               /* the FP CSRs are user-level */
  ENTER_MODE(PRV_U, 1f)
1: csrwi fflags, 3; csrr a0, fflags; csrwi fflags, 0
  GOTO_M(3f)
3: CHECK_MCAUSE(CAUSE_USER_ECALL)
  CHECK_EQ(a0, 3)

  /* ------------------------------------------------------------ counter enables */
  TEST_BEGIN                               /* mcounteren = 0: cycle from U and S is illegal */
  csrw mcounteren, zero; csrw scounteren, zero
  ENTER_MODE(PRV_U, 1f)
1: EXPECT_TRAP_PP(3f, PRV_M)
2: csrr a0, cycle
3: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  CHECK_MTVAL(0xc0002573)
  TEST_BEGIN
  ENTER_MODE(PRV_S, 1f)
1: EXPECT_TRAP_PP(3f, PRV_M)
2: csrr a0, instret
3: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  TEST_BEGIN                               /* mcounteren.CY/IR: S may read, U not yet (scounteren = 0) */
  li a1, 7; csrw mcounteren, a1
  ENTER_MODE(PRV_S, 1f)
1: csrr a0, cycle; csrr a0, instret
  GOTO_M(3f)
3: CHECK_MCAUSE(CAUSE_SUPERVISOR_ECALL)
  TEST_BEGIN
  ENTER_MODE(PRV_U, 1f)
1: EXPECT_TRAP_PP(3f, PRV_M)
2: csrr a0, cycle
3: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  TEST_BEGIN                               /* both enables set: U may read */
  li a1, 7; csrw scounteren, a1
  ENTER_MODE(PRV_U, 1f)
1: csrr a0, cycle; csrr a0, instret
  GOTO_M(3f)
3: CHECK_MCAUSE(CAUSE_USER_ECALL)
  csrw mcounteren, zero; csrw scounteren, zero

  /* ------------------------------------------------------------ mret / sret */
  TEST_BEGIN                               /* mret to M: MIE <- MPIE, MPIE <- 1, MPP <- U */
  li a1, MSTATUS_MPP_M | MSTATUS_MPIE; csrs mstatus, a1; csrci mstatus, MSTATUS_MIE
  lla a1, 1f; csrw mepc, a1
  mret
1: csrr a0, mstatus
  li a1, MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE; and a0, a0, a1
  CHECK_EQ(a0, MSTATUS_MPIE | MSTATUS_MIE)
  csrci mstatus, MSTATUS_MIE
  TEST_BEGIN                               /* mret with MPIE = 0 clears MIE */
  li a1, MSTATUS_MPP_M; csrs mstatus, a1; li a1, MSTATUS_MPIE; csrc mstatus, a1; csrsi mstatus, MSTATUS_MIE
  lla a1, 1f; csrw mepc, a1
  mret
1: csrr a0, mstatus
  li a1, MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE; and a0, a0, a1
  CHECK_EQ(a0, MSTATUS_MPIE)
  TEST_BEGIN                               /* mret to S clears MPRV */
  li a1, MSTATUS_MPRV; csrs mstatus, a1
  ENTER_MODE(PRV_S, 1f)
1: GOTO_M(3f)
3: CHECK_MCAUSE(CAUSE_SUPERVISOR_ECALL)
  csrr a0, mstatus; li a1, MSTATUS_MPRV; and a0, a0, a1; CHECK_EQ(a0, 0)
  TEST_BEGIN                               /* sret to U: SIE <- SPIE, SPIE <- 1, SPP <- U */
  ENTER_MODE(PRV_S, 1f)
1: li a1, MSTATUS_SPP; csrc sstatus, a1
  li a1, MSTATUS_SPIE; csrs sstatus, a1; csrci sstatus, MSTATUS_SIE
  lla a1, 2f; csrw sepc, a1
  sret
2: GOTO_M(3f)
3: CHECK_MCAUSE(CAUSE_USER_ECALL)
  csrr a0, mstatus; li a1, MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE; and a0, a0, a1
  CHECK_EQ(a0, MSTATUS_SPIE | MSTATUS_SIE)
  csrci mstatus, MSTATUS_SIE
  TEST_BEGIN                               /* sret to S (SPP = S), SPIE = 0 */
  ENTER_MODE(PRV_S, 1f)
1: li a1, MSTATUS_SPP; csrs sstatus, a1
  li a1, MSTATUS_SPIE; csrc sstatus, a1; csrsi sstatus, MSTATUS_SIE
  lla a1, 2f; csrw sepc, a1
  sret
2: GOTO_M(3f)
3: CHECK_MCAUSE(CAUSE_SUPERVISOR_ECALL)
  csrr a0, mstatus; li a1, MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE; and a0, a0, a1
  CHECK_EQ(a0, MSTATUS_SPIE)
  TEST_BEGIN                               /* sret to S then U: SPP was reset to U */
  ENTER_MODE(PRV_S, 1f)
1: li a1, MSTATUS_SPP; csrs sstatus, a1
  lla a1, 2f; csrw sepc, a1
  sret
2: lla a1, 4f; csrw sepc, a1
  sret
4: GOTO_M(3f)
3: CHECK_MCAUSE(CAUSE_USER_ECALL)

  /* ------------------------------------------------------------ misaligned loads/stores */
  TEST_MISALIGNED_LD(lh, 1, 0x0302)
  TEST_MISALIGNED_LD(lhu, 7, 0x0908)
  TEST_MISALIGNED_LD(lh, 0x0f, 0xffffffffffff9f8f)
  TEST_MISALIGNED_LD(lw, 1, 0x05040302)
  TEST_MISALIGNED_LD(lw, 2, 0x06050403)
  TEST_MISALIGNED_LD(lw, 3, 0x07060504)
  TEST_MISALIGNED_LD(lw, 0x0e, 0xffffffffaf9f8f0f)
  TEST_MISALIGNED_LD(lwu, 5, 0x09080706)
  TEST_MISALIGNED_LD(ld, 1, 0x0908070605040302)
  TEST_MISALIGNED_LD(ld, 4, 0x0c0b0a0908070605)
  TEST_MISALIGNED_LD(ld, 7, 0x0f0e0d0c0b0a0908)
  TEST_MISALIGNED_ST(sh, lhu, 1, 0xbeef, 0xbeef)
  TEST_MISALIGNED_ST(sw, lwu, 2, 0xdeadbeef, 0xdeadbeef)
  TEST_MISALIGNED_ST(sw, lw, 7, 0x87654321, 0xffffffff87654321)
  TEST_MISALIGNED_ST(sd, ld, 3, 0x0123456789abcdef, 0x0123456789abcdef)
  TEST_MISALIGNED_ST(sd, ld, 4, 0xfedcba9876543210, 0xfedcba9876543210)
  /* across a page boundary */
  TEST_BEGIN
  lla a1, mpage + 4096 - 3; li a2, 0x1122334455667788
  EXPECT_TRAP(2f)
1: sd a2, 0(a1)
2: ld t5, isa_mtrap + TR_CAUSE; li t6, -1; beq t5, t6, 3f
  CHECK_EQ(t5, CAUSE_MISALIGNED_STORE); CHECK_MTVAL_LABEL(mpage + 4096 - 3)
  j 4f
3: ld a0, 0(a1); CHECK_EQ(a0, 0x1122334455667788)
  lbu a0, 0(a1); CHECK_EQ(a0, 0x88)
  lla a3, mpage + 4096; lwu a0, 0(a3); CHECK_EQ(a0, 0x22334455)
4: EXPECT_NONE

RVTEST_CODE_END

RVTEST_DATA_BEGIN
  .align 4
mdata:
  .byte 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08
  .byte 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x8f
  .byte 0x9f, 0xaf, 0xaf, 0xaf, 0, 0, 0, 0
  .align 4
mbuf: .skip 32
  .align 12
mpage: .skip 8192
RVTEST_DATA_END

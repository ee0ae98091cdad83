/*
 * Delegation to S-mode (no paging): medeleg sends exceptions from S/U to the
 * S-mode handler (stvec, scause, sepc, stval, sstatus.SPP/SPIE/SIE), never
 * exceptions raised in M-mode; undelegated ones still go to M; medeleg[11]
 * is read-only zero. sstatus is a restricted view of mstatus (SIE, SPIE,
 * SPP, FS, SUM, MXR, SD; no MIE/MPIE/MPP/MPRV/TVM/TW/TSR). sie/sip show only
 * delegated interrupts (mideleg), and delegated interrupts are taken in S
 * (or from U regardless of sstatus.SIE) but never in M.
 */
#include "macros.h"

RVTEST_CODE_BEGIN

  /* ------------------------------------------------------------ medeleg */
#ifndef QEMU_SPIKE
  /* medeleg[11] (ecall from M) is read-only zero (QEMU 7.2 lets it be set) */
  TEST_BEGIN
  li a1, 1 << CAUSE_MACHINE_ECALL; csrw medeleg, a1; csrr a0, medeleg; CHECK_EQ(a0, 0)
#endif
  TEST_BEGIN                               /* the delegable bits used below are writable */
  li a1, (1 << 2) | (1 << 3) | (1 << 8) | (1 << 9)
  csrw medeleg, a1; csrr a0, medeleg; CHECK_REG(a0, a1)
  csrw medeleg, zero
  TEST_BEGIN                               /* ecall from U delegated: S handler, SPP = U */
  li a1, 1 << CAUSE_USER_ECALL; csrw medeleg, a1
  ENTER_MODE(PRV_S, 1f)
1: li a1, MSTATUS_SPIE; csrs sstatus, a1  /* sret: SIE <- 1 in U; the trap: SPIE <- 1, SIE <- 0 */
  lla a1, 2f; csrw sepc, a1
  li a1, MSTATUS_SPP; csrc sstatus, a1
  EXPECT_STRAP_PP(4f, PRV_S)               /* resume in S */
  sret
2: ecall                                   /* in U */
4: CHECK_SCAUSE(CAUSE_USER_ECALL)          /* back in S */
  CHECK_SEPC(2b)
  CHECK_STVAL(0)
  CHECK_SSTATUS_BITS(MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE, MSTATUS_SPIE)
  GOTO_M(3f)
3: CHECK_MCAUSE(CAUSE_SUPERVISOR_ECALL)    /* ecall from S was not delegated */
  ld a0, isa_mtrap + TR_COUNT; mv s2, a0
  TEST_BEGIN                               /* illegal instruction from U delegated: stval = bits */
  li a1, (1 << CAUSE_ILLEGAL_INSN); csrw medeleg, a1
  ENTER_MODE(PRV_U, 1f)
1: EXPECT_STRAP(2f)
3: .word 0xfe000033
2: GOTO_M(4f)
4: CHECK_MCAUSE(CAUSE_USER_ECALL)
  CHECK_SCAUSE(CAUSE_ILLEGAL_INSN)
  CHECK_SEPC(3b)
  CHECK_STVAL(0xfe000033)
  CHECK_SSTATUS_BITS(MSTATUS_SPP, 0)
  TEST_BEGIN                               /* ... and from S: SPP = S */
  ENTER_MODE(PRV_S, 1f)
1: EXPECT_STRAP(2f)
3: csrr a0, mstatus
2: GOTO_M(4f)
4: CHECK_SCAUSE(CAUSE_ILLEGAL_INSN)
  CHECK_SEPC(3b)
  CHECK_STVAL(0x30002573)
  CHECK_SSTATUS_BITS(MSTATUS_SPP, MSTATUS_SPP)
  TEST_BEGIN                               /* a delegated exception raised in M goes to M */
  EXPECT_TRAP(2f)
  EXPECT_STRAP(2f)
1: .word 0xfe000033
2: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  CHECK_MEPC(1b)
  CHECK_NO_STRAP
  TEST_BEGIN                               /* ecall from S delegated */
  li a1, (1 << CAUSE_SUPERVISOR_ECALL) | (1 << CAUSE_BREAKPOINT); csrw medeleg, a1
  ENTER_MODE(PRV_S, 1f)
1: EXPECT_STRAP(2f)
3: ecall
2: CHECK_SCAUSE(CAUSE_SUPERVISOR_ECALL)
  CHECK_SEPC(3b)
  TEST_BEGIN                               /* breakpoint from S delegated */
  EXPECT_STRAP(2f)
3: ebreak
2: CHECK_SCAUSE(CAUSE_BREAKPOINT)
  CHECK_SEPC(3b)
  TEST_BEGIN                               /* back to M by an undelegated exception (ecall from S is delegated now) */
  EXPECT_TRAP_PP(4f, PRV_M)
  .word 0xfe000033
4: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  CHECK_MSTATUS_BITS(MSTATUS_MPP, MSTATUS_MPP_S)
  TEST_BEGIN                               /* an undelegated exception from U still goes to M */
  li a1, 1 << CAUSE_BREAKPOINT; csrw medeleg, a1
  ENTER_MODE(PRV_U, 1f)
1: EXPECT_TRAP_PP(3f, PRV_M)
  EXPECT_STRAP(3f)
2: ecall
3: CHECK_MCAUSE(CAUSE_USER_ECALL)
  CHECK_MEPC(2b)
  CHECK_NO_STRAP
  csrw medeleg, zero

  /* ------------------------------------------------------------ sstatus view */
  TEST_BEGIN                               /* M-only bits are invisible in sstatus */
  li a1, MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP | MSTATUS_MPRV | MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR
  csrs mstatus, a1
  csrci mstatus, MSTATUS_MIE               /* keep interrupts off */
  csrr a0, sstatus; and a0, a0, a1; CHECK_EQ(a0, 0)
  li a1, MSTATUS_MPRV | MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR | MSTATUS_MPIE; csrc mstatus, a1
  TEST_BEGIN                               /* sstatus writes do not reach M-only bits */
  li a1, MSTATUS_MPP; csrc mstatus, a1
  li a1, MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP | MSTATUS_MPRV | MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR
  csrs sstatus, a1
  csrr a0, mstatus; and a0, a0, a1; CHECK_EQ(a0, 0)
  TEST_BEGIN                               /* shared bits: written through either view */
  li a1, MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SUM | MSTATUS_MXR
  csrs sstatus, a1
  csrr a0, mstatus; and a0, a0, a1; CHECK_REG(a0, a1)
  csrc mstatus, a1
  csrr a0, sstatus; and a0, a0, a1; CHECK_EQ(a0, 0)
  TEST_BEGIN
  csrsi mstatus, MSTATUS_SIE; csrr a0, sstatus; andi a0, a0, MSTATUS_SIE; CHECK_EQ(a0, MSTATUS_SIE)
  csrci sstatus, MSTATUS_SIE; csrr a0, mstatus; andi a0, a0, MSTATUS_SIE; CHECK_EQ(a0, 0)
  TEST_BEGIN                               /* FS and SD are visible in sstatus */
  li a1, MSTATUS_FS; csrs mstatus, a1
  csrr a0, sstatus; and a2, a0, a1; CHECK_REG(a2, a1)
  srli a0, a0, 63; CHECK_EQ(a0, 1)
  li a1, MSTATUS_FS; csrc sstatus, a1
  csrr a0, mstatus; and a0, a0, a1; CHECK_EQ(a0, 0)
  csrr a0, sstatus; srli a0, a0, 63; CHECK_EQ(a0, 0)
  li a1, MSTATUS_FS_INITIAL; csrs mstatus, a1
  TEST_BEGIN                               /* UXL reads as 2 (64-bit) in sstatus */
  csrr a0, sstatus; srli a0, a0, 32; andi a0, a0, 3; CHECK_EQ(a0, 2)

  /* ------------------------------------------------------------ sie / sip views */
  TEST_BEGIN                               /* mideleg = 0: sie bits are read-only zero */
  csrw mideleg, zero; csrw mie, zero
  li a1, MIP_SSIP | MIP_STIP; csrs sie, a1
  csrr a0, sie; CHECK_EQ(a0, 0)
  csrr a0, mie; CHECK_EQ(a0, 0)
  TEST_BEGIN                               /* delegated: sie writes reach mie */
  li a1, MIP_SSIP | MIP_STIP; csrw mideleg, a1
  csrr a0, mideleg; and a0, a0, a1; CHECK_REG(a0, a1)
  csrs sie, a1
  csrr a0, mie; CHECK_REG(a0, a1)
  csrr a0, sie; CHECK_REG(a0, a1)
  csrw sie, zero; csrr a0, mie; CHECK_EQ(a0, 0)
  TEST_BEGIN                               /* sip.SSIP is writable, M-level bits never appear in sie */
  li a1, MIP_MSIP | MIP_MTIP; csrs mie, a1
  csrr a0, sie; CHECK_EQ(a0, 0)
  csrw mie, zero
  csrsi sip, MIP_SSIP; csrr a0, mip; andi a0, a0, MIP_SSIP; CHECK_EQ(a0, MIP_SSIP)
  csrci sip, MIP_SSIP; csrr a0, mip; andi a0, a0, MIP_SSIP; CHECK_EQ(a0, 0)
  TEST_BEGIN                               /* sip.STIP is read-only for S (M writes it through mip) */
  li a1, MIP_STIP; csrs mip, a1
  csrr a0, sip; and a0, a0, a1; CHECK_REG(a0, a1)
  csrc sip, a1
  csrr a0, mip; and a0, a0, a1; CHECK_REG(a0, a1)
  csrc mip, a1
  csrr a0, sip; and a0, a0, a1; CHECK_EQ(a0, 0)

  /* ------------------------------------------------------------ delegated interrupts */
  TEST_BEGIN                               /* in M, a delegated pending+enabled interrupt is not taken */
  li a1, MIP_SSIP; csrw mideleg, a1; csrw mie, a1
  csrs mip, a1
  EXPECT_TRAP(2f)
  csrsi mstatus, MSTATUS_MIE | MSTATUS_SIE
  nop; nop; nop; nop
2: csrci mstatus, MSTATUS_MIE | MSTATUS_SIE
  CHECK_NO_MTRAP
  TEST_BEGIN                               /* in S with SIE = 0 it is not taken either ... */
  ENTER_MODE(PRV_S, 1f)
1: EXPECT_STRAP(2f)
  nop; nop; nop; nop
  CHECK_NO_STRAP
  TEST_BEGIN                               /* ... with SIE = 1 it is: scause = interrupt 1 */
  EXPECT_STRAP(2f)
  csrsi sstatus, MSTATUS_SIE
1: nop; nop; nop; nop
  j fail
2: CHECK_SCAUSE(CAUSE_INTR | IRQ_S_SOFT)
  CHECK_SSTATUS_BITS(MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE, MSTATUS_SPP | MSTATUS_SPIE)
  /* the handler cleared SPIE before sret, so SIE is now 0 */
  csrr a0, sstatus; andi a0, a0, MSTATUS_SIE; CHECK_EQ(a0, 0)
  csrci sip, MIP_SSIP
  TEST_BEGIN                               /* from U it is taken even with SIE = 0 */
  csrsi sip, MIP_SSIP
  lla a1, 1f; csrw sepc, a1; li a1, MSTATUS_SPP; csrc sstatus, a1
  EXPECT_STRAP_PP(2f, PRV_S)
  sret
1: nop; nop; nop; nop
  j fail
2: CHECK_SCAUSE(CAUSE_INTR | IRQ_S_SOFT)
  CHECK_SSTATUS_BITS(MSTATUS_SPP, 0)
  csrci sip, MIP_SSIP
  TEST_BEGIN                               /* supervisor timer interrupt injected by M through mip.STIP */
  GOTO_M(1f)
1: li a1, MIP_STIP; csrw mideleg, a1; csrw mie, a1; csrs mip, a1
  ENTER_MODE(PRV_S, 2f)
2: EXPECT_STRAP(3f)
  csrsi sstatus, MSTATUS_SIE
  nop; nop; nop; nop
  j fail
3: CHECK_SCAUSE(CAUSE_INTR | IRQ_S_TIMER)
  GOTO_M(4f)
4: li a1, MIP_STIP; csrc mip, a1
  csrw mie, zero; csrw mideleg, zero
  TEST_BEGIN                               /* an undelegated S-level interrupt goes to M, even from S */
  li a1, MIP_SSIP; csrw mie, a1; csrs mip, a1
  EXPECT_TRAP_PP(2f, PRV_M)
  ENTER_MODE(PRV_S, 1f)
1: nop; nop; nop; nop
  j fail
2: CHECK_MCAUSE(CAUSE_INTR | IRQ_S_SOFT)
  CHECK_MSTATUS_BITS(MSTATUS_MPP, MSTATUS_MPP_S)
  csrci mip, MIP_SSIP; csrw mie, zero

RVTEST_CODE_END

RVTEST_DATA_BEGIN
RVTEST_DATA_END

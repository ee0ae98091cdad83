/*
 * Sstc: the supervisor timer compare register stimecmp. Access rules
 * (menvcfg.STCE, mcounteren.TM), mip.STIP following time >= stimecmp (and
 * read-only to software while STCE=1), and a delegated S-mode timer
 * interrupt.
 */
#include "macros.h"

#define MENVCFG_STCE (1 << 63)

/* a0 = mip.STIP once it equals `want`, polling a bounded number of times
   (implementations may update STIP a little after the stimecmp write) */
#define WAIT_STIP(want) \
  li t2, 100000; \
8001: csrr a0, mip; andi a0, a0, MIP_STIP; li t3, want; beq a0, t3, 8002f; \
  addi t2, t2, -1; bnez t2, 8001b; \
8002:

RVTEST_CODE_BEGIN

  TEST_BEGIN                               /* STCE=0: stimecmp is illegal below M */
  csrw menvcfg, zero
  li t0, -1; csrw mcounteren, t0
  ENTER_MODE(PRV_S, 1f)
1: EXPECT_TRAP_PP(3f, PRV_M)
2: csrr a0, stimecmp
3: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  CHECK_MEPC(2b)
  TEST_BEGIN                               /* STCE=1 but mcounteren.TM=0: still illegal */
  li t0, MENVCFG_STCE; csrw menvcfg, t0
  csrw mcounteren, zero
  ENTER_MODE(PRV_S, 1f)
1: EXPECT_TRAP_PP(3f, PRV_M)
2: csrw stimecmp, zero
3: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
#ifndef QEMU_SPIKE                          /* QEMU's spike machine has no time source for Sstc */
  TEST_BEGIN                               /* STIP follows time >= stimecmp */
  li t0, MENVCFG_STCE; csrw menvcfg, t0
  li t0, 2; csrw mcounteren, t0
  li t0, -1; csrw stimecmp, t0
  WAIT_STIP(0)
  CHECK_EQ(a0, 0)
  csrw stimecmp, zero
  WAIT_STIP(MIP_STIP)
  CHECK_EQ(a0, MIP_STIP)
  TEST_BEGIN                               /* with STCE=1, software cannot clear STIP */
  li t0, MIP_STIP; csrc mip, t0
  csrr a0, mip; andi a0, a0, MIP_STIP
  CHECK_EQ(a0, MIP_STIP)
  li t0, -1; csrw stimecmp, t0
  WAIT_STIP(0)
  CHECK_EQ(a0, 0)
  TEST_BEGIN                               /* S-mode programs its own timer and takes the interrupt */
  li t0, MIP_STIP; csrw mideleg, t0
  csrw mie, t0
  ENTER_MODE(PRV_S, 1f)
1: EXPECT_STRAP_PP(4f, PRV_S)
  li t0, MSTATUS_SIE; csrs sstatus, t0
  rdtime t1
  addi t1, t1, 100
  csrw stimecmp, t1
2: j 2b                                    /* until the interrupt arrives */
4: li t0, MSTATUS_SIE; csrc sstatus, t0
  li t0, -1; csrw stimecmp, t0
  GOTO_M(5f)
5: csrw mie, zero; csrw mideleg, zero
  ld t5, isa_strap + TR_CAUSE; li t6, CAUSE_INTR | IRQ_S_TIMER; CHECK_REG(t5, t6)
#endif

RVTEST_CODE_END

RVTEST_DATA_BEGIN
RVTEST_DATA_END

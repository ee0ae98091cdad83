/*
 * Machine interrupts from the CLINT (same layout on QEMU virt and spike):
 * software interrupt through msip (0x2000000), timer through mtimecmp
 * (0x2004000) and mtime (0x200bff8). mip reflects the sources; mie and
 * mstatus.MIE mask them in M-mode, while in S/U an M-level interrupt is taken
 * regardless of mstatus.MIE; priority MSI over MTI; mcause has the interrupt
 * bit; mtvec vectored mode sends interrupt n to base + 4n and exceptions to
 * base; wfi wakes up on a pending enabled interrupt even with MIE = 0.
 */
#include "macros.h"

#define SPIN(n) li a5, n; 8620: addi a5, a5, -1; bnez a5, 8620b

RVTEST_CODE_BEGIN

  /* quiet state: no software interrupt, timer far away */
  li s0, CLINT_MSIP; sw zero, 0(s0)
  li s1, CLINT_MTIMECMP; li a1, -1; sd a1, 0(s1)
  li s2, CLINT_MTIME
  csrw mie, zero

  /* ------------------------------------------------------------ msip */
  TEST_BEGIN                               /* nothing pending */
  csrr a0, mip; andi a0, a0, MIP_MSIP | MIP_MTIP; CHECK_EQ(a0, 0)
  TEST_BEGIN                               /* msip = 1 -> mip.MSIP */
  li a1, 1; sw a1, 0(s0)
  lw a0, 0(s0); CHECK_EQ(a0, 1)
  SPIN(100)
  csrr a0, mip; andi a0, a0, MIP_MSIP; CHECK_EQ(a0, MIP_MSIP)
  TEST_BEGIN                               /* pending but masked by mie: not taken */
  EXPECT_TRAP(2f)
  csrsi mstatus, MSTATUS_MIE
  SPIN(1000)
2: csrci mstatus, MSTATUS_MIE
  CHECK_NO_MTRAP
  TEST_BEGIN                               /* enabled in mie but MIE = 0 in M-mode: not taken */
  li a1, MIP_MSIP; csrw mie, a1
  EXPECT_TRAP(2f)
  SPIN(1000)
2: CHECK_NO_MTRAP
  TEST_BEGIN                               /* MIE = 1: taken right away */
  EXPECT_TRAP(2f)
  csrsi mstatus, MSTATUS_MIE
1: SPIN(100000)
  j fail
2: CHECK_MCAUSE(CAUSE_INTR | IRQ_M_SOFT)
  CHECK_MTVAL(0)
  CHECK_MSTATUS_BITS(MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE, MSTATUS_MPP_M | MSTATUS_MPIE)
  TEST_BEGIN                               /* mepc points at the first instruction not executed */
  ld a0, isa_mtrap + TR_EPC; lla a1, 1b; sltu a2, a0, a1; CHECK_EQ(a2, 0)
  lla a1, 2b; sltu a2, a0, a1; CHECK_EQ(a2, 1)
  TEST_BEGIN                               /* the handler returned with MIE = 0 */
  csrr a0, mstatus; andi a0, a0, MSTATUS_MIE; CHECK_EQ(a0, 0)
  TEST_BEGIN                               /* clearing msip clears mip.MSIP */
  sw zero, 0(s0)
  SPIN(100)
  csrr a0, mip; andi a0, a0, MIP_MSIP; CHECK_EQ(a0, 0)
  TEST_BEGIN                               /* mip.MSIP is read-only in mip */
  csrsi mip, MIP_MSIP
  csrr a0, mip; andi a0, a0, MIP_MSIP; CHECK_EQ(a0, 0)
  TEST_BEGIN                               /* from U, MIE = 0 does not mask an M interrupt */
  li a1, 1; sw a1, 0(s0)
  EXPECT_TRAP_PP(2f, PRV_M)
  ENTER_MODE(PRV_U, 1f)
1: SPIN(100000)
  j fail
2: CHECK_MCAUSE(CAUSE_INTR | IRQ_M_SOFT)
  CHECK_MSTATUS_BITS(MSTATUS_MPP, 0)
  sw zero, 0(s0)
  SPIN(100)
  TEST_BEGIN                               /* ... nor from S */
  li a1, 1; sw a1, 0(s0)
  EXPECT_TRAP_PP(2f, PRV_M)
  ENTER_MODE(PRV_S, 1f)
1: SPIN(100000)
  j fail
2: CHECK_MCAUSE(CAUSE_INTR | IRQ_M_SOFT)
  CHECK_MSTATUS_BITS(MSTATUS_MPP, MSTATUS_MPP_S)
  sw zero, 0(s0)
  SPIN(100)

  /* ------------------------------------------------------------ timer */
  TEST_BEGIN                               /* mtimecmp far away: no MTIP */
  csrr a0, mip; andi a0, a0, MIP_MTIP; CHECK_EQ(a0, 0)
  TEST_BEGIN                               /* mtimecmp/mtime are 64-bit registers */
  li a1, 0x123456789a; sd a1, 0(s1); ld a0, 0(s1); CHECK_EQ(a0, 0x123456789a)
  li a1, -1; sd a1, 0(s1)
  TEST_BEGIN                               /* mtimecmp in the past: MTIP */
  ld a1, 0(s2); sd a1, 0(s1)
  SPIN(100)
  csrr a0, mip; andi a0, a0, MIP_MTIP; CHECK_EQ(a0, MIP_MTIP)
  TEST_BEGIN                               /* mip.MTIP is read-only */
  csrc mip, a0
  csrr a0, mip; andi a0, a0, MIP_MTIP; CHECK_EQ(a0, MIP_MTIP)
  TEST_BEGIN                               /* rearm: MTIP clears */
  li a1, -1; sd a1, 0(s1)
  SPIN(100)
  csrr a0, mip; andi a0, a0, MIP_MTIP; CHECK_EQ(a0, 0)
  TEST_BEGIN                               /* MTIP rises when mtime reaches mtimecmp (polling) */
  ld a1, 0(s2); addi a1, a1, 200; sd a1, 0(s1)
  li a3, 50000000
1: csrr a0, mip; andi a0, a0, MIP_MTIP; bnez a0, 2f
  addi a3, a3, -1; bnez a3, 1b
  j fail
2: ld a0, 0(s2); sltu a0, a0, a1; CHECK_EQ(a0, 0)    /* mtime >= mtimecmp */
  TEST_BEGIN                               /* timer interrupt taken */
  li a1, MIP_MTIP; csrw mie, a1
  EXPECT_TRAP(2f)
  csrsi mstatus, MSTATUS_MIE
  SPIN(100000)
  j fail
2: CHECK_MCAUSE(CAUSE_INTR | IRQ_M_TIMER)
  li a1, -1; sd a1, 0(s1)
  TEST_BEGIN                               /* wfi with MIE = 0 wakes up when the timer fires */
  EXPECT_TRAP(fail)                        /* (only resets the trap record) */
  ld a1, 0(s2); li a2, 2000; add a1, a1, a2; sd a1, 0(s1)   /* 200 us */
  li a3, 100000
1: wfi
  csrr a0, mip; andi a0, a0, MIP_MTIP; bnez a0, 2f
  addi a3, a3, -1; bnez a3, 1b
  j fail
2: ld a0, 0(s2); sltu a0, a0, a1; CHECK_EQ(a0, 0)
  CHECK_NO_MTRAP
  TEST_BEGIN                               /* wfi returns at once when an enabled interrupt is pending */
  wfi
  wfi
  csrr a0, mip; andi a0, a0, MIP_MTIP; CHECK_EQ(a0, MIP_MTIP)
  li a1, -1; sd a1, 0(s1)
  csrw mie, zero

  /* ------------------------------------------------------------ priority */
  TEST_BEGIN                               /* MSI is taken before MTI */
  li a1, 1; sw a1, 0(s0); sd zero, 0(s1)
  li a1, MIP_MSIP | MIP_MTIP; csrw mie, a1
  SPIN(100)
  EXPECT_TRAP(2f)
  csrsi mstatus, MSTATUS_MIE
  SPIN(100000)
  j fail
2: CHECK_MCAUSE(CAUSE_INTR | IRQ_M_SOFT)
  sw zero, 0(s0)
  TEST_BEGIN                               /* then MTI */
  EXPECT_TRAP(2f)
  csrsi mstatus, MSTATUS_MIE
  SPIN(100000)
  j fail
2: CHECK_MCAUSE(CAUSE_INTR | IRQ_M_TIMER)
  li a1, -1; sd a1, 0(s1)
#ifndef QEMU_SPIKE
  /* QEMU 7.2 (without AIA) takes the lowest-numbered pending interrupt first,
     so it would take SSI (1) before MTI (7): this case is left out there. */
  TEST_BEGIN                               /* MTI is taken before a (non-delegated) SSI */
  li a1, MIP_SSIP; csrs mip, a1
  sd zero, 0(s1)
  li a1, MIP_SSIP | MIP_MTIP; csrw mie, a1
  SPIN(100)
  EXPECT_TRAP(2f)
  csrsi mstatus, MSTATUS_MIE
  SPIN(100000)
  j fail
2: CHECK_MCAUSE(CAUSE_INTR | IRQ_M_TIMER)
  li a1, -1; sd a1, 0(s1)
  SPIN(100)
#else
  li a1, MIP_SSIP; csrs mip, a1; csrw mie, a1
#endif
  TEST_BEGIN                               /* SSI (not delegated) is taken in M */
  EXPECT_TRAP(2f)
  csrsi mstatus, MSTATUS_MIE
  SPIN(100000)
  j fail
2: CHECK_MCAUSE(CAUSE_INTR | IRQ_S_SOFT)
  csrci mip, MIP_SSIP
  csrw mie, zero

  /* ------------------------------------------------------------ vectored mtvec */
  TEST_BEGIN
  lla a1, vec_table; ori a1, a1, 1; csrw mtvec, a1
  csrr a0, mtvec; CHECK_REG(a0, a1)
  TEST_BEGIN                               /* interrupt 3 -> base + 12 */
  li a1, 1; sw a1, 0(s0)
  li a1, MIP_MSIP; csrw mie, a1
  EXPECT_TRAP(2f)
  csrsi mstatus, MSTATUS_MIE
  SPIN(100000)
  j fail
2: CHECK_MCAUSE(CAUSE_INTR | IRQ_M_SOFT)
  CHECK_MEM(vec_hits + 8 * 3, 1)
  CHECK_MEM(vec_hits + 8 * 7, 0)
  CHECK_MEM(vec_hits, 0)
  sw zero, 0(s0)
  TEST_BEGIN                               /* interrupt 7 -> base + 28 */
  sd zero, 0(s1)
  li a1, MIP_MTIP; csrw mie, a1
  EXPECT_TRAP(2f)
  csrsi mstatus, MSTATUS_MIE
  SPIN(100000)
  j fail
2: CHECK_MCAUSE(CAUSE_INTR | IRQ_M_TIMER)
  CHECK_MEM(vec_hits + 8 * 7, 1)
  CHECK_MEM(vec_hits + 8 * 3, 1)
  li a1, -1; sd a1, 0(s1)
  TEST_BEGIN                               /* interrupt 1 -> base + 4 */
  csrsi mip, MIP_SSIP
  li a1, MIP_SSIP; csrw mie, a1
  EXPECT_TRAP(2f)
  csrsi mstatus, MSTATUS_MIE
  SPIN(100000)
  j fail
2: CHECK_MCAUSE(CAUSE_INTR | IRQ_S_SOFT)
  CHECK_MEM(vec_hits + 8 * 1, 1)
  csrci mip, MIP_SSIP
  csrw mie, zero
  TEST_BEGIN                               /* exceptions go to base */
  EXPECT_TRAP(2f)
  ecall
2: CHECK_MCAUSE(CAUSE_MACHINE_ECALL)
  CHECK_MEM(vec_hits, 1)
  CHECK_MEM(vec_hits + 8 * 3, 1)
  TEST_BEGIN
  EXPECT_TRAP(2f)
  ebreak
2: CHECK_MCAUSE(CAUSE_BREAKPOINT)
  CHECK_MEM(vec_hits, 2)
  lla a1, trap_vector; csrw mtvec, a1

RVTEST_CODE_END

/* each vector entry counts its hits, then runs the common handler */
#define VEC_ENTRY(n) \
  .balign 4; j vec_##n
#define VEC_STUB(n) \
vec_##n: csrw mscratch, t0; lla t0, vec_tmp; sd t1, 0(t0); \
  lla t0, vec_hits + 8 * (n); ld t1, 0(t0); addi t1, t1, 1; sd t1, 0(t0); \
  lla t0, vec_tmp; ld t1, 0(t0); csrr t0, mscratch; j trap_vector

  .balign 256
vec_table:
  VEC_ENTRY(0)
  VEC_ENTRY(1)
  VEC_ENTRY(2)
  VEC_ENTRY(3)
  VEC_ENTRY(4)
  VEC_ENTRY(5)
  VEC_ENTRY(6)
  VEC_ENTRY(7)
  VEC_ENTRY(8)
  VEC_ENTRY(9)
  VEC_ENTRY(10)
  VEC_ENTRY(11)
  VEC_STUB(0)
  VEC_STUB(1)
  VEC_STUB(2)
  VEC_STUB(3)
  VEC_STUB(4)
  VEC_STUB(5)
  VEC_STUB(6)
  VEC_STUB(7)
  VEC_STUB(8)
  VEC_STUB(9)
  VEC_STUB(10)
  VEC_STUB(11)

RVTEST_DATA_BEGIN
  .align 4
vec_hits: .dword 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
vec_tmp: .dword 0
RVTEST_DATA_END

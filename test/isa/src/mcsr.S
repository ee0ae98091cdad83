/*
 * Machine CSRs and their WARL behaviour (privileged spec ch. 3): the value
 * read back after writing all ones / reserved encodings, read-only CSRs,
 * unimplemented CSRs, and counter writes.
 */
#include "macros.h"

#ifdef QEMU_SPIKE
/* QEMU implements more fields (other extensions): check that ours are among them */
#define CHECK_CSR_ONES(csr, expect) \
  li t0, -1; csrw csr, t0; csrr a0, csr; li t1, (expect); and a0, a0, t1; CHECK_REG(a0, t1)
#define CHECK_FIELDS(reg, treg) and reg, reg, treg; CHECK_REG(reg, treg)
#else
#define CHECK_FIELDS(reg, treg) CHECK_REG(reg, treg)
#define CHECK_CSR_ONES(csr, expect) \
  li t0, -1; csrw csr, t0; csrr a0, csr; li t1, (expect); CHECK_REG(a0, t1)
#endif

RVTEST_CODE_BEGIN

  TEST_BEGIN                               /* misa: RV64 IMAFDC S U, not writable */
  csrr a0, misa
#ifdef QEMU_SPIKE                          /* QEMU reports more extensions: check ours are there */
  li t1, 0x800000000014112d; and a0, a0, t1
#else
  li t1, 0x800000000014112d
#endif
  CHECK_REG(a0, t1)
#ifndef QEMU_SPIKE                          /* WARL: colinux keeps misa fixed (QEMU lets it change) */
  csrw misa, zero
  csrr a0, misa
  CHECK_REG(a0, t1)
#endif
  TEST_BEGIN                               /* identification CSRs */
  csrr a0, mhartid; CHECK_EQ(a0, 0)
#ifndef QEMU_SPIKE                          /* implementation values (QEMU has its own IDs) */
  csrr a0, mvendorid; CHECK_EQ(a0, 0)
  csrr a0, marchid; CHECK_EQ(a0, 0)
  csrr a0, mimpid; CHECK_EQ(a0, 0)
  csrr a0, mconfigptr; CHECK_EQ(a0, 0)
#endif
  TEST_BEGIN                               /* writing a read-only CSR is illegal */
  EXPECT_TRAP(2f)
1: csrw mhartid, zero
2: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  CHECK_MEPC(1b)
  CHECK_MTVAL(0xf1401073)
  TEST_BEGIN                               /* an unimplemented CSR is illegal, mtval = the instruction */
  EXPECT_TRAP(2f)
1: csrr a0, 0x7c0
2: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  CHECK_MTVAL(0x7c002573)

  TEST_BEGIN                               /* mstatus: every writable field, UXL = SXL = 64, SD */
  csrr s1, mstatus
  CHECK_CSR_ONES(mstatus, 0x8000000a007e79aa)
  csrw mstatus, s1
  TEST_BEGIN                               /* sstatus is a view of mstatus */
  csrr s1, mstatus
  csrw mstatus, zero
  li t0, -1; csrw sstatus, t0
  csrr a0, sstatus
  li t1, 0x80000002000c6122
  CHECK_FIELDS(a0, t1)
  csrr a0, mstatus
  li t1, 0x8000000a000c6122
  CHECK_FIELDS(a0, t1)
  csrw mstatus, s1
#ifndef QEMU_SPIKE
  TEST_BEGIN                               /* MPP = 2 (reserved) reads back as U */
  li t0, MSTATUS_MPP; csrc mstatus, t0
  li t0, 2 << 11; csrs mstatus, t0
  csrr a0, mstatus
  li t0, MSTATUS_MPP; and a0, a0, t0
  CHECK_EQ(a0, 0)
#endif

  TEST_BEGIN                               /* delegation registers */
  CHECK_CSR_ONES(medeleg, 0xb3ff)
  CHECK_CSR_ONES(mideleg, 0x222)
  csrw medeleg, zero; csrw mideleg, zero
  TEST_BEGIN                               /* mie; mip's software-writable bits */
  CHECK_CSR_ONES(mie, 0xaaa)
  csrw mie, zero
  CHECK_CSR_ONES(mip, 0x222)
  csrw mip, zero
  csrr a0, mip; andi a0, a0, 0x222; CHECK_EQ(a0, 0)   /* timer lines may be pending */
  TEST_BEGIN                               /* sie/sip only show delegated bits */
  li t0, 0x222; csrw mideleg, t0
  li t0, -1; csrw sie, t0
  csrr a0, mie; CHECK_EQ(a0, 0x222)
  csrw mie, zero
  csrw mideleg, zero
  csrr a0, sie; CHECK_EQ(a0, 0)
#ifndef QEMU_SPIKE
  TEST_BEGIN                               /* mtvec: reserved modes fall back to direct */
  csrr s1, mtvec
  lla t0, 1f; ori t0, t0, 2; csrw mtvec, t0
  csrr a0, mtvec
  lla t1, 1f
1: CHECK_REG(a0, t1)
  csrw mtvec, s1
#endif
  TEST_BEGIN                               /* vectored mode is kept */
  csrr s1, mtvec
  lla t0, 1f; ori t0, t0, 1; csrw mtvec, t0
  csrr a0, mtvec
  andi a0, a0, 3
1: CHECK_EQ(a0, 1)
  csrw mtvec, s1

  TEST_BEGIN                               /* counter enables and inhibit */
  CHECK_CSR_ONES(mcounteren, 0xffffffff)
  CHECK_CSR_ONES(scounteren, 0xffffffff)
  csrw mcounteren, zero; csrw scounteren, zero
#ifndef QEMU_SPIKE
  CHECK_CSR_ONES(mcountinhibit, 0xfffffffd)
  csrw mcountinhibit, zero
  TEST_BEGIN                               /* envcfg: FIOM, STCE (Sstc), PBMTE (Svpbmt) */
  CHECK_CSR_ONES(menvcfg, 0xe0000000000000f1)  /* STCE, PBMTE, ADUE, CBZE, CBCFE, CBIE, FIOM */
  CHECK_CSR_ONES(senvcfg, 0xf1)
  csrw menvcfg, zero; csrw senvcfg, zero
#endif
  TEST_BEGIN                               /* mscratch and friends hold any value */
  CHECK_CSR_ONES(mscratch, -1)
  CHECK_CSR_ONES(sscratch, -1)
  CHECK_CSR_ONES(mepc, -2)                 /* bit 0 is always zero */
  CHECK_CSR_ONES(mcause, -1)
  CHECK_CSR_ONES(mtval, -1)
#ifndef QEMU_SPIKE                          /* QEMU TCG does not count instructions exactly */
  TEST_BEGIN                               /* minstret counts from the written value */
  li t0, 1000; csrw minstret, t0
  csrr a0, minstret
  li t1, 1000; sub a0, a0, t1
  sltiu a1, a0, 100                        /* a handful of instructions later */
  CHECK_EQ(a1, 1)
  TEST_BEGIN                               /* the next instruction reads what csrw wrote (no */
  li t0, -1; csrw minstret, t0             /* increment for the write itself), then it wraps */
  csrr a0, minstret
  csrr a1, minstret
  CHECK_EQ(a0, -1)
  CHECK_EQ(a1, 0)
  TEST_BEGIN                               /* the same for mcycle */
  li t0, -2; csrw mcycle, t0
  csrr a0, mcycle
  csrr a1, cycle
  csrr a2, mcycle
  CHECK_EQ(a0, -2)
  CHECK_EQ(a1, -1)
  CHECK_EQ(a2, 0)
#endif
  TEST_BEGIN                               /* satp: unsupported mode leaves it unchanged */
  li t0, (8 << 60) | 0x1234; csrw satp, t0
  li t1, (5 << 60) | 0x5678; csrw satp, t1    /* mode 5 is reserved */
  csrr a0, satp
  CHECK_REG(a0, t0)
  csrw satp, zero
  TEST_BEGIN                               /* S-mode cannot read M CSRs */
  ENTER_MODE(PRV_S, 1f)
1: EXPECT_TRAP_PP(3f, PRV_M)
2: csrr a0, mstatus
3: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  CHECK_MTVAL(0x30002573)

RVTEST_CODE_END

RVTEST_DATA_BEGIN
RVTEST_DATA_END

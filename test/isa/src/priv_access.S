/*
 * Access faults: loads, stores and instruction fetches to physical addresses
 * where nothing is mapped raise load/store/fetch access-fault exceptions
 * (5/7/1) with mtval = the address, and do not write rd.
 */
#include "macros.h"

#define HOLE 0x0000100000000000            /* far above RAM and devices */

RVTEST_CODE_BEGIN

  TEST_BEGIN
  li a1, HOLE; li a2, 0x77
  EXPECT_TRAP(2f)
1: ld a2, 0(a1)
2: CHECK_MCAUSE(CAUSE_LOAD_ACCESS)
  CHECK_MEPC(1b)
  CHECK_MTVAL(HOLE)
  CHECK_EQ(a2, 0x77)
  TEST_BEGIN
  li a1, HOLE + 0x10
  EXPECT_TRAP(2f)
1: lbu a2, 0(a1)
2: CHECK_MCAUSE(CAUSE_LOAD_ACCESS)
  CHECK_MTVAL(HOLE + 0x10)
  TEST_BEGIN
  li a1, HOLE + 0x20
  EXPECT_TRAP(2f)
1: sw a1, 0(a1)
2: CHECK_MCAUSE(CAUSE_STORE_ACCESS)
  CHECK_MEPC(1b)
  CHECK_MTVAL(HOLE + 0x20)
  TEST_BEGIN
  li a1, HOLE + 0x40
  EXPECT_TRAP(2f)
1: amoadd.d a2, a1, (a1)
#ifdef QEMU_SPIKE
2: CHECK_MCAUSE(CAUSE_LOAD_ACCESS)         /* QEMU 7.2 reports AMO faults as load faults */
#else
2: CHECK_MCAUSE(CAUSE_STORE_ACCESS)
#endif
  CHECK_MTVAL(HOLE + 0x40)
  TEST_BEGIN
  li a1, HOLE + 0x100
  EXPECT_TRAP(2f)
  jalr ra, 0(a1)
2: CHECK_MCAUSE(CAUSE_FETCH_ACCESS)
  CHECK_MTVAL(HOLE + 0x100)
  ld t5, isa_mtrap + TR_EPC; CHECK_EQ(t5, HOLE + 0x100)

RVTEST_CODE_END

RVTEST_DATA_BEGIN
RVTEST_DATA_END

/*
 * Zifencei: code written by stores becomes executable after fence.i. The
 * code is executed once first (so any decoded-instruction cache holds the
 * old version), then rewritten (whole 32-bit words, a single halfword of a
 * 32-bit instruction, a compressed instruction), fence.i, and run again.
 */
#include "macros.h"

/* addi a0, x0, imm */
#define LI_A0(imm) ((((imm) & 0xfff) << 20) | (10 << 7) | 0x13)
#define RET 0x00008067

RVTEST_CODE_BEGIN

  /* a function built in a data buffer */
  TEST_BEGIN
  lla a1, codebuf
  li a2, LI_A0(1); sw a2, 0(a1)
  li a2, RET; sw a2, 4(a1)
  fence.i
  li a0, 0
  jalr ra, 0(a1)
  CHECK_EQ(a0, 1)
  TEST_BEGIN
  li a2, LI_A0(2); sw a2, 0(a1)
  fence.i
  jalr ra, 0(a1)
  CHECK_EQ(a0, 2)
  TEST_BEGIN                               /* rewrite with a 64-bit store */
  li a2, (RET << 32) | LI_A0(3); sd a2, 0(a1)
  fence.i
  jalr ra, 0(a1)
  CHECK_EQ(a0, 3)
  TEST_BEGIN                               /* rewrite only the upper half of addi (its immediate) */
  li a2, LI_A0(0x7ff) >> 16; sh a2, 2(a1)
  fence.i
  jalr ra, 0(a1)
  CHECK_EQ(a0, 0x7ff)
  TEST_BEGIN                               /* a compressed c.li a0, 5 + c.jr ra */
  li a2, 0x4515 | (0x8082 << 16); sw a2, 0(a1)
  fence.i
  jalr ra, 0(a1)
  CHECK_EQ(a0, 5)
  TEST_BEGIN                               /* ... then only its first halfword: c.li a0, -1 */
  li a2, 0x557d; sh a2, 0(a1)
  fence.i
  jalr ra, 0(a1)
  CHECK_EQ(a0, -1)

  /* code in .text, executed in a loop, then patched in place */
  TEST_BEGIN
  li a3, 3; li a4, 0
1: call patchme
  add a4, a4, a0
  addi a3, a3, -1; bnez a3, 1b
  CHECK_EQ(a4, 300)
  lla a1, patchme
  li a2, LI_A0(7); sw a2, 0(a1)
  fence.i
  call patchme
  CHECK_EQ(a0, 7)
  TEST_BEGIN                               /* patch the instruction right after a fence.i */
  lla a1, 2f
  li a2, LI_A0(9); sw a2, 0(a1)
  fence.i
2: li a0, 8
  CHECK_EQ(a0, 9)

RVTEST_CODE_END

  .align 2
patchme:
  li a0, 100
  ret

RVTEST_DATA_BEGIN
  .align 4
codebuf: .skip 64
RVTEST_DATA_END

/*
 * RV64C: every compressed instruction of RV64C (quadrants 0, 1, 2) including
 * c.addi4spn, c.addi16sp, c.lwsp/c.ldsp/c.fldsp and the sp-relative stores,
 * c.fld/c.fsd, c.lui with a negative immediate, 6-bit shift amounts,
 * c.addiw/c.addw/c.subw sign extension, c.j/c.beqz/c.bnez both ways,
 * c.jr/c.jalr (link = pc + 2), c.ebreak (cause 3), the all-zero illegal
 * instruction (cause 2), 32-bit instructions at 2-byte aligned addresses, and
 * IALIGN=16: jalr to a 2-byte aligned address is fine, bit 0 is cleared.
 */
#define ISA_RVC
#include "macros.h"

RVTEST_CODE_BEGIN
  .option rvc

  /* ------------------------------------------------------------ quadrant 0 */
  TEST_BEGIN
  lla sp, cdata
  c.addi4spn a0, sp, 16
  addi a1, sp, 16; CHECK_REG(a0, a1)
  TEST_BEGIN
  c.addi4spn s0, sp, 1020
  addi a1, sp, 1020; CHECK_REG(s0, a1)
  TEST_BEGIN
  lla s1, cdata
  c.lw a0, 0(s1); CHECK_EQ(a0, 0xffffffff80000001)     /* sign extended */
  TEST_BEGIN
  c.lw a0, 4(s1); CHECK_EQ(a0, 0x7ffffffe)
  TEST_BEGIN
  c.ld a0, 8(s1); CHECK_EQ(a0, 0x0123456789abcdef)
  TEST_BEGIN
  lla s1, cbuf - 120
  li a2, 0xfedcba9876543210
  c.sd a2, 120(s1)
  ld a0, 120(s1); CHECK_EQ(a0, 0xfedcba9876543210)
  TEST_BEGIN
  lla s1, cbuf - 124
  li a2, 0x1111111122222222
  c.sw a2, 124(s1)
  ld a0, 124(s1); CHECK_EQ(a0, 0xfedcba9822222222)
  TEST_BEGIN
  lla s1, cdata
  c.fld fa0, 8(s1)
  fmv.x.d a0, fa0; CHECK_EQ(a0, 0x0123456789abcdef)
  TEST_BEGIN
  lla s1, cbuf
  c.fsd fa0, 16(s1)
  ld a0, 16(s1); CHECK_EQ(a0, 0x0123456789abcdef)

  /* ------------------------------------------------------------ quadrant 1 */
  TEST_BEGIN; c.nop; li a0, 0; c.addi a0, 31; CHECK_EQ(a0, 31)
  TEST_BEGIN; li a0, 0; c.addi a0, -32; CHECK_EQ(a0, -32)
  TEST_BEGIN; li a0, 0x7fffffff; c.addiw a0, 1; CHECK_EQ(a0, 0xffffffff80000000)
  TEST_BEGIN; li a0, 0x1234567800000000; c.addiw a0, -1; CHECK_EQ(a0, -1)
  TEST_BEGIN; li a0, 0xffffffff; c.addiw a0, 0; CHECK_EQ(a0, -1)   /* sext.w */
  TEST_BEGIN; c.li a0, -32; CHECK_EQ(a0, -32)
  TEST_BEGIN; c.li a0, 31; CHECK_EQ(a0, 31)
  TEST_BEGIN; c.li s1, 0; CHECK_EQ(s1, 0)
  TEST_BEGIN
  lla a1, cdata; mv sp, a1
  c.addi16sp sp, 496; addi a1, a1, 496; CHECK_REG(sp, a1)
  TEST_BEGIN
  c.addi16sp sp, -512; addi a1, a1, -512; CHECK_REG(sp, a1)
  TEST_BEGIN
  c.addi16sp sp, 16; addi a1, a1, 16; CHECK_REG(sp, a1)
  TEST_BEGIN; c.lui a0, 1; CHECK_EQ(a0, 0x1000)
  TEST_BEGIN; c.lui a0, 0x1f; CHECK_EQ(a0, 0x1f000)
  TEST_BEGIN; c.lui a0, 0xfffe0; CHECK_EQ(a0, 0xfffffffffffe0000)
  TEST_BEGIN; c.lui s1, 0xfffff; CHECK_EQ(s1, 0xfffffffffffff000)
  TEST_BEGIN; li a0, -1; c.srli a0, 63; CHECK_EQ(a0, 1)
  TEST_BEGIN; li a0, -1; c.srli a0, 32; CHECK_EQ(a0, 0xffffffff)
  TEST_BEGIN; li a0, 0x8000000000000000; c.srli a0, 1; CHECK_EQ(a0, 0x4000000000000000)
  TEST_BEGIN; li a0, 0x8000000000000000; c.srai a0, 63; CHECK_EQ(a0, -1)
  TEST_BEGIN; li a0, 0x8000000000000000; c.srai a0, 32; CHECK_EQ(a0, 0xffffffff80000000)
  TEST_BEGIN; li a0, 0x7000000000000000; c.srai a0, 60; CHECK_EQ(a0, 7)
  TEST_BEGIN; li a0, -1; c.andi a0, 0x1f; CHECK_EQ(a0, 0x1f)
  TEST_BEGIN; li a0, 0x12345678; c.andi a0, -16; CHECK_EQ(a0, 0x12345670)
  TEST_BEGIN; li a0, 0x123; c.andi a0, 0; CHECK_EQ(a0, 0)
  TEST_BEGIN; li a0, 10; li a1, 25; c.sub a0, a1; CHECK_EQ(a0, -15)
  TEST_BEGIN; li a0, 0xff00; li a1, 0x0ff0; c.xor a0, a1; CHECK_EQ(a0, 0xf0f0)
  TEST_BEGIN; li a0, 0xff00; li a1, 0x0ff0; c.or a0, a1; CHECK_EQ(a0, 0xfff0)
  TEST_BEGIN; li a0, 0xff00; li a1, 0x0ff0; c.and a0, a1; CHECK_EQ(a0, 0x0f00)
  TEST_BEGIN; li a0, 0; li a1, 0x80000000; c.subw a0, a1; CHECK_EQ(a0, 0xffffffff80000000)
  TEST_BEGIN; li a0, 0x1200000005; li a1, 0x3400000007; c.subw a0, a1; CHECK_EQ(a0, -2)
  TEST_BEGIN; li a0, 0x7fffffff; li a1, 1; c.addw a0, a1; CHECK_EQ(a0, 0xffffffff80000000)
  TEST_BEGIN; li a0, 0xffffffff; li a1, 0xffffffff00000001; c.addw a0, a1; CHECK_EQ(a0, 0)
  /* c.j forward and backward */
  TEST_BEGIN
  li a0, 0
  c.j 2f
1: c.addi a0, 1
  c.j 3f
2: c.j 1b
  c.li a0, 9
3: CHECK_EQ(a0, 1)
  /* c.beqz / c.bnez */
  TEST_BEGIN; li s0, 0; li a0, 0; c.beqz s0, 1f; li a0, 1; 1: CHECK_EQ(a0, 0)
  TEST_BEGIN; li s0, 0x100000000; li a0, 0; c.beqz s0, 1f; li a0, 1; 1: CHECK_EQ(a0, 1)
  TEST_BEGIN; li s0, 0x100000000; li a0, 0; c.bnez s0, 1f; li a0, 1; 1: CHECK_EQ(a0, 0)
  TEST_BEGIN; li s0, 0; li a0, 0; c.bnez s0, 1f; li a0, 1; 1: CHECK_EQ(a0, 1)
  TEST_BEGIN
  li s0, 3; li a0, 0
1: c.addi a0, 1
  c.addi s0, -1
  c.bnez s0, 1b
  CHECK_EQ(a0, 3)

  /* ------------------------------------------------------------ quadrant 2 */
  TEST_BEGIN; li a0, 1; c.slli a0, 63; CHECK_EQ(a0, 0x8000000000000000)
  TEST_BEGIN; li a0, 0xff; c.slli a0, 32; CHECK_EQ(a0, 0xff00000000)
  TEST_BEGIN; li t3, 3; c.slli t3, 1; CHECK_EQ(t3, 6)      /* full register range */
  TEST_BEGIN
  lla sp, cdata
  c.lwsp a0, 0(sp); CHECK_EQ(a0, 0xffffffff80000001)
  TEST_BEGIN
  c.lwsp t3, 4(sp); CHECK_EQ(t3, 0x7ffffffe)
  TEST_BEGIN
  c.ldsp a0, 8(sp); CHECK_EQ(a0, 0x0123456789abcdef)
  TEST_BEGIN
  lla sp, cdata - 496
  c.ldsp s2, 504(sp); CHECK_EQ(s2, 0x0123456789abcdef)
  TEST_BEGIN
  lla sp, cdata - 252
  c.lwsp a0, 252(sp); CHECK_EQ(a0, 0xffffffff80000001)
  TEST_BEGIN
  lla sp, cdata
  c.fldsp ft0, 8(sp)
  fmv.x.d a0, ft0; CHECK_EQ(a0, 0x0123456789abcdef)
  TEST_BEGIN
  lla sp, cbuf
  li a2, 0x5555666677778888
  c.sdsp a2, 24(sp)
  ld a0, 24(sp); CHECK_EQ(a0, 0x5555666677778888)
  TEST_BEGIN
  c.swsp a2, 32(sp)
  lwu a0, 32(sp); CHECK_EQ(a0, 0x77778888)
  TEST_BEGIN
  lla sp, cbuf - 480
  c.sdsp a2, 504(sp)
  ld a0, 504(sp); CHECK_EQ(a0, 0x5555666677778888)
  TEST_BEGIN
  lla sp, cbuf - 240
  c.swsp a2, 252(sp)
  lwu a0, 252(sp); CHECK_EQ(a0, 0x77778888)
  TEST_BEGIN
  lla sp, cbuf
  c.fsdsp ft0, 40(sp)
  ld a0, 40(sp); CHECK_EQ(a0, 0x0123456789abcdef)
  TEST_BEGIN; li a1, 0x1234; c.mv a0, a1; CHECK_EQ(a0, 0x1234)
  TEST_BEGIN; li t6, 77; c.mv t4, t6; CHECK_EQ(t4, 77)
  TEST_BEGIN; li a0, 5; li a1, -7; c.add a0, a1; CHECK_EQ(a0, -2)
  TEST_BEGIN; li t4, 0x100000000; li t3, 1; c.add t4, t3; CHECK_EQ(t4, 0x100000001)
  /* c.jr */
  TEST_BEGIN
  li a0, 0
  lla a1, 1f
  c.jr a1
  li a0, 1
1: CHECK_EQ(a0, 0)
  /* c.jalr: link = address of c.jalr + 2 */
  TEST_BEGIN
  li a0, 0
  lla a1, 2f
1: c.jalr a1
  li a0, 1
2: lla a2, 1b; addi a2, a2, 2; CHECK_REG(ra, a2); CHECK_EQ(a0, 0)
  /* c.jalr with rs1 = ra: target from the old value */
  TEST_BEGIN
  li a0, 0
  lla ra, 2f
1: c.jalr ra
  li a0, 1
2: lla a2, 1b; addi a2, a2, 2; CHECK_REG(ra, a2); CHECK_EQ(a0, 0)

  /* ------------------------------------------------------------ alignment */
  /* 32-bit instructions at an address that is 2 mod 4, reached by jalr */
  TEST_BEGIN
  li a0, 0
  lla a1, 2f
  .balign 4
  jalr ra, 0(a1)
  li a0, 1
  .balign 4
  c.nop
2: addi a0, a0, 40      /* 32-bit instruction at 2 mod 4 */
  lui a3, 0x12345
  CHECK_EQ(a0, 40)
  CHECK_EQ(a3, 0x12345000)
  /* jalr to odd address: bit 0 cleared, lands on the 2-byte aligned target */
  TEST_BEGIN
  li a0, 0
  lla a1, 3f + 1
  jalr ra, 0(a1)
  li a0, 1
  .balign 4
  c.nop
3: c.addi a0, 5
  CHECK_EQ(a0, 5)
  /* branch to a 2-byte aligned target (no misaligned-fetch exception with C) */
  TEST_BEGIN
  li a0, 0
  beqz zero, 4f
  li a0, 1
  .balign 4
  c.nop
4: CHECK_EQ(a0, 0)

  /* ------------------------------------------------------------ traps */
  TEST_BEGIN
  EXPECT_TRAP(2f)
1: c.ebreak
  c.nop
2: CHECK_MCAUSE(CAUSE_BREAKPOINT)
  CHECK_MEPC(1b)
  /* the all-zero 16-bit pattern is an illegal instruction */
  TEST_BEGIN
  EXPECT_TRAP(2f)
1: .2byte 0x0000
  c.nop
2: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  CHECK_MEPC(1b)
  CHECK_MTVAL(0)
  /* ebreak (32-bit) at a 2 mod 4 address */
  TEST_BEGIN
  .balign 4
  c.nop
  EXPECT_TRAP(2f)
1: ebreak
2: CHECK_MCAUSE(CAUSE_BREAKPOINT)
  CHECK_MEPC(1b)

RVTEST_CODE_END

RVTEST_DATA_BEGIN
  .align 4
cdata:
  .word 0x80000001, 0x7ffffffe
  .dword 0x0123456789abcdef
  .skip 1024
  .align 4
cbuf:
  .skip 1024
RVTEST_DATA_END

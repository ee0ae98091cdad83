/*
 * RV64I base integer instructions (user level, run in M-mode).
 * Every instruction, W forms, shifts by 0/31/63 and shift-amount masking,
 * sign extension of results and loads, lui/auipc, branches taken and not
 * taken (forward and backward), jal/jalr links and jalr LSB clearing,
 * x0 as destination, fence.
 */
#include "macros.h"

RVTEST_CODE_BEGIN

  /* ------------------------------------------------------------ add/sub */
  TEST_RR(add, 0, 0, 0)
  TEST_RR(add, 2, 1, 1)
  TEST_RR(add, 0x100000000, 0xffffffff, 1)
  TEST_RR(add, 0, -1, 1)
  TEST_RR(add, 0x8000000000000000, 0x7fffffffffffffff, 1)
  TEST_RR(add, 0x7fffffffffffffff, 0x8000000000000000, -1)
  TEST_RR_S1D(add, 13, 6, 7)
  TEST_RR_S2D(add, 13, 6, 7)
  TEST_RR_S12D(add, 26, 13)
  TEST_RR_Z1(add, 5, 5)
  TEST_RR_Z2(add, 5, 5)
  TEST_RR_ZD(add, 5, 7)
  TEST_RR(sub, 0, 0, 0)
  TEST_RR(sub, -1, 0, 1)
  TEST_RR(sub, 0x7fffffffffffffff, 0x8000000000000000, 1)
  TEST_RR(sub, 0x100000000, 0x100000001, 1)
  TEST_RR_S12D(sub, 0, 77)
  TEST_RR_Z1(sub, -5, 5)
  TEST_RR(addw, 0, 0, 0)
  TEST_RR(addw, 0xffffffff80000000, 0x7fffffff, 1)
  TEST_RR(addw, 0, 0xffffffff, 1)
  TEST_RR(addw, 3, 0x1234567800000001, 0x8765432100000002)
  TEST_RR(addw, 0x7fffffff, 0x80000000, -1)
  TEST_RR(subw, 0xffffffffffffffff, 0, 1)
  TEST_RR(subw, 0x7fffffff, 0x80000000, 1)
  TEST_RR(subw, 0, 0xabcdef0000000005, 0x1234560000000005)
  TEST_RR(subw, 0xffffffff80000000, 0, 0x80000000)
  TEST_IMM(addi, 0, 0, 0)
  TEST_IMM(addi, 2047, 0, 2047)
  TEST_IMM(addi, -2048, 0, -2048)
  TEST_IMM(addi, 0x7ffffffffffff800, 0x7fffffffffffffff, -2047)
  TEST_IMM(addi, 0x8000000000000000, 0x7fffffffffffffff, 1)
  TEST_IMM(addi, 0x0000000100000000, 0xffffffff, 1)
  TEST_IMM_SD(addi, 24, 13, 11)
  TEST_IMM(addiw, 0xffffffff80000000, 0x7fffffff, 1)
  TEST_IMM(addiw, 0x7fffffff, 0xffffffff80000000, -1)
  TEST_IMM(addiw, 0xfffffffffffff800, 0, -2048)
  TEST_IMM(addiw, 5, 0x1234567800000000, 5)
  TEST_IMM(addiw, 0xffffffffffffffff, 0xffffffff, 0)   /* sext.w */
  TEST_IMM(addiw, 0x12345678, 0xffffffff12345678, 0)

  /* ------------------------------------------------------------ logic */
  TEST_RR(and, 0x0f000f00, 0xff00ff00, 0x0f0f0f0f)
  TEST_RR(and, 0xf0f0f0f0f0f0f0f0, 0xfff0fff0fff0fff0, 0xf0f0f0f0f0f0f0f0)
  TEST_RR(or,  0xff0fff0f, 0xff00ff00, 0x0f0f0f0f)
  TEST_RR(or,  0xfff0fff0fff0fff0 | 0x0f0f0f0f0f0f0f0f, 0xfff0fff0fff0fff0, 0x0f0f0f0f0f0f0f0f)
  TEST_RR(xor, 0xf00ff00f, 0xff00ff00, 0x0f0f0f0f)
  TEST_RR(xor, 0xffffffffffffffff, 0x5555555555555555, 0xaaaaaaaaaaaaaaaa)
  TEST_RR_S12D(xor, 0, 0x1234)
  TEST_RR_S12D(and, 0x1234, 0x1234)
  TEST_IMM(andi, 0xff00ff00, 0xff00ff00, -241)
  TEST_IMM(andi, 0x0000000000000000, 0xff00ff00, 0x0f0)
  TEST_IMM(andi, 0xffffffffff00ff00, 0xffffffffff00ff00, -1)
  TEST_IMM(ori,  0xffffffffffffff0f, 0xff00ff00, -241)
  TEST_IMM(ori,  0x00ff07ff, 0x00ff00ff, 0x7ff)
  TEST_IMM(xori, 0xffffffffff00f00f, 0x0000000000ff0f00, -241)
  TEST_IMM(xori, 0xffffffffffffffff, 0, -1)          /* not */
  TEST_IMM(xori, 0x00ff0ff0, 0x00ff08ff, 0x70f)

  /* ------------------------------------------------------------ shifts */
  TEST_RR(sll, 1, 1, 0)
  TEST_RR(sll, 2, 1, 1)
  TEST_RR(sll, 0x80000000, 1, 31)
  TEST_RR(sll, 0x8000000000000000, 1, 63)
  TEST_RR(sll, 0x100000000, 1, 32)
  TEST_RR(sll, 0x8000000000000000, 1, 0xffffffffffffffff)   /* only 6 bits used */
  TEST_RR(sll, 0x2468ace0, 0x12345670, 0xffffffffffffffc1)
  TEST_RR(srl, 0xffffffffffffffff, 0xffffffffffffffff, 0)
  TEST_RR(srl, 0x7fffffffffffffff, 0xffffffffffffffff, 1)
  TEST_RR(srl, 1, 0xffffffffffffffff, 63)
  TEST_RR(srl, 0x1ffffffff, 0xffffffffffffffff, 31)
  TEST_RR(srl, 1, 0x8000000000000000, 0x7f)
  TEST_RR(sra, 0x8000000000000000, 0x8000000000000000, 0)
  TEST_RR(sra, 0xc000000000000000, 0x8000000000000000, 1)
  TEST_RR(sra, 0xffffffffffffffff, 0x8000000000000000, 63)
  TEST_RR(sra, 0x3fffffffffffffff, 0x7fffffffffffffff, 1)
  TEST_RR(sra, 0xffffffffffffffff, 0x8000000000000000, 0xffffffffffffffff)
  TEST_IMM(slli, 0x8000000000000000, 1, 63)
  TEST_IMM(slli, 0x0000000100000000, 1, 32)
  TEST_IMM(slli, 0xffffffffffffffff, 0xffffffffffffffff, 0)
  TEST_IMM(srli, 1, 0x8000000000000000, 63)
  TEST_IMM(srli, 0x0000000080000000, 0x8000000000000000, 32)
  TEST_IMM(srli, 0x12345678, 0x12345678, 0)
  TEST_IMM(srai, 0xffffffffffffffff, 0x8000000000000000, 63)
  TEST_IMM(srai, 0xffffffff80000000, 0x8000000000000000, 32)
  TEST_IMM(srai, 0x0000000000000001, 0x7fffffffffffffff, 62)
  TEST_IMM(srai, 0x8000000000000001, 0x8000000000000001, 0)
  TEST_RR(sllw, 0xffffffff80000000, 1, 31)
  TEST_RR(sllw, 1, 1, 32)                          /* only 5 bits used */
  TEST_RR(sllw, 0, 0x100000000, 0)
  TEST_RR(sllw, 0xffffffffffffffff, 0xffffffffffffffff, 0)
  TEST_RR(sllw, 0x0000000012345678, 0xabcdef0012345678, 0)
  TEST_RR(sllw, 0xffffffff80000000, 0x12345678ffffffff, 0x3f)
  TEST_RR(srlw, 0x7fffffff, 0xffffffff, 1)
  TEST_RR(srlw, 1, 0x80000000, 31)
  TEST_RR(srlw, 0xffffffff80000000, 0xffffffff80000000, 0)
  TEST_RR(srlw, 0x0000000000000001, 0x1234567880000000, 0xffffffffffffffff)
  TEST_RR(srlw, 0x80000000 >> 1, 0x80000000, 0x21)
  TEST_RR(sraw, 0xffffffffc0000000, 0x80000000, 1)
  TEST_RR(sraw, 0xffffffffffffffff, 0x80000000, 31)
  TEST_RR(sraw, 0x000000003fffffff, 0xffffffff7fffffff, 1)
  TEST_RR(sraw, 0xffffffff80000000, 0x0000000080000000, 0)
  TEST_RR(sraw, 0x0000000000000001, 0x40000000, 0x3e)
  TEST_IMM(slliw, 0xffffffff80000000, 1, 31)
  TEST_IMM(slliw, 0x0000000000000000, 0xffffffff00000000, 0)
  TEST_IMM(slliw, 0xfffffffffffffffe, 0xffffffff, 1)
  TEST_IMM(slliw, 0x0000000012345678, 0xabcdef0012345678, 0)
  TEST_IMM(srliw, 1, 0xffffffff80000000, 31)
  TEST_IMM(srliw, 0xffffffff80000000, 0x80000000, 0)
  TEST_IMM(srliw, 0x7fffffff, 0xfffffffe, 1)
  TEST_IMM(sraiw, 0xffffffffffffffff, 0x80000000, 31)
  TEST_IMM(sraiw, 0xfffffffff8000000, 0xabcdef0080000000, 4)
  TEST_IMM(sraiw, 0x7fffffff, 0x7fffffff, 0)
  TEST_IMM(sraiw, 0x07ffffff, 0xff7fffffff, 4)

  /* ------------------------------------------------------------ compares */
  TEST_RR(slt, 0, 0, 0)
  TEST_RR(slt, 1, -1, 0)
  TEST_RR(slt, 0, 0, -1)
  TEST_RR(slt, 1, 0x8000000000000000, 0x7fffffffffffffff)
  TEST_RR(slt, 0, 0x7fffffffffffffff, 0x8000000000000000)
  TEST_RR(sltu, 0, -1, 0)
  TEST_RR(sltu, 1, 0, -1)
  TEST_RR(sltu, 0, 0x8000000000000000, 0x7fffffffffffffff)
  TEST_RR(sltu, 1, 0x7fffffffffffffff, 0x8000000000000000)
  TEST_RR_Z1(sltu, 1, 5)                           /* snez */
  TEST_RR_Z1(sltu, 0, 0)
  TEST_IMM(slti, 1, -5, -4)
  TEST_IMM(slti, 0, -4, -4)
  TEST_IMM(slti, 1, 0x8000000000000000, 0)
  TEST_IMM(slti, 0, 2047, -2048)
  TEST_IMM(sltiu, 1, 0, 1)                         /* seqz */
  TEST_IMM(sltiu, 0, 1, 1)
  TEST_IMM(sltiu, 1, 5, -1)                        /* imm sign-extended, compared unsigned */
  TEST_IMM(sltiu, 0, -1, -1)
  TEST_IMM(sltiu, 1, 0xfffffffffffff7ff, -2048)

  /* ------------------------------------------------------------ lui/auipc */
  TEST_BEGIN; lui a0, 0; CHECK_EQ(a0, 0)
  TEST_BEGIN; lui a0, 0xfffff; CHECK_EQ(a0, 0xfffffffffffff000)
  TEST_BEGIN; lui a0, 0x80000; CHECK_EQ(a0, 0xffffffff80000000)
  TEST_BEGIN; lui a0, 0x7ffff; CHECK_EQ(a0, 0x7ffff000)
  TEST_BEGIN; lui a0, 0x12345; addi a0, a0, 0x678; CHECK_EQ(a0, 0x12345678)
  TEST_BEGIN; lui x0, 0x12345; mv a0, x0; CHECK_EQ(a0, 0)
  TEST_BEGIN
1: auipc a0, 0; lla a1, 1b; CHECK_REG(a0, a1)
  TEST_BEGIN
1: auipc a0, 1; lla a1, 1b; li a2, 0x1000; add a1, a1, a2; CHECK_REG(a0, a1)
  TEST_BEGIN
1: auipc a0, 0xfffff; lla a1, 1b; li a2, -0x1000; add a1, a1, a2; CHECK_REG(a0, a1)
  TEST_BEGIN
1: auipc a0, 0x80000; lla a1, 1b; li a2, 0xffffffff80000000; add a1, a1, a2; CHECK_REG(a0, a1)

  /* ------------------------------------------------------------ loads */
  TEST_LD(lb, 0xffffffffffffff80, 0, ldata)
  TEST_LD(lb, 0x7f, 1, ldata)
  TEST_LD(lbu, 0x80, 0, ldata)
  TEST_LD(lbu, 0xfe, 7, ldata)
  TEST_LD(lb, 0xfffffffffffffffe, 7, ldata)
  TEST_LD(lh, 0x7f80, 0, ldata)
  TEST_LD(lh, 0xffffffffffff8000, 2, ldata)
  TEST_LD(lhu, 0x8000, 2, ldata)
  TEST_LD(lh, 0xfffffffffffffedc, 6, ldata)
  TEST_LD(lw, 0xffffffff80007f80, 0, ldata)
  TEST_LD(lwu, 0x80007f80, 0, ldata)
  TEST_LD(lw, 0xfffffffffedc7654, 4, ldata)
  TEST_LD(lwu, 0xfedc7654, 4, ldata)
  TEST_LD(ld, 0xfedc765480007f80, 0, ldata)
  TEST_LD(ld, 0x0123456789abcdef, 8, ldata)
  TEST_LD(ld, 0xfedc765480007f80, -8, ldata + 8)   /* negative offset */
  TEST_LD(lw, 0x01234567, -4, ldata + 16)
  TEST_LD(lbu, 0xef, -2048, ldata + 2056)          /* offset -2048 */
  TEST_LD(lbu, 0xfe, 2047, ldata - 2040)           /* offset +2047 */
  /* load into the base register */
  TEST_BEGIN; lla a0, ldata; ld a0, 8(a0); CHECK_EQ(a0, 0x0123456789abcdef)
  /* load into x0 leaves x0 zero */
  TEST_BEGIN; lla a1, ldata; ld x0, 8(a1); mv a0, x0; CHECK_EQ(a0, 0)

  /* ------------------------------------------------------------ stores */
  TEST_ST(ld, sd, 0x0123456789abcdef, 0x0123456789abcdef, 0, sdata)
  TEST_ST(ld, sd, 0xfedcba9876543210, 0xfedcba9876543210, 8, sdata)
  TEST_ST(lw, sw, 0xffffffff87654321, 0xffffffff87654321, 0, sdata)
  TEST_ST(lw, sw, 0x1234567887654321, 0xffffffff87654321, 4, sdata)
  TEST_ST(lh, sh, 0x12345678abcd8001, 0xffffffffffff8001, 2, sdata)
  TEST_ST(lhu, sh, 0x7f01, 0x7f01, -2, sdata + 8)
  TEST_ST(lb, sb, 0x123456789abcdef0, 0xfffffffffffffff0, 5, sdata)
  TEST_ST(lbu, sb, 0x1ff, 0xff, -2048, sdata + 2048)
  /* narrow stores must not touch neighbouring bytes */
  TEST_BEGIN; lla a1, sdata; li a2, -1; sd a2, 16(a1); sb zero, 17(a1); sh zero, 20(a1)
  ld a0, 16(a1); CHECK_EQ(a0, 0xffff0000ffff00ff)
  TEST_BEGIN; lla a1, sdata; li a2, 0x1111111111111111; sd a2, 24(a1); li a2, 0x22222222; sw a2, 28(a1)
  ld a0, 24(a1); CHECK_EQ(a0, 0x2222222211111111)
  /* store of x0 */
  TEST_BEGIN; lla a1, sdata; li a2, -1; sd a2, 32(a1); sw x0, 32(a1); ld a0, 32(a1); CHECK_EQ(a0, 0xffffffff00000000)

  /* ------------------------------------------------------------ branches */
  TEST_BR_TAKEN(beq, 0, 0)
  TEST_BR_TAKEN(beq, -1, -1)
  TEST_BR_NOT(beq, 0, 1)
  TEST_BR_NOT(beq, 0x100000000, 0)
  TEST_BR_BACK(beq, 7, 7)
  TEST_BR_TAKEN(bne, 0, 1)
  TEST_BR_TAKEN(bne, 0x100000000, 0)
  TEST_BR_NOT(bne, 5, 5)
  TEST_BR_BACK(bne, 7, 8)
  TEST_BR_TAKEN(blt, -1, 0)
  TEST_BR_TAKEN(blt, 0x8000000000000000, 0x7fffffffffffffff)
  TEST_BR_NOT(blt, 0, 0)
  TEST_BR_NOT(blt, 1, -1)
  TEST_BR_BACK(blt, -2, -1)
  TEST_BR_TAKEN(bge, 0, 0)
  TEST_BR_TAKEN(bge, 0, -1)
  TEST_BR_TAKEN(bge, 0x7fffffffffffffff, 0x8000000000000000)
  TEST_BR_NOT(bge, -1, 0)
  TEST_BR_BACK(bge, 3, 3)
  TEST_BR_TAKEN(bltu, 0, -1)
  TEST_BR_TAKEN(bltu, 0x7fffffffffffffff, 0x8000000000000000)
  TEST_BR_NOT(bltu, -1, 0)
  TEST_BR_NOT(bltu, 4, 4)
  TEST_BR_BACK(bltu, 1, 2)
  TEST_BR_TAKEN(bgeu, -1, 0)
  TEST_BR_TAKEN(bgeu, 4, 4)
  TEST_BR_NOT(bgeu, 0, -1)
  TEST_BR_NOT(bgeu, 0x7fffffffffffffff, 0x8000000000000000)
  TEST_BR_BACK(bgeu, -1, -2)
  /* branch with rs1 = rs2 = x0 */
  TEST_BEGIN; li a0, 0; beq x0, x0, 1f; li a0, 1; 1: CHECK_EQ(a0, 0)
  TEST_BEGIN; li a0, 0; bne x0, x0, 1f; j 2f; 1: li a0, 1; 2: CHECK_EQ(a0, 0)

  /* ------------------------------------------------------------ jal / jalr */
  TEST_BEGIN
  li a0, 0
  jal ra, 1f
2: li a0, 1
1: lla a1, 2b; CHECK_REG(ra, a1); CHECK_EQ(a0, 0)
  /* jal backward, rd = x0 */
  TEST_BEGIN
  li a0, 0
  j 3f
4: addi a0, a0, 1
  j 5f
3: jal x0, 4b
  li a0, 99
5: CHECK_EQ(a0, 1)
  /* jalr: target = (rs1 + imm) with bit 0 cleared, link = pc + 4 */
  TEST_BEGIN
  li a0, 0
  lla a1, 1f
  jalr t0, 0(a1)
6: li a0, 1
1: lla a2, 6b; CHECK_REG(t0, a2); CHECK_EQ(a0, 0)
  TEST_BEGIN
  li a0, 0
  lla a1, 1f + 1                                    /* odd target: LSB cleared */
  jalr t0, 0(a1)
  li a0, 1
1: CHECK_EQ(a0, 0)
  TEST_BEGIN
  li a0, 0
  lla a1, 1f - 3                                    /* imm makes it odd */
  jalr t0, 4(a1)
  li a0, 1
1: CHECK_EQ(a0, 0)
  TEST_BEGIN
  li a0, 0
  lla a1, 1f + 2048
  jalr t0, -2048(a1)
  li a0, 1
1: CHECK_EQ(a0, 0)
  /* jalr with rd = rs1: target computed from the old value */
  TEST_BEGIN
  li a0, 0
  lla a1, 1f
  jalr a1, 0(a1)
7: li a0, 1
1: lla a2, 7b; CHECK_REG(a1, a2); CHECK_EQ(a0, 0)
  /* jalr rd = x0 (ret-like) */
  TEST_BEGIN
  li a0, 0
  lla a1, 1f
  jalr x0, 0(a1)
  li a0, 1
1: mv a2, x0; CHECK_EQ(a2, 0); CHECK_EQ(a0, 0)
  /* call / ret through a function */
  TEST_BEGIN
  li a0, 5
  call rv64ui_double
  CHECK_EQ(a0, 10)

  /* ------------------------------------------------------------ misc */
  TEST_BEGIN
  lla a1, sdata; li a2, 0x55; sd a2, 40(a1)
  fence
  fence rw, rw
  fence r, w
  fence.tso
  ld a0, 40(a1); CHECK_EQ(a0, 0x55)
  TEST_BEGIN; nop; addi x0, x0, 5; mv a0, x0; CHECK_EQ(a0, 0)
  /* writes to x0 from every format are discarded */
  TEST_BEGIN; li a1, 5; add x0, a1, a1; addi x0, a1, 1; slli x0, a1, 1; lui x0, 1; auipc x0, 1; addw x0, a1, a1
  mv a0, x0; CHECK_EQ(a0, 0)

RVTEST_CODE_END

rv64ui_double:
  add a0, a0, a0
  ret

RVTEST_DATA_BEGIN
  .align 4
ldata:
  .byte 0x80, 0x7f, 0x00, 0x80, 0x54, 0x76, 0xdc, 0xfe
  .dword 0x0123456789abcdef
  .dword 0
  .align 4
sdata:
  .skip 64
RVTEST_DATA_END

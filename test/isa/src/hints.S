/*
 * Encodings that do nothing visible but must not trap: Zimop's mop.r.n and
 * mop.rr.n (write 0 to rd), Zcmop's c.mop.n (C.LUI rd odd, nzimm 0: nothing
 * written), Zawrs' wrs.nto / wrs.sto (a stall that may end at once),
 * Zihintpause's pause and Zihintntl's ntl.* (FENCE and ADD hints). Next to
 * them, C.LUI with nzimm 0 and an even rd is still reserved. The assembler
 * predates Zimop and Zcmop: the encodings are written out.
 */
#include "macros.h"

/* mop: rd = 0 whatever rs1 and rs2 hold */
#define TEST_MOP(enc) \
  TEST_BEGIN; li a0, 0x1234; li a1, -1; li a2, 7; .word enc; CHECK_EQ(a0, 0); \
  CHECK_EQ(a1, -1); CHECK_EQ(a2, 7)
/* nothing changes, nothing traps (an unexpected trap fails the test) */
#define TEST_NOTHING(...) \
  TEST_BEGIN; li ra, 0x55; li gp, 0x66; li a0, 0x77; __VA_ARGS__; \
  CHECK_EQ(ra, 0x55); CHECK_EQ(gp, 0x66); CHECK_EQ(a0, 0x77)

RVTEST_CODE_BEGIN

  TEST_MOP(0x81c5c573)      /* mop.r.0 a0, a1 */
  TEST_MOP(0xcdf5c573)      /* mop.r.31 a0, a1 (n in bits 30, 27:26, 21:20) */
  TEST_MOP(0x82c5c573)      /* mop.rr.0 a0, a1, a2 */
  TEST_MOP(0xcec5c573)      /* mop.rr.7 a0, a1, a2 */
  TEST_NOTHING(.hword 0x6081)   /* c.mop.1 */
  TEST_NOTHING(.hword 0x6781)   /* c.mop.15 */
  TEST_NOTHING(.word 0x00d00073) /* wrs.nto */
  TEST_NOTHING(.word 0x01d00073) /* wrs.sto */
  TEST_NOTHING(.word 0x0100000f) /* pause */
  TEST_NOTHING(add x0, x0, x2)  /* ntl.p1 */
  TEST_NOTHING(.hword 0x9016)   /* c.ntl.all (c.add x0, x5) */

  TEST_BEGIN                /* C.LUI x2 with nzimm 0 is C.ADDI16SP 0: reserved */
  EXPECT_TRAP(2f)
1: .hword 0x6101
  nop
2: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  CHECK_MEPC(1b)
  CHECK_MTVAL(0x6101)
  TEST_BEGIN                /* C.LUI x4 with nzimm 0: reserved (c.mop.n has odd rd) */
  EXPECT_TRAP(2f)
1: .hword 0x6201
  nop
2: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  CHECK_MEPC(1b)
  CHECK_MTVAL(0x6201)

RVTEST_CODE_END

RVTEST_DATA_BEGIN
RVTEST_DATA_END

/*
 * Zcb: the compressed byte/halfword loads and stores (c.lbu, c.lhu, c.lh,
 * c.sb, c.sh, with their 2-bit offsets), the one-register forms (c.zext.b,
 * c.sext.b, c.zext.h, c.sext.h, c.zext.w, c.not) and c.mul; the encodings
 * next to them stay reserved. The assembler predates Zcb: encodings are
 * written out (a0 = rd', a1 = the base or rs2', a2 = the stored value).
 */
#include "macros.h"

#define C(enc) .hword enc
#define TEST_C1(enc, res, v) \
  TEST_BEGIN; li a0, v; C(enc); CHECK_EQ(a0, res)
#define TEST_LOAD(enc, res) \
  TEST_BEGIN; lla a1, zdata; li a0, 0x5555; C(enc); CHECK_EQ(a0, res)

RVTEST_CODE_BEGIN

  TEST_LOAD(0x8188, 0x81)                  /* c.lbu a0, 0(a1) */
  TEST_LOAD(0x81c8, 0x82)                  /* c.lbu a0, 1(a1) */
  TEST_LOAD(0x81a8, 0x83)                  /* c.lbu a0, 2(a1) */
  TEST_LOAD(0x81e8, 0x84)                  /* c.lbu a0, 3(a1) */
  TEST_LOAD(0x8588, 0x8281)                /* c.lhu a0, 0(a1) */
  TEST_LOAD(0x85a8, 0x8483)                /* c.lhu a0, 2(a1) */
  TEST_LOAD(0x85e8, 0xffffffffffff8483)    /* c.lh a0, 2(a1) */

  TEST_BEGIN                               /* c.sb a2, 1(a1): one byte */
  lla a1, zdata; li a2, 0x1234; C(0x89d0)
  lbu a3, 1(a1); CHECK_EQ(a3, 0x34)
  lbu a3, 0(a1); CHECK_EQ(a3, 0x81)
  lbu a3, 2(a1); CHECK_EQ(a3, 0x83)
  TEST_BEGIN                               /* c.sb a2, 2(a1) */
  lla a1, zdata; li a2, 0x56; C(0x89b0)
  lbu a3, 2(a1); CHECK_EQ(a3, 0x56)
  TEST_BEGIN                               /* c.sh a2, 2(a1): two bytes */
  lla a1, zdata; li a2, 0xabcd; C(0x8db0)
  ld a3, 0(a1); CHECK_EQ(a3, 0x88878685abcd3481)

  TEST_C1(0x9d61, 0x80, 0xffffffffffffff80)                 /* c.zext.b a0 */
  TEST_C1(0x9d65, 0xffffffffffffff80, 0x80)                 /* c.sext.b a0 */
  TEST_C1(0x9d65, 0x7f, 0xffffffffffff007f)
  TEST_C1(0x9d69, 0x8001, 0xffffffffffff8001)               /* c.zext.h a0 */
  TEST_C1(0x9d6d, 0xffffffffffff8001, 0x8001)               /* c.sext.h a0 */
  TEST_C1(0x9d71, 0x80000001, 0xffffffff80000001)           /* c.zext.w a0 */
  TEST_C1(0x9d75, 0xfffffffffffff0f0, 0x0f0f)               /* c.not a0 */
  TEST_BEGIN                               /* c.mul a0, a1 */
  li a0, -7; li a1, 6; C(0x9d4d); CHECK_EQ(a0, -42)

  TEST_ILLEGAL_ENC(.hword, 0x8dd0)                     /* c.sh with bit 6 set */
  TEST_ILLEGAL_ENC(.hword, 0x9188)                     /* funct6 100100 in quadrant 0 */
  TEST_ILLEGAL_ENC(.hword, 0x9d79)                     /* one-register forms 6 and 7 */
  TEST_ILLEGAL_ENC(.hword, 0x9d7d)

RVTEST_CODE_END

RVTEST_DATA_BEGIN
zdata: .byte 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88
RVTEST_DATA_END

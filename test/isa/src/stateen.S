/*
 * Smstateen/Ssstateen: mstateen0 has SE0 (bit 63) and ENVCFG (bit 62),
 * mstateen1..3 only SE; every sstateen bit reads zero (no state here needs
 * them). Below M-mode, senvcfg needs mstateen0.ENVCFG and sstateenN needs
 * mstateenN.SE, else the access is illegal.
 */
#include "macros.h"

#define CSR_SENVCFG   0x10a
#define CSR_SSTATEEN0 0x10c
#define CSR_SSTATEEN1 0x10d
#define CSR_MSTATEEN0 0x30c
#define CSR_MSTATEEN1 0x30d
#define CSR_MSTATEEN3 0x30f
#define SE (1 << 63)
#define ENVCFG (1 << 62)


RVTEST_CODE_BEGIN

  TEST_BEGIN                               /* M-mode: the writable bits */
  li t0, -1; csrw CSR_MSTATEEN0, t0; csrr a0, CSR_MSTATEEN0; li t1, SE | ENVCFG; CHECK_REG(a0, t1)
  TEST_BEGIN
  li t0, -1; csrw CSR_MSTATEEN1, t0; csrr a0, CSR_MSTATEEN1; li t1, SE; CHECK_REG(a0, t1)
  TEST_BEGIN
  li t0, -1; csrw CSR_MSTATEEN3, t0; csrr a0, CSR_MSTATEEN3; li t1, SE; CHECK_REG(a0, t1)
  TEST_BEGIN
  li t0, -1; csrw CSR_SSTATEEN0, t0; csrr a0, CSR_SSTATEEN0; CHECK_EQ(a0, 0)

  /* S-mode with everything enabled: allowed */
  ENTER_MODE(PRV_S, s_on)
s_on:
  TEST_BEGIN
  csrr a0, CSR_SENVCFG; csrr a0, CSR_SSTATEEN0; csrr a0, CSR_SSTATEEN1
  GOTO_M(1f)
1: csrw CSR_MSTATEEN0, zero; csrw CSR_MSTATEEN1, zero
  ENTER_MODE(PRV_S, s_off)
s_off:
  TEST_ILLEGAL(csrr a0, CSR_SENVCFG)
  TEST_ILLEGAL(csrw CSR_SENVCFG, zero)
  TEST_ILLEGAL(csrr a0, CSR_SSTATEEN0)
  TEST_ILLEGAL(csrr a0, CSR_SSTATEEN1)
  TEST_BEGIN                               /* sstateen3 still enabled (mstateen3.SE) */
  csrr a0, 0x10f; CHECK_EQ(a0, 0)
  GOTO_M(1f)
1: li t0, ENVCFG; csrw CSR_MSTATEEN0, t0   /* ENVCFG alone: senvcfg yes, sstateen0 no */
  ENTER_MODE(PRV_S, s_envcfg)
s_envcfg:
  TEST_BEGIN
  csrr a0, CSR_SENVCFG
  TEST_ILLEGAL(csrr a0, CSR_SSTATEEN0)
  GOTO_M(1f)
1:

RVTEST_CODE_END

RVTEST_DATA_BEGIN
RVTEST_DATA_END

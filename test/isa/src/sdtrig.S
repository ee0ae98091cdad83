/*
 * Sdtrig: two mcontrol6 triggers (tselect 0 and 1; tinfo lists types 6 and
 * 15, version 1). A trigger with M and execute set stops the instruction at
 * tdata2 with a breakpoint exception (mepc = mtval = the address) before it
 * executes; load and store triggers stop the access before it happens
 * (mtval = the address accessed); match 2 (>=) and 3 (<) compare ranges;
 * a trigger for U only does not fire in M-mode; unsupported types and a
 * written 0 leave the trigger disabled (type 15). tcontrol: M-mode triggers
 * fire only with mte set; a trap into M-mode moves mte to mpte (so a range
 * trigger does not catch the handler) and mret moves it back.
 */
#include "macros.h"

#define CSR_TSELECT 0x7a0
#define CSR_TDATA1  0x7a1
#define CSR_TDATA2  0x7a2
#define CSR_TDATA3  0x7a3
#define CSR_TINFO   0x7a4
#define CSR_TCONTROL 0x7a5
#define MTE  (1 << 3)
#define MPTE (1 << 7)
#define MC6 (6 << 60)
#define DISABLED (15 << 60)
#define MC_LOAD 1
#define MC_STORE 2
#define MC_EXEC 4
#define MC_U 8
#define MC_S 16
#define MC_M 64
#define MATCH_GE (2 << 7)
#define MATCH_LT (3 << 7)

RVTEST_CODE_BEGIN

  TEST_BEGIN                                  /* tinfo: types 6 and 15, version 1 */
  csrr a0, CSR_TINFO; li t1, (1 << 24) | (1 << 15) | (1 << 6); CHECK_REG(a0, t1)
  TEST_BEGIN                                  /* two triggers: tselect keeps 0 and 1, not 2 */
  li t0, 1; csrw CSR_TSELECT, t0; li t0, 2; csrw CSR_TSELECT, t0; csrr a0, CSR_TSELECT; CHECK_EQ(a0, 1)
  csrw CSR_TSELECT, zero; csrr a0, CSR_TSELECT; CHECK_EQ(a0, 0)
  TEST_BEGIN                                  /* disabled from reset; 0 and type 2 stay disabled */
  csrr a0, CSR_TDATA1; li t1, DISABLED; CHECK_REG(a0, t1)
  li t0, (2 << 60) | MC_M | MC_EXEC; csrw CSR_TDATA1, t0; csrr a0, CSR_TDATA1; CHECK_REG(a0, t1)
  TEST_BEGIN                                  /* mcontrol6 keeps the fields it has, drops the rest */
  li t0, -1; csrw CSR_TDATA2, t0              /* (>= the top address: matches nothing) */
  li t0, MC6 | (1 << 12) | (1 << 11) | MATCH_GE | MC_M | MC_S | MC_U | MC_EXEC | MC_STORE | MC_LOAD
  csrw CSR_TDATA1, t0; csrr a0, CSR_TDATA1
  li t1, MC6 | MATCH_GE | MC_M | MC_S | MC_U | MC_EXEC | MC_STORE | MC_LOAD; CHECK_REG(a0, t1)
  csrw CSR_TDATA1, zero; csrr a0, CSR_TDATA3; CHECK_EQ(a0, 0)

  TEST_BEGIN                                  /* tcontrol: mte and mpte only, 0 from reset */
  csrr a0, CSR_TCONTROL; CHECK_EQ(a0, 0)
  li t0, -1; csrw CSR_TCONTROL, t0; csrr a0, CSR_TCONTROL; CHECK_EQ(a0, MTE | MPTE)
  csrw CSR_TCONTROL, zero

  TEST_BEGIN                                  /* mte clear: an M-mode trigger does not fire */
  lla t0, 1f; csrw CSR_TDATA2, t0
  li t0, MC6 | MC_M | MC_EXEC; csrw CSR_TDATA1, t0
1: li a0, 4
  csrw CSR_TDATA1, zero
  CHECK_EQ(a0, 4)

  TEST_BEGIN                                  /* execute trigger in M-mode (mte set) */
  li t0, MTE; csrw CSR_TCONTROL, t0
  lla t0, 1f; csrw CSR_TDATA2, t0
  li t0, MC6 | MC_M | MC_EXEC; csrw CSR_TDATA1, t0
  EXPECT_TRAP(2f)
  li a0, 1
1: li a0, 2                                   /* stops here, not executed */
2: csrw CSR_TDATA1, zero
  CHECK_MCAUSE(CAUSE_BREAKPOINT)
  CHECK_MEPC(1b)
  CHECK_MTVAL_LABEL(1b)
  CHECK_EQ(a0, 1)
  csrr a0, CSR_TCONTROL; CHECK_EQ(a0, MTE | MPTE)  /* the handler's mret restored mte */

  TEST_BEGIN                                  /* an M-mode range trigger spares the handler */
  lla t0, 2f; csrw CSR_TDATA2, t0             /* below 2f: this code, and the handler */
  li t0, MC6 | MATCH_LT | MC_M | MC_EXEC
  EXPECT_TRAP(2f)
  csrw CSR_TDATA1, t0                         /* the next instruction stops */
3: nop
2: csrw CSR_TDATA1, zero
  CHECK_MCAUSE(CAUSE_BREAKPOINT)
  CHECK_MEPC(3b)

  TEST_BEGIN                                  /* a U-only trigger does not fire in M-mode */
  lla t0, 1f; csrw CSR_TDATA2, t0
  li t0, MC6 | MC_U | MC_EXEC; csrw CSR_TDATA1, t0
1: li a0, 3
  csrw CSR_TDATA1, zero
  CHECK_EQ(a0, 3)

  TEST_BEGIN                                  /* load trigger on trigger 1: the load does not happen */
  li t0, 1; csrw CSR_TSELECT, t0
  lla t0, tdata_word + 8; csrw CSR_TDATA2, t0
  li t0, MC6 | MC_M | MC_LOAD; csrw CSR_TDATA1, t0
  lla a1, tdata_word; li a0, 7
  ld a2, 0(a1)                                /* another address: no trigger */
  EXPECT_TRAP(2f)
1: ld a0, 8(a1)
2: csrw CSR_TDATA1, zero; csrw CSR_TSELECT, zero
  CHECK_MCAUSE(CAUSE_BREAKPOINT)
  CHECK_MEPC(1b)
  lla t1, tdata_word + 8; ld t5, isa_mtrap + TR_TVAL; CHECK_REG(t5, t1)
  CHECK_EQ(a0, 7)

  TEST_BEGIN                                  /* store trigger, any byte of the access: memory unchanged */
  lla t0, tdata_word + 3; csrw CSR_TDATA2, t0
  li t0, MC6 | MC_M | MC_STORE; csrw CSR_TDATA1, t0
  lla a1, tdata_word; li a2, -1
  lw a3, 8(a1)                                /* a load: a store trigger lets it be */
  EXPECT_TRAP(2f)
1: sd a2, 0(a1)
2: csrw CSR_TDATA1, zero
  CHECK_MCAUSE(CAUSE_BREAKPOINT)
  CHECK_MEPC(1b)
  ld a0, 0(a1); li t1, 0x1122334455667788; CHECK_REG(a0, t1)

  /* Ranges, for S-mode only (in M-mode they would also catch the trap
     handler, which lies on both sides). */
  TEST_BEGIN                                  /* match >=: stores at or above tdata2 */
  lla t0, tdata_word + 8; csrw CSR_TDATA2, t0
  li t0, MC6 | MATCH_GE | MC_S | MC_STORE; csrw CSR_TDATA1, t0
  lla a1, tdata_word
  EXPECT_TRAP_PP(2f, PRV_M)
  ENTER_MODE(PRV_S, s_ge)
s_ge:
  sd zero, 0(a1)                              /* below: stored */
1: sd zero, 16(a1)
2: csrw CSR_TDATA1, zero
  CHECK_MCAUSE(CAUSE_BREAKPOINT)
  CHECK_MEPC(1b)
  ld a0, 0(a1); CHECK_EQ(a0, 0)

  TEST_BEGIN                                  /* match <: S-mode code below tdata2 stops at once */
  li t0, -1; csrw CSR_TDATA2, t0
  li t0, MC6 | MATCH_LT | MC_S | MC_EXEC; csrw CSR_TDATA1, t0
  EXPECT_TRAP_PP(2f, PRV_M)
  ENTER_MODE(PRV_S, s_lt)
s_lt:
  nop
2: csrw CSR_TDATA1, zero
  CHECK_MCAUSE(CAUSE_BREAKPOINT)
  CHECK_MEPC(s_lt)

  TEST_BEGIN                                  /* S-mode cannot reach the trigger CSRs */
  ENTER_MODE(PRV_S, s_mode)
s_mode:
  TEST_ILLEGAL(csrr a0, CSR_TSELECT)
  TEST_ILLEGAL(csrw CSR_TDATA1, zero)
  GOTO_M(1f)
1:

RVTEST_CODE_END

RVTEST_DATA_BEGIN
  .align 3
tdata_word: .dword 0x1122334455667788
  .dword 0
  .dword 0
RVTEST_DATA_END

/*
 * Physical memory protection (privileged spec §3.7): CSR WARL rules, OFF,
 * TOR, NA4 and NAPOT matching, R/W/X for S/U, M-mode exemption unless
 * locked, MPRV, no-match failure for S/U, partial matches, page-table walks
 * checked as S-mode accesses, and the L bit (tested last: it sticks until
 * reset).
 */
#include "macros.h"
#include "vm.h"

#define CFG_R 1
#define CFG_W 2
#define CFG_X 4
#define CFG_TOR   (1 << 3)
#define CFG_NA4   (2 << 3)
#define CFG_NAPOT (3 << 3)
#define CFG_L 0x80
#define ALL ((1 << 53) - 1)                  /* NAPOT over the whole address space */

/* entry 0 = pmp_page (4 KiB NAPOT) with `cfg`, entry 1 = everything RWX */
#define PAGE_THEN_ALL(cfg) \
  lla t0, pmp_page; srli t0, t0, 2; ori t0, t0, (4096 >> 3) - 1; csrw pmpaddr0, t0; \
  li t0, ALL; csrw pmpaddr1, t0; \
  li t0, (cfg) | ((CFG_NAPOT | CFG_R | CFG_W | CFG_X) << 8); csrw pmpcfg0, t0

#define RESET_PMP \
  csrw pmpcfg0, zero; csrw pmpcfg2, zero; \
  li t0, ALL; csrw pmpaddr0, t0; li t0, CFG_NAPOT | CFG_R | CFG_W | CFG_X; csrw pmpcfg0, t0

RVTEST_CODE_BEGIN

  /* ---------------------------------------------------------- CSR rules */
#ifndef QEMU_SPIKE                          /* QEMU 7.2 keeps both reserved encodings */
  TEST_BEGIN                               /* reserved bits 6:5 read 0 */
  li t0, 0x60 | CFG_TOR | CFG_R; csrw pmpcfg2, t0
  csrr a0, pmpcfg2
  CHECK_EQ(a0, CFG_TOR | CFG_R)
  csrw pmpcfg2, zero
  TEST_BEGIN                               /* R=0,W=1 is reserved: colinux drops W (WARL) */
  li t0, CFG_TOR | CFG_W; csrw pmpcfg2, t0
  csrr a0, pmpcfg2
  CHECK_EQ(a0, CFG_TOR)
  csrw pmpcfg2, zero
  TEST_BEGIN                               /* pmpaddr holds 54 bits (63:54 read 0) */
  li t0, -1; csrw pmpaddr15, t0
  csrr a0, pmpaddr15
  CHECK_EQ(a0, 0x003fffffffffffff)
  csrw pmpaddr15, zero
#endif
  TEST_BEGIN                               /* pmpcfg1 does not exist on RV64 */
  EXPECT_TRAP(2f)
1: csrr a0, pmpcfg1
2: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  CHECK_MEPC(1b)
#ifndef QEMU_SPIKE                          /* QEMU 7.2 has only pmpaddr0..15 */
  TEST_BEGIN                               /* unimplemented entries read zero */
  li t0, -1; csrw pmpaddr40, t0
  csrr a0, pmpaddr40
  CHECK_EQ(a0, 0)
#endif

  /* ------------------------------------------------- NAPOT, R only, for U */
  TEST_BEGIN                               /* U load allowed */
  PAGE_THEN_ALL(CFG_NAPOT | CFG_R)
  lla a1, pmp_page; li a2, 0x1234; sd a2, 0(a1); li a2, 0
  ENTER_MODE(PRV_U, 1f)
1: ld a2, 0(a1)
  GOTO_M(2f)
2: CHECK_EQ(a2, 0x1234)
  TEST_BEGIN                               /* U store: store access fault */
  lla a1, pmp_page
  ENTER_MODE(PRV_U, 1f)
1: EXPECT_TRAP_PP(3f, PRV_M)
2: sd a1, 8(a1)
3: CHECK_MCAUSE(CAUSE_STORE_ACCESS)
  CHECK_MEPC(2b)
  lla a3, pmp_page + 8; ld t5, isa_mtrap + TR_TVAL; CHECK_REG(t5, a3)
  TEST_BEGIN                               /* U fetch without X: fetch access fault */
  lla a1, pmp_page
  EXPECT_TRAP_PP(2f, PRV_M)
  ENTER_MODE_REG(PRV_U, a1)
2: CHECK_MCAUSE(CAUSE_FETCH_ACCESS)
  lla a3, pmp_page; ld t5, isa_mtrap + TR_TVAL; CHECK_REG(t5, a3)
  TEST_BEGIN                               /* M is exempt from unlocked entries */
  lla a1, pmp_page; li a2, 0x77
  sd a2, 16(a1)
  ld a3, 16(a1)
  CHECK_EQ(a3, 0x77)
  TEST_BEGIN                               /* MPRV with MPP=U: M data accesses checked as U */
  lla a1, pmp_page
  li t0, MSTATUS_MPP; csrc mstatus, t0
  li t0, MSTATUS_MPRV; csrs mstatus, t0
  EXPECT_TRAP(2f)
1: sd a1, 24(a1)
2: li t0, MSTATUS_MPRV; csrc mstatus, t0
  CHECK_MCAUSE(CAUSE_STORE_ACCESS)
  CHECK_MEPC(1b)

  /* ----------------------------------------------------------------- NA4 */
  TEST_BEGIN                               /* a 4-byte hole at pmp_page + 8 */
  lla t0, pmp_page + 8; srli t0, t0, 2; csrw pmpaddr0, t0
  li t0, ALL; csrw pmpaddr1, t0
  li t0, CFG_NA4 | ((CFG_NAPOT | CFG_R | CFG_W | CFG_X) << 8); csrw pmpcfg0, t0
  lla a1, pmp_page
  ENTER_MODE(PRV_U, 1f)
1: EXPECT_TRAP_PP(3f, PRV_M)
2: lw a2, 8(a1)
3: CHECK_MCAUSE(CAUSE_LOAD_ACCESS)
  CHECK_MEPC(2b)
  TEST_BEGIN                               /* next to the hole is fine */
  lla a1, pmp_page; li a2, -1
  ENTER_MODE(PRV_U, 1f)
1: lw a2, 12(a1)
  lw a2, 4(a1)
  GOTO_M(2f)
2: CHECK_MCAUSE(CAUSE_USER_ECALL)          /* the only trap: GOTO_M's ecall */
#ifndef QEMU_SPIKE
  TEST_BEGIN                               /* an access matching only partly fails */
  lla a1, pmp_page
  ENTER_MODE(PRV_U, 1f)
1: EXPECT_TRAP_PP(3f, PRV_M)
2: ld a2, 4(a1)
3: CHECK_MCAUSE(CAUSE_LOAD_ACCESS)
#endif

  /* ----------------------------------------------------------------- TOR */
  TEST_BEGIN                               /* [pmp_page, +4K) read/write, no execute */
  lla t0, pmp_page; srli t0, t0, 2; csrw pmpaddr0, t0
  lla t0, pmp_page + 4096; srli t0, t0, 2; csrw pmpaddr1, t0
  li t0, ALL; csrw pmpaddr2, t0
  li t0, ((CFG_TOR | CFG_R | CFG_W) << 8) | ((CFG_NAPOT | CFG_R | CFG_W | CFG_X) << 16); csrw pmpcfg0, t0
  lla a1, pmp_page; li a2, 0x55
  ENTER_MODE(PRV_U, 1f)
1: sd a2, 32(a1)
  ld a3, 32(a1)
  GOTO_M(2f)
2: CHECK_EQ(a3, 0x55)
  TEST_BEGIN
  lla a1, pmp_page + 64
  EXPECT_TRAP_PP(2f, PRV_M)
  ENTER_MODE_REG(PRV_U, a1)
2: CHECK_MCAUSE(CAUSE_FETCH_ACCESS)

  /* -------------------------------------------- no matching entry for U */
  TEST_BEGIN
  lla t0, pmp_page; srli t0, t0, 2; ori t0, t0, (4096 >> 3) - 1; csrw pmpaddr0, t0
  li t0, CFG_NAPOT | CFG_R | CFG_W | CFG_X; csrw pmpcfg0, t0
  EXPECT_TRAP_PP(2f, PRV_M)
  ENTER_MODE(PRV_U, 1f)
1: nop
2: CHECK_MCAUSE(CAUSE_FETCH_ACCESS)
  ld t5, isa_mtrap + TR_TVAL; CHECK_LABEL(t5, 1b)
  RESET_PMP

  /* ------------------------------------ page-table walks are S-mode reads */
  TEST_BEGIN
  CLEAR_TABLE(pmp_root)
  PTE_PA(pmp_root, 2, 0x80000000, LEAF_RWX)   /* 1 GiB identity map of RAM */
  lla t0, pmp_root; srli t0, t0, 12; li t1, SATP_MODE_SV39; or t0, t0, t1; csrw satp, t0
  sfence.vma
  lla t0, pmp_root; srli t0, t0, 2; ori t0, t0, (4096 >> 3) - 1; csrw pmpaddr0, t0
  li t0, ALL; csrw pmpaddr1, t0
  li t0, CFG_NAPOT | ((CFG_NAPOT | CFG_R | CFG_W | CFG_X) << 8); csrw pmpcfg0, t0
  EXPECT_TRAP_PP(2f, PRV_M)
  ENTER_MODE(PRV_S, 1f)
1: nop
2: csrw satp, zero
  sfence.vma
  CHECK_MCAUSE(CAUSE_FETCH_ACCESS)
  RESET_PMP

  /* ------------------------------------------------ locked entries (last) */
  TEST_BEGIN                               /* a locked entry binds M too */
  PAGE_THEN_ALL(CFG_NAPOT | CFG_L)
  lla a1, pmp_page
  EXPECT_TRAP(2f)
1: ld a2, 0(a1)
2: CHECK_MCAUSE(CAUSE_LOAD_ACCESS)
  CHECK_MEPC(1b)
  TEST_BEGIN                               /* and ignores writes to its cfg and address */
  csrw pmpcfg0, zero
  csrr a0, pmpcfg0
  andi a0, a0, 0xff
  CHECK_EQ(a0, CFG_NAPOT | CFG_L)
  csrr a3, pmpaddr0
  csrw pmpaddr0, zero
  csrr a4, pmpaddr0
  CHECK_REG(a3, a4)

RVTEST_CODE_END

RVTEST_DATA_BEGIN
  .align 12
pmp_page: .skip 4096
pmp_root: .skip 4096
RVTEST_DATA_END

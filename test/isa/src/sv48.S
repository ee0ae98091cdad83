/*
 * Sv48 translation (four levels), run from S-mode and U-mode: 4 KiB pages
 * through all four levels, 2 MiB, 1 GiB and 512 GiB pages (and a misaligned
 * 512 GiB one, which faults), the upper half, addresses that are canonical
 * only in Sv48, non-canonical addresses, permission and U-bit faults with
 * mtval/stval = the 48-bit VA, hardware A/D updates, sfence.vma, and page
 * faults delegated to S.
 */
#include "macros.h"
#include "vm.h"

#define VA_R      0x1000
#define VA_RW     0x2000
#define VA_X      0x3000
#define VA_U      0x4000
#define VA_AD     0x5000
#define VA_MEGA   0x200000
#define VA_TERA   0x0000008000000000       /* 512 GiB page at PA 0 */
#define VA_TERA_BAD 0x0000010000000000
#define VA_HIGH   0xffffff8000000000       /* root[511] -> the level-2 table */
#define VA_UNMAPPED 0x00007000deadb000

RVTEST_CODE_BEGIN

  CLEAR_TABLE(pt3)
  CLEAR_TABLE(pt2)
  CLEAR_TABLE(pt1)
  CLEAR_TABLE(pt0)
  PTE_LABEL(pt3, 0, pt2, PTE_V)
  PTE_PA(pt3, 1, 0, LEAF_RW)                       /* 512 GiB page */
  PTE_PA(pt3, 2, 0x40000000, LEAF_RW)              /* misaligned 512 GiB page */
  PTE_LABEL(pt3, 511, pt2, PTE_V)
  PTE_LABEL(pt2, 0, pt1, PTE_V)
  PTE_PA(pt2, 1, 0x80000000, LEAF_RWX | PTE_U)     /* user alias of RAM */
  PTE_PA(pt2, 2, 0x80000000, LEAF_RWX)             /* identity */
  PTE_LABEL(pt1, 0, pt0, PTE_V)
  PTE_PA(pt1, 1, 0x80000000, LEAF_RW)              /* 2 MiB page */
  PTE_LABEL(pt0, 1, page_r, LEAF_R)
  PTE_LABEL(pt0, 2, page_rw, LEAF_RW)
  PTE_LABEL(pt0, 3, page_x, LEAF_X)
  PTE_LABEL(pt0, 4, page_u, LEAF_RW | PTE_U)
  PTE_LABEL(pt0, 5, page_ad, PTE_V | PTE_R | PTE_W)
  lla a0, pt3; srli a0, a0, 12; li a1, SATP_MODE_SV48; or a0, a0, a1
  csrw satp, a0
  sfence.vma

  TEST_BEGIN                               /* satp reads back: Sv48 supported */
  csrr a1, satp; CHECK_REG(a1, a0)

  ENTER_MODE(PRV_S, s_start)
s_start:
  TEST_BEGIN                               /* 4 KiB page through four levels */
  li a1, VA_R; ld a2, 0(a1); CHECK_EQ(a2, 0x1111111111111111)
  TEST_BEGIN
  li a1, VA_RW; li a2, 0x2222; sd a2, 8(a1)
  lla a3, page_rw; ld a4, 8(a3); CHECK_EQ(a4, 0x2222)
  TEST_BEGIN
  li a1, VA_X; li a0, 0; jalr ra, 0(a1); CHECK_EQ(a0, 0x33)
  TEST_BEGIN                               /* 2 MiB page */
  lla a1, page_r; li a2, 0x80000000 - VA_MEGA; sub a1, a1, a2
  ld a2, 0(a1); CHECK_EQ(a2, 0x1111111111111111)
  TEST_BEGIN                               /* 512 GiB page: VA bit 39 set (not canonical in Sv39) */
  lla a1, page_r; li a2, VA_TERA; add a1, a1, a2
  ld a2, 0(a1); CHECK_EQ(a2, 0x1111111111111111)
  TEST_BEGIN
  li a1, VA_TERA; li a2, 0x80000000; add a1, a1, a2
  lla a3, page_rw; add a1, a1, a3; sub a1, a1, a2
  li a2, 0x7e7e; sd a2, 24(a1)
  lla a3, page_rw; ld a4, 24(a3); CHECK_EQ(a4, 0x7e7e)
  TEST_BEGIN                               /* upper half through root[511] */
  lla a1, page_r; li a2, VA_HIGH; add a1, a1, a2
  ld a2, 0(a1); CHECK_EQ(a2, 0x1111111111111111)

#define FETCH_FAULT(va) \
  TEST_BEGIN; li a1, va; EXPECT_TRAP(8644f); jalr ra, 0(a1); \
  8644: CHECK_PF(CAUSE_FETCH_PAGE_FAULT, va); ld t5, isa_mtrap + TR_EPC; CHECK_EQ(t5, va)

  STORE_FAULT(VA_R)
  FETCH_FAULT(VA_R)
  LOAD_FAULT(VA_X)
  LOAD_FAULT(VA_U)                         /* SUM = 0 */
  LOAD_FAULT(VA_TERA_BAD)                  /* misaligned 512 GiB page */
  LOAD_FAULT(VA_UNMAPPED)                  /* zero root entry */
  STORE_FAULT(0x0000000140000000)          /* zero level-2 entry */
  LOAD_FAULT(0x0000800000000000)           /* bit 47 set, bits 63:48 clear */
  LOAD_FAULT(0x0001000000000000)
  STORE_FAULT(0xffff7fffffff0000)
  FETCH_FAULT(0x4000000000000000)
  TEST_BEGIN                               /* A and D */
  li a1, VA_AD; ld a2, 0(a1)
  PTE_ADDR(a3, pt0, 5); ld a4, 0(a3); andi a4, a4, PTE_A | PTE_D; CHECK_EQ(a4, PTE_A)
  TEST_BEGIN
  sd a1, 0(a1)
  ld a4, 0(a3); andi a4, a4, PTE_A | PTE_D; CHECK_EQ(a4, PTE_A | PTE_D)
  TEST_BEGIN                               /* sfence.vma after remapping */
  PTE_LABEL(pt0, 1, page_rw, LEAF_R)
  sfence.vma
  li a1, VA_R; ld a2, 8(a1); CHECK_EQ(a2, 0x2222)
  /* remap a 512 GiB page */
  PTE_PA(pt3, 1, 0, PTE_V | PTE_X | PTE_A)
  li a1, VA_TERA; sfence.vma a1
  LOAD_FAULT(VA_TERA + 0x80000000)

  GOTO_M(1f)
1: USER_VA(a0, u_code)                      /* U-mode cases: see u_code */
  ENTER_MODE_REG(PRV_U, a0)
u_back:
  TEST_BEGIN                               /* back from U through ecall */
  CHECK_MCAUSE(CAUSE_USER_ECALL)
  ld a0, u_result; CHECK_EQ(a0, 0x600d)

  TEST_BEGIN                               /* delegated page fault: stval is the full VA */
  li a1, (1 << CAUSE_LOAD_PAGE_FAULT) | (1 << CAUSE_STORE_PAGE_FAULT); csrw medeleg, a1
  ENTER_MODE(PRV_S, 1f)
1: li a1, VA_UNMAPPED
  EXPECT_STRAP(2f)
3: ld a2, 0(a1)
2: CHECK_SCAUSE(CAUSE_LOAD_PAGE_FAULT)
  CHECK_SEPC(3b)
  CHECK_STVAL(VA_UNMAPPED)
  TEST_BEGIN
  li a1, 0xffff800000000008
  EXPECT_STRAP(2f)
  sd a1, 0(a1)
2: CHECK_SCAUSE(CAUSE_STORE_PAGE_FAULT)
  CHECK_STVAL(0xffff800000000008)
  GOTO_M(1f)
1: csrw medeleg, zero
  csrw satp, zero
  sfence.vma

RVTEST_CODE_END

  .align 2
u_code:
  TEST_BEGIN
  li a1, VA_U; ld a2, 0(a1); CHECK_EQ(a2, 0x4444444444444444)
  TEST_BEGIN
  li a1, VA_R; EXPECT_TRAP(2f); ld a2, 0(a1)
2: CHECK_PF(CAUSE_LOAD_PAGE_FAULT, VA_R)
  TEST_BEGIN
  li a1, VA_TERA; EXPECT_TRAP(2f); ld a2, 0(a1)
2: CHECK_PF(CAUSE_LOAD_PAGE_FAULT, VA_TERA)
  li a1, 0x600d; sd a1, u_result, t2
  U_GOTO_M(u_back)

RVTEST_DATA_BEGIN
  .align 3
u_result: .dword 0
  .align 12
pt3: .skip 4096
pt2: .skip 4096
pt1: .skip 4096
pt0: .skip 4096
page_r:  .dword 0x1111111111111111
  .balign 4096
page_rw: .skip 4096
page_x:
  li a0, 0x33
  ret
  .balign 4096
page_u:  .dword 0x4444444444444444
  .balign 4096
page_ad: .skip 4096
RVTEST_DATA_END

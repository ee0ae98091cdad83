/*
 * SFENCE.VMA with an address (privileged spec §12.2.1), run from S-mode on
 * Sv39: the translation of that address goes, whatever size of page maps
 * it. For a 2 MiB superpage, the fence names one address in it, but every
 * 4 KiB piece of the superpage that was used before must see the new PTE
 * (one superpage PTE is one translation). With an ASID operand as well.
 */
#include "macros.h"
#include "vm.h"

#define VA_PAGE   0x1000
#define VA_MEGA   0x200000
#define PA_MEGA1  0x80400000
#define PA_MEGA2  0x80600000


RVTEST_CODE_BEGIN

  /* ------------------------------------------------------------ data and tables (M-mode) */
  li a0, PA_MEGA1; li a1, 0xa0; sd a1, 0(a0)
  li a1, 0xa1; li a2, 0x1000; add a2, a2, a0; sd a1, 0(a2)
  li a0, PA_MEGA2; li a1, 0xb0; sd a1, 0(a0)
  li a1, 0xb1; li a2, 0x1000; add a2, a2, a0; sd a1, 0(a2)
  CLEAR_TABLE(pt_root)
  CLEAR_TABLE(pt_l1)
  CLEAR_TABLE(pt_l0)
  PTE_LABEL(pt_root, 0, pt_l1, PTE_V)
  PTE_PA(pt_root, 2, 0x80000000, LEAF_RWX)                /* identity gigapage */
  PTE_LABEL(pt_l1, 0, pt_l0, PTE_V)
  PTE_PA(pt_l1, 1, PA_MEGA1, LEAF_RW)                     /* VA_MEGA: 2 MiB page */
  PTE_LABEL(pt_l0, 1, page_1, LEAF_RW)                    /* VA_PAGE */
  lla a0, pt_root; srli a0, a0, 12; li a1, SATP_MODE_SV39; or a0, a0, a1
  li a1, 5 << 44; or a0, a0, a1                           /* ASID 5 */
  csrw satp, a0
  sfence.vma

  ENTER_MODE(PRV_S, s_start)
s_start:
  /* ------------------------------------------------------------ a 4 KiB page */
  TEST_BEGIN
  li a1, VA_PAGE; ld a2, 0(a1); CHECK_EQ(a2, 0x1111)
  sd a2, 8(a1)                                            /* cached for stores too */
  PTE_LABEL(pt_l0, 1, page_2, LEAF_RW)
  li a1, VA_PAGE + 0x10
  sfence.vma a1                                           /* any address in the page */
  TEST_BEGIN
  li a1, VA_PAGE; ld a2, 0(a1); CHECK_EQ(a2, 0x2222)
  li a3, 0x77; sd a3, 8(a1)
  lla a4, page_2; ld a5, 8(a4); CHECK_EQ(a5, 0x77)        /* the store went to the new page */
  lla a4, page_1; ld a5, 8(a4); CHECK_EQ(a5, 0x1111)

  /* ------------------------------------------------------------ the same with the ASID operand */
  PTE_LABEL(pt_l0, 1, page_1, LEAF_RW)
  li a1, VA_PAGE; li a2, 5
  sfence.vma a1, a2
  TEST_BEGIN
  li a1, VA_PAGE; ld a2, 0(a1); CHECK_EQ(a2, 0x1111)

  /* ------------------------------------------------------------ a 2 MiB superpage */
  TEST_BEGIN
  li a1, VA_MEGA; ld a2, 0(a1); CHECK_EQ(a2, 0xa0)
  li a1, VA_MEGA + 0x1000; ld a2, 0(a1); CHECK_EQ(a2, 0xa1)
  PTE_PA(pt_l1, 1, PA_MEGA2, LEAF_RW)
  li a1, VA_MEGA
  sfence.vma a1                                           /* names the superpage's first page only */
  TEST_BEGIN
  li a1, VA_MEGA + 0x1000; ld a2, 0(a1); CHECK_EQ(a2, 0xb1)
  li a1, VA_MEGA; ld a2, 0(a1); CHECK_EQ(a2, 0xb0)

  /* ------------------------------------------------------------ an invalidated PTE faults */
  PTE_ADDR(a3, pt_l1, 1); sd zero, 0(a3)
  li a1, VA_MEGA + 0x1000
  sfence.vma a1
  LOAD_FAULT(VA_MEGA + 0x1000)

  GOTO_M(1f)
1:
RVTEST_CODE_END

RVTEST_DATA_BEGIN
  .align 12
pt_root: .skip 4096
pt_l1:   .skip 4096
pt_l0:   .skip 4096
page_1:  .dword 0x1111
  .balign 4096
page_2:  .dword 0x2222
  .balign 4096
RVTEST_DATA_END

/*
 * Svpbmt and Svinval, from S-mode with page tables built by the test.
 * Svpbmt: with menvcfg.PBMTE set, a leaf PTE's bits 62:61 name a memory
 * type (1 NC, 2 IO: accesses work as usual here), 3 is reserved (page
 * fault), and the bits stay reserved in a pointer PTE; with PBMTE clear
 * they are reserved bits like 60:54. Svinval: sinval.vma invalidates like
 * sfence.vma (a changed PTE is seen after sfence.w.inval, sinval.vma,
 * sfence.inval.ir), is illegal in U-mode and, with mstatus.TVM, in S-mode;
 * the two fences are illegal in U-mode only. Svadu: with menvcfg.ADUE set
 * (from reset) the walk sets A and D; with it clear, a missing A or (for a
 * store) D is a page fault, as Svade has it. Svnapot: a 4 KiB leaf with N
 * set and PPN ending in 1000 maps the 64 KiB range around the address; N
 * with other PPN bits, in a pointer or in a superpage is reserved.
 */
#include "macros.h"
#include "vm.h"

  .option arch, +svinval

#define CSR_MENVCFG 0x30a
#define MENVCFG_PBMTE (1 << 62)
#define PBMT(v) ((v) << 61)

#define VA_NC   0x1000
#define VA_IO   0x2000
#define VA_RES  0x3000
#define VA_SW   0x4000
#define VA_PTR  0x200000
#define VA_NOA  0x5000
#define VA_NOD  0x6000
#define MENVCFG_ADUE (1 << 61)
#define PTE_N (1 << 63)
#define VA_NAPOT 0x10000                   /* pt_l0 entries 16..31 */
#define VA_NAPOT_BAD 0x7000                /* N with PPN[3:0] = 0000 */
#define VA_NAPOT_PTR 0x400000              /* N in a pointer PTE */


RVTEST_CODE_BEGIN

  CLEAR_TABLE(pt_root)
  CLEAR_TABLE(pt_l1)
  CLEAR_TABLE(pt_l0)
  CLEAR_TABLE(pt_l0b)
  PTE_LABEL(pt_root, 0, pt_l1, PTE_V)
  PTE_PA(pt_root, 1, 0x80000000, LEAF_RWX | PTE_U)          /* user alias of RAM */
  PTE_PA(pt_root, 2, 0x80000000, LEAF_RWX)                  /* identity, where the code runs */
  PTE_LABEL(pt_l1, 0, pt_l0, PTE_V)
  PTE_LABEL(pt_l1, 1, pt_l0b, PTE_V | PBMT(1))              /* a pointer may not have a type */
  PTE_LABEL(pt_l0, 1, page_a, LEAF_RW | PBMT(1))
  PTE_LABEL(pt_l0, 2, page_a, LEAF_RW | PBMT(2))
  PTE_LABEL(pt_l0, 3, page_a, LEAF_RW | PBMT(3))
  PTE_LABEL(pt_l0, 4, page_a, LEAF_RW)
  PTE_LABEL(pt_l0b, 0, page_a, LEAF_RW)
  PTE_LABEL(pt_l0, 5, page_b, PTE_V | PTE_R | PTE_W)        /* A and D clear */
  PTE_LABEL(pt_l0, 6, page_b, PTE_V | PTE_R | PTE_W | PTE_A) /* D clear */
  /* Svnapot: the same PTE in entries 16..31, for the 64 KiB at napot_region */
  lla t0, napot_region; srli t0, t0, 12; ori t0, t0, 8; slli t0, t0, 10
  li t1, LEAF_RW | PTE_N; or t0, t0, t1
  lla t1, pt_l0 + 16 * 8; li t2, 16
1: sd t0, 0(t1); addi t1, t1, 8; addi t2, t2, -1; bnez t2, 1b
  lla t0, page_a; srli t0, t0, 12; slli t0, t0, 10; li t1, LEAF_RW | PTE_N; or t0, t0, t1
  PTE_ADDR(t1, pt_l0, 7); sd t0, 0(t1)
  lla t0, pt_l0b; srli t0, t0, 12; ori t0, t0, 8; slli t0, t0, 10; li t1, PTE_V | PTE_N; or t0, t0, t1
  PTE_ADDR(t1, pt_l1, 2); sd t0, 0(t1)
  /* a different word at the start of each 4 KiB page of the region */
  lla t0, napot_region; li t1, 0; li t2, 16
1: sd t1, 0(t0); li t3, 4096; add t0, t0, t3; addi t1, t1, 0x11; addi t2, t2, -1; bnez t2, 1b
  lla a0, pt_root; srli a0, a0, 12; li a1, SATP_MODE_SV39; or a0, a0, a1
  csrw satp, a0
  li t0, MENVCFG_PBMTE; csrs CSR_MENVCFG, t0
  sfence.vma

  TEST_BEGIN                               /* PBMTE is writable */
  csrr a0, CSR_MENVCFG; li t0, MENVCFG_PBMTE; and a0, a0, t0; CHECK_EQ(a0, MENVCFG_PBMTE)

  ENTER_MODE(PRV_S, s_types)
s_types:
  TEST_BEGIN                               /* NC and IO pages read and write as usual */
  li a1, VA_NC; ld a2, 0(a1); CHECK_EQ(a2, 0x0123456789abcdef)
  TEST_BEGIN
  li a1, VA_IO; li a2, 0x5a5a; sd a2, 8(a1)
  li a1, VA_NC; ld a3, 8(a1); CHECK_EQ(a3, 0x5a5a)
  TEST_BEGIN                               /* Svnapot: each 4 KiB of the range lands in its place */
  li a1, VA_NAPOT; ld a2, 0(a1); CHECK_EQ(a2, 0)
  li a1, VA_NAPOT + 0x3000; ld a2, 0(a1); CHECK_EQ(a2, 0x33)
  li a1, VA_NAPOT + 0xf000; ld a2, 0(a1); CHECK_EQ(a2, 0xff)
  TEST_BEGIN                               /* and a store through it reaches the region */
  li a1, VA_NAPOT + 0x5008; li a2, 0x77; sd a2, 0(a1)
  lla a3, napot_region; li t0, 0x5008; add a3, a3, t0; ld a4, 0(a3); CHECK_EQ(a4, 0x77)
  LOAD_FAULT(VA_NAPOT_BAD)                 /* N with PPN[3:0] != 1000 */
  LOAD_FAULT(VA_NAPOT_PTR)                 /* N in a pointer */
  LOAD_FAULT(VA_RES)                       /* PBMT = 3 is reserved */
  LOAD_FAULT(VA_PTR)                       /* PBMT bits in a pointer PTE */

  /* Svinval: change the PTE of VA_SW from page_a to page_b, then the sequence. */
  TEST_BEGIN
  li a1, VA_SW; ld a2, 0(a1); CHECK_EQ(a2, 0x0123456789abcdef)
  PTE_LABEL(pt_l0, 4, page_b, LEAF_RW)
  sfence.w.inval
  li a1, VA_SW; sinval.vma a1, zero
  sfence.inval.ir
  TEST_BEGIN
  li a1, VA_SW; ld a2, 0(a1); CHECK_EQ(a2, 0x0fedcba987654321)

  GOTO_M(1f)
1: li t0, MSTATUS_TVM; csrs mstatus, t0    /* TVM: sinval.vma is illegal in S, the fences not */
  ENTER_MODE(PRV_S, s_tvm)
s_tvm:
  TEST_ILLEGAL(sinval.vma zero, zero)
  TEST_BEGIN
  sfence.w.inval
  sfence.inval.ir
  GOTO_M(1f)
1: li t0, MSTATUS_TVM; csrc mstatus, t0
  USER_VA(a0, u_code)                      /* U-mode: all three are illegal (see u_code) */
  ENTER_MODE_REG(PRV_U, a0)
u_back:
  TEST_BEGIN
  CHECK_MCAUSE(CAUSE_USER_ECALL)
  /* PBMTE clear: the type bits are reserved again. */
  li t0, MENVCFG_PBMTE; csrc CSR_MENVCFG, t0
  sfence.vma
  ENTER_MODE(PRV_S, s_plain)
s_plain:
  LOAD_FAULT(VA_NC)
  LOAD_FAULT(VA_IO)
  TEST_BEGIN                               /* a page without a type still works */
  li a1, VA_SW; ld a2, 0(a1); CHECK_EQ(a2, 0x0fedcba987654321)
  GOTO_M(1f)
1:
  /* Svadu off (Svade): A and D are software's to set. */
  TEST_BEGIN                               /* ADUE is set from reset, and writable */
  csrr a0, CSR_MENVCFG; li t0, MENVCFG_ADUE; and a0, a0, t0; CHECK_EQ(a0, MENVCFG_ADUE)
  li t0, MENVCFG_ADUE; csrc CSR_MENVCFG, t0
  sfence.vma
  ENTER_MODE(PRV_S, s_svade)
s_svade:
  LOAD_FAULT(VA_NOA)
  STORE_FAULT(VA_NOA)
  TEST_BEGIN                               /* A set: a load works, a store faults (no D) */
  li a1, VA_NOD; ld a2, 0(a1); CHECK_EQ(a2, 0x0fedcba987654321)
  STORE_FAULT(VA_NOD)
  GOTO_M(1f)
1: TEST_BEGIN                              /* the PTEs were left alone */
  PTE_ADDR(a3, pt_l0, 5); ld a4, 0(a3); andi a4, a4, PTE_A | PTE_D; CHECK_EQ(a4, 0)
  PTE_ADDR(a3, pt_l0, 6); ld a4, 0(a3); andi a4, a4, PTE_A | PTE_D; CHECK_EQ(a4, PTE_A)
  li t0, MENVCFG_ADUE; csrs CSR_MENVCFG, t0
  sfence.vma
  ENTER_MODE(PRV_S, s_svadu)
s_svadu:
  TEST_BEGIN                               /* ADUE again: the store goes, D is set */
  li a1, VA_NOD; li a2, 0x5151; sd a2, 16(a1); ld a3, 16(a1); CHECK_EQ(a3, 0x5151)
  GOTO_M(1f)
1: TEST_BEGIN
  PTE_ADDR(a3, pt_l0, 6); ld a4, 0(a3); andi a4, a4, PTE_A | PTE_D; CHECK_EQ(a4, PTE_A | PTE_D)
  j pass

u_code:                                    /* runs at its user alias */
  TEST_ILLEGAL(sinval.vma zero, zero)
  TEST_ILLEGAL(sfence.w.inval)
  TEST_ILLEGAL(sfence.inval.ir)
  U_GOTO_M(u_back)

RVTEST_CODE_END

RVTEST_DATA_BEGIN
  .align 12
pt_root: .skip 4096
pt_l1:   .skip 4096
pt_l0:   .skip 4096
pt_l0b:  .skip 4096
page_a:  .dword 0x0123456789abcdef
  .balign 4096
page_b:  .dword 0x0fedcba987654321
  .balign 4096
  .balign 65536
napot_region: .skip 65536
RVTEST_DATA_END

/*
 * Sv39 translation, run from S-mode (and U-mode) with page tables built by
 * the test: 4 KiB pages, 2 MiB and 1 GiB superpages (and misaligned ones,
 * which fault), the upper half of the address space, non-canonical
 * addresses, invalid and reserved (W without R) PTEs, a pointer PTE at the
 * last level, R/W/X permission faults (12/13/15, mtval = faulting VA),
 * U-bit rules (S may not touch U pages unless SUM, never execute them; U may
 * only touch U pages), MXR, MPRV (M-mode loads/stores translated with MPP's
 * privilege), hardware A/D updates, sfence.vma after a PTE change,
 * mstatus.TVM/TSR/TW, and page faults delegated to S (scause/stval/sepc).
 */
#include "macros.h"
#include "vm.h"

#define VA_R      0x1000
#define VA_RW     0x2000
#define VA_X      0x3000
#define VA_U      0x4000
#define VA_WO     0x5000
#define VA_INV    0x6000
#define VA_AD     0x7000
#define VA_D      0x8000
#define VA_SF     0x9000
#define VA_UX     0xa000
#define VA_UXO    0xb000
#define VA_PTR0   0xc000
#define VA_MEGA   0x200000
#define VA_MEGA_BAD 0x400000
#define VA_GIGA_BAD 0xc0000000
#define VA_HIGH   0xffffffffc0000000
#define VA_NONCANON1 0x0000004000000000
#define VA_NONCANON2 0x0000008000000000

RVTEST_CODE_BEGIN

  /* ------------------------------------------------------------ build the tables (M-mode) */
  CLEAR_TABLE(pt_root)
  CLEAR_TABLE(pt_l1)
  CLEAR_TABLE(pt_l0)
  PTE_LABEL(pt_root, 0, pt_l1, PTE_V)
  PTE_PA(pt_root, 1, 0x80000000, LEAF_RWX | PTE_U)        /* user alias of RAM */
  PTE_PA(pt_root, 2, 0x80000000, LEAF_RWX)                /* identity */
  PTE_PA(pt_root, 3, 0x80200000, LEAF_RW)                 /* misaligned gigapage */
  PTE_PA(pt_root, 511, 0x80000000, LEAF_RW)               /* upper half */
  PTE_LABEL(pt_l1, 0, pt_l0, PTE_V)
  PTE_PA(pt_l1, 1, 0x80000000, LEAF_RW)                   /* 2 MiB page */
  PTE_PA(pt_l1, 2, 0x80001000, LEAF_RW)                   /* misaligned megapage */
  PTE_LABEL(pt_l0, 1, page_r, LEAF_R)
  PTE_LABEL(pt_l0, 2, page_rw, LEAF_RW)
  PTE_LABEL(pt_l0, 3, page_x, LEAF_X)
  PTE_LABEL(pt_l0, 4, page_u, LEAF_RW | PTE_U)
  PTE_LABEL(pt_l0, 5, page_wo, PTE_V | PTE_W | PTE_A | PTE_D)
  PTE_LABEL(pt_l0, 6, page_wo, PTE_R | PTE_W | PTE_A | PTE_D)   /* V = 0 */
  PTE_LABEL(pt_l0, 7, page_ad, PTE_V | PTE_R | PTE_W)
  PTE_LABEL(pt_l0, 8, page_d, PTE_V | PTE_R | PTE_W | PTE_A)
  PTE_LABEL(pt_l0, 9, page_sf1, LEAF_RW)
  PTE_LABEL(pt_l0, 10, page_ux, LEAF_X | PTE_R | PTE_U)
  PTE_LABEL(pt_l0, 11, page_uxo, LEAF_X | PTE_U)
  PTE_LABEL(pt_l0, 12, pt_l0, PTE_V)                      /* pointer at level 0 */
  lla a0, pt_root; srli a0, a0, 12; li a1, SATP_MODE_SV39; or a0, a0, a1
  csrw satp, a0
  sfence.vma

  TEST_BEGIN                               /* satp reads back (Sv39 supported) */
  csrr a1, satp; CHECK_REG(a1, a0)
  TEST_BEGIN                               /* M-mode is not translated */
  lla a1, page_r; ld a2, 0(a1); CHECK_EQ(a2, 0x1111111111111111)

  ENTER_MODE(PRV_S, s_start)
s_start:
  /* ------------------------------------------------------------ basic translation */
  TEST_BEGIN
  li a1, VA_R; ld a2, 0(a1); CHECK_EQ(a2, 0x1111111111111111)
  TEST_BEGIN
  li a1, VA_RW; li a2, 0x2222; sd a2, 8(a1)
  lla a3, page_rw; ld a4, 8(a3); CHECK_EQ(a4, 0x2222)      /* the identity view sees it */
  TEST_BEGIN                               /* last byte of the page */
  li a1, VA_R + 4095; lbu a2, 0(a1); CHECK_EQ(a2, 0x5a)
  TEST_BEGIN                               /* execute from an X-only page */
  li a1, VA_X; li a0, 0; jalr ra, 0(a1); CHECK_EQ(a0, 0x33)
  TEST_BEGIN                               /* 2 MiB page */
  lla a1, page_r; li a2, 0x80000000 - VA_MEGA; sub a1, a1, a2
  ld a2, 0(a1); CHECK_EQ(a2, 0x1111111111111111)
  TEST_BEGIN                               /* 1 GiB page in the upper half */
  lla a1, page_r; li a2, 0x80000000; sub a1, a1, a2; li a2, VA_HIGH; add a1, a1, a2
  ld a2, 0(a1); CHECK_EQ(a2, 0x1111111111111111)
  TEST_BEGIN                               /* user alias is not for S (U = 1, SUM = 0) */
  USER_VA(a1, page_r)
  EXPECT_TRAP(2f)
  ld a2, 0(a1)
2: CHECK_MCAUSE(CAUSE_LOAD_PAGE_FAULT)
  USER_VA(a1, page_r); ld t5, isa_mtrap + TR_TVAL; CHECK_REG(t5, a1)

  /* ------------------------------------------------------------ faults */
#define FETCH_FAULT(va) \
  TEST_BEGIN; li a1, va; EXPECT_TRAP(8644f); jalr ra, 0(a1); \
  8644: CHECK_PF(CAUSE_FETCH_PAGE_FAULT, va); ld t5, isa_mtrap + TR_EPC; CHECK_EQ(t5, va)

  STORE_FAULT(VA_R)                        /* read-only */
  STORE_FAULT(VA_R + 0x808)
  FETCH_FAULT(VA_R)                        /* not executable */
  FETCH_FAULT(VA_RW + 0x10)
  LOAD_FAULT(VA_X)                         /* execute-only */
  STORE_FAULT(VA_X)
  LOAD_FAULT(VA_WO)                        /* W without R is reserved */
  STORE_FAULT(VA_WO)
  LOAD_FAULT(VA_INV)                       /* V = 0 */
  STORE_FAULT(VA_INV + 8)
  FETCH_FAULT(VA_INV)
  LOAD_FAULT(VA_PTR0)                      /* pointer PTE at level 0 */
  LOAD_FAULT(VA_MEGA_BAD)                  /* misaligned superpages */
  LOAD_FAULT(VA_MEGA_BAD + 0x1000)
  LOAD_FAULT(VA_GIGA_BAD)
  LOAD_FAULT(0x100000)                     /* unmapped (zero PTE) in the first 2 MiB */
  LOAD_FAULT(0x12345678)                   /* zero level-1 PTE */
  LOAD_FAULT(0x140000000)                  /* zero root PTE */
  LOAD_FAULT(VA_NONCANON1)                 /* bits 63:39 differ from bit 38 */
  LOAD_FAULT(VA_NONCANON2)
  STORE_FAULT(0xffffff8000000000)
  FETCH_FAULT(0x0000008000001000)
  TEST_BEGIN                               /* S may not touch U pages (SUM = 0) */
  li a1, VA_U; EXPECT_TRAP(2f); ld a2, 0(a1)
2: CHECK_PF(CAUSE_LOAD_PAGE_FAULT, VA_U)
  STORE_FAULT(VA_U)
  TEST_BEGIN                               /* SUM = 1: load and store allowed */
  li a1, MSTATUS_SUM; csrs sstatus, a1
  li a1, VA_U; ld a2, 0(a1); CHECK_EQ(a2, 0x4444444444444444)
  li a2, 0x4545; sd a2, 8(a1); ld a3, 8(a1); CHECK_EQ(a3, 0x4545)
  FETCH_FAULT(VA_UX)                       /* S never executes U pages */
  li a1, MSTATUS_SUM; csrc sstatus, a1
  TEST_BEGIN                               /* MXR = 1: loads from X-only pages work */
  li a1, MSTATUS_MXR; csrs sstatus, a1
  li a1, VA_X; lw a2, 0(a1)
  lla a3, page_x; lw a3, 0(a3); CHECK_REG(a2, a3)
  STORE_FAULT(VA_X)                        /* ... stores still fault */
  li a1, MSTATUS_MXR; csrc sstatus, a1
  LOAD_FAULT(VA_X)

  /* ------------------------------------------------------------ A and D */
  TEST_BEGIN                               /* a load sets A, not D */
  li a1, VA_AD; ld a2, 0(a1)
  PTE_ADDR(a3, pt_l0, 7); ld a4, 0(a3); andi a4, a4, PTE_A | PTE_D; CHECK_EQ(a4, PTE_A)
  TEST_BEGIN                               /* a store sets D */
  li a2, 0xadad; sd a2, 0(a1)
  ld a4, 0(a3); andi a4, a4, PTE_A | PTE_D; CHECK_EQ(a4, PTE_A | PTE_D)
  lla a3, page_ad; ld a4, 0(a3); CHECK_EQ(a4, 0xadad)
  TEST_BEGIN                               /* A already set: a store sets D */
  li a1, VA_D; sd a1, 0(a1)
  PTE_ADDR(a3, pt_l0, 8); ld a4, 0(a3); andi a4, a4, PTE_A | PTE_D; CHECK_EQ(a4, PTE_A | PTE_D)
  TEST_BEGIN                               /* a fetch sets A */
  PTE_ADDR(a3, pt_l0, 3); ld a4, 0(a3); andi a4, a4, ~PTE_A; sd a4, 0(a3)
  sfence.vma
  li a1, VA_X; jalr ra, 0(a1)
  PTE_ADDR(a3, pt_l0, 3); ld a4, 0(a3); andi a4, a4, PTE_A | PTE_D; CHECK_EQ(a4, PTE_A)
  /* a faulting store does not set A or D */
  PTE_ADDR(a3, pt_l0, 1); ld a4, 0(a3); andi a4, a4, ~(PTE_A | PTE_D); sd a4, 0(a3)
  sfence.vma
  STORE_FAULT(VA_R)
  TEST_BEGIN
  PTE_ADDR(a3, pt_l0, 1); ld a4, 0(a3); andi a4, a4, PTE_A | PTE_D; CHECK_EQ(a4, 0)

  /* ------------------------------------------------------------ sfence.vma */
  TEST_BEGIN
  li a1, VA_SF; ld a2, 0(a1); CHECK_EQ(a2, 0x5f15f1)
  PTE_LABEL(pt_l0, 9, page_sf2, LEAF_RW)
  sfence.vma
  ld a2, 0(a1); CHECK_EQ(a2, 0x5f25f2)
  TEST_BEGIN                               /* sfence.vma for one address */
  PTE_LABEL(pt_l0, 9, page_sf1, LEAF_RW)
  li a1, VA_SF
  sfence.vma a1
  ld a2, 0(a1); CHECK_EQ(a2, 0x5f15f1)
  TEST_BEGIN                               /* for one address and ASID 0 */
  PTE_LABEL(pt_l0, 9, page_sf2, LEAF_RW)
  li a1, VA_SF
  sfence.vma a1, zero
  ld a2, 0(a1); CHECK_EQ(a2, 0x5f25f2)
  /* invalidated entry: page fault after sfence */
  PTE_ADDR(a3, pt_l0, 9); sd zero, 0(a3)
  sfence.vma
  LOAD_FAULT(VA_SF)

  /* ------------------------------------------------------------ U-mode */
  GOTO_M(1f)
1: USER_VA(a0, u_code)                      /* U-mode cases: see u_code */
  ENTER_MODE_REG(PRV_U, a0)
u_back:
  TEST_BEGIN                               /* back from U through ecall */
  CHECK_MCAUSE(CAUSE_USER_ECALL)
  ld a0, u_result; CHECK_EQ(a0, 0x600d)

  /* ------------------------------------------------------------ MPRV */
  TEST_BEGIN                               /* MPRV = 1, MPP = S: loads translated as S */
  li a1, MSTATUS_MPP; csrc mstatus, a1; li a1, MSTATUS_MPP_S | MSTATUS_MPRV; csrs mstatus, a1
  li a1, VA_R; ld a2, 0(a1)
  li a1, MSTATUS_MPRV; csrc mstatus, a1
  CHECK_EQ(a2, 0x1111111111111111)
  TEST_BEGIN                               /* ... stores too */
  li a1, MSTATUS_MPRV; csrs mstatus, a1
  li a1, VA_RW; li a2, 0x3030; sd a2, 16(a1)
  li a1, MSTATUS_MPRV; csrc mstatus, a1
  lla a3, page_rw; ld a4, 16(a3); CHECK_EQ(a4, 0x3030)
  TEST_BEGIN                               /* ... and faults are page faults with the VA */
  EXPECT_TRAP(2f)                          /* (before MPRV: it stores to memory) */
  li a1, MSTATUS_MPRV; csrs mstatus, a1
  li a1, VA_R
  sd a1, 0(a1)
2: li a1, MSTATUS_MPRV; csrc mstatus, a1
  CHECK_PF(CAUSE_STORE_PAGE_FAULT, VA_R)
  TEST_BEGIN                               /* MPP = U: a U page is fine, an S page faults */
  li a1, MSTATUS_MPP; csrc mstatus, a1; li a1, MSTATUS_MPRV; csrs mstatus, a1
  li a1, VA_U; ld a2, 0(a1)
  li a1, MSTATUS_MPRV; csrc mstatus, a1
  CHECK_EQ(a2, 0x4444444444444444)
  TEST_BEGIN
  EXPECT_TRAP(2f)
  li a1, MSTATUS_MPRV; csrs mstatus, a1
  li a1, VA_R
  ld a2, 0(a1)
2: li a1, MSTATUS_MPRV; csrc mstatus, a1
  CHECK_PF(CAUSE_LOAD_PAGE_FAULT, VA_R)
  TEST_BEGIN                               /* MPP = M: no translation */
  li a1, MSTATUS_MPP_M | MSTATUS_MPRV; csrs mstatus, a1
  lla a1, page_r; ld a2, 0(a1)
  li a1, MSTATUS_MPRV; csrc mstatus, a1
  CHECK_EQ(a2, 0x1111111111111111)
  TEST_BEGIN                               /* MPRV does not affect instruction fetch */
  li a1, MSTATUS_MPP; csrc mstatus, a1; li a1, MSTATUS_MPP_S | MSTATUS_MPRV; csrs mstatus, a1
  li a0, 5; addi a0, a0, 1; CHECK_EQ(a0, 6)
  li a1, MSTATUS_MPRV; csrc mstatus, a1

  /* ------------------------------------------------------------ TVM / TSR / TW */
  TEST_BEGIN                               /* TVM: satp and sfence.vma illegal in S */
  li a1, MSTATUS_TVM; csrs mstatus, a1
  ENTER_MODE(PRV_S, 1f)
1: EXPECT_TRAP(2f)
3: csrr a0, satp
2: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  CHECK_MEPC(3b)
  CHECK_MTVAL(0x18002573)
  TEST_BEGIN
  EXPECT_TRAP(2f)
  sfence.vma
2: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  CHECK_MTVAL(0x12000073)
  TEST_BEGIN                               /* TVM = 0 again: allowed */
  GOTO_M(1f)
1: li a1, MSTATUS_TVM; csrc mstatus, a1
  ENTER_MODE(PRV_S, 1f)
1: csrr a0, satp; sfence.vma
  srli a0, a0, 60; CHECK_EQ(a0, 8)
  TEST_BEGIN                               /* TSR: sret illegal in S */
  GOTO_M(1f)
1: li a1, MSTATUS_TSR; csrs mstatus, a1
  ENTER_MODE(PRV_S, 1f)
1: EXPECT_TRAP(2f)
  lla a1, 2f; csrw sepc, a1
  sret
2: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  CHECK_MTVAL(0x10200073)
  TEST_BEGIN                               /* TW: wfi illegal in S */
  GOTO_M(1f)
1: li a1, MSTATUS_TSR; csrc mstatus, a1; li a1, MSTATUS_TW; csrs mstatus, a1
  ENTER_MODE(PRV_S, 1f)
1: EXPECT_TRAP(2f)
3: wfi
2: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  CHECK_MEPC(3b)
  CHECK_MTVAL(0x10500073)
  GOTO_M(1f)
1: li a1, MSTATUS_TW; csrc mstatus, a1

  /* ------------------------------------------------------------ delegated page faults */
  TEST_BEGIN
  li a1, (1 << CAUSE_FETCH_PAGE_FAULT) | (1 << CAUSE_LOAD_PAGE_FAULT) | (1 << CAUSE_STORE_PAGE_FAULT)
  csrw medeleg, a1
  ENTER_MODE(PRV_S, 1f)
1: li a1, VA_INV
  EXPECT_STRAP(2f)
3: ld a2, 0(a1)
2: CHECK_SCAUSE(CAUSE_LOAD_PAGE_FAULT)
  CHECK_SEPC(3b)
  CHECK_STVAL(VA_INV)
  CHECK_SSTATUS_BITS(MSTATUS_SPP, MSTATUS_SPP)
  TEST_BEGIN
  li a1, VA_R
  EXPECT_STRAP(2f)
  sd a1, 0(a1)
2: CHECK_SCAUSE(CAUSE_STORE_PAGE_FAULT)
  CHECK_STVAL(VA_R)
  TEST_BEGIN
  li a1, VA_RW
  EXPECT_STRAP(2f)
  jalr ra, 0(a1)
2: CHECK_SCAUSE(CAUSE_FETCH_PAGE_FAULT)
  CHECK_STVAL(VA_RW)
  ld t5, isa_strap + TR_EPC; CHECK_EQ(t5, VA_RW)
  TEST_BEGIN                               /* from U: the S handler gets it, SPP = U */
  GOTO_M(1f)
1: USER_VA(a0, u_code2)
  ENTER_MODE_REG(PRV_U, a0)
u_back2:
  CHECK_MCAUSE(CAUSE_USER_ECALL)
  CHECK_SCAUSE(CAUSE_LOAD_PAGE_FAULT)
  CHECK_STVAL(VA_R)
  CHECK_SSTATUS_BITS(MSTATUS_SPP, 0)
  csrw medeleg, zero
  csrw satp, zero
  sfence.vma

RVTEST_CODE_END

/* ------------------------------------------------------------------ U-mode code
   Runs at its user-alias address; everything it references is PC-relative.
   Reports failures through `fail` (the alias page is writable for U). */
  .align 2
u_code:
  TEST_BEGIN                               /* U reads and writes a U page */
  li a1, VA_U; ld a2, 0(a1); CHECK_EQ(a2, 0x4444444444444444)
  li a2, 0x4646; sd a2, 16(a1); ld a3, 16(a1); CHECK_EQ(a3, 0x4646)
  TEST_BEGIN                               /* U executes a U page */
  li a1, VA_UX; li a0, 0; jalr ra, 0(a1); CHECK_EQ(a0, 0xaa)
  TEST_BEGIN                               /* U may not touch S pages */
  li a1, VA_R; EXPECT_TRAP(2f); ld a2, 0(a1)
2: CHECK_PF(CAUSE_LOAD_PAGE_FAULT, VA_R)
  TEST_BEGIN
  li a1, VA_RW; EXPECT_TRAP(2f); sd a2, 0(a1)
2: CHECK_PF(CAUSE_STORE_PAGE_FAULT, VA_RW)
  TEST_BEGIN
  li a1, VA_X; EXPECT_TRAP(2f); jalr ra, 0(a1)
2: CHECK_PF(CAUSE_FETCH_PAGE_FAULT, VA_X)
  TEST_BEGIN                               /* nor the identity (non-U) gigapage */
  lla a1, page_r; li t2, USER_OFF; add a1, a1, t2
  EXPECT_TRAP(2f); ld a2, 0(a1)
2: CHECK_MCAUSE(CAUSE_LOAD_PAGE_FAULT)
  TEST_BEGIN                               /* U load from an X-only U page faults ... */
  li a1, VA_UXO; EXPECT_TRAP(2f); ld a2, 0(a1)
2: CHECK_PF(CAUSE_LOAD_PAGE_FAULT, VA_UXO)
  li a1, 0x600d; sd a1, u_result, t2
  U_GOTO_M(u_back)

u_code2:
  li a1, VA_R
  EXPECT_STRAP(1f)
  ld a2, 0(a1)
1: U_GOTO_M(u_back2)

RVTEST_DATA_BEGIN
  .align 3
u_result: .dword 0

  .align 12
pt_root: .skip 4096
pt_l1:   .skip 4096
pt_l0:   .skip 4096
page_r:  .dword 0x1111111111111111
  .skip 4096 - 9
  .byte 0x5a
page_rw: .skip 4096
page_x:
  li a0, 0x33
  ret
  .balign 4096
page_u:  .dword 0x4444444444444444
  .balign 4096
page_wo: .skip 4096
page_ad: .skip 4096
page_d:  .skip 4096
page_sf1: .dword 0x5f15f1
  .balign 4096
page_sf2: .dword 0x5f25f2
  .balign 4096
page_ux:
  li a0, 0xaa
  ret
  .balign 4096
page_uxo:
  ret
  .balign 4096
RVTEST_DATA_END

/*
 * Cache-block operations (Zicbom, Zicboz; privileged spec for menvcfg and
 * senvcfg): cbo.zero clears the 64-byte block holding its address and
 * nothing else; cbo.clean, cbo.flush and cbo.inval change nothing (memory is
 * coherent) but fault like a store where neither a load nor a store may go
 * (tval: the block's address, as QEMU and Spike report it);
 * below M-mode each needs its menvcfg field (CBZE, CBCFE, CBIE), in U-mode
 * its senvcfg field too, else it is illegal. The assembler predates Zicbo*:
 * encodings are written out (rs1 = a1).
 */
#include "macros.h"
#include "vm.h"

#define CSR_MENVCFG 0x30a
#define CSR_SENVCFG 0x10a
#define CB_ALL ((3 << 4) | (1 << 6) | (1 << 7))
#define CBO_INVAL 0x0005a00f
#define CBO_CLEAN 0x0015a00f
#define CBO_FLUSH 0x0025a00f
#define CBO_ZERO  0x0045a00f

#define VA_RO  0x1000
#define VA_INV 0x2000

#define ALLOWED(enc) \
  TEST_BEGIN; lla a1, block; .word enc
#define STORE_PF(enc, va, tval) \
  TEST_BEGIN; li a1, va; EXPECT_TRAP(8642f); 8643: .word enc; \
  8642: CHECK_PF(CAUSE_STORE_PAGE_FAULT, tval); CHECK_MEPC(8643b)

RVTEST_CODE_BEGIN

  /* ------------------------------------------------------------ M-mode */
  TEST_BEGIN                               /* cbo.zero: the 64-byte block, nothing around it */
  lla a2, around; li a3, -1; li a4, 80
1: sd a3, 0(a2); addi a2, a2, 8; addi a4, a4, -8; bnez a4, 1b
  lla a1, block; addi a1, a1, 37; .word CBO_ZERO
  lla a2, block; ld a3, 0(a2); CHECK_EQ(a3, 0)
  ld a3, 56(a2); CHECK_EQ(a3, 0)
  ld a3, -8(a2); CHECK_EQ(a3, -1)
  ld a3, 64(a2); CHECK_EQ(a3, -1)
  ALLOWED(CBO_CLEAN)
  ALLOWED(CBO_FLUSH)
  ALLOWED(CBO_INVAL)
  TEST_BEGIN                               /* the envcfg fields are writable; CBIE 10 reads 00 */
  li t0, CB_ALL; csrs CSR_MENVCFG, t0; csrr a0, CSR_MENVCFG; and a0, a0, t0; CHECK_EQ(a0, CB_ALL)
  li t0, 3 << 4; csrc CSR_MENVCFG, t0; li t0, 2 << 4; csrs CSR_MENVCFG, t0
  csrr a0, CSR_MENVCFG; li t0, 3 << 4; and a0, a0, t0; CHECK_EQ(a0, 0)

  /* ------------------------------------------------------------ S and U without the fields */
  li t0, CB_ALL; csrc CSR_MENVCFG, t0; csrc CSR_SENVCFG, t0
  ENTER_MODE(PRV_S, s_none)
s_none:
  TEST_ILLEGAL_ENC(.word, CBO_ZERO)
  TEST_ILLEGAL_ENC(.word, CBO_CLEAN)
  TEST_ILLEGAL_ENC(.word, CBO_FLUSH)
  TEST_ILLEGAL_ENC(.word, CBO_INVAL)
  GOTO_M(1f)
1: li t0, CB_ALL; csrs CSR_MENVCFG, t0
  ENTER_MODE(PRV_S, s_all)
s_all:
  ALLOWED(CBO_ZERO)
  ALLOWED(CBO_CLEAN)
  ALLOWED(CBO_FLUSH)
  ALLOWED(CBO_INVAL)
  GOTO_M(1f)
1: lla a0, u_none                          /* U: senvcfg still clear */
  ENTER_MODE_REG(PRV_U, a0)
u_none:
  TEST_ILLEGAL_ENC(.word, CBO_ZERO)
  TEST_ILLEGAL_ENC(.word, CBO_CLEAN)
  GOTO_M(1f)
1: li t0, 1 << 7; csrs CSR_SENVCFG, t0     /* senvcfg.CBZE only */
  lla a0, u_zero
  ENTER_MODE_REG(PRV_U, a0)
u_zero:
  ALLOWED(CBO_ZERO)
  TEST_ILLEGAL_ENC(.word, CBO_FLUSH)
  GOTO_M(1f)
1:
  /* ------------------------------------------------------------ faults through paging */
  CLEAR_TABLE(pt_root)
  CLEAR_TABLE(pt_l1)
  CLEAR_TABLE(pt_l0)
  PTE_LABEL(pt_root, 0, pt_l1, PTE_V)
  PTE_PA(pt_root, 2, 0x80000000, LEAF_RWX)
  PTE_LABEL(pt_l1, 0, pt_l0, PTE_V)
  PTE_LABEL(pt_l0, 1, block, LEAF_R)
  lla a0, pt_root; srli a0, a0, 12; li a1, SATP_MODE_SV39; or a0, a0, a1
  csrw satp, a0
  sfence.vma
  ENTER_MODE(PRV_S, s_paged)
s_paged:
  STORE_PF(CBO_ZERO, VA_RO + 37, VA_RO)    /* read-only: cbo.zero is a store (tval: the block) */
  TEST_BEGIN                               /* cbo.clean of a read-only page is fine */
  li a1, VA_RO + 37; .word CBO_CLEAN
  STORE_PF(CBO_CLEAN, VA_INV + 8, VA_INV)  /* unmapped: a store/AMO page fault at the block */
  STORE_PF(CBO_INVAL, VA_INV, VA_INV)
  GOTO_M(1f)
1: csrw satp, zero

RVTEST_CODE_END

RVTEST_DATA_BEGIN
  .align 12
block_page:
  .skip 56
around: .skip 8
block: .skip 64
  .skip 8
  .balign 4096
pt_root: .skip 4096
pt_l1:   .skip 4096
pt_l0:   .skip 4096
RVTEST_DATA_END

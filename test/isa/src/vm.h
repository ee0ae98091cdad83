/*
 * Page-table helpers shared by sv39.S and sv48.S (included after macros.h).
 * Tables are filled in M-mode (physical addresses); S-mode code runs in an
 * identity-mapped gigapage over RAM, U-mode code in a second, user alias of
 * that gigapage at VA = PA - USER_OFF.
 */
#ifndef ISA_VM_H
#define ISA_VM_H

#define USER_OFF 0x40000000
#define LEAF_RWX (PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
#define LEAF_RW  (PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
#define LEAF_R   (PTE_V | PTE_R | PTE_A)
#define LEAF_X   (PTE_V | PTE_X | PTE_A)

/* table[idx] = PTE for the physical address of `label` (clobbers t0-t2) */
#define PTE_LABEL(table, idx, label, flags) \
  lla t0, label; srli t0, t0, 12; slli t0, t0, 10; li t1, flags; or t0, t0, t1; \
  lla t1, table; li t2, (idx) * 8; add t1, t1, t2; sd t0, 0(t1)
/* table[idx] = PTE for the constant physical address pa */
#define PTE_PA(table, idx, pa, flags) \
  li t0, (((pa) >> 12) << 10) | (flags); \
  lla t1, table; li t2, (idx) * 8; add t1, t1, t2; sd t0, 0(t1)
/* reg = address of table[idx] */
#define PTE_ADDR(reg, table, idx) \
  lla reg, table; li t2, (idx) * 8; add reg, reg, t2
/* zero a 4 KiB table */
#define CLEAR_TABLE(table) \
  lla t0, table; li t1, 512; 8630: sd zero, 0(t0); addi t0, t0, 8; addi t1, t1, -1; bnez t1, 8630b
/* reg = user-alias virtual address of label */
#define USER_VA(reg, label) \
  lla reg, label; li t2, USER_OFF; sub reg, reg, t2

/* From U-mode code running at its user alias: ecall into M-mode and continue
   at `label` (given by its alias address, converted to physical) in M-mode. */
#define U_GOTO_M(label) \
  lla t6, isa_mtrap; lla t5, label; li t4, USER_OFF; add t5, t5, t4; \
  sd t5, TR_RESUME(t6); li t5, PRV_M; sd t5, TR_RESUME_PP(t6); ecall

/* expected page fault (resume at the next instruction), checked in S or M */
#define CHECK_PF(cause, va) \
  CHECK_MCAUSE(cause); CHECK_MTVAL(va)

/* a load / store of va must page-fault there (a load leaves its rd alone) */
#define LOAD_FAULT(va) \
  TEST_BEGIN; li a1, va; li a2, 0x77; EXPECT_TRAP(8640f); 8641: ld a2, 0(a1); \
  8640: CHECK_PF(CAUSE_LOAD_PAGE_FAULT, va); CHECK_MEPC(8641b); CHECK_EQ(a2, 0x77)
#define STORE_FAULT(va) \
  TEST_BEGIN; li a1, va; EXPECT_TRAP(8642f); 8643: sd a1, 0(a1); \
  8642: CHECK_PF(CAUSE_STORE_PAGE_FAULT, va); CHECK_MEPC(8643b)

#endif

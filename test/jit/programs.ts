/** Bare-metal programs for the JIT's targeted tests (assembled at test time). */

/** Common start and end: `pass` reports 0 through HTIF, `fail` reports 1. */
const FRAME = (body: string, data = ''): string => `
  .option norvc
  .section .text.init
  .globl _start
_start:
${body}
pass:
  li a7, 1
  j report
fail:
  li a7, 3
report:
  la t0, tohost
  sd a7, 0(t0)
1: j 1b

  .section .tohost, "aw"
  .align 6
  .globl tohost
tohost: .dword 0
  .globl fromhost
fromhost: .dword 0

  .data
  .align 12
${data}
`;

/**
 * Code rewritten after it was translated: a function is called until hot,
 * patched (with fence.i), called again; then a hot loop patches the
 * instruction right after its own store, in the same block.
 */
export const SELF_MODIFYING = FRAME(
  `
  li s0, 0
  li s1, 3000
1:
  jal ra, func
  addi s0, s0, 1
  blt s0, s1, 1b
  li t0, 1
  bne a0, t0, fail

  la t1, func
  li t2, 0x00700513        # addi a0, zero, 7
  sw t2, 0(t1)
  fence.i
  li s0, 0
2:
  jal ra, func
  addi s0, s0, 1
  blt s0, s1, 2b
  li t0, 7
  bne a0, t0, fail

  # In-block patching: on pass 1500 only, the store in this hot loop
  # rewrites the instruction right after it (other passes store elsewhere).
  li s0, 0
  li a1, 0
  la t1, patched
  la t3, scratch
  xor t3, t3, t1           # scratch ^ patched
  li t4, 0x00258593        # addi a1, a1, 2
  li s2, 1500
3:
  xor t5, s0, s2
  seqz t5, t5
  addi t5, t5, -1          # 0 on pass 1500, else all ones
  and t5, t5, t3
  xor t2, t5, t1           # patched on pass 1500, else scratch
  sw t4, 0(t2)
patched:
  addi a1, a1, 1
  addi s0, s0, 1
  blt s0, s1, 3b
  li t0, 4500              # 1500 * 1 + 1500 * 2
  bne a1, t0, fail
  j pass

  .align 4
func:
  addi a0, zero, 1
  ret
`,
  `
scratch: .dword 0
`,
);

/**
 * Faults in the middle of translated blocks: a load, then a store, to an
 * address with nothing behind it, after many good passes. The handler
 * records the trap and skips the instruction.
 */
export const MID_BLOCK_TRAPS = FRAME(
  `
  la t0, handler
  csrw mtvec, t0
  la s2, table
  la t0, good
  li t1, 0
  li t2, 2000
5:
  slli t3, t1, 3
  add t3, t3, s2
  sd t0, 0(t3)
  addi t1, t1, 1
  blt t1, t2, 5b
  li t0, 0x1000            # nothing is mapped there: access faults
  sd t0, -8(t3)

  li s0, 0
  li s3, 0
  li s4, 0
  li s5, 0
1:
  addi s3, s3, 1
  slli t1, s0, 3
  add t1, t1, s2
  ld t2, 0(t1)
  ld t3, 0(t2)             # faults on the last pass
  addi s4, s4, 1
  sd s4, 8(t2)             # faults on the last pass too
  addi s6, s6, 3
  addi s0, s0, 1
  li t4, 2000
  blt s0, t4, 1b
  li t0, 2
  bne s5, t0, fail
  li t0, 2000
  bne s3, t0, fail
  bne s4, t0, fail
  j pass

handler:
  csrr t5, mepc
  addi t5, t5, 4
  csrw mepc, t5
  csrr t6, mcause
  addi s5, s5, 1
  slli s7, s7, 4
  add s7, s7, t6
  mret
`,
  `
good: .dword 0, 0
table: .zero 16000
`,
);

/**
 * A device interrupt raised by a store in mid-block: the software interrupt
 * (CLINT msip) must be taken right after the store, as the interpreter does.
 */
export const STORE_RAISES_INTERRUPT = FRAME(`
  la t0, handler
  csrw mtvec, t0
  li t0, 8                 # mie.MSIE
  csrw mie, t0
  csrsi mstatus, 8         # mstatus.MIE
  li s0, 0
  li s1, 3000
  li s2, 0x02000000        # CLINT msip
  li s3, 0
  li s4, 0
1:
  addi s3, s3, 1
  andi t1, s0, 255
  bnez t1, 2f
  li t2, 1
  sw t2, 0(s2)             # raise msip every 256 passes
2:
  addi s4, s4, 1
  addi s0, s0, 1
  blt s0, s1, 1b
  li t0, 12                # passes 0, 256, ..., 2816
  bne s5, t0, fail
  j pass

handler:
  sw zero, 0(s2)
  addi s5, s5, 1
  csrr t5, mepc
  slli s6, s6, 1
  xor s6, s6, t5
  xor s6, s6, s4
  mret
`);

/** A hot loop that never ends (for budget tests), with a far call out of the page and back. */
export const ENDLESS_LOOP = FRAME(
  `
  li s0, 0
  la s2, buf
1:
  addi s0, s0, 1
  andi t1, s0, 63
  slli t1, t1, 3
  add t1, t1, s2
  ld t2, 0(t1)
  add t2, t2, s0
  sd t2, 0(t1)
  jal ra, far
  j 1b
  .skip 40000
far:
  addi s1, s1, 1
  ret
`,
  `
buf: .zero 512
`,
);

/**
 * Code generated at run time, as a guest JIT or module loader makes it: 300
 * different functions, each copied from a template into one of 96 slots
 * over two pages (so pages are rewritten with other code again and again),
 * patched with its own loop count, made visible with FENCE.I and called 40
 * times. Function k returns 3 * (k + 1); the total is checked.
 */
export const RUNTIME_CODE = FRAME(
  `
  li s0, 0
  li s1, 300
  li s3, 0
  la s4, template
  la s5, codebuf
1:
  li t0, 96
  remu t1, s0, t0
  slli t1, t1, 6
  add s6, s5, t1
  li t2, 0
2:
  slli t3, t2, 2
  add t4, s4, t3
  lw t5, 0(t4)
  add t4, s6, t3
  sw t5, 0(t4)
  addi t2, t2, 1
  li t6, 6
  blt t2, t6, 2b
  lw t5, 4(s6)             # li t0, 1 -> li t0, k + 1
  li t6, 0xfffff
  and t5, t5, t6
  addi t4, s0, 1
  slli t4, t4, 20
  or t5, t5, t4
  sw t5, 4(s6)
  fence.i
  li s7, 40
3:
  jalr ra, 0(s6)
  add s3, s3, a0
  addi s7, s7, -1
  bnez s7, 3b
  addi s0, s0, 1
  blt s0, s1, 1b
  li t0, 5418000           # 40 * 3 * (1 + 2 + ... + 300)
  bne s3, t0, fail
  j pass

  .align 4
template:
  li a0, 0
  li t0, 1
4:
  addi a0, a0, 3
  addi t0, t0, -1
  bnez t0, 4b
  ret
`,
  `
codebuf: .zero 8192
`,
);

/**
 * F and D instructions in a hot loop, so they run translated: conversions
 * from and to integers, compares and moves that write integer registers,
 * arithmetic, FP loads and stores. The integer results are checked; the
 * test also compares every register with the interpreter's.
 */
export const FP_LOOP = FRAME(
  `
  li t0, 0x6000            # mstatus.FS = dirty: FP on
  csrs mstatus, t0
  li s0, 0
  li s1, 200
  li s2, 0
  li s4, 0
  li s5, 0
  fcvt.d.l fa0, zero
  la s3, fpdata
1:
  fcvt.d.l fa1, s0         # reads an integer register
  fmul.d fa2, fa1, fa1
  fadd.d fa0, fa0, fa2
  fsqrt.d fa3, fa2
  fcvt.l.d t1, fa3         # writes one
  add s2, s2, t1
  flt.d t2, fa1, fa3
  add s2, s2, t2
  fle.d t3, fa1, fa3
  add s2, s2, t3
  fmv.x.d t4, fa1
  xor s4, s4, t4
  fsd fa0, 0(s3)
  fld fa4, 0(s3)
  feq.d t5, fa4, fa0
  add s2, s2, t5
  fcvt.s.d fa5, fa1
  fmv.x.w t6, fa5
  add s5, s5, t6
  addi s0, s0, 1
  blt s0, s1, 1b
  li t0, 20300             # (0 + 1 + ... + 199) + 200 (fle) + 200 (feq)
  bne s2, t0, fail
  fcvt.l.d t1, fa0
  li t0, 2646700           # 0^2 + 1^2 + ... + 199^2
  bne t1, t0, fail
  j pass
`,
  `
fpdata: .dword 0
`,
);

/**
 * Double-precision arithmetic on pseudo-random operands, for translated
 * code's inline paths (src/jit/codegen.ts) against the interpreter: mostly
 * normal numbers with sparse significands (exact products on and next to
 * halfway points), now and then a zero, any exponent at all (subnormals,
 * infinities, NaNs, the edges of the fused multiply-add's range), addends
 * next to the negated product (cancellation) and far below the product
 * (where the emulated fused multiply-add's rounding to odd matters). fflags keeps inexact
 * raised most of the time, so the host shortcuts apply, and is cleared in
 * one iteration of sixteen, so the slow paths run too. Every result and
 * the flags go into a checksum (s2) that must match the interpreter's.
 */
export const FP_RANDOM = FRAME(`
  .macro RAND reg            # xorshift64 on s0
  slli t0, s0, 13
  xor s0, s0, t0
  srli t0, s0, 7
  xor s0, s0, t0
  slli t0, s0, 17
  xor s0, s0, t0
  mv \\reg, s0
  .endm
  .macro OPERAND freg, sparse=0
  RAND t1
  RAND t2
  and t1, t1, t2             # a sparse significand
  .if \\sparse
  RAND t2
  and t1, t1, t2
  RAND t2
  and t1, t1, t2
  .endif
  li t3, 0x000fffffffffffff
  and t1, t1, t3
  RAND t2
  andi t4, t2, 15            # exponent 2^-8 .. 2^7
  addi t4, t4, 1015
  andi t6, t2, 0x300
  bnez t6, 2f
  srli t4, t2, 20            # one in four: any exponent
  andi t4, t4, 0x7ff
2:
  slli t4, t4, 52
  or t1, t1, t4
  srli t5, t2, 40            # the sign
  slli t5, t5, 63
  or t1, t1, t5
  srli t6, t2, 10            # one in 32: a zero
  andi t6, t6, 31
  bnez t6, 3f
  mv t1, t5
3:
  fmv.d.x \\freg, t1
  .endm
  .macro CHECK freg          # s2 = rotl(s2, 5) ^ bits
  fmv.x.d t1, \\freg
  slli t2, s2, 5
  srli t3, s2, 59
  or s2, t2, t3
  xor s2, s2, t1
  .endm

  li t0, 0x6000              # mstatus.FS = dirty: FP on
  csrs mstatus, t0
  li s0, 0x9E3779B97F4A7C15
  li s1, 20000
  li s2, 0
  csrsi fflags, 1
1:
  OPERAND fa1, 1
  OPERAND fa2
  OPERAND fa3
  andi t6, s0, 0x300         # one in four: c 2^-54 .. 2^-85 of a * b (double rounding)
  bnez t6, 6f
  fmul.d fa3, fa1, fa2
  fmv.x.d t1, fa3
  srli t2, s0, 50
  andi t2, t2, 31
  addi t2, t2, 54
  slli t2, t2, 52
  sub t1, t1, t2
  RAND t3
  srli t3, t3, 20
  xor t1, t1, t3
  fmv.d.x fa3, t1
  j 4f
6:
  andi t6, s0, 3             # one in four: c next to -(a * b)
  bnez t6, 4f
  fmul.d fa3, fa1, fa2
  fneg.d fa3, fa3
  fmv.x.d t1, fa3
  andi t2, s0, 0x70
  srli t2, t2, 4
  addi t2, t2, -3
  add t1, t1, t2
  fmv.d.x fa3, t1
4:
  fadd.d ft0, fa1, fa2
  CHECK ft0
  fsub.d ft0, fa1, fa3
  CHECK ft0
  fmul.d ft0, fa1, fa2
  CHECK ft0
  fdiv.d ft0, fa1, fa2
  CHECK ft0
  fsqrt.d ft0, fa1
  CHECK ft0
  fmadd.d ft0, fa1, fa2, fa3
  CHECK ft0
  fmsub.d ft0, fa1, fa2, fa3
  CHECK ft0
  fnmadd.d ft0, fa1, fa2, fa3
  CHECK ft0
  fnmsub.d ft0, fa2, fa3, fa1
  CHECK ft0
  fsgnjx.d ft0, fa1, fa2
  CHECK ft0
  fsgnjn.d ft0, fa3, fa1
  CHECK ft0
  feq.d t1, fa1, fa2
  add s2, s2, t1
  flt.d t1, fa1, fa3
  add s2, s2, t1
  fle.d t1, fa3, fa2
  add s2, s2, t1
  frflags t1
  add s2, s2, t1
  andi t6, s0, 0xf0          # one in sixteen: flags cleared
  bnez t6, 5f
  csrw fflags, zero
5:
  addi s1, s1, -1
  bnez s1, 1b
  j pass
`);

/*
 * RV64F: flw/fsw (raw bits, NaN-boxing on load), fmv.x.w (sign-extending)
 * and fmv.w.x, NaN-boxing (an improperly boxed single reads as the canonical
 * NaN in arithmetic, sign injection, compare, class and conversion, while the
 * transfer instructions move its raw bits), fcsr/frm/fflags CSRs, static and
 * dynamic rounding modes, invalid rounding modes (illegal instruction),
 * fflags accumulation, mstatus.FS (Off: every FP instruction and FP CSR access
 * is illegal; a write makes FS Dirty and sets SD), then arithmetic, sqrt,
 * fused multiply-add, min/max, compares, sign injection, fclass and
 * conversions with saturation and exact exception flags.
 */
#include "macros.h"

/* fadd.s fa0, fa1, fa2 with a given rm field */
#define FADD_S_RM(rm) .word (0x00 << 25) | (12 << 20) | (11 << 15) | ((rm) << 12) | (10 << 7) | 0x53

RVTEST_CODE_BEGIN

  /* ------------------------------------------------------------ loads/stores, moves */
  TEST_BEGIN
  lla a0, fdata
  flw fa0, 0(a0)                           /* signalling NaN: loaded unchanged */
  fsw fa0, 16(a0)
  lwu a1, 16(a0); CHECK_EQ(a1, 0x7f800001)
  fmv.x.d a1, fa0; CHECK_EQ(a1, 0xffffffff7f800001)   /* NaN-boxed by flw */
  TEST_BEGIN
  flw fa1, 4(a0)
  fmv.x.w a1, fa1; CHECK_EQ(a1, 0xffffffffbf800000)   /* -1.0, sign-extended */
  TEST_BEGIN
  li a1, 0x123456783f800000
  fmv.w.x fa2, a1                          /* upper bits ignored, result boxed */
  fmv.x.d a2, fa2; CHECK_EQ(a2, 0xffffffff3f800000)
  fmv.x.w a2, fa2; CHECK_EQ(a2, 0x3f800000)
  TEST_BEGIN
  li a1, 0x80000000
  fmv.w.x fa2, a1; fmv.x.w a2, fa2; CHECK_EQ(a2, 0xffffffff80000000)
  TEST_BEGIN
  lla a0, fdata; li a1, 0x4049db22; fmv.w.x fa3, a1; fsw fa3, -4+24(a0); lw a2, 20(a0)
  CHECK_EQ(a2, 0x4049db22)

  /* ------------------------------------------------------------ NaN boxing */
  TEST_BEGIN                               /* improperly boxed 1.0 + 1.0 = canonical NaN */
  li a1, 0x000000003f800000; fmv.d.x fa0, a1
  fsflags x0; fadd.s fa2, fa0, fa0
  fmv.x.w a2, fa2; CHECK_EQ(a2, 0x7fc00000)
  frflags a2; CHECK_EQ(a2, 0)
  TEST_BEGIN                               /* one missing bit of the box is enough */
  li a1, 0xfffffffe3f800000; fmv.d.x fa0, a1
  li a1, 0x3f800000; fmv.w.x fa1, a1
  fadd.s fa2, fa1, fa0
  fmv.x.w a2, fa2; CHECK_EQ(a2, 0x7fc00000)
  TEST_BEGIN                               /* sign injection also sees canonical NaN */
  li a1, 0x00000000bf800000; fmv.d.x fa0, a1
  fsgnj.s fa2, fa0, fa0; fmv.x.w a2, fa2; CHECK_EQ(a2, 0x7fc00000)
  TEST_BEGIN
  fsgnjn.s fa2, fa1, fa0; fmv.x.w a2, fa2; CHECK_EQ(a2, 0xffffffffbf800000)   /* sign of canonical NaN is 0 */
  TEST_BEGIN
  fclass.s a2, fa0; CHECK_EQ(a2, 1 << 9)
  TEST_BEGIN
  feq.s a2, fa0, fa0; CHECK_EQ(a2, 0)
  TEST_BEGIN
  fcvt.d.s fa2, fa0; fmv.x.d a2, fa2; CHECK_EQ(a2, 0x7ff8000000000000)
  TEST_BEGIN                               /* transfers move the raw bits */
  fmv.x.w a2, fa0; CHECK_EQ(a2, 0xffffffffbf800000)
  TEST_BEGIN
  lla a0, fdata; fsw fa0, 24(a0); lwu a2, 24(a0); CHECK_EQ(a2, 0xbf800000)
  TEST_BEGIN                               /* results of single operations are boxed */
  li a1, 0x3f800000; fmv.w.x fa1, a1; fadd.s fa2, fa1, fa1
  fmv.x.d a2, fa2; CHECK_EQ(a2, 0xffffffff40000000)
  TEST_BEGIN
  li a1, 7; fcvt.s.l fa2, a1; fmv.x.d a2, fa2; CHECK_EQ(a2, 0xffffffff40e00000)

  /* ------------------------------------------------------------ fcsr, frm, fflags */
  TEST_BEGIN
  li a1, 0xffffffff; csrw fcsr, a1; csrr a2, fcsr; CHECK_EQ(a2, 0xff)
  csrr a2, frm; CHECK_EQ(a2, 7)
  csrr a2, fflags; CHECK_EQ(a2, 0x1f)
  TEST_BEGIN
  csrwi fflags, 0; csrr a2, fcsr; CHECK_EQ(a2, 0xe0)
  li a1, 0xfa; csrw frm, a1; csrr a2, frm; CHECK_EQ(a2, 2)
  csrr a2, fcsr; CHECK_EQ(a2, 0x40)
  TEST_BEGIN
  fsrmi a2, 1; CHECK_EQ(a2, 2)             /* fsrmi returns the old frm */
  fsflagsi a2, 3; CHECK_EQ(a2, 0)
  frcsr a2; CHECK_EQ(a2, 0x23)
  fscsr a2, zero; CHECK_EQ(a2, 0x23)
  frcsr a2; CHECK_EQ(a2, 0)
  TEST_BEGIN                               /* fflags accumulate */
  li a1, 0x3f800000; fmv.w.x fa1, a1; fmv.w.x fa2, zero; li a1, 0x40400000; fmv.w.x fa3, a1
  fdiv.s fa4, fa1, fa2                     /* 1/0: DZ */
  frflags a2; CHECK_EQ(a2, FFLAG_DZ)
  fdiv.s fa4, fa1, fa3                     /* 1/3: NX */
  frflags a2; CHECK_EQ(a2, FFLAG_DZ | FFLAG_NX)
  fdiv.s fa4, fa3, fa1                     /* 3/1: exact, flags unchanged */
  frflags a2; CHECK_EQ(a2, FFLAG_DZ | FFLAG_NX)
  fsqrt.s fa4, fa4; fsub.s fa4, fa4, fa4   /* sqrt(3) inexact */
  feq.s a3, fa4, fa4
  flt.s a3, fa4, fa4
  fclass.s a3, fa4
  frflags a2; CHECK_EQ(a2, FFLAG_DZ | FFLAG_NX)
  li a1, 0xff800000; fmv.w.x fa5, a1; fadd.s fa4, fa5, fa5      /* -inf + -inf: exact */
  li a1, 0x7f800000; fmv.w.x fa6, a1; fadd.s fa4, fa5, fa6      /* -inf + inf: NV */
  frflags a2; CHECK_EQ(a2, FFLAG_DZ | FFLAG_NX | FFLAG_NV)
  TEST_BEGIN                               /* dynamic rounding mode from frm */
  li a1, 0x3f800000; fmv.w.x fa1, a1; li a1, 0x33c00000; fmv.w.x fa2, a1   /* 1, 0.75 ulp */
  fsrmi 1                                  /* RTZ */
  fadd.s fa3, fa1, fa2                     /* default rm is dyn */
  fmv.x.w a2, fa3; CHECK_EQ(a2, 0x3f800000)
  fsrmi 3                                  /* RUP */
  fadd.s fa3, fa1, fa2, dyn
  fmv.x.w a2, fa3; CHECK_EQ(a2, 0x3f800001)
  TEST_BEGIN                               /* static rm overrides frm */
  fsrmi 1
  fadd.s fa3, fa1, fa2, rup
  fmv.x.w a2, fa3; CHECK_EQ(a2, 0x3f800001)
  fsrmi 3
  fadd.s fa3, fa1, fa2, rtz
  fmv.x.w a2, fa3; CHECK_EQ(a2, 0x3f800000)
  TEST_BEGIN                               /* static rm 7 = dynamic */
  fsrmi 1
  li a1, 0x3f800000; fmv.w.x fa1, a1; li a1, 0x33c00000; fmv.w.x fa2, a1
  FADD_S_RM(7)
  fmv.x.w a2, fa0; CHECK_EQ(a2, 0x3f800000)
  TEST_BEGIN                               /* reserved static rm 5 and 6: illegal */
  fsrmi 0
  EXPECT_TRAP(2f)
1: FADD_S_RM(5)
2: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  CHECK_MEPC(1b)
  CHECK_MTVAL((12 << 20) | (11 << 15) | (5 << 12) | (10 << 7) | 0x53)
  TEST_BEGIN
  EXPECT_TRAP(2f)
1: FADD_S_RM(6)
2: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  CHECK_MEPC(1b)
  TEST_BEGIN                               /* dynamic rm with invalid frm (5, 6, 7): illegal */
  fsrmi 5
  EXPECT_TRAP(2f)
1: fadd.s fa3, fa1, fa2, dyn
2: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  CHECK_MEPC(1b)
  TEST_BEGIN
  fsrmi 7
  EXPECT_TRAP(2f)
1: fmul.s fa3, fa1, fa2
2: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  TEST_BEGIN                               /* ... but instructions without rounding are fine */
  fsrmi 6
  fmin.s fa3, fa1, fa2; fsgnj.s fa3, fa1, fa2; feq.s a2, fa1, fa1; CHECK_EQ(a2, 1)
  fsrmi 0

  /* ------------------------------------------------------------ mstatus.FS */
  TEST_BEGIN                               /* FS = Off: FP instructions are illegal */
  li a1, MSTATUS_FS; csrc mstatus, a1
  csrr a2, mstatus; and a2, a2, a1; CHECK_EQ(a2, 0)
  EXPECT_TRAP(2f)
1: fadd.s fa3, fa1, fa2
2: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  CHECK_MEPC(1b)
  TEST_BEGIN
  EXPECT_TRAP(2f)
1: flw fa3, 0(sp)
2: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  TEST_BEGIN
  EXPECT_TRAP(2f)
1: fsw fa3, 0(sp)
2: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  TEST_BEGIN
  EXPECT_TRAP(2f)
1: fmv.x.w a2, fa3
2: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  TEST_BEGIN
  EXPECT_TRAP(2f)
1: fmv.w.x fa3, a2
2: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  TEST_BEGIN
  EXPECT_TRAP(2f)
1: csrr a2, fcsr
2: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  TEST_BEGIN
  EXPECT_TRAP(2f)
1: csrwi fflags, 1
2: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  TEST_BEGIN
  EXPECT_TRAP(2f)
1: frrm a2
2: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  TEST_BEGIN
  EXPECT_TRAP(2f)
1: fmadd.s fa0, fa1, fa2, fa3
2: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  TEST_BEGIN
  EXPECT_TRAP(2f)
1: fcvt.s.w fa0, a1
2: CHECK_MCAUSE(CAUSE_ILLEGAL_INSN)
  TEST_BEGIN                               /* FS = Initial, then an FP write: Dirty and SD */
  li a1, MSTATUS_FS_INITIAL; csrs mstatus, a1
  csrr a2, mstatus; srli a2, a2, 13; andi a2, a2, 3; CHECK_EQ(a2, 1)
  csrr a2, mstatus; bltz a2, fail
  fadd.s fa3, fa1, fa2
  csrr a2, mstatus; srli a2, a2, 13; andi a2, a2, 3; CHECK_EQ(a2, 3)
  csrr a2, mstatus; srli a2, a2, 63; CHECK_EQ(a2, 1)
  TEST_BEGIN                               /* Clean + flw: Dirty */
  li a1, MSTATUS_FS; csrc mstatus, a1; li a1, MSTATUS_FS_CLEAN; csrs mstatus, a1
  csrr a2, mstatus; srli a2, a2, 13; andi a2, a2, 3; CHECK_EQ(a2, 2)
  csrr a2, mstatus; bltz a2, fail
  flw fa3, 0(sp)
  csrr a2, mstatus; srli a2, a2, 13; andi a2, a2, 3; CHECK_EQ(a2, 3)
  csrr a2, mstatus; srli a2, a2, 63; CHECK_EQ(a2, 1)
  TEST_BEGIN                               /* Clean + fflags write: Dirty */
  li a1, MSTATUS_FS; csrc mstatus, a1; li a1, MSTATUS_FS_CLEAN; csrs mstatus, a1
  csrwi fflags, 0
  csrr a2, mstatus; srli a2, a2, 13; andi a2, a2, 3; CHECK_EQ(a2, 3)
  TEST_BEGIN                               /* Initial + fmv.w.x: Dirty */
  li a1, MSTATUS_FS; csrc mstatus, a1; li a1, MSTATUS_FS_INITIAL; csrs mstatus, a1
  fmv.w.x fa3, zero
  csrr a2, mstatus; srli a2, a2, 13; andi a2, a2, 3; CHECK_EQ(a2, 3)
  TEST_BEGIN                               /* the FP registers survive FS = Off */
  li a1, 0x40490fdb; fmv.w.x fa7, a1
  li a1, MSTATUS_FS; csrc mstatus, a1
  csrs mstatus, a1
  fmv.x.w a2, fa7; CHECK_EQ(a2, 0x40490fdb)
  csrwi fflags, 0; csrwi frm, 0

  /* ------------------------------------------------------------ arithmetic */
  /* add / sub / mul / div: exact, inexact, special values */
  TEST_FP_OP2_S(fadd.s, dyn, 0, 0x40600000, 0x40200000, 0x3f800000)
  TEST_FP_OP2_S(fadd.s, dyn, 0, 0xc49a4000, 0xc49a6000, 0x3f800000)
  TEST_FP_OP2_S(fadd.s, dyn, 1, 0x405e6530, 0x40490fdb, 0x3eaaaaab)
  TEST_FP_OP2_S(fadd.s, dyn, 16, 0x7fc00000, 0x7f800000, 0xff800000)
  TEST_FP_OP2_S(fadd.s, dyn, 0, 0x7f800000, 0x7f800000, 0x3f800000)
  TEST_FP_OP2_S(fadd.s, dyn, 5, 0x7f800000, 0x7f7fffff, 0x7f7fffff)
  TEST_FP_OP2_S(fadd.s, dyn, 0, 0x00000000, 0x3f800000, 0xbf800000)
  TEST_FP_OP2_S(fadd.s, rdn, 0, 0x80000000, 0x3f800000, 0xbf800000)
  TEST_FP_OP2_S(fadd.s, dyn, 0, 0x80000000, 0x80000000, 0x80000000)
  TEST_FP_OP2_S(fadd.s, dyn, 0, 0x7fc00000, 0x7fc00000, 0x3f800000)
  TEST_FP_OP2_S(fadd.s, dyn, 16, 0x7fc00000, 0x7f800001, 0x3f800000)
  TEST_FP_OP2_S(fadd.s, dyn, 0, 0x7fc00000, 0xffc00000, 0x3f800000)
  TEST_FP_OP2_S(fsub.s, dyn, 0, 0x3fc00000, 0x40200000, 0x3f800000)
  TEST_FP_OP2_S(fsub.s, dyn, 0, 0xbfc00000, 0xbf000000, 0x3f800000)
  TEST_FP_OP2_S(fsub.s, dyn, 16, 0x7fc00000, 0x7f800000, 0x7f800000)
  TEST_FP_OP2_S(fsub.s, dyn, 0, 0x00000000, 0x40e00000, 0x40e00000)
  TEST_FP_OP2_S(fmul.s, dyn, 0, 0xc1200000, 0x40200000, 0xc0800000)
  TEST_FP_OP2_S(fmul.s, dyn, 1, 0x3f9ae148, 0x3f8ccccd, 0x3f8ccccd)
  TEST_FP_OP2_S(fmul.s, dyn, 16, 0x7fc00000, 0x7f800000, 0x00000000)
  TEST_FP_OP2_S(fmul.s, dyn, 0, 0xff800000, 0x7f800000, 0xc0000000)
  TEST_FP_OP2_S(fmul.s, dyn, 0, 0x80000000, 0x80000000, 0x40400000)
  TEST_FP_OP2_S(fmul.s, dyn, 5, 0xff800000, 0x7f7fffff, 0xc0000000)
  TEST_FP_OP2_S(fmul.s, dyn, 3, 0x00000000, 0x00000001, 0x3f000000)
  TEST_FP_OP2_S(fmul.s, dyn, 0, 0x00400000, 0x00800000, 0x3f000000)
  TEST_FP_OP2_S(fdiv.s, dyn, 0, 0x40200000, 0x41200000, 0x40800000)
  TEST_FP_OP2_S(fdiv.s, dyn, 1, 0x3eaaaaab, 0x3f800000, 0x40400000)
  TEST_FP_OP2_S(fdiv.s, dyn, 8, 0x7f800000, 0x3f800000, 0x00000000)
  TEST_FP_OP2_S(fdiv.s, dyn, 8, 0xff800000, 0xbf800000, 0x00000000)
  TEST_FP_OP2_S(fdiv.s, dyn, 8, 0x7f800000, 0xbf800000, 0x80000000)
  TEST_FP_OP2_S(fdiv.s, dyn, 16, 0x7fc00000, 0x00000000, 0x00000000)
  TEST_FP_OP2_S(fdiv.s, dyn, 16, 0x7fc00000, 0x7f800000, 0x7f800000)
  TEST_FP_OP2_S(fdiv.s, dyn, 0, 0x00000000, 0x3f800000, 0x7f800000)
  /* sqrt */
  TEST_FP_OP1_S(fsqrt.s, dyn, 0, 0x40000000, 0x40800000)
  TEST_FP_OP1_S(fsqrt.s, dyn, 1, 0x3fb504f3, 0x40000000)
  TEST_FP_OP1_S(fsqrt.s, dyn, 16, 0x7fc00000, 0xbf800000)
  TEST_FP_OP1_S(fsqrt.s, dyn, 0, 0x80000000, 0x80000000)
  TEST_FP_OP1_S(fsqrt.s, dyn, 0, 0x7f800000, 0x7f800000)
  TEST_FP_OP1_S(fsqrt.s, dyn, 16, 0x7fc00000, 0xff800000)
  /* rounding modes (static): 1 + 0.75 ulp, -1 - 0.75 ulp, 1 + 0.5 ulp (tie), 1 + 1.5 ulp (tie) */
  TEST_FP_OP2_S(fadd.s, rne, 1, 0x3f800001, 0x3f800000, 0x33c00000)
  TEST_FP_OP2_S(fadd.s, rtz, 1, 0x3f800000, 0x3f800000, 0x33c00000)
  TEST_FP_OP2_S(fadd.s, rdn, 1, 0x3f800000, 0x3f800000, 0x33c00000)
  TEST_FP_OP2_S(fadd.s, rup, 1, 0x3f800001, 0x3f800000, 0x33c00000)
  TEST_FP_OP2_S(fadd.s, rmm, 1, 0x3f800001, 0x3f800000, 0x33c00000)
  TEST_FP_OP2_S(fadd.s, rne, 1, 0xbf800001, 0xbf800000, 0xb3c00000)
  TEST_FP_OP2_S(fadd.s, rtz, 1, 0xbf800000, 0xbf800000, 0xb3c00000)
  TEST_FP_OP2_S(fadd.s, rdn, 1, 0xbf800001, 0xbf800000, 0xb3c00000)
  TEST_FP_OP2_S(fadd.s, rup, 1, 0xbf800000, 0xbf800000, 0xb3c00000)
  TEST_FP_OP2_S(fadd.s, rmm, 1, 0xbf800001, 0xbf800000, 0xb3c00000)
  TEST_FP_OP2_S(fadd.s, rne, 1, 0x3f800000, 0x3f800000, 0x33800000)
  TEST_FP_OP2_S(fadd.s, rtz, 1, 0x3f800000, 0x3f800000, 0x33800000)
  TEST_FP_OP2_S(fadd.s, rdn, 1, 0x3f800000, 0x3f800000, 0x33800000)
  TEST_FP_OP2_S(fadd.s, rup, 1, 0x3f800001, 0x3f800000, 0x33800000)
  TEST_FP_OP2_S(fadd.s, rmm, 1, 0x3f800001, 0x3f800000, 0x33800000)
  TEST_FP_OP2_S(fadd.s, rne, 1, 0x3f800002, 0x3f800001, 0x33800000)
  TEST_FP_OP2_S(fadd.s, rtz, 1, 0x3f800001, 0x3f800001, 0x33800000)
  TEST_FP_OP2_S(fadd.s, rmm, 1, 0x3f800002, 0x3f800001, 0x33800000)
  TEST_FP_OP2_S(fadd.s, rtz, 5, 0x7f7fffff, 0x7f7fffff, 0x7f7fffff)
  TEST_FP_OP2_S(fadd.s, rdn, 5, 0x7f7fffff, 0x7f7fffff, 0x7f7fffff)
  TEST_FP_OP2_S(fadd.s, rup, 5, 0x7f800000, 0x7f7fffff, 0x7f7fffff)
  TEST_FP_OP2_S(fmul.s, rup, 3, 0x00000001, 0x00000001, 0x3f000000)
  /* fused multiply-add (single rounding) */
  TEST_FP_OP3_S(fmadd.s, dyn, 0, 0x40500000, 0x3fc00000, 0x40000000, 0x3e800000)
  TEST_FP_OP3_S(fmsub.s, dyn, 0, 0x40300000, 0x3fc00000, 0x40000000, 0x3e800000)
  TEST_FP_OP3_S(fnmsub.s, dyn, 0, 0xc0300000, 0x3fc00000, 0x40000000, 0x3e800000)
  TEST_FP_OP3_S(fnmadd.s, dyn, 0, 0xc0500000, 0x3fc00000, 0x40000000, 0x3e800000)
  TEST_FP_OP3_S(fmadd.s, dyn, 0, 0x33800000, 0x3f800800, 0x3f800800, 0xbf801000)
  TEST_FP_OP3_S(fmadd.s, dyn, 16, 0x7fc00000, 0x7f800000, 0x00000000, 0x7fc00000)
  TEST_FP_OP3_S(fmadd.s, dyn, 16, 0x7fc00000, 0x7f800000, 0x3f800000, 0xff800000)
  TEST_FP_OP3_S(fmadd.s, dyn, 0, 0x7fc00000, 0x7fc00000, 0x3f800000, 0x3f800000)
  TEST_FP_OP3_S(fnmadd.s, dyn, 0, 0x80000000, 0x00000000, 0x3f800000, 0x00000000)
  TEST_FP_OP3_S(fmadd.s, rtz, 1, 0x3f800000, 0x3f800000, 0x3f800000, 0x33c00000)
  /* min / max */
  TEST_FP_OP2N_S(fmin.s, 0, 0x3f800000, 0x3f800000, 0x40000000)
  TEST_FP_OP2N_S(fmin.s, 0, 0xc0000000, 0x3f800000, 0xc0000000)
  TEST_FP_OP2N_S(fmax.s, 0, 0x40000000, 0x3f800000, 0x40000000)
  TEST_FP_OP2N_S(fmax.s, 0, 0x3f800000, 0x3f800000, 0xc0000000)
  TEST_FP_OP2N_S(fmin.s, 0, 0x3f800000, 0x7fc00000, 0x3f800000)
  TEST_FP_OP2N_S(fmin.s, 0, 0x3f800000, 0x3f800000, 0x7fc00000)
  TEST_FP_OP2N_S(fmax.s, 0, 0xbf800000, 0xffc00000, 0xbf800000)
  TEST_FP_OP2N_S(fmin.s, 16, 0x3f800000, 0x7f800001, 0x3f800000)
  TEST_FP_OP2N_S(fmax.s, 16, 0x3f800000, 0x3f800000, 0x7f800001)
  TEST_FP_OP2N_S(fmin.s, 0, 0x7fc00000, 0x7fc00000, 0xffc00000)
  TEST_FP_OP2N_S(fmax.s, 16, 0x7fc00000, 0x7f800001, 0x7fc00000)
  TEST_FP_OP2N_S(fmin.s, 0, 0x80000000, 0x00000000, 0x80000000)
  TEST_FP_OP2N_S(fmin.s, 0, 0x80000000, 0x80000000, 0x00000000)
  TEST_FP_OP2N_S(fmax.s, 0, 0x00000000, 0x80000000, 0x00000000)
  TEST_FP_OP2N_S(fmax.s, 0, 0x00000000, 0x00000000, 0x80000000)
  TEST_FP_OP2N_S(fmin.s, 0, 0xff800000, 0xff800000, 0x3f800000)
  TEST_FP_OP2N_S(fmax.s, 0, 0x7f800000, 0x7f800000, 0x3f800000)
  /* compare: feq quiet, flt/fle signaling */
  TEST_FP_CMP_S(feq.s, 0, 1, 0x3fc00000, 0x3fc00000)
  TEST_FP_CMP_S(feq.s, 0, 0, 0x3fc00000, 0x40200000)
  TEST_FP_CMP_S(feq.s, 0, 1, 0x00000000, 0x80000000)
  TEST_FP_CMP_S(feq.s, 0, 0, 0x7fc00000, 0x7fc00000)
  TEST_FP_CMP_S(feq.s, 16, 0, 0x7f800001, 0x3f800000)
  TEST_FP_CMP_S(flt.s, 0, 1, 0xbfc00000, 0x3fc00000)
  TEST_FP_CMP_S(flt.s, 0, 0, 0x3fc00000, 0x3fc00000)
  TEST_FP_CMP_S(flt.s, 0, 0, 0x80000000, 0x00000000)
  TEST_FP_CMP_S(flt.s, 16, 0, 0x7fc00000, 0x3f800000)
  TEST_FP_CMP_S(flt.s, 16, 0, 0x3f800000, 0x7f800001)
  TEST_FP_CMP_S(flt.s, 0, 1, 0xff800000, 0x7f800000)
  TEST_FP_CMP_S(fle.s, 0, 1, 0x3fc00000, 0x3fc00000)
  TEST_FP_CMP_S(fle.s, 0, 0, 0x40200000, 0x3fc00000)
  TEST_FP_CMP_S(fle.s, 0, 1, 0x80000000, 0x00000000)
  TEST_FP_CMP_S(fle.s, 16, 0, 0x3f800000, 0x7fc00000)
  /* sign injection (no canonicalization, no flags) */
  TEST_FP_OP2N_S(fsgnj.s, 0, 0xbf800000, 0x3f800000, 0xc0000000)
  TEST_FP_OP2N_S(fsgnj.s, 0, 0x3f800000, 0xbf800000, 0x40000000)
  TEST_FP_OP2N_S(fsgnjn.s, 0, 0x3f800000, 0x3f800000, 0xc0000000)
  TEST_FP_OP2N_S(fsgnjn.s, 0, 0xbf800000, 0x3f800000, 0x40000000)
  TEST_FP_OP2N_S(fsgnjx.s, 0, 0x3f800000, 0xbf800000, 0xc0000000)
  TEST_FP_OP2N_S(fsgnjx.s, 0, 0xbf800000, 0x3f800000, 0xc0000000)
  TEST_FP_OP2N_S(fsgnjx.s, 0, 0xbf800000, 0xbf800000, 0x40000000)
  TEST_FP_OP2N_S(fsgnjn.s, 0, 0xff800001, 0x7f800001, 0x7f800001)
  TEST_FP_OP2N_S(fsgnj.s, 0, 0x7fc12345, 0xffc12345, 0x3f800000)
  /* fclass: one case per class */
  TEST_FCLASS_S(1, 0xff800000)
  TEST_FCLASS_S(2, 0xbf800000)
  TEST_FCLASS_S(4, 0x80000001)
  TEST_FCLASS_S(8, 0x80000000)
  TEST_FCLASS_S(16, 0x00000000)
  TEST_FCLASS_S(32, 0x00000001)
  TEST_FCLASS_S(64, 0x3f800000)
  TEST_FCLASS_S(128, 0x7f800000)
  TEST_FCLASS_S(256, 0x7f800001)
  TEST_FCLASS_S(512, 0x7fc00000)
  /* float -> integer conversions, saturation and flags */
  TEST_FCVT_X_S(fcvt.w.s, rtz, 0, -7, 0xc0e00000)
  TEST_FCVT_X_S(fcvt.w.s, rne, 1, 2, 0x3fc00000)
  TEST_FCVT_X_S(fcvt.w.s, rne, 1, 2, 0x40200000)
  TEST_FCVT_X_S(fcvt.w.s, rne, 1, -2, 0xbfc00000)
  TEST_FCVT_X_S(fcvt.w.s, rmm, 1, 3, 0x40200000)
  TEST_FCVT_X_S(fcvt.w.s, rtz, 1, 1, 0x3ff33333)
  TEST_FCVT_X_S(fcvt.w.s, rdn, 1, -2, 0xbf8ccccd)
  TEST_FCVT_X_S(fcvt.w.s, rup, 1, 2, 0x3f8ccccd)
  TEST_FCVT_X_S(fcvt.w.s, rtz, 1, 0, 0xbf666666)
  TEST_FCVT_X_S(fcvt.w.s, rtz, 16, 0x7fffffff, 0x4f32d05e)
  TEST_FCVT_X_S(fcvt.w.s, rtz, 16, 0xffffffff80000000, 0xcf32d05e)
  TEST_FCVT_X_S(fcvt.w.s, rtz, 16, 0x7fffffff, 0x7fc00000)
  TEST_FCVT_X_S(fcvt.w.s, rtz, 16, 0x7fffffff, 0xffc00000)
  TEST_FCVT_X_S(fcvt.w.s, rtz, 16, 0x7fffffff, 0x7f800000)
  TEST_FCVT_X_S(fcvt.w.s, rtz, 16, 0xffffffff80000000, 0xff800000)
  TEST_FCVT_X_S(fcvt.w.s, rtz, 0, 0xffffffff80000000, 0xcf000000)
  TEST_FCVT_X_S(fcvt.wu.s, rtz, 0, 0xffffffffee6b2800, 0x4f6e6b28)
  TEST_FCVT_X_S(fcvt.wu.s, rtz, 0, 3, 0x40400000)
  TEST_FCVT_X_S(fcvt.wu.s, rtz, 16, 0, 0xbf800000)
  TEST_FCVT_X_S(fcvt.wu.s, rne, 1, 0, 0xbf000000)
  TEST_FCVT_X_S(fcvt.wu.s, rtz, 16, 0xffffffffffffffff, 0x4f9502f9)
  TEST_FCVT_X_S(fcvt.wu.s, rtz, 16, 0xffffffffffffffff, 0x7fc00000)
  TEST_FCVT_X_S(fcvt.wu.s, rtz, 16, 0xffffffffffffffff, 0x7f800000)
  TEST_FCVT_X_S(fcvt.wu.s, rtz, 16, 0, 0xff800000)
  TEST_FCVT_X_S(fcvt.l.s, rtz, 0, 0xffffffff00000000, 0xcf800000)
  TEST_FCVT_X_S(fcvt.l.s, rne, 1, 0x0000000000000002, 0x40200000)
  TEST_FCVT_X_S(fcvt.l.s, rtz, 16, 0x7fffffffffffffff, 0x5f000000)
  TEST_FCVT_X_S(fcvt.l.s, rtz, 0, 0x8000000000000000, 0xdf000000)
  TEST_FCVT_X_S(fcvt.l.s, rtz, 16, 0x8000000000000000, 0xdf800000)
  TEST_FCVT_X_S(fcvt.l.s, rtz, 16, 0x7fffffffffffffff, 0x7fc00000)
  TEST_FCVT_X_S(fcvt.l.s, rtz, 16, 0x8000000000000000, 0xff800000)
  TEST_FCVT_X_S(fcvt.lu.s, rtz, 0, 0x8000000000000000, 0x5f000000)
  TEST_FCVT_X_S(fcvt.lu.s, rtz, 16, 0xffffffffffffffff, 0x5f800000)
  TEST_FCVT_X_S(fcvt.lu.s, rtz, 16, 0, 0xc0400000)
  TEST_FCVT_X_S(fcvt.lu.s, rtz, 16, 0xffffffffffffffff, 0x7fc00000)
  TEST_FCVT_X_S(fcvt.lu.s, rup, 1, 1, 0x3e800000)
  /* integer -> float conversions */
  TEST_FCVT_S_X(fcvt.s.w, rne, 0, 0xc0a00000, -5)
  TEST_FCVT_S_X(fcvt.s.w, rne, 0, 0x3f800000, 0x1234567800000001)
  TEST_FCVT_S_X(fcvt.s.w, rne, 0, 0xcf000000, 0x80000000)
  TEST_FCVT_S_X(fcvt.s.wu, rne, 0, 0x4f000000, 0xffffffff80000000)
  TEST_FCVT_S_X(fcvt.s.l, rne, 0, 0xbf800000, -1)
  TEST_FCVT_S_X(fcvt.s.l, rne, 0, 0x5e800000, 0x4000000000000000)
  TEST_FCVT_S_X(fcvt.s.lu, rne, 1, 0x5f800000, -1)
  TEST_FCVT_S_X(fcvt.s.lu, rne, 0, 0x00000000, 0)
  TEST_FCVT_S_X(fcvt.s.w, rne, 1, 0x4f000000, 0x7fffffff)
  TEST_FCVT_S_X(fcvt.s.w, rtz, 1, 0x4effffff, 0x7fffffff)
  TEST_FCVT_S_X(fcvt.s.wu, rne, 1, 0x4f800000, 0xffffffff)
  TEST_FCVT_S_X(fcvt.s.w, rne, 1, 0x4b800000, 16777217)
  TEST_FCVT_S_X(fcvt.s.w, rup, 1, 0x4b800001, 16777217)

RVTEST_CODE_END

RVTEST_DATA_BEGIN
  .align 4
fdata:
  .word 0x7f800001, 0xbf800000, 0, 0
  .word 0, 0, 0, 0
RVTEST_DATA_END

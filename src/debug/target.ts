/**
 * The register set GDB sees (GDB manual, "Target Descriptions", and the
 * RISC-V features it knows: org.gnu.gdb.riscv.cpu, .fpu, .csr, .virtual).
 * Register numbers follow GDB's RISC-V numbering, which the remote `p`/`P`
 * packets use: x0–x31 are 0–31, pc 32, f0–f31 33–64, CSR n is 65 + n, and
 * the virtual `priv` register (the privilege level) is 4161.
 */

export const REG_PC = 32;
export const REG_F0 = 33;
export const REG_CSR0 = 65;
export const REG_PRIV = 4161;

const XNAMES = [
  'zero', 'ra', 'sp', 'gp', 'tp', 't0', 't1', 't2', 'fp', 's1', 'a0', 'a1', 'a2', 'a3', 'a4', 'a5',
  'a6', 'a7', 's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9', 's10', 's11', 't3', 't4', 't5', 't6',
]; // prettier-ignore

const FNAMES = [
  'ft0', 'ft1', 'ft2', 'ft3', 'ft4', 'ft5', 'ft6', 'ft7', 'fs0', 'fs1', 'fa0', 'fa1', 'fa2', 'fa3',
  'fa4', 'fa5', 'fa6', 'fa7', 'fs2', 'fs3', 'fs4', 'fs5', 'fs6', 'fs7', 'fs8', 'fs9', 'fs10', 'fs11',
  'ft8', 'ft9', 'ft10', 'ft11',
]; // prettier-ignore

/** The CSRs offered to GDB (name, number); all exist on colinux's hart. */
export const DEBUG_CSRS: ReadonlyArray<readonly [string, number]> = [
  ['fflags', 0x001], ['frm', 0x002], ['fcsr', 0x003],
  ['cycle', 0xc00], ['time', 0xc01], ['instret', 0xc02],
  ['sstatus', 0x100], ['sie', 0x104], ['stvec', 0x105], ['scounteren', 0x106], ['senvcfg', 0x10a],
  ['sscratch', 0x140], ['sepc', 0x141], ['scause', 0x142], ['stval', 0x143], ['sip', 0x144],
  ['stimecmp', 0x14d], ['satp', 0x180],
  ['mstatus', 0x300], ['misa', 0x301], ['medeleg', 0x302], ['mideleg', 0x303], ['mie', 0x304],
  ['mtvec', 0x305], ['mcounteren', 0x306], ['menvcfg', 0x30a], ['mscratch', 0x340],
  ['mepc', 0x341], ['mcause', 0x342], ['mtval', 0x343], ['mip', 0x344],
  ['mvendorid', 0xf11], ['marchid', 0xf12], ['mimpid', 0xf13], ['mhartid', 0xf14],
]; // prettier-ignore

const CSR_NUMBERS = new Set(DEBUG_CSRS.map(([, n]) => n));

/** Is `regnum` a CSR register GDB may ask for? Returns the CSR number or -1. */
export function csrOfReg(regnum: number): number {
  const csr = regnum - REG_CSR0;
  return csr >= 0 && CSR_NUMBERS.has(csr) ? csr : -1;
}

function reg(name: string, regnum: number, type: string, group?: string): string {
  return `<reg name="${name}" bitsize="64" regnum="${regnum}" type="${type}"${group ? ` group="${group}"` : ''}/>`;
}

/** target.xml: one document, nothing included. */
export function targetXml(): string {
  const cpu = XNAMES.map((n, i) => {
    const type =
      n === 'ra'
        ? 'code_ptr'
        : n === 'sp' || n === 'gp' || n === 'tp' || n === 'fp'
          ? 'data_ptr'
          : 'int';
    return reg(n, i, type);
  });
  cpu.push(reg('pc', REG_PC, 'code_ptr'));
  const fpu = FNAMES.map((n, i) => reg(n, REG_F0 + i, 'riscv_double', 'float'));
  const fcsr = DEBUG_CSRS.filter(([, n]) => n <= 3).map(([name, n]) =>
    reg(name, REG_CSR0 + n, 'int', 'float'),
  );
  const csrs = DEBUG_CSRS.filter(([, n]) => n > 3).map(([name, n]) =>
    reg(name, REG_CSR0 + n, 'int', 'csr'),
  );
  return [
    '<?xml version="1.0"?>',
    '<!DOCTYPE target SYSTEM "gdb-target.dtd">',
    '<target version="1.0">',
    '<architecture>riscv:rv64</architecture>',
    '<feature name="org.gnu.gdb.riscv.cpu">',
    ...cpu,
    '</feature>',
    '<feature name="org.gnu.gdb.riscv.fpu">',
    '<union id="riscv_double"><field name="float" type="ieee_single"/><field name="double" type="ieee_double"/></union>',
    ...fpu,
    ...fcsr,
    '</feature>',
    '<feature name="org.gnu.gdb.riscv.csr">',
    ...csrs,
    '</feature>',
    '<feature name="org.gnu.gdb.riscv.virtual">',
    reg('priv', REG_PRIV, 'int', 'general'),
    '</feature>',
    '</target>',
  ].join('\n');
}

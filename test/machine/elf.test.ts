/**
 * ELF parser tests on real RISC-V ELFs built at test time with the Debian
 * cross toolchain, cross-checked against readelf/nm, plus corrupted copies.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ElfError, isElf, parseElf, PF_R, PF_W, PF_X } from '../../src/machine/elf.js';

const CC = process.env['RISCV_CC'] ?? 'riscv64-linux-gnu-gcc';
const PREFIX = CC.replace(/gcc$/, '');

let dir = '';
let prog: Uint8Array;
let prog32: Uint8Array | undefined;

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(
      `${cmd} ${args.join(' ')} failed: ${r.error?.message ?? r.stderr}` +
        (r.error ? ' (install gcc-riscv64-linux-gnu and binutils-riscv64-linux-gnu)' : ''),
    );
  }
  return r.stdout;
}

const SOURCE = `
  .section .text.init, "ax", @progbits
  .globl _start
_start:
  lla a0, message
  lla a1, counter
  ld a2, 0(a1)
1: j 1b
  .globl helper
helper:
  ret
  .data
  .globl message
message: .asciz "hello"
  .align 3
  .globl counter
counter: .dword 42
  .bss
  .globl zeroed
zeroed: .skip 4096
local_label_sym:
`;

const LINK = `
ENTRY(_start)
SECTIONS {
  . = 0x80000000;
  .text.init : { *(.text.init) }
  . = ALIGN(0x1000);
  .data : AT(0x80200000) { *(.data) }
  .bss : { *(.bss) }
}
`;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'colinux-elf-'));
  writeFileSync(join(dir, 'p.S'), SOURCE);
  writeFileSync(join(dir, 'p.ld'), LINK);
  run(CC, [
    '-nostdlib',
    '-nostartfiles',
    '-static',
    '-no-pie',
    '-march=rv64gc',
    '-mabi=lp64d',
    '-Wl,--build-id=none',
    '-Wl,--no-warn-rwx-segments',
    '-T',
    join(dir, 'p.ld'),
    '-o',
    join(dir, 'p.elf'),
    join(dir, 'p.S'),
  ]);
  prog = new Uint8Array(readFileSync(join(dir, 'p.elf')));
  // A 32-bit RISC-V ELF, from the same binutils.
  const as32 = spawnSync(`${PREFIX}as`, [
    '-march=rv32i',
    '-mabi=ilp32',
    '-o',
    join(dir, 'p32.o'),
    join(dir, 'p.S'),
  ]);
  if (!as32.error && as32.status === 0) {
    const ld32 = spawnSync(`${PREFIX}ld`, [
      '-m',
      'elf32lriscv',
      '-T',
      join(dir, 'p.ld'),
      '-o',
      join(dir, 'p32.elf'),
      join(dir, 'p32.o'),
    ]);
    if (!ld32.error && ld32.status === 0)
      prog32 = new Uint8Array(readFileSync(join(dir, 'p32.elf')));
  }
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Copy `prog` and let `edit` corrupt it through a DataView. */
function corrupt(edit: (v: DataView, b: Uint8Array) => void, src: Uint8Array = prog): Uint8Array {
  const b = new Uint8Array(src);
  edit(new DataView(b.buffer), b);
  return b;
}

function rejects(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => parseElf(bytes),
    (e: unknown) => e instanceof ElfError && pattern.test(e.message),
  );
}

test('parses a real RISC-V ELF: entry, PT_LOAD segments, symbols', () => {
  assert.ok(isElf(prog));
  const elf = parseElf(prog);
  assert.equal(elf.entry, 0x80000000n);

  // Cross-check segments with readelf.
  const text = run(`${PREFIX}readelf`, ['-lW', join(dir, 'p.elf')]);
  const loads = text
    .split('\n')
    .filter((l) => /^\s*LOAD\s/.test(l))
    .map((l) => l.trim().split(/\s+/));
  assert.equal(elf.segments.length, loads.length);
  loads.forEach((f, i) => {
    const seg = elf.segments[i]!;
    assert.equal(seg.vaddr, BigInt(f[2]!));
    assert.equal(seg.paddr, BigInt(f[3]!));
    assert.equal(BigInt(seg.data.length), BigInt(f[4]!));
    assert.equal(seg.memSize, BigInt(f[5]!));
    const flags = f.slice(6, -1).join('');
    assert.equal(!!(seg.flags & PF_R), flags.includes('R'));
    assert.equal(!!(seg.flags & PF_W), flags.includes('W'));
    assert.equal(!!(seg.flags & PF_X), flags.includes('E'));
  });

  // The code segment starts with `auipc a0, ...` at 0x80000000.
  const code = elf.segments.find((s) => s.paddr === 0x80000000n);
  assert.ok(code);
  assert.equal(code.data[0]! & 0x7f, 0x17);
  // The data segment is loaded at its AT() address, with .bss as memSize > data.length.
  const data = elf.segments.find((s) => s.paddr === 0x80200000n);
  assert.ok(data);
  assert.equal(data.vaddr, 0x80001000n);
  assert.ok(data.memSize >= BigInt(data.data.length) + 4096n);
  assert.equal(new TextDecoder().decode(data.data.subarray(0, 5)), 'hello');

  // Symbols against nm.
  const nm = run(`${PREFIX}nm`, [join(dir, 'p.elf')]);
  for (const line of nm.split('\n')) {
    const [value, , name] = line.trim().split(/\s+/);
    if (!name || !value) continue;
    assert.equal(elf.symbols.get(name), BigInt('0x' + value), `symbol ${name}`);
  }
  assert.equal(elf.symbols.get('_start'), 0x80000000n);
  assert.equal(elf.symbols.get('message'), 0x80001000n);
  assert.ok(elf.symbols.has('helper'));
  assert.ok(elf.symbols.has('local_label_sym'));
  assert.ok(elf.sections.some((s) => s.name === '.text.init'));
});

test('isElf', () => {
  assert.equal(isElf(new Uint8Array([0x7f, 0x45, 0x4c, 0x46])), true);
  assert.equal(isElf(new Uint8Array([0x7f, 0x45, 0x4c])), false);
  assert.equal(isElf(new TextEncoder().encode('RSC\x05 kernel image')), false);
  assert.equal(isElf(new Uint8Array(0)), false);
});

test('rejects non-ELF and truncated input', () => {
  rejects(new Uint8Array(0), /too short/);
  rejects(new Uint8Array(100), /magic/);
  rejects(prog.subarray(0, 40), /too short/);
  // Truncated in the middle: some segment or table runs past the end.
  rejects(prog.subarray(0, 0x1004), /past the end/);
});

test('rejects wrong class, endianness, version, type and machine', () => {
  rejects(
    corrupt((_v, b) => (b[4] = 1)),
    /ELFCLASS64/,
  );
  rejects(
    corrupt((_v, b) => (b[5] = 2)),
    /little-endian/,
  );
  rejects(
    corrupt((_v, b) => (b[6] = 0)),
    /EI_VERSION/,
  );
  rejects(
    corrupt((v) => v.setUint16(16, 1, true)),
    /e_type/,
  );
  rejects(
    corrupt((v) => v.setUint16(18, 62, true)),
    /e_machine is 62/,
  );
  rejects(
    corrupt((v) => v.setUint32(20, 2, true)),
    /e_version/,
  );
  if (prog32) rejects(prog32, /ELFCLASS64/);
});

test('rejects a host (non-RISC-V) executable', () => {
  for (const path of ['/bin/true', '/usr/bin/true']) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(path));
    } catch {
      continue;
    }
    if (!isElf(bytes) || bytes[4] !== 2 || bytes[5] !== 1) continue;
    if (new DataView(bytes.buffer).getUint16(18, true) === 243) continue;
    rejects(bytes, /e_machine/);
    return;
  }
});

test('rejects bad header sizes', () => {
  rejects(
    corrupt((v) => v.setUint16(52, 52, true)),
    /e_ehsize/,
  );
  rejects(
    corrupt((v) => v.setUint16(54, 32, true)),
    /e_phentsize/,
  );
  rejects(
    corrupt((v) => v.setUint16(58, 40, true)),
    /e_shentsize/,
  );
});

test('rejects tables and segments outside the file', () => {
  const len = BigInt(prog.length);
  rejects(
    corrupt((v) => v.setBigUint64(32, len, true)),
    /program header table/,
  );
  rejects(
    corrupt((v) => v.setBigUint64(32, 0xffffffffffffff00n, true)),
    /program header table/,
  );
  rejects(
    corrupt((v) => v.setUint16(56, 0x7fff, true)),
    /program header table/,
  );
  rejects(
    corrupt((v) => v.setBigUint64(40, len - 10n, true)),
    /section header/,
  );
  rejects(
    corrupt((v) => v.setUint16(60, 0x7fff, true)),
    /section header table/,
  );

  const elf = parseElf(prog);
  assert.ok(elf.segments.length > 0);
  const phoff = Number(new DataView(prog.buffer, prog.byteOffset).getBigUint64(32, true));
  const phnum = new DataView(prog.buffer, prog.byteOffset).getUint16(56, true);
  let load = -1;
  for (let i = 0; i < phnum; i++) {
    if (new DataView(prog.buffer, prog.byteOffset).getUint32(phoff + i * 56, true) === 1) {
      load = phoff + i * 56;
      break;
    }
  }
  assert.ok(load >= 0);
  // p_offset past the end
  rejects(
    corrupt((v) => v.setBigUint64(load + 8, len + 1n, true)),
    /segment \d+ .*past the end/,
  );
  // p_filesz past the end (and p_memsz raised to keep filesz <= memsz)
  rejects(
    corrupt((v) => {
      v.setBigUint64(load + 32, len, true);
      v.setBigUint64(load + 40, len, true);
    }),
    /segment \d+ .*past the end/,
  );
  // p_offset + p_filesz overflowing 64 bits
  rejects(
    corrupt((v) => {
      v.setBigUint64(load + 8, 0xfffffffffffffff0n, true);
      v.setBigUint64(load + 40, 0x100n, true);
      v.setBigUint64(load + 32, 0x20n, true);
    }),
    /past the end/,
  );
  // p_filesz > p_memsz
  rejects(
    corrupt((v) => v.setBigUint64(load + 40, 0n, true)),
    /larger than p_memsz/,
  );
  // address range wrapping
  rejects(
    corrupt((v) => v.setBigUint64(load + 24, 0xffffffffffffffffn, true)),
    /wraps/,
  );
  // no PT_LOAD at all
  rejects(
    corrupt((v) => {
      for (let i = 0; i < phnum; i++) v.setUint32(phoff + i * 56, 0, true);
    }),
    /no PT_LOAD/,
  );
});

test('rejects a broken symbol table', () => {
  const elf = parseElf(prog);
  const view = new DataView(prog.buffer, prog.byteOffset);
  const shoff = Number(view.getBigUint64(40, true));
  const symIndex = elf.sections.findIndex((s) => s.type === 2);
  assert.ok(symIndex > 0);
  const sh = shoff + symIndex * 64;
  rejects(
    corrupt((v) => v.setUint32(sh + 40, 999, true)),
    /string table 999/,
  );
  rejects(
    corrupt((v) => v.setUint32(sh + 40, symIndex, true)),
    /not a string table/,
  );
  rejects(
    corrupt((v) => v.setBigUint64(sh + 56, 16n, true)),
    /sh_entsize/,
  );
  rejects(
    corrupt((v) => v.setBigUint64(sh + 32, 25n, true)),
    /section \d+ .*|not a multiple/,
  );
  // A symbol name offset beyond its string table.
  const symOff = elf.sections[symIndex]!.offset;
  const symCount = Number(elf.sections[symIndex]!.size / 24n);
  let named = -1;
  for (let j = 1; j < symCount; j++) {
    const o = symOff + j * 24;
    const type = prog[o + 4]! & 0xf;
    if (
      view.getUint32(o, true) !== 0 &&
      type !== 3 &&
      type !== 4 &&
      view.getUint16(o + 6, true) !== 0
    ) {
      named = o;
      break;
    }
  }
  assert.ok(named > 0);
  rejects(
    corrupt((v) => v.setUint32(named, 0x7fffffff, true)),
    /string offset/,
  );
  // e_shstrndx out of range
  rejects(
    corrupt((v) => v.setUint16(62, 200, true)),
    /e_shstrndx/,
  );
});

test('an ELF without section headers still loads (no symbols)', () => {
  const b = corrupt((v) => {
    v.setBigUint64(40, 0n, true);
    v.setUint16(60, 0, true);
    v.setUint16(62, 0, true);
  });
  const elf = parseElf(b);
  assert.equal(elf.symbols.size, 0);
  assert.equal(elf.entry, 0x80000000n);
  assert.ok(elf.segments.length > 0);
});

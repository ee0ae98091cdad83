/**
 * ELF64 little-endian RISC-V loader support: parses and validates an ELF image
 * held in memory and returns what a loader needs (entry point, PT_LOAD
 * segments, symbol table). Pure TypeScript, no host dependencies.
 *
 * Every offset and size read from the file is checked against the file
 * length before use; malformed input throws an {@link ElfError} with a
 * message naming the bad field, never a RangeError or a silent misread.
 */

export const EM_RISCV = 243;
export const PT_LOAD = 1;
export const PF_X = 1;
export const PF_W = 2;
export const PF_R = 4;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_NOBITS = 8;

const ET_EXEC = 2;
const ET_DYN = 3;
const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;
const PN_XNUM = 0xffff;
const SHN_UNDEF = 0;
const SHN_LORESERVE = 0xff00;
const SHN_XINDEX = 0xffff;
const STB_LOCAL = 0;
const STT_SECTION = 3;
const STT_FILE = 4;
const U64_MAX = (1n << 64n) - 1n;

export class ElfError extends Error {
  constructor(message: string) {
    super(`invalid ELF: ${message}`);
    this.name = 'ElfError';
  }
}

export interface ElfSegment {
  /** Physical load address (p_paddr). */
  paddr: bigint;
  /** Virtual address (p_vaddr). */
  vaddr: bigint;
  /** The segment's bytes from the file (p_filesz bytes; a view into the input). */
  data: Uint8Array;
  /** Size in memory (p_memsz >= data.length); the rest is zero-filled. */
  memSize: bigint;
  /** p_flags: PF_R | PF_W | PF_X. */
  flags: number;
}

/** Alias of {@link ElfFile}. */
export type ElfImage = ElfFile;

export interface ElfSection {
  name: string;
  type: number;
  flags: bigint;
  addr: bigint;
  offset: number;
  size: bigint;
}

export interface ElfFile {
  entry: bigint;
  /** PT_LOAD segments, in program header order. */
  segments: ElfSegment[];
  /** Named symbols from .symtab (global ones win over local ones of the same name). */
  symbols: Map<string, bigint>;
  /** Section headers (empty when the file has none). */
  sections: ElfSection[];
}

/** True when `bytes` starts with the ELF magic number. */
export function isElf(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 4 &&
    bytes[0] === 0x7f &&
    bytes[1] === 0x45 &&
    bytes[2] === 0x4c &&
    bytes[3] === 0x46
  );
}

/** Parse and validate a little-endian ELF64 RISC-V executable. */
export function parseElf(bytes: Uint8Array): ElfFile {
  const len = bytes.length;
  if (len < 16) throw new ElfError(`file too short (${len} bytes)`);
  if (!isElf(bytes)) throw new ElfError('bad magic number (not an ELF file)');
  if (bytes[4] !== 2)
    throw new ElfError(`EI_CLASS is ${bytes[4]}, only ELFCLASS64 (2) is supported`);
  if (bytes[5] !== 1)
    throw new ElfError(`EI_DATA is ${bytes[5]}, only little-endian (1) is supported`);
  if (bytes[6] !== 1) throw new ElfError(`EI_VERSION is ${bytes[6]}, expected 1`);
  if (len < EHDR_SIZE)
    throw new ElfError(`file too short for the ELF header (${len} < ${EHDR_SIZE} bytes)`);

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (off: number): number => view.getUint16(off, true);
  const u32 = (off: number): number => view.getUint32(off, true);
  const u64 = (off: number): bigint => view.getBigUint64(off, true);

  const type = u16(16);
  if (type !== ET_EXEC && type !== ET_DYN) {
    throw new ElfError(`e_type is ${type}, expected ET_EXEC (2) or ET_DYN (3)`);
  }
  const machine = u16(18);
  if (machine !== EM_RISCV)
    throw new ElfError(`e_machine is ${machine}, expected EM_RISCV (${EM_RISCV})`);
  const version = u32(20);
  if (version !== 1) throw new ElfError(`e_version is ${version}, expected 1`);
  const entry = u64(24);
  const phoff = u64(32);
  const shoff = u64(40);
  const ehsize = u16(52);
  const phentsize = u16(54);
  let phnum = u16(56);
  const shentsize = u16(58);
  let shnum = u16(60);
  let shstrndx = u16(62);
  if (ehsize !== EHDR_SIZE) throw new ElfError(`e_ehsize is ${ehsize}, expected ${EHDR_SIZE}`);

  /** Check that [off, off + size) lies within the file and return off as a number. */
  const range = (what: string, off: bigint, size: bigint): number => {
    if (off > BigInt(len) || size > BigInt(len) - off) {
      throw new ElfError(
        `${what} (offset ${off}, size ${size}) extends past the end of the file (${len} bytes)`,
      );
    }
    return Number(off);
  };

  // Section header table (read first: extended numbering lives in section 0).
  const sections: ElfSection[] = [];
  const rawSections: {
    name: number;
    type: number;
    flags: bigint;
    addr: bigint;
    offset: bigint;
    size: bigint;
    link: number;
    entsize: bigint;
  }[] = [];
  if (shoff !== 0n) {
    if (shentsize !== SHDR_SIZE)
      throw new ElfError(`e_shentsize is ${shentsize}, expected ${SHDR_SIZE}`);
    const sh0 = range('section header 0', shoff, BigInt(SHDR_SIZE));
    if (shnum === 0) {
      const n = u64(sh0 + 32);
      if (n > BigInt(len)) throw new ElfError(`extended section count ${n} is impossible`);
      shnum = Number(n);
    }
    if (shstrndx === SHN_XINDEX) shstrndx = u32(sh0 + 40);
    if (phnum === PN_XNUM) phnum = u32(sh0 + 44);
    const base = range('section header table', shoff, BigInt(shnum) * BigInt(SHDR_SIZE));
    for (let i = 0; i < shnum; i++) {
      const o = base + i * SHDR_SIZE;
      const sh = {
        name: u32(o),
        type: u32(o + 4),
        flags: u64(o + 8),
        addr: u64(o + 16),
        offset: u64(o + 24),
        size: u64(o + 32),
        link: u32(o + 40),
        entsize: u64(o + 56),
      };
      if (sh.type !== SHT_NOBITS && sh.type !== 0) range(`section ${i}`, sh.offset, sh.size);
      rawSections.push(sh);
    }
    if (shnum > 0 && shstrndx !== SHN_UNDEF) {
      if (shstrndx >= shnum)
        throw new ElfError(`e_shstrndx ${shstrndx} is out of range (${shnum} sections)`);
      const strs = rawSections[shstrndx]!;
      if (strs.type !== SHT_STRTAB)
        throw new ElfError(`section name table (section ${shstrndx}) is not a string table`);
    }
    for (let i = 0; i < rawSections.length; i++) {
      const sh = rawSections[i]!;
      const name =
        shnum > 0 && shstrndx !== SHN_UNDEF
          ? readString(bytes, rawSections[shstrndx]!, sh.name, `name of section ${i}`)
          : '';
      sections.push({
        name,
        type: sh.type,
        flags: sh.flags,
        addr: sh.addr,
        offset: Number(sh.offset),
        size: sh.size,
      });
    }
  } else if (shnum !== 0) {
    throw new ElfError(`e_shnum is ${shnum} but e_shoff is 0`);
  }

  // Program headers.
  const segments: ElfSegment[] = [];
  if (phnum > 0) {
    if (phentsize !== PHDR_SIZE)
      throw new ElfError(`e_phentsize is ${phentsize}, expected ${PHDR_SIZE}`);
    if (phoff === 0n) throw new ElfError(`e_phnum is ${phnum} but e_phoff is 0`);
    const base = range('program header table', phoff, BigInt(phnum) * BigInt(PHDR_SIZE));
    for (let i = 0; i < phnum; i++) {
      const o = base + i * PHDR_SIZE;
      const ptype = u32(o);
      if (ptype !== PT_LOAD) continue;
      const flags = u32(o + 4);
      const offset = u64(o + 8);
      const vaddr = u64(o + 16);
      const paddr = u64(o + 24);
      const filesz = u64(o + 32);
      const memsz = u64(o + 40);
      if (filesz > memsz)
        throw new ElfError(`segment ${i}: p_filesz ${filesz} is larger than p_memsz ${memsz}`);
      if (memsz > 0n && (paddr > U64_MAX - (memsz - 1n) || vaddr > U64_MAX - (memsz - 1n))) {
        throw new ElfError(`segment ${i}: address range wraps around the 64-bit address space`);
      }
      const start = range(`segment ${i}`, offset, filesz);
      segments.push({
        paddr,
        vaddr,
        data: bytes.subarray(start, start + Number(filesz)),
        memSize: memsz,
        flags,
      });
    }
  }
  if (segments.length === 0) throw new ElfError('no PT_LOAD segment');

  // Symbols.
  const symbols = new Map<string, bigint>();
  const globalNames = new Set<string>();
  for (let i = 0; i < rawSections.length; i++) {
    const sh = rawSections[i]!;
    if (sh.type !== SHT_SYMTAB) continue;
    if (sh.entsize !== BigInt(SYM_SIZE))
      throw new ElfError(
        `symbol table (section ${i}) has sh_entsize ${sh.entsize}, expected ${SYM_SIZE}`,
      );
    if (sh.size % BigInt(SYM_SIZE) !== 0n)
      throw new ElfError(
        `symbol table (section ${i}) size ${sh.size} is not a multiple of ${SYM_SIZE}`,
      );
    if (sh.link === 0 || sh.link >= rawSections.length) {
      throw new ElfError(
        `symbol table (section ${i}) links to string table ${sh.link}, which does not exist`,
      );
    }
    const strtab = rawSections[sh.link]!;
    if (strtab.type !== SHT_STRTAB)
      throw new ElfError(
        `symbol table (section ${i}) links to section ${sh.link}, which is not a string table`,
      );
    const base = Number(sh.offset);
    const count = Number(sh.size / BigInt(SYM_SIZE));
    for (let j = 1; j < count; j++) {
      const o = base + j * SYM_SIZE;
      const nameOff = u32(o);
      if (nameOff === 0) continue;
      const info = bytes[o + 4]!;
      const symType = info & 0xf;
      const bind = info >> 4;
      const shndx = u16(o + 6);
      if (symType === STT_SECTION || symType === STT_FILE) continue;
      if (shndx === SHN_UNDEF) continue;
      if (shndx < SHN_LORESERVE && shndx >= rawSections.length) {
        throw new ElfError(`symbol ${j} refers to section ${shndx}, which does not exist`);
      }
      const name = readString(bytes, strtab, nameOff, `name of symbol ${j}`);
      const value = u64(o + 8);
      const isGlobal = bind !== STB_LOCAL;
      if (isGlobal) {
        if (!globalNames.has(name)) {
          symbols.set(name, value);
          globalNames.add(name);
        }
      } else if (!symbols.has(name)) {
        symbols.set(name, value);
      }
    }
  }

  return { entry, segments, symbols, sections };
}

/** Read a NUL-terminated string at `off` inside string table section `tab`. */
function readString(
  bytes: Uint8Array,
  tab: { offset: bigint; size: bigint },
  off: number,
  what: string,
): string {
  if (BigInt(off) >= tab.size)
    throw new ElfError(`${what}: string offset ${off} is outside its string table`);
  const start = Number(tab.offset) + off;
  const end = Number(tab.offset + tab.size);
  let i = start;
  while (i < end && bytes[i] !== 0) i++;
  if (i >= end) throw new ElfError(`${what}: string is not NUL-terminated within its string table`);
  return utf8.decode(bytes.subarray(start, i));
}

const utf8 = new TextDecoder('utf-8');

/**
 * Placing a Linux kernel, initrd and device tree in guest RAM for the
 * firmware-less ("cooperative") boot: the hart starts in S-mode at the
 * kernel with a0 = hartid and a1 = the device tree (Linux
 * Documentation/arch/riscv/boot.rst).
 */
import { RAM_BASE } from './core.js';
import { isElf, parseElf } from './elf.js';

/** RISC-V Linux Image header (Documentation/arch/riscv/boot-image-header.rst). */
export interface ImageHeader {
  textOffset: number;
  imageSize: number;
}

const IMAGE_MAGIC2 = 0x05435352; // "RSC\x05" at offset 0x38

export function parseImageHeader(bytes: Uint8Array): ImageHeader | undefined {
  if (bytes.length < 64) return undefined;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0x38, true) !== IMAGE_MAGIC2) return undefined;
  const textOffset = Number(dv.getBigUint64(8, true));
  const imageSize = Number(dv.getBigUint64(16, true));
  return { textOffset, imageSize };
}

export interface KernelPayload {
  /** Bytes to copy at `loadAddress`. */
  segments: Array<{ address: number; data: Uint8Array }>;
  entry: number;
  /** Highest address the kernel may use (image plus BSS), exclusive. */
  end: number;
}

export class BootError extends Error {}

const KERNEL_OFFSET = 0x20_0000;

/** Decide where a Linux kernel (flat Image, or vmlinux ELF) goes. */
export function placeKernel(bytes: Uint8Array): KernelPayload {
  const header = parseImageHeader(bytes);
  if (header) {
    const address = RAM_BASE + KERNEL_OFFSET;
    const size = Math.max(header.imageSize, bytes.length);
    return { segments: [{ address, data: bytes }], entry: address, end: address + size };
  }
  if (isElf(bytes)) {
    const elf = parseElf(bytes);
    const loads = elf.segments.filter((s) => s.memSize > 0n);
    if (loads.length === 0) throw new BootError('the kernel ELF has no loadable segments');
    // A Linux vmlinux is linked at its virtual address; place it like an Image,
    // keeping the segments' relative layout.
    const first = loads.reduce((m, s) => (s.vaddr < m ? s.vaddr : m), loads[0]!.vaddr);
    const base = RAM_BASE + KERNEL_OFFSET;
    let end = base;
    const segments = loads.map((s) => {
      const address = base + Number(s.vaddr - first);
      end = Math.max(end, address + Number(s.memSize));
      return { address, data: s.data };
    });
    return { segments, entry: base + Number(elf.entry - first), end };
  }
  throw new BootError(
    'not a RISC-V Linux kernel: expected a flat Image (with the "RSC\\x05" header magic) or a RISC-V ELF vmlinux',
  );
}

export interface BootLayout {
  dtbAddress: number;
  initrd?: { start: number; end: number };
}

const DTB_RESERVE = 0x10_0000; // 1 MiB at the top of RAM for the device tree

/** DTB at the top of RAM, initrd just below it, both clear of the kernel. */
export function layoutBoot(
  ramSize: number,
  kernelEnd: number,
  initrdSize: number | undefined,
): BootLayout {
  const ramEnd = RAM_BASE + ramSize;
  const dtbAddress = ramEnd - DTB_RESERVE;
  let initrd: BootLayout['initrd'];
  if (initrdSize !== undefined) {
    const start = Math.floor((dtbAddress - initrdSize) / 4096) * 4096;
    initrd = { start, end: start + initrdSize };
  }
  const lowest = initrd ? initrd.start : dtbAddress;
  // Leave the kernel room for its early page tables and allocations past BSS.
  if (lowest < kernelEnd + 0x40_0000) {
    const need = Math.ceil((kernelEnd + 0x40_0000 - lowest + ramSize) / 2 ** 20);
    throw new BootError(
      `mem=${ramSize / 2 ** 20} is too small for this kernel and initrd; use mem=${need} or more`,
    );
  }
  return { dtbAddress, initrd };
}

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

/** Where M-mode firmware ends up: raw images at RAM_BASE, ELF files at their physical addresses. */
export function placeFirmware(bytes: Uint8Array): KernelPayload {
  if (isElf(bytes)) {
    const elf = parseElf(bytes);
    let end = RAM_BASE;
    const segments = elf.segments
      .filter((s) => s.memSize > 0n)
      .map((s) => {
        const address = Number(s.paddr);
        end = Math.max(end, address + Number(s.memSize));
        return { address, data: s.data };
      });
    return { segments, entry: Number(elf.entry), end };
  }
  if (bytes.length === 0) throw new BootError('the firmware file is empty');
  return {
    segments: [{ address: RAM_BASE, data: bytes }],
    entry: RAM_BASE,
    end: RAM_BASE + bytes.length,
  };
}

/** Firmware (like OpenSBI) must fit below the kernel, which QEMU and colinux place at RAM_BASE + 2 MiB. */
export const FIRMWARE_LIMIT = RAM_BASE + KERNEL_OFFSET;

/**
 * OpenSBI's fw_dynamic handoff (struct fw_dynamic_info, version 2): six
 * 64-bit words telling the firmware where the next stage is and in which mode.
 */
export function fwDynamicInfo(nextAddr: number): Uint8Array {
  const info = new Uint8Array(48);
  const dv = new DataView(info.buffer);
  dv.setBigUint64(0, 0x4942534fn, true); // magic "OSBI"
  dv.setBigUint64(8, 2n, true); // version
  dv.setBigUint64(16, BigInt(nextAddr), true); // next_addr
  dv.setBigUint64(24, 1n, true); // next_mode: S
  dv.setBigUint64(32, 0n, true); // options
  dv.setBigUint64(40, 0n, true); // boot_hart
  return info;
}

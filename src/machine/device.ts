/**
 * The contract between the machine and every memory-mapped device.
 *
 * Devices never see the CPU. They are mapped on the bus at a base address,
 * receive offsets relative to that base, and reach the hart only through the
 * interrupt lines the machine hands them.
 */

/** Width of one MMIO access in bytes. 8-byte guest accesses are split by the bus into two 4-byte ones (low word first). */
export type AccessWidth = 1 | 2 | 4;

export interface MmioDevice {
  /** Size of the register window in bytes (the bus maps [base, base + size)). */
  readonly size: number;
  /** Read `width` bytes at `offset` (little-endian, zero-extended, as an unsigned 32-bit number). */
  read(offset: number, width: AccessWidth): number;
  /** Write the low `width` bytes of `value` at `offset`. */
  write(offset: number, width: AccessWidth, value: number): void;
}

/** A level-triggered interrupt line (a PLIC source, or a hart's MEIP/SEIP/MSIP/MTIP input). */
export interface IrqLine {
  set(level: boolean): void;
}

/** The hart-side inputs the CLINT drives, and the clock it reads. */
export interface HartTimerPort {
  /** Current `mtime` in timebase ticks (10 MHz). */
  now(): bigint;
  getMtimecmp(): bigint;
  setMtimecmp(value: bigint): void;
  /** Machine software interrupt pending (mip.MSIP). */
  readonly msip: IrqLine;
}

/** Every stateful part implements this so a whole VM can be suspended and resumed. */
export interface Snapshottable<T> {
  save(): T;
  restore(state: T): void;
}

/** Guest physical memory as DMA-capable devices (virtio) see it. */
export interface GuestMemory {
  /**
   * A live view of guest RAM [pa, pa + len), or undefined if any byte of it
   * lies outside RAM. Guest-supplied addresses must go through this check.
   */
  view(pa: bigint | number, len: number): Uint8Array | undefined;
}

/** What the machine hands a device it maps into a virtio-mmio slot. */
export interface DeviceContext {
  memory: GuestMemory;
  /** The slot's PLIC line. */
  irq: IrqLine;
  /** Wake the run loop (e.g. after host I/O completed without raising a line). */
  wake(): void;
  /** Deterministic mode: queues complete requests in the order they were taken. */
  ordered?: boolean;
  /** The driver notified queue `queue` (for the event trace, trace=virtio). */
  notified?(queue: number, deviceId: number): void;
}

/** Creates the device for one virtio-mmio slot (slot n = index in MachineOptions.virtio). */
export type DeviceFactory = (ctx: DeviceContext) => MmioDevice;

/**
 * The virt board: the one table of the memory map, used both to map the
 * devices on the bus and to describe them in the device tree, following the
 * conventions of QEMU's `virt` machine so stock Linux binds its drivers.
 */

import { Bus } from './bus.js';
import type { HartTimerPort, IrqLine, MmioDevice } from './device.js';
import {
  cells,
  concat,
  node,
  serializeFdt,
  u64s,
  type FdtNode,
  type FdtReservation,
} from './fdt.js';
import { Clint } from '../devices/clint.js';
import { GoldfishRtc } from '../devices/goldfish-rtc.js';
import { Plic, PLIC_NUM_SOURCES } from '../devices/plic.js';
import { SifiveTest, SYSCON_PASS, SYSCON_RESET } from '../devices/sifive-test.js';
import { Uart16550, UART_CLOCK_HZ } from '../devices/uart16550.js';
import { SifiveGpio } from '../devices/sifive-gpio.js';

/** The memory map (single source of truth). */
export const VIRT_MAP = {
  test: { base: 0x0010_0000, size: 0x1000 },
  rtc: { base: 0x0010_1000, size: 0x1000, irq: 11 },
  clint: { base: 0x0200_0000, size: 0x1_0000 },
  plic: { base: 0x0c00_0000, size: 0x60_0000 },
  uart: { base: 0x1000_0000, size: 0x100, irq: 10 },
  /** Extra NS16550A UARTs ttyS1..ttyS3 (`ttysN=`), in UART0's page; ttySn at base + (n-1)·stride, IRQ irqBase + n-1. */
  uartExtra: { base: 0x1000_0100, size: 0x100, stride: 0x100, count: 3, irqBase: 12 },
  /**
   * SiFive GPIO controller, one IRQ per pin (pin n: IRQ irq + n): pin 0 the
   * power button, pin 1 the resume switch.
   */
  gpio: { base: 0x0010_2000, size: 0x1000, irq: 15, pins: 2 },
  virtio: { base: 0x1000_1000, size: 0x1000, stride: 0x1000, count: 8, irqBase: 1 },
  ram: { base: 0x8000_0000 },
} as const;

/** mtime / `timebase-frequency`, in Hz. */
export const VIRT_TIMEBASE_HZ = 10_000_000;

/** Interrupt numbers of the CPU-local interrupt controller (mip bits). */
const INTC_MSI = 3;
const INTC_MTI = 7;
const INTC_SEI = 9;
const INTC_MEI = 11;

/** Phandles used in the generated tree. */
export const VIRT_PHANDLE = { cpu0: 1, cpu0Intc: 2, plic: 3, test: 4, gpio: 5 } as const;

/** GPIO pin of the power button (active low, gpio-keys KEY_POWER). */
export const POWER_BUTTON_PIN = 0;
/**
 * GPIO pin of the resume switch (active low, gpio-keys switch SW_LID): the
 * host closes and opens it after a VM was resumed from a snapshot, as a
 * laptop's lid, so the guest can set its clock from the RTC again.
 */
export const RESUME_SWITCH_PIN = 1;
/** Linux input event code KEY_POWER. */
const KEY_POWER = 116;
/** Linux input event type EV_SW and switch code SW_LID. */
const EV_SW = 5;
const SW_LID = 0;
const GPIO_ACTIVE_LOW = 1;

/** Guest serial ports besides the console: ttyS1..ttyS3. */
export const EXTRA_UART_MIN = 1;
export const EXTRA_UART_MAX = VIRT_MAP.uartExtra.count;

/** Address and PLIC source of extra UART ttyS`n` (1..3). */
export function extraUartInfo(n: number): { base: number; size: number; irq: number } {
  const u = VIRT_MAP.uartExtra;
  if (!Number.isInteger(n) || n < EXTRA_UART_MIN || n > EXTRA_UART_MAX) {
    throw new RangeError(
      `virt: no serial port ttyS${n} (ttyS${EXTRA_UART_MIN}..ttyS${EXTRA_UART_MAX})`,
    );
  }
  return { base: u.base + (n - 1) * u.stride, size: u.size, irq: u.irqBase + n - 1 };
}

export const UART_PATH = `/soc/serial@${VIRT_MAP.uart.base.toString(16)}`;

export interface VirtioSlotInfo {
  index: number;
  base: number;
  size: number;
  /** PLIC source number. */
  irq: number;
}

/** Address and interrupt of virtio-mmio slot `n` (0..7). */
export function virtioSlotInfo(n: number): VirtioSlotInfo {
  const v = VIRT_MAP.virtio;
  if (!Number.isInteger(n) || n < 0 || n >= v.count)
    throw new RangeError(`virt: no virtio slot ${n}`);
  return { index: n, base: v.base + n * v.stride, size: v.size, irq: v.irqBase + n };
}

// ---------------------------------------------------------------------------
// Devices and bus

export interface VirtBoardOptions {
  /** The hart's timer inputs (mtime, mtimecmp, MSIP) for the CLINT. */
  timer: HartTimerPort;
  /** Hart inputs driven by the PLIC: context 0 -> MEIP, context 1 -> SEIP. */
  meip: IrqLine;
  seip: IrqLine;
  /** UART transmit callback (one byte at a time). */
  onTransmit?: (byte: number) => void;
  /** Called when the UART receive FIFO has room again after a refused push. */
  onRxSpace?: () => void;
  /** UART receive FIFO depth (default 16). */
  uartRxFifoSize?: number;
  /** Wall clock for the RTC in ns since the epoch (default: Date.now()). */
  rtcClock?: () => bigint;
  /** syscon power off (exit code 0 on pass). */
  onPowerOff?: (exitCode: number) => void;
  /** syscon reset. */
  onReset?: () => void;
  /** Extra UARTs to create (ttyS1..ttyS3), with their host callbacks. */
  serialPorts?: ExtraUartWiring[];
  /** The guest sampled the GPIO input register (the value it got, the input-enabled pins). */
  onGpioInputRead?: (value: number, inputEnabled: number) => void;
}

export interface ExtraUartWiring {
  /** 1..3 for ttyS1..ttyS3. */
  index: number;
  onTransmit: (byte: number) => void;
  onRxSpace?: () => void;
}

export interface VirtioSlot extends VirtioSlotInfo {
  /** The PLIC input line of this slot. */
  line: IrqLine;
}

export interface VirtBoard {
  bus: Bus;
  uart: Uart16550;
  plic: Plic;
  clint: Clint;
  rtc: GoldfishRtc;
  syscon: SifiveTest;
  /** GPIO controller; pin POWER_BUTTON_PIN is the power button. */
  gpio: SifiveGpio;
  /** Extra UARTs by index (1..3), only those requested in `serialPorts`. */
  serials: ReadonlyMap<number, Uart16550>;
  /** Slot `n` (0..7): address, PLIC source and its line. */
  virtioSlot(n: number): VirtioSlot;
  /** Map a virtio-mmio transport in slot `n`; returns the slot. */
  mapVirtio(n: number, dev: MmioDevice): VirtioSlot;
  /** PLIC input line `n` (1..95). */
  irqLine(n: number): IrqLine;
}

export function createVirtBoard(opts: VirtBoardOptions): VirtBoard {
  const bus = new Bus();
  const plic = new Plic([opts.meip, opts.seip]);
  const clint = new Clint(opts.timer);
  const uart = new Uart16550({
    irq: plic.sourceLine(VIRT_MAP.uart.irq),
    onTransmit: opts.onTransmit,
    onRxSpace: opts.onRxSpace,
    rxFifoSize: opts.uartRxFifoSize,
  });
  const rtc = new GoldfishRtc(plic.sourceLine(VIRT_MAP.rtc.irq), opts.rtcClock);
  const syscon = new SifiveTest({ onPowerOff: opts.onPowerOff, onReset: opts.onReset });
  const gpio = new SifiveGpio({
    irqs: Array.from({ length: VIRT_MAP.gpio.pins }, (_, n) =>
      plic.sourceLine(VIRT_MAP.gpio.irq + n),
    ),
    onInputRead: opts.onGpioInputRead,
  });
  const serials = new Map<number, Uart16550>();
  for (const w of opts.serialPorts ?? []) {
    const info = extraUartInfo(w.index);
    if (serials.has(w.index)) throw new RangeError(`virt: ttyS${w.index} given twice`);
    const u = new Uart16550({
      irq: plic.sourceLine(info.irq),
      onTransmit: w.onTransmit,
      onRxSpace: w.onRxSpace,
      rxFifoSize: opts.uartRxFifoSize,
    });
    serials.set(w.index, u);
    bus.map(info.base, u);
  }

  bus.map(VIRT_MAP.test.base, syscon);
  bus.map(VIRT_MAP.rtc.base, rtc);
  bus.map(VIRT_MAP.clint.base, clint);
  bus.map(VIRT_MAP.plic.base, plic);
  bus.map(VIRT_MAP.uart.base, uart);
  bus.map(VIRT_MAP.gpio.base, gpio);

  const virtioSlot = (n: number): VirtioSlot => {
    const info = virtioSlotInfo(n);
    return { ...info, line: plic.sourceLine(info.irq) };
  };
  return {
    bus,
    uart,
    plic,
    clint,
    rtc,
    syscon,
    gpio,
    serials,
    virtioSlot,
    mapVirtio(n: number, dev: MmioDevice): VirtioSlot {
      const slot = virtioSlot(n);
      if (dev.size > slot.size) throw new RangeError(`virt: virtio device window too large`);
      bus.map(slot.base, dev);
      return slot;
    },
    irqLine: (n: number) => plic.sourceLine(n),
  };
}

// ---------------------------------------------------------------------------
// Device tree

export type MmuType = 'sv39' | 'sv48' | 'sv57' | 'riscv,sv39' | 'riscv,sv48' | 'riscv,sv57';

export interface DeviceTreeOptions {
  /** Default 0x8000_0000. */
  ramBase?: number;
  ramSize: number;
  bootargs?: string;
  /** Physical start and end (exclusive) of the initrd. */
  initrd?: { start: number | bigint; end: number | bigint };
  /** `riscv,isa`, e.g. "rv64imafdc_zicsr_zifencei". */
  isa: string;
  /** `riscv,isa-extensions`, e.g. ["i", "m", "a", "f", "d", "c", "zicsr", "zifencei"]. */
  isaExtensions: string[];
  mmuType: MmuType;
  /** Populated virtio-mmio slots (0..7); only these get a node. */
  virtioSlots?: number[];
  /** Extra UARTs present (1..3 for ttyS1..ttyS3); each gets a node and a serialN alias. */
  serialPorts?: number[];
  /** Optional `rng-seed` bytes in /chosen. */
  rngSeed?: Uint8Array;
  /** Optional memory reservation block entries. */
  memReserve?: FdtReservation[];
}

const hex = (n: number): string => n.toString(16);

/** Build the device tree as a node tree (see {@link buildDeviceTree} for bytes). */
export function buildDeviceTreeNode(opts: DeviceTreeOptions): FdtNode {
  const M = VIRT_MAP;
  const P = VIRT_PHANDLE;
  const ramBase = opts.ramBase ?? M.ram.base;
  if (!Number.isSafeInteger(opts.ramSize) || opts.ramSize <= 0) {
    throw new RangeError(`virt: bad ramSize ${opts.ramSize}`);
  }
  const mmu = opts.mmuType.startsWith('riscv,') ? opts.mmuType : `riscv,${opts.mmuType}`;
  const reg = (base: number, size: number): Uint8Array => u64s(base, size);
  const intcSpec = (...irqs: number[]): Uint8Array =>
    concat(irqs.map((irq) => cells(P.cpu0Intc, irq)));

  const cpu = node(
    'cpu@0',
    {
      device_type: 'cpu',
      reg: 0,
      status: 'okay',
      compatible: 'riscv',
      'riscv,isa': opts.isa,
      'riscv,isa-base': opts.isa.toLowerCase().startsWith('rv32') ? 'rv32i' : 'rv64i',
      'riscv,isa-extensions': opts.isaExtensions,
      // Cache-block operations work on 64-byte blocks (Zicbom, Zicbop, Zicboz).
      ...Object.fromEntries(
        (['cbom', 'cbop', 'cboz'] as const)
          .filter((e) => opts.isaExtensions.includes(`zi${e}`))
          .map((e) => [`riscv,${e}-block-size`, 64]),
      ),
      'mmu-type': mmu,
      phandle: P.cpu0,
    },
    [
      node('interrupt-controller', {
        '#address-cells': 0,
        '#interrupt-cells': 1,
        'interrupt-controller': true,
        compatible: 'riscv,cpu-intc',
        phandle: P.cpu0Intc,
      }),
    ],
  );
  const cpus = node(
    'cpus',
    { '#address-cells': 1, '#size-cells': 0, 'timebase-frequency': VIRT_TIMEBASE_HZ },
    [cpu, node('cpu-map', {}, [node('cluster0', {}, [node('core0', { cpu: P.cpu0 })])])],
  );

  const socChildren: FdtNode[] = [
    node(`test@${hex(M.test.base)}`, {
      compatible: ['sifive,test1', 'sifive,test0', 'syscon'],
      reg: reg(M.test.base, M.test.size),
      phandle: P.test,
    }),
    node(`rtc@${hex(M.rtc.base)}`, {
      compatible: 'google,goldfish-rtc',
      reg: reg(M.rtc.base, M.rtc.size),
      'interrupt-parent': P.plic,
      interrupts: M.rtc.irq,
    }),
    node(`clint@${hex(M.clint.base)}`, {
      compatible: ['sifive,clint0', 'riscv,clint0'],
      reg: reg(M.clint.base, M.clint.size),
      'interrupts-extended': intcSpec(INTC_MSI, INTC_MTI),
    }),
    node(`plic@${hex(M.plic.base)}`, {
      compatible: ['sifive,plic-1.0.0', 'riscv,plic0'],
      reg: reg(M.plic.base, M.plic.size),
      '#address-cells': 0,
      '#interrupt-cells': 1,
      'interrupt-controller': true,
      'interrupts-extended': intcSpec(INTC_MEI, INTC_SEI),
      'riscv,ndev': PLIC_NUM_SOURCES,
      phandle: P.plic,
    }),
    node(`serial@${hex(M.uart.base)}`, {
      compatible: 'ns16550a',
      reg: reg(M.uart.base, M.uart.size),
      'clock-frequency': UART_CLOCK_HZ,
      'interrupt-parent': P.plic,
      interrupts: M.uart.irq,
    }),
  ];
  socChildren.push(
    node(`gpio@${hex(M.gpio.base)}`, {
      compatible: 'sifive,gpio0',
      reg: reg(M.gpio.base, M.gpio.size),
      'interrupt-parent': P.plic,
      interrupts: cells(...Array.from({ length: M.gpio.pins }, (_, n) => M.gpio.irq + n)),
      'gpio-controller': true,
      '#gpio-cells': 2,
      'interrupt-controller': true,
      '#interrupt-cells': 2,
      '#address-cells': 0,
      phandle: P.gpio,
    }),
  );
  const serialPorts = [...new Set(opts.serialPorts ?? [])].sort((a, b) => a - b);
  const serialAliases: Record<string, string> = {};
  for (const n of serialPorts) {
    const u = extraUartInfo(n);
    const name = `serial@${hex(u.base)}`;
    serialAliases[`serial${n}`] = `/soc/${name}`;
    socChildren.push(
      node(name, {
        compatible: 'ns16550a',
        reg: reg(u.base, u.size),
        'clock-frequency': UART_CLOCK_HZ,
        'interrupt-parent': P.plic,
        interrupts: u.irq,
      }),
    );
  }
  const slots = [...new Set(opts.virtioSlots ?? [])].sort((a, b) => a - b);
  for (const n of slots) {
    const s = virtioSlotInfo(n);
    socChildren.push(
      node(`virtio_mmio@${hex(s.base)}`, {
        compatible: 'virtio,mmio',
        reg: reg(s.base, s.size),
        'interrupt-parent': P.plic,
        interrupts: s.irq,
      }),
    );
  }
  const soc = node(
    'soc',
    { '#address-cells': 2, '#size-cells': 2, compatible: 'simple-bus', ranges: true },
    socChildren,
  );

  const chosenProps: Array<[string, Uint8Array | string]> = [];
  if (opts.bootargs !== undefined) chosenProps.push(['bootargs', opts.bootargs]);
  chosenProps.push(['stdout-path', UART_PATH]);
  if (opts.initrd) {
    const start = BigInt(opts.initrd.start);
    const end = BigInt(opts.initrd.end);
    if (start < 0n || end < start) throw new RangeError('virt: bad initrd range');
    chosenProps.push(['linux,initrd-start', u64s(start)]);
    chosenProps.push(['linux,initrd-end', u64s(end)]);
  }
  if (opts.rngSeed && opts.rngSeed.length > 0) chosenProps.push(['rng-seed', opts.rngSeed]);

  const syscon = (compatible: string, value: number): Record<string, number | string> => ({
    compatible,
    regmap: P.test,
    offset: 0,
    value,
  });

  return node(
    '',
    {
      '#address-cells': 2,
      '#size-cells': 2,
      compatible: 'riscv-virtio',
      model: 'riscv-virtio,colinux',
    },
    [
      node('chosen', chosenProps),
      node('aliases', { serial0: UART_PATH, ...serialAliases }),
      node(`memory@${hex(ramBase)}`, { device_type: 'memory', reg: reg(ramBase, opts.ramSize) }),
      cpus,
      node('poweroff', syscon('syscon-poweroff', SYSCON_PASS)),
      node('reboot', syscon('syscon-reboot', SYSCON_RESET)),
      // The host's power button: `colinux stop` presses it.
      node('gpio-keys', { compatible: 'gpio-keys' }, [
        node('power', {
          label: 'Power Button',
          'linux,code': KEY_POWER,
          gpios: cells(P.gpio, POWER_BUTTON_PIN, GPIO_ACTIVE_LOW),
        }),
        // Closed and opened again by the host after a resume.
        node('resume', {
          label: 'Resume',
          'linux,input-type': EV_SW,
          'linux,code': SW_LID,
          gpios: cells(P.gpio, RESUME_SWITCH_PIN, GPIO_ACTIVE_LOW),
        }),
      ]),
      soc,
    ],
  );
}

/** Build the DTB bytes for the board. */
export function buildDeviceTree(opts: DeviceTreeOptions): Uint8Array {
  return serializeFdt(buildDeviceTreeNode(opts), { memReserve: opts.memReserve });
}

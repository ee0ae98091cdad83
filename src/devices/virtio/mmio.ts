/**
 * virtio-mmio transport, version 2 (virtio 1.2 §4.2.2): the register window
 * of one virtio-mmio slot, feature negotiation, device status, queue setup,
 * notifications, interrupt status/acknowledge, configuration space with its
 * generation counter, reset, and DEVICE_NEEDS_RESET when the driver breaks
 * the rules.
 *
 * A device type (blk, net, console, 9p, rng) implements `VirtioDevice` and
 * is mapped with `virtioMmio()`:
 *
 *     const factory: DeviceFactory = virtioMmio((host) => new MyDevice(host));
 *     new Machine({ …, virtio: [factory] });
 *
 * The device gets a `VirtioHost`: its queues (./virtqueue.ts), the
 * negotiated features, `configChanged()`, `fail(reason)` and `wake()`.
 * The transport offers VIRTIO_F_VERSION_1, VIRTIO_RING_F_INDIRECT_DESC and
 * VIRTIO_RING_F_EVENT_IDX on top of the device's own feature bits and refuses
 * FEATURES_OK unless the driver accepts VERSION_1 and nothing unoffered
 * (legacy drivers are not supported).
 */
import type {
  AccessWidth,
  DeviceContext,
  DeviceFactory,
  MmioDevice,
  Snapshottable,
} from '../../machine/device.js';
import { Virtqueue, type VirtqueueState } from './virtqueue.js';

// Registers (offsets in the window).
const REG_MAGIC = 0x000;
const REG_VERSION = 0x004;
const REG_DEVICE_ID = 0x008;
const REG_VENDOR_ID = 0x00c;
const REG_DEVICE_FEATURES = 0x010;
const REG_DEVICE_FEATURES_SEL = 0x014;
const REG_DRIVER_FEATURES = 0x020;
const REG_DRIVER_FEATURES_SEL = 0x024;
const REG_QUEUE_SEL = 0x030;
const REG_QUEUE_NUM_MAX = 0x034;
const REG_QUEUE_NUM = 0x038;
const REG_QUEUE_READY = 0x044;
const REG_QUEUE_NOTIFY = 0x050;
const REG_INTERRUPT_STATUS = 0x060;
const REG_INTERRUPT_ACK = 0x064;
const REG_STATUS = 0x070;
const REG_QUEUE_DESC_LOW = 0x080;
const REG_QUEUE_DESC_HIGH = 0x084;
const REG_QUEUE_DRIVER_LOW = 0x090;
const REG_QUEUE_DRIVER_HIGH = 0x094;
const REG_QUEUE_DEVICE_LOW = 0x0a0;
const REG_QUEUE_DEVICE_HIGH = 0x0a4;
const REG_SHM_SEL = 0x0ac;
const REG_SHM_LEN_LOW = 0x0b0;
const REG_SHM_LEN_HIGH = 0x0b4;
const REG_SHM_BASE_LOW = 0x0b8;
const REG_SHM_BASE_HIGH = 0x0bc;
const REG_QUEUE_RESET = 0x0c0;
const REG_CONFIG_GENERATION = 0x0fc;
const REG_CONFIG = 0x100;

export const VIRTIO_MMIO_MAGIC = 0x7472_6976; // "virt"
export const VIRTIO_MMIO_VERSION = 2;
/** Vendor ID reported by colinux devices ("COLX" read as little-endian bytes). */
export const VIRTIO_VENDOR_COLINUX = 0x584c_4f43;
export const VIRTIO_MMIO_WINDOW = 0x1000;

// Device status bits (virtio 1.2 §2.1).
export const STATUS_ACKNOWLEDGE = 1;
export const STATUS_DRIVER = 2;
export const STATUS_DRIVER_OK = 4;
export const STATUS_FEATURES_OK = 8;
export const STATUS_DEVICE_NEEDS_RESET = 0x40;
export const STATUS_FAILED = 0x80;

// Interrupt status bits.
export const INT_USED_BUFFER = 1;
export const INT_CONFIG_CHANGE = 2;

// Transport feature bits (virtio 1.2 §6).
export const VIRTIO_RING_F_INDIRECT_DESC = 28;
export const VIRTIO_RING_F_EVENT_IDX = 29;
export const VIRTIO_F_VERSION_1 = 32;

/** Device IDs (virtio 1.2 §5). */
export const VIRTIO_ID = { net: 1, block: 2, console: 3, rng: 4, p9: 9 } as const;

const bit = (n: number): bigint => 1n << BigInt(n);
const TRANSPORT_FEATURES =
  bit(VIRTIO_RING_F_INDIRECT_DESC) | bit(VIRTIO_RING_F_EVENT_IDX) | bit(VIRTIO_F_VERSION_1);

/** One virtio device type behind the transport. */
export interface VirtioDevice {
  /** Device ID (VIRTIO_ID.*). */
  readonly deviceId: number;
  /** Device-specific feature bits offered (transport bits are added by the transport). */
  readonly features: bigint;
  /** Maximum size of each virtqueue (a power of two); the device has this many queues. */
  readonly queueSizes: readonly number[];
  /**
   * Device configuration space, little-endian as the device type lays it
   * out. The transport serves driver reads from it; after changing it the
   * device calls `host.configChanged()`.
   */
  readonly config: Uint8Array;
  /** The driver wrote `width` bytes of config space at `offset` (default: ignored). */
  writeConfig?(offset: number, width: AccessWidth, value: number): void;
  /** The driver set DRIVER_OK: features are final and the queues are set up. */
  start?(): void;
  /** The driver notified `queue` (only while DRIVER_OK and not broken). */
  notify(queue: Virtqueue): void;
  /**
   * State of the device type beyond its queues and config space, for a
   * snapshot (taken with no request in flight); restore() gets it back in a
   * device built with the same options. Devices without such state omit both.
   */
  save?(): unknown;
  restore?(state: unknown): void;
  /**
   * Device reset (the driver wrote status 0, or the device broke and the
   * driver reset it): drop in-flight work. Chains popped before the reset
   * are already invalid (their writes and pushes do nothing).
   */
  reset(): void;
}

/** What a device can ask of its transport. */
export interface VirtioHost {
  /** The device's queues, index = queue number. */
  readonly queues: readonly Virtqueue[];
  /** Features the driver accepted (valid once FEATURES_OK is set). */
  readonly features: bigint;
  hasFeature(bitNumber: number): boolean;
  /** DRIVER_OK is set and the device is not waiting for a reset. */
  readonly active: boolean;
  /** The config space changed: bump the generation and send a config interrupt. */
  configChanged(): void;
  /** The driver broke the protocol: set DEVICE_NEEDS_RESET and stop. */
  fail(reason: string): void;
  /** Wake the VM's run loop (the interrupt paths do this already). */
  wake(): void;
}

export interface VirtioMmioOptions {
  /** Told (once per device reset) why the device set DEVICE_NEEDS_RESET. */
  onError?: (reason: string) => void;
}

/** Plain, versioned transport state. */
export interface VirtioMmioState {
  v: 1;
  /** The device type's own state (VirtioDevice.save), if it has any beyond its queues. */
  device?: unknown;
  status: number;
  deviceFeaturesSel: number;
  driverFeaturesSel: number;
  driverFeatures: string;
  queueSel: number;
  interruptStatus: number;
  configGeneration: number;
  needsReset: boolean;
  queues: Array<{ num: number; desc: number; driver: number; device: number } & VirtqueueState>;
}

interface QueueRegs {
  num: number;
  desc: number;
  driver: number;
  device: number;
}

function setLow(v: number, lo: number): number {
  return Math.floor(v / 0x1_0000_0000) * 0x1_0000_0000 + (lo >>> 0);
}
function setHigh(v: number, hi: number): number {
  // Addresses at or above 2^53 can never be RAM; keep them recognisably bad.
  return hi >>> 0 >= 0x20_0000
    ? Number.MAX_SAFE_INTEGER
    : (hi >>> 0) * 0x1_0000_0000 + (v % 0x1_0000_0000);
}

export class VirtioMmio implements MmioDevice, Snapshottable<VirtioMmioState> {
  readonly size = VIRTIO_MMIO_WINDOW;
  readonly device: VirtioDevice;
  private readonly ctx: DeviceContext;
  private readonly opts: VirtioMmioOptions;
  private readonly queues: Virtqueue[];
  private readonly regs: QueueRegs[];
  private readonly offered: bigint;
  private status = 0;
  private deviceFeaturesSel = 0;
  private driverFeaturesSel = 0;
  private driverFeatures = 0n;
  private queueSel = 0;
  private interruptStatus = 0;
  private configGeneration = 0;
  private needsReset = false;

  constructor(
    ctx: DeviceContext,
    create: (host: VirtioHost) => VirtioDevice,
    opts: VirtioMmioOptions = {},
  ) {
    this.ctx = ctx;
    this.opts = opts;
    this.queues = [];
    this.regs = [];
    const queues = (): Virtqueue[] => this.queues;
    const features = (): bigint => (this.status & STATUS_FEATURES_OK ? this.driverFeatures : 0n);
    const active = (): boolean => (this.status & STATUS_DRIVER_OK) !== 0 && !this.needsReset;
    const host: VirtioHost = {
      get queues() {
        return queues();
      },
      get features() {
        return features();
      },
      hasFeature: (n) => (features() & bit(n)) !== 0n,
      get active() {
        return active();
      },
      configChanged: () => this.configChanged(),
      fail: (reason) => this.fail(reason),
      wake: () => ctx.wake(),
    };
    this.device = create(host);
    this.offered = (this.device.features & ~TRANSPORT_FEATURES) | TRANSPORT_FEATURES;
    const queueHost = {
      memory: ctx.memory,
      interrupt: () => this.raise(INT_USED_BUFFER),
      fail: (reason: string) => this.fail(reason),
      ordered: ctx.ordered === true,
    };
    this.device.queueSizes.forEach((max, i) => {
      this.queues.push(new Virtqueue(i, max, queueHost));
      this.regs.push({ num: max, desc: 0, driver: 0, device: 0 });
    });
  }

  read(offset: number, width: AccessWidth): number {
    if (offset >= REG_CONFIG) return this.readConfig(offset - REG_CONFIG, width);
    // Registers are 32-bit; narrower reads see the matching bytes.
    const shift = (offset & 3) * 8;
    const value = this.readReg(offset & ~3);
    return width === 4 ? value >>> 0 : (value >>> shift) & (width === 1 ? 0xff : 0xffff);
  }

  private readReg(reg: number): number {
    const q = this.queues[this.queueSel];
    const r = this.regs[this.queueSel];
    switch (reg) {
      case REG_MAGIC:
        return VIRTIO_MMIO_MAGIC;
      case REG_VERSION:
        return VIRTIO_MMIO_VERSION;
      case REG_DEVICE_ID:
        return this.device.deviceId;
      case REG_VENDOR_ID:
        return VIRTIO_VENDOR_COLINUX;
      case REG_DEVICE_FEATURES:
        return this.deviceFeaturesSel > 1
          ? 0
          : Number((this.offered >> BigInt(32 * this.deviceFeaturesSel)) & 0xffff_ffffn);
      case REG_QUEUE_NUM_MAX:
        return q ? q.maxSize : 0;
      case REG_QUEUE_NUM:
        return r ? r.num : 0;
      case REG_QUEUE_READY:
        return q?.ready ? 1 : 0;
      case REG_INTERRUPT_STATUS:
        return this.interruptStatus;
      case REG_STATUS:
        return this.status | (this.needsReset ? STATUS_DEVICE_NEEDS_RESET : 0);
      case REG_QUEUE_DESC_LOW:
        return r ? r.desc % 0x1_0000_0000 : 0;
      case REG_QUEUE_DESC_HIGH:
        return r ? Math.floor(r.desc / 0x1_0000_0000) : 0;
      case REG_QUEUE_DRIVER_LOW:
        return r ? r.driver % 0x1_0000_0000 : 0;
      case REG_QUEUE_DRIVER_HIGH:
        return r ? Math.floor(r.driver / 0x1_0000_0000) : 0;
      case REG_QUEUE_DEVICE_LOW:
        return r ? r.device % 0x1_0000_0000 : 0;
      case REG_QUEUE_DEVICE_HIGH:
        return r ? Math.floor(r.device / 0x1_0000_0000) : 0;
      case REG_SHM_LEN_LOW:
      case REG_SHM_LEN_HIGH:
      case REG_SHM_BASE_LOW:
      case REG_SHM_BASE_HIGH:
        // No shared memory regions: length and base read as all ones.
        return 0xffff_ffff;
      case REG_CONFIG_GENERATION:
        return this.configGeneration;
      default:
        return 0;
    }
  }

  private readConfig(off: number, width: AccessWidth): number {
    const cfg = this.device.config;
    let v = 0;
    for (let i = width - 1; i >= 0; i--) v = v * 256 + (off + i < cfg.length ? cfg[off + i]! : 0);
    return v;
  }

  write(offset: number, width: AccessWidth, value: number): void {
    if (offset >= REG_CONFIG) {
      if (offset - REG_CONFIG < this.device.config.length)
        this.device.writeConfig?.(offset - REG_CONFIG, width, value);
      return;
    }
    // The driver must use 32-bit aligned accesses for registers; ignore others.
    if (width !== 4 || (offset & 3) !== 0) return;
    value >>>= 0;
    const r = this.regs[this.queueSel];
    const q = this.queues[this.queueSel];
    // Queue registers may only change while the queue is disabled.
    const queueWritable = r !== undefined && q !== undefined && !q.ready;
    switch (offset) {
      case REG_DEVICE_FEATURES_SEL:
        this.deviceFeaturesSel = value;
        break;
      case REG_DRIVER_FEATURES_SEL:
        this.driverFeaturesSel = value;
        break;
      case REG_DRIVER_FEATURES:
        if (this.status & STATUS_FEATURES_OK || this.driverFeaturesSel > 1) break;
        {
          const shift = BigInt(32 * this.driverFeaturesSel);
          this.driverFeatures =
            (this.driverFeatures & ~(0xffff_ffffn << shift)) | (BigInt(value) << shift);
        }
        break;
      case REG_QUEUE_SEL:
        this.queueSel = value;
        break;
      case REG_QUEUE_NUM:
        if (queueWritable) r.num = value;
        break;
      case REG_QUEUE_DESC_LOW:
        if (queueWritable) r.desc = setLow(r.desc, value);
        break;
      case REG_QUEUE_DESC_HIGH:
        if (queueWritable) r.desc = setHigh(r.desc, value);
        break;
      case REG_QUEUE_DRIVER_LOW:
        if (queueWritable) r.driver = setLow(r.driver, value);
        break;
      case REG_QUEUE_DRIVER_HIGH:
        if (queueWritable) r.driver = setHigh(r.driver, value);
        break;
      case REG_QUEUE_DEVICE_LOW:
        if (queueWritable) r.device = setLow(r.device, value);
        break;
      case REG_QUEUE_DEVICE_HIGH:
        if (queueWritable) r.device = setHigh(r.device, value);
        break;
      case REG_QUEUE_READY:
        if (!q || !r || this.needsReset) break;
        if (value & 1) {
          if (!q.ready && this.status & STATUS_FEATURES_OK) {
            q.enable({
              size: r.num,
              desc: r.desc,
              driver: r.driver,
              device: r.device,
              eventIdx: (this.driverFeatures & bit(VIRTIO_RING_F_EVENT_IDX)) !== 0n,
              indirect: (this.driverFeatures & bit(VIRTIO_RING_F_INDIRECT_DESC)) !== 0n,
            });
          }
        } else if (q.ready) {
          q.disable();
        }
        break;
      case REG_QUEUE_NOTIFY:
        this.ctx.notified?.(value & 0xffff, this.device.deviceId);
        this.notify(value & 0xffff);
        break;
      case REG_INTERRUPT_ACK:
        this.interruptStatus &= ~value;
        if (this.interruptStatus === 0) this.ctx.irq.set(false);
        break;
      case REG_STATUS:
        this.writeStatus(value & 0xff);
        break;
      case REG_SHM_SEL:
      case REG_QUEUE_RESET: // VIRTIO_F_RING_RESET is not offered
      default:
        break;
    }
  }

  private writeStatus(value: number): void {
    if (value === 0) {
      this.reset();
      return;
    }
    let next = value & ~STATUS_DEVICE_NEEDS_RESET;
    const was = this.status;
    if (next & STATUS_FEATURES_OK && !(was & STATUS_FEATURES_OK)) {
      const unoffered = this.driverFeatures & ~this.offered;
      const ok = unoffered === 0n && (this.driverFeatures & bit(VIRTIO_F_VERSION_1)) !== 0n;
      if (!ok) next &= ~STATUS_FEATURES_OK; // the driver reads it back and gives up
    }
    // FEATURES_OK cannot be set later than DRIVER_OK, nor cleared without a reset.
    if (was & STATUS_FEATURES_OK) next |= STATUS_FEATURES_OK;
    if (next & STATUS_DRIVER_OK && !(next & STATUS_FEATURES_OK)) next &= ~STATUS_DRIVER_OK;
    this.status = next;
    if (next & STATUS_DRIVER_OK && !(was & STATUS_DRIVER_OK) && !this.needsReset) {
      this.device.start?.();
    }
  }

  private notify(index: number): void {
    if (!(this.status & STATUS_DRIVER_OK) || this.needsReset) return;
    const q = this.queues[index];
    if (!q?.ready) return;
    this.device.notify(q);
  }

  /** Device reset: back to the state after power-on (the config generation keeps counting). */
  reset(): void {
    for (const q of this.queues) q.disable();
    this.regs.forEach((r, i) => {
      r.num = this.queues[i]!.maxSize;
      r.desc = r.driver = r.device = 0;
    });
    this.status = 0;
    this.deviceFeaturesSel = this.driverFeaturesSel = 0;
    this.driverFeatures = 0n;
    this.queueSel = 0;
    this.needsReset = false;
    this.interruptStatus = 0;
    this.ctx.irq.set(false);
    this.device.reset();
  }

  private raise(bits: number): void {
    this.interruptStatus |= bits;
    this.ctx.irq.set(true);
  }

  private configChanged(): void {
    this.configGeneration = (this.configGeneration + 1) >>> 0;
    if (this.status & STATUS_DRIVER_OK) this.raise(INT_CONFIG_CHANGE);
  }

  private fail(reason: string): void {
    if (this.needsReset) return;
    this.needsReset = true;
    for (const q of this.queues) q.halt();
    this.opts.onError?.(reason);
    if (this.status & STATUS_DRIVER_OK) this.raise(INT_CONFIG_CHANGE);
  }

  /** DEVICE_NEEDS_RESET is set (the driver broke the protocol). */
  get broken(): boolean {
    return this.needsReset;
  }

  /** Chains popped from the queues and not yet returned (requests in flight). */
  get inFlight(): number {
    return this.queues.reduce((n, q) => n + q.inFlight, 0);
  }

  save(): VirtioMmioState {
    return {
      v: 1,
      device: this.device.save?.(),
      status: this.status,
      deviceFeaturesSel: this.deviceFeaturesSel,
      driverFeaturesSel: this.driverFeaturesSel,
      driverFeatures: this.driverFeatures.toString(16),
      queueSel: this.queueSel,
      interruptStatus: this.interruptStatus,
      configGeneration: this.configGeneration,
      needsReset: this.needsReset,
      queues: this.queues.map((q, i) => ({ ...this.regs[i]!, ...q.save() })),
    };
  }

  restore(s: VirtioMmioState): void {
    if (s.v !== 1) throw new Error('virtio-mmio: unknown state version');
    // A snapshot file is outside input: registers get what a driver could have written.
    const u32 = (v: unknown): number => (typeof v === 'number' ? v >>> 0 : 0);
    const addr = (v: unknown): number =>
      Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : 0;
    if (!/^[0-9a-f]{1,16}$/.test(String(s.driverFeatures))) {
      throw new Error('virtio-mmio: bad driver features');
    }
    this.status = u32(s.status) & 0xff;
    this.deviceFeaturesSel = u32(s.deviceFeaturesSel);
    this.driverFeaturesSel = u32(s.driverFeaturesSel);
    this.driverFeatures = BigInt('0x' + s.driverFeatures) & this.offered;
    this.queueSel = u32(s.queueSel);
    this.interruptStatus = u32(s.interruptStatus) & 3;
    this.configGeneration = u32(s.configGeneration);
    this.needsReset = s.needsReset === true;
    if (!Array.isArray(s.queues)) throw new Error('virtio-mmio: no queue list');
    s.queues.forEach((qs, i) => {
      const r = this.regs[i];
      const q = this.queues[i];
      if (!r || !q) return;
      r.num = u32(qs.num);
      r.desc = addr(qs.desc);
      r.driver = addr(qs.driver);
      r.device = addr(qs.device);
      q.restore(qs);
      if (this.needsReset) q.halt();
    });
    this.device.restore?.(s.device);
    this.ctx.irq.set(this.interruptStatus !== 0);
  }
}

/** A DeviceFactory that maps the device `create` makes behind a virtio-mmio transport. */
export function virtioMmio(
  create: (host: VirtioHost) => VirtioDevice,
  opts: VirtioMmioOptions = {},
): DeviceFactory {
  return (ctx) => new VirtioMmio(ctx, create, opts);
}

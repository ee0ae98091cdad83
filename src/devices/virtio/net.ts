/**
 * virtio-net (virtio 1.2 §5.1): the guest's ethN on a network backend (the
 * user-mode NAT in src/net, or a VM-to-VM switch), through the NetBackend /
 * NetPort contract of src/net/link.ts. No host dependencies here.
 *
 * Queues: 0 receive, 1 transmit (no control queue, no multiqueue).
 * Features offered:
 * - MAC (the MAC in config space), STATUS (link status, changed with a
 *   config interrupt);
 * - GUEST_CSUM: frames the backend built itself (the NAT's) are marked
 *   DATA_VALID, so the guest skips verifying their checksums; frames from a
 *   switch (another guest) are not;
 * - GUEST_TSO4 + MRG_RXBUF: the NAT may hand the guest TCP segments of up
 *   to 44 × MSS in one frame (GSO, with a partial checksum: NEEDS_CSUM), laid
 *   across as many of the driver's receive buffers as it takes
 *   (num_buffers), the headers alone in the first one (see writeMerged).
 *   Far fewer, larger packets for the guest's stack to process, as a real
 *   NIC's receive offload gives.
 * - CSUM + HOST_TSO4, only toward a backend that takes them (the NAT, which
 *   terminates TCP; not the switch, whose frames reach other guests as they
 *   are): the guest leaves TCP/UDP checksums to the device (NEEDS_CSUM with
 *   csum_start / csum_offset; the device completes them) and may send TCP
 *   segments of up to 64 KiB (gso_type TCPV4), which the NAT takes whole.
 *   The guest then neither checksums nor segments what it sends.
 * Any other frame from the guest (more than 1518 bytes without TSO, another
 * gso_type, a checksum position outside the frame, offloads not negotiated)
 * is dropped and counted.
 *
 * Receive: frames from the backend wait in a bounded backlog until the
 * driver posts buffers. Past RX_BACKLOG_HIGH frames (or 512 KiB) the port
 * reports itself congested (the NAT then holds back TCP data); past
 * RX_BACKLOG_MAX frames are dropped, as a full NIC ring would. When the
 * backlog drains the backend is pumped. Frames produced while the device
 * handles the driver's transmit kick (ARP replies, ACKs) go out in the same
 * batch, with one interrupt.
 */
import type { DeviceFactory } from '../../machine/device.js';
import type { Chain, Virtqueue } from './virtqueue.js';
import { VIRTIO_ID, virtioMmio, type VirtioDevice, type VirtioHost } from './mmio.js';
import type { GsoInfo, NetBackend, NetPort } from '../../net/link.js';
import { finishChecksum, sum16 } from '../../net/bytes.js';

export const VIRTIO_NET_F_CSUM = 0;
export const VIRTIO_NET_F_GUEST_CSUM = 1;
export const VIRTIO_NET_F_MAC = 5;
export const VIRTIO_NET_F_GUEST_TSO4 = 7;
export const VIRTIO_NET_F_HOST_TSO4 = 11;
export const VIRTIO_NET_F_MRG_RXBUF = 15;
export const VIRTIO_NET_F_STATUS = 16;
export const VIRTIO_NET_S_LINK_UP = 1;
export const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
export const VIRTIO_NET_HDR_F_DATA_VALID = 2;
export const VIRTIO_NET_HDR_GSO_TCPV4 = 1;

/** virtio_net_hdr with VERSION_1 (num_buffers included). */
export const NET_HDR_LEN = 12;
const RX_QUEUE = 0;
const TX_QUEUE = 1;
const QUEUE_SIZE = 256;
/** Frames larger than this from the guest are dropped (1514 + a VLAN tag)… */
const MAX_TX_FRAME = 1518;
/** …unless they are TSO frames: an IPv4 packet of up to 64 KiB (+ Ethernet and a VLAN tag). */
const MAX_TSO_FRAME = 18 + 65535;
const MIN_FRAME = 14;
/** Largest TCP payload in one GSO frame: 64 KiB minus the IPv4 and TCP headers (with options). */
const GSO_MAX_PAYLOAD = 65535 - 20 - 60;
export const RX_BACKLOG_HIGH = 128;
const RX_BACKLOG_HIGH_BYTES = 512 * 1024;
const RX_BACKLOG_LOW = 32;
const RX_BACKLOG_LOW_BYTES = 128 * 1024;
const RX_BACKLOG_MAX = 1024;

const bit = (n: number): bigint => 1n << BigInt(n);

export interface VirtioNetOptions {
  mac: Uint8Array;
  backend: NetBackend;
  /** Told why the device set DEVICE_NEEDS_RESET (driver protocol errors). */
  onError?: (reason: string) => void;
}

interface Pending {
  frame: Uint8Array;
  /** The virtio_net_hdr for it (num_buffers is filled in when it is written). */
  hdr: Uint8Array;
  /**
   * Mergeable buffers: the frame's headers (Ethernet + IP + TCP) are this
   * long and go alone in the first buffer, so the payload starts at the
   * beginning of the next one (0: no split).
   */
  split: number;
}

export class VirtioNet implements VirtioDevice, NetPort {
  readonly deviceId = VIRTIO_ID.net;
  readonly features: bigint;
  readonly queueSizes = [QUEUE_SIZE, QUEUE_SIZE];
  /** mac[6], status u16 (little-endian). */
  readonly config = new Uint8Array(8);
  private readonly host: VirtioHost;
  private readonly backend: NetBackend;
  private backlog: Pending[] = [];
  private backlogHead = 0;
  private backlogBytes = 0;
  /** Mergeable mode: receive buffers popped but not used yet (a frame needs several). */
  private spare: Chain[] = [];
  private spareBytes = 0;
  private inTx = false;
  /** Transmitted chains not yet returned (see completeTx). */
  private txDone: Chain[] = [];
  private txDoneQueued = false;
  private flushing = false;
  private wasCongested = false;
  readonly counters = {
    txFrames: 0,
    txDropped: 0,
    rxFrames: 0,
    rxDropped: 0,
  };

  constructor(host: VirtioHost, opts: VirtioNetOptions) {
    this.host = host;
    this.backend = opts.backend;
    this.features =
      bit(VIRTIO_NET_F_GUEST_CSUM) |
      bit(VIRTIO_NET_F_MAC) |
      bit(VIRTIO_NET_F_GUEST_TSO4) |
      bit(VIRTIO_NET_F_MRG_RXBUF) |
      bit(VIRTIO_NET_F_STATUS) |
      (opts.backend.txOffload ? bit(VIRTIO_NET_F_CSUM) | bit(VIRTIO_NET_F_HOST_TSO4) : 0n);
    this.config.set(opts.mac.subarray(0, 6), 0);
    this.writeLink(opts.backend.linkUp);
    opts.backend.attach(this);
  }

  private writeLink(up: boolean): void {
    this.config[6] = up ? VIRTIO_NET_S_LINK_UP : 0;
    this.config[7] = 0;
  }

  get mac(): Uint8Array {
    return this.config.slice(0, 6);
  }

  // -------------------------------------------------------------------------
  // VirtioDevice

  start(): void {
    this.flushRx();
  }

  notify(q: Virtqueue): void {
    if (q.index === TX_QUEUE) this.transmit(q);
    else if (q.index === RX_QUEUE) this.flushRx();
  }

  reset(): void {
    this.backlog = [];
    this.backlogHead = 0;
    this.backlogBytes = 0;
    this.spare = [];
    this.spareBytes = 0;
    this.txDone = [];
  }

  // -------------------------------------------------------------------------
  // Transmit: guest → backend

  private transmit(q: Virtqueue): void {
    this.inTx = true;
    try {
      let n = 0;
      const csum = this.host.hasFeature(VIRTIO_NET_F_CSUM);
      const tso = this.host.hasFeature(VIRTIO_NET_F_HOST_TSO4);
      for (let chain = q.pop(); chain; chain = q.pop()) {
        const len = chain.readable - NET_HDR_LEN;
        const frame =
          len >= MIN_FRAME && len <= (tso ? MAX_TSO_FRAME : MAX_TX_FRAME)
            ? txFrame(chain.bytes(0, NET_HDR_LEN), chain.bytes(NET_HDR_LEN, len), csum, tso)
            : undefined;
        if (frame) {
          this.counters.txFrames++;
          this.backend.transmit(frame);
        } else {
          this.counters.txDropped++;
        }
        this.txDone.push(chain);
        n++;
      }
      if (n > 0 && !this.txDoneQueued) {
        this.txDoneQueued = true;
        queueMicrotask(() => this.completeTx());
      }
      this.backend.flush?.();
    } finally {
      this.inTx = false;
    }
    this.flushRx();
  }

  /**
   * Return the transmitted chains to the driver: when the host gets control
   * back (the end of the guest's time slice, or at once when the guest
   * idles), all of a slice's chains with one interrupt. The frames
   * themselves went to the backend at the kick. Meanwhile the guest's TCP
   * sees its packets still queued and lets later writes gather behind them
   * (autocorking), so it sends fewer, larger (TSO) frames.
   */
  private completeTx(): void {
    this.txDoneQueued = false;
    const q = this.host.queues[TX_QUEUE];
    const done = this.txDone;
    this.txDone = [];
    if (!q) return;
    for (const chain of done) q.push(chain, 0);
    q.notify();
  }

  // -------------------------------------------------------------------------
  // Receive: backend → guest (NetPort)

  gsoMax(): number {
    return this.host.active && this.host.hasFeature(VIRTIO_NET_F_GUEST_TSO4) ? GSO_MAX_PAYLOAD : 0;
  }

  deliver(frame: Uint8Array, checksummed = false, gso?: GsoInfo): void {
    if (!this.host.active || this.backlog.length - this.backlogHead >= RX_BACKLOG_MAX) {
      this.counters.rxDropped++;
      return;
    }
    const hdr = new Uint8Array(NET_HDR_LEN);
    let split = 0;
    if (gso) {
      if (this.gsoMax() === 0) {
        this.counters.rxDropped++;
        return;
      }
      hdr[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
      hdr[1] = VIRTIO_NET_HDR_GSO_TCPV4;
      const dataOff = gso.csumStart + ((frame[gso.csumStart + 12]! >> 4) & 0xf) * 4;
      put16(hdr, 2, dataOff); // hdr_len: Ethernet + IP + TCP headers
      put16(hdr, 4, gso.size);
      put16(hdr, 6, gso.csumStart);
      put16(hdr, 8, 16); // the TCP checksum field
      if (dataOff < frame.length) split = dataOff;
    } else if (checksummed && this.host.hasFeature(VIRTIO_NET_F_GUEST_CSUM)) {
      hdr[0] = VIRTIO_NET_HDR_F_DATA_VALID;
    }
    this.backlog.push({ frame, hdr, split });
    this.backlogBytes += frame.length;
    if (!this.inTx) this.flushRx();
  }

  congested(): boolean {
    const c =
      this.backlog.length - this.backlogHead >= RX_BACKLOG_HIGH ||
      this.backlogBytes >= RX_BACKLOG_HIGH_BYTES;
    if (c) this.wasCongested = true;
    return c;
  }

  setLinkUp(up: boolean): void {
    const was = (this.config[6]! & VIRTIO_NET_S_LINK_UP) !== 0;
    if (was === up) return;
    this.writeLink(up);
    this.host.configChanged();
  }

  /** Write one frame into one buffer (no MRG_RXBUF); false when no buffer is available. */
  private writeSingle(q: Virtqueue, p: Pending): boolean {
    const chain = q.pop();
    if (!chain) return false;
    if (chain.writable < NET_HDR_LEN + p.frame.length) {
      // Buffers too small for the frame (the driver should post 1526 bytes, or 64 KiB with TSO).
      this.counters.rxDropped++;
      q.push(chain, 0);
      return true;
    }
    p.hdr[10] = 1;
    p.hdr[11] = 0;
    chain.write(0, p.hdr);
    chain.write(NET_HDR_LEN, p.frame);
    q.push(chain, NET_HDR_LEN + p.frame.length);
    this.counters.rxFrames++;
    return true;
  }

  /**
   * Lay one frame across as many buffers as it needs (MRG_RXBUF); false when
   * there are not enough yet.
   *
   * A GSO frame's headers (virtio_net_hdr + Ethernet + IP + TCP, 66 bytes
   * usually) go alone in the first buffer when it has room for them, and
   * the payload fills the next buffers from their start. Linux copies such a
   * short first buffer into the skb's linear head, and the payload sits in
   * page fragments at the same 8-byte alignment as its TCP stream offset
   * (the NAT cuts segments at multiples of 8), so the guest's copy to user
   * memory runs word by word instead of shifting every word into place (the
   * 14-byte Ethernet header would leave it 2 bytes off), its biggest cost.
   */
  private writeMerged(q: Virtqueue, p: Pending): boolean {
    const need = NET_HDR_LEN + p.frame.length;
    const head = NET_HDR_LEN + p.split;
    for (;;) {
      const first = this.spare[0];
      const split = p.split > 0 && first !== undefined && first.writable >= head;
      if (split ? this.spareBytes - first.writable >= need - head : this.spareBytes >= need) {
        break;
      }
      const c = q.pop();
      if (!c) return false;
      this.spare.push(c);
      this.spareBytes += c.writable;
    }
    const split = p.split > 0 && this.spare[0]!.writable >= head;
    // Buffers used, and where each one's share of hdr + frame ends.
    const ends: number[] = [];
    for (let pos = 0; pos < need;) {
      const cap = split && ends.length === 0 ? head : this.spare[ends.length]!.writable;
      pos = Math.min(need, pos + cap);
      ends.push(pos);
    }
    const k = ends.length;
    put16(p.hdr, 10, k);
    let pos = 0;
    for (let i = 0; i < k; i++) {
      const chain = this.spare[i]!;
      const end = ends[i]!;
      let written = 0;
      if (pos < NET_HDR_LEN) {
        written = chain.write(0, p.hdr.subarray(pos, Math.min(end, NET_HDR_LEN)));
      }
      const from = Math.max(pos, NET_HDR_LEN) - NET_HDR_LEN;
      if (end - NET_HDR_LEN > from) {
        written += chain.write(written, p.frame.subarray(from, end - NET_HDR_LEN));
      }
      q.push(chain, written);
      this.spareBytes -= chain.writable;
      pos = end;
    }
    this.spare.splice(0, k);
    this.counters.rxFrames++;
    return true;
  }

  private flushRx(): void {
    const q = this.host.queues[RX_QUEUE];
    if (!q || !this.host.active || this.flushing) return;
    this.flushing = true;
    let n = 0;
    const merged = this.host.hasFeature(VIRTIO_NET_F_MRG_RXBUF);
    try {
      for (;;) {
        while (this.backlogHead < this.backlog.length) {
          const p = this.backlog[this.backlogHead]!;
          if (!(merged ? this.writeMerged(q, p) : this.writeSingle(q, p))) break;
          this.backlog[this.backlogHead++] = EMPTY_PENDING;
          this.backlogBytes -= p.frame.length;
          n++;
        }
        if (this.backlogHead === this.backlog.length) {
          this.backlog = [];
          this.backlogHead = 0;
          this.backlogBytes = 0;
        } else if (this.backlogHead > 1024) {
          this.backlog = this.backlog.slice(this.backlogHead);
          this.backlogHead = 0;
        }
        const queued = this.backlog.length - this.backlogHead;
        const bytes = this.backlogBytes;
        if (!this.wasCongested || queued > RX_BACKLOG_LOW || bytes > RX_BACKLOG_LOW_BYTES) break;
        // Room again: let the backend send what it held back (it delivers into the backlog).
        this.wasCongested = false;
        this.backend.pump();
        if (this.backlog.length - this.backlogHead === queued) break;
      }
    } finally {
      this.flushing = false;
    }
    if (n > 0) q.notify();
  }
}

/**
 * Check a frame from the guest against its virtio_net_hdr and apply the
 * transmit offloads: complete a partial checksum (NEEDS_CSUM) in place.
 * Returns the frame, or undefined to drop it.
 */
export function txFrame(
  hdr: Uint8Array,
  frame: Uint8Array,
  csum: boolean,
  tso: boolean,
): Uint8Array | undefined {
  const flags = hdr[0]!;
  const gsoType = hdr[1]!;
  const len = frame.length;
  if (gsoType === VIRTIO_NET_HDR_GSO_TCPV4) {
    if (!tso || !(flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) return undefined;
  } else if (gsoType !== 0 || len > MAX_TX_FRAME) {
    return undefined;
  }
  if (!csum) return frame; // flags mean nothing without CSUM; checksums are checked later
  if (flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM) return undefined;
  if (flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
    const start = hdr[6]! | (hdr[7]! << 8);
    const field = start + (hdr[8]! | (hdr[9]! << 8));
    if (start < MIN_FRAME || field + 2 > len) return undefined;
    // The field holds the pseudo-header sum; the sum from csum_start on completes it.
    const c = finishChecksum(sum16(frame, start, len));
    frame[field] = c >>> 8;
    frame[field + 1] = c & 0xff;
  }
  return frame;
}

const EMPTY_PENDING: Pending = { frame: new Uint8Array(0), hdr: new Uint8Array(0), split: 0 };

function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}

/** The DeviceFactory for one virtio-net NIC (one virtio-mmio slot). */
export function virtioNet(opts: VirtioNetOptions): DeviceFactory {
  return virtioMmio((host) => new VirtioNet(host, opts), { onError: opts.onError });
}

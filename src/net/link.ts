/**
 * The contract between a network device (virtio-net) and what its cable is
 * plugged into (the user-mode NAT, a VM-to-VM switch). Frames are whole
 * Ethernet frames without FCS.
 *
 * The backend lives as long as the VM (a guest reboot builds a new device,
 * which attaches to the same backend, so port forwards stay bound).
 */

/**
 * A TCP/IPv4 frame larger than the MTU, for the guest to treat as `size`-byte
 * segments (virtio-net GSO). Its TCP checksum field holds only the
 * pseudo-header sum (a partial checksum, as with CHECKSUM_PARTIAL), and
 * `csumStart` is the offset of the TCP header in the frame.
 */
export interface GsoInfo {
  size: number;
  csumStart: number;
}

/** The device side, as the backend sees it. */
export interface NetPort {
  /**
   * A frame for the guest. The device may keep the array. `checksummed`:
   * the backend built the frame itself and every checksum in it is correct,
   * so the guest may skip verifying them (virtio-net GUEST_CSUM).
   */
  deliver(frame: Uint8Array, checksummed?: boolean, gso?: GsoInfo): void;
  /**
   * True while the device holds more undelivered frames than it wants (the
   * guest is not posting receive buffers fast enough). Backends then hold
   * back bulk data (TCP) until the device calls NetBackend.pump().
   */
  congested(): boolean;
  /**
   * Largest TCP payload of one frame the guest accepts as a GSO packet
   * (virtio-net GUEST_TSO4), or 0 when every frame must fit the MTU.
   */
  gsoMax?(): number;
  /** Carrier change (the switch lost or regained its hub). */
  setLinkUp(up: boolean): void;
}

export interface NetStats {
  [counter: string]: number;
}

/** The backend side, as the device sees it. */
export interface NetBackend {
  /** Plug a device in (replaces any previous one). */
  attach(port: NetPort): void;
  /** Unplug this device, if it is the attached one. */
  detach(port: NetPort): void;
  /** A frame from the guest. The backend must not keep a reference after returning unless it copies. */
  transmit(frame: Uint8Array): void;
  /** The device has room for frames again. */
  pump(): void;
  /**
   * The device finished a batch of transmit(): send any replies the backend
   * was batching (delayed ACKs) now, so they go out with the same interrupt.
   */
  flush?(): void;
  /** Carrier state when a device attaches. */
  readonly linkUp: boolean;
  /**
   * The backend takes TCP/IPv4 frames of up to 64 KiB from the guest (its
   * stack terminates TCP), so the device may offer transmit offloads
   * (virtio-net CSUM, HOST_TSO4). transmit() then gets frames larger than
   * the MTU; their checksums are complete.
   */
  readonly txOffload?: boolean;
  /** Counters (frames, drops by reason, connections). */
  stats(): NetStats;
  /** Release host resources (sockets, listeners, timers). */
  close(): void;
}

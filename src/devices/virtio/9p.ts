/**
 * virtio-9p (virtio 1.2 §5.10 "Plan9 file system"; the transport is the
 * shared virtio-mmio + virtqueue code): one request queue, each descriptor
 * chain carries one 9P T-message in its readable part and gets the
 * R-message in its writable part. The mount tag sits in config space
 * (`tag_len` le16, then the tag bytes) and is announced with
 * VIRTIO_9P_MOUNT_TAG, so the guest mounts it with
 * `mount -t 9p -o trans=virtio,version=9p2000.L <tag> /mnt`.
 *
 * All protocol work is the P9Server's (src/fs/9p-server.ts); requests are
 * served concurrently and complete asynchronously, so the guest runs on while
 * the host does file I/O. A request larger than the server's msize is not
 * copied; it gets an error reply.
 */
import type { DeviceFactory } from '../../machine/device.js';
import type { Chain, Virtqueue } from './virtqueue.js';
import { VIRTIO_ID, virtioMmio, type VirtioDevice, type VirtioMmioOptions } from './mmio.js';
import { P9Server, type P9State } from '../../fs/9p-server.js';

export const VIRTIO_9P_MOUNT_TAG = 0;
/** Requests in flight at most (Linux's 9p transport queues up to this many). */
export const P9_QUEUE_SIZE = 128;
/** Longest mount tag Linux accepts. */
export const MAX_TAG_LEN = 255;

export class Virtio9p implements VirtioDevice {
  readonly deviceId = VIRTIO_ID.p9;
  readonly features = 1n << BigInt(VIRTIO_9P_MOUNT_TAG);
  readonly queueSizes = [P9_QUEUE_SIZE];
  readonly config: Uint8Array;

  constructor(
    readonly server: P9Server,
    readonly tag: string,
  ) {
    const bytes = new TextEncoder().encode(tag);
    if (bytes.length === 0 || bytes.length > MAX_TAG_LEN) {
      throw new RangeError(`9p mount tag must be 1 to ${MAX_TAG_LEN} bytes`);
    }
    this.config = new Uint8Array(2 + bytes.length);
    this.config[0] = bytes.length & 0xff;
    this.config[1] = bytes.length >> 8;
    this.config.set(bytes, 2);
  }

  notify(q: Virtqueue): void {
    for (let chain = q.pop(); chain; chain = q.pop()) void this.serve(q, chain);
  }

  private async serve(q: Virtqueue, chain: Chain): Promise<void> {
    // Copy at most one msize worth: anything longer is refused by the decoder
    // from its size field without the host buffering it.
    const request = chain.bytes(0, Math.min(chain.readable, this.server.maxMsize));
    const reply = await this.server.handle(request, chain.writable);
    if (!chain.valid) return; // the device was reset meanwhile
    const n = chain.write(0, reply);
    q.push(chain, n);
    q.notify();
  }

  save(): P9State {
    return this.server.save();
  }

  restore(state: unknown): void {
    this.server.restore(state as P9State);
  }

  reset(): void {
    this.server.reset();
  }
}

/**
 * A virtio slot factory: each machine built from it gets a fresh server
 * session from `makeServer` (a reboot starts with no fids), under `tag`.
 */
export function virtio9p(
  makeServer: () => P9Server,
  tag: string,
  opts: VirtioMmioOptions = {},
): DeviceFactory {
  return virtioMmio(() => new Virtio9p(makeServer(), tag), opts);
}

/**
 * Shared folders (cofsN=): open host directories and make the virtio-9p
 * devices that serve them. Used by Vm.create.
 */
import type { DeviceFactory } from '../../machine/device.js';
import { P9Server } from '../../fs/9p-server.js';
import { virtio9p, MAX_TAG_LEN } from '../../devices/virtio/9p.js';
import { HostDir } from './host-dir.js';

export { HostDir, openHostDir, type HostDirOptions } from './host-dir.js';

/** One shared folder of a VM (see `colinux run cofsN=`). */
export interface VmShare {
  /** Host directory to export. */
  path: string;
  /** Mount tag the guest uses (default `cofsN`, N = position in the list). */
  tag?: string;
  /** Refuse every change with EROFS. */
  readOnly?: boolean;
}

/** A shared folder that could not be opened; the message starts with `<tag>=<path>:`. */
export class ShareError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShareError';
  }
}

export interface OpenShare {
  tag: string;
  backend: HostDir;
}

/** Open every share (ShareError names the one that failed); nothing stays open on failure. */
export async function openShares(specs: readonly VmShare[]): Promise<OpenShare[]> {
  const opened: OpenShare[] = [];
  const tags = new Set<string>();
  try {
    for (const [i, s] of specs.entries()) {
      const tag = s.tag ?? `cofs${i}`;
      const len = new TextEncoder().encode(tag).length;
      if (len === 0 || len > MAX_TAG_LEN || tags.has(tag)) {
        throw new ShareError(
          `${tag}=${s.path}: the mount tag must be unique and 1 to ${MAX_TAG_LEN} bytes`,
        );
      }
      tags.add(tag);
      try {
        opened.push({ tag, backend: await HostDir.open(s.path, { readOnly: s.readOnly }) });
      } catch (e) {
        throw new ShareError(
          `${tag}=${s.path}: ${(e as Error).message.replace(/^cofs: [^:]*: /, '')}`,
        );
      }
    }
  } catch (e) {
    await Promise.allSettled(opened.map((o) => o.backend.close()));
    throw e;
  }
  return opened;
}

/** The virtio slot factories for opened shares (a fresh 9P session per machine). */
export function shareDevices(
  shares: readonly OpenShare[],
  onWarning?: (message: string) => void,
): DeviceFactory[] {
  return shares.map(({ tag, backend }) =>
    virtio9p(() => new P9Server(backend), tag, {
      onError: (reason) => onWarning?.(`${tag}: device reset needed: ${reason}`),
    }),
  );
}

/**
 * Network backends for virtio-net NICs: the user-mode NAT (src/net/stack.ts
 * on real host sockets) and the VM-to-VM switch (./switch.ts).
 */
import { UserNet, type PortForward } from '../../net/stack.js';
import type { NetBackend } from '../../net/link.js';
import { NodeNetHost } from './node-host.js';
import { SwitchBackend } from './switch.js';

export { NodeNetHost } from './node-host.js';
export { SwitchBackend, SwitchError, switchSocketPath } from './switch.js';

/** A NIC could not be set up (a host port in use, a switch that refused us, …). */
export class NetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NetError';
  }
}

export type NetBackendSpec =
  | { kind: 'slirp'; forwards?: PortForward[]; restrict?: boolean }
  | { kind: 'switch'; name: string; dir: string };

/**
 * Open the backend for one NIC. `label` (e.g. `eth0=slirp,…`) prefixes error
 * messages. Rejects with a NetError; nothing stays open on failure.
 */
export async function openNetBackend(
  spec: NetBackendSpec,
  mac: Uint8Array,
  label: string,
): Promise<NetBackend> {
  try {
    if (spec.kind === 'slirp') {
      const net = new UserNet({
        host: new NodeNetHost(),
        mac,
        forwards: spec.forwards,
        restrict: spec.restrict,
      });
      await net.start();
      return net;
    }
    return await SwitchBackend.join({ dir: spec.dir, name: spec.name, mac });
  } catch (e) {
    throw new NetError(`${label}: ${(e as Error).message}`);
  }
}

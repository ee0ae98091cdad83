/**
 * A suspended VM as one file: what is needed to rebuild the same board and
 * continue exactly where it stopped, and nothing tied to the host it ran on
 * (so a VM suspended in Node can resume in a browser).
 *
 * Header fields (container.ts holds the layout and checks):
 *   kind      'colinux-vm'
 *   layout    LAYOUT_VERSION: the meaning of the sections and states below
 *   producer  e.g. 'colinux 0.1.0' (information only)
 *   created   ISO time of the snapshot (information only)
 *   vm        the VM's settings (memory, command line, disks, network cards,
 *             shares, serial ports…), as the embedding layer defines them
 *   machine   MachineState: device registers, guest time, pending input
 *   boot      lengths of the boot payload sections, for a guest reboot
 * Sections:
 *   hart      the hart's state block (src/cpu/state.ts), as saved by the core
 *   ram       guest RAM (ram.ts: zero pages left out, the rest deflated)
 *   kernel, initrd, firmware   deflated; the files the VM booted from, so
 *             that a reboot after resuming boots the same system
 *   seal      (optional, last) HMAC of all that comes before, under the
 *             maker's key (seal.ts): tells a file of one's own from others'
 */
import type { MachineSnapshot, MachineState } from '../machine/machine.js';
import { readContainer, SnapshotError, writeContainer } from './container.js';
import { SEAL_BYTES, sealOf, sealValid } from './seal.js';
import { deflate, inflate } from './deflate.js';
import { decodeRam, encodeRam } from './ram.js';

// 2: the hart block gained mstateen (session 6); 3: the Sdtrig triggers (session 7).
export const LAYOUT_VERSION = 3;
const KIND = 'colinux-vm';

/** What the VM booted from; restored for a guest reboot after resuming. */
export interface BootPayload {
  kernel: Uint8Array;
  initrd?: Uint8Array;
  firmware?: Uint8Array;
}

const PAYLOAD = ['kernel', 'initrd', 'firmware'] as const;

/** Build the file. Call while the machine is paused: RAM is read as it goes. */
export async function writeVmSnapshot<C>(args: {
  producer: string;
  vm: C;
  machine: MachineSnapshot;
  boot: BootPayload;
  /** Seal the file with this key (see seal.ts). */
  key?: Uint8Array;
}): Promise<Uint8Array> {
  const sections: Array<[string, Uint8Array]> = [
    ['hart', args.machine.hart],
    ['ram', await encodeRam(args.machine.ram)],
  ];
  const boot: Record<string, number> = {};
  for (const name of PAYLOAD) {
    const bytes = args.boot[name];
    if (!bytes) continue;
    boot[name] = bytes.length;
    sections.push([name, await deflate(bytes)]);
  }
  const file = writeContainer(
    {
      kind: KIND,
      layout: LAYOUT_VERSION,
      producer: args.producer,
      created: new Date().toISOString(),
      vm: args.vm,
      machine: args.machine.state,
      boot,
    },
    sections,
    args.key ? SEAL_BYTES : 0,
  );
  if (args.key) {
    const at = file.length - SEAL_BYTES;
    file.set(await sealOf(file.subarray(0, at), args.key), at);
  }
  return file;
}

/** A checked snapshot file, ready to rebuild the machine (see restoreRam). */
export interface VmSnapshot<C> {
  vm: C;
  machine: MachineState;
  hart: Uint8Array;
  boot: BootPayload;
  producer: string;
  created: string;
  /** The file carries a valid seal under the key it was read with. */
  sealed: boolean;
  /** Fill a new machine's RAM (its size must match). */
  restoreRam(ram: Uint8Array): Promise<void>;
}

/** Read and check a file; `key` checks its seal (without one, `sealed` is false). */
export async function readVmSnapshot<C>(
  file: Uint8Array,
  key?: Uint8Array,
): Promise<VmSnapshot<C>> {
  const { header, sections, seal } = readContainer(file);
  if (header['kind'] !== KIND) throw new SnapshotError('the file is not a colinux VM snapshot');
  if (header['layout'] !== LAYOUT_VERSION) {
    throw new SnapshotError(
      `snapshot layout ${String(header['layout'])}; this colinux reads layout ${LAYOUT_VERSION} (resume it with the colinux version that made it)`,
    );
  }
  const machine = header['machine'];
  const vm = header['vm'];
  const bootLengths = header['boot'];
  if (typeof machine !== 'object' || machine === null) throw new SnapshotError('no machine state');
  if (typeof vm !== 'object' || vm === null) throw new SnapshotError('no VM settings');
  if (typeof bootLengths !== 'object' || bootLengths === null) {
    throw new SnapshotError('no boot payload lengths');
  }
  const hart = sections.get('hart');
  const ram = sections.get('ram');
  if (!hart || !ram) throw new SnapshotError('the snapshot lacks its hart or RAM section');
  const boot: Partial<BootPayload> = {};
  for (const name of PAYLOAD) {
    const length = (bootLengths as Record<string, unknown>)[name];
    const bytes = sections.get(name);
    if (length === undefined && !bytes) continue;
    if (
      !bytes ||
      !Number.isSafeInteger(length) ||
      (length as number) < 0 ||
      (length as number) > 2 ** 31
    ) {
      throw new SnapshotError(`the snapshot's ${name} section does not match its header`);
    }
    boot[name] = await inflate(bytes, length as number);
  }
  if (!boot.kernel) throw new SnapshotError('the snapshot lacks the kernel it booted');
  return {
    vm: vm as C,
    machine: machine as MachineState,
    hart,
    boot: boot as BootPayload,
    producer: String(header['producer'] ?? 'unknown'),
    created: String(header['created'] ?? ''),
    sealed:
      key !== undefined && seal !== undefined && (await sealValid(seal.code, seal.covered, key)),
    restoreRam: (target) => decodeRam(ram, target),
  };
}

/**
 * `ethN=<spec>`: network card N (eth0..eth15) and what its cable is plugged
 * into, in coLinux's syntax:
 *
 *   ethN=slirp[,MAC][,FORWARDS][,restrict]
 *       user-mode NAT (src/net): DHCP gives the guest 10.0.2.15/24, gateway
 *       10.0.2.2 (the host's 127.0.0.1), DNS 10.0.2.3. FORWARDS is a
 *       "/"-separated list of host → guest port forwards:
 *         tcp:[ADDR:]HOSTPORT:GUESTPORT[:COUNT]
 *         udp:[ADDR:]HOSTPORT:GUESTPORT[:COUNT]
 *       ADDR (an IPv4 address, or [IPv6]) defaults to 127.0.0.1; COUNT
 *       forwards that many consecutive ports. `restrict` cuts the guest off
 *       from the host and the outside (forwards still work).
 *   ethN=switch:NAME[,MAC]
 *       a virtual Ethernet switch shared by the VMs of this user that name
 *       the same switch (a Unix socket in the user's runtime directory).
 *
 * MAC is aa:bb:cc:dd:ee:ff (an empty field keeps the default). The default
 * MAC is stable: derived from the VM's --name, else from the config file
 * that holds the ethN= line, else the same for every unnamed VM (like
 * QEMU's fixed default) — see defaultNicMac().
 */
import { parseMac, formatMac, isUsableMac, defaultMac, parseIp4 } from '../net/bytes.js';
import type { PortForward } from '../net/stack.js';
import type { VmNic } from '../vm.js';

export const MAX_ETH_INDEX = 15;
const MAX_FORWARD_COUNT = 1024;
const SWITCH_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export interface SlirpNic {
  kind: 'slirp';
  /** Explicit MAC (normalized aa:bb:…); undefined = the default. */
  mac?: string;
  restrict: boolean;
  forwards: PortForward[];
}

export interface SwitchNic {
  kind: 'switch';
  mac?: string;
  /** Switch name (a file name in the switch directory). */
  name: string;
}

export type NicSpec = SlirpNic | SwitchNic;

export const NIC_FORMS =
  'slirp[,MAC][,tcp:HOSTPORT:GUESTPORT[:COUNT]/udp:…][,restrict] or switch:NAME[,MAC]';

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/** One `tcp:…` / `udp:…` forward, or a message. */
export function parseForward(text: string): PortForward | string {
  const m = /^(tcp|udp):(.*)$/.exec(text);
  if (!m)
    return `"${text}" is not a port forward; write tcp:HOSTPORT:GUESTPORT or udp:HOSTPORT:GUESTPORT`;
  const proto = m[1] as 'tcp' | 'udp';
  let rest = m[2]!;
  let hostAddress: string | undefined;
  const v6 = /^\[([0-9A-Fa-f:.]+)\]:(.*)$/.exec(rest);
  if (v6) {
    hostAddress = v6[1]!;
    rest = v6[2]!;
  } else {
    const parts = rest.split(':');
    if (parts.length >= 3 && parts[0]!.includes('.')) {
      if (parseIp4(parts[0]!) === undefined) {
        return `${text}: "${parts[0]}" is not an IPv4 address (write [ADDR] for IPv6)`;
      }
      hostAddress = parts[0]!;
      rest = parts.slice(1).join(':');
    }
  }
  const fields = rest.split(':');
  if (fields.length < 2 || fields.length > 3) {
    return `${text}: write ${proto}:[ADDR:]HOSTPORT:GUESTPORT[:COUNT]`;
  }
  const hostPort = parsePort(fields[0]!);
  const guestPort = parsePort(fields[1]!);
  if (hostPort === undefined)
    return `${text}: host port "${fields[0]}" is not a port number (1 to 65535)`;
  if (guestPort === undefined)
    return `${text}: guest port "${fields[1]}" is not a port number (1 to 65535)`;
  let count = 1;
  if (fields.length === 3) {
    if (!/^\d{1,4}$/.test(fields[2]!) || Number(fields[2]) < 1) {
      return `${text}: COUNT "${fields[2]}" must be a whole number from 1 to ${MAX_FORWARD_COUNT}`;
    }
    count = Number(fields[2]);
    if (count > MAX_FORWARD_COUNT) return `${text}: COUNT is at most ${MAX_FORWARD_COUNT}`;
    if (hostPort + count - 1 > 65535 || guestPort + count - 1 > 65535) {
      return `${text}: ${count} ports from ${Math.max(hostPort, guestPort)} go past 65535`;
    }
  }
  const fw: PortForward = { proto, hostPort, guestPort, count };
  if (hostAddress !== undefined) fw.hostAddress = hostAddress;
  return fw;
}

function parseMacText(text: string): string | undefined | { error: string } {
  const mac = parseMac(text);
  if (!mac) return undefined;
  if (!isUsableMac(mac)) {
    return {
      error: `MAC ${text} cannot be a network card's: it must be unicast (first byte even) and not all zero, e.g. 02:00:00:00:00:01`,
    };
  }
  return formatMac(mac);
}

/** Parse the value of `ethN=`; returns the spec or a message naming the problem and the fix. */
export function parseNicSpec(value: string): NicSpec | string {
  const tokens = value.split(',');
  const head = tokens[0]!.trim();
  const rest = tokens.slice(1);
  if (head.startsWith('switch:') || head === 'switch') {
    const name = head.slice('switch:'.length);
    if (head === 'switch' || name === '')
      return 'switch needs a name: ethN=switch:NAME, e.g. eth1=switch:lab';
    if (!SWITCH_NAME_RE.test(name)) {
      return `switch name "${name}": use up to 64 letters, digits, "_", "." and "-", starting with a letter or digit`;
    }
    const spec: SwitchNic = { kind: 'switch', name };
    for (const t of rest) {
      if (t === '') continue;
      const mac = parseMacText(t);
      if (mac === undefined)
        return `"${t}" after switch:${name} is not a MAC address; write switch:NAME[,MAC]`;
      if (typeof mac !== 'string') return mac.error;
      if (spec.mac !== undefined) return `two MAC addresses (${spec.mac} and ${mac}); give one`;
      spec.mac = mac;
    }
    return spec;
  }
  if (head !== 'slirp' && head !== 'nat') {
    if (['tuntap', 'tap', 'pcap', 'pcap-bridge', 'ndis-bridge', 'bridge'].includes(head)) {
      return `${head} needs host drivers and privileges, which colinux does without; use slirp (NAT with port forwards) or switch:NAME (VM to VM)`;
    }
    return `unknown network type "${head}"; use ${NIC_FORMS}`;
  }
  const spec: SlirpNic = { kind: 'slirp', restrict: false, forwards: [] };
  for (const [i, t] of rest.entries()) {
    if (t === '') continue;
    if (t === 'restrict') {
      spec.restrict = true;
      continue;
    }
    if (/^(tcp|udp):/.test(t)) {
      for (const part of t.split('/')) {
        const fw = parseForward(part);
        if (typeof fw === 'string') return fw;
        spec.forwards.push(fw);
      }
      continue;
    }
    const mac = parseMacText(t);
    if (typeof mac === 'object') return mac.error;
    if (mac !== undefined && i === 0) {
      spec.mac = mac;
      continue;
    }
    if (mac !== undefined) return `MAC ${t} must come right after slirp: slirp,${t},…`;
    return `"${t}" is not a MAC address, a port forward (tcp:HOSTPORT:GUESTPORT, udp:…) or restrict`;
  }
  // The same host port twice would fail at bind time with a less helpful message.
  const seen = new Map<string, string>();
  for (const fw of spec.forwards) {
    for (let k = 0; k < (fw.count ?? 1); k++) {
      const key = `${fw.proto}:${fw.hostAddress ?? '127.0.0.1'}:${fw.hostPort + k}`;
      if (seen.has(key)) return `host ${fw.proto} port ${fw.hostPort + k} is forwarded twice`;
      seen.set(key, key);
    }
  }
  return spec;
}

export function formatForward(fw: PortForward): string {
  const addr =
    fw.hostAddress === undefined
      ? ''
      : fw.hostAddress.includes(':')
        ? `[${fw.hostAddress}]:`
        : `${fw.hostAddress}:`;
  const count = (fw.count ?? 1) > 1 ? `:${fw.count}` : '';
  return `${fw.proto}:${addr}${fw.hostPort}:${fw.guestPort}${count}`;
}

/** The spec in canonical form (what `colinux config check` prints). */
export function formatNicSpec(spec: NicSpec): string {
  if (spec.kind === 'switch') return `switch:${spec.name}${spec.mac ? `,${spec.mac}` : ''}`;
  const parts = ['slirp', spec.mac ?? ''];
  if (spec.forwards.length > 0) parts.push(spec.forwards.map(formatForward).join('/'));
  if (spec.restrict) parts.push('restrict');
  while (parts.length > 1 && parts.at(-1) === '') parts.pop();
  return parts.join(',');
}

/**
 * The MAC of NIC `index` when none is given: stable for a VM name (or the
 * config file that configures the NIC), so the guest's interface keeps its
 * name and DHCP lease across runs.
 */
export function defaultNicMac(
  index: number,
  vmName: string | undefined,
  configFile: string | undefined,
): string {
  const seed =
    vmName !== undefined
      ? `name:${vmName}`
      : configFile !== undefined
        ? `file:${configFile}`
        : 'colinux';
  return formatMac(defaultMac(seed, index));
}

/** What `colinux run` hands Vm.create for its `ethN=` settings (MACs filled in). */
export function vmNics(
  nics: ReadonlyArray<NicSpec & { index: number; source: { file?: string } }>,
  vmName: string | undefined,
): VmNic[] {
  return nics.map((n) => {
    const mac = n.mac ?? defaultNicMac(n.index, vmName, n.source.file);
    const name = `eth${n.index}`;
    return n.kind === 'switch'
      ? { kind: 'switch', switchName: n.name, mac, name }
      : { kind: 'slirp', forwards: n.forwards, restrict: n.restrict, mac, name };
  });
}

/** Port forwards of all NICs for `colinux ls`, as "tcp:HOSTPORT->GUESTPORT" (ranges as A-B). */
export function forwardLabels(nics: readonly NicSpec[]): string[] {
  const out: string[] = [];
  for (const n of nics) {
    if (n.kind !== 'slirp') continue;
    for (const fw of n.forwards) {
      const count = fw.count ?? 1;
      const range = (p: number): string => (count > 1 ? `${p}-${p + count - 1}` : `${p}`);
      const addr =
        fw.hostAddress === undefined
          ? ''
          : fw.hostAddress.includes(':')
            ? `[${fw.hostAddress}]:`
            : `${fw.hostAddress}:`;
      out.push(`${fw.proto}:${addr}${range(fw.hostPort)}->${range(fw.guestPort)}`);
    }
  }
  return out;
}

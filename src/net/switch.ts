/**
 * A virtual Ethernet switch for VM-to-VM networks (`ethN=switch:NAME`): a
 * MAC-learning hub logic and the wire format its ports speak over a local
 * stream socket. The sockets themselves are in src/backends/net/switch.ts.
 *
 * Wire format: messages of [u16 big-endian length][u8 type][payload], where
 * length counts the type byte and the payload.
 *
 *   HELLO   1  client → hub: version (1), the client's MAC (6 bytes)
 *   WELCOME 2  hub → client: joined
 *   REJECT  3  hub → client: UTF-8 reason; the hub then closes the socket
 *   FRAME   4  either way: one Ethernet frame (14 to 1518 bytes)
 *
 * Forwarding: frames to a learned unicast MAC go to that port only; frames to
 * broadcast, multicast or unknown MACs go to every other port. A port whose
 * socket is backed up loses frames, as a congested switch port would.
 */
import { formatMac, isMulticastMac } from './bytes.js';

export const MSG_HELLO = 1;
export const MSG_WELCOME = 2;
export const MSG_REJECT = 3;
export const MSG_FRAME = 4;
export const SWITCH_PROTOCOL_VERSION = 1;
export const MIN_FRAME = 14;
export const MAX_FRAME = 1518;
const MAX_MESSAGE = 2048;
const MAX_LEARNED = 4096;
const LEARN_AGE_MS = 300_000;

export function encodeMessage(type: number, payload: Uint8Array): Uint8Array {
  const m = new Uint8Array(3 + payload.length);
  const len = 1 + payload.length;
  m[0] = len >> 8;
  m[1] = len & 0xff;
  m[2] = type;
  m.set(payload, 3);
  return m;
}

export function helloPayload(mac: Uint8Array): Uint8Array {
  const p = new Uint8Array(7);
  p[0] = SWITCH_PROTOCOL_VERSION;
  p.set(mac.subarray(0, 6), 1);
  return p;
}

/** Splits a byte stream into messages. A malformed stream makes push() return an error text. */
export class MessageDecoder {
  private buf = new Uint8Array(0);

  /** Feed bytes; calls `onMessage` for each complete message. Returns an error text if the stream is bad. */
  push(
    chunk: Uint8Array,
    onMessage: (type: number, payload: Uint8Array) => void,
  ): string | undefined {
    let data: Uint8Array;
    if (this.buf.length === 0) data = chunk;
    else {
      data = new Uint8Array(this.buf.length + chunk.length);
      data.set(this.buf);
      data.set(chunk, this.buf.length);
    }
    let i = 0;
    while (data.length - i >= 2) {
      const len = (data[i]! << 8) | data[i + 1]!;
      if (len < 1 || len > MAX_MESSAGE) return `bad message length ${len}`;
      if (data.length - i < 2 + len) break;
      onMessage(data[i + 2]!, data.slice(i + 3, i + 2 + len));
      i += 2 + len;
    }
    this.buf = i === data.length ? new Uint8Array(0) : data.slice(i);
    return undefined;
  }
}

/** One port of the hub: `send` returns false when the frame had to be dropped. */
export interface HubPort {
  readonly mac: Uint8Array;
  send(frame: Uint8Array): boolean;
}

function macKey(b: Uint8Array, o: number): number {
  // 48 bits fit a double exactly.
  return (
    ((b[o]! << 8) | b[o + 1]!) * 0x1_0000_0000 +
    (((b[o + 2]! << 24) | (b[o + 3]! << 16) | (b[o + 4]! << 8) | b[o + 5]!) >>> 0)
  );
}

export class SwitchHub {
  private readonly ports = new Set<HubPort>();
  private readonly table = new Map<number, { port: HubPort; seen: number }>();
  readonly counters = { frames: 0, flooded: 0, dropped: 0, malformed: 0 };

  constructor(private readonly now: () => number = () => Date.now()) {}

  /** Add a port; returns a reason if its MAC is already on the switch. */
  addPort(port: HubPort): string | undefined {
    for (const p of this.ports) {
      if (macKey(p.mac, 0) === macKey(port.mac, 0)) {
        return `MAC ${formatMac(port.mac)} is already used by another VM on this switch; give each VM its own --name or an explicit MAC (ethN=switch:NAME,MAC)`;
      }
    }
    this.ports.add(port);
    this.table.set(macKey(port.mac, 0), { port, seen: this.now() });
    return undefined;
  }

  removePort(port: HubPort): void {
    this.ports.delete(port);
    for (const [k, e] of this.table) if (e.port === port) this.table.delete(k);
  }

  get size(): number {
    return this.ports.size;
  }

  /** A frame arrived on `from`. */
  input(from: HubPort, frame: Uint8Array): void {
    if (frame.length < MIN_FRAME || frame.length > MAX_FRAME) {
      this.counters.malformed++;
      return;
    }
    this.counters.frames++;
    const now = this.now();
    if (!isMulticastMac(frame, 6)) {
      const src = macKey(frame, 6);
      const known = this.table.get(src);
      if (known) {
        known.port = from;
        known.seen = now;
      } else if (this.table.size < MAX_LEARNED) {
        this.table.set(src, { port: from, seen: now });
      }
    }
    if (!isMulticastMac(frame, 0)) {
      const e = this.table.get(macKey(frame, 0));
      if (e && this.ports.has(e.port) && now - e.seen < LEARN_AGE_MS) {
        if (e.port !== from && !e.port.send(frame)) this.counters.dropped++;
        return;
      }
    }
    this.counters.flooded++;
    for (const p of this.ports) if (p !== from && !p.send(frame)) this.counters.dropped++;
  }
}

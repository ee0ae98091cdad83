/**
 * GDB Remote Serial Protocol framing (GDB manual, "Overview" of the remote
 * protocol): packets `$data#cc` with a two-digit modulo-256 checksum,
 * `+`/`-` acknowledgements until no-ack mode is agreed, `}` escapes
 * (byte ^ 0x20) and `*` run-length encoding in replies, and a bare 0x03
 * byte between packets as the interrupt (Ctrl-C) request.
 *
 * The peer is outside input: a packet longer than MAX_PACKET is dropped
 * with a `-`, a bad checksum gets a `-`, stray bytes are ignored.
 */

/** Largest packet accepted (we announce PacketSize=MAX_PACKET in hex). */
export const MAX_PACKET = 0x4000;

export interface RspEvents {
  /** A well-formed packet's payload (escapes resolved). */
  packet(data: Uint8Array): void;
  /** The peer sent the interrupt byte. */
  interrupt(): void;
}

const enum State {
  Idle,
  Data,
  Check1,
  Check2,
}

export class RspConnection {
  private state = State.Idle;
  private buf = new Uint8Array(MAX_PACKET);
  private len = 0;
  private sum = 0;
  private overflow = false;
  private escaped = false;
  private check = 0;
  /** Once QStartNoAckMode is agreed, no `+`/`-` is sent or expected. */
  noAck = false;

  constructor(
    private readonly events: RspEvents,
    private readonly write: (bytes: Uint8Array) => void,
  ) {}

  /** Bytes from the peer. */
  receive(bytes: Uint8Array): void {
    for (const b of bytes) this.byte(b);
  }

  private byte(b: number): void {
    switch (this.state) {
      case State.Idle:
        if (b === 0x24 /* $ */) {
          this.state = State.Data;
          this.len = 0;
          this.sum = 0;
          this.overflow = false;
          this.escaped = false;
        } else if (b === 0x03) {
          this.events.interrupt();
        }
        // `+`, `-` and anything else between packets: nothing to do (we
        // never retransmit; a lost reply shows up as GDB's timeout).
        return;
      case State.Data:
        if (b === 0x23 /* # */) {
          this.state = State.Check1;
          return;
        }
        this.sum = (this.sum + b) & 0xff;
        if (this.escaped) {
          this.escaped = false;
          this.put(b ^ 0x20);
        } else if (b === 0x7d /* } */) {
          this.escaped = true;
        } else {
          this.put(b);
        }
        return;
      case State.Check1:
        this.check = hexValue(b) << 4;
        this.state = State.Check2;
        return;
      case State.Check2: {
        this.state = State.Idle;
        const ok = hexValue(b) >= 0 && this.check >= 0 && (this.check | hexValue(b)) === this.sum;
        if (!ok || this.overflow) {
          if (!this.noAck) this.write(new Uint8Array([0x2d /* - */]));
          return;
        }
        if (!this.noAck) this.write(new Uint8Array([0x2b /* + */]));
        this.events.packet(this.buf.slice(0, this.len));
        return;
      }
    }
  }

  private put(b: number): void {
    if (this.len >= MAX_PACKET) {
      this.overflow = true;
      return;
    }
    this.buf[this.len++] = b;
  }

  /** Send a packet; `$`, `#`, `}` and `*` in the payload are escaped. */
  send(payload: string | Uint8Array): void {
    const data = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
    const out: number[] = [0x24];
    let sum = 0;
    for (const b of data) {
      if (b === 0x24 || b === 0x23 || b === 0x7d || b === 0x2a) {
        out.push(0x7d, b ^ 0x20);
        sum += 0x7d + (b ^ 0x20);
      } else {
        out.push(b);
        sum += b;
      }
    }
    sum &= 0xff;
    out.push(0x23, HEX.charCodeAt(sum >> 4), HEX.charCodeAt(sum & 15));
    this.write(new Uint8Array(out));
  }
}

const HEX = '0123456789abcdef';

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  return -1;
}

/** Bytes as lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += HEX[b >> 4]! + HEX[b & 15]!;
  return s;
}

/** Hex text to bytes, or undefined if it is not an even run of hex digits. */
export function fromHex(text: string): Uint8Array | undefined {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return undefined;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** A little-endian register value of `bytes` bytes as hex (the target's byte order). */
export function regHex(v: bigint, bytes: number): string {
  const b = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) b[i] = Number((v >> BigInt(8 * i)) & 0xffn);
  return toHex(b);
}

/** The inverse of regHex; undefined if malformed. */
export function parseRegHex(text: string): bigint | undefined {
  const b = fromHex(text);
  if (!b || b.length === 0 || b.length > 8) return undefined;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return v;
}

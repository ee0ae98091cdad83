/**
 * TCP for the user-mode NAT (RFC 9293, RFC 6298 timers, RFC 7323 window
 * scaling, RFC 5961 challenge ACKs). Each guest connection is terminated
 * here and spliced onto a host socket: the stack is the guest's peer.
 *
 *   guest ──segments──▶ TcpConn ──bytes──▶ HostTcpSocket ──▶ host peer
 *   guest ◀──segments── TcpConn ◀──bytes── HostTcpSocket ◀── host peer
 *
 * Flow control, both ways:
 * - toward the host: the window we advertise to the guest is our receive
 *   buffer minus what the host socket still holds unsent, so a slow host
 *   peer closes the guest's window;
 * - toward the guest: we never have more than the guest's advertised window
 *   in flight, queue at most SENDQ_HIGH bytes, and pause the host socket
 *   (it stops reading, the host kernel closes its window) until the guest
 *   acknowledges; new data also waits while the virtio device's receive
 *   backlog is full.
 *
 * The guest link can drop frames (a full receive queue), so unacknowledged
 * data is retransmitted on timeout (go-back-N) and after three duplicate
 * ACKs; a zero window is probed. No SACK, no timestamps, no urgent data.
 */
import { rd16, rd32, wr16, wr32 } from './bytes.js';
import { ETH_HLEN } from './ethernet.js';
import {
  IP_HLEN,
  PROTO_TCP,
  newIp4Frame,
  transportChecksum,
  type Ip4Packet,
  type DropReason,
} from './ipv4.js';
import type { Clock, HostNetError, HostTcpHandlers, HostTcpSocket } from './host.js';
import type { GsoInfo } from './link.js';
import { pseudoHeaderSum } from './bytes.js';

export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;

export const TCP_HLEN = 20;
/** Our MSS toward the guest: 1500-byte MTU minus IPv4 and TCP headers. */
export const OUR_MSS = 1460;
/** Default MSS when the peer sends no MSS option (RFC 9293). */
const DEFAULT_MSS = 536;
/** Bytes we accept from the guest beyond what the host socket has taken. */
export const RCV_BUF = 256 * 1024;
/** Our window scale shift, when the guest offers scaling. */
const RCV_SHIFT = 3;
/** Pause reading the host socket when this much data waits for the guest… */
export const SENDQ_HIGH = 1024 * 1024;
/** …and resume below this. */
const SENDQ_LOW = 512 * 1024;
const RTO_MIN = 200;
const RTO_INIT = 1000;
const RTO_MAX = 30_000;
/** Retransmissions of the same data before the connection is given up. */
const MAX_RETRIES = 12;
const MAX_SYN_RETRIES = 6;
const TIME_WAIT_MS = 2000;
/** With GSO toward the guest, one frame carries at most this many MSS-sized segments. */
const GSO_SEGMENTS = 44;

// ---------------------------------------------------------------------------
// Sequence arithmetic (mod 2^32)

export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}
export function seqLt(a: number, b: number): boolean {
  return seqDiff(a, b) < 0;
}
export function seqLe(a: number, b: number): boolean {
  return seqDiff(a, b) <= 0;
}
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

// ---------------------------------------------------------------------------
// Segments

export interface TcpSegment {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  /** MSS option, if present. */
  mss?: number;
  /** Window scale option (shift), if present. */
  wscale?: number;
  /** Payload (a view into the frame). */
  data: Uint8Array;
}

export function parseTcp(p: Ip4Packet): TcpSegment | DropReason {
  if (p.payLen < TCP_HLEN) return 'truncated';
  const f = p.frame;
  const o = p.payOff;
  const hlen = (f[o + 12]! >> 4) * 4;
  if (hlen < TCP_HLEN || hlen > p.payLen) return 'malformed';
  if (transportChecksum(f, o, p.payLen, p.src, p.dst, PROTO_TCP) !== 0) return 'checksum';
  const seg: TcpSegment = {
    srcPort: rd16(f, o),
    dstPort: rd16(f, o + 2),
    seq: rd32(f, o + 4),
    ack: rd32(f, o + 8),
    flags: f[o + 13]! & 0x3f,
    window: rd16(f, o + 14),
    data: f.subarray(o + hlen, o + p.payLen),
  };
  // Options: stop at the first malformed one rather than trusting its length.
  let i = o + TCP_HLEN;
  const end = o + hlen;
  while (i < end) {
    const kind = f[i]!;
    if (kind === 0) break;
    if (kind === 1) {
      i++;
      continue;
    }
    if (i + 1 >= end) break;
    const len = f[i + 1]!;
    if (len < 2 || i + len > end) break;
    if (kind === 2 && len === 4) seg.mss = rd16(f, i + 2);
    else if (kind === 3 && len === 3) seg.wscale = Math.min(f[i + 2]!, 14);
    i += len;
  }
  return seg;
}

/** Addressing for segments toward the guest. */
export interface TcpEnv {
  clock: Clock;
  /** Send a frame to the guest (`gso`: a TCP segment larger than the MTU, see link.ts). */
  output(frame: Uint8Array, gso?: GsoInfo): void;
  /** Largest payload per frame the guest takes as GSO (0: MSS-sized frames only). */
  gsoMax(): number;
  /** The guest's receive path is backed up: hold new data. */
  congested(): boolean;
  /** Ethernet addresses for a frame to `guestIp`: [destination, source]. */
  macs(guestIp: number): [Uint8Array, Uint8Array];
  /** The connection is finished; forget it. */
  remove(conn: TcpConn): void;
  /** Ask for an ACK flush once the current batch of guest frames is processed. */
  wantAck(conn: TcpConn): void;
  /**
   * This connection's share of the host memory budget, in bytes: the most it
   * may queue toward the guest, and the largest window it may offer.
   */
  bufferShare(): number;
  /** The connection has data but the link is congested; call trySend() on pump. */
  blocked(conn: TcpConn): void;
}

function randomIss(): number {
  const a = new Uint32Array(1);
  globalThis.crypto.getRandomValues(a);
  return a[0]!;
}

/** A FIFO of byte chunks addressed by offset from its start. */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  private head = 0;
  length = 0;

  push(data: Uint8Array): void {
    if (data.length === 0) return;
    this.chunks.push(data);
    this.length += data.length;
  }

  /** Drop n bytes from the front. */
  drop(n: number): void {
    let left = Math.min(n, this.length);
    this.length -= left;
    while (left > 0) {
      const c = this.chunks[0]!;
      const avail = c.length - this.head;
      if (left < avail) {
        this.head += left;
        return;
      }
      left -= avail;
      this.chunks.shift();
      this.head = 0;
    }
  }

  /** Copy n bytes starting at `offset` into dst at dstOff. */
  copy(offset: number, n: number, dst: Uint8Array, dstOff: number): void {
    let skip = offset + this.head;
    let k = 0;
    let out = dstOff;
    let left = n;
    while (left > 0 && k < this.chunks.length) {
      const c = this.chunks[k++]!;
      if (skip >= c.length) {
        skip -= c.length;
        continue;
      }
      const take = Math.min(c.length - skip, left);
      dst.set(c.subarray(skip, skip + take), out);
      out += take;
      left -= take;
      skip = 0;
    }
  }

  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.length = 0;
  }
}

export type TcpState =
  | 'CONNECTING'
  | 'SYN_SENT'
  | 'SYN_RCVD'
  | 'ESTABLISHED'
  | 'FIN_WAIT_1'
  | 'FIN_WAIT_2'
  | 'CLOSE_WAIT'
  | 'CLOSING'
  | 'LAST_ACK'
  | 'TIME_WAIT'
  | 'CLOSED';

/** States in which data (and our FIN) may still be sent or resent. */
const SENDING_STATES: ReadonlySet<TcpState> = new Set([
  'ESTABLISHED',
  'CLOSE_WAIT',
  'FIN_WAIT_1',
  'CLOSING',
  'LAST_ACK',
]);

/** What a connection reports when it ends (for counters and tests). */
export type TcpEndReason = 'closed' | 'reset-by-guest' | 'reset-by-host' | 'timeout' | 'refused';

/**
 * One guest TCP connection spliced to one host socket. The guest's address
 * and port are `guestIp:guestPort`; `peerIp:peerPort` is the far end as the
 * guest sees it (10.0.2.2 for the host itself).
 */
export class TcpConn implements HostTcpHandlers {
  state: TcpState;
  sock: HostTcpSocket | undefined;
  endReason: TcpEndReason | undefined;

  // Send side (toward the guest).
  private iss = randomIss();
  private sndUna: number;
  private sndNxt: number;
  /** Highest sequence number sent (sndNxt can move back on a retransmission timeout). */
  private sndMax: number;
  private sndWnd = 0;
  private sndWl1 = 0;
  private sndWl2 = 0;
  private sndShift = 0;
  private sndMss = DEFAULT_MSS;
  /**
   * Stream position (a sequence number) that the guest's reads are likely
   * 8-byte aligned to: the start of the stream, then the end of the last
   * segment that emptied the send queue (a reader that caught up reads up to
   * there, and its next read starts there). GSO segments are cut at multiples
   * of 8 bytes from it: the virtio-net device puts each GSO payload at the
   * start of a guest buffer, so the guest's copy to user memory meets source
   * and destination at the same alignment and copies whole words (on RISC-V
   * Linux a misaligned pair takes the shift-and-merge loop, about 3× slower;
   * that copy is most of the guest's work when it receives).
   */
  private alignAnchor: number;
  private readonly sendQ = new ByteQueue();
  /** The host half-closed: a FIN follows the queued data. */
  private finQueued = false;
  private finAcked = false;

  // Receive side (from the guest).
  private irs = 0;
  private rcvNxt = 0;
  /** Right edge of the window last advertised. */
  private rcvAdv = 0;
  private rcvShift = 0;
  /** Guest sent FIN (and we passed it on as end()). */
  private finReceived = false;

  // Timers.
  private timer: unknown;
  private timerKind: 'rtx' | 'persist' | 'timewait' | undefined;
  private retries = 0;
  private srtt = 0;
  private rttvar = 0;
  private rto = RTO_INIT;
  private rttSeq: number | undefined;
  private rttStart = 0;
  private dupAcks = 0;

  private hostPaused = false;
  private sockClosed = false;
  ackPending = false;
  /** The acknowledgment number we last sent. */
  private ackSent = 0;

  constructor(
    private readonly env: TcpEnv,
    readonly guestIp: number,
    readonly guestPort: number,
    readonly peerIp: number,
    readonly peerPort: number,
    initial: 'CONNECTING' | 'SYN_SENT',
  ) {
    this.state = initial;
    this.sndUna = this.iss;
    this.sndNxt = this.iss;
    this.sndMax = this.iss;
    this.alignAnchor = seqAdd(this.iss, 1);
  }

  // -------------------------------------------------------------------------
  // Opening

  /** Guest-initiated: record the guest's SYN; the stack then connects the host socket. */
  acceptSyn(seg: TcpSegment): void {
    this.irs = seg.seq;
    this.rcvNxt = seqAdd(seg.seq, 1);
    this.takeSynOptions(seg);
    this.sndWnd = seg.window; // never scaled in a SYN
  }

  /** Host-initiated (port forward): send our SYN to the guest. */
  startActiveOpen(sock: HostTcpSocket): void {
    this.sock = sock;
    this.updateHostFlow();
    this.sendSyn();
  }

  private takeSynOptions(seg: TcpSegment): void {
    if (seg.mss !== undefined) this.sndMss = Math.max(64, Math.min(seg.mss, OUR_MSS));
    if (seg.wscale !== undefined) {
      this.sndShift = seg.wscale;
      this.rcvShift = RCV_SHIFT;
    } else {
      this.sndShift = 0;
      this.rcvShift = 0;
    }
  }

  private synOptions(withScale: boolean): Uint8Array {
    // MSS (kind 2), then NOP + window scale (kind 3).
    const o = new Uint8Array(withScale ? 8 : 4);
    o[0] = 2;
    o[1] = 4;
    wr16(o, 2, OUR_MSS);
    if (withScale) {
      o[4] = 1;
      o[5] = 3;
      o[6] = 3;
      o[7] = RCV_SHIFT;
    }
    return o;
  }

  private sendSyn(): void {
    this.sndUna = this.iss;
    this.sndNxt = seqAdd(this.iss, 1);
    this.sndMax = this.sndNxt;
    // Offer window scaling; it is on only if the guest's SYN-ACK carries it too.
    this.emit(SYN, this.iss, 0, 0, this.synOptions(true), Math.min(RCV_BUF, 0xffff));
    this.armTimer('rtx', this.rto);
  }

  private sendSynAck(): void {
    this.sndNxt = seqAdd(this.iss, 1);
    this.sndMax = this.sndNxt;
    const win = Math.min(RCV_BUF, 0xffff);
    this.rcvAdv = seqAdd(this.rcvNxt, win);
    this.emit(SYN | ACK, this.iss, this.rcvNxt, 0, this.synOptions(this.rcvShift > 0), win);
    this.armTimer('rtx', this.rto);
  }

  // -------------------------------------------------------------------------
  // Host socket events

  onConnect(): void {
    if (this.state !== 'CONNECTING') return;
    this.state = 'SYN_RCVD';
    this.updateHostFlow();
    this.sendSynAck();
  }

  onData(data: Uint8Array, more = false): void {
    if (this.state === 'CLOSED' || this.finQueued) return;
    this.sendQ.push(data);
    this.updateHostFlow();
    // Once paused, the socket hands over nothing more for now: send.
    if (!more || this.hostPaused) this.trySend();
  }

  onEnd(): void {
    if (this.state === 'CLOSED' || this.finQueued) return;
    this.finQueued = true;
    this.trySend();
  }

  onDrain(): void {
    if (this.state === 'CLOSED' || this.state === 'CONNECTING' || this.state === 'SYN_SENT') return;
    // Window update when the host took a good part of what the guest sent.
    const win = this.rcvWindow();
    if (seqDiff(seqAdd(this.rcvNxt, win), this.rcvAdv) >= 2 * OUR_MSS) this.sendAck();
  }

  onClose(error?: HostNetError): void {
    this.sockClosed = true;
    if (this.state === 'CLOSED' || this.state === 'TIME_WAIT') return;
    if (this.state === 'CONNECTING') {
      // The host could not connect: refuse the guest's SYN.
      this.endReason = error?.code === 'ECONNREFUSED' ? 'refused' : 'reset-by-host';
      this.emit(RST | ACK, 0, this.rcvNxt, 0, undefined, 0);
      this.finish();
      return;
    }
    if (error !== undefined) {
      this.abort('reset-by-host');
      return;
    }
    // Orderly close without a separate end event: treat as FIN.
    if (!this.finQueued) this.onEnd();
  }

  // -------------------------------------------------------------------------
  // Segments from the guest

  input(seg: TcpSegment): void {
    const f = seg.flags;
    if (this.state === 'CLOSED') return;
    if (this.state === 'CONNECTING') {
      if (f & RST) {
        this.endReason = 'reset-by-guest';
        this.sock?.reset();
        this.finish();
      }
      return; // retransmitted SYNs wait for the host connection
    }
    if (this.state === 'SYN_SENT') {
      this.inputSynSent(seg);
      return;
    }

    // 1. RST: only an exact in-sequence reset is believed (RFC 5961 §3).
    if (f & RST) {
      if (seg.seq === this.rcvNxt) {
        this.endReason = 'reset-by-guest';
        this.sock?.reset();
        this.finish();
      } else if (this.inWindow(seg.seq)) {
        this.sendAck();
      }
      return;
    }
    // 2. SYN.
    if (f & SYN) {
      if (this.state === 'SYN_RCVD' && seg.seq === this.irs) this.sendSynAck();
      else this.sendAck(); // challenge ACK (RFC 5961 §4)
      return;
    }
    if (!(f & ACK)) return;

    // 3. ACK.
    if (this.state === 'SYN_RCVD') {
      if (seg.ack !== seqAdd(this.iss, 1)) {
        this.emit(RST, seg.ack, 0, 0, undefined, 0);
        return;
      }
      this.state = 'ESTABLISHED';
      this.sndUna = seg.ack;
      this.sndWnd = seg.window << this.sndShift;
      this.sndWl1 = seg.seq;
      this.sndWl2 = seg.ack;
      this.cancelTimer();
      this.retries = 0;
      this.updateHostFlow();
    }
    if (!this.processAck(seg)) return;

    // 4. Data.
    let data = seg.data;
    let fin = (f & FIN) !== 0;
    const canReceive =
      this.state === 'ESTABLISHED' || this.state === 'FIN_WAIT_1' || this.state === 'FIN_WAIT_2';
    if (data.length > 0 || fin) {
      const already = seqDiff(this.rcvNxt, seg.seq);
      if (already < 0 || !canReceive) {
        // A gap (a lost or reordered frame), or data after the guest's FIN: the
        // guest retransmits from rcvNxt.
        this.sendAck();
        data = data.subarray(0, 0);
        fin = false;
      } else {
        if (already > 0) {
          if (already >= data.length + (fin ? 1 : 0)) {
            this.sendAck(); // an old duplicate
            data = data.subarray(0, 0);
            fin = false;
          } else {
            data = data.subarray(Math.min(already, data.length));
          }
        }
        const room = Math.max(0, seqDiff(this.rcvAdv, this.rcvNxt));
        if (data.length > room) {
          data = data.subarray(0, room);
          fin = false;
          this.sendAck();
        }
      }
    }
    if (data.length > 0) {
      if (this.sockClosed || this.sock === undefined) {
        this.abort('reset-by-host');
        return;
      }
      this.rcvNxt = seqAdd(this.rcvNxt, data.length);
      this.sock.write(data);
      this.ackLater();
    }

    // 5. FIN.
    if (fin) {
      this.rcvNxt = seqAdd(this.rcvNxt, 1);
      this.finReceived = true;
      if (!this.sockClosed) this.sock?.end();
      if (this.state === 'ESTABLISHED') this.state = 'CLOSE_WAIT';
      else if (this.state === 'FIN_WAIT_1') this.state = this.finAcked ? 'TIME_WAIT' : 'CLOSING';
      else if (this.state === 'FIN_WAIT_2') this.state = 'TIME_WAIT';
      if (this.state === 'TIME_WAIT') this.armTimer('timewait', TIME_WAIT_MS);
      this.sendAck();
    }
    this.trySend();
  }

  private inputSynSent(seg: TcpSegment): void {
    const f = seg.flags;
    const ackOk = (f & ACK) !== 0 && seg.ack === seqAdd(this.iss, 1);
    if (f & ACK && !ackOk) {
      if (!(f & RST)) this.emit(RST, seg.ack, 0, 0, undefined, 0);
      return;
    }
    if (f & RST) {
      if (ackOk) {
        // The guest refused the forwarded connection.
        this.endReason = 'refused';
        this.sock?.reset();
        this.finish();
      }
      return;
    }
    if (!(f & SYN) || !ackOk) return; // no simultaneous open toward the guest
    this.irs = seg.seq;
    this.rcvNxt = seqAdd(seg.seq, 1);
    this.takeSynOptions(seg);
    this.sndUna = seg.ack;
    this.sndWnd = seg.window; // unscaled in a SYN-ACK
    this.sndWl1 = seg.seq;
    this.sndWl2 = seg.ack;
    this.state = 'ESTABLISHED';
    this.cancelTimer();
    this.retries = 0;
    this.sendAck();
    this.updateHostFlow();
    this.trySend();
  }

  /** Process the acknowledgment field; false if the segment should be dropped. */
  private processAck(seg: TcpSegment): boolean {
    const ack = seg.ack;
    if (seqLt(this.sndMax, ack)) {
      // Acknowledges something never sent.
      this.sendAck();
      return false;
    }
    const acked = seqDiff(ack, this.sndUna);
    const window = seg.window << this.sndShift;
    if (acked > 0) {
      const dataAcked = Math.min(acked, this.sendQ.length);
      this.sendQ.drop(dataAcked);
      if (acked > dataAcked && this.finQueued) this.finAcked = true;
      this.sndUna = ack;
      if (seqLt(this.sndNxt, ack)) this.sndNxt = ack;
      if (this.rttSeq !== undefined && seqLe(this.rttSeq, ack)) {
        this.rttSample(this.env.clock.now() - this.rttStart);
        this.rttSeq = undefined;
      }
      this.retries = 0;
      this.dupAcks = 0;
      if (this.sndUna === this.sndMax) this.cancelTimer();
      else this.armTimer('rtx', this.rto);
      this.updateHostFlow();
      if (this.finAcked) {
        if (this.state === 'FIN_WAIT_1') this.state = 'FIN_WAIT_2';
        else if (this.state === 'CLOSING') {
          this.state = 'TIME_WAIT';
          this.armTimer('timewait', TIME_WAIT_MS);
        } else if (this.state === 'LAST_ACK') {
          this.endReason = 'closed';
          this.finish();
          return false;
        }
      }
    } else if (
      acked === 0 &&
      seg.data.length === 0 &&
      !(seg.flags & FIN) &&
      window === this.sndWnd &&
      this.sndUna !== this.sndMax
    ) {
      if (++this.dupAcks === 3) this.retransmitFirst();
    }
    // Window update, unless the segment is older than the last one used (RFC 9293 §3.10.7.4).
    if (seqLt(this.sndWl1, seg.seq) || (this.sndWl1 === seg.seq && seqLe(this.sndWl2, ack))) {
      this.sndWnd = window;
      this.sndWl1 = seg.seq;
      this.sndWl2 = ack;
    }
    return true;
  }

  private inWindow(seq: number): boolean {
    return seqLe(this.rcvNxt, seq) && seqLt(seq, this.rcvAdv);
  }

  // -------------------------------------------------------------------------
  // Sending toward the guest

  /** Send what the guest's window and the link allow; then the FIN, once everything is sent. */
  trySend(): void {
    if (!SENDING_STATES.has(this.state)) return;
    const dataEnd = seqAdd(this.sndUna, this.sendQ.length);
    for (;;) {
      const unsent = seqDiff(dataEnd, this.sndNxt);
      if (unsent <= 0) break;
      const inFlight = seqDiff(this.sndNxt, this.sndUna);
      const usable = this.sndWnd - inFlight;
      if (usable <= 0) {
        if (this.sndWnd === 0 && inFlight === 0 && this.timerKind === undefined)
          this.armTimer('persist', this.rto);
        return;
      }
      if (this.env.congested()) {
        this.env.blocked(this);
        return;
      }
      const gsoMax = this.env.gsoMax();
      const maxSeg = gsoMax > 0 ? Math.min(gsoMax, GSO_SEGMENTS * this.sndMss) : this.sndMss;
      let n = Math.min(maxSeg, unsent, usable);
      if (n > this.sndMss && n < unsent) {
        // A GSO frame with more data behind it: end it 8 × k bytes after the
        // alignment anchor, so that every frame's payload starts at the same
        // 8-byte phase as the guest application's reads (see alignAnchor).
        const over = (seqAdd(this.sndNxt, n) - this.alignAnchor) & 7;
        if (n - over >= this.sndMss) n -= over;
      }
      if (n === unsent) this.alignAnchor = seqAdd(this.sndNxt, n);
      // Sender-side silly window avoidance: a runt only when it is all we have.
      if (n < this.sndMss && n < unsent && inFlight > 0) return;
      this.sendData(this.sndNxt, n, n === unsent);
      this.sndNxt = seqAdd(this.sndNxt, n);
      if (seqLt(this.sndMax, this.sndNxt)) this.sndMax = this.sndNxt;
    }
    if (this.finQueued && !this.finAcked && this.sndNxt === dataEnd) {
      this.emit(FIN | ACK, this.sndNxt, this.rcvNxt, 0, undefined);
      this.sndNxt = seqAdd(this.sndNxt, 1);
      if (seqLt(this.sndMax, this.sndNxt)) this.sndMax = this.sndNxt;
      if (this.state === 'ESTABLISHED') this.state = 'FIN_WAIT_1';
      else if (this.state === 'CLOSE_WAIT') this.state = 'LAST_ACK';
      if (this.timerKind !== 'rtx') this.armTimer('rtx', this.rto);
    }
  }

  /** Does this connection have data it could send? */
  get hasUnsent(): boolean {
    return seqDiff(seqAdd(this.sndUna, this.sendQ.length), this.sndNxt) > 0;
  }

  private sendData(seq: number, n: number, push: boolean): void {
    const offset = seqDiff(seq, this.sndUna);
    this.emit(
      ACK | (push ? PSH : 0),
      seq,
      this.rcvNxt,
      n,
      undefined,
      undefined,
      offset,
      n > this.sndMss,
    );
    if (this.rttSeq === undefined && seq === this.sndMax) {
      this.rttSeq = seqAdd(seq, n);
      this.rttStart = this.env.clock.now();
    }
    if (this.timerKind !== 'rtx') this.armTimer('rtx', this.rto);
  }

  private retransmitFirst(): void {
    this.rttSeq = undefined; // Karn: no samples from retransmissions
    const inFlightData = Math.min(seqDiff(this.sndMax, this.sndUna), this.sendQ.length);
    if (inFlightData > 0) {
      this.sendData(this.sndUna, Math.min(this.sndMss, inFlightData), true);
    } else if (this.finQueued && !this.finAcked) {
      this.emit(FIN | ACK, this.sndUna, this.rcvNxt, 0, undefined);
    }
  }

  sendAck(): void {
    this.ackPending = false;
    this.emit(ACK, this.sndNxt, this.rcvNxt, 0, undefined);
  }

  /** Guest data received and not acknowledged yet, in bytes. */
  get unacked(): number {
    return this.ackPending ? seqDiff(this.rcvNxt, this.ackSent) : 0;
  }

  private ackLater(): void {
    if (this.ackPending) return;
    this.ackPending = true;
    this.env.wantAck(this);
  }

  /** Receive window toward the guest: our buffer minus what the host socket still holds. */
  private rcvWindow(): number {
    const held = this.sock && !this.sockClosed ? this.sock.bufferedAmount : 0;
    let w = Math.max(0, Math.min(RCV_BUF, this.env.bufferShare()) - held);
    // Never move the right edge back (RFC 9293 §3.8.6).
    const promised = seqDiff(this.rcvAdv, this.rcvNxt);
    if (w < promised) w = promised;
    return Math.min(w, 0xffff << this.rcvShift);
  }

  /**
   * Build and send one segment. Data comes from the send queue at `qOffset`
   * (n bytes). `fixedWindow` is used for SYN segments (never scaled).
   */
  private emit(
    flags: number,
    seq: number,
    ack: number,
    n: number,
    options: Uint8Array | undefined,
    fixedWindow?: number,
    qOffset = 0,
    gso = false,
  ): void {
    const optLen = options ? options.length : 0;
    const hlen = TCP_HLEN + optLen;
    const [dstMac, srcMac] = this.env.macs(this.guestIp);
    const f = newIp4Frame(dstMac, srcMac, this.peerIp, this.guestIp, PROTO_TCP, hlen + n);
    const o = ETH_HLEN + IP_HLEN;
    wr16(f, o, this.peerPort);
    wr16(f, o + 2, this.guestPort);
    wr32(f, o + 4, seq);
    const withAck = (flags & ACK) !== 0;
    wr32(f, o + 8, withAck ? ack : 0);
    f[o + 12] = (hlen / 4) << 4;
    f[o + 13] = flags;
    let field: number;
    if (fixedWindow !== undefined) {
      field = fixedWindow;
    } else if (flags & RST) {
      field = 0;
    } else {
      const w = this.rcvWindow();
      field = w >>> this.rcvShift;
      this.rcvAdv = seqAdd(this.rcvNxt, field << this.rcvShift);
    }
    wr16(f, o + 14, field);
    if (options) f.set(options, o + TCP_HLEN);
    if (n > 0) this.sendQ.copy(qOffset, n, f, o + hlen);
    if (withAck) {
      this.ackPending = false;
      this.ackSent = ack;
    }
    if (gso) {
      // A partial checksum: the guest's stack treats the data as verified, and
      // completes per-segment checksums itself should it ever forward it.
      let sum = pseudoHeaderSum(this.peerIp, this.guestIp, PROTO_TCP, hlen + n);
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
      wr16(f, o + 16, sum);
      this.env.output(f, { size: this.sndMss, csumStart: o });
      return;
    }
    wr16(f, o + 16, transportChecksum(f, o, hlen + n, this.peerIp, this.guestIp, PROTO_TCP));
    this.env.output(f);
  }

  // -------------------------------------------------------------------------
  // Timers

  private rttSample(r: number): void {
    if (this.srtt === 0) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    this.rto = Math.min(RTO_MAX, Math.max(RTO_MIN, this.srtt + Math.max(10, 4 * this.rttvar)));
  }

  private armTimer(kind: 'rtx' | 'persist' | 'timewait', ms: number): void {
    this.cancelTimer();
    this.timerKind = kind;
    this.timer = this.env.clock.setTimeout(() => this.onTimer(), ms);
  }

  private cancelTimer(): void {
    if (this.timerKind !== undefined) this.env.clock.clearTimeout(this.timer);
    this.timerKind = undefined;
    this.timer = undefined;
  }

  private onTimer(): void {
    const kind = this.timerKind;
    this.timerKind = undefined;
    this.timer = undefined;
    if (this.state === 'CLOSED') return;
    if (kind === 'timewait') {
      this.endReason = 'closed';
      this.finish();
      return;
    }
    this.rto = Math.min(RTO_MAX, this.rto * 2);
    if (kind === 'persist') {
      // Zero-window probe: an old sequence number makes the guest answer with its window.
      this.emit(ACK, seqAdd(this.sndUna, -1), this.rcvNxt, 0, undefined);
      this.trySend();
      if (this.timerKind === undefined && this.sndWnd === 0 && this.hasUnsent)
        this.armTimer('persist', this.rto);
      return;
    }
    // Retransmission timeout.
    this.retries++;
    const synState = this.state === 'SYN_SENT' || this.state === 'SYN_RCVD';
    if (this.retries > (synState ? MAX_SYN_RETRIES : MAX_RETRIES)) {
      this.abort('timeout');
      return;
    }
    if (this.state === 'SYN_SENT') {
      this.sendSyn();
      return;
    }
    if (this.state === 'SYN_RCVD') {
      this.sendSynAck();
      return;
    }
    // Go back N: resend from the oldest unacknowledged byte.
    this.rttSeq = undefined;
    this.sndNxt = this.sndUna;
    this.dupAcks = 0;
    this.trySend();
    if (this.timerKind === undefined && this.sndUna !== this.sndMax) this.armTimer('rtx', this.rto);
  }

  // -------------------------------------------------------------------------
  // Back-pressure and teardown

  private updateHostFlow(): void {
    const sock = this.sock;
    if (!sock || this.sockClosed) return;
    const notReady = this.state === 'SYN_SENT' || this.state === 'CONNECTING';
    const high = Math.min(SENDQ_HIGH, this.env.bufferShare());
    sock.setReadAhead?.(Math.max(0, high - this.sendQ.length));
    if (!this.hostPaused && (notReady || this.sendQ.length >= high)) {
      this.hostPaused = true;
      sock.pause();
    } else if (this.hostPaused && !notReady && this.sendQ.length < Math.min(SENDQ_LOW, high / 2)) {
      this.hostPaused = false;
      sock.resume();
    }
  }

  /** Reset both sides and forget the connection. */
  abort(reason: TcpEndReason): void {
    if (this.state === 'CLOSED') return;
    this.endReason = reason;
    if (this.state !== 'SYN_SENT') this.emit(RST | ACK, this.sndNxt, this.rcvNxt, 0, undefined);
    else this.emit(RST, this.sndNxt, 0, 0, undefined);
    if (!this.sockClosed) this.sock?.reset();
    this.finish();
  }

  /** Drop everything without telling the guest (stack shutdown). */
  shutdown(): void {
    if (this.state === 'CLOSED') return;
    if (!this.sockClosed) this.sock?.reset();
    this.finish();
  }

  private finish(): void {
    this.cancelTimer();
    this.state = 'CLOSED';
    this.sendQ.clear();
    this.env.remove(this);
  }

  /** For tests and stats. */
  get guestFinReceived(): boolean {
    return this.finReceived;
  }
}

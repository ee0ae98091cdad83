/**
 * Network cards in a recorded or replayed deterministic run (record=,
 * replay=). Frames reach the guest when the host's NAT produces them, so
 * they are inputs like typed keys:
 *
 * - `RecordingBackend` sits between a card and its real backend. A frame
 *   the backend delivers between slices reaches the card at once; one it
 *   delivers during a slice (a reply made while the guest's transmit was
 *   served) waits for the slice's end. Either way it is logged with the
 *   exact instruction count at which the card got it.
 * - `ReplayBackend` takes the logged frames instead of a NAT: the machine
 *   gives each at its count (`deliver`), and what the guest transmits goes
 *   nowhere (it was answered in the recorded run already). No host socket
 *   is opened.
 */
import type { GsoInfo, NetBackend, NetPort, NetStats } from '../net/link.js';

/** What a recording is told of a frame. */
export type FrameRecorder = (
  at: bigint,
  frame: Uint8Array,
  checksummed: boolean,
  gso: GsoInfo | undefined,
) => void;

export class RecordingBackend implements NetBackend {
  private port: NetPort | undefined;
  private deferred: Array<[Uint8Array, boolean, GsoInfo | undefined]> = [];

  /**
   * @param inner    the real backend (the NAT)
   * @param record   logs a frame as the card gets it
   * @param clock    the instructions retired, and whether a slice is running
   */
  constructor(
    private readonly inner: NetBackend,
    private readonly record: FrameRecorder,
    private readonly clock: { instret(): bigint; inSlice(): boolean },
  ) {}

  get linkUp(): boolean {
    return this.inner.linkUp;
  }
  get txOffload(): boolean | undefined {
    return this.inner.txOffload;
  }

  attach(port: NetPort): void {
    this.port = port;
    this.inner.attach({
      deliver: (frame, checksummed = false, gso) => {
        if (this.clock.inSlice()) this.deferred.push([frame.slice(), checksummed, gso]);
        else this.give(frame, checksummed, gso);
      },
      congested: () => port.congested(),
      gsoMax: () => port.gsoMax?.() ?? 0,
      setLinkUp: (up) => port.setLinkUp(up),
    });
  }

  private give(frame: Uint8Array, checksummed: boolean, gso: GsoInfo | undefined): void {
    this.record(this.clock.instret(), frame, checksummed, gso);
    this.port?.deliver(frame, checksummed, gso);
  }

  /** The slice ended: frames made during it reach the card now. */
  afterSlice(): void {
    const held = this.deferred;
    if (held.length === 0) return;
    this.deferred = [];
    for (const [frame, checksummed, gso] of held) this.give(frame, checksummed, gso);
  }

  detach(port: NetPort): void {
    if (this.port === port) this.port = undefined;
  }
  transmit(frame: Uint8Array): void {
    this.inner.transmit(frame);
  }
  pump(): void {
    this.inner.pump();
  }
  flush(): void {
    this.inner.flush?.();
  }
  stats(): NetStats {
    return this.inner.stats();
  }
  close(): void {
    this.inner.close();
  }
}

export class ReplayBackend implements NetBackend {
  private port: NetPort | undefined;
  private transmitted = 0;
  private delivered = 0;
  /** As the user-mode NAT, whose runs are recorded: carrier up, TCP offloads taken. */
  readonly linkUp = true;
  readonly txOffload = true;

  attach(port: NetPort): void {
    this.port = port;
  }
  detach(port: NetPort): void {
    if (this.port === port) this.port = undefined;
  }
  /** A logged frame, at its instruction count. */
  deliver(frame: Uint8Array, checksummed: boolean, gso: GsoInfo | undefined): void {
    this.delivered++;
    this.port?.deliver(frame, checksummed, gso);
  }
  transmit(): void {
    this.transmitted++;
  }
  pump(): void {}
  stats(): NetStats {
    return { replayedFrames: this.delivered, transmittedFrames: this.transmitted };
  }
  close(): void {}
}

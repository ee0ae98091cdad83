/**
 * The host end of one extra guest serial port (ttyS1..ttyS3): collects the
 * bytes the guest transmits and hands them out in chunks, and queues host
 * input until the guest's driver is ready to receive it (as the machine
 * does for the console).
 */
import type { Uart16550 } from '../devices/uart16550.js';

/** Most input held for a port whose guest side is not reading; older bytes are dropped. */
const MAX_PENDING_INPUT = 1 << 20;
const OUT_CHUNK = 4096;

export class SerialLink {
  /** The UART of the current machine, once the board is built. */
  uart: Uart16550 | undefined;
  private input: number[] = [];
  private out = new Uint8Array(OUT_CHUNK);
  private outLen = 0;

  constructor(
    readonly index: number,
    private readonly onOutput: (bytes: Uint8Array) => void,
  ) {}

  /** A byte the guest transmitted. */
  transmit(byte: number): void {
    if (this.outLen === this.out.length) this.flush();
    this.out[this.outLen++] = byte;
  }

  /** Hand the collected output to the host. */
  flush(): void {
    if (this.outLen === 0) return;
    const chunk = this.out.slice(0, this.outLen);
    this.outLen = 0;
    this.onOutput(chunk);
  }

  /** Queue host input for the guest. */
  send(bytes: Uint8Array): void {
    for (const b of bytes) this.input.push(b);
    if (this.input.length > MAX_PENDING_INPUT) {
      this.input.splice(0, this.input.length - MAX_PENDING_INPUT);
    }
    this.feed();
  }

  /** Move queued input into the UART as far as it has room (and the driver listens). */
  feed(): void {
    const uart = this.uart;
    if (this.input.length === 0 || !uart || !uart.receiverReady()) return;
    const n = uart.pushInput(Uint8Array.from(this.input.slice(0, 256)));
    if (n > 0) this.input.splice(0, n);
  }
}

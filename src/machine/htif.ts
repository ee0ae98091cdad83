/**
 * HTIF, Spike's host-target interface, as bare-metal test programs use it:
 * the program writes a command word to `tohost`; the host acts and answers in
 * `fromhost`.
 *
 *   device 0, bit 0 set:    exit with status (value >> 1)
 *   device 0, bit 0 clear:  syscall proxy; value is the address of eight
 *                           u64 words (number, args…); the result replaces
 *                           word 0. write(64) to fd 1/2 and exit(93) are served.
 *   device 1, command 1:    putchar (low byte)
 */
import type { Hart } from './core.js';

const SYS_WRITE = 64n;
const SYS_EXIT = 93n;
const EBADF = -9n;
const EFAULT = -14n;
const ENOSYS = -38n;
const MAX_WRITE = 1 << 20;

export interface HtifHost {
  console(bytes: Uint8Array): void;
  exit(code: number): void;
}

export class Htif {
  constructor(
    private readonly hart: Hart,
    private readonly tohost: bigint,
    private readonly fromhost: bigint | undefined,
    private readonly host: HtifHost,
  ) {}

  private word(pa: bigint): DataView | undefined {
    if (!this.hart.inRam(pa, 8)) return undefined;
    const v = this.hart.ramView(pa, 8);
    return new DataView(v.buffer, v.byteOffset, 8);
  }

  /** Handle the command the program just wrote to tohost. */
  service(): void {
    const value = this.hart.x.getHtifValue();
    const device = value >> 56n;
    const command = (value >> 48n) & 0xffn;
    const payload = value & 0xffff_ffff_ffffn;
    if (device === 0n && (payload & 1n) === 1n) {
      this.host.exit(Number((payload >> 1n) & 0x7fff_ffffn));
      return;
    }
    if (device === 0n) this.syscall(payload);
    else if (device === 1n && command === 1n)
      this.host.console(Uint8Array.of(Number(value & 0xffn)));
    this.word(this.tohost)?.setBigUint64(0, 0n, true);
    if (this.fromhost !== undefined) {
      this.word(this.fromhost)?.setBigUint64(
        0,
        device === 0n ? 1n : (device << 56n) | (command << 48n),
        true,
      );
    }
  }

  private syscall(addr: bigint): void {
    if (!this.hart.inRam(addr, 64)) return;
    const v = this.hart.ramView(addr, 64);
    const args = new DataView(v.buffer, v.byteOffset, 64);
    const arg = (i: number): bigint => args.getBigUint64(i * 8, true);
    let result: bigint;
    switch (arg(0)) {
      case SYS_WRITE: {
        const fd = arg(1);
        const buf = arg(2);
        const len = arg(3);
        if (fd !== 1n && fd !== 2n) result = EBADF;
        else if (len > BigInt(MAX_WRITE) || !this.hart.inRam(buf, Number(len))) result = EFAULT;
        else {
          this.host.console(this.hart.ramView(buf, Number(len)).slice());
          result = len;
        }
        break;
      }
      case SYS_EXIT:
        this.host.exit(Number(arg(1) & 0x7fff_ffffn));
        return;
      default:
        result = ENOSYS;
    }
    args.setBigInt64(0, result, true);
  }
}

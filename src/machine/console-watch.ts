/**
 * Watches the guest console for the kernel's panic banner, so a panicking
 * guest stops the VM (as the original coLinux did) instead of hanging.
 */
const PANIC = 'Kernel panic - not syncing';
const PANIC_END = '---[ end Kernel panic';

export class ConsoleWatcher {
  private tail = '';
  /** The first panic line, once seen. */
  panicLine: string | undefined;
  /** True once the kernel printed the end-of-panic marker. */
  panicEnded = false;

  /** Feed console bytes; returns true if a panic has been seen. */
  scan(bytes: Uint8Array): boolean {
    let text = this.tail;
    for (const b of bytes) text += String.fromCharCode(b);
    if (this.panicLine === undefined) {
      const at = text.indexOf(PANIC);
      if (at >= 0) {
        const lineEnd = text.indexOf('\n', at);
        if (lineEnd >= 0) this.panicLine = text.slice(at, lineEnd).replace(/\r$/, '');
      }
    }
    if (this.panicLine !== undefined && text.includes(PANIC_END)) this.panicEnded = true;
    // Keep enough to match a banner split across chunks, and a whole panic line.
    this.tail = text.slice(-512);
    return this.panicLine !== undefined;
  }
}

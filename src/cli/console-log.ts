/**
 * The console log of a VM: everything the guest writes on its console,
 * appended to one file per VM (mode 0600), with a marker line when a VM
 * starts, restarts and ends. When the file passes ROTATE_BYTES it is moved
 * to FILE.1 (replacing an older one) and a new file is started.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const ROTATE_BYTES = 8 << 20;

export class ConsoleLog {
  private stream: fs.WriteStream | undefined;
  private size = 0;
  private failed = false;

  constructor(
    readonly file: string,
    private readonly onError: (message: string) => void = () => undefined,
  ) {}

  /** Create the directory and open the file (rotating it first if it is already large). */
  open(): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    let size = 0;
    try {
      size = fs.statSync(this.file).size;
    } catch {
      // new file
    }
    if (size >= ROTATE_BYTES) {
      this.rotateFile();
      size = 0;
    }
    // Open synchronously so a bad path is reported at start, not later.
    const fd = fs.openSync(this.file, 'a', 0o600);
    this.size = size;
    this.stream = fs.createWriteStream(this.file, { fd, flags: 'a' });
    this.stream.on('error', (e) => this.fail(e));
  }

  /** Append console output. */
  write(data: Uint8Array): void {
    if (!this.stream || this.failed) return;
    if (this.size + data.length > ROTATE_BYTES && this.size > 0) this.rotate();
    this.stream.write(data);
    this.size += data.length;
  }

  /** Append a marker line ("--- colinux: … ---") on a line of its own. */
  mark(text: string): void {
    this.write(
      new TextEncoder().encode(`\r\n--- colinux ${new Date().toISOString()}: ${text} ---\r\n`),
    );
  }

  /** Flush and close. */
  close(): Promise<void> {
    const s = this.stream;
    this.stream = undefined;
    if (!s) return Promise.resolve();
    return new Promise((resolve) => s.end(() => resolve()));
  }

  private rotateFile(): void {
    try {
      fs.renameSync(this.file, `${this.file}.1`);
    } catch (e) {
      this.onError(`cannot rotate the console log ${this.file}: ${(e as Error).message}`);
    }
  }

  private rotate(): void {
    const old = this.stream!;
    old.end();
    this.rotateFile();
    try {
      const fd = fs.openSync(this.file, 'a', 0o600);
      this.stream = fs.createWriteStream(this.file, { fd, flags: 'a' });
      this.stream.on('error', (e) => this.fail(e));
      this.size = 0;
    } catch (e) {
      this.fail(e as Error);
    }
  }

  private fail(e: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.onError(`console log ${this.file}: ${e.message}; logging stopped`);
  }
}

/**
 * `--cmd` mode: the default image's init runs the command, then prints
 * "\ncolinux-exit-status:N\n" and powers off. This filter passes the
 * command's output through unchanged, removes that marker (even when it is
 * split across chunks) and records N. Output after the marker (power-off
 * messages) is dropped.
 */
const MARKER = '\ncolinux-exit-status:';
const latin1 = new TextDecoder('latin1');

function toBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export class CommandStatusFilter {
  /** The command's exit status, once the marker was seen. */
  status: number | undefined;
  private held = '';

  push(bytes: Uint8Array): Uint8Array {
    if (this.status !== undefined) return new Uint8Array(0);
    const s = this.held + latin1.decode(bytes);
    this.held = '';
    const m = /\ncolinux-exit-status:(\d{1,3})\r?\n/.exec(s);
    if (m) {
      this.status = Number(m[1]) & 0xff;
      return toBytes(s.slice(0, m.index));
    }
    // Hold back a tail that may be the start of the marker.
    const nl = s.lastIndexOf('\n');
    if (nl >= 0) {
      const tail = s.slice(nl);
      const digits = tail.slice(MARKER.length);
      const prefixOk =
        tail.length <= MARKER.length
          ? MARKER.startsWith(tail)
          : tail.startsWith(MARKER) && /^\d{0,3}\r?$/.test(digits);
      if (prefixOk) {
        this.held = tail;
        return toBytes(s.slice(0, nl));
      }
    }
    return toBytes(s);
  }

  /** Whatever is still held back (call at exit if no marker came). */
  flush(): Uint8Array {
    const s = this.held;
    this.held = '';
    return toBytes(s);
  }
}

/**
 * Kernel command line that makes the default image run `cmd` and report its
 * status. `quiet` goes first: early parameters are parsed in order, and an
 * `earlycon` parsed before `quiet` would replay the boot log at full level.
 */
export function commandCmdline(cmdline: string, cmd: string): string {
  const b64 = btoa(String.fromCharCode(...new TextEncoder().encode(cmd)));
  return `quiet ${cmdline} colinux.cmd=${b64}`;
}

/**
 * `ttysN=<host end>`: what an extra guest serial port (ttyS1..ttyS3) is
 * connected to on the host, like coLinux's `ttys0=COM1`. ttyS0 is the
 * console and is not configurable here.
 *
 *   unix:PATH          colinux listens on a Unix domain socket at PATH (mode 0600);
 *                      one client at a time is connected to the port, both ways
 *   tcp:[HOST:]PORT    colinux listens on TCP (HOST defaults to 127.0.0.1);
 *                      one client at a time, both ways
 *   file:PATH          what the guest writes is appended to PATH (mode 0600); no input
 *   pipe:NAME          Windows only: colinux serves the named pipe \\.\pipe\NAME
 *
 * While no client is connected, what the guest writes is dropped, as on a
 * serial line with nothing plugged in.
 */
import * as path from 'node:path';

export const SERIAL_MIN_INDEX = 1;
export const SERIAL_MAX_INDEX = 3;

export type SerialEndpoint =
  | { kind: 'unix'; path: string }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'file'; path: string }
  | { kind: 'pipe'; path: string };

export const SERIAL_FORMS = 'unix:PATH, tcp:[HOST:]PORT, file:PATH or (Windows) pipe:NAME';

/** Unix socket paths longer than this do not fit sockaddr_un on every system. */
export const MAX_UNIX_SOCKET_PATH = 100;

/**
 * Parse a host end. Relative paths are resolved with `resolve` (the caller
 * knows the directory: the config file's or the current one). Returns the
 * endpoint, or a message saying what is wrong and how to fix it.
 */
export function parseSerialEndpoint(
  value: string,
  resolve: (p: string) => string,
  platform: NodeJS.Platform = process.platform,
): SerialEndpoint | string {
  const colon = value.indexOf(':');
  const kind = colon < 0 ? value : value.slice(0, colon);
  const rest = colon < 0 ? '' : value.slice(colon + 1);
  switch (kind) {
    case 'unix': {
      if (rest === '') return 'unix: needs a socket path, e.g. ttys1=unix:/tmp/vm-ttyS1.sock';
      if (platform === 'win32') return 'unix: sockets are not used on Windows; use pipe:NAME';
      const p = resolve(rest);
      if (Buffer.byteLength(p) > MAX_UNIX_SOCKET_PATH) {
        return `socket path ${p} is longer than ${MAX_UNIX_SOCKET_PATH} bytes; use a shorter path`;
      }
      return { kind: 'unix', path: p };
    }
    case 'file': {
      if (rest === '') return 'file: needs a path, e.g. ttys1=file:ttyS1.log';
      return { kind: 'file', path: resolve(rest) };
    }
    case 'pipe': {
      if (platform !== 'win32') return 'pipe: (named pipes) is for Windows hosts; use unix:PATH';
      if (!/^[A-Za-z0-9_.-]{1,200}$/.test(rest)) {
        return 'pipe: needs a name of letters, digits, "_", "." or "-", e.g. ttys1=pipe:vm-ttyS1';
      }
      return { kind: 'pipe', path: `\\\\.\\pipe\\${rest}` };
    }
    case 'tcp': {
      const m = /^(?:(.*):)?(\d{1,5})$/.exec(rest);
      if (!m) return 'tcp: needs a port, e.g. ttys1=tcp:5001 or ttys1=tcp:127.0.0.1:5001';
      const port = Number(m[2]);
      if (port < 1 || port > 65535) return `tcp port ${m[2]} is out of range; use 1 to 65535`;
      let host = m[1] ?? '127.0.0.1';
      if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
      if (host === '' || /[\s/]/.test(host)) {
        return `tcp host ${JSON.stringify(host)} is not a host name or address`;
      }
      return { kind: 'tcp', host, port };
    }
    default:
      return `unknown serial host end ${JSON.stringify(kind)}; use ${SERIAL_FORMS}`;
  }
}

/** The endpoint in the form it is written in a config (for `config check` and `ls`). */
export function formatSerialEndpoint(e: SerialEndpoint): string {
  switch (e.kind) {
    case 'unix':
    case 'file':
      return `${e.kind}:${e.path}`;
    case 'pipe':
      return `pipe:${path.win32.basename(e.path)}`;
    case 'tcp':
      return `tcp:${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`;
  }
}

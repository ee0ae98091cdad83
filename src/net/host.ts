/**
 * What the user-mode network stack needs from its host: TCP and UDP sockets,
 * listeners for port forwards, a name resolver and timers. The Node
 * implementation is src/backends/net/node-host.ts (node:net, node:dgram,
 * node:dns); tests substitute their own. Nothing here imports `node:`.
 *
 * Addresses given to the host are IPv4 dotted quads; the stack has already
 * translated the guest's view (10.0.2.2 → 127.0.0.1).
 */

/** A host socket error, reduced to what the stack acts on. */
export interface HostNetError {
  /** errno-style code: ECONNREFUSED, ECONNRESET, EHOSTUNREACH, ENETUNREACH, ETIMEDOUT, … */
  code: string;
  message: string;
}

/** Events of one host TCP socket. All are called asynchronously, never from inside a method call. */
export interface HostTcpHandlers {
  /** An outgoing connection was established. */
  onConnect(): void;
  /**
   * Bytes from the host peer. `more`: further chunks follow at once (read in
   * the same turn of the event loop); the connection may wait for the last
   * one before it builds frames, so that they come out full-size.
   */
  onData(data: Uint8Array, more?: boolean): void;
  /** The peer half-closed (sent FIN); we may still write. */
  onEnd(): void;
  /** Everything written so far has left the user-space buffer. */
  onDrain(): void;
  /** The socket is gone; `error` when it failed or was reset rather than closed in order. */
  onClose(error?: HostNetError): void;
}

export interface HostTcpSocket {
  /** Queue bytes for the peer (the socket buffers; watch bufferedAmount). */
  write(data: Uint8Array): void;
  /** Bytes written but not yet handed to the host kernel. */
  readonly bufferedAmount: number;
  /** Half-close: send FIN after the buffered data. */
  end(): void;
  /** Abort with a TCP reset. */
  reset(): void;
  /** Stop / restart delivering onData (back-pressure toward the host peer). */
  pause(): void;
  resume(): void;
  /**
   * Most bytes to read from the peer ahead of the connection, before they
   * are handed over (an implementation that batches reads must not hold more
   * than this). The connection sets it to the room left in its queue.
   */
  setReadAhead?(bytes: number): void;
}

export interface HostUdpSocket {
  send(data: Uint8Array, port: number, address: string): void;
  close(): void;
}

export type UdpReceive = (data: Uint8Array, address: string, port: number) => void;

export interface HostListener {
  close(): void;
}

/** An accepted connection: call `attach` once with the handlers to start receiving its events. */
export interface AcceptedTcp {
  remoteAddress: string;
  remotePort: number;
  attach(handlers: HostTcpHandlers): HostTcpSocket;
}

/** DNS record types the resolver answers (RFC 1035 numbers). */
export const DNS_A = 1;
export const DNS_NS = 2;
export const DNS_CNAME = 5;
export const DNS_PTR = 12;
export const DNS_MX = 15;
export const DNS_TXT = 16;
export const DNS_AAAA = 28;
export const DNS_SRV = 33;

export type DnsRecord =
  | { type: typeof DNS_A; address: string }
  | { type: typeof DNS_AAAA; address: string }
  | { type: typeof DNS_CNAME | typeof DNS_NS | typeof DNS_PTR; name: string }
  | { type: typeof DNS_MX; priority: number; exchange: string }
  | { type: typeof DNS_TXT; texts: string[] }
  | { type: typeof DNS_SRV; priority: number; weight: number; port: number; name: string };

export interface DnsAnswer {
  /** 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 4 NOTIMP, 5 REFUSED. */
  rcode: number;
  records: { ttl: number; record: DnsRecord }[];
}

export interface NetHost {
  /** Open an outgoing TCP connection; events arrive through `handlers`. */
  connectTcp(address: string, port: number, handlers: HostTcpHandlers): HostTcpSocket;
  /** An unbound UDP socket (the host picks the port on first send). */
  openUdp(onMessage: UdpReceive): HostUdpSocket;
  /** A UDP socket bound to address:port; rejects with a clear message when the port is taken. */
  bindUdp(address: string, port: number, onMessage: UdpReceive): Promise<HostUdpSocket>;
  /** Listen for TCP connections on address:port; rejects with a clear message when the port is taken. */
  listenTcp(
    address: string,
    port: number,
    onConnection: (conn: AcceptedTcp) => void,
  ): Promise<HostListener>;
  /** Resolve `name` for record type `type` with the host's resolver. Never rejects. */
  resolve(name: string, type: number): Promise<DnsAnswer>;
}

/** Timers, injectable so protocol tests can run on a fake clock. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms) as unknown as { unref?: () => void };
    // Timers of the network stack never keep a host process alive by themselves.
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

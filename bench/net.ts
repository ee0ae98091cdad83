/**
 * TCP throughput through user-mode networking, colinux (`eth0=slirp`)
 * beside QEMU (`-netdev user` + virtio-net-device), same kernel, initrd and
 * busybox tools in the guest:
 *
 *   host → guest   guest `wget -O /dev/null` of 50 MiB from a host HTTP
 *                  server on 127.0.0.1 (reached as 10.0.2.2)
 *   guest → host   guest `nc 10.0.2.2 PORT < /tmp/big` (50 MiB from tmpfs)
 *                  into a host server that hashes what it gets
 *
 * Both are timed inside the guest (busybox `time`); the upload's SHA-256 must
 * match on every run of both VMs.
 */
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import * as net from 'node:net';
import { BenchError, runToExit, type VmCommand } from './guest.js';
import { metric, type Metric } from './report.js';

export const NET_BYTES = 50 * 1024 * 1024;

export interface NetRun {
  /** Seconds for 50 MiB host → guest, and guest → host. */
  downS: number;
  upS: number;
  /** SHA-256 of what the host received from the guest. */
  upSha: string;
  upBytes: number;
}

interface Servers {
  httpPort: number;
  sinkPort: number;
  sha: string;
  uploads: Array<{ bytes: number; sha: string }>;
  close(): void;
}

async function startServers(): Promise<Servers> {
  const data = crypto.randomBytes(NET_BYTES);
  const sha = crypto.createHash('sha256').update(data).digest('hex');
  const uploads: Array<{ bytes: number; sha: string }> = [];
  const web = http.createServer((req, res) => {
    if (req.url !== '/big.bin') {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-length': String(data.length) });
    res.end(data);
  });
  const sink = net.createServer((s) => {
    const h = crypto.createHash('sha256');
    let bytes = 0;
    s.on('data', (d) => {
      h.update(d);
      bytes += d.length;
    });
    s.on('end', () => {
      uploads.push({ bytes, sha: h.digest('hex') });
      s.end();
    });
    s.on('error', () => {});
  });
  const listen = (srv: net.Server): Promise<number> =>
    new Promise((resolve) =>
      srv.listen(0, '127.0.0.1', () => resolve((srv.address() as net.AddressInfo).port)),
    );
  const httpPort = await listen(web);
  const sinkPort = await listen(sink);
  return {
    httpPort,
    sinkPort,
    sha,
    uploads,
    close: () => {
      web.close();
      sink.close();
    },
  };
}

/** The guest's side: timed download, untimed copy to tmpfs, timed upload. */
export function netGuestCommand(httpPort: number, sinkPort: number): string {
  const url = `http://10.0.2.2:${httpPort}/big.bin`;
  return [
    `time wget -q -O /dev/null ${url}`,
    `wget -q -O /tmp/big ${url}`,
    `time nc 10.0.2.2 ${sinkPort} < /tmp/big`,
    'echo net-bench-done',
  ].join(' && ');
}

/** Replace QEMU's `-nic none` with user-mode networking on a virtio-net-device. */
export function withQemuUserNet(cmd: VmCommand): VmCommand {
  const args = [...cmd.args];
  const i = args.indexOf('-nic');
  if (i >= 0) args.splice(i, 2);
  args.push('-netdev', 'user,id=n0', '-device', 'virtio-net-device,netdev=n0');
  return { ...cmd, args };
}

function parseTimes(name: string, output: string): [number, number] {
  const times = [...output.matchAll(/real\s+(\d+)m\s*([\d.]+)s/g)].map(
    (m) => Number(m[1]) * 60 + Number(m[2]),
  );
  if (times.length < 2 || !/net-bench-done/.test(output)) {
    throw new BenchError(`${name}: the network transfer did not finish:\n${output.slice(-2000)}`);
  }
  return [times[0]!, times[1]!];
}

export interface NetBenchOptions {
  runs: number;
  /** A colinux command running `--cmd <guest command>` with `eth0=slirp`. */
  colinux: (guestCmd: string) => VmCommand;
  /** A QEMU command with user networking running the guest command. */
  qemu: (guestCmd: string) => VmCommand;
  log: (line: string) => void;
  /** Which VMs to run (default both). */
  vms?: ReadonlyArray<'colinux' | 'qemu'>;
}

/** Alternate colinux and QEMU runs; returns their results and any hash problems. */
export async function measureNet(
  o: NetBenchOptions,
): Promise<{ colinux: NetRun[]; qemu: NetRun[]; problems: string[] }> {
  const servers = await startServers();
  const out: { colinux: NetRun[]; qemu: NetRun[]; problems: string[] } = {
    colinux: [],
    qemu: [],
    problems: [],
  };
  try {
    const guestCmd = netGuestCommand(servers.httpPort, servers.sinkPort);
    for (let i = 1; i <= o.runs; i++) {
      for (const vm of o.vms ?? (['colinux', 'qemu'] as const)) {
        const cmd = vm === 'colinux' ? o.colinux(guestCmd) : o.qemu(guestCmd);
        o.log(`[net ${i}/${o.runs}] ${vm}: 50 MiB host → guest, then guest → host…`);
        const before = servers.uploads.length;
        const r = await runToExit(cmd, 900_000);
        const [downS, upS] = parseTimes(vm, r.output);
        // The sink sees the end of the upload a moment after the guest's nc returns.
        for (let k = 0; k < 100 && servers.uploads.length === before; k++) {
          await new Promise((res) => setTimeout(res, 20));
        }
        const up = servers.uploads[before] ?? { bytes: 0, sha: '' };
        if (up.sha !== servers.sha || up.bytes !== NET_BYTES) {
          out.problems.push(
            `NET HASH MISMATCH: ${vm} uploaded ${up.bytes} bytes with SHA-256 ${up.sha || '(none)'}`,
          );
        }
        out[vm].push({ downS, upS, upSha: up.sha, upBytes: up.bytes });
        o.log(
          `[net ${i}/${o.runs}] ${vm}: host → guest ${downS.toFixed(2)} s (${mbps(downS)} MB/s), ` +
            `guest → host ${upS.toFixed(2)} s (${mbps(upS)} MB/s)`,
        );
      }
    }
  } finally {
    servers.close();
  }
  return out;
}

function mbps(s: number): string {
  return (NET_BYTES / 1e6 / s).toFixed(1);
}

/** Table rows (times: lower is better, as for the other rows). */
export function netMetrics(r: { colinux: NetRun[]; qemu: NetRun[] }): Metric[] {
  return [
    metric(
      'TCP host → guest, 50 MiB through the NAT (wget)',
      's',
      2,
      r.colinux.map((x) => x.downS),
      r.qemu.map((x) => x.downS),
    ),
    metric(
      'TCP guest → host, 50 MiB through the NAT (nc)',
      's',
      2,
      r.colinux.map((x) => x.upS),
      r.qemu.map((x) => x.upS),
    ),
  ];
}

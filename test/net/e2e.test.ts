/**
 * Networking end to end: the default image boots with virtio-net NICs,
 * driven through `colinux run` as a user would. Host servers listen on
 * 127.0.0.1 only; nothing here needs the internet.
 *
 * - the guest gets its address by DHCP, pings the gateway, resolves a name
 *   through 10.0.2.3 and downloads from a host HTTP server through the NAT;
 * - 50 MiB each way keep their hash (host → guest by HTTP, guest → host by nc);
 * - the host reaches a guest server through a port forward, with 100
 *   connections at once;
 * - `restrict` cuts the guest off; a host port in use is one clear error;
 * - two VMs talk over a switch; a duplicate MAC on a switch is refused.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureDefaultImage } from '../../src/backends/image/index.js';
import { runCli, type CliResult } from '../helpers/colinux.js';

const BIG = 50 * 1024 * 1024;
let big: Buffer;
let bigSha: string;
let bigMd5: string;
let httpServer: http.Server;
let httpPort: number;
const servers: net.Server[] = [];
let runtimeDir: string;

function listen(server: net.Server | http.Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
}

/** A TCP server that hashes everything one client sends. */
async function sink(): Promise<{ port: number; result: Promise<{ bytes: number; sha: string }> }> {
  let done!: (r: { bytes: number; sha: string }) => void;
  const result = new Promise<{ bytes: number; sha: string }>((r) => (done = r));
  const server = net.createServer((s) => {
    const h = crypto.createHash('sha256');
    let bytes = 0;
    s.on('data', (d) => {
      h.update(d);
      bytes += d.length;
    });
    s.on('end', () => {
      s.end();
      done({ bytes, sha: h.digest('hex') });
    });
  });
  servers.push(server);
  return { port: await listen(server), result };
}

function show(r: CliResult): string {
  return `exit ${r.code}\nstdout:\n${r.stdout.slice(-4000)}\nstderr:\n${r.stderr.slice(-4000)}`;
}

before(async () => {
  await ensureDefaultImage({ onProgress: (line) => process.stderr.write(`${line}\n`) });
  big = crypto.randomBytes(BIG);
  bigSha = crypto.createHash('sha256').update(big).digest('hex');
  bigMd5 = crypto.createHash('md5').update(big).digest('hex');
  httpServer = http.createServer((req, res) => {
    if (req.url === '/big.bin') {
      res.writeHead(200, { 'content-length': String(big.length) });
      res.end(big);
    } else if (req.url === '/hello.txt') {
      res.end('hello from the host\n');
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  httpPort = await listen(httpServer);
  runtimeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'colinux-net-'));
});

after(() => {
  httpServer.close();
  for (const s of servers) s.close();
  fs.rmSync(runtimeDir, { recursive: true, force: true });
});

test('NAT: DHCP address, ping the gateway, DNS through 10.0.2.3, HTTP download from the host', async () => {
  const r = await runCli([
    'run',
    'eth0=slirp',
    '--cmd',
    [
      'ip -4 addr show eth0',
      'ip route',
      'ping -c 1 10.0.2.2',
      'nslookup localhost 10.0.2.3',
      `wget -q -O - http://10.0.2.2:${httpPort}/hello.txt`,
    ].join('; '),
  ]);
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /inet 10\.0\.2\.15\/24/);
  assert.match(r.stdout, /default via 10\.0\.2\.2 dev eth0/);
  assert.match(r.stdout, /1 packets transmitted, 1 packets received/);
  assert.match(r.stdout, /Address:\s+127\.0\.0\.1/);
  assert.match(r.stdout, /hello from the host/);
});

test('NAT: 50 MiB host → guest (HTTP) and guest → host (nc) keep their hashes', async () => {
  const up = await sink();
  const r = await runCli([
    'run',
    'mem=512',
    'eth0=slirp',
    '--cmd',
    [
      `wget -q -O /tmp/big http://10.0.2.2:${httpPort}/big.bin`,
      'md5sum /tmp/big',
      `nc 10.0.2.2 ${up.port} < /tmp/big`,
      'echo upload-done',
    ].join(' && '),
  ]);
  assert.equal(r.code, 0, show(r));
  assert.match(
    r.stdout,
    new RegExp(`^${bigMd5}\\s+/tmp/big`, 'm'),
    'host → guest changed the data',
  );
  assert.match(r.stdout, /upload-done/);
  const got = await up.result;
  assert.equal(got.bytes, BIG);
  assert.equal(got.sha, bigSha, 'guest → host changed the data');
});

/** GET / from a forwarded port on the host. */
function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
  });
}

test('port forward: the host reaches a guest web server, 100 connections at once', async () => {
  const webPort = await freePort();
  const donePort = await freePort();
  let results: string[] | undefined;
  let error: unknown;
  let started = false;
  const r = await runCli(
    [
      'run',
      `eth0=slirp,,tcp:${webPort}:8080/tcp:${donePort}:9000`,
      '--cmd',
      [
        'mkdir -p /tmp/www',
        'echo guest-page > /tmp/www/index.html',
        'httpd -p 8080 -h /tmp/www',
        'echo READY',
        'nc -l -p 9000 > /dev/null',
        'echo FINISHED',
      ].join('; '),
    ],
    {
      onStdout: (out) => {
        if (started || !/^READY/m.test(out)) return;
        started = true;
        void (async () => {
          try {
            results = await Promise.all(Array.from({ length: 100 }, () => get(webPort)));
          } catch (e) {
            error = e;
          }
          // Let the guest finish: connect to the second forward and close.
          const s = net.connect(donePort, '127.0.0.1', () => s.end('done\n'));
          s.on('error', () => {});
        })();
      },
    },
  );
  assert.equal(r.code, 0, show(r));
  assert.equal(error, undefined, String(error));
  assert.ok(results, show(r));
  assert.equal(results.length, 100);
  for (const body of results) assert.equal(body, 'guest-page\n');
  assert.match(r.stdout, /FINISHED/);
});

test('restrict: no way out from the guest; a host port in use is one clear error', async () => {
  const r = await runCli([
    'run',
    'eth0=slirp,restrict',
    '--cmd',
    `wget -q -T 5 -O - http://10.0.2.2:${httpPort}/hello.txt || echo blocked; ping -c 1 10.0.2.2 >/dev/null && echo gateway-ok`,
  ]);
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /blocked/);
  assert.match(r.stdout, /gateway-ok/);
  assert.doesNotMatch(r.stdout, /hello from the host/);

  const taken = await freePort();
  const blocker = net.createServer();
  servers.push(blocker);
  await new Promise<void>((resolve) => blocker.listen(taken, '127.0.0.1', resolve));
  const busy = await runCli(['run', `eth0=slirp,,tcp:${taken}:22`, '--cmd', 'true']);
  assert.equal(busy.code, 2, show(busy));
  assert.match(
    busy.stderr,
    new RegExp(`eth0: tcp port 127\\.0\\.0\\.1:${taken} is already in use`),
  );
  assert.equal(busy.stderr.trim().split('\n').length, 1, busy.stderr);
});

test('switch: two VMs on one switch talk; a third with the same MAC is refused', async () => {
  const env = { COLINUX_RUNTIME_DIR: runtimeDir };
  const sw = `t${process.pid}`;
  let bReady = false;
  const a = runCli(
    [
      'run',
      `eth0=switch:${sw},02:00:00:00:77:01`,
      'colinux.net=off',
      '--cmd',
      'ip addr add 192.168.77.1/24 dev eth0; ip link set eth0 up; echo READY; echo from-A | nc -l -p 7000; echo A-DONE',
    ],
    {
      env,
      onStdout: (out) => {
        if (bReady || !/^READY/m.test(out)) return;
        bReady = true;
      },
    },
  );
  // Wait until A is on the switch before starting B (A's READY comes after it joined).
  for (let i = 0; i < 600 && !bReady; i++) await new Promise((r) => setTimeout(r, 100));
  const dupe = await runCli(['run', `eth0=switch:${sw},02:00:00:00:77:01`, '--cmd', 'true'], {
    env,
  });
  const b = await runCli(
    [
      'run',
      `eth0=switch:${sw},02:00:00:00:77:02`,
      'colinux.net=off',
      '--cmd',
      [
        'ip addr add 192.168.77.2/24 dev eth0',
        'ip link set eth0 up',
        'ping -c 1 -W 10 192.168.77.1',
        'for i in $(seq 1 100); do echo from-B | nc 192.168.77.1 7000 && break; sleep 0.3; done',
        'echo B-DONE',
      ].join('; '),
    ],
    { env },
  );
  const ra = await a;
  assert.equal(b.code, 0, show(b));
  assert.equal(ra.code, 0, show(ra));
  assert.match(b.stdout, /1 packets transmitted, 1 packets received/);
  assert.match(b.stdout, /from-A/);
  assert.match(ra.stdout, /from-B/);
  assert.equal(dupe.code, 2, show(dupe));
  assert.match(dupe.stderr, /MAC 02:00:00:00:77:01 is already used by another VM on this switch/);
});

/**
 * The Debian image build as a benchmark: `colinux image build debian` from
 * scratch (debootstrap's second stage runs inside colinux: dpkg unpacking
 * and configuring ~200 packages, thousands of processes, code loaded all
 * the time), timed, with the peak RSS of the process sampled from
 * /proc/PID/status (VmHWM) and compared with the guest's RAM. colinux only:
 * QEMU does not build this image. Not part of `npm test`.
 *
 *   node dist/bench/debian.js [--runs N] [--jit on|off|both] [--json PATH]
 *
 * Each run builds into a fresh cache directory that gets a copy of the
 * default image (kernel and initramfs), so only the Debian part is built.
 * Figures, never pass/fail; exit 1 only if a build fails.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { ensureDefaultImage } from '../src/backends/image/index.js';
import { STAGE2_MEM_MIB } from '../src/backends/image/debian.js';
import { BenchError, statusBytes } from './guest.js';
import { benchMain } from './cli.js';
import { median, mib } from './report.js';
import { repoRoot } from './setup.js';

export interface DebianBuildRun {
  jit: boolean;
  wallS: number;
  peakRssBytes: number;
}

const log = (line: string): void => void process.stderr.write(`${line}\n`);

/** One build into a fresh cache directory; resolves with its time and peak RSS. */
export async function measureDebianBuild(jit: boolean): Promise<DebianBuildRun> {
  const image = await ensureDefaultImage({ onProgress: log });
  const cache = mkdtempSync(join(tmpdir(), 'colinux-bench-debian-'));
  try {
    // The default image's directory, as the image cache lays it out.
    const dir = dirname(image.kernel);
    mkdirSync(join(cache, 'images'), { recursive: true });
    cpSync(dir, join(cache, 'images', basename(dir)), { recursive: true });
    const cli = join(repoRoot(), 'dist', 'src', 'cli', 'colinux.js');
    const env = { ...process.env, COLINUX_CACHE_DIR: cache, COLINUX_JIT: jit ? 'on' : 'off' };
    const t0 = performance.now();
    const child = spawn(process.execPath, [cli, 'image', 'build', 'debian'], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let tail = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      tail = (tail + s).slice(-4000);
      const last = s.trimEnd().split('\n').pop();
      if (last) process.stderr.write(`\r\x1b[K  ${last.slice(0, 110)}`);
    });
    let peak = 0;
    const sample = setInterval(() => {
      try {
        peak = Math.max(peak, statusBytes(child.pid!, 'VmHWM'));
      } catch {
        // The process is gone; the last sample stands.
      }
    }, 500);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    clearInterval(sample);
    process.stderr.write('\n');
    if (code !== 0)
      throw new BenchError(`the Debian image build failed (status ${code}):\n${tail}`);
    return { jit, wallS: (performance.now() - t0) / 1000, peakRssBytes: peak };
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  let runs = 1;
  let modes = [true];
  let json: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const v = args[++i];
    if (a === '--runs' && v && /^[1-9]\d*$/.test(v)) runs = Number(v);
    else if (a === '--jit' && (v === 'on' || v === 'off' || v === 'both'))
      modes = v === 'both' ? [true, false] : [v === 'on'];
    else if (a === '--json' && v) json = v;
    else throw new BenchError(`usage: debian.js [--runs N] [--jit on|off|both] [--json PATH]`);
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new BenchError('building the Debian image needs root (debootstrap); run as root');
  }
  const results: DebianBuildRun[] = [];
  for (let i = 1; i <= runs; i++) {
    for (const jit of modes) {
      log(`[debian ${i}/${runs}] jit=${jit ? 'on' : 'off'}: building the Debian root disk…`);
      const r = await measureDebianBuild(jit);
      log(
        `[debian ${i}/${runs}] jit=${jit ? 'on' : 'off'}: ${r.wallS.toFixed(0)} s, peak RSS ${mib(r.peakRssBytes).toFixed(0)} MiB`,
      );
      results.push(r);
    }
  }
  const lines = ['', `Debian image build (guest RAM ${STAGE2_MEM_MIB} MiB), median of ${runs}:`];
  for (const jit of modes) {
    const rs = results.filter((r) => r.jit === jit);
    const wall = median(rs.map((r) => r.wallS));
    const rss = median(rs.map((r) => mib(r.peakRssBytes)));
    const vsGuest =
      rss > STAGE2_MEM_MIB
        ? `guest RAM + ${(rss - STAGE2_MEM_MIB).toFixed(0)} MiB`
        : `${(STAGE2_MEM_MIB - rss).toFixed(0)} MiB below guest RAM`;
    lines.push(
      `  jit=${jit ? 'on ' : 'off'}  wall ${(wall / 60).toFixed(1)} min   peak RSS ${rss.toFixed(0)} MiB (${vsGuest})`,
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
  if (json)
    writeFileSync(json, JSON.stringify({ date: new Date().toISOString(), results }, null, 2));
  return 0;
}

if (process.argv[1]?.endsWith('debian.js')) benchMain(main);

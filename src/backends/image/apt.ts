/**
 * Fetch riscv64 packages from Debian's trixie suite through a PRIVATE apt
 * configuration: its own sources list, lists, cache and (empty) dpkg status
 * under the colinux cache directory, APT::Architecture(s)=riscv64. The
 * system's apt sources and state are only read, never changed.
 *
 * The mirror is taken at run time from the system's apt sources (deb822
 * *.sources files or one-line *.list files), or from $COLINUX_DEBIAN_MIRROR.
 * Signatures are checked by apt against the Debian archive keyring that the
 * system already has in /usr/share/keyrings.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImageBuildError, closeLog, openLog, run, toolEnv } from './proc.js';

export const RISCV_SUITE = 'trixie';
export const RISCV_ARCH = 'riscv64';

/** One "deb" entry of an apt sources file. */
export interface AptSource {
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
  enabled: boolean;
  file: string;
}

/** Parse deb822 (*.sources) text. */
export function parseDeb822Sources(text: string, file = ''): AptSource[] {
  const out: AptSource[] = [];
  const stanzas: Map<string, string>[] = [];
  let cur = new Map<string, string>();
  let lastKey: string | undefined;
  for (const raw of text.split('\n')) {
    if (raw.startsWith('#')) continue;
    if (raw.trim() === '') {
      if (cur.size > 0) stanzas.push(cur);
      cur = new Map();
      lastKey = undefined;
      continue;
    }
    if (/^[ \t]/.test(raw)) {
      if (lastKey !== undefined) cur.set(lastKey, `${cur.get(lastKey) ?? ''}\n${raw.trim()}`);
      continue;
    }
    const idx = raw.indexOf(':');
    if (idx <= 0) continue;
    lastKey = raw.slice(0, idx).trim().toLowerCase();
    cur.set(lastKey, raw.slice(idx + 1).trim());
  }
  if (cur.size > 0) stanzas.push(cur);
  const words = (s: string | undefined): string[] =>
    (s ?? '').split(/\s+/).filter((w) => w !== '' && !w.startsWith('#'));
  for (const st of stanzas) {
    out.push({
      types: words(st.get('types')),
      uris: words(st.get('uris')),
      suites: words(st.get('suites')),
      components: words(st.get('components')),
      enabled: !/^(no|false|0)$/i.test(st.get('enabled') ?? 'yes'),
      file,
    });
  }
  return out;
}

/** Parse one-line-format (sources.list) text. */
export function parseOneLineSources(text: string, file = ''): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    const m = /^(deb|deb-src)\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    out.push({
      types: [m[1]!],
      uris: [m[2]!],
      suites: [m[3]!],
      components: m[4]!.split(/\s+/).filter((w) => w !== ''),
      enabled: true,
      file,
    });
  }
  return out;
}

const DEBIAN_SUITE =
  /^(stable|testing|unstable|oldstable|oldoldstable|sid|experimental|buster|bullseye|bookworm|trixie|forky|duke)(-updates|-backports|-proposed-updates)?$/;

/**
 * Pick the URI of the main Debian archive among the system's sources:
 * binary ("deb") entries for a Debian suite, not the security archive.
 * Returns undefined when there is none.
 */
export function pickDebianMirror(sources: readonly AptSource[]): string | undefined {
  let best: { uri: string; score: number } | undefined;
  for (const s of sources) {
    if (!s.enabled || !s.types.includes('deb')) continue;
    if (s.suites.some((x) => /-security$|\/updates$/.test(x))) continue;
    if (!s.suites.some((x) => DEBIAN_SUITE.test(x))) continue;
    for (const uri of s.uris) {
      if (/security/i.test(uri) || /^cdrom:/i.test(uri)) continue;
      if (!/^(https?|ftp|file|mirror(\+[a-z]+)?|tor\+https?):/i.test(uri)) continue;
      let score = 1;
      if (/\/debian\/?$/.test(uri)) score += 2;
      if (s.suites.some((x) => /^[a-z]+$/.test(x))) score += 1;
      if (best === undefined || score > best.score) best = { uri, score };
    }
  }
  return best?.uri.replace(/\/+$/, '');
}

/** Read the system's apt sources (never modified). */
export function systemAptSources(): AptSource[] {
  const out: AptSource[] = [];
  const read = (p: string): string | undefined => {
    try {
      return readFileSync(p, 'utf8');
    } catch {
      return undefined;
    }
  };
  const main = read('/etc/apt/sources.list');
  if (main !== undefined) out.push(...parseOneLineSources(main, '/etc/apt/sources.list'));
  let names: string[] = [];
  try {
    names = readdirSync('/etc/apt/sources.list.d').sort();
  } catch {
    // no directory
  }
  for (const n of names) {
    const p = join('/etc/apt/sources.list.d', n);
    const t = n.endsWith('.sources') || n.endsWith('.list') ? read(p) : undefined;
    if (t === undefined) continue;
    out.push(...(n.endsWith('.sources') ? parseDeb822Sources(t, p) : parseOneLineSources(t, p)));
  }
  return out;
}

/** The Debian mirror to use: $COLINUX_DEBIAN_MIRROR or the system's main archive. */
export function debianMirror(): string {
  const env = process.env['COLINUX_DEBIAN_MIRROR'];
  if (env !== undefined && env.trim() !== '') return env.trim().replace(/\/+$/, '');
  const uri = pickDebianMirror(systemAptSources());
  if (uri === undefined) {
    throw new ImageBuildError(
      'colinux: no Debian archive found in the system apt sources (/etc/apt/sources.list, ' +
        '/etc/apt/sources.list.d/*.sources|*.list); busybox-static for riscv64 is fetched from ' +
        `Debian ${RISCV_SUITE}. Set COLINUX_DEBIAN_MIRROR to a Debian mirror URI to use instead.`,
    );
  }
  return uri;
}

/**
 * Keyring(s) apt verifies the trixie Release file with: the trixie-only
 * keyrings when present (narrowest trust), else the full archive keyring
 * (bookworm's debian-archive-keyring 2023.3+deb12u2 and later carry the
 * Debian 13 keys).
 */
export function trixieKeyrings(dir = '/usr/share/keyrings'): string[] {
  const specific = ['debian-archive-trixie-automatic', 'debian-archive-trixie-stable'];
  for (const ext of ['.pgp', '.gpg']) {
    const files = specific.map((n) => join(dir, n + ext));
    if (files.every((f) => existsSync(f))) return files;
  }
  for (const n of ['debian-archive-keyring.pgp', 'debian-archive-keyring.gpg']) {
    if (existsSync(join(dir, n))) return [join(dir, n)];
  }
  throw new ImageBuildError(
    `colinux: no Debian archive keyring in ${dir} to verify Debian ${RISCV_SUITE}; ` +
      'install it with: sudo apt-get install -y debian-archive-keyring',
  );
}

export interface PrivateApt {
  root: string;
  mirror: string;
  keyrings: string[];
  /** `-o` options selecting the private configuration. */
  options: string[];
}

/** Create (or reuse) the private apt tree under `root`. */
export function privateApt(root: string): PrivateApt {
  const mirror = debianMirror();
  const keyrings = trixieKeyrings();
  const d = {
    etc: join(root, 'etc'),
    parts: join(root, 'etc', 'sources.list.d'),
    prefs: join(root, 'etc', 'preferences.d'),
    state: join(root, 'state'),
    lists: join(root, 'state', 'lists'),
    cache: join(root, 'cache'),
  };
  for (const p of [
    d.parts,
    d.prefs,
    join(d.lists, 'partial'),
    join(d.cache, 'archives', 'partial'),
  ]) {
    mkdirSync(p, { recursive: true });
  }
  const status = join(d.state, 'status');
  if (!existsSync(status)) writeFileSync(status, '');
  const sourceList = join(d.etc, 'sources.list');
  writeFileSync(
    sourceList,
    '# Private to colinux: riscv64 userland for guest images. Not used by the system apt.\n' +
      `deb [arch=${RISCV_ARCH} signed-by=${keyrings.join(',')}] ${mirror} ${RISCV_SUITE} main\n`,
  );
  const options = [
    `Dir::Etc::SourceList=${sourceList}`,
    `Dir::Etc::SourceParts=${d.parts}`,
    `Dir::Etc::Preferences=${join(d.etc, 'preferences')}`,
    `Dir::Etc::PreferencesParts=${d.prefs}`,
    `Dir::State=${d.state}`,
    `Dir::State::Lists=${d.lists}`,
    `Dir::State::status=${status}`,
    `Dir::Cache=${d.cache}`,
    `APT::Architecture=${RISCV_ARCH}`,
    `APT::Architectures=${RISCV_ARCH}`,
    'Acquire::Languages=none',
    'Acquire::AllowInsecureRepositories=false',
    'Acquire::AllowDowngradeToInsecureRepositories=false',
    'APT::Get::AllowUnauthenticated=false',
    // We download into directories only we use; as root, apt would otherwise
    // try (and warn about) dropping to the _apt user, who cannot write there.
    ...(typeof process.getuid === 'function' && process.getuid() === 0
      ? ['APT::Sandbox::User=root']
      : []),
  ].flatMap((o) => ['-o', o]);
  return { root, mirror, keyrings, options };
}

/**
 * Download one riscv64 package from trixie into `destDir` (verified by apt
 * against the signed Release file) and return the .deb path and version.
 */
export async function downloadPackage(
  apt: PrivateApt,
  pkg: string,
  destDir: string,
  logPath: string,
  progress: (line: string) => void,
): Promise<{ deb: string; version: string }> {
  const log = openLog(logPath);
  const env = toolEnv({ DEBIAN_FRONTEND: 'noninteractive' });
  try {
    progress(
      `colinux: apt (private, ${RISCV_ARCH}/${RISCV_SUITE}): updating package lists from ${apt.mirror}`,
    );
    const up = await run('apt-get', [...apt.options, 'update'], { env, log });
    const errors = up.tail.filter((l) => /^(E|W):/.test(l));
    const lists = readdirSync(join(apt.root, 'state', 'lists'));
    const haveRelease = lists.some(
      (n) =>
        n.endsWith(`_dists_${RISCV_SUITE}_InRelease`) ||
        n.endsWith(`_dists_${RISCV_SUITE}_Release`),
    );
    if (
      up.code !== 0 ||
      !haveRelease ||
      errors.some((l) => /GPG|signature|NO_PUBKEY|not signed/i.test(l))
    ) {
      throw new ImageBuildError(
        `colinux: apt could not fetch a verified Debian ${RISCV_SUITE} index for ${RISCV_ARCH} from ${apt.mirror} ` +
          `(keyring: ${apt.keyrings.join(', ')}).\n  ${up.tail.slice(-8).join('\n  ')}\n` +
          `Full log: ${logPath}`,
      );
    }
    mkdirSync(destDir, { recursive: true });
    progress(`colinux: apt: downloading ${pkg} (${RISCV_ARCH})`);
    const dl = await run('apt-get', [...apt.options, 'download', pkg], { env, log, cwd: destDir });
    const debs = readdirSync(destDir).filter((n) => n.startsWith(`${pkg}_`) && n.endsWith('.deb'));
    if (dl.code !== 0 || debs.length !== 1) {
      throw new ImageBuildError(
        `colinux: could not download ${pkg} for ${RISCV_ARCH} from Debian ${RISCV_SUITE} (${apt.mirror}).\n  ` +
          `${dl.tail.slice(-8).join('\n  ')}\nFull log: ${logPath}`,
      );
    }
    const deb = join(destDir, debs[0]!);
    const info = await run('dpkg-deb', ['-f', deb, 'Version', 'Architecture'], { env, log });
    const fields = new Map(
      info.tail.map(
        (l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()] as const,
      ),
    );
    if (info.code !== 0 || fields.get('Architecture') !== RISCV_ARCH) {
      throw new ImageBuildError(`colinux: ${deb} is not a ${RISCV_ARCH} package`);
    }
    return { deb, version: fields.get('Version') ?? 'unknown' };
  } finally {
    await closeLog(log);
  }
}

/** Unpack a .deb's data into `dir` with dpkg-deb -x. */
export async function extractDeb(deb: string, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const r = await run('dpkg-deb', ['-x', deb, dir], { env: toolEnv() });
  if (r.code !== 0) {
    throw new ImageBuildError(`colinux: dpkg-deb -x ${deb} failed:\n  ${r.tail.join('\n  ')}`);
  }
}

/**
 * Kernel .config handling: parse, merge a fragment over a base config (what
 * scripts/kconfig/merge_config.sh does), and verify that a final config has
 * every value the fragment asked for. Pure, no I/O.
 */

/** Option name (with CONFIG_ prefix) -> value; 'n' means "is not set". */
export type KconfigValues = Map<string, string>;

const SET_RE = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/;
const UNSET_RE = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/;

/** Parse .config text (or a fragment) into option -> value. Later lines win. */
export function parseKconfig(text: string): KconfigValues {
  const out: KconfigValues = new Map();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    let m = SET_RE.exec(line);
    if (m) {
      out.set(m[1]!, m[2]!);
      continue;
    }
    m = UNSET_RE.exec(line);
    if (m) out.set(m[1]!, 'n');
  }
  return out;
}

/**
 * Return `base` with every option of `fragment` set as the fragment says.
 * Like scripts/kconfig/merge_config.sh, the fragment's lines are removed
 * from their old place and appended at the end: for a Kconfig choice
 * (e.g. HZ_100 vs HZ_250) the value read last wins, so the fragment's pick
 * must come after the base's default.
 */
export function mergeKconfig(base: string, fragment: string): string {
  const want = parseKconfig(fragment);
  const render = (name: string, value: string): string =>
    value === 'n' ? `# ${name} is not set` : `${name}=${value}`;
  const lines: string[] = [];
  for (const raw of base.split('\n')) {
    const line = raw.trim();
    const m = SET_RE.exec(line) ?? UNSET_RE.exec(line);
    const name = m?.[1];
    if (name !== undefined && want.has(name)) continue;
    lines.push(raw);
  }
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  for (const [name, value] of want) lines.push(render(name, value));
  return lines.join('\n') + '\n';
}

export interface KconfigMismatch {
  option: string;
  wanted: string;
  got: string;
}

/**
 * Options of `fragment` whose value in `final` differs. An option absent
 * from `final` counts as 'n' (that is how Kconfig writes invisible symbols).
 */
export function verifyKconfig(fragment: string, final: string): KconfigMismatch[] {
  const want = parseKconfig(fragment);
  const have = parseKconfig(final);
  const bad: KconfigMismatch[] = [];
  for (const [option, wanted] of want) {
    const got = have.get(option) ?? 'n';
    if (got !== wanted) bad.push({ option, wanted, got });
  }
  return bad;
}

export function describeMismatches(bad: readonly KconfigMismatch[]): string {
  return bad
    .map((b) => `  ${b.option}: wanted ${b.wanted}, got ${b.got === 'n' ? 'n (not set)' : b.got}`)
    .join('\n');
}

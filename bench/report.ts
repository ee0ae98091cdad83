/** Medians, the side-by-side table and number formatting for the bench. */

export interface Series {
  /** One value per run (NaN for a run that produced none). */
  runs: number[];
  median: number;
  min: number;
  max: number;
}

export interface Metric {
  name: string;
  unit: string;
  /** Digits after the decimal point in the table. */
  digits: number;
  colinux: Series;
  qemu: Series;
  /** colinux median / QEMU median. */
  ratio: number;
}

export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

export function series(runs: readonly number[]): Series {
  const finite = runs.filter((x) => Number.isFinite(x));
  return {
    runs: [...runs],
    median: median(runs),
    min: finite.length ? Math.min(...finite) : NaN,
    max: finite.length ? Math.max(...finite) : NaN,
  };
}

export function metric(
  name: string,
  unit: string,
  digits: number,
  colinux: number[],
  qemu: number[],
): Metric {
  const c = series(colinux);
  const q = series(qemu);
  return { name, unit, digits, colinux: c, qemu: q, ratio: c.median / q.median };
}

function fmt(v: number, digits: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  return v.toFixed(digits);
}

export function formatRatio(r: number): string {
  if (!Number.isFinite(r)) return 'n/a';
  if (r >= 100) return `${r.toFixed(0)}×`;
  if (r >= 10) return `${r.toFixed(1)}×`;
  return `${r.toFixed(2)}×`;
}

/** A plain-text table: metric | colinux | qemu | ratio, columns padded. */
export function formatTable(metrics: readonly Metric[]): string {
  const rows: string[][] = [['metric', 'colinux', 'qemu', 'ratio (colinux/qemu)']];
  for (const m of metrics) {
    const unit = m.unit ? ` (${m.unit})` : '';
    rows.push([
      `${m.name}${unit}`,
      fmt(m.colinux.median, m.digits),
      fmt(m.qemu.median, m.digits),
      formatRatio(m.ratio),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string =>
    r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(' | ');
  const sep = widths.map((w) => '-'.repeat(w)).join('-|-');
  return [line(rows[0]!), sep, ...rows.slice(1).map(line)].join('\n');
}

export function mib(bytes: number): number {
  return bytes / 2 ** 20;
}

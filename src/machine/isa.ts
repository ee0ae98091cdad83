/**
 * Which ISA extensions a machine offers: all the core implements by
 * default; the `isa=` setting can leave some out, for software that needs
 * an older CPU. A left-out extension is missing from the device tree (so
 * Linux does not use it) and its instructions trap as illegal.
 *
 *   isa=rv64gc          only RV64GC (with the counters and Sstc Linux needs)
 *   isa=-zba,-zbb       the default without Zba and Zbb
 *   isa=rv64gc,+zbb     RV64GC plus Zbb
 */
import { SWITCHABLE_EXTENSIONS } from '../isa/instructions.js';

/**
 * Every extension, in the canonical order of ISA strings (Z by the letter
 * they extend, in the order IMAFDQLCBKJTPVH, then alphabetically; then S).
 * Zihintntl and Zihintpause are hints in encodings of ADD and FENCE that
 * run as such; Zihpm's counters read zero. Not claimed: Zkt (data-independent
 * timing), which an interpreter running on a host JIT cannot promise.
 */
const ALL = [
  'i',
  'm',
  'a',
  'f',
  'd',
  'c',
  'zicbom',
  'zicbop',
  'zicboz',
  'zicntr',
  'zicond',
  'zicsr',
  'zifencei',
  'zihintntl',
  'zihintpause',
  'zihpm',
  'zimop',
  'zawrs',
  'zcb',
  'zcmop',
  'zba',
  'zbb',
  'zbc',
  'zbs',
  'sdtrig',
  'smstateen',
  'ssstateen',
  'sstc',
  'svadu',
  'svinval',
  'svnapot',
  'svpbmt',
] as const;

/** The extensions `isa=` can leave out, with the bit the core knows each by (build/decoder.ts EXT_*). */
export const SWITCHABLE: Readonly<Record<string, number>> = Object.fromEntries(
  SWITCHABLE_EXTENSIONS.map((e, i) => [e.toLowerCase(), 2 ** i]),
);

export const ISA_FORMS = 'rv64gc, or rv64gc/max followed by +EXT / -EXT items, e.g. isa=-zba,-zbb';

export class IsaError extends Error {
  override name = 'IsaError';
}

/** The extensions an `isa=` value leaves out (sorted), or an IsaError naming the problem. */
export function parseIsa(text: string): string[] {
  const items = text
    .toLowerCase()
    .split(',')
    .map((s) => s.trim());
  const off = new Set<string>();
  const known = Object.keys(SWITCHABLE);
  items.forEach((item, i) => {
    if (i === 0 && (item === 'rv64gc' || item === 'max')) {
      if (item === 'rv64gc') known.forEach((k) => off.add(k));
      return;
    }
    const m = /^([+-])([a-z0-9]+)$/.exec(item);
    if (!m) {
      throw new IsaError(
        item === ''
          ? `an empty item; use ${ISA_FORMS}`
          : `"${item}" is not an extension change; use ${ISA_FORMS}`,
      );
    }
    const name = m[2]!;
    if (SWITCHABLE[name] === undefined) {
      throw new IsaError(
        `${name}: ${(ALL as readonly string[]).includes(name) ? 'always present' : 'not an extension colinux implements'}; the ones that can be left out are ${known.join(', ')}`,
      );
    }
    if (m[1] === '-') off.add(name);
    else off.delete(name);
  });
  return [...off].sort();
}

/** The device tree's `riscv,isa` and `riscv,isa-extensions` without `disabled`. */
export function isaStrings(disabled: readonly string[] = []): {
  isa: string;
  extensions: string[];
} {
  const extensions = ALL.filter((e) => !disabled.includes(e));
  const single = extensions.filter((e) => e.length === 1).join('');
  const multi = extensions.filter((e) => e.length > 1);
  return { isa: ['rv64' + single, ...multi].join('_'), extensions };
}

/** The core's mask of left-out extensions. */
export function disabledMask(disabled: readonly string[]): number {
  return disabled.reduce((m, e) => m | (SWITCHABLE[e] ?? 0), 0);
}

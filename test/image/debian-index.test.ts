/**
 * The Debian build's package-index trim (src/backends/image/debian.ts): the
 * second stage's copy of the index keeps exactly the stanzas of the
 * packages the first stage downloaded, whole and in order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trimPackageIndex } from '../../src/backends/image/debian.js';

const stanza = (name: string, extra = ''): string =>
  `Package: ${name}\nVersion: 1.0\nArchitecture: riscv64\n${extra}Description: ${name}\n  more text\n`;

test('the package index keeps only the downloaded packages, whole', () => {
  const root = mkdtempSync(join(tmpdir(), 'colinux-debidx-'));
  try {
    mkdirSync(join(root, 'debootstrap'));
    const lists = join(root, 'var', 'lib', 'apt', 'lists');
    mkdirSync(lists, { recursive: true });
    writeFileSync(
      join(root, 'debootstrap', 'debpaths'),
      'dpkg /var/cache/apt/archives/dpkg_1.0_riscv64.deb\nlibc6 /var/cache/apt/archives/libc6_1.0_riscv64.deb\n',
    );
    const index = [
      stanza('aaa-unused'),
      stanza('dpkg', 'Pre-Depends: libc6 (>= 2.38)\n'),
      stanza('libc6-dev'), // a name that only starts like a wanted one
      stanza('libc6'),
      stanza('zzz-unused'),
    ].join('\n');
    const file = join(lists, 'mirror_dists_trixie_main_binary-riscv64_Packages');
    writeFileSync(file, index);
    writeFileSync(join(lists, 'mirror_dists_trixie_Release'), 'Origin: Debian\n');
    const r = trimPackageIndex(root);
    const out = readFileSync(file, 'utf8');
    assert.equal(
      out,
      stanza('dpkg', 'Pre-Depends: libc6 (>= 2.38)\n') + '\n' + stanza('libc6') + '\n',
    );
    assert.deepEqual(r, { before: index.length, after: out.length, kept: 2 });
    // Only Packages files are touched.
    assert.equal(
      readFileSync(join(lists, 'mirror_dists_trixie_Release'), 'utf8'),
      'Origin: Debian\n',
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

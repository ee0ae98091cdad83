import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  parseDeb822Sources,
  parseOneLineSources,
  pickDebianMirror,
} from '../../src/backends/image/apt.js';

// Host names here are placeholders (example.org), never real mirrors.
const deb822 = `Types: deb
# a comment
URIs: http://mirror.example.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example.org/debian-security
Suites: bookworm-security
Components: main

Types: deb-src
URIs: http://src.example.org/debian
Suites: bookworm
Components: main
`;

test('deb822: main archive chosen, security and deb-src ignored', () => {
  const s = parseDeb822Sources(deb822);
  assert.equal(s.length, 3);
  assert.deepEqual(s[0]!.suites, ['bookworm', 'bookworm-updates']);
  assert.equal(pickDebianMirror(s), 'http://mirror.example.org/debian');
});

test('deb822: disabled stanzas and embedded keys', () => {
  const text = `Types: deb
URIs: http://off.example.org/debian
Suites: trixie
Components: main
Enabled: no

Types: deb
URIs: https://on.example.org/debian/
Suites: bookworm
Components: main
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 abc
 -----END PGP PUBLIC KEY BLOCK-----
`;
  assert.equal(pickDebianMirror(parseDeb822Sources(text)), 'https://on.example.org/debian');
});

test('one-line format with options; non-Debian repositories ignored', () => {
  const text = `# comment
deb [arch=amd64 signed-by=/k.gpg] https://packages.example.com/apt cloud-sdk main
deb http://mirror.example.org/debian-security bookworm-security main
deb http://ftp.example.org/debian/ bookworm main contrib
deb-src http://ftp.example.org/debian/ bookworm main
`;
  const s = parseOneLineSources(text);
  assert.equal(s.length, 4);
  assert.equal(pickDebianMirror(s), 'http://ftp.example.org/debian');
});

test('no Debian archive at all', () => {
  const s = parseOneLineSources('deb https://packages.example.com/apt stable-ish main\n');
  assert.equal(pickDebianMirror(s), undefined);
});

/**
 * The one instruction table (src/isa/instructions.ts) and the decoder the
 * build generates from it (build/decoder.ts, in the core): the table is
 * consistent, and the core's decoder (which the interpreter dispatches on and
 * the translator calls) names exactly the entry a plain scan of the table
 * finds, for every entry and for random encodings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INSTRUCTIONS, type Instruction } from '../../src/isa/instructions.js';
import { Hart } from '../../src/machine/core.js';

const hart = new Hart(1 << 20, { mmioRead: () => 0, mmioWrite: () => {}, time: () => 0 });
const decodeInsn = (inst: number): number => hart.x.decodeInsn(inst);

/** The reference: the index + 1 of the entry whose fixed bits `inst` has, 0 if none. */
function scan(inst: number): number {
  for (let i = 0; i < INSTRUCTIONS.length; i++) {
    const e = INSTRUCTIONS[i]!;
    if ((inst & e.mask) >>> 0 === e.match) return i + 1;
  }
  return 0;
}

/** A pseudo-random 32-bit stream (xorshift), so a failure repeats. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
}

const show = (e: Instruction): string =>
  `${e.name} (mask ${e.mask.toString(16)}, match ${e.match.toString(16)})`;

test('instruction table: unique names, matches inside masks, opcodes covered', () => {
  const names = new Set<string>();
  for (const e of INSTRUCTIONS) {
    assert.ok(!names.has(e.name), `${e.name} twice`);
    names.add(e.name);
    assert.equal((e.match & ~e.mask) >>> 0, 0, `${show(e)}: match has bits outside the mask`);
    assert.equal(e.mask & 0x7f, 0x7f, `${show(e)}: the mask must cover the opcode`);
    assert.equal(e.match & 3, 3, `${show(e)}: a 32-bit encoding ends in binary 11`);
  }
  // RV64GC's base and the privileged instructions are all there.
  for (const n of [
    'ADDI',
    'LD',
    'SD',
    'MULHSU',
    'AMOMAXU_D',
    'FMADD_D',
    'FCVT_S_D',
    'CSRRCI',
    'SFENCE_VMA',
    'WFI',
  ])
    assert.ok(names.has(n), `${n} missing`);
});

test('instruction table: no encoding is two instructions', () => {
  for (let i = 0; i < INSTRUCTIONS.length; i++) {
    for (let j = i + 1; j < INSTRUCTIONS.length; j++) {
      const a = INSTRUCTIONS[i]!;
      const b = INSTRUCTIONS[j]!;
      // Two patterns overlap unless a bit both fix differs.
      const overlap = (a.mask & b.mask & (a.match ^ b.match)) >>> 0 === 0;
      assert.ok(!overlap, `${show(a)} and ${show(b)} both match some encoding`);
    }
  }
});

test("the core's decoder finds every table entry, whatever its free bits", () => {
  const next = random(12345);
  INSTRUCTIONS.forEach((e, i) => {
    assert.equal(decodeInsn(e.match), i + 1, `${show(e)} itself`);
    for (let k = 0; k < 200; k++) {
      const inst = ((e.match | (next() & ~e.mask)) >>> 0) | 0;
      assert.equal(
        decodeInsn(inst),
        i + 1,
        `${show(e)} with free bits: ${(inst >>> 0).toString(16)}`,
      );
    }
  });
});

test("the core's decoder agrees with a scan of the table on random encodings (illegal ones too)", () => {
  const next = random(987654321);
  let legal = 0;
  for (let k = 0; k < 300_000; k++) {
    let inst = (next() | 3) >>> 0;
    // Half of them with a major opcode the table uses, so that most fields get exercised.
    if (k % 2 === 0)
      inst = ((inst & ~0x7f) | (INSTRUCTIONS[k % INSTRUCTIONS.length]!.match & 0x7f)) >>> 0;
    const want = scan(inst);
    if (want) legal++;
    assert.equal(decodeInsn(inst | 0), want, `encoding ${inst.toString(16)}`);
  }
  assert.ok(legal > 10_000, `only ${legal} legal encodings drawn`);
  // Compressed encodings are expanded before decoding: the decoder refuses them.
  assert.equal(decodeInsn(0x4501), 0);
});

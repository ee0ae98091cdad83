/**
 * The snapshot file: a small JSON header that describes the machine, then
 * binary sections (the hart's state, guest RAM), each with its length and
 * CRC-32 in the header.
 *
 *     offset 0   8 bytes  magic "COLXSNAP"
 *            8   u32      container format (FORMAT_VERSION)
 *           12   u32      header length H
 *           16   u32      CRC-32 of the header
 *           20   H bytes  header, UTF-8 JSON; `sections` lists the sections
 *         20+H            the sections' bytes, back to back, in that order
 *
 * All numbers little-endian. The file is input from outside: every length
 * is checked against the file before it is used, sections must account for
 * every byte after the header, and a CRC mismatch refuses the file.
 *
 * A file may end in a section named `seal` with no CRC (`crc32: null`): a
 * message authentication code over every byte before it (seal.ts), which
 * its reader checks instead. Only the last section may be one.
 */
import { crc32 } from './crc32.js';

export const MAGIC = 'COLXSNAP';
export const FORMAT_VERSION = 1;
/** Headers are a few KiB; anything near this is not a snapshot. */
const MAX_HEADER_BYTES = 16 * 2 ** 20;
const PREFIX_BYTES = 20;

/** A snapshot that cannot be read: damaged, truncated, or not a snapshot at all. */
export class SnapshotError extends Error {
  override name = 'SnapshotError';
}

export interface SectionEntry {
  name: string;
  length: number;
  crc32: number;
}

export interface Container {
  /** The header's fields other than `sections`. */
  header: Record<string, unknown>;
  sections: Map<string, Uint8Array>;
  /** The trailing seal, if the file has one, and the bytes it covers. */
  seal?: { code: Uint8Array; covered: Uint8Array };
}

/** Name of the section that holds a file's seal. */
export const SEAL_SECTION = 'seal';

/**
 * Lay out a header and its sections as one file. With `sealBytes`, the file
 * ends in that many zero bytes of a `seal` section, for the caller to fill.
 */
export function writeContainer(
  header: Record<string, unknown>,
  sections: ReadonlyArray<[string, Uint8Array]>,
  sealBytes = 0,
): Uint8Array {
  const entries: Array<SectionEntry | { name: string; length: number; crc32: null }> = sections.map(
    ([name, bytes]) => ({ name, length: bytes.length, crc32: crc32(bytes) }),
  );
  if (sealBytes > 0) entries.push({ name: SEAL_SECTION, length: sealBytes, crc32: null });
  const json = new TextEncoder().encode(JSON.stringify({ ...header, sections: entries }));
  const total =
    PREFIX_BYTES + json.length + sections.reduce((n, [, b]) => n + b.length, 0) + sealBytes;
  const out = new Uint8Array(total);
  out.set(new TextEncoder().encode(MAGIC), 0);
  const dv = new DataView(out.buffer);
  dv.setUint32(8, FORMAT_VERSION, true);
  dv.setUint32(12, json.length, true);
  dv.setUint32(16, crc32(json), true);
  out.set(json, PREFIX_BYTES);
  let at = PREFIX_BYTES + json.length;
  for (const [, bytes] of sections) {
    out.set(bytes, at);
    at += bytes.length;
  }
  return out;
}

/** Parse and check a file made by writeContainer (views into `file`, no copies). */
export function readContainer(file: Uint8Array): Container {
  if (file.length < PREFIX_BYTES || new TextDecoder().decode(file.subarray(0, 8)) !== MAGIC) {
    throw new SnapshotError('not a colinux snapshot (no COLXSNAP signature at its start)');
  }
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const format = dv.getUint32(8, true);
  if (format !== FORMAT_VERSION) {
    throw new SnapshotError(
      `snapshot container format ${format}; this colinux reads format ${FORMAT_VERSION}`,
    );
  }
  const headerLength = dv.getUint32(12, true);
  if (headerLength > MAX_HEADER_BYTES || PREFIX_BYTES + headerLength > file.length) {
    throw new SnapshotError('the snapshot is truncated (its header runs past the end)');
  }
  const json = file.subarray(PREFIX_BYTES, PREFIX_BYTES + headerLength);
  if (crc32(json) !== dv.getUint32(16, true)) {
    throw new SnapshotError('the snapshot is damaged (its header fails its CRC check)');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch {
    throw new SnapshotError('the snapshot header is damaged (not JSON)');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SnapshotError('the snapshot header is damaged (not an object)');
  }
  const { sections: list, ...header } = parsed as Record<string, unknown>;
  if (!Array.isArray(list)) throw new SnapshotError('the snapshot header lists no sections');
  const sections = new Map<string, Uint8Array>();
  let at = PREFIX_BYTES + headerLength;
  let seal: Container['seal'];
  for (const [i, e] of (list as unknown[]).entries()) {
    const s = e as Partial<SectionEntry> | null;
    if (
      s?.name === SEAL_SECTION &&
      s.crc32 === null &&
      i === list.length - 1 &&
      Number.isSafeInteger(s.length) &&
      s.length! > 0 &&
      at + s.length! === file.length
    ) {
      seal = { code: file.subarray(at), covered: file.subarray(0, at) };
      at = file.length;
      break;
    }
    if (
      typeof s?.name !== 'string' ||
      !Number.isSafeInteger(s.length) ||
      s.length! < 0 ||
      !Number.isInteger(s.crc32) ||
      sections.has(s.name)
    ) {
      throw new SnapshotError('the snapshot header is damaged (a bad section entry)');
    }
    if (at + s.length! > file.length) {
      throw new SnapshotError(`the snapshot is truncated (section ${s.name} runs past the end)`);
    }
    const bytes = file.subarray(at, at + s.length!);
    if (crc32(bytes) !== s.crc32! >>> 0) {
      throw new SnapshotError(`the snapshot is damaged (section ${s.name} fails its CRC check)`);
    }
    sections.set(s.name, bytes);
    at += s.length!;
  }
  if (at !== file.length) {
    throw new SnapshotError(`the snapshot has ${file.length - at} unexpected bytes at its end`);
  }
  return { header, sections, ...(seal ? { seal } : {}) };
}

/** A minimal 9P2000.L client for driving a P9Server directly in tests. */
import assert from 'node:assert/strict';
import {
  bytesOf,
  encodeMessage,
  LAYOUTS,
  nameOf,
  type MsgBody,
  type MsgName,
  NOFID,
  NONUNAME,
  type Qid,
} from '../../src/fs/9p-protocol.js';
import type { P9Server } from '../../src/fs/9p-server.js';

type TName = Extract<MsgName, `T${string}`>;
type RName<T extends TName> = T extends `T${infer R}` ? Extract<MsgName, `R${R}`> : never;

/** Decode any message (T or R) the way the server decodes requests, for tests. */
export function decodeAny(buf: Uint8Array): { op: MsgName; tag: number } & Record<string, unknown> {
  // decodeMessage only accepts T-messages; flip the type to reuse its layout walker.
  const type = buf[4]!;
  const name = nameOf(type);
  assert.ok(name, `unknown reply type ${type}`);
  const fields = (
    LAYOUTS as unknown as Record<number, readonly [string, readonly (readonly [string, string])[]]>
  )[type]![1];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let p = 7;
  const out: Record<string, unknown> = { op: name, tag: dv.getUint16(5, true) };
  const qid = (): Qid => {
    const q = {
      type: dv.getUint8(p),
      version: dv.getUint32(p + 1, true),
      path: dv.getBigUint64(p + 5, true),
    };
    p += 13;
    return q;
  };
  for (const [f, kind] of fields) {
    switch (kind) {
      case 'u8':
        out[f] = dv.getUint8(p);
        p += 1;
        break;
      case 'u16':
        out[f] = dv.getUint16(p, true);
        p += 2;
        break;
      case 'u32':
        out[f] = dv.getUint32(p, true);
        p += 4;
        break;
      case 'u64':
        out[f] = dv.getBigUint64(p, true);
        p += 8;
        break;
      case 'str': {
        const n = dv.getUint16(p, true);
        out[f] = buf.slice(p + 2, p + 2 + n);
        p += 2 + n;
        break;
      }
      case 'data': {
        const n = dv.getUint32(p, true);
        out[f] = buf.slice(p + 4, p + 4 + n);
        p += 4 + n;
        break;
      }
      case 'qid':
        out[f] = qid();
        break;
      case 'qids': {
        const n = dv.getUint16(p, true);
        p += 2;
        out[f] = Array.from({ length: n }, qid);
        break;
      }
      default:
        throw new Error(`kind ${kind}`);
    }
  }
  assert.equal(p, dv.getUint32(0, true), `${name}: size field matches the body`);
  assert.equal(p, buf.length, `${name}: reply length matches its size field`);
  return out as { op: MsgName; tag: number } & Record<string, unknown>;
}

export class P9Failure extends Error {
  constructor(readonly errno: number) {
    super(`Rlerror ${errno}`);
  }
}

export interface DirEntry {
  qid: Qid;
  offset: bigint;
  type: number;
  name: string;
}

export function parseDirents(data: Uint8Array): DirEntry[] {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out: DirEntry[] = [];
  let p = 0;
  while (p < data.length) {
    const qid = {
      type: dv.getUint8(p),
      version: dv.getUint32(p + 1, true),
      path: dv.getBigUint64(p + 5, true),
    };
    const offset = dv.getBigUint64(p + 13, true);
    const type = dv.getUint8(p + 21);
    const n = dv.getUint16(p + 22, true);
    out.push({
      qid,
      offset,
      type,
      name: Buffer.from(data.subarray(p + 24, p + 24 + n)).toString(),
    });
    p += 24 + n;
  }
  return out;
}

export class TestClient {
  private nextTag = 1;
  private nextFid = 100;

  constructor(readonly server: P9Server) {}

  /** Send raw bytes, get the decoded reply. */
  async raw(
    bytes: Uint8Array,
    maxReply?: number,
  ): Promise<{ op: MsgName; tag: number } & Record<string, unknown>> {
    const reply = await this.server.handle(bytes, maxReply);
    return decodeAny(reply);
  }

  /** Send a T-message; resolve with the R body, or reject with P9Failure on Rlerror. */
  async rpc<T extends TName>(name: T, body: MsgBody<T>): Promise<MsgBody<RName<T>>> {
    const tag = this.nextTag++ & 0x7fff;
    const r = await this.raw(encodeMessage(name, tag, body));
    assert.equal(r.tag, tag, 'reply tag');
    if (r.op === 'Rlerror') throw new P9Failure(r.ecode as number);
    assert.equal(r.op, 'R' + name.slice(1), `reply to ${name}`);
    return r as unknown as MsgBody<RName<T>>;
  }

  /** The errno of a request that must fail. */
  async errno<T extends TName>(name: T, body: MsgBody<T>): Promise<number> {
    try {
      await this.rpc(name, body);
    } catch (e) {
      if (e instanceof P9Failure) return e.errno;
      throw e;
    }
    assert.fail(`${name} succeeded but should have failed`);
  }

  fid(): number {
    return this.nextFid++;
  }

  async connect(msize = 512 * 1024): Promise<number> {
    await this.rpc('Tversion', { msize, version: bytesOf('9P2000.L') });
    const root = this.fid();
    await this.rpc('Tattach', {
      fid: root,
      afid: NOFID,
      uname: bytesOf('root'),
      aname: bytesOf(''),
      nUname: NONUNAME,
    });
    return root;
  }

  async walk(from: number, ...names: string[]): Promise<number> {
    const fid = this.fid();
    const r = await this.rpc('Twalk', { fid: from, newfid: fid, wnames: names.map(bytesOf) });
    if (r.wqids.length !== names.length) throw new P9Failure(2);
    return fid;
  }

  async clunk(fid: number): Promise<void> {
    await this.rpc('Tclunk', { fid });
  }

  async readAll(fid: number, chunk = 65536): Promise<Buffer> {
    const parts: Uint8Array[] = [];
    let off = 0n;
    for (;;) {
      const r = await this.rpc('Tread', { fid, offset: off, count: chunk });
      if (r.data.length === 0) break;
      parts.push(r.data);
      off += BigInt(r.data.length);
    }
    return Buffer.concat(parts);
  }

  async readdirAll(fid: number, count = 8192): Promise<DirEntry[]> {
    const out: DirEntry[] = [];
    let off = 0n;
    for (;;) {
      const r = await this.rpc('Treaddir', { fid, offset: off, count });
      const ents = parseDirents(r.data);
      if (ents.length === 0) break;
      out.push(...ents);
      off = ents[ents.length - 1]!.offset;
    }
    return out;
  }
}

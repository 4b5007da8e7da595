import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BLOCK, ScapFormatError, openCaptureBytes, readBlocks } from './blocks.js';
import { concatBlocks, encodeBlock, encodeEvent, encodeSectionHeader, P } from './writer.js';

async function collect(
  bytes: Uint8Array,
  chunk = 7,
): Promise<{ type: number; offset: number; len: number }[]> {
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
  }
  const out: { type: number; offset: number; len: number }[] = [];
  for await (const b of readBlocks(chunks()))
    out.push({ type: b.type, offset: b.offset, len: b.body.length });
  return out;
}

async function failure(bytes: Uint8Array): Promise<ScapFormatError> {
  try {
    await collect(bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(ScapFormatError);
    return err as ScapFormatError;
  }
  throw new Error('expected a ScapFormatError');
}

const event = encodeEvent({ ts: 1n, tid: 42, type: 5, params: [P.i64(0)] });
const capture = concatBlocks([encodeSectionHeader(), event, encodeBlock(0x777, Uint8Array.of(1, 2, 3, 4))]);

describe('readBlocks', () => {
  it('splits a stream into blocks whatever the chunking', async () => {
    for (const chunk of [1, 5, 64, 4096]) {
      const blocks = await collect(capture, chunk);
      expect(blocks.map((b) => b.type)).toEqual([BLOCK.SHB, BLOCK.EV_V2, 0x777]);
      expect(blocks[1]?.offset).toBe(28);
      expect(blocks[2]?.len).toBe(4);
    }
  });

  it('reports truncation with the offset of the cut block', async () => {
    const err = await failure(capture.subarray(0, 28 + 20));
    expect(err.offset).toBe(28);
    expect(err.message).toMatch(/truncated block of type 0x216/);
  });

  it('reports a cut block header', async () => {
    const err = await failure(capture.subarray(0, 28 + 5));
    expect(err.message).toMatch(/truncated block header: 5 of 8 bytes/);
    expect(err.offset).toBe(28);
  });

  it('rejects a trailer that does not match the header', async () => {
    const bad = capture.slice();
    bad[28 + event.length - 4] = 0xff;
    const err = await failure(bad);
    expect(err.message).toMatch(/trailer length/);
    expect(err.offset).toBe(28);
  });

  it('rejects files that are not captures, big-endian captures and other major versions', async () => {
    expect((await failure(event)).message).toMatch(/not a scap capture/);
    const swapped = encodeSectionHeader();
    swapped.set([0x1a, 0x2b, 0x3c, 0x4d], 8);
    expect((await failure(swapped)).message).toMatch(/big-endian/);
    const v2 = encodeSectionHeader();
    v2[12] = 2;
    expect((await failure(v2)).message).toMatch(/major version 2/);
  });

  it('rejects impossible lengths instead of allocating them', async () => {
    const bad = capture.slice();
    new DataView(bad.buffer).setUint32(28 + 4, 0xfffffff0, true);
    expect((await failure(bad)).message).toMatch(/implausible length/);
    new DataView(bad.buffer).setUint32(28 + 4, 4, true);
    expect((await failure(bad)).message).toMatch(/shorter than a block header/);
  });
});

describe('openCaptureBytes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-scap-'));

  async function read(path: string): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for await (const c of openCaptureBytes(path)) parts.push(c);
    return Uint8Array.from(Buffer.concat(parts));
  }

  it('reads plain and gzip files alike', async () => {
    writeFileSync(join(dir, 'plain.scap'), capture);
    writeFileSync(join(dir, 'gz.scap'), gzipSync(capture));
    expect(await read(join(dir, 'plain.scap'))).toEqual(capture);
    expect(await read(join(dir, 'gz.scap'))).toEqual(capture);
  });

  it('turns a cut gzip stream into a ScapFormatError', async () => {
    const gz = gzipSync(capture);
    writeFileSync(join(dir, 'cut.scap'), gz.subarray(0, gz.length - 12));
    await expect(read(join(dir, 'cut.scap'))).rejects.toBeInstanceOf(ScapFormatError);
  });

  it('gives nothing for an empty file', async () => {
    writeFileSync(join(dir, 'empty.scap'), new Uint8Array(0));
    expect((await read(join(dir, 'empty.scap'))).length).toBe(0);
  });
});

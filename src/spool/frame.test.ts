import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FRAME_HEADER_BYTES, encodeFrame, frameSeq, scanFrames } from './frame.js';

function payloadsOf(buf: Buffer, start = 0, end = buf.length, maxRecords?: number, maxBytes?: number) {
  const out: { text: string; seq: number }[] = [];
  const r = scanFrames(buf, start, end, maxRecords, maxBytes, (s, e, seq) =>
    out.push({ text: buf.subarray(s, e).toString('utf8'), seq }),
  );
  return { ...r, out };
}

describe('frames', () => {
  it('round-trips payloads and sequence numbers beyond 32 bits', () => {
    const seqs = [1, 2, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER];
    const texts = ['{"a":1}', '{"é":"☃"}', 'x'.repeat(70_000), '{}'];
    const buf = Buffer.concat(seqs.map((s, i) => encodeFrame(s, texts[i] as string)));
    const r = payloadsOf(buf);
    expect(r.stop).toBe('end');
    expect(r.end).toBe(buf.length);
    expect(r.records).toBe(4);
    expect(r.firstSeq).toBe(1);
    expect(r.lastSeq).toBe(Number.MAX_SAFE_INTEGER);
    expect(r.out).toEqual(seqs.map((seq, i) => ({ seq, text: texts[i] })));
    expect(frameSeq(buf, 0)).toBe(1);
  });

  it('stops at a frame whose CRC does not match (payload or sequence number altered)', () => {
    const frames = [encodeFrame(1, 'one'), encodeFrame(2, 'two'), encodeFrame(3, 'three')];
    for (const at of [FRAME_HEADER_BYTES + 1, 8]) {
      const buf = Buffer.concat(frames);
      const second = (frames[0] as Buffer).length;
      buf[second + at] = (buf[second + at] as number) ^ 0x40;
      const r = payloadsOf(buf);
      expect(r.stop).toBe('corrupt');
      expect(r.records).toBe(1);
      expect(r.end).toBe(second);
    }
  });

  it('reports a frame cut short as partial, with its declared length', () => {
    const a = encodeFrame(7, 'seven');
    const b = encodeFrame(8, 'eight-eight');
    const buf = Buffer.concat([a, b]);
    const cutInPayload = payloadsOf(buf, 0, buf.length - 3);
    expect(cutInPayload).toMatchObject({ stop: 'partial', records: 1, end: a.length, nextLength: 11 });
    const cutInHeader = payloadsOf(buf, 0, a.length + 5);
    expect(cutInHeader).toMatchObject({ stop: 'partial', records: 1, end: a.length, nextLength: 0 });
  });

  it('treats zero-filled space (a power cut extended the file) as corrupt, not as records', () => {
    const buf = Buffer.concat([encodeFrame(1, 'x'), Buffer.alloc(64)]);
    expect(payloadsOf(buf)).toMatchObject({ stop: 'corrupt', records: 1 });
  });

  it('honours maxRecords and maxBytes, always taking a whole first frame', () => {
    const buf = Buffer.concat([1, 2, 3, 4].map((s) => encodeFrame(s, 'p'.repeat(100))));
    expect(payloadsOf(buf, 0, buf.length, 2).records).toBe(2);
    expect(payloadsOf(buf, 0, buf.length, 10, 2 * 116).records).toBe(2);
    expect(payloadsOf(buf, 0, buf.length, 10, 2 * 116 - 1).records).toBe(1);
    expect(payloadsOf(buf, 0, buf.length, 10, 1).records).toBe(1);
  });

  it('any prefix of a frame stream scans to the whole frames it contains (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ minLength: 1, maxLength: 50 }), { minLength: 1, maxLength: 20 }),
        fc.nat(),
        (texts, cutSeed) => {
          const frames = texts.map((t, i) => encodeFrame(i + 1, t));
          const buf = Buffer.concat(frames);
          const cut = cutSeed % (buf.length + 1);
          const r = payloadsOf(buf, 0, cut);
          let whole = 0;
          let end = 0;
          for (const f of frames) {
            if (end + f.length > cut) break;
            end += f.length;
            whole++;
          }
          expect(r.records).toBe(whole);
          expect(r.end).toBe(end);
          expect(r.stop).toBe(end === cut ? 'end' : 'partial');
          expect(r.out.map((o) => o.text)).toEqual(texts.slice(0, whole));
        },
      ),
    );
  });
});

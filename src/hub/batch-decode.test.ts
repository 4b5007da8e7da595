/**
 * Ingest body decoding: the per-alert scan gives exactly what parsing the whole body gives, and
 * every refusal names what is wrong, with the message of the whole-body parse.
 */
import { describe, expect, it } from 'vitest';
import { encodeAlert } from '../store/alert-row.js';
import { decodeAlertBatch } from './batch-decode.js';
import { scanAlertBatch } from './batch-scan.js';
import { alertFromWire, type WireAlert } from './wire.js';

const enc = (s: string): Buffer => Buffer.from(s, 'utf8');

function wire(i: number, extra: Partial<WireAlert> = {}): WireAlert {
  return {
    id: `a${i}`,
    time: String(1_700_000_000_000_000_000n + BigInt(i)),
    rule: 'Read {sensitive} "file" [x]',
    priority: 'Warning',
    source: 'syscall',
    hostname: 'h',
    output: `opened /etc/shadow by cat \\ "quoted" {braces} [brackets] ü ${i}`,
    output_fields: { 'proc.name': 'cat', 'fd.name': '/etc/shadow', n: i, nested: { a: [1, '}'] } },
    tags: ['filesystem', 'T1555'],
    ...extra,
  };
}

describe('scanAlertBatch', () => {
  it('finds each alert of {"alerts":[…]} whatever the spacing and string contents', () => {
    const alerts = [wire(1), wire(2), wire(3)];
    for (const body of [
      JSON.stringify({ alerts }),
      JSON.stringify({ alerts }, null, 2),
      ` \n{ "alerts" :\t[ ${alerts.map((a) => JSON.stringify(a)).join(' ,\n ')} ] }\n`,
    ]) {
      const b = enc(body);
      const ranges = scanAlertBatch(b)!;
      expect(ranges).toHaveLength(6);
      const back = [0, 1, 2].map(
        (k) => JSON.parse(b.toString('utf8', ranges[2 * k], ranges[2 * k + 1])) as unknown,
      );
      expect(back).toEqual(alerts);
    }
    expect(scanAlertBatch(enc('{"alerts":[]}'))).toEqual([]);
  });

  it('leaves every other shape to the whole-body parse', () => {
    for (const body of [
      '',
      '[]',
      '{}',
      '{"alerts":{}}',
      '{"alerts":[1,2],"extra":true}',
      '{"x":1,"alerts":[]}',
      '{"alerts":[{"a":1}',
      '{"alerts":[{"a":"}]}',
      '{"alerts":[{"a":1},]}',
      '{"alerts":[{"a":1} {"b":2}]}',
      '{"alerts":[]} x',
      '{"alerts":[{"a":"\n"}]}',
    ]) {
      expect(scanAlertBatch(enc(body)), body).toBeUndefined();
    }
  });
});

describe('decodeAlertBatch', () => {
  it('gives the rows of encodeAlert(alertFromWire(…)) for every alert', () => {
    const alerts = Array.from({ length: 50 }, (_, i) => wire(i));
    const r = decodeAlertBatch(enc(JSON.stringify({ alerts })), 1000);
    expect(r.ok).toBe(true);
    expect(r.ok && r.rows).toEqual(alerts.map((a) => encodeAlert(alertFromWire(a, 'x'))));
  });

  it('refuses with the whole-body message: invalid JSON, wrong shape, too many, an invalid alert', () => {
    const badJson = '{"alerts":[{"id":"a1",}]}';
    let wholeMessage = '';
    try {
      JSON.parse(badJson);
    } catch (e) {
      wholeMessage = (e as Error).message;
    }
    expect(decodeAlertBatch(enc(badJson), 10)).toEqual({
      ok: false,
      status: 400,
      reason: 'invalid',
      message: `body is not valid JSON: ${wholeMessage}`,
    });
    expect(decodeAlertBatch(enc('{"alerts":5}'), 10)).toMatchObject({
      status: 400,
      message: 'body: must be an object {"alerts":[…]}',
    });
    const three = JSON.stringify({ alerts: [wire(1), wire(2), wire(3)] });
    expect(decodeAlertBatch(enc(three), 2)).toEqual({
      ok: false,
      status: 413,
      reason: 'too_large',
      message: 'alerts: 3 alerts in one request; at most 2 per request',
    });
    const badTime = JSON.stringify({ alerts: [wire(1), wire(2, { time: 'soon' })] });
    const r = decodeAlertBatch(enc(badTime), 10);
    expect(r).toMatchObject({ ok: false, status: 400, reason: 'invalid' });
    expect(!r.ok && r.message).toMatch(/^alerts\[1\]\.time: /);
  });
});

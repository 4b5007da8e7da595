/**
 * The ingest fast path (alert-params.ts, `decodeAlertParams`) must give exactly the row parameters of
 * the general path — `rowParams(encodeAlert(alertFromWire(JSON.parse(…))))` for each alert — or the
 * same refusal, whatever the body: alerts as agents send them, alerts the fast path leaves to the
 * general one, and broken bodies.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PRIORITIES } from '../engine/rules/index.js';
import { rowParams } from '../store/sqlite/sql.js';
import type { StoredAlert } from '../store/store.js';
import { appendAlertParams } from './alert-params.js';
import { decodeAlertBatch, decodeAlertParams, type ParamsBatch } from './batch-decode.js';
import { alertToWire } from './wire.js';

/** The general path: rows, then the writer's parameters. */
function reference(body: Buffer, maxBatch = 1000): ParamsBatch {
  const d = decodeAlertBatch(body, maxBatch);
  if (!d.ok) return d;
  const params: unknown[] = [];
  for (const r of d.rows) rowParams(r, params);
  return { ok: true, params, rows: d.rows.length };
}

function expectSame(body: Buffer, maxBatch = 1000): ParamsBatch {
  const fast = decodeAlertParams(body, maxBatch);
  expect(fast).toStrictEqual(reference(body, maxBatch));
  return fast;
}

const enc = (s: string): Buffer => Buffer.from(s, 'utf8');
const bodyOf = (alerts: unknown[]): Buffer => enc(JSON.stringify({ alerts }));

function stored(i: number, over: Partial<StoredAlert> = {}): StoredAlert {
  return {
    id: `ip-10-0-0-${i % 7}.ec2.internal:b1:${String(i).padStart(9, '0')}`,
    time: 1_732_000_000_000_000_000n + BigInt(i),
    rule: 'Read sensitive file untrusted',
    priority: 'WARNING',
    source: 'syscall',
    hostname: `ip-10-0-0-${i % 7}.ec2.internal`,
    output: `Sensitive file opened for reading (user=root command=cat /etc/shadow pid=${i})`,
    outputFields: {
      'evt.type': 'openat',
      'user.name': 'root',
      'user.loginuid': -1,
      'proc.pid': 1000 + i,
      'fd.name': '/etc/shadow',
      'container.id': 'a1b2c3d4e5f6',
      'container.name': 'nginx-1',
      'k8s.ns.name': 'payments',
      'k8s.pod.name': null,
      'evt.rawtime': 1_732_000_000_000_000_000n + BigInt(i),
    },
    tags: ['maturity_stable', 'filesystem', 'T1555'],
    ...over,
  };
}

/** A wire alert as a JSON-ready object (what an agent serialises). */
const wire = (a: StoredAlert): Record<string, unknown> =>
  alertToWire(a) as unknown as Record<string, unknown>;

/** Whether the fast path takes this one alert itself (rather than leaving it to the general path). */
function takenFast(alert: unknown): boolean {
  const b = enc(JSON.stringify(alert));
  const out: unknown[] = [];
  const end = appendAlertParams(b, 0, out);
  return end === b.length && out.length === 13;
}

describe('decodeAlertParams', () => {
  it('takes alerts as agents send them on the fast path, with the rows of the general path', () => {
    const alerts = Array.from({ length: 200 }, (_, i) => wire(stored(i)));
    for (const a of alerts.slice(0, 5)) expect(takenFast(a)).toBe(true);
    expect(expectSame(bodyOf(alerts))).toMatchObject({ ok: true, rows: 200 });
  });

  it('stores the received output_fields and tags text, as encodeAlert would write it', () => {
    const a = wire(stored(1));
    const r = decodeAlertParams(bodyOf([a]), 10);
    expect(r.ok && r.params[10]).toBe(JSON.stringify(a['output_fields']));
    expect(r.ok && r.params[12]).toBe(JSON.stringify(a['tags']));
  });

  it.each<[string, Partial<StoredAlert>, boolean]>([
    // [what, alert changes, taken by the fast path]
    [
      'unicode text and fields',
      { output: 'ü 日本 😀 \u2028', outputFields: { 'proc.name': 'ü😀', 'container.name': 'né' } },
      true,
    ],
    [
      'escapes JSON.stringify writes',
      { rule: 'a "quoted" \\ rule\n', outputFields: { s: 'tab\there "q" \\ \u0001 \u001f \u007f' } },
      true,
    ],
    [
      'escapes in column fields',
      { outputFields: { 'container.id': 'a"b\\c', 'container.name': 'x\ny', 'k8s.ns.name': '\t' } },
      true,
    ],
    [
      'NUL in text columns (replaced)',
      { output: 'a\u0000b', rule: 'r\u0000', hostname: '\u0000', tags: ['t'] },
      true,
    ],
    ['NUL in a field value (output_types)', { outputFields: { s: 'a\u0000b' } }, false],
    ['NUL in a tag (replaced)', { tags: ['a\u0000'] }, false],
    ['lone surrogates', { output: 'x\ud800y', outputFields: { s: '\udc00' } }, false],
    ['bigints, safe and not', { outputFields: { a: 5n, b: 2n ** 64n, c: -(2n ** 60n) } }, true],
    [
      'numbers that print differently',
      { outputFields: { a: 1.5, b: 1e21, c: 1e-7, d: 0.1, e: 2 ** 53, f: -123.25 } },
      true,
    ],
    ['-0 and non-finite numbers', { outputFields: { a: -0, b: Number.NaN, c: Infinity } }, true],
    ['bytes and undefined', { outputFields: { a: new Uint8Array([1, 2, 255]), b: undefined } }, true],
    ['arrays of scalars', { outputFields: { a: ['x', 1, null, true, false], b: [], c: ['\u0000'] } }, false],
    ['nested objects and arrays', { outputFields: { a: { b: { c: 1 } }, d: [[1], { e: 2 }] } }, false],
    ['array-index keys', { outputFields: { b: 1, '1': 2, '0': 3, '01': 4 } }, false],
    ['odd keys', { outputFields: { '': 1, __proto__: 2, 'a"b': 3, é: 4 } as Record<string, unknown> }, false],
    ['empty fields and tags', { outputFields: {}, tags: [] }, true],
    [
      'columns absent, empty or not strings',
      {
        outputFields: {
          'container.id': '',
          'container.name': 5,
          'k8s.ns.name': null,
          'ka.target.namespace': 'ns',
        },
      },
      true,
    ],
    ['ka.target.namespace only', { outputFields: { 'ka.target.namespace': 'kube-system' } }, true],
    ['every priority spelling', { priority: 'INFORMATIONAL' }, true],
  ])('%s', (_what, over, fast) => {
    const a = wire(stored(3, over));
    if (fast) expect(takenFast(a)).toBe(true);
    expectSame(bodyOf([wire(stored(1)), a, wire(stored(2))]));
  });

  it('handles priorities in any case, INFO, and times at the limits', () => {
    const alerts = [
      ...PRIORITIES.map((p, i) => ({ ...wire(stored(i)), priority: p.toLowerCase() })),
      { ...wire(stored(20)), priority: 'Info' },
      { ...wire(stored(21)), priority: 'iNfOrMaTiOnAl' },
      wire(stored(22, { time: -5n })),
      wire(stored(23, { time: 9_223_372_036_854_775_807n })),
      wire(stored(24, { time: 0n })),
    ];
    for (const a of alerts) expect(takenFast(a)).toBe(true);
    expectSame(bodyOf(alerts));
  });

  it('leaves other forms to the general path, with the same rows', () => {
    const a = wire(stored(5));
    const text = JSON.stringify(a);
    const variants = [
      JSON.stringify(a, null, 2),
      JSON.stringify({ extra: [1, { x: 2 }], ...a }),
      text.replace('"id":', '"id":"dup","id":'),
      text.replace('"output_fields":{', '"output_fields":{"proc.pid":1,'),
      text.replace('"output_fields":{', '"output_fields": { '),
      text.replace('/etc/shadow', '\\/etc\\/shadow'),
      text.replace('"root"', '"\\u0072oot"'),
      text.replace('"root"', '"r\\u00e9"'),
      text.replace('"user.loginuid":-1', '"user.loginuid":-1.0'),
      text.replace('"user.loginuid":-1', '"user.loginuid":-1e0'),
      text.replace('"user.loginuid":-1', '"user.loginuid":12345678901234567890'),
      text.replace('"user.loginuid":-1', '"user.loginuid":-0'),
      text.replace('"rule":"Read', '"rule":"\\u0052ead'),
      text.replace('"priority":"Warning"', '"priority":"W\\u0061rning"'),
      text.replace(/"time":"(\d+)"/, '"time":"\\u0031$1"'),
      text.replace('"tags":[', '"tags":[ '),
      text.replace('"T1555"', '"T\\u0000"'),
      text.replace('"container.id":"a1b2c3d4e5f6"', '"container.id":"\\u0061bc"'),
    ];
    for (const v of variants) expectSame(enc(`{"alerts":[${text},${v}]}`));
    // Members of an alert may come in any order and with spaces between them.
    const shuffled = `{ "tags" : ${JSON.stringify(a['tags'])} ,\n${text.slice(1, -1).replace(/,"tags":.*$/, '')} }`;
    expect(takenFast(JSON.parse(shuffled))).toBe(true);
    expect(appendAlertParams(enc(shuffled), 0, [])).toBe(enc(shuffled).length);
    expectSame(enc(`{"alerts":[${shuffled}]}`));
  });

  it('gives the same rows when a body starts with many alerts the fast path cannot take', () => {
    // After 16 misses in a row the rest of the body skips the fast path: the rows must not change.
    const pretty = Array.from({ length: 20 }, (_, i) => JSON.stringify(wire(stored(i)), null, 1));
    const compact = Array.from({ length: 20 }, (_, i) => JSON.stringify(wire(stored(100 + i))));
    const r = expectSame(enc(`{"alerts":[${[...pretty, ...compact].join(',')}]}`));
    expect(r).toMatchObject({ ok: true, rows: 40 });
    expectSame(enc(`{"alerts":[${[...compact.slice(0, 3), ...pretty, ...compact].join(',')}]}`));
  });

  it('refuses what the general path refuses, with its message', () => {
    const good = JSON.stringify(wire(stored(1)));
    const bodies = [
      '',
      '{"alerts":[]}',
      ' {"alerts" : [ ] } ',
      `{"alerts":[${good}]}x`,
      `{"alerts":[${good},]}`,
      `{"alerts":[${good}`,
      `{"alerts":[${good.replace('"Warning"', '"Loud"')}]}`,
      `{"alerts":[${good},${good.replace(/"time":"\d+"/, '"time":"soon"')}]}`,
      `{"alerts":[${good.replace('"rule":"Read sensitive file untrusted"', '"rule":""')}]}`,
      `{"alerts":[${good.replace(/"id":"[^"]+"/, '"id":""')}]}`,
      `{"alerts":[${good.replace(/"id":"[^"]+"/, `"id":"${'x'.repeat(513)}"`)}]}`,
      `{"alerts":[${good.replace(/"id":"[^"]+"/, '"id":"a\\u0000b"')}]}`,
      `{"alerts":[${good.replace(/"time":"\d+"/, `"time":"${'1'.repeat(20)}"`)}]}`,
      `{"alerts":[${good.replace(/"tags":\[[^\]]*\]/, '"tags":["a",3]')}]}`,
      `{"alerts":[${good.replace('"output_fields":{', '"output_fields":[{').replace(/,"tags"/, '],"tags"')}]}`,
      `{"alerts":[${good.replace('"source":"syscall",', '')}]}`,
      `{"alerts":[${good.replace('"root"', '"ro\not"')}]}`,
      `{"alerts":[${good},1,"x",null]}`,
      `{"alerts":[${good},${good},${good}]}`,
    ];
    for (const b of bodies) expectSame(enc(b), 2);
  });

  it('counts too many alerts before looking at them, as the general path does', () => {
    const bad = JSON.stringify({ ...wire(stored(1)), time: 'soon' });
    const r = expectSame(enc(`{"alerts":[${bad},${bad},${bad}]}`), 2);
    expect(r).toMatchObject({ ok: false, status: 413 });
  });

  it('decodes bytes as the general path does: invalid UTF-8 anywhere', () => {
    const text = JSON.stringify(
      wire(stored(7, { output: 'AéB', outputFields: { s: 'xéy', 'container.name': 'é' } })),
    );
    const b = enc(`{"alerts":[${text}]}`);
    const positions = [...b.keys()].filter((k) => b[k] === 0xc3 || b[k] === 0xa9);
    for (const pos of positions) {
      for (const byte of [0x80, 0xbf, 0xc3, 0xe2, 0xed, 0xf0, 0xff]) {
        const m = Buffer.from(b);
        m[pos] = byte;
        expectSame(m);
      }
    }
  });

  it('agrees on random alerts (property)', () => {
    const anyChar = fc.string({
      unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
    });
    const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), anyChar);
    const scalar = fc.oneof(
      text,
      fc.integer(),
      fc.double(),
      fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
      fc.uint8Array({ maxLength: 4 }),
    );
    const value = fc.oneof(
      { weight: 6, arbitrary: scalar },
      { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }) },
      { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 3 }), scalar, { maxKeys: 2 }) },
    );
    const key = fc.oneof(
      fc.constantFrom('container.id', 'container.name', 'k8s.ns.name', 'ka.target.namespace', 'proc.pid'),
      fc.string({ maxLength: 6 }),
      anyChar,
    );
    const alert = fc.record({
      id: fc.string({ minLength: 1, maxLength: 20 }),
      time: fc.bigInt({ min: -(10n ** 18n), max: 9_223_372_036_854_775_807n }),
      rule: text,
      priority: fc.constantFrom(...PRIORITIES),
      source: text,
      hostname: text,
      output: text,
      outputFields: fc.dictionary(key, value, { maxKeys: 8 }),
      tags: fc.array(text, { maxLength: 4 }),
    });
    let seen = 0;
    let fast = 0;
    fc.assert(
      fc.property(fc.array(alert, { minLength: 1, maxLength: 4 }), (alerts) => {
        const w = alerts.map((a) => wire(a as StoredAlert));
        for (const a of w) {
          seen++;
          if (takenFast(a)) fast++;
        }
        expectSame(bodyOf(w));
      }),
      { numRuns: 1000 },
    );
    // Both paths were exercised, and mixed within bodies.
    expect(fast / seen).toBeGreaterThan(0.1);
    expect(fast / seen).toBeLessThan(0.9);
  });

  it('agrees on mutated bodies (property)', () => {
    const base = bodyOf([
      wire(stored(1, { output: 'ü "q" \\', outputFields: { a: [1, 'x'], 'container.id': 'c"1', n: 1.5 } })),
      wire(stored(2)),
    ]);
    const interesting = [...'"\\{}[],: \n0123456789-+.eEuatrfnl'].map((c) => c.charCodeAt(0));
    interesting.push(0x00, 0x1f, 0x7f, 0x80, 0xc3, 0xff);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(base.length - 1), fc.constantFrom(...interesting)), {
          minLength: 1,
          maxLength: 3,
        }),
        (edits) => {
          const b = Buffer.from(base);
          for (const [pos, byte] of edits) b[pos] = byte;
          expectSame(b);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PRIORITIES } from '../engine/rules/index.js';
import type { StoredAlert } from '../store/store.js';
import { alertFromWire, alertToWire, MAX_ID_LENGTH, WireError, type WireAlert } from './wire.js';

function sample(over: Partial<StoredAlert> = {}): StoredAlert {
  return {
    id: 'agent-1:boot-1:42',
    time: 1_764_000_000_123_456_789n,
    rule: 'Terminal shell in container',
    priority: 'WARNING',
    source: 'syscall',
    hostname: 'node-1',
    output: 'A shell was spawned (user=root)',
    outputFields: { 'user.name': 'root', 'proc.pid': 1234, 'container.id': null },
    tags: ['container', 'shell'],
    ...over,
  };
}

function wire(over: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...(alertToWire(sample()) as unknown as Record<string, unknown>), ...over };
}

function errorOf(v: unknown, where = 'alerts[17]'): WireError {
  try {
    alertFromWire(v, where);
  } catch (e) {
    expect(e).toBeInstanceOf(WireError);
    return e as WireError;
  }
  throw new Error('expected a WireError');
}

describe('alertToWire', () => {
  it('writes time as a decimal ns string and priority as Falco prints it', () => {
    const w = alertToWire(sample());
    expect(w.time).toBe('1764000000123456789');
    expect(w.priority).toBe('Warning');
    expect(w.output_fields).toEqual({ 'user.name': 'root', 'proc.pid': 1234, 'container.id': null });
    expect(JSON.parse(JSON.stringify(w))).toEqual(w);
  });

  it('sends bigints in output_fields as numbers when safe, else decimal strings', () => {
    const w = alertToWire(
      sample({
        outputFields: {
          small: 5n,
          neg: -7n,
          edge: BigInt(Number.MAX_SAFE_INTEGER),
          big: 18_446_744_073_709_551_615n,
          nested: { arr: [1n, 2n ** 60n], s: 'x' },
          missing: undefined,
          bytes: new Uint8Array([1, 2, 3]),
        },
      }),
    );
    expect(w.output_fields).toEqual({
      small: 5,
      neg: -7,
      edge: Number.MAX_SAFE_INTEGER,
      big: '18446744073709551615',
      nested: { arr: [1, '1152921504606846976'], s: 'x' },
      missing: null,
      bytes: 'AQID',
    });
    // Serialisable without a replacer.
    expect(() => JSON.stringify(w)).not.toThrow();
  });

  it('does not mutate the alert', () => {
    const a = sample({ outputFields: { n: 1n } });
    alertToWire(a);
    expect(a.outputFields['n']).toBe(1n);
  });
});

describe('alertFromWire', () => {
  it('round-trips every priority and exact ns times', () => {
    for (const p of PRIORITIES) {
      for (const time of [0n, 1n, -5n, 9_223_372_036_854_775_807n, 1_764_000_000_123_456_789n]) {
        const a = sample({ priority: p, time });
        const back = alertFromWire(JSON.parse(JSON.stringify(alertToWire(a))), 'a');
        expect(back).toEqual(a);
      }
    }
  });

  it('round-trips arbitrary alerts through JSON text (property)', () => {
    const json = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null));
    fc.assert(
      fc.property(
        fc.record({
          id: fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !s.includes('\u0000')),
          time: fc.bigInt({ min: -(10n ** 18n), max: 9_223_372_036_854_775_807n }),
          rule: fc.string({ minLength: 1 }),
          priority: fc.constantFrom(...PRIORITIES),
          source: fc.string({ minLength: 1 }),
          hostname: fc.string(),
          output: fc.string(),
          outputFields: fc.dictionary(fc.string(), fc.oneof(json, fc.array(json))),
          tags: fc.array(fc.string()),
        }),
        (a) => {
          const back = alertFromWire(JSON.parse(JSON.stringify(alertToWire(a))), 'x');
          expect(back).toEqual(a);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('accepts priority names in any case and INFO', () => {
    expect(alertFromWire(wire({ priority: 'critical' }), 'a').priority).toBe('CRITICAL');
    expect(alertFromWire(wire({ priority: 'INFO' }), 'a').priority).toBe('INFORMATIONAL');
  });

  it('ignores unknown members (forward compatible)', () => {
    expect(alertFromWire(wire({ extra: 1 }), 'a').id).toBe('agent-1:boot-1:42');
  });

  it.each([
    [wire({ time: 1764000000123456 }), 'alerts[17].time: must be a decimal string of nanoseconds'],
    [wire({ time: '12.5' }), 'alerts[17].time: must be a decimal string of nanoseconds'],
    [wire({ time: '' }), 'alerts[17].time: must be a decimal string of nanoseconds'],
    [wire({ time: '1'.repeat(20) }), 'alerts[17].time: must be a decimal string of nanoseconds'],
    [wire({ time: undefined }), 'alerts[17].time: must be a decimal string of nanoseconds'],
    [wire({ id: '' }), 'alerts[17].id: must not be empty'],
    [wire({ id: 7 }), 'alerts[17].id: must be a string (got number 7)'],
    [
      wire({ id: 'x'.repeat(MAX_ID_LENGTH + 1) }),
      `alerts[17].id: must be at most ${MAX_ID_LENGTH} characters`,
    ],
    [wire({ id: 'a\u0000b' }), 'alerts[17].id: must not contain NUL'],
    [wire({ rule: null }), 'alerts[17].rule: must be a string (got null)'],
    [wire({ rule: '' }), 'alerts[17].rule: must not be empty'],
    [wire({ source: [] }), 'alerts[17].source: must be a string (got an array)'],
    [wire({ hostname: {} }), 'alerts[17].hostname: must be a string (got an object)'],
    [wire({ output: false }), 'alerts[17].output: must be a string'],
    [wire({ priority: 'Loud' }), 'alerts[17].priority: must be a Falco priority name'],
    [wire({ priority: 4 }), 'alerts[17].priority: must be a Falco priority name'],
    [wire({ output_fields: [] }), 'alerts[17].output_fields: must be an object (got an array)'],
    [wire({ output_fields: null }), 'alerts[17].output_fields: must be an object (got null)'],
    [wire({ tags: 'a' }), 'alerts[17].tags: must be an array of strings'],
    [wire({ tags: ['a', 3] }), 'alerts[17].tags[1]: must be a string (got number 3)'],
    [null, 'alerts[17]: must be an object (got null)'],
    ['x', 'alerts[17]: must be an object'],
  ])('rejects %j with a message naming the field', (value, message) => {
    const e = errorOf(value);
    expect(e.message.startsWith(message)).toBe(true);
    expect(e.path.startsWith('alerts[17]')).toBe(true);
  });
});

// A WireAlert literal type-checks against the interface (guards accidental renames).
const _typed: WireAlert = alertToWire(sample());
void _typed;

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Expr } from '../condition/ast.js';
import {
  compile,
  parse,
  recordProvider as provider,
  type RecordEvent,
} from '../../../test/helpers/record-conditions.js';
import { invalidateFieldMemo, SharedSubexpressions } from './index.js';

type Ev = RecordEvent;

/** A macro body used by three conditions, as the macro resolver substitutes it: the same object. */
const body = parse('proc.name in (bash, sh) and fd.name startswith /etc');
const span = body.span;
const conditions: Expr[] = [
  { kind: 'and', children: [body, parse('evt.type = openat')], span },
  { kind: 'or', children: [parse('evt.type = execve'), body], span },
  { kind: 'not', child: body, span },
];

describe('SharedSubexpressions', () => {
  it('gives every condition the answer it has on its own, event after event', () => {
    const shared = new SharedSubexpressions(new Set([body]));
    const sharedFilters = conditions.map((c) => compile(c, shared));
    const alone = conditions.map((c) => compile(c));
    const event = fc.record({
      'proc.name': fc.constantFrom('bash', 'sh', 'cat', undefined),
      'fd.name': fc.constantFrom('/etc/passwd', '/tmp/x', undefined),
      'evt.type': fc.constantFrom('openat', 'execve', 'close'),
    });
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 8 }), (events) => {
        for (const e of events) {
          const want = alone.map((f) => f(e));
          invalidateFieldMemo();
          expect(sharedFilters.map((f) => f(e))).toEqual(want);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('answers again for a changed event once the memo is invalidated', () => {
    const shared = new SharedSubexpressions(new Set([body]));
    const [opens] = conditions.map((c) => compile(c, shared));
    const e: Ev = { 'proc.name': 'bash', 'fd.name': '/etc/shadow', 'evt.type': 'openat' };
    expect(opens!(e)).toBe(true);
    e['proc.name'] = 'cat';
    invalidateFieldMemo();
    expect(opens!(e)).toBe(false);
  });

  it('compiles a shared node once per provider; other nodes keep their own filter', () => {
    const shared = new SharedSubexpressions(new Set([body]));
    const f = (): boolean => true;
    const first = shared.filterFor(body, provider, false, f);
    expect(first).not.toBe(f);
    expect(shared.filterFor(body, provider, false, () => false)).toBe(first);
    expect(shared.filterFor(body, provider, true, f)).not.toBe(first);
    const other = parse('proc.name = a and fd.name = b');
    expect(shared.filterFor(other, provider, false, f)).toBe(f);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FieldType, FieldValue } from '../fields/types.js';
import { fastLiteralCheck, fastStringMembership, fuseStringChecks } from './fast-paths.js';
import { compileMembership, compileScalarPredicate, type CmpOp, type ScalarPred } from './operators.js';

/** The generic semantics the fast paths must reproduce (missing → false, arrays → any/none). */
function generic(pred: ScalarPred, op: CmpOp): (v: FieldValue) => boolean {
  return (v) => {
    if (v === undefined) return false;
    if (Array.isArray(v)) return op === '!=' ? v.every(pred) : v.some(pred);
    return pred(v);
  };
}

const values: fc.Arbitrary<FieldValue> = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom('bash', 'ba', 'sh', '', '/etc/shadow', '/etc'),
  fc.string({ maxLength: 6 }),
  fc.integer({ min: -5, max: 5 }),
  fc.bigInt({ min: -5n, max: 5n }),
  fc.boolean(),
  fc.array(fc.constantFrom('bash', 'sh', 'x'), { maxLength: 3 }),
);

describe('fast paths agree with the generic checks', () => {
  const cases: [FieldType, CmpOp, string][] = [
    ['CHARBUF', '=', 'bash'],
    ['CHARBUF', '!=', 'bash'],
    ['CHARBUF', 'startswith', '/etc'],
    ['CHARBUF', 'endswith', 'sh'],
    ['CHARBUF', 'contains', 'a'],
    ['INT64', '=', '3'],
    ['INT64', '!=', '0'],
    ['INT64', '<', '0'],
    ['INT64', '<=', '-1'],
    ['INT64', '>', '2'],
    ['INT64', '>=', '0'],
    ['BOOL', '=', 'true'],
    ['BOOL', '!=', 'false'],
  ];
  it.each(cases)('%s %s %s', (type, op, raw) => {
    const p = compileScalarPredicate(op, type, raw);
    if (!p.ok) throw new Error(p.error);
    const slow = generic(p.pred, op);
    const fast = fastLiteralCheck<FieldValue>((e) => e, type, false, op, raw, slow);
    expect(fast).toBeDefined();
    fc.assert(fc.property(values, (v) => fast!(v) === slow(v)));
  });

  it.each([[['bash']], [['a', 'b', 'bash']], [['a', 'b', 'c', 'd', 'e', 'bash', 'sh']]])('in %j', (list) => {
    const m = compileMembership('in', 'CHARBUF', list);
    if (!m.ok || !m.stringSet) throw new Error('membership');
    const slow = generic(m.pred, 'in');
    const fast = fastStringMembership<FieldValue>((e) => e, m.stringSet, slow);
    fc.assert(fc.property(values, (v) => fast(v) === slow(v)));
  });

  it('declines shapes it does not cover', () => {
    const never = (): boolean => false;
    expect(fastLiteralCheck<FieldValue>((e) => e, 'CHARBUF', true, '=', 'x', never)).toBeUndefined();
    expect(fastLiteralCheck<FieldValue>((e) => e, 'CHARBUF', false, 'glob', 'x*', never)).toBeUndefined();
    expect(
      fastLiteralCheck<FieldValue>((e) => e, 'UINT64', false, '=', '99999999999999999999', never),
    ).toBeUndefined();
    expect(fastLiteralCheck<FieldValue>((e) => e, 'IPADDR', false, '=', '1.2.3.4', never)).toBeUndefined();
  });
});

describe('fuseStringChecks', () => {
  // Checks of one field (the identity getter) and of another (a different getter), as compiled.
  const get = (e: FieldValue): FieldValue => e;
  const other = (e: FieldValue): FieldValue => (typeof e === 'string' ? e.length : e);
  const literal = (
    g: (e: FieldValue) => FieldValue,
    op: CmpOp,
    raw: string,
  ): ((v: FieldValue) => boolean) => {
    const p = compileScalarPredicate(op, 'CHARBUF', raw);
    if (!p.ok) throw new Error(p.error);
    const slow = (v: FieldValue): boolean => generic(p.pred, op)(g(v));
    return fastLiteralCheck<FieldValue>(g, 'CHARBUF', false, op, raw, slow)!;
  };
  const member = (list: string[]): ((v: FieldValue) => boolean) => {
    const m = compileMembership('in', 'CHARBUF', list);
    if (!m.ok || !m.stringSet) throw new Error('membership');
    return fastStringMembership<FieldValue>(get, m.stringSet, generic(m.pred, 'in'));
  };
  const parts = [
    literal(get, 'endswith', 'sh'),
    literal(get, 'contains', 'a'),
    member(['bash', 'x', 'y', 'z', 'w']),
    literal(get, '!=', ''),
    literal(other, '=', 'ba'),
    literal(get, 'startswith', '/etc'),
    literal(get, '=', 'sh'),
    member(['sh']),
  ];
  const plain = (kind: 'and' | 'or', ps: ((v: FieldValue) => boolean)[]) => (v: FieldValue) =>
    kind === 'and' ? ps.every((p) => p(v)) : ps.some((p) => p(v));

  it.each(['and', 'or'] as const)('%s: same answers, runs on one field merged', (kind) => {
    const fused = fuseStringChecks(kind, parts);
    // Two runs (4 and 3 checks) around the check of the other field.
    expect(fused).toHaveLength(3);
    expect(fused[1]).toBe(parts[4]);
    fc.assert(fc.property(values, (v) => plain(kind, fused)(v) === plain(kind, parts)(v)));
  });

  it('leaves lone checks and other closures alone', () => {
    const lone = [literal(get, '=', 'a'), (v: FieldValue) => v === 1, literal(get, '=', 'b')];
    expect(fuseStringChecks('or', lone)).toEqual(lone);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Expr } from '../condition/ast.js';
import { compile, parse } from '../../../test/helpers/record-conditions.js';
import { EventTypeSpecializer, foldEventTypeCheck, repeatedNodes, SharedSubexpressions } from './index.js';

const TYPES = ['open', 'openat', 'rename', 'execve'];

describe('foldEventTypeCheck', () => {
  const fold = (cond: string, type: string): boolean | undefined => {
    const ast = parse(cond);
    if (ast.kind !== 'binary') throw new Error('not a check');
    return foldEventTypeCheck(ast, type);
  };
  it('answers evt.type checks against literals', () => {
    expect(fold('evt.type = open', 'open')).toBe(true);
    expect(fold('evt.type == open', 'openat')).toBe(false);
    expect(fold('evt.type != open', 'openat')).toBe(true);
    expect(fold('evt.type in (open, openat)', 'openat')).toBe(true);
    expect(fold('evt.type in (open, openat)', 'rename')).toBe(false);
    expect(fold('evt.type intersects (open)', 'open')).toBe(true);
  });
  it('leaves other checks alone', () => {
    expect(fold('proc.name = open', 'open')).toBeUndefined();
    expect(fold('evt.type startswith open', 'open')).toBeUndefined();
    expect(fold('evt.type icontains OPEN', 'open')).toBeUndefined();
    expect(fold('evt.type = val(proc.name)', 'open')).toBeUndefined();
  });
});

describe('EventTypeSpecializer', () => {
  // A macro body shared by the conditions (the same object in each, as the resolver substitutes it).
  const openRead = parse('evt.type in (open, openat) and fd.name startswith /etc');
  const span = openRead.span;
  const conditions: Expr[] = [
    { kind: 'and', children: [openRead, parse('not proc.name in (cat, sh)')], span },
    {
      kind: 'and',
      children: [
        {
          kind: 'or',
          children: [
            { kind: 'and', children: [openRead, parse('fd.name endswith passwd')], span },
            parse('evt.type = rename and fd.name contains /etc'),
          ],
          span,
        },
        parse('not proc.name = sh'),
      ],
      span,
    },
    { kind: 'not', child: openRead, span },
    parse('evt.type != execve or proc.name = bash'),
    parse('proc.name = sh'),
  ];

  it('folds the checks and simplifies around them', () => {
    const spec = new EventTypeSpecializer(repeatedNodes(conditions));
    expect(spec.specialize(conditions[0]!, 'execve')).toBe(false);
    expect(spec.specialize(conditions[2]!, 'rename')).toBe(true);
    expect(spec.specialize(conditions[3]!, 'open')).toBe(true);
    // No evt.type check: the node itself.
    expect(spec.specialize(conditions[4]!, 'open')).toBe(conditions[4]);
    // The shared body loses its type check, and is one object for every type it means the same for.
    const a = spec.specialize(openRead, 'open');
    expect(a).toBe(spec.specialize(openRead, 'openat'));
    expect(spec.shared.has(a as Expr)).toBe(true);
    expect(a).toMatchObject({ kind: 'binary', op: 'startswith' });
    // A shared node without evt.type checks is shared as it is.
    const plainShared = parse('proc.name = sh and fd.name = x');
    const spec2 = new EventTypeSpecializer(repeatedNodes([plainShared, plainShared]));
    expect(spec2.specialize(plainShared, 'open')).toBe(plainShared);
    expect(spec2.shared.has(plainShared)).toBe(true);
    // `(openRead and x) or (rename...)` for open: the rename branch goes, the `and` joins its parent.
    const b = spec.specialize(conditions[1]!, 'open');
    expect(b).toMatchObject({ kind: 'and' });
    expect((b as { children: Expr[] }).children).toHaveLength(3);
    expect((b as { children: Expr[] }).children[0]).toBe(a);
  });

  it('gives every condition its own answer on events of the type, shared subexpressions included', () => {
    const spec = new EventTypeSpecializer(repeatedNodes(conditions));
    const shared = new SharedSubexpressions(spec.shared);
    const alone = conditions.map((c) => compile(c));
    const byType = new Map(
      TYPES.map((t) => [
        t,
        conditions.map((c) => {
          const s = spec.specialize(c, t);
          return typeof s === 'boolean' ? () => s : compile(s, shared);
        }),
      ]),
    );
    const event = fc.record({
      'proc.name': fc.constantFrom('bash', 'sh', 'cat', undefined),
      'fd.name': fc.constantFrom('/etc/passwd', '/etc/x', '/tmp/passwd', undefined),
      'evt.type': fc.constantFrom(...TYPES),
    });
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 8 }), (events) => {
        for (const e of events) {
          const filters = byType.get(e['evt.type'] as string)!;
          for (let i = 0; i < conditions.length; i++) expect(filters[i]!(e)).toBe(alone[i]!(e));
        }
      }),
    );
  });
});

import { describe, expect, it } from 'vitest';
import { parseCondition, printExpr } from '../condition/index.js';
import type { Expr } from '../condition/ast.js';
import { resolveMacros, type MacroEntry } from './macros.js';
import { MappedText } from './mapped-text.js';

function parse(text: string): Expr {
  const r = parseCondition(text);
  if (!r.ok) throw new Error(r.error.message);
  return r.ast;
}

/** Macros defined in order (index = position); visibility defaults to the index. */
function macros(...defs: [string, string, number?][]): Map<string, MacroEntry> {
  const m = new Map<string, MacroEntry>();
  defs.forEach(([name, cond, visibility], i) => {
    m.set(name, {
      name,
      info: {
        name,
        cond: MappedText.generated(cond, undefined),
        condCtx: [],
        ctx: [],
        index: i,
        visibility: visibility ?? i,
      },
      ast: parse(cond),
      broken: false,
      used: false,
    });
  });
  return m;
}

/** Resolve all macros like the compiler does, then a rule seeing all of them. */
function resolveAll(m: Map<string, MacroEntry>): string[] {
  const errors: string[] = [];
  for (const e of m.values()) {
    const res = resolveMacros(e.ast as Expr, (n) => {
      const x = m.get(n);
      return x && x.info.index < e.info.visibility ? x : undefined;
    });
    if (res.ok) e.resolved = res.ast;
    else {
      e.broken = true;
      if (res.error) errors.push(`${e.name}: ${res.error.message}`);
    }
  }
  return errors;
}

describe('macro resolution', () => {
  it('substitutes macros (Falco loader case condition_append)', () => {
    const m = macros([
      'interactive',
      '((proc.aname=sshd and proc.name != sshd) or proc.name=systemd-logind or proc.name=login) or proc.name = ssh',
    ]);
    expect(resolveAll(m)).toEqual([]);
    const r = resolveMacros(parse('evt.type=open and interactive'), (n) => m.get(n));
    expect(r.ok && printExpr(r.ast)).toBe(
      '(evt.type = open and (((proc.aname = sshd and proc.name != sshd) or proc.name = systemd-logind or proc.name = login) or proc.name = ssh))',
    );
    expect(m.get('interactive')?.used).toBe(true);
  });

  it('lets macros see only macros defined before their latest definition', () => {
    const m = macros(['a', 'b'], ['b', 'evt.type = open']);
    expect(resolveAll(m)).toEqual(["a: Undefined macro 'b' used in filter."]);
    // redefined after b: visibility 2 > index of b
    const m2 = macros(['a', 'b', 2], ['b', 'evt.type = open']);
    expect(resolveAll(m2)).toEqual([]);
    expect(printExpr(m2.get('a')?.resolved as Expr)).toBe('evt.type = open');
  });

  it('detects loops (test rules invalid_macro_loop)', () => {
    const m = macros(['macro_a', 'macro_b', 2], ['macro_b', 'macro_a']);
    expect(resolveAll(m)).toEqual(["macro_a: reference loop in macro 'macro_b'"]);
  });

  it('reports unknown identifiers, and fails silently on broken macros', () => {
    const m = macros(['m', 'evt.type = open']);
    (m.get('m') as MacroEntry).broken = true;
    const r = resolveMacros(parse('m and not x'), (n) => m.get(n));
    expect(r).toMatchObject({ ok: false, error: { message: "Undefined macro 'x' used in filter." } });
    const silent = resolveMacros(parse('m and evt.num > 1'), (n) => m.get(n));
    expect(silent).toEqual({ ok: false });
  });

  it('does not modify shared macro bodies', () => {
    const m = macros(['inner', 'proc.name = a'], ['outer', 'inner or proc.name = b', 2]);
    resolveAll(m);
    const before = printExpr(m.get('outer')?.ast as Expr);
    resolveMacros(parse('outer and inner'), (n) => m.get(n));
    expect(printExpr(m.get('outer')?.ast as Expr)).toBe(before);
    expect(before).toBe('(inner or proc.name = b)');
  });
});

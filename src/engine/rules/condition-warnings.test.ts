import { describe, expect, it } from 'vitest';
import { parseCondition } from '../condition/index.js';
import type { Expr } from '../condition/ast.js';
import { conditionWarnings, isStaticallyFalse } from './condition-warnings.js';

function parse(text: string): Expr {
  const r = parseCondition(text);
  if (!r.ok) throw new Error(r.error.message);
  return r.ast;
}

describe('condition warnings', () => {
  it('flags <NA> comparisons of k8s audit and json fields once', () => {
    const w = conditionWarnings(
      parse('ka.user.name = "<NA>" or ka.verb in (get, <NA>) or jevt.value[/a] != <NA>'),
    );
    expect(w.map((x) => x.code)).toEqual(['LOAD_UNSAFE_NA_CHECK']);
    expect(w[0]?.span.start).toBe('ka.user.name = '.length);
    expect(conditionWarnings(parse('proc.name = "<NA>"'))).toEqual([]);
    expect(conditionWarnings(parse('ka.user.name contains "<NA>"'))).toEqual([]);
  });

  it('flags deprecated fields once each, in Falco order', () => {
    const w = conditionWarnings(
      parse('evt.latency > 1 and evt.dir = < and evt.dir = > and tolower(evt.wait_latency) = 1'),
    );
    expect(w.map((x) => x.code)).toEqual([
      'LOAD_DEPRECATED_ITEM',
      'LOAD_DEPRECATED_ITEM',
      'LOAD_DEPRECATED_ITEM',
    ]);
    expect(w[0]?.message).toContain("'evt.dir = <' always evaluates to true");
    expect(w[1]?.message).toContain("'evt.latency'");
    expect(w[2]?.message).toContain("'evt.wait_latency'");
  });

  it('recognises never-true placeholders', () => {
    expect(isStaticallyFalse(parse('evt.num = 0'))).toBe(true);
    expect(isStaticallyFalse(parse('(evt.num=0)'))).toBe(true);
    expect(isStaticallyFalse(parse('proc.name = a and evt.num = 0'))).toBe(true);
    expect(isStaticallyFalse(parse('evt.num = 0 or proc.name = a'))).toBe(false);
    expect(isStaticallyFalse(parse('not evt.num = 0'))).toBe(false);
    expect(isStaticallyFalse(parse('evt.num = 1'))).toBe(false);
  });
});

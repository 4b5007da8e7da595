import { describe, expect, it } from 'vitest';
import type { ListInfo } from './collector.js';
import { compileLists, quoteItem, substituteLists } from './lists.js';
import { MappedText } from './mapped-text.js';

function lists(...defs: [string, string[], number?, number?][]): Map<string, ListInfo> {
  const m = new Map<string, ListInfo>();
  defs.forEach(([name, items, index, visibility], i) =>
    m.set(name, { name, items, ctx: [], index: index ?? i, visibility: visibility ?? i }),
  );
  return m;
}

function sub(cond: string, l: Map<string, ListInfo>): string {
  return substituteLists(MappedText.generated(cond, undefined), compileLists(l).values()).text;
}

describe('lists', () => {
  it('quotes items with spaces unless already quoted', () => {
    expect(quoteItem('a b')).toBe('"a b"');
    expect(quoteItem('"a b"')).toBe('"a b"');
    expect(quoteItem("'a b'")).toBe("'a b'");
    expect(quoteItem('ab')).toBe('ab');
  });

  it('substitutes whole names only, consuming surrounding blanks', () => {
    const l = lists(['shells', ['bash', 'sh']]);
    expect(sub('proc.name in (shells)', l)).toBe('proc.name in ( bash, sh )');
    expect(sub('proc.name in (my_shells)', l)).toBe('proc.name in (my_shells)');
    expect(sub('proc.name in (shells_x, a)', l)).toBe('proc.name in (shells_x, a)');
    expect(sub('proc.name in (a,   shells  , b)', l)).toBe('proc.name in (a, bash, sh , b)');
    expect(sub('shells', l)).toBe('bash, sh ');
  });

  it('drops a neighbouring comma for an empty list', () => {
    const l = lists(['empty', []]);
    expect(sub('proc.name in (a, empty)', l)).toBe('proc.name in (a  )');
    expect(sub('proc.name in (empty, a)', l)).toBe('proc.name in (   a)');
    expect(sub('proc.name in (empty)', l)).toBe('proc.name in (  )');
  });

  it('quotes items with spaces', () => {
    expect(sub('x in (l)', lists(['l', ['non_escaped_val', 'escaped val']]))).toBe(
      'x in ( non_escaped_val, "escaped val" )',
    );
  });

  it('expands references to lists defined before (by visibility), one level', () => {
    const l = lists(['a', ['x']], ['b', ['a', 'y']], ['c', ['b']]);
    const c = compileLists(l);
    expect(c.get('b')?.items).toEqual(['x', 'y']);
    // one level: c gets b's items as written; lists are substituted in definition order, so the
    // `a` brought in by c stays a plain string (as in Falco)
    expect(c.get('c')?.items).toEqual(['a', 'y']);
    expect(c.get('a')?.used).toBe(true);
    expect(sub('p in (c)', l)).toBe('p in ( a, y )');
  });

  it('does not expand lists defined later (Falco list loop semantics)', () => {
    // list_a (index 0) is redefined after list_b: list_a -> [list_b], list_b -> [list_a]
    const l = lists(['list_a', ['list_b'], 0, 2], ['list_b', ['list_a'], 1, 1]);
    const c = compileLists(l);
    expect(c.get('list_a')?.items).toEqual(['list_a']);
    expect(c.get('list_b')?.items).toEqual(['list_b']);
    expect(sub('evt.type in (list_a)', l)).toBe('evt.type in ( list_a )');
  });

  it('marks lists used by substitution', () => {
    const c = compileLists(lists(['l1', ['a']], ['l2', ['b']]));
    substituteLists(MappedText.generated('x in (l1)', undefined), c.values());
    expect(c.get('l1')?.used).toBe(true);
    expect(c.get('l2')?.used).toBe(false);
  });
});

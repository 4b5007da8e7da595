import { describe, expect, it } from 'vitest';
import { parseCondition } from '../condition/parser.js';
import { eventTypesOf } from './event-types.js';

function types(cond: string): string[] | null {
  const p = parseCondition(cond);
  if (!p.ok) throw new Error(p.error.message);
  const s = eventTypesOf(p.ast);
  return s === null ? null : [...s].sort();
}

describe('eventTypesOf (libsinsp ppm_codes semantics)', () => {
  it.each([
    ['evt.type = open', ['open']],
    ['evt.type == open', ['open']],
    ['evt.type in (open, openat, openat2)', ['open', 'openat', 'openat2']],
    ['evt.type in ()', []],
    ['evt.type = open and proc.name = cat', ['open']],
    ['evt.type = open or evt.type = close', ['close', 'open']],
    ['evt.type = open and evt.type = close', []],
    ['(evt.type in (open, close)) and not evt.type = close', ['open']],
    ['not (evt.type != open)', ['open']],
    ['not not evt.type = open', ['open']],
    ['not (evt.type != open or evt.type != close)', []],
    ['evt.type in (a, b) and (proc.name = x or evt.type = b)', ['a', 'b']],
    ['evt.type = open and not evt.num = 0', ['open']],
    ['evt.num = 0', []],
    ['evt.type == oneof (a, b)', ['a', 'b']],
    ['evt.type != oneof (a, b)', ['a', 'b']],
    ['evt.type == anyof ()', []],
    ['not evt.type exists', []],
  ])('%s → %j', (cond, expected) => {
    expect(types(cond)).toEqual(expected);
  });

  it.each([
    'proc.name = cat',
    'not evt.type = open',
    'evt.type != open',
    'evt.type = open or proc.name = cat',
    'not proc.name = cat',
    'evt.type exists',
    'evt.type startswith open',
    'tolower(evt.type) = open',
    'evt.type = val(proc.name)',
    'evt.type != anyof (a, b)',
    'evt.type[0] = open',
    'macro_name',
    'not evt.num = 0',
  ])('%s → all types', (cond) => {
    expect(types(cond)).toBeNull();
  });

  it('negated neutral checks stay neutral inside a restricted rule', () => {
    expect(types('evt.type = open and not (proc.name = cat and fd.name = x)')).toEqual(['open']);
    expect(types('not (evt.type = open and proc.name = cat)')).toBeNull();
  });
});

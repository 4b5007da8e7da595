import { describe, expect, it } from 'vitest';
import { compileRegex } from './regex.js';

function full(pattern: string, subject: string): boolean {
  const r = compileRegex(pattern);
  if (!r.ok) throw new Error(r.error);
  return r.regex.test(subject);
}

describe('regex (RE2 POSIX syntax, full match)', () => {
  it('anchors at both ends', () => {
    expect(full('syscal.*', 'syscall')).toBe(true);
    expect(full('yscal.*', 'syscall')).toBe(false);
    expect(full('.*yscal', 'syscall')).toBe(false);
    expect(full('^[s]{1}ysca[l]{2}$', 'syscall')).toBe(true);
    expect(full('a|b', 'a')).toBe(true);
    expect(full('a|b', 'ab')).toBe(false);
  });

  it('supports POSIX bracket classes', () => {
    expect(full('[[:upper:]]+', 'SYSCALL')).toBe(true);
    expect(full('[[:upper:]]+', 'Syscall')).toBe(false);
    expect(full('[^[:space:]]+', 'a b')).toBe(false);
    expect(full('x[[:digit:]-]+', 'x1-2')).toBe(true);
  });

  it('dot does not match a newline', () => {
    expect(full('a.b', 'a\nb')).toBe(false);
    expect(full('a.b', 'a\rb')).toBe(true);
  });

  it('keeps literal braces that are not repetitions', () => {
    expect(full('a{b', 'a{b')).toBe(true);
    expect(full('a{2}', 'aa')).toBe(true);
  });

  it.each([
    ['(?:a)', 'Perl group syntax'],
    ['(?=a)', 'lookahead'],
    ['(a)\\1', 'back-reference'],
    ['a*?', 'lazy repetition'],
    ['a**', 'double repetition'],
    ['\\d+', 'Perl class'],
    ['\\bword', 'word boundary'],
    ['(a', 'unbalanced ('],
    ['a)', 'unbalanced )'],
    ['[a', 'unterminated class'],
    ['[[:nope:]]', 'unknown class'],
    ['*a', 'repetition without argument'],
    ['a{1001}', 'too large repetition'],
    ['[z-a]', 'reversed range'],
  ])('rejects %s (%s)', (pattern) => {
    expect(compileRegex(pattern).ok).toBe(false);
  });

  it('accepts escapes RE2 accepts', () => {
    expect(full('a\\.b', 'a.b')).toBe(true);
    expect(full('a\\.b', 'axb')).toBe(false);
    expect(full('\\x41\\t', 'A\t')).toBe(true);
    expect(full('/p./q.', '/p\u00ff/q\u00ff')).toBe(true);
  });
});

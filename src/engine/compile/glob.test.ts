import { describe, expect, it } from 'vitest';
import { compileGlob, globMatch, lowerAscii, upperAscii } from './glob.js';

describe('glob (fnmatch without FNM_PATHNAME)', () => {
  it.each([
    ['*', '', true],
    ['*', '/a/b', true],
    ['/bin/*', '/bin/sh', true],
    ['/bin/*', '/bin/x/y', true], // no FNM_PATHNAME: * crosses '/'
    ['*.sh', '.hidden.sh', true], // no FNM_PERIOD
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['a*b*c', 'axxbyyc', true],
    ['a*b*c', 'axxbyy', false],
    ['*abc*', 'xxabcxx', true],
    ['abc', 'abc', true],
    ['abc', 'abcd', false],
    ['a[bc]d', 'acd', true],
    ['a[!bc]d', 'acd', false],
    ['a[^bc]d', 'axd', true],
    ['a[a-c]d', 'abd', true],
    ['a[a-c]d', 'aed', false],
    ['[]]', ']', true],
    ['[!]]', 'a', true],
    ['a[-x]', 'a-', true],
    ['[[:digit:]]*', '7up', true],
    ['[[:alpha:]]*', '7up', false],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'axb', false],
    ['a[\\]]b', 'a]b', true],
    ['abc\\', 'abc\\', false], // trailing backslash never matches (glibc)
    ['a[bc', 'a[bc', true], // unterminated bracket is literal
    ['*a*a*a*a*a*b', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', false],
  ])('%s ~ %s → %s', (pattern, subject, expected) => {
    expect(globMatch(pattern, subject)).toBe(expected);
  });

  it('iglob folds ASCII case only', () => {
    expect(globMatch('MY*', 'myexe', true)).toBe(true);
    expect(globMatch('*EXE', 'myexe', true)).toBe(true);
    expect(globMatch('[A-C]x', 'bx', true)).toBe(true);
    expect(globMatch('M?E', 'mye', true)).toBe(true);
    expect(globMatch('MY*', 'myexe', false)).toBe(false);
    // non-ASCII letters are not folded in the C locale
    expect(globMatch('É', 'é', true)).toBe(false);
  });

  it('a compiled matcher is reusable', () => {
    const m = compileGlob('/etc/*.conf');
    expect(m('/etc/a.conf')).toBe(true);
    expect(m('/etc/a.cnf')).toBe(false);
    expect(m('/etc/sub/b.conf')).toBe(true);
  });

  it('ASCII case helpers', () => {
    expect(lowerAscii('AbC/É')).toBe('abc/É');
    expect(upperAscii('abc/é')).toBe('ABC/é');
    const s = 'already lower';
    expect(lowerAscii(s)).toBe(s);
  });
});

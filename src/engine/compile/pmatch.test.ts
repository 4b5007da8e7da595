import { describe, expect, it } from 'vitest';
import { PathPrefixSearch, splitPath } from './pmatch.js';

describe('pmatch path prefix search', () => {
  it('splits on / and skips empty components', () => {
    expect(splitPath('/opt//dir/')).toEqual(['root', 'opt', 'dir']);
    expect(splitPath('/')).toEqual(['root']);
    expect(splitPath('')).toEqual(['root']);
  });

  it('matches whole components only (libsinsp prefix_search examples)', () => {
    const s = new PathPrefixSearch(['/var/run', '/etc', '/lib', '/usr/lib']);
    expect(s.match('/var/run/docker')).toBe(true);
    expect(s.match('/boot')).toBe(false);
    expect(s.match('/var/lib/messages')).toBe(false);
    expect(s.match('/var')).toBe(false);
    expect(s.match('/etc')).toBe(true);
    expect(s.match('/etcetera')).toBe(false);
  });

  it('keeps the shorter of two nested search paths', () => {
    expect(new PathPrefixSearch(['/usr/lib', '/usr']).match('/usr/bin/x')).toBe(true);
    expect(new PathPrefixSearch(['/usr', '/usr/lib']).match('/usr/bin/x')).toBe(true);
  });

  it('supports glob components', () => {
    const path = '/opt/dir/subdir/file.txt';
    expect(new PathPrefixSearch(['/opt/*/subdir']).match(path)).toBe(true);
    expect(new PathPrefixSearch(['/opt/di?/subdir']).match(path)).toBe(true);
    expect(new PathPrefixSearch(['/opt/di[!r]/subdir']).match(path)).toBe(false);
    expect(new PathPrefixSearch(['/opt/*/*/subsubdir']).match(path)).toBe(false);
    expect(new PathPrefixSearch(['/opt/x*', '/opt/d*/sub*']).match(path)).toBe(true);
  });

  it('root prefixes everything; an empty set matches nothing', () => {
    expect(new PathPrefixSearch(['/']).match('/anything/at/all')).toBe(true);
    expect(new PathPrefixSearch([]).match('/x')).toBe(false);
  });
});

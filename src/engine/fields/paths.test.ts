import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatPaths, directoryOf, filenameOf } from './paths.js';

/** The definition: fold `.`, `..` and empty components of the joined path. */
function fold(dir: string, path: string): string {
  const full = path.startsWith('/') ? path : dir.endsWith('/') ? dir + path : `${dir}/${path}`;
  const out: string[] = [];
  for (const part of full.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}

describe('concatPaths', () => {
  it('normalises like libsinsp: `.` and `//` dropped, `..` folded, no trailing slash', () => {
    expect(concatPaths('/home/u/', 'a/../b/./c')).toBe('/home/u/b/c');
    expect(concatPaths('/home/u', '/etc//passwd/')).toBe('/etc/passwd');
    expect(concatPaths('/', '../..')).toBe('/');
    expect(concatPaths('/a', '.hidden/..x')).toBe('/a/.hidden/..x');
  });
  it('agrees with the component fold on any path (already normal ones are kept as they are)', () => {
    const pathish = fc.string({ unit: fc.constantFrom('/', '.', 'a', 'b'), maxLength: 12 });
    fc.assert(
      fc.property(pathish, pathish, (dir, path) => concatPaths(dir, path) === fold(dir, path)),
      { numRuns: 5000 },
    );
  });
});

describe('directoryOf / filenameOf', () => {
  it('split at the last slash', () => {
    expect(directoryOf('/etc/passwd')).toBe('/etc');
    expect(filenameOf('/etc/passwd')).toBe('passwd');
  });
});

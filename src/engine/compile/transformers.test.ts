import { describe, expect, it } from 'vitest';
import {
  decodeBase64,
  parseOptstring,
  runGetopt,
  transformType,
  utf8Length,
  valueTransform,
} from './transformers.js';

describe('transformer type rules (libsinsp)', () => {
  it('string transformers accept string types only', () => {
    for (const t of ['tolower', 'toupper', 'basename'] as const) {
      expect(transformType(t, 'CHARBUF', false)).toEqual({ type: 'CHARBUF', isList: false });
      expect(transformType(t, 'FSPATH', true)).toEqual({ type: 'FSPATH', isList: true });
      expect(transformType(t, 'INT64', false)).toBeUndefined();
      expect(transformType(t, 'BYTEBUF', false)).toBeUndefined();
    }
    expect(transformType('b64', 'BYTEBUF', false)).toEqual({ type: 'BYTEBUF', isList: false });
    expect(transformType('b64', 'UINT64', false)).toBeUndefined();
  });

  it('len counts lists of any type and measures strings/buffers', () => {
    expect(transformType('len', 'UINT64', true)).toEqual({ type: 'UINT64', isList: false });
    expect(transformType('len', 'CHARBUF', false)).toEqual({ type: 'UINT64', isList: false });
    expect(transformType('len', 'INT64', false)).toBeUndefined();
    const len = valueTransform('len', 'UINT64');
    expect(len('/tmp/file_to_run')).toBe(16);
    expect(len(new Uint8Array([1, 2, 3]))).toBe(3);
    expect(utf8Length('é€😀')).toBe(2 + 3 + 4);
  });

  it('per-value functions', () => {
    expect(valueTransform('tolower', 'CHARBUF')('AbC')).toBe('abc');
    expect(valueTransform('toupper', 'CHARBUF')('AbC')).toBe('ABC');
    expect(valueTransform('basename', 'CHARBUF')('/usr/local/bin/cat')).toBe('cat');
    expect(valueTransform('basename', 'CHARBUF')('/hello/')).toBe('');
    expect(valueTransform('basename', 'CHARBUF')('hello')).toBe('hello');
    expect(valueTransform('b64', 'CHARBUF')('aGVsbG8=')).toBe('hello');
    expect(valueTransform('b64', 'CHARBUF')('d29ybGQgIQ==')).toBe('world !');
    expect(valueTransform('b64', 'CHARBUF')('not base64!')).toBeUndefined();
    expect(valueTransform('b64', 'BYTEBUF')('AAE=')).toEqual(new Uint8Array([0, 1]));
  });

  it('base64 padding is optional', () => {
    expect(decodeBase64('YWFhLWJiYg')).toEqual(new TextEncoder().encode('aaa-bbb'));
    expect(decodeBase64('YWFhLWJiYg==')).toEqual(new TextEncoder().encode('aaa-bbb'));
    expect(decodeBase64('Y')).toBeUndefined();
  });
});

describe('getopt', () => {
  const run = (argv: string[], opts: string, sel?: string): string[] | string | undefined =>
    runGetopt(argv, parseOptstring(opts), sel);

  it('lists options and their values', () => {
    expect(run(['-nt', 'hello'], 'nt:')).toEqual(['n', 't', 'hello']);
    expect(run(['-thello'], 't:')).toEqual(['t', 'hello']);
    expect(run(['-l', '-p', '8080', '-e', '/bin/sh'], 'lp:e:')).toEqual(['l', 'p', '8080', 'e', '/bin/sh']);
    expect(run(['-x', '-n'], 'n')).toEqual(['?', 'n']);
    expect(run(['-nat', 'hello'], 'na:t')).toEqual(['n', 'a', 't']);
  });

  it('stops at --, at the first operand, and at a lone dash; skips long options', () => {
    expect(run(['-n', '--', '-t'], 'nt:')).toEqual(['n']);
    expect(run(['arg1', '-n'], 'n')).toEqual([]);
    expect(run(['-', '-n'], 'n')).toEqual([]);
    expect(run(['--exec', '-n'], 'n')).toEqual(['n']);
  });

  it('a missing value is an empty string', () => {
    expect(run(['-t'], 't:')).toEqual(['']);
    expect(run(['-t'], ':t:')).toEqual(['']);
  });

  it('selector mode keeps the last occurrence', () => {
    expect(run(['-t', 'v1', '-t', 'v2'], 't:', 't')).toBe('v2');
    expect(run(['-n', '-t', 'hello'], 'nt:', 'n')).toBe('n');
    expect(run(['-t', 'v1', '-t'], 't:', 't')).toBe('');
    expect(run(['-n'], 'nt:', 't')).toBeUndefined();
  });
});

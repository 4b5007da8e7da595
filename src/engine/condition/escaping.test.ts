import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeString, quoteString, unescapeString } from './escaping.js';
import { parseCondition } from './parser.js';

describe('unescapeString', () => {
  it('decodes the supported escapes', () => {
    expect(unescapeString('"a\\b\\f\\n\\r\\t\\\\\\/z"')).toEqual({ ok: true, value: 'a\b\f\n\r\t\\/z' });
    expect(unescapeString('"say \\"hi\\""')).toEqual({ ok: true, value: 'say "hi"' });
    expect(unescapeString("'it\\'s'")).toEqual({ ok: true, value: "it's" });
    expect(unescapeString('"\\x41\\xff\\x00"')).toEqual({ ok: true, value: 'A\u00ff\u0000' });
  });

  it('keeps the legacy backslash-space quirk (one backslash)', () => {
    expect(unescapeString('"bad escape \\ "')).toEqual({ ok: true, value: 'bad escape \\' });
  });

  it('keeps an unescaped delimiter the lexer let through', () => {
    expect(unescapeString('"a\\\\"b"')).toEqual({ ok: true, value: 'a\\"b' });
  });

  it('rejects quote escapes of the other delimiter, unknown and truncated escapes', () => {
    expect(unescapeString(`"x\\'"`)).toEqual({
      ok: false,
      message: `invalid \\' escape in "-quoted string`,
      offset: 2,
    });
    expect(unescapeString(`'x\\"'`)).toEqual({
      ok: false,
      message: `invalid \\" escape in '-quoted string`,
      offset: 2,
    });
    expect(unescapeString('"\\q"')).toEqual({
      ok: false,
      message: 'unsupported string escape sequence: \\q',
      offset: 1,
    });
    expect(unescapeString('"\\x4"')).toMatchObject({
      ok: false,
      message: 'truncated hex char escape sequence',
    });
    expect(unescapeString('"\\xzz"')).toMatchObject({
      ok: false,
      message: 'invalid hex char escape sequence: \\xzz',
    });
  });
});

describe('escapeString / quoteString', () => {
  it('leaves plain values bare and quotes what libsinsp quotes', () => {
    expect(escapeString('bash')).toBe('bash');
    expect(escapeString('/usr/bin/*')).toBe('/usr/bin/*');
    expect(escapeString('curl 127.0.0.1')).toBe('"curl 127.0.0.1"');
    expect(escapeString("it's")).toBe(`"it's"`);
    expect(escapeString('a"b\\c\td')).toBe('"a\\"b\\\\c\\td"');
  });

  it('quotes what a bare token cannot hold, per context', () => {
    expect(escapeString('')).toBe('""');
    expect(escapeString('a(b')).toBe('"a(b"');
    expect(escapeString('a=b')).toBe('"a=b"');
    expect(escapeString('a=b', 'fieldArg')).toBe('a=b');
    expect(escapeString('a]b', 'fieldArg')).toBe('"a]b"');
  });

  it('writes NUL and a trailing backslash as hex escapes', () => {
    expect(quoteString('a\0b')).toBe('"a\\x00b"');
    expect(quoteString('\\')).toBe('"\\x5c"');
    expect(quoteString('\\a')).toBe('"\\\\a"');
  });

  it('round-trips any string through a parsed condition', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: fc.constantFrom(...'ab5. \t\n\b\v\0\\"\'(),=[]'), maxLength: 12 }),
          fc.string({ unit: 'binary', maxLength: 40 }),
        ),
        (s) => {
          const r = parseCondition(
            `a.b = ${escapeString(s)} and c.d in (${escapeString(s)}) and e.f[${escapeString(s, 'fieldArg')}] exists`,
          );
          expect(r.ok).toBe(true);
          if (!r.ok || r.ast.kind !== 'and') return;
          const [eq, inList, withArg] = r.ast.children;
          expect(eq?.kind === 'binary' && eq.right.kind === 'value' && eq.right.value).toBe(s);
          expect(
            inList?.kind === 'binary' &&
              inList.right.kind === 'list' &&
              inList.right.values[0]?.kind === 'value' &&
              inList.right.values[0].value,
          ).toBe(s);
          expect(withArg?.kind === 'unary' && withArg.left.arg).toBe(s);
        },
      ),
      { numRuns: 500 },
    );
  });
});

import { describe, expect, it } from 'vitest';
import type { Expr } from './ast.js';
import { parseCondition } from './parser.js';

/** Parses or fails the test with the parser's message. */
function parse(text: string, maxDepth?: number): Expr {
  const r = parseCondition(text, maxDepth === undefined ? undefined : { maxDepth });
  if (!r.ok)
    throw new Error(`parse failed: ${r.error.message} at ${r.error.offset} in ${JSON.stringify(text)}`);
  return r.ast;
}

function parseError(text: string, maxDepth?: number): { message: string; offset: number } {
  const r = parseCondition(text, maxDepth === undefined ? undefined : { maxDepth });
  if (r.ok) throw new Error(`expected an error for ${JSON.stringify(text)}`);
  return r.error;
}

/** The AST without spans, for shape comparisons. */
function shape(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(shape);
  if (node !== null && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) {
      if (k !== 'span') out[k] = shape(v);
    }
    return out;
  }
  return node;
}

const field = (name: string, arg?: string) =>
  arg === undefined ? { kind: 'field', name } : { kind: 'field', name, arg };
const value = (v: string, quoted = false) => ({ kind: 'value', value: v, quoted });
const ident = (name: string) => ({ kind: 'identifier', name });

describe('parseCondition: boolean structure', () => {
  it('builds one n-ary node per chain of the same operator', () => {
    expect(shape(parse('a and b and c'))).toEqual({
      kind: 'and',
      children: [ident('a'), ident('b'), ident('c')],
    });
    expect(shape(parse('a or b or c'))).toEqual({
      kind: 'or',
      children: [ident('a'), ident('b'), ident('c')],
    });
  });

  it('gives not > and > or precedence', () => {
    expect(shape(parse('a or not b and c'))).toEqual({
      kind: 'or',
      children: [ident('a'), { kind: 'and', children: [{ kind: 'not', child: ident('b') }, ident('c')] }],
    });
  });

  it('keeps a parenthesised group as its own child (no flattening)', () => {
    expect(shape(parse('(a or b) or c'))).toEqual({
      kind: 'or',
      children: [{ kind: 'or', children: [ident('a'), ident('b')] }, ident('c')],
    });
    expect(shape(parse('a and (b and c)'))).toEqual({
      kind: 'and',
      children: [ident('a'), { kind: 'and', children: [ident('b'), ident('c')] }],
    });
  });

  it('does not create a node for redundant parentheses', () => {
    expect(shape(parse('((a))'))).toEqual(ident('a'));
  });

  it('toggles negation per not, like libsinsp', () => {
    expect(shape(parse('not not a'))).toEqual(ident('a'));
    expect(shape(parse('not not not not not(not not(not not_macro))'))).toEqual({
      kind: 'not',
      child: { kind: 'not', child: ident('not_macro') },
    });
  });

  it('accepts keywords glued to parentheses and rejects glued words', () => {
    expect(shape(parse('(a)and(b)or(c)'))).toEqual({
      kind: 'or',
      children: [{ kind: 'and', children: [ident('a'), ident('b')] }, ident('c')],
    });
    expect(parseError('a andb').message).toBe("expected blank or '(' after 'and'");
    expect(parseError('a orb').message).toBe("expected blank or '(' after 'or'");
  });

  it('reads words starting with keywords as identifiers', () => {
    expect(shape(parse('notz and and_macro or or_macro'))).toEqual({
      kind: 'or',
      children: [{ kind: 'and', children: [ident('notz'), ident('and_macro')] }, ident('or_macro')],
    });
  });

  it('ends an or-operand at a glued group, like libsinsp (a or(b) and c is rejected)', () => {
    expect(parseError('a or(b) and c').message).toBe("unexpected token after ')', expecting 'or', 'and'");
  });
});

describe('parseCondition: checks', () => {
  it('parses unary and binary checks with every operator', () => {
    expect(shape(parse('proc.name exists'))).toEqual({
      kind: 'unary',
      left: field('proc.name'),
      op: 'exists',
    });
    for (const op of ['=', '==', '!=', '<', '<=', '>', '>=']) {
      const ast = parse(`a.b ${op} 1`);
      expect(ast.kind === 'binary' && ast.op).toBe(op);
    }
    for (const op of [
      'glob',
      'iglob',
      'contains',
      'icontains',
      'bcontains',
      'startswith',
      'bstartswith',
      'endswith',
      'regex',
    ]) {
      expect(shape(parse(`a.b ${op} x`))).toEqual({
        kind: 'binary',
        left: field('a.b'),
        op,
        right: value('x'),
      });
    }
    for (const op of ['in', 'intersects', 'pmatch']) {
      expect(shape(parse(`a.b ${op}(x)`))).toEqual({
        kind: 'binary',
        left: field('a.b'),
        op,
        right: { kind: 'list', values: [value('x')] },
      });
    }
  });

  it('needs a blank after word operators but not after symbols or list operators', () => {
    expect(shape(parse('a.b=1'))).toEqual({ kind: 'binary', left: field('a.b'), op: '=', right: value('1') });
    expect(parseError('a.b containsx').message).toMatch(
      /^expected a valid check operator: one of 'exists', '<=',/,
    );
    expect(shape(parse('a.b contains\tx'))).toEqual({
      kind: 'binary',
      left: field('a.b'),
      op: 'contains',
      right: value('x'),
    });
  });

  it('reads field arguments, bare or quoted', () => {
    expect(shape(parse('proc.aname[2] = bash'))).toMatchObject({ left: field('proc.aname', '2') });
    expect(shape(parse('jevt.value[/user/username] = x'))).toMatchObject({
      left: field('jevt.value', '/user/username'),
    });
    expect(shape(parse('a.b["x y"] = 1'))).toMatchObject({ left: field('a.b', 'x y') });
    expect(parseError('evt.arg[] = value')).toEqual({
      message: 'expected a valid field argument: a quoted string or a bare string',
      offset: 8,
    });
    expect(parseError('evt.arg["x" = value').message).toBe("expected a ']' token");
  });

  it('reads a bare identifier in boolean position as a macro reference', () => {
    expect(shape(parse('spawned_process'))).toEqual(ident('spawned_process'));
  });

  it('reads an identifier after a list operator as a list reference', () => {
    expect(shape(parse('proc.name in shell_binaries'))).toEqual({
      kind: 'binary',
      left: field('proc.name'),
      op: 'in',
      right: { kind: 'listref', name: 'shell_binaries' },
    });
  });

  it('reads lists of bare and quoted values, unescaping quoted ones', () => {
    expect(shape(parse(`a.g in (1, 'a b', "c\\"d", e.f)`))).toMatchObject({
      right: { kind: 'list', values: [value('1'), value('a b', true), value('c"d', true), value('e.f')] },
    });
    expect(shape(parse('a.g in ()'))).toMatchObject({ right: { kind: 'list', values: [] } });
    expect(parseError('a.g in (a,)').message).toBe('expected a string value');
    expect(parseError('a.g in (a b)').message).toBe("expected a ')' token");
  });

  it('reads values that look like fields or keywords as strings', () => {
    expect(shape(parse('a.b = c.d'))).toMatchObject({ right: value('c.d') });
    expect(shape(parse('a.b = not'))).toMatchObject({ right: value('not') });
  });

  it('reads numbers for numeric operators and rejects other words', () => {
    expect(shape(parse('a.b > -0.1222e+10'))).toMatchObject({ right: value('-0.1222e+10') });
    expect(shape(parse('a.b <= 0XaB00AB'))).toMatchObject({ right: value('0XaB00AB') });
    expect(parseError('a.b <= a').message).toMatch(
      /^expected a number value or a field with a valid transformer: 'val',/,
    );
  });
});

describe('parseCondition: transformers and val()', () => {
  it('parses left-hand transformers, nested, with blanks inside', () => {
    expect(shape(parse('b64( toupper(a.b) ) exists'))).toEqual({
      kind: 'unary',
      left: {
        kind: 'transformer',
        name: 'b64',
        args: [{ kind: 'transformer', name: 'toupper', args: [field('a.b')] }],
      },
      op: 'exists',
    });
  });

  it('parses val() and transformers on the right-hand side', () => {
    expect(shape(parse('a.b = val(c.d)'))).toMatchObject({ right: { kind: 'val', field: field('c.d') } });
    expect(shape(parse('a.b in tolower(c.d)'))).toMatchObject({
      right: { kind: 'transformer', name: 'tolower', args: [field('c.d')] },
    });
  });

  it('parses multi-argument transformers with lists, literals and an index', () => {
    expect(shape(parse('join("-", (fd.name, "lit", 12, toupper(fd.directory))) = x'))).toMatchObject({
      left: {
        kind: 'transformer',
        name: 'join',
        args: [
          value('-', true),
          {
            kind: 'list',
            values: [
              field('fd.name'),
              value('lit', true),
              value('12'),
              { kind: 'transformer', name: 'toupper' },
            ],
          },
        ],
      },
    });
    expect(shape(parse('getopt(proc.args, "nt:")[t] = hello'))).toMatchObject({
      left: { kind: 'transformer', name: 'getopt', args: [field('proc.args'), value('nt:', true)], arg: 't' },
    });
  });

  it('rejects val() on the left, nested val(), val(...)[x] and a blank before the parenthesis', () => {
    expect(parseCondition('val(a.b) exists').ok).toBe(false);
    expect(parseError('a.b = val(toupper(c.d))').message).toBe("expected a field within 'val' transformer");
    expect(parseError('a.b = val(c.d)[x]').message).toBe(
      "transformer 'val' does not support field arguments",
    );
    expect(parseCondition('a.b = b64 (c.d)').ok).toBe(false);
    expect(parseError('b64(a.b exists').message).toBe("expected a ')' token closing the transformer");
  });

  it('rejects bare strings, macros and nested lists inside transformer lists', () => {
    for (const bad of ['join("-", (macro)) = x', 'join("-", ((fd.name))) = x', 'join("-", (fd.name,)) = x']) {
      expect(parseCondition(bad).ok, bad).toBe(false);
    }
  });
});

describe('parseCondition: modifiers', () => {
  it('attaches oneof/anyof/allof followed by a list or a list name', () => {
    expect(shape(parse('proc.name startswith oneof (a, b)'))).toEqual({
      kind: 'binary',
      left: field('proc.name'),
      op: 'startswith',
      modifier: 'oneof',
      right: { kind: 'list', values: [value('a'), value('b')] },
    });
    expect(shape(parse('proc.name != allof my_list'))).toMatchObject({
      modifier: 'allof',
      right: { kind: 'listref', name: 'my_list' },
    });
    expect(shape(parse('proc.name == oneof oneof'))).toMatchObject({
      modifier: 'oneof',
      right: { kind: 'listref', name: 'oneof' },
    });
  });

  it('reads the word as a plain value when no list follows', () => {
    expect(shape(parse('proc.name == anyof'))).toMatchObject({ right: value('anyof') });
    expect(shape(parse('proc.name == oneof and fd.name exists'))).toMatchObject({
      kind: 'and',
      children: [{ right: value('oneof') }, { kind: 'unary' }],
    });
    expect(shape(parse('proc.name == oneof or x'))).toEqual({
      kind: 'or',
      children: [{ kind: 'binary', left: field('proc.name'), op: '==', right: value('oneof') }, ident('x')],
    });
  });

  it('requires blanks around the modifier and only follows string operators', () => {
    for (const bad of [
      'proc.name ==oneof (a)',
      'proc.name == oneof(a)',
      'proc.num > oneof (1)',
      'proc.name in oneof (a)',
    ]) {
      expect(parseCondition(bad).ok, bad).toBe(false);
    }
  });
});

describe('parseCondition: spans', () => {
  it('records offsets of every node (libsinsp position tests)', () => {
    expect(parse('proc.name = nginx')).toMatchObject({
      span: { start: 0, end: 17 },
      left: { span: { start: 0, end: 9 } },
      right: { span: { start: 12, end: 17 } },
    });
    expect(parse('not proc.name=nginx')).toMatchObject({
      span: { start: 0, end: 19 },
      child: { span: { start: 4, end: 19 } },
    });
    expect(parse('(proc.name=nginx or proc.name=apache)')).toMatchObject({
      span: { start: 1, end: 36 },
      children: [{ span: { start: 1, end: 16 } }, { span: { start: 20, end: 36 } }],
    });
    expect(parse('proc.name in ( nginx, apache)')).toMatchObject({ right: { span: { start: 13, end: 29 } } });
  });

  it('excludes trailing blanks and includes closing parentheses of operands', () => {
    expect(parse('(a) and b  ')).toMatchObject({ span: { start: 0, end: 9 } });
    expect(parse('  a and (b)')).toMatchObject({ span: { start: 2, end: 11 } });
  });
});

describe('parseCondition: errors', () => {
  it('rejects empty input with Falco message', () => {
    expect(parseError('')).toEqual({ message: 'filter input string is empty', offset: 0 });
  });

  it('reports unconsumed input after the last token', () => {
    expect(parseError('a.b = x y')).toEqual({
      message: "unexpected token after 'x', expecting 'or', 'and'",
      offset: 8,
    });
    expect(parseError('macro > 12').message).toBe("unexpected token after 'macro', expecting 'or', 'and'");
  });

  it('reports bad escapes at the backslash', () => {
    expect(parseError('a.b = "x\\q"')).toEqual({
      message: 'unsupported string escape sequence: \\q',
      offset: 8,
    });
    expect(parseError(`a.b = "x\\'"`).message).toBe(`invalid \\' escape in "-quoted string`);
  });

  it('stops the lexer at NUL like the C implementation', () => {
    expect(parseCondition('a.b = x\0y').ok).toBe(false);
    expect(parseCondition('a.b = "x\0y"').ok).toBe(false);
  });

  it('enforces the depth limit (default 100, configurable)', () => {
    const nested = (n: number) => `${'('.repeat(n)}a${')'.repeat(n)}`;
    expect(parse(nested(10))).toMatchObject(ident('a'));
    expect(parseError(nested(20)).message).toBe('exceeded max depth limit of 100');
    expect(parse(nested(150), 1000)).toMatchObject(ident('a'));
    expect(parseError(nested(250), 1000).message).toBe('exceeded max depth limit of 1000');
  });

  it('returns an error instead of throwing when the JS stack runs out', () => {
    const deep = `${'('.repeat(200_000)}a${')'.repeat(200_000)}`;
    const r = parseCondition(deep, { maxDepth: Number.POSITIVE_INFINITY });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.message).toMatch(/^exceeded max depth limit of Infinity/);
  });
});

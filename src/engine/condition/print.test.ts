import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FIXTURES_SKIP_REASON, haveFixtures, readFixtureJson } from '../../../test/helpers/fixtures.js';
import {
  TRANSFORMER_NAMES,
  type Expr,
  type FieldExpr,
  type ListExpr,
  type ListRefExpr,
  type RhsExpr,
  type TransformerArg,
  type TransformerExpr,
  type ValueExpr,
} from './ast.js';
import { parseCondition } from './parser.js';
import { printExpr, printOperand } from './print.js';

function parse(text: string): Expr {
  const r = parseCondition(text, { maxDepth: 1000 });
  if (!r.ok)
    throw new Error(`parse failed: ${r.error.message} at ${r.error.offset} in ${JSON.stringify(text)}`);
  return r.ast;
}

const print = (text: string): string => printExpr(parse(text));

describe('printExpr: shapes of Falco compiled conditions', () => {
  // Inputs are what the rule loader builds (rule text with macros substituted as parenthesised
  // groups, lists inlined, exceptions appended); outputs are falco_rule_loader_cases.json values.
  const cases: [string, string][] = [
    [
      'evt.type=open and proc.name in (ash, bash, csh, ksh, sh, tcsh, zsh, dash, pwsh)',
      '(evt.type = open and proc.name in (ash, bash, csh, ksh, sh, tcsh, zsh, dash, pwsh))',
    ],
    [
      'evt.type=open and (((proc.aname=sshd and proc.name != sshd) or\nproc.name=systemd-logind or proc.name=login) or proc.name = ssh)',
      '(evt.type = open and (((proc.aname = sshd and proc.name != sshd) or proc.name = systemd-logind or proc.name = login) or proc.name = ssh))',
    ],
    ['evt.type=open and proc.name = cat', '(evt.type = open and proc.name = cat)'],
    ['(evt.type in (open, openat))', 'evt.type in (open, openat)'],
    [
      '(evt.type in (open, openat) or evt.type = openat2)',
      '(evt.type in (open, openat) or evt.type = openat2)',
    ],
    ['proc.name = cat', 'proc.name = cat'],
    [
      '(proc.cmdline contains curl or proc.cmdline contains wget) and not (proc.cmdline contains "curl 127.0.0.1")',
      '((proc.cmdline contains curl or proc.cmdline contains wget) and not proc.cmdline contains "curl 127.0.0.1")',
    ],
    [
      '(evt.type = open) and not (proc.name = proc.pname)',
      '(evt.type = open and not proc.name = proc.pname)',
    ],
    [
      '(evt.type = open) and not (proc.name = "proc.pname ")',
      '(evt.type = open and not proc.name = "proc.pname ")',
    ],
    [
      '(evt.type = open) and not (proc.name = toupper( proc.pname))',
      '(evt.type = open and not proc.name = toupper(proc.pname))',
    ],
    [
      '(evt.type = open) and not (proc.name = "toupper( proc.pname)")',
      '(evt.type = open and not proc.name = "toupper( proc.pname)")',
    ],
    [
      '(evt.type = open) and not (tolower(proc.name) = test)',
      '(evt.type = open and not tolower(proc.name) = test)',
    ],
    [
      '(evt.type = open) and not (proc.name startswith oneof (sshd, sudo, systemd))',
      '(evt.type = open and not proc.name startswith oneof (sshd, sudo, systemd))',
    ],
    [
      '(evt.type = open) and not ((proc.name startswith oneof (sshd, sudo) and fd.name startswith /etc/))',
      '(evt.type = open and not (proc.name startswith oneof (sshd, sudo) and fd.name startswith /etc/))',
    ],
    [
      '(evt.type = execve) and not (proc.name startswith oneof (ssh, su)) and not (proc.name startswith anyof (ssh, su)) and not (proc.cmdline contains allof (curl, ci.internal))',
      '(evt.type = execve and not proc.name startswith oneof (ssh, su) and not proc.name startswith anyof (ssh, su) and not proc.cmdline contains allof (curl, ci.internal))',
    ],
  ];

  for (const [input, expected] of cases) {
    it(expected, () => {
      expect(print(input)).toBe(expected);
    });
  }

  it('prints a not over a group with its parentheses', () => {
    expect(print('not (a and b)')).toBe('not (a and b)');
    expect(print('not not not a')).toBe('not a');
  });

  it('prints field arguments, unary checks, list names and val()', () => {
    expect(print('proc.aname[2]=bash and jevt.value["/a b"] exists')).toBe(
      '(proc.aname[2] = bash and jevt.value["/a b"] exists)',
    );
    expect(print('proc.name in shells or proc.name=val(proc.pname)')).toBe(
      '(proc.name in shells or proc.name = val(proc.pname))',
    );
  });

  it('prints multi-argument transformers with quoted string arguments', () => {
    expect(print(`join('-', (fd.name, "x", 1)) = a and getopt(proc.args, "nt:")[t]=b`)).toBe(
      '(join("-", (fd.name, "x", 1)) = a and getopt(proc.args, "nt:")[t] = b)',
    );
  });

  it('quotes values with blanks, quotes, backslashes or characters a bare value cannot hold', () => {
    expect(print(`a.b = 'x y' or a.b = "it's" or a.b = "" or a.b = "f(x)" or a.b in ("a,b")`)).toBe(
      `(a.b = "x y" or a.b = "it's" or a.b = "" or a.b = "f(x)" or a.b in ("a,b"))`,
    );
  });

  it('prints operands on their own', () => {
    const ast = parse('tolower(proc.name) = val(proc.pname)');
    expect(ast.kind === 'binary' && printOperand(ast.left)).toBe('tolower(proc.name)');
    expect(ast.kind === 'binary' && printOperand(ast.right)).toBe('val(proc.pname)');
  });
});

interface LoaderCase {
  test: string;
  expect: { compiled_condition?: Record<string, string> };
}

describe.skipIf(!haveFixtures)(
  `printExpr: Falco compiled conditions are fixed points ${haveFixtures ? '' : `(${FIXTURES_SKIP_REASON})`}`,
  () => {
    const cases = haveFixtures
      ? readFixtureJson<{ cases: LoaderCase[] }>('engine_vectors', 'falco_rule_loader_cases.json').cases
      : [];
    const expectations = cases.flatMap((c) =>
      Object.entries(c.expect.compiled_condition ?? {}).map(([rule, text]) => ({
        name: `${c.test} ${rule}`,
        text,
      })),
    );

    it('finds the 33 compiled_condition expectations', () => {
      expect(expectations.length).toBe(33);
    });

    it('parses and prints every compiled condition back to the same text', () => {
      const failures = expectations
        .map(({ name, text }) => ({ name, text, printed: print(text) }))
        .filter((x) => x.printed !== x.text);
      expect(failures).toEqual([]);
    });
  },
);

// ---- round trip of random ASTs ------------------------------------------------------------------

const SPAN = { start: 0, end: 0 };
const KEYWORDS = new Set(['and', 'or', 'not']);
const identifierArb = fc.stringMatching(/^[a-z][a-z0-9_]{0,6}$/).filter((s) => !KEYWORDS.has(s));
const fieldNameArb = fc
  .array(fc.stringMatching(/^[a-z][a-z0-9_]{0,4}$/), { minLength: 2, maxLength: 3 })
  .map((parts) => parts.join('.'));
// mostly the characters that decide quoting and escaping, sometimes any code point
const textArb = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'ab5. \t\n\b\v\0\\"\'(),=[]/*'), maxLength: 10 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
);
const numberArb = fc.oneof(fc.integer().map(String), fc.constantFrom('0x1f', '-1.5', '+2e+10', '0XaB'));

const fieldArb: fc.Arbitrary<FieldExpr> = fc
  .tuple(fieldNameArb, fc.option(textArb, { nil: undefined }))
  .map(([name, arg]) =>
    arg === undefined ? { kind: 'field', name, span: SPAN } : { kind: 'field', name, arg, span: SPAN },
  );
const valueArb: fc.Arbitrary<ValueExpr> = textArb.map((value) => ({
  kind: 'value',
  value,
  quoted: false,
  span: SPAN,
}));
const trLiteralArb: fc.Arbitrary<ValueExpr> = fc.oneof(
  textArb.map((value): ValueExpr => ({ kind: 'value', value, quoted: true, span: SPAN })),
  numberArb.map((value): ValueExpr => ({ kind: 'value', value, quoted: false, span: SPAN })),
);
const listArb: fc.Arbitrary<ListExpr> = fc
  .array(valueArb, { maxLength: 3 })
  .map((values) => ({ kind: 'list', values, span: SPAN }));
const listRefArb: fc.Arbitrary<ListRefExpr> = identifierArb.map((name) => ({
  kind: 'listref',
  name,
  span: SPAN,
}));

const { transformer: transformerArb } = fc.letrec<{ transformer: TransformerExpr; arg: TransformerArg }>(
  (tie) => ({
    transformer: fc
      .tuple(
        fc.constantFrom(...TRANSFORMER_NAMES),
        fc.array(tie('arg'), { minLength: 1, maxLength: 3 }),
        fc.option(textArb, { nil: undefined }),
      )
      .map(([name, args, arg]) => {
        const t: TransformerExpr = { kind: 'transformer', name, args, span: SPAN };
        if (arg !== undefined) t.arg = arg;
        return t;
      }),
    arg: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fieldArb,
      trLiteralArb,
      fc
        .array(fc.oneof(fieldArb, trLiteralArb), { maxLength: 3 })
        .map((values): ListExpr => ({ kind: 'list', values, span: SPAN })),
      tie('transformer'),
    ),
  }),
);

const leftArb = fc.oneof(fieldArb, transformerArb);
const checkArb: fc.Arbitrary<Expr> = fc.oneof(
  identifierArb.map((name): Expr => ({ kind: 'identifier', name, span: SPAN })),
  leftArb.map((left): Expr => ({ kind: 'unary', left, op: 'exists', span: SPAN })),
  fc
    .tuple(
      leftArb,
      fc.constantFrom('=', '==', '!=', 'contains', 'startswith', 'glob', 'regex' as const),
      fc.oneof(
        valueArb as fc.Arbitrary<RhsExpr>,
        transformerArb,
        fieldArb.map((field): RhsExpr => ({ kind: 'val', field: { ...field, arg: undefined }, span: SPAN })),
      ),
    )
    .map(([left, op, right]): Expr => ({
      kind: 'binary',
      left,
      op,
      right: stripUndefined(right),
      span: SPAN,
    })),
  fc
    .tuple(leftArb, fc.constantFrom('<', '<=', '>', '>=' as const), numberArb)
    .map(([left, op, value]): Expr => ({
      kind: 'binary',
      left,
      op,
      right: { kind: 'value', value, quoted: false, span: SPAN },
      span: SPAN,
    })),
  fc
    .tuple(
      leftArb,
      fc.constantFrom('in', 'intersects', 'pmatch' as const),
      fc.oneof(listArb as fc.Arbitrary<RhsExpr>, listRefArb, transformerArb),
    )
    .map(([left, op, right]): Expr => ({ kind: 'binary', left, op, right, span: SPAN })),
  fc
    .tuple(
      leftArb,
      fc.constantFrom('=', '!=', 'endswith' as const),
      fc.constantFrom('oneof', 'anyof', 'allof' as const),
      fc.oneof(listArb as fc.Arbitrary<ListExpr | ListRefExpr>, listRefArb),
    )
    .map(([left, op, modifier, right]): Expr => ({ kind: 'binary', left, op, modifier, right, span: SPAN })),
);

const { expr: exprArb } = fc.letrec<{ expr: Expr }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    checkArb,
    fc
      .array(tie('expr'), { minLength: 2, maxLength: 3 })
      .map((children): Expr => ({ kind: 'and', children, span: SPAN })),
    fc
      .array(tie('expr'), { minLength: 2, maxLength: 3 })
      .map((children): Expr => ({ kind: 'or', children, span: SPAN })),
    // parsing folds `not not x` into x, so a not never wraps a not here
    tie('expr')
      .filter((child) => child.kind !== 'not')
      .map((child): Expr => ({ kind: 'not', child, span: SPAN })),
  ),
}));

function stripUndefined<T>(node: T): T {
  return JSON.parse(JSON.stringify(node)) as T;
}

/** AST without spans and without the `quoted` flag (the printer quotes by content). */
function shape(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(shape);
  if (node !== null && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) {
      if (k !== 'span' && k !== 'quoted' && v !== undefined) out[k] = shape(v);
    }
    return out;
  }
  return node;
}

describe('printExpr: round trip', () => {
  it('prints any AST to text that parses back to the same AST', () => {
    fc.assert(
      fc.property(exprArb, (ast) => {
        const text = printExpr(ast);
        const r = parseCondition(text, { maxDepth: 1000 });
        if (!r.ok) throw new Error(`${r.error.message} at ${r.error.offset}: ${text}`);
        expect(shape(r.ast)).toEqual(shape(ast));
        expect(printExpr(r.ast)).toBe(text);
      }),
      { numRuns: 300 },
    );
  });
});

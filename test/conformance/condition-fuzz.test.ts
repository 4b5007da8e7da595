/**
 * Property-based fuzzing of the condition parser: random text, random soups of the grammar's
 * tokens and mutations of the conditions of real rules files must never make `parseCondition`
 * throw or hang. Every result must be well formed: an error carries a message and an offset inside
 * the input; an AST prints to text that parses back to the same print. Deep nesting must end in
 * the depth error. Time per input is bounded by a generous limit that only a hang or a
 * super-linear blow-up would hit (not a benchmark).
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseCondition, printExpr, type ParseResult } from '../../src/engine/condition/index.js';
import { fixturePath, haveFixtures } from '../helpers/fixtures.js';

/** Far above the microseconds a parse takes; only a hang or quadratic blow-up reaches it. */
const PER_INPUT_LIMIT_MS = 2_000;

function checkParse(text: string, maxDepth?: number): ParseResult {
  const started = performance.now();
  let result: ParseResult | undefined;
  expect(() => {
    result = parseCondition(text, maxDepth === undefined ? undefined : { maxDepth });
  }).not.toThrow();
  expect(performance.now() - started).toBeLessThan(PER_INPUT_LIMIT_MS);
  const r = result as ParseResult;
  if (r.ok) {
    expect(typeof r.ast.kind).toBe('string');
    const printed = printExpr(r.ast);
    const again = parseCondition(printed, { maxDepth: 1000 });
    if (!again.ok) throw new Error(`printed form does not parse (${again.error.message}): ${printed}`);
    expect(printExpr(again.ast)).toBe(printed);
  } else {
    expect(r.error.message.length).toBeGreaterThan(0);
    expect(r.error.offset).toBeGreaterThanOrEqual(0);
    expect(r.error.offset).toBeLessThanOrEqual(text.length);
  }
  return r;
}

const SAMPLE_CONDITIONS = [
  'evt.type in (open, openat) and proc.name = cat',
  'spawned_process and not proc.pname in (shell_binaries) and proc.cmdline contains "curl 127.0.0.1"',
  "fd.name startswith /etc and not (proc.aname[2] = sshd or jevt.value['/user/username'] exists)",
  'tolower(proc.name) = val(proc.pname) or join("-", (fd.name, "x")) glob "*a*"',
  'proc.name startswith oneof (sshd, sudo) and fd.num >= 0x10 and fd.port pmatch (/tmp)',
];

const RULES_FILES = [
  'rules/falcosecurity-rules/main/falco_rules.yaml',
  'rules/falcosecurity-rules/main/falco-incubating_rules.yaml',
  'rules/falcosecurity-rules/main/falco-sandbox_rules.yaml',
  'rules/falcosecurity-rules/falco-rules-1.0.1/falco_rules.yaml',
  'rules/falco-0.31.1-intree/falco_rules.yaml',
  'rules/falco-0.31.1-intree/k8s_audit_rules.yaml',
  'rules/k8saudit/main/k8s_audit_rules.yaml',
  'rules/plugins/aws_cloudtrail_rules.yaml',
  'rules/plugins/okta_rules.yaml',
];

/** Conditions of the macros and rules in the fixture rules files (not append fragments). */
function realConditions(): string[] {
  if (!haveFixtures) return SAMPLE_CONDITIONS;
  const out: string[] = [];
  for (const file of RULES_FILES) {
    const items: unknown = parseYaml(readFileSync(fixturePath(file), 'utf8'));
    if (!Array.isArray(items)) continue;
    for (const item of items as Record<string, unknown>[]) {
      if (typeof item.condition === 'string' && item.append !== true && item.override === undefined) {
        out.push(item.condition);
      }
    }
  }
  return out;
}

const TOKENS = [
  'and',
  'or',
  'not',
  'not(',
  '(',
  ')',
  ',',
  '[',
  ']',
  'exists',
  '=',
  '==',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  'contains',
  'icontains',
  'bcontains',
  'startswith',
  'bstartswith',
  'endswith',
  'glob',
  'iglob',
  'regex',
  'in',
  'intersects',
  'pmatch',
  'oneof',
  'anyof',
  'allof',
  'val(',
  'tolower(',
  'toupper(',
  'b64(',
  'basename(',
  'len(',
  'join(',
  'concat(',
  'getopt(',
  'proc.name',
  'fd.name',
  'evt.arg',
  'proc.aname[2]',
  'macro',
  'shell_binaries',
  'bash',
  '/tmp/x',
  '0x1f',
  '-1.5e+3',
  '12',
  '"a b"',
  "'c'",
  '"\\"q\\""',
  '"\\x41"',
  '"\\ "',
  '"',
  "'",
  '\\',
  '""',
  ' ',
  '\t',
  '\n',
  '\b',
  '\0',
  '#',
  'é',
  '*',
];

describe('condition parser fuzzing', () => {
  const corpus = realConditions();

  it('parses every condition of the real rules files', () => {
    const failures = corpus
      .map((c) => ({ c, r: parseCondition(c, { maxDepth: 1000 }) }))
      .filter((x) => !x.r.ok)
      .map((x) => `${!x.r.ok ? x.r.error.message : ''}: ${x.c}`);
    expect(failures).toEqual([]);
    expect(corpus.length).toBeGreaterThan(haveFixtures ? 500 : 0);
  });

  it('never throws on random text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc.string({ unit: 'grapheme-ascii', maxLength: 200 }),
          fc.string({ unit: fc.constantFrom(...'abc.=!<>()[],"\'\\ \t\nnotadr0x1'), maxLength: 200 }),
        ),
        (text) => {
          checkParse(text);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('never throws on soups of grammar tokens', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...TOKENS), fc.constantFrom('', ' ', ' ', '\n')), {
          maxLength: 60,
        }),
        (parts) => {
          checkParse(parts.map(([token, blank]) => token + blank).join(''));
        },
      ),
      { numRuns: 6000 },
    );
  });

  it('never throws on mutations of real conditions', () => {
    const mutation = fc.record({
      kind: fc.constantFrom('delete', 'insert', 'duplicate', 'truncate', 'swap'),
      at: fc.nat(),
      length: fc.integer({ min: 1, max: 12 }),
      token: fc.constantFrom(...TOKENS),
    });
    fc.assert(
      fc.property(
        fc.nat(),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.nat(1000),
        (index, mutations, depth) => {
          let text = corpus[index % corpus.length] as string;
          for (const m of mutations) {
            const at = text.length === 0 ? 0 : m.at % (text.length + 1);
            switch (m.kind) {
              case 'delete':
                text = text.slice(0, at) + text.slice(at + m.length);
                break;
              case 'insert':
                text = text.slice(0, at) + m.token + text.slice(at);
                break;
              case 'duplicate':
                text = text.slice(0, at + m.length) + text.slice(at);
                break;
              case 'truncate':
                text = text.slice(0, at);
                break;
              case 'swap':
                text = text.slice(at, at + m.length) + text.slice(0, at) + text.slice(at + m.length);
                break;
            }
          }
          checkParse(text, depth % 3 === 0 ? 1000 : undefined);
        },
      ),
      { numRuns: 6000 },
    );
  });

  describe('deep nesting', () => {
    const N = 100_000;
    const inputs: [string, string][] = [
      ['parentheses', `${'('.repeat(N)}a${')'.repeat(N)}`],
      ['unclosed parentheses', '('.repeat(N)],
      ['not(', `${'not('.repeat(N)}a${')'.repeat(N)}`],
      ['and (', `${'a and ('.repeat(N)}a${')'.repeat(N)}`],
      ['transformers', `${'b64('.repeat(N)}a.b${')'.repeat(N)} exists`],
      ['transformer lists', `join("-", ${'concat('.repeat(N)}a.b${')'.repeat(N)}) = x`],
    ];

    for (const [name, text] of inputs) {
      it(`gives the depth error for ${N} nested ${name}`, () => {
        for (const maxDepth of [undefined, 1000]) {
          const r = checkParse(text, maxDepth);
          expect(r.ok).toBe(false);
          expect(!r.ok && r.error.message).toBe(`exceeded max depth limit of ${maxDepth ?? 100}`);
        }
      });

      it(`returns an error, not a crash, for ${N} nested ${name} without a depth limit`, () => {
        const r = checkParse(text, Number.POSITIVE_INFINITY);
        expect(r.ok).toBe(false);
      });
    }

    it('handles long flat inputs without recursion limits', () => {
      const chain = Array.from({ length: 20_000 }, (_, i) => `proc.name = p${i}`).join(' and ');
      const r = checkParse(chain);
      expect(r.ok && r.ast.kind === 'and' && r.ast.children.length).toBe(20_000);
      const list = `proc.name in (${Array.from({ length: 50_000 }, (_, i) => `p${i}`).join(', ')})`;
      expect(checkParse(list).ok).toBe(true);
      expect(checkParse(`${'not '.repeat(50_001)}a`)).toMatchObject({ ok: true, ast: { kind: 'not' } });
    });
  });
});

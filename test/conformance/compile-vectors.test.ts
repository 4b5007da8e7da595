/**
 * libsinsp compiler conformance: every `compile` vector (operator × field type matrix against the
 * real syscall field table, with compiler warning counts) and every `eval_mock_fields` vector
 * (boolean logic and string escapes over mock fields) of
 * engine_vectors/libsinsp_filter_vectors.json, extracted from libs' filter_compiler.ut.cpp.
 *
 * The mock fields mirror the libsinsp test's `mock_compiler_filter_check`: `c.true` always matches
 * (`c.true=1` holds), `c.false` and `c.buffer` never do, `c.singlequote` / `c.doublequote` match
 * when the parsed right-hand side is `hello 'quoted'` / `hello "quoted"`. `c.buffer` is BYTEBUF, the
 * others CHARBUF. They are layered over Vigil's syscall field table.
 */
import { describe, expect, it } from 'vitest';
import { compileCondition } from '../../src/engine/compile/index.js';
import { parseCondition } from '../../src/engine/condition/index.js';
import { syscallFields } from '../../src/engine/fields/index.js';
import type { FieldDef, FieldProvider, FieldType, FieldValue } from '../../src/engine/fields/types.js';
import { FIXTURES_SKIP_REASON, haveFixtures, readFixtureJson } from '../helpers/fixtures.js';

interface Vector {
  source: string;
  line: number;
  test: string;
  kind: string;
  input: string;
  expect: string | boolean;
  expected_warnings?: string | number;
  error?: string;
}

function loadVectors(kind: string): Vector[] {
  if (!haveFixtures) return [];
  const file = readFixtureJson<{ cases: Vector[] }>('engine_vectors', 'libsinsp_filter_vectors.json');
  return file.cases.filter((c) => c.kind === kind);
}

/** Mock events are plain objects: the mock fields ignore them. */
type MockEvent = object;

const MOCK_VALUES: Record<string, FieldValue> = {
  'c.true': '1',
  'c.singlequote': "hello 'quoted'",
  'c.doublequote': 'hello "quoted"',
};
const MOCK_TYPES: Record<string, FieldType> = {
  'c.true': 'CHARBUF',
  'c.false': 'CHARBUF',
  'c.buffer': 'BYTEBUF',
  'c.singlequote': 'CHARBUF',
  'c.doublequote': 'CHARBUF',
};

/** Mock fields first, then the real syscall field table. */
function mockProvider(): FieldProvider<MockEvent> {
  const real = syscallFields as unknown as FieldProvider<MockEvent>;
  const mocks = new Map<string, FieldDef>(
    Object.entries(MOCK_TYPES).map(([name, type]) => [
      name,
      { name, type, desc: 'mock', source: 'syscall', arg: 'none', isList: false },
    ]),
  );
  return {
    source: 'syscall',
    lookup: (name) => {
      const def = mocks.get(name);
      return def ? { def } : real.lookup(name);
    },
    extractor: (def) => (mocks.has(def.name) ? () => MOCK_VALUES[def.name] : real.extractor(def)),
    all: () => [...mocks.values(), ...real.all()],
  };
}

describe.skipIf(!haveFixtures)('libsinsp compile vectors', () => {
  const provider = mockProvider();
  const vectors = loadVectors('compile');

  it('has the expected number of vectors', () => {
    expect(vectors.filter((v) => v.expect === 'compiles')).toHaveLength(174);
    expect(vectors.filter((v) => v.expect === 'rejected')).toHaveLength(179);
  });

  it.each(vectors.map((v) => [`${v.line}: ${v.input}`, v] as const))('%s', (_name, v) => {
    const parsed = parseCondition(v.input, { maxDepth: 1000 });
    if (!parsed.ok) {
      // a syntax error is a rejection too (libsinsp compiles from text)
      expect(v.expect, `parse error: ${parsed.error.message}`).toBe('rejected');
      if (v.error)
        expect(`filter error: ${parsed.error.message}`).toContain(v.error.replace(/^filter error: /, ''));
      return;
    }
    const r = compileCondition(parsed.ast, provider);
    if (v.expect === 'compiles') {
      expect(r.ok, r.ok ? '' : r.errors.map((e) => e.message).join('; ')).toBe(true);
      if (r.ok && v.expected_warnings !== undefined) {
        expect(r.warnings.map((w) => w.message)).toHaveLength(Number(v.expected_warnings));
      }
    } else {
      expect(r.ok).toBe(false);
      if (!r.ok && v.error) expect(r.errors.map((e) => e.message)).toContain(v.error);
    }
  });
});

describe.skipIf(!haveFixtures)('libsinsp mock-field evaluation vectors', () => {
  const provider = mockProvider();
  const vectors = loadVectors('eval_mock_fields');

  it('has the expected number of vectors', () => {
    expect(vectors).toHaveLength(40);
  });

  it.each(vectors.map((v) => [`${v.line}: ${v.input}`, v] as const))('%s', (_name, v) => {
    const parsed = parseCondition(v.input, { maxDepth: 1000 });
    if (!parsed.ok) throw new Error(parsed.error.message);
    const r = compileCondition(parsed.ast, provider);
    if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('; '));
    expect(r.filter({})).toBe(v.expect);
  });
});

if (!haveFixtures) {
  describe('libsinsp compile vectors', () => {
    it.skip(FIXTURES_SKIP_REASON, () => undefined);
  });
}

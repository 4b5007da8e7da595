/**
 * Falco's rule-loader unit tests (falcosecurity/falco `unit_tests/engine/test_rule_loader.cpp` and
 * `test_extra_output.cpp`), extracted as data in `engine_vectors/falco_rule_loader_cases.json`:
 * load outcome, error/warning substrings, compiled conditions and outputs, describe-rule values,
 * enabled-rule counts and the advisory schema check.
 *
 * Two things the extraction could not capture are supplied here from the upstream test sources:
 * - 11 cases build their YAML by concatenation (`s_exception_values_rule_base + R"END(...)"`), so
 *   their `rules_content` is empty; the concatenated text is in SUPPLIED_CONTENT.
 * - the extra-output cases configure the engine (`add_extra_output_format`) before loading; those
 *   calls are in EXTRA_OUTPUT.
 * Where a case lists several raw strings but loads one variable, the first string is the one loaded
 * (the others belong to a neighbouring test).
 */
import { describe, expect, it } from 'vitest';
import { loadRules, priorityLabel, type ExtraOutput, type LoadResult } from '../../src/engine/rules/index.js';
import { FIXTURES_SKIP_REASON, haveFixtures, readFixtureJson } from '../helpers/fixtures.js';

interface DescribeCheck {
  path: string;
  op: 'EQ';
  value: string | { raw: string };
}

interface LoaderCase {
  source: string;
  line: number;
  test: string;
  rules_content: string[];
  load: { rules_var: string; filename: string; expect_ok: boolean }[];
  expect: {
    errors_contain?: string[];
    warnings_contain?: string[];
    warnings_absent?: string[];
    has_warnings?: boolean;
    compiled_condition?: Record<string, string>;
    compiled_output?: Record<string, string>;
    describe_rule?: DescribeCheck[];
    num_rules_for_ruleset?: { ruleset: string; count: string }[];
    schema_validation?: string[];
  };
}

const EXCEPTION_VALUES_RULE_BASE = `
- rule: test_rule
  desc: test rule
  condition: evt.type = open
  output: command=%proc.cmdline
  priority: INFO
`;

const exceptionCase = (field: string, value: string) => `${EXCEPTION_VALUES_RULE_BASE}
  exceptions:
    - name: test_exception
      fields: [${field}]
      comps: [=]
      values:
        - [${value}]
`;

/** Content of the cases built by string concatenation upstream (test_rule_loader.cpp). */
const SUPPLIED_CONTENT: Record<string, string> = {
  'test_falco_engine.exceptions_values_rhs_field_ambiguous': exceptionCase('proc.name', 'proc.pname'),
  'test_falco_engine.exceptions_values_rhs_field_ambiguous_quoted': exceptionCase(
    'proc.name',
    '"proc.pname"',
  ),
  'test_falco_engine.exceptions_values_rhs_field_ambiguous_space_quoted': exceptionCase(
    'proc.name',
    '"proc.pname "',
  ),
  'test_falco_engine.exceptions_values_rhs_transformer': exceptionCase('proc.name', 'toupper(proc.pname)'),
  'test_falco_engine.exceptions_values_transformer_value_quoted': exceptionCase(
    'proc.name',
    '"toupper(proc.pname)"',
  ),
  'test_falco_engine.exceptions_values_transformer_space': exceptionCase('proc.name', 'toupper( proc.pname)'),
  'test_falco_engine.exceptions_values_transformer_space_quoted': exceptionCase(
    'proc.name',
    '"toupper( proc.pname)"',
  ),
  'test_falco_engine.exceptions_fields_transformer': exceptionCase('tolower(proc.name)', 'test'),
  'test_falco_engine.exceptions_fields_transformer_quoted': exceptionCase('"tolower(proc.name)"', 'test'),
  'test_falco_engine.exceptions_fields_transformer_space_quoted': exceptionCase(
    '"tolower( proc.name)"',
    'test',
  ),
};

/** `add_extra_output_format` calls made by test_extra_output.cpp before loading. */
const EXTRA_OUTPUT: Record<string, ExtraOutput[]> = {
  'test_falco_engine.extra_format_all': [{ format: 'evt.type=%evt.type' }],
  'test_falco_engine.extra_format_by_rule': [{ format: 'evt.type=%evt.type', rule: 'legit_rule' }],
  'test_falco_engine.extra_format_by_tag_rule': [
    { format: 'extra 1', tags: ['tag1'] },
    { format: 'extra 2', rule: 'another_rule' },
    { format: 'extra 3', tags: ['tag1', 'tag2'] },
  ],
};

/** Cases this engine cannot run, with the reason. Kept empty on purpose: every case must pass. */
const UNSUPPORTED: Record<string, string> = {};

function contentOf(c: LoaderCase): string {
  const supplied = SUPPLIED_CONTENT[c.test];
  if (supplied !== undefined) return supplied;
  const first = c.rules_content[0];
  if (first === undefined) throw new Error(`${c.test}: no rules content`);
  return first;
}

/** Value of a `describe_rule` JSON path (Falco's `describe_rule` output) in our load result. */
function describeValue(res: LoadResult, path: string): string {
  const parts = path.split('.');
  const [kind, indexText, section, key, sub] = parts;
  if (kind === 'rules' && indexText === undefined) return String(res.rules.length);
  if (kind === 'macros' && indexText === undefined) return String(res.macros.size);
  if (kind === 'lists' && indexText === undefined) return String(res.lists.size);
  const index = Number(indexText);
  if (kind === 'rules' && section === 'info') {
    const r = res.rules[index];
    if (!r) return '<no rule>';
    const info: Record<string, () => string> = {
      condition: () => r.condition,
      output: () => r.output,
      description: () => r.desc,
      priority: () => priorityLabel(r.priority),
      capture: () => String(r.capture),
      capture_duration: () => `${r.captureDuration ?? 0}u`,
    };
    return info[key ?? '']?.() ?? `<unknown key ${key}>`;
  }
  if (kind === 'lists' && section === 'details') {
    const [name, items] = [...res.lists.entries()][index] ?? [];
    if (!name || !items) return '<no list>';
    if (key === 'lists') return String(items.filter((i) => res.lists.has(i) && i !== name).length);
    if (key === 'items_compiled')
      return sub === undefined ? String(items.length) : (items[Number(sub)] ?? '<none>');
  }
  return `<unsupported path ${path}>`;
}

describe.skipIf(!haveFixtures)(`Falco rule loader cases ${haveFixtures ? '' : FIXTURES_SKIP_REASON}`, () => {
  const cases = haveFixtures
    ? readFixtureJson<{ cases: LoaderCase[] }>('engine_vectors', 'falco_rule_loader_cases.json').cases
    : [];

  it('has the 108 extracted cases', () => {
    expect(cases).toHaveLength(108);
    expect(Object.keys(UNSUPPORTED)).toEqual([]);
  });

  for (const c of cases) {
    const run = UNSUPPORTED[c.test] ? it.skip : it;
    run(`${c.test} (${c.source.split('/').pop()}:${c.line})`, () => {
      const load = c.load[0];
      if (!load) throw new Error('no load step');
      const options = EXTRA_OUTPUT[c.test] ? { extraOutput: EXTRA_OUTPUT[c.test] } : {};
      const res = loadRules([{ name: load.filename, content: contentOf(c) }], options);
      const errors = res.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message);
      const warnings = res.diagnostics.filter((d) => d.severity === 'warning').map((d) => d.message);
      const report = JSON.stringify({ errors, warnings }, null, 1);

      expect(res.ok, report).toBe(load.expect_ok);
      const e = c.expect;
      for (const s of e.errors_contain ?? [])
        expect(
          errors.some((m) => m.includes(s)),
          `error "${s}" in ${report}`,
        ).toBe(true);
      for (const s of e.warnings_contain ?? []) {
        expect(
          warnings.some((m) => m.includes(s)),
          `warning "${s}" in ${report}`,
        ).toBe(true);
      }
      for (const s of e.warnings_absent ?? []) {
        expect(
          warnings.some((m) => m.includes(s)),
          `no warning "${s}" in ${report}`,
        ).toBe(false);
      }
      if (e.has_warnings !== undefined) expect(warnings.length > 0, report).toBe(e.has_warnings);
      for (const [name, cond] of Object.entries(e.compiled_condition ?? {})) {
        expect(res.rules.find((r) => r.name === name)?.compiledCondition, name).toBe(cond);
      }
      for (const [name, out] of Object.entries(e.compiled_output ?? {})) {
        expect(res.rules.find((r) => r.name === name)?.output, name).toBe(out);
      }
      for (const d of e.describe_rule ?? []) {
        const want = typeof d.value === 'string' ? d.value : d.value.raw;
        expect(describeValue(res, d.path), d.path).toBe(want);
      }
      for (const n of e.num_rules_for_ruleset ?? []) {
        expect(res.rules.filter((r) => r.enabled).length, `rules enabled in ${n.ruleset}`).toBe(
          Number(n.count),
        );
      }
      if (e.schema_validation) {
        expect(res.schemaValidation.map((s) => `validation_${s}`)).toEqual(e.schema_validation);
      }
    });
  }
});

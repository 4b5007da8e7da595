/**
 * Falco's legacy regression specs for rule loading (`syscall/falco_tests.yaml`,
 * `syscall/falco_tests_exceptions.yaml`) against the rules files they use (`syscall/test_rules/`).
 *
 * - `validate_rules_file` cases: every expected error/warning is found with the same code, item
 *   type and item name, and the same message (or the message today's Falco gives, see
 *   MESSAGE_UPDATES); every error carries a `file:line:col` in the files loaded.
 * - `rules_file` cases (detection runs): the rules load without errors.
 * - every file of test_rules/ is used by at least one of the above, or listed in UNREFERENCED with
 *   its expected outcome.
 *
 * The specs date from 2023 (Falco 0.35); some messages were reworded since. This engine follows
 * today's Falco (the texts of the loader cases in engine_vectors), so the old texts are mapped.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../src/engine/diagnostics.js';
import { loadRules, type LoadResult } from '../../src/engine/rules/index.js';
import { asArray, mapSpecPath, readFalcoSpec, type FalcoTestCase } from '../helpers/falco-test-spec.js';
import { FIXTURES_SKIP_REASON, fixturePath, haveFixtures } from '../helpers/fixtures.js';

/** Old message → today's message (and why it changed). */
const MESSAGE_UPDATES: Record<string, { now: string; why: string }> = {
  "Macro has 'append' key but no macro by that name already exists": {
    now: "Macro uses 'append' or 'override.condition: append' but no macro by that name already exists",
    why: 'reworded when override: was introduced (Falco 0.36)',
  },
  "List has 'append' key but no list by that name already exists": {
    now: "List uses 'append' or 'override.items: append' but no list by that name already exists",
    why: 'reworded when override: was introduced (Falco 0.36)',
  },
  "Rule has 'append' key but no rule by that name already exists": {
    now: "Rule uses 'append' or 'override.<key>: append' but no rule by that name already exists",
    why: 'reworded when override: was introduced (Falco 0.36)',
  },
  "Can't decode YAML scalar value": {
    now: `Unable to parse engine version 'not-a-number' as a semver string. Expected "x.y.z" semver format.`,
    why: 'semver engine versions (Falco 0.37): a non-number is now parsed as a semver string',
  },
  'Rules require engine version 9999999, but engine version is': {
    now: 'Rules require engine version 0.9999999.0, but engine version is',
    why: 'legacy numeric versions are shown as the semver they stand for (Falco 0.37)',
  },
};

/** Old codes → today's. */
const CODE_UPDATES: Record<string, string> = {
  // the spec names a code Falco never had; the warning for skip-if-unknown-filter is LOAD_UNKNOWN_FILTER
  LOAD_UNKNOWN_FIELD: 'LOAD_UNKNOWN_FILTER',
};

/** Files no spec case uses, with the outcome expected from their content. */
const UNREFERENCED: Record<string, { code?: string; message?: string }> = {
  'syscall/test_rules/multiple_docs.yaml': {},
  'syscall/test_rules/invalid_condition_not_rule.yaml': {
    code: 'LOAD_ERR_YAML_VALIDATE',
    message: "Mapping for key 'condition' is empty",
  },
  'syscall/test_rules/invalid_macro_comple_error.yaml': {
    code: 'LOAD_ERR_VALIDATE',
    message: "Undefined macro 'gak' used in filter.",
  },
};

/**
 * Expectations another module must meet first. `it.fails` keeps them honest: the test turns red
 * once the gap is closed, so the entry gets removed.
 */
const KNOWN_GAPS: Record<string, string> = {};

interface Expected {
  item_type: string;
  item_name: string;
  code: string;
  message?: string;
  message_contains?: string;
}

/** A spec path → fixture files (a directory loads its files in name order, like Falco). */
function specFiles(p: string): string[] {
  const abs = mapSpecPath(p);
  if (statSync(abs).isDirectory()) {
    return readdirSync(abs)
      .filter((f) => f.endsWith('.yaml'))
      .sort()
      .map((f) => join(abs, f));
  }
  return [abs];
}

function load(paths: string[]): LoadResult {
  return loadRules(
    paths.map((p) => ({ name: relative(fixturePath(), p), content: readFileSync(p, 'utf8') })),
  );
}

function specCases(): FalcoTestCase[] {
  if (!haveFixtures) return [];
  return [
    ...readFalcoSpec('syscall', 'falco_tests.yaml'),
    ...readFalcoSpec('syscall', 'falco_tests_exceptions.yaml'),
  ];
}

function matches(d: Diagnostic, e: Expected): boolean {
  const code = CODE_UPDATES[e.code] ?? e.code;
  if (d.code !== code || d.itemType !== e.item_type || d.itemName !== e.item_name) return false;
  if (code === 'LOAD_ERR_YAML_PARSE') return true; // the YAML library's wording differs; code and line are checked
  if (e.message !== undefined) return d.message === (MESSAGE_UPDATES[e.message]?.now ?? e.message);
  if (e.message_contains !== undefined)
    return d.message.includes(MESSAGE_UPDATES[e.message_contains]?.now ?? e.message_contains);
  return true;
}

function describeDiags(ds: Diagnostic[]): string {
  return ds.map((d) => `${d.severity} ${d.code} [${d.itemType} '${d.itemName}'] ${d.message}`).join('\n');
}

describe.skipIf(!haveFixtures)(`legacy Falco test rules ${haveFixtures ? '' : FIXTURES_SKIP_REASON}`, () => {
  const cases = specCases();
  const used = new Set<string>();

  for (const c of cases.filter((x) => x.validate_rules_file !== undefined)) {
    const gap = KNOWN_GAPS[c.name];
    (gap ? it.fails : it)(`validate ${c.name}${gap ? ` (known gap: ${gap})` : ''}`, () => {
      const files = asArray(c.validate_rules_file).flatMap(specFiles);
      files.forEach((f) => used.add(f));
      const res = load(files);
      const errors = res.diagnostics.filter((d) => d.severity === 'error');
      const warnings = res.diagnostics.filter((d) => d.severity === 'warning');
      const expectedErrors = (c.validate_errors ?? []) as Expected[];
      const expectedWarnings = (c.validate_warnings ?? []) as Expected[];
      for (const e of expectedErrors) {
        expect(
          errors.some((d) => matches(d, e)),
          `${JSON.stringify(e)} in\n${describeDiags(errors)}`,
        ).toBe(true);
      }
      for (const e of expectedWarnings) {
        expect(
          warnings.some((d) => matches(d, e)),
          `${JSON.stringify(e)} in\n${describeDiags(warnings)}`,
        ).toBe(true);
      }
      expect(res.ok).toBe(expectedErrors.length === 0);
      if (c.exit_status !== undefined) expect(res.ok ? 0 : 1).toBe(c.exit_status);
      const names = files.map((f) => relative(fixturePath(), f));
      for (const d of errors) {
        expect(d.position, `${d.message} has a location`).toBeDefined();
        expect(names).toContain(d.position?.file);
        expect(d.position?.line).toBeGreaterThan(0);
        expect(d.position?.col).toBeGreaterThan(0);
      }
      for (const ok of asArray(c.validate_ok as string | string[] | undefined)) {
        expect(errors.filter((d) => d.position?.file.endsWith(`/${ok}`))).toEqual([]);
      }
    });
  }

  it('reports YAML syntax errors at their line (invalid_yaml_parse_error)', () => {
    const res = load(specFiles('rules/invalid_yaml_parse_error.yaml'));
    const [e] = res.diagnostics;
    expect(e).toMatchObject({ code: 'LOAD_ERR_YAML_PARSE', position: { line: 1 } });
  });

  for (const c of cases.filter((x) => x.rules_file !== undefined)) {
    it(`loads the rules of ${c.name}`, () => {
      const files = asArray(c.rules_file).flatMap(specFiles);
      files.forEach((f) => used.add(f));
      const res = load(files);
      expect(describeDiags(res.diagnostics.filter((d) => d.severity === 'error'))).toBe('');
      expect(res.rules.length + res.diagnostics.length).toBeGreaterThanOrEqual(0);
    });
  }

  for (const [file, outcome] of Object.entries(UNREFERENCED)) {
    it(`loads ${file} as expected`, () => {
      const res = load([fixturePath(file)]);
      used.add(fixturePath(file));
      const errors = res.diagnostics.filter((d) => d.severity === 'error');
      if (outcome.code === undefined) {
        expect(describeDiags(errors)).toBe('');
      } else {
        expect(errors).toHaveLength(1);
        expect(errors[0]).toMatchObject({ code: outcome.code, message: outcome.message, position: { file } });
      }
    });
  }

  it('uses every file of test_rules', () => {
    const all: string[] = [];
    const walk = (dir: string): void => {
      for (const n of readdirSync(dir)) {
        const p = join(dir, n);
        if (statSync(p).isDirectory()) walk(p);
        else if (n.endsWith('.yaml')) all.push(p);
      }
    };
    walk(fixturePath('syscall', 'test_rules'));
    expect(all.filter((f) => !used.has(f)).map((f) => relative(fixturePath(), f))).toEqual([]);
  });
});

/**
 * Every rules file of the fixtures (falcosecurity/rules, k8saudit and other plugin rulesets) loads
 * without errors, each with the files it builds on, in the order Falco users load them.
 *
 * Rules of plugin sources this engine does not have (cloudtrail, gcpaudit, okta, github) are skipped
 * with LOAD_UNKNOWN_SOURCE warnings, and their `required_plugin_versions` are recorded but not
 * errors (see Collector.definePluginVersions). Load times are printed, not asserted.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRules, type LoadResult } from '../../src/engine/rules/index.js';
import { FIXTURES_SKIP_REASON, fixturePath, haveFixtures, readFixtureText } from '../helpers/fixtures.js';

const STABLE = 'rules/falcosecurity-rules/main/falco_rules.yaml';
const INCUBATING = 'rules/falcosecurity-rules/main/falco-incubating_rules.yaml';
const SANDBOX = 'rules/falcosecurity-rules/main/falco-sandbox_rules.yaml';

interface Group {
  files: string[];
  /** Sources whose rules are skipped (plugins we do not have). */
  unknownSources?: string[];
}

const GROUPS: Group[] = [
  { files: [STABLE] },
  // incubating and sandbox use macros and lists of the stable file
  { files: [STABLE, INCUBATING] },
  { files: [STABLE, SANDBOX] },
  { files: [STABLE, INCUBATING, SANDBOX] },
  { files: ['rules/falcosecurity-rules/falco-rules-1.0.1/falco_rules.yaml'] },
  { files: ['rules/falcosecurity-rules/falco-rules-5.1.0/falco_rules.yaml'] },
  // the archived rulesets build on the stable one
  { files: [STABLE, 'rules/falcosecurity-rules/archive/application_rules.yaml'] },
  { files: [STABLE, 'rules/falcosecurity-rules/archive/falco-deprecated_rules.yaml'] },
  { files: ['rules/falco-0.31.1-intree/falco_rules.yaml'] },
  { files: ['rules/falco-0.31.1-intree/k8s_audit_rules.yaml'] },
  { files: ['rules/k8saudit/k8saudit-0.6.0/k8s_audit_rules.yaml'] },
  { files: ['rules/k8saudit/main/k8s_audit_rules.yaml'] },
  // the GKE file tunes rules of the main k8s audit file
  { files: ['rules/k8saudit/main/k8s_audit_rules.yaml', 'rules/k8saudit/main/k8s_audit_rules_gke.yaml'] },
  { files: ['rules/plugins/aws_cloudtrail_rules.yaml'], unknownSources: ['aws_cloudtrail'] },
  { files: ['rules/plugins/gcp_auditlog_rules.yaml'], unknownSources: ['gcp_auditlog'] },
  { files: ['rules/plugins/okta_rules.yaml'], unknownSources: ['okta'] },
  { files: ['rules/plugins/github_rules.yaml'], unknownSources: ['github'] },
];

function load(files: string[]): { res: LoadResult; ms: number } {
  const input = files.map((f) => ({ name: f, content: readFixtureText(f) }));
  const t0 = performance.now();
  const res = loadRules(input);
  return { res, ms: performance.now() - t0 };
}

function yamlFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...yamlFilesUnder(p));
    else if (name.endsWith('.yaml')) out.push(p);
  }
  return out;
}

describe.skipIf(!haveFixtures)(
  `rules files of the fixtures ${haveFixtures ? '' : FIXTURES_SKIP_REASON}`,
  () => {
    it('covers every rules file of the fixtures', () => {
      const all = yamlFilesUnder(fixturePath('rules')).map((p) => relative(fixturePath(), p));
      const covered = new Set(GROUPS.flatMap((g) => g.files));
      expect(all.filter((f) => !covered.has(f))).toEqual([]);
    });

    for (const g of GROUPS) {
      it(`loads ${g.files.join(' + ')} without errors`, () => {
        const { res, ms } = load(g.files);
        const errors = res.diagnostics.filter((d) => d.severity === 'error');
        expect(errors.map((e) => `${e.position?.file}:${e.position?.line}: ${e.code} ${e.message}`)).toEqual(
          [],
        );
        expect(res.ok).toBe(true);
        console.info(
          `${g.files.map((f) => f.split('/').slice(-2).join('/')).join(' + ')}: ${res.rules.length} rules in ${ms.toFixed(0)} ms`,
        );
        const unknown = res.diagnostics.filter((d) => d.code === 'LOAD_UNKNOWN_SOURCE');
        if (g.unknownSources) {
          expect(unknown.length).toBeGreaterThan(0);
          for (const d of unknown)
            expect(g.unknownSources.some((s) => d.message === `Unknown source ${s}, skipping`)).toBe(true);
        } else {
          expect(unknown).toEqual([]);
          expect(res.rules.length).toBeGreaterThan(0);
          for (const r of res.rules) expect(r.compiledCondition.length).toBeGreaterThan(0);
        }
      });
    }

    it('loads the stable ruleset as documented (25 rules, all enabled, engine 0.57.0)', () => {
      const { res } = load([STABLE]);
      expect(res.rules).toHaveLength(25);
      expect(res.rules.every((r) => r.enabled)).toBe(true);
      expect(res.requiredEngineVersion).toBe('0.57.0');
      expect(res.requiredPluginVersions).toEqual([{ name: 'container', version: '0.4.0', alternatives: [] }]);
      expect(res.rules.find((r) => r.name === 'Terminal shell in container')?.eventTypes).toEqual(
        new Set(['execve', 'execveat']),
      );
      expect(res.schemaValidation).toEqual(['ok']);
    });

    it('counts the rules of incubating and sandbox (31 and 37, 25 of sandbox enabled)', () => {
      const { res } = load([STABLE, INCUBATING, SANDBOX]);
      expect(res.rules).toHaveLength(25 + 31 + 37);
      const sandbox = res.rules.filter((r) => r.tags.includes('maturity_sandbox'));
      expect(sandbox).toHaveLength(37);
      expect(sandbox.filter((r) => r.enabled)).toHaveLength(25);
    });

    it('loads the k8s audit rules with the legacy numeric engine version', () => {
      const { res } = load(['rules/k8saudit/main/k8s_audit_rules.yaml']);
      expect(res.rules).toHaveLength(48);
      expect(res.rules.every((r) => r.source === 'k8s_audit')).toBe(true);
      expect(res.requiredEngineVersion).toBe('0.15.0');
    });
  },
);

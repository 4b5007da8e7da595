/**
 * Falco's legacy k8s-audit regression cases (falco_k8s_audit_tests.yaml), run through `vigil replay`
 * with the rules and events they name: expected rule counts and priorities must match exactly.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runReplay } from '../../src/app/replay.js';
import { FIXTURES_SKIP_REASON, haveFixtures } from '../helpers/fixtures.js';
import { asArray, mapSpecPath, readFalcoSpec } from '../helpers/falco-test-spec.js';

interface JsonAlert {
  rule: string;
  priority: string;
}

async function replay(rules: string[], events: string[]) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const summary = await runReplay({ rules, events, source: 'k8s_audit', json: true, stdout, stderr });
  const alerts = out
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as JsonAlert);
  return { summary, alerts, stderr: err };
}

describe.skipIf(!haveFixtures)(
  `k8s audit regression cases (${haveFixtures ? 'fixtures present' : FIXTURES_SKIP_REASON})`,
  () => {
    const cases = haveFixtures ? readFalcoSpec('k8s_audit', 'falco_k8s_audit_tests.yaml') : [];

    it('has the 55 cases of the spec', () => {
      expect(cases).toHaveLength(55);
    });

    for (const c of cases) {
      it(c.name, async () => {
        const m = /open_params=(\S+)/.exec(c.addl_cmdline_opts ?? '');
        expect(m, 'case names its event file').not.toBeNull();
        const events = [mapSpecPath(m![1]!)];
        const rules = asArray(c.rules_file).map(mapSpecPath);
        const { summary, alerts, stderr } = await replay(rules, events);
        expect(summary.exitCode, stderr).toBe(0);
        expect(summary.loadDiagnostics.filter((d) => d.severity === 'error')).toEqual([]);
        if (c.detect === false) {
          expect(alerts).toEqual([]);
        } else {
          expect(alerts.length).toBeGreaterThan(0);
          const levels = asArray(c.detect_level).map((l) => l.toLowerCase());
          for (const level of levels) {
            const want = level === 'info' ? 'informational' : level;
            expect(alerts.map((a) => a.priority.toLowerCase())).toContain(want);
          }
          for (const entry of c.detect_counts ?? []) {
            for (const [rule, count] of Object.entries(entry)) {
              expect(alerts.filter((a) => a.rule === rule).length, `alerts of '${rule}'`).toBe(count);
            }
          }
        }
        if (c.stderr_contains) expect(stderr).toContain(c.stderr_contains);
      });
    }
  },
);

/**
 * Property-based fuzzing of the rules loader: random text, random rule-shaped YAML and mutations of
 * real rules files must never make `loadRules` throw or hang, and every diagnostic must carry a
 * known Falco code. Time per input is bounded by a generous per-case limit (not a benchmark).
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, WARNING_CODES } from '../../src/engine/diagnostics.js';
import { loadRules } from '../../src/engine/rules/index.js';
import { fixturePath, haveFixtures } from '../helpers/fixtures.js';

const KNOWN_CODES = new Set<string>([...ERROR_CODES, ...WARNING_CODES]);

function checkLoad(content: string): void {
  const result = loadRules([{ name: 'fuzz.yaml', content }]);
  for (const d of result.diagnostics) {
    expect(KNOWN_CODES.has(d.code), `unknown code ${d.code}`).toBe(true);
    expect(typeof d.message).toBe('string');
  }
  expect(result.ok).toBe(!result.diagnostics.some((d) => d.severity === 'error'));
}

const SAMPLE = `
- required_engine_version: 0.31.0
- list: shells
  items: [bash, sh, "zsh"]
- macro: spawned
  condition: evt.type in (execve, execveat)
- rule: Shell
  desc: shell
  condition: spawned and proc.name in (shells) and not proc.pname startswith run
  output: "shell %proc.name %proc.aname[2] %evt.arg.flags"
  priority: WARNING
  tags: [a, b]
  exceptions:
    - name: ex1
      fields: [proc.name, fd.name]
      comps: [=, startswith]
      values:
        - [bash, /tmp]
- rule: Shell
  condition: and fd.name exists
  override:
    condition: append
`;

function realRulesFiles(): string[] {
  if (!haveFixtures) return [SAMPLE];
  return [
    SAMPLE,
    readFileSync(fixturePath('rules/falcosecurity-rules/main/falco_rules.yaml'), 'utf8'),
    readFileSync(fixturePath('rules/k8saudit/main/k8s_audit_rules.yaml'), 'utf8'),
  ];
}

const TOKENS = [
  '- rule: ',
  '- macro: ',
  '- list: ',
  '  condition: ',
  '  output: ',
  '  priority: ',
  '  desc: ',
  '  items: ',
  '  override:',
  '    condition: append',
  '  append: true',
  '  enabled: false',
  '  exceptions:',
  '    - name: x',
  '      fields: [proc.name]',
  '      values: [[a]]',
  'evt.type',
  '=',
  'open',
  ' and ',
  ' or ',
  'not ',
  '(',
  ')',
  'proc.name',
  ' in ',
  '(a, b)',
  '"quoted"',
  "'single'",
  '%proc.name',
  '[',
  ']',
  '{',
  '}',
  ':',
  '\n',
  '  ',
  '#',
  'WARNING',
  'INFO',
  'tolower(',
  'val(',
  'exists',
  '- required_engine_version: ',
  '0.1.0',
  '9999',
  '&a',
  '*a',
  '!!str',
];

describe('rules loader fuzzing', () => {
  it('never throws on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (s) => {
        checkLoad(s);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on token soups shaped like rules files', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...TOKENS), { maxLength: 80 }), (parts) => {
        checkLoad(parts.join(''));
      }),
      { numRuns: 400 },
    );
  });

  it('never throws on mutated real rules files', () => {
    const files = realRulesFiles();
    fc.assert(
      fc.property(
        fc.nat(files.length - 1),
        fc.array(
          fc.record({
            op: fc.constantFrom('delete', 'duplicate', 'swap', 'truncate', 'insert', 'replace-char'),
            at: fc.nat(),
            text: fc.constantFrom(...TOKENS),
          }),
          { minLength: 1, maxLength: 6 },
        ),
        (fileIndex, mutations) => {
          let lines = files[fileIndex]!.split('\n');
          for (const m of mutations) {
            const i = lines.length ? m.at % lines.length : 0;
            switch (m.op) {
              case 'delete':
                lines.splice(i, 1);
                break;
              case 'duplicate':
                lines.splice(i, 0, lines[i] ?? '');
                break;
              case 'swap': {
                const j = (i * 7 + 3) % Math.max(1, lines.length);
                [lines[i], lines[j]] = [lines[j] ?? '', lines[i] ?? ''];
                break;
              }
              case 'truncate':
                lines = lines.slice(0, i);
                break;
              case 'insert':
                lines.splice(i, 0, m.text);
                break;
              case 'replace-char': {
                const l = lines[i] ?? '';
                const k = l.length ? m.at % l.length : 0;
                lines[i] = l.slice(0, k) + m.text + l.slice(k + 1);
                break;
              }
            }
          }
          checkLoad(lines.join('\n'));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('survives pathological nesting and sizes', () => {
    checkLoad(
      `- rule: deep\n  desc: d\n  condition: ${'('.repeat(5000)}evt.type=open${')'.repeat(5000)}\n  output: o\n  priority: INFO\n`,
    );
    checkLoad(`- macro: m\n  condition: ${'not '.repeat(3000)}evt.type=open\n`);
    checkLoad(`- list: l\n  items: [${Array.from({ length: 20000 }, (_, i) => `v${i}`).join(', ')}]\n`);
    checkLoad('- rule: a\n'.repeat(2000));
    checkLoad('\u0000\u0001\u00ff binary \uFFFD garbage');
  });
});

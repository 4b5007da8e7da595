import { describe, expect, it } from 'vitest';
import { validateRulesSchema } from './schema.js';
import { parseYamlFile } from './yaml-tree.js';

function valid(content: string): boolean {
  const r = parseYamlFile('f.yaml', content);
  if (!r.ok) throw new Error(r.message);
  return validateRulesSchema(r.docs);
}

const RULE = '- rule: r\n  desc: d\n  condition: evt.type = open\n  output: o\n  priority: INFO\n';

describe('rules schema', () => {
  it('accepts well-formed items', () => {
    expect(valid(RULE)).toBe(true);
    expect(valid('- required_engine_version: 0.26.0\n- required_engine_version: 26\n')).toBe(true);
    expect(
      valid(
        '- required_plugin_versions:\n  - name: k8saudit\n    version: 0.7.0\n    alternatives:\n      - name: x\n        version: 0.1.0\n',
      ),
    ).toBe(true);
    expect(valid('- list: l\n  items: [a, 1, "b c"]\n  override:\n    items: append\n')).toBe(true);
    expect(
      valid(
        `${RULE}  capture: true\n  capture_duration: 10000\n  tags: [a]\n  exceptions:\n    - name: e\n      fields: [proc.name]\n      values: [[a]]\n`,
      ),
    ).toBe(true);
    // keys of other item kinds are allowed by the schema (one object type for every item)
    expect(valid('- list: l\n  items: [a]\n  priority: INFO\n')).toBe(true);
    expect(valid('')).toBe(true);
  });

  it.each([
    ['unknown key', '- list: l\n  items: [a]\n  override_written_wrong:\n    items: append\n'],
    ['quoted boolean', `${RULE}  capture: "yes"\n`],
    ['string duration', `${RULE}  capture_duration: "10"\n`],
    ['lower-case priority', RULE.replace('INFO', 'info')],
    ['unknown exception key', `${RULE}  exceptions:\n    - name: e\n      value: x\n`],
    ['exception without name', `${RULE}  exceptions:\n    - fields: [a]\n`],
    ['empty override', `${RULE}  override: {}\n`],
    ['bad override operation', `${RULE}  override:\n    desc: merge\n`],
    ['not a sequence', 'foo: bar\n'],
    ['plugin without version', '- required_plugin_versions:\n  - name: k8saudit\n'],
  ])('rejects %s', (_what, content) => {
    expect(valid(content)).toBe(false);
  });
});

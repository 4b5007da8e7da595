import { describe, expect, it } from 'vitest';
import { Collector } from './collector.js';
import { DiagnosticSink } from './context.js';
import { RulesFileReader, WARNING_APPEND, WARNING_ENABLED } from './reader.js';
import { parseYamlFile } from './yaml-tree.js';

/** Read files into one collector with a fake field check (the real one needs the compiler). */
function read(...contents: string[]) {
  const sink = new DiagnosticSink();
  const collector = new Collector(
    {
      engineVersion: '0.63.0',
      pluginVersions: { k8saudit: '0.18.0', json: '0.7.0' },
      isKnownSource: (s) => s === 'syscall' || s === 'k8s_audit',
      isFieldDefined: (_s, f) =>
        /^(proc|fd|evt|ka)\.[a-z_.]+$/.test(f.trim()) || /^tolower\(\s*proc\.name\)$/.test(f),
    },
    sink,
  );
  const results = contents.map((c, i) => {
    const p = parseYamlFile(`f${i}.yaml`, c);
    if (!p.ok) throw new Error(p.message);
    return new RulesFileReader(p.file, collector, sink).read(p.docs);
  });
  const errors = sink.diagnostics.filter((d) => d.severity === 'error');
  const warnings = sink.diagnostics.filter((d) => d.severity === 'warning');
  return { collector, sink, results, errors, warnings };
}

const RULE = (name: string, extra = '') =>
  `- rule: ${name}\n  desc: d\n  condition: evt.type = open\n  output: "  out %proc.name  "\n  priority: INFO\n${extra}`;

describe('reader and collector', () => {
  it('defines rules with defaults, trimmed output and sorted tags', () => {
    const { collector, errors } = read(RULE('r', '  tags: [b, a, b]\n'));
    expect(errors).toEqual([]);
    const r = collector.rules.get('r');
    expect(r).toMatchObject({
      name: 'r',
      source: 'syscall',
      enabled: true,
      warnEvttypes: true,
      skipIfUnknownFilter: false,
      capture: false,
      captureDuration: 0,
      priority: 'INFORMATIONAL',
      tags: ['a', 'b'],
      desc: 'd',
    });
    expect(r?.output.text).toBe('out %proc.name');
    expect(r?.cond.text).toBe('evt.type = open');
    expect(r?.firstPosition).toMatchObject({ file: 'f0.yaml', line: 1, col: 3 });
  });

  it('numbers items with one counter and re-defines in place', () => {
    const { collector } = read(
      '- list: l\n  items: [a]\n- macro: m\n  condition: x\n' +
        RULE('r1') +
        RULE('r2') +
        '- list: l\n  items: [b]\n' +
        RULE('r1'),
    );
    expect(collector.lists.get('l')).toMatchObject({ index: 0, visibility: 4, items: ['b'] });
    expect(collector.macros.get('m')).toMatchObject({ index: 1, visibility: 1 });
    expect([...collector.rules.keys()]).toEqual(['r1', 'r2']);
    expect(collector.rules.get('r1')).toMatchObject({ index: 2, visibility: 5 });
  });

  it('appends lists, macros and rules, and warns about the append key', () => {
    const { collector, errors, warnings } = read(
      '- list: l\n  items: [a]\n- list: l\n  items: [b]\n  override:\n    items: append\n' +
        '- macro: m\n  condition: a\n- macro: m\n  condition: or b\n  append: true\n' +
        RULE('r', '  tags: [x]\n') +
        '- rule: r\n  condition: and proc.name = cat\n  output: more\n  desc: also\n  tags: [w]\n  override:\n    condition: append\n    output: append\n    desc: append\n    tags: append\n',
    );
    expect(errors).toEqual([]);
    expect(collector.lists.get('l')?.items).toEqual(['a', 'b']);
    expect(collector.macros.get('m')?.cond.text).toBe('a or b');
    expect(warnings.map((w) => w.message)).toEqual([WARNING_APPEND]);
    const r = collector.rules.get('r');
    expect(r?.cond.text).toBe('evt.type = open and proc.name = cat');
    expect(r?.output.text).toBe('out %proc.name more');
    expect(r?.desc).toBe('d also');
    expect(r?.tags).toEqual(['w', 'x']);
  });

  it('replaces selected keys', () => {
    const { collector, errors } = read(
      RULE('r') +
        '- rule: r\n  priority: WARNING\n  enabled: false\n  capture: true\n  capture_duration: 15000\n  condition: evt.type = close\n  override:\n    priority: replace\n    enabled: replace\n    capture: replace\n    capture_duration: replace\n    condition: replace\n',
    );
    expect(errors).toEqual([]);
    expect(collector.rules.get('r')).toMatchObject({
      priority: 'WARNING',
      enabled: false,
      capture: true,
      captureDuration: 15000,
    });
    expect(collector.rules.get('r')?.cond.text).toBe('evt.type = close');
  });

  it.each([
    [
      '- rule: r\n  priority: WARNING\n  override:\n    priority: append\n',
      "Key 'priority' cannot be appended to, use 'replace' instead",
    ],
    [
      '- rule: r\n  desc: x\n  override:\n    desc: merge\n',
      "Invalid override operation for key 'desc': 'merge'. Allowed values are: append replace ",
    ],
    [
      '- rule: r\n  desc: x\n  override:\n    desc: replace\n    condition: append\n',
      "An append override for 'condition' was specified but 'condition' is not defined",
    ],
    [
      '- rule: r\n  desc: x\n  priority: INFO\n  override:\n    desc: replace\n',
      "Unexpected key 'priority': no corresponding entry under 'override' is defined.",
    ],
    [
      '- rule: r\n  condition: x\n  append: true\n  override:\n    condition: append\n',
      "Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.",
    ],
    [
      '- rule: r\n  condition: evt.type = x\n  source: k8s_audit\n  override:\n    condition: replace\n',
      'Rule has been re-defined with a different source',
    ],
    ['- rule: r\n  append: true\n', 'Appended rule must have exceptions or condition property'],
  ])('rejects bad overrides: %#', (item, message) => {
    const { errors } = read(RULE('r') + item);
    expect(errors.map((e) => e.message)).toEqual([message]);
  });

  it.each([
    [
      '- list: l\n  items: [a]\n  append: true\n',
      "List uses 'append' or 'override.items: append' but no list by that name already exists",
      'list',
    ],
    [
      '- macro: m\n  condition: a\n  override:\n    condition: append\n',
      "Macro uses 'append' or 'override.condition: append' but no macro by that name already exists",
      'macro',
    ],
    [
      '- rule: r\n  condition: a\n  append: true\n',
      "Rule uses 'append' or 'override.<key>: append' but no rule by that name already exists",
      'rule',
    ],
    [
      '- rule: r\n  condition: a\n  override:\n    condition: replace\n',
      "An 'override.<key>: replace' to a rule was requested but no rule by that name already exists",
      'rule',
    ],
    [
      '- rule: r\n  enabled: true\n',
      "Rule has 'enabled' key but no rule by that name already exists",
      'rule',
    ],
  ])('rejects appends to missing items: %#', (item, message, itemType) => {
    const { errors } = read(item);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      code: 'LOAD_ERR_VALIDATE',
      message,
      itemType,
      itemName: item.split('\n')[0]?.split(': ')[1],
    });
  });

  it('stops reading a file at its first error, but reads the next file', () => {
    const { collector, errors, results } = read(
      '- list: a\n  items: [x]\n- rule: bad\n  desc: d\n- list: b\n  items: [y]\n',
      '- list: c\n  items: [z]\n',
    );
    expect(errors.map((e) => e.message)).toEqual(["Item has no mapping for key 'condition'"]);
    expect(errors[0]).toMatchObject({ code: 'LOAD_ERR_YAML_VALIDATE', itemType: 'rule', itemName: 'bad' });
    expect(errors[0]?.position).toMatchObject({ line: 3, col: 3 });
    expect(results).toEqual([false, true]);
    expect([...collector.lists.keys()]).toEqual(['a', 'c']);
  });

  it.each([
    ['This is not yaml', 'Rules content is not yaml', 'rules content'],
    ['foo: bar', 'Rules content is not yaml array of objects', 'rules content'],
    [
      '- foo',
      'Unexpected element type. Each element should be a yaml associative array.',
      'rules content item',
    ],
    ['- rule:\n  desc: x\n', "Mapping for key 'rule' is empty", 'rule'],
    ['- list: l\n', "Item has no mapping for key 'items'", 'list'],
    ['- list: l\n  items: a\n', 'Value is not a sequence', 'list'],
    ['- list: l\n  items: [[a]]\n', 'sequence value is not scalar', 'list'],
    ['- macro: m\n  condition: ""\n', 'Value must be non-empty', 'macro'],
    [RULE('r', '  capture_duration: "not_a_number"\n'), "Can't decode YAML scalar value", 'rule'],
    [RULE('r', '  enabled: maybe\n'), "Can't decode YAML scalar value", 'rule'],
    ['- rule: r\n  desc: d\n  condition: c\n  output: o\n  priority: SEVERE\n', 'Invalid priority', 'rule'],
    [
      '- required_engine_version: seven\n',
      `Unable to parse engine version 'seven' as a semver string. Expected "x.y.z" semver format.`,
      'required_engine_version',
    ],
  ])('reports structure errors: %#', (content, message, itemType) => {
    const { errors } = read(content);
    expect(errors.map((e) => e.message)).toEqual([message]);
    expect(errors[0]?.itemType).toBe(itemType);
    expect(errors[0]?.code).toBe('LOAD_ERR_YAML_VALIDATE');
  });

  it('decodes booleans like yaml-cpp', () => {
    const { collector, errors } = read(RULE('r', '  capture: "yes"\n  enabled: off\n'));
    expect(errors).toEqual([]);
    expect(collector.rules.get('r')).toMatchObject({ capture: true, enabled: false });
  });

  it('checks engine and plugin versions', () => {
    expect(read('- required_engine_version: 0.26.0\n').errors).toEqual([]);
    expect(read('- required_engine_version: 15\n').collector.requiredEngineVersion).toEqual({
      major: 0,
      minor: 15,
      patch: 0,
    });
    expect(read('- required_engine_version: 9999999\n').errors.map((e) => e.message)).toEqual([
      'Rules require engine version 0.9999999.0, but engine version is 0.63.0',
    ]);
    const plugins = (body: string) => read(`- required_plugin_versions:\n${body}`);
    expect(
      plugins(
        '  - name: k8saudit\n    version: 0.7.0\n    alternatives:\n      - name: k8saudit-eks\n        version: 0.1.0\n',
      ).errors,
    ).toEqual([]);
    expect(plugins('  - name: cloudtrail\n    version: 0.12.0\n').errors).toEqual([]);
    expect(plugins('  - name: k8saudit\n    version: 1.0.0\n').errors.map((e) => e.message)).toEqual([
      "Plugin 'k8saudit' version '0.18.0' is not compatible with required plugin version '1.0.0'",
    ]);
    expect(plugins('  - name: x\n    version: abc\n').errors.map((e) => e.message)).toEqual([
      "Invalid required version 'abc' for plugin 'x'",
    ]);
    expect(
      plugins(
        '  - name: x\n    version: 1.0.0\n    alternatives:\n      - name: x\n        version: 2.0.0\n',
      ).errors.map((e) => e.message),
    ).toEqual(["Defined multiple alternative version requirements for plugin 'x'"]);
  });

  it('warns about unknown items, unknown keys, invalid names, unknown sources and standalone enabled', () => {
    const { warnings, collector, errors } = read(
      '- foo: bar\n- list: bad list\n  items: [a]\n  priority: INFO\n- macro: bad-macro\n  condition: x\n' +
        RULE('r', '  typo: 1\n') +
        RULE('plugin rule', '  source: aws_cloudtrail\n') +
        '- rule: r\n  enabled: false\n',
    );
    expect(errors).toEqual([]);
    expect(warnings.map((w) => [w.code, w.itemName])).toEqual([
      ['LOAD_UNKNOWN_ITEM', ''],
      ['LOAD_UNKNOWN_KEY', 'bad list'],
      ['LOAD_INVALID_LIST_NAME', 'bad list'],
      ['LOAD_INVALID_MACRO_NAME', 'bad-macro'],
      ['LOAD_UNKNOWN_KEY', 'r'],
      ['LOAD_UNKNOWN_SOURCE', 'plugin rule'],
      ['LOAD_DEPRECATED_ITEM', 'r'],
    ]);
    expect(warnings[1]?.message).toBe("Unknown key 'priority'. The key will be ignored.");
    expect(warnings[1]?.position).toMatchObject({ line: 4, col: 3 });
    expect(warnings[5]?.message).toBe('Unknown source aws_cloudtrail, skipping');
    expect(warnings[6]?.message).toBe(WARNING_ENABLED);
    expect(collector.rules.get('r')?.enabled).toBe(false);
    expect(collector.rules.get('plugin rule')?.unknownSource).toBe(true);
  });

  describe('exceptions', () => {
    const EX = (body: string) => RULE('r', `  exceptions:\n${body}`);

    it('reads both forms and fills default comps', () => {
      const { collector, errors } = read(
        EX(
          '    - name: single\n      fields: proc.name\n      values: [cat, "a b"]\n' +
            '    - name: multi\n      fields: [proc.name, fd.name]\n      values:\n        - [cat, /tmp]\n',
        ),
      );
      expect(errors).toEqual([]);
      const [single, multi] = collector.rules.get('r')?.exceptions ?? [];
      expect(single?.comps).toMatchObject({ isList: false, item: 'in' });
      expect(single?.values.map((v) => v.item)).toEqual(['cat', 'a b']);
      expect(multi?.comps.items.map((c) => c.item)).toEqual(['=', '=']);
      expect(multi?.values[0]?.items.map((v) => v.item)).toEqual(['cat', '/tmp']);
    });

    it.each([
      [
        '    - name: ex1\n      values: [[a]]\n',
        "Item has no mapping for key 'fields'",
        'LOAD_ERR_YAML_VALIDATE',
        'ex1',
      ],
      ['    - fields: [proc.name]\n', "Item has no mapping for key 'name'", 'LOAD_ERR_YAML_VALIDATE', ''],
      [
        '    - name: ex1\n      fields: [proc.name, fd.name]\n      comps: [=]\n',
        'Fields and comps lists must have equal length',
        'LOAD_ERR_VALIDATE',
        'ex1',
      ],
      [
        '    - name: ex1\n      fields: [proc.name]\n      comps: [no-comp]\n',
        "'no-comp' is not a supported comparison operator",
        'LOAD_ERR_VALIDATE',
        'ex1',
      ],
      [
        '    - name: ex1\n      fields: [proc.name]\n      comps: [in oneof]\n',
        "'in oneof' is not a supported comparison operator",
        'LOAD_ERR_VALIDATE',
        'ex1',
      ],
      [
        '    - name: ex1\n      fields: [not.exist]\n',
        "'not.exist' is not a supported filter field",
        'LOAD_ERR_VALIDATE',
        'ex1',
      ],
      [
        '    - name: ex1\n      fields: proc.name\n      comps: frobulate oneof\n',
        'When fields is a single value, comps must be one of (in, pmatch, intersects)',
        'LOAD_ERR_VALIDATE',
        'ex1',
      ],
      [
        '    - name: ex1\n      fields: proc.name\n      comps: [in]\n',
        'Fields and comps must both be strings',
        'LOAD_ERR_VALIDATE',
        'ex1',
      ],
      ['    name: ex1\n', 'Rule exceptions must be a sequence', 'LOAD_ERR_YAML_VALIDATE', 'r'],
    ])('validates: %#', (body, message, code, itemName) => {
      const { errors } = read(EX(body));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ message, code, itemName });
    });

    it('accepts modifier comparison operators with any spacing', () => {
      const { errors, collector } = read(
        EX(
          '    - name: ex\n      fields: [proc.name, fd.name]\n      comps: ["  startswith   oneof ", glob anyof]\n      values: [[[a], [b]]]\n',
        ),
      );
      expect(errors).toEqual([]);
      expect(collector.rules.get('r')?.exceptions[0]?.comps.items.map((c) => c.item)).toEqual([
        '  startswith   oneof ',
        'glob anyof',
      ]);
    });

    it('appends values to existing exceptions and checks new ones', () => {
      const base = EX('    - name: ex\n      fields: [proc.name]\n      values: [[a]]\n');
      const ok = read(
        base +
          '- rule: r\n  exceptions:\n    - name: ex\n      values: [[b]]\n  override:\n    exceptions: append\n',
      );
      expect(ok.errors).toEqual([]);
      expect(ok.collector.rules.get('r')?.exceptions[0]?.values.map((v) => v.items[0]?.item)).toEqual([
        'a',
        'b',
      ]);

      const noValues = read(
        base + '- rule: r\n  exceptions:\n    - name: ex\n      value: x\n  append: true\n',
      );
      expect(noValues.errors).toEqual([]);
      expect(noValues.warnings.map((w) => w.code)).toContain('LOAD_APPEND_NO_VALUES');

      const newNoFields = read(
        base + '- rule: r\n  exceptions:\n    - name: ex2\n      values: [[b]]\n  append: true\n',
      );
      expect(newNoFields.errors.map((e) => e.message)).toEqual([
        'Rule exception must have fields property with a list of fields',
      ]);
      expect(newNoFields.errors[0]).toMatchObject({ itemType: 'exception', itemName: 'ex2' });

      const fieldsAgain = read(
        base +
          '- rule: r\n  exceptions:\n    - name: ex\n      fields: [fd.name]\n      values: [[b]]\n  append: true\n',
      );
      expect(fieldsAgain.errors.map((e) => e.message)).toEqual([
        'Can not append exception fields to existing exception, only values',
      ]);

      const replacePartial = read(
        base +
          '- rule: r\n  exceptions:\n    - name: ex\n      values: [[b]]\n  override:\n    exceptions: replace\n',
      );
      expect(replacePartial.errors.map((e) => e.message)).toEqual(["Item has no mapping for key 'fields'"]);
    });

    it('warns about duplicate exception names', () => {
      const { warnings, errors } = read(
        EX(
          '    - name: ex\n      fields: [proc.name]\n      values: [[a]]\n    - name: ex\n      fields: [fd.name]\n      values: [[b]]\n',
        ),
      );
      expect(errors).toEqual([]);
      expect(warnings.map((w) => w.message)).toEqual([
        "Multiple definitions of exception 'ex' in the same rule",
      ]);
    });
  });
});

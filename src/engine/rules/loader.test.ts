import { describe, expect, it } from 'vitest';
import type { Diagnostic } from '../diagnostics.js';
import { loadRules, type LoadResult } from './index.js';

function load(...contents: string[]): LoadResult {
  return loadRules(contents.map((content, i) => ({ name: `f${i}.yaml`, content })));
}

function errors(r: LoadResult): Diagnostic[] {
  return r.diagnostics.filter((d) => d.severity === 'error');
}

function warnings(r: LoadResult, code?: string): Diagnostic[] {
  return r.diagnostics.filter((d) => d.severity === 'warning' && (code === undefined || d.code === code));
}

const rule = (name: string, condition: string, extra = '') =>
  `- rule: ${name}\n  desc: d\n  condition: ${condition}\n  output: "%proc.name"\n  priority: INFO\n${extra}`;

describe('loadRules', () => {
  it('compiles rules with lists, macros and exceptions expanded', () => {
    const r = load(
      '- list: shells\n  items: [bash, "my shell"]\n- macro: spawned\n  condition: evt.type in (execve, execveat)\n' +
        rule(
          'Shell',
          'spawned and proc.name in (shells)',
          '  tags: [b, a]\n  exceptions:\n    - name: e\n      fields: [proc.pname]\n      values: [[sshd]]\n',
        ),
    );
    expect(errors(r)).toEqual([]);
    expect(r.ok).toBe(true);
    const [s] = r.rules;
    expect(s).toMatchObject({
      name: 'Shell',
      condition: 'spawned and proc.name in (shells)',
      tags: ['a', 'b'],
      index: 0,
    });
    expect(s?.compiledCondition).toBe(
      '((evt.type in (execve, execveat) and proc.name in (bash, "my shell")) and not proc.pname = sshd)',
    );
    expect(s?.eventTypes).toEqual(new Set(['execve', 'execveat']));
    expect(s?.exceptionFields).toEqual(['proc.pname']);
    expect(typeof s?.filter).toBe('function');
    expect(r.lists.get('shells')).toEqual(['bash', 'my shell']);
    expect(r.macros.get('spawned')).toEqual({ condition: 'evt.type in (execve, execveat)', used: true });
    expect(r.schemaValidation).toEqual(['ok']);
  });

  it('locates parse errors in plain multi-line scalars', () => {
    const r = load('- macro: m\n  condition: evt.type = open and\n    proc.name = cat )\n');
    const [e] = errors(r);
    expect(e).toMatchObject({ code: 'LOAD_ERR_COMPILE_CONDITION', itemType: 'macro', itemName: 'm' });
    expect(e?.position).toMatchObject({ file: 'f0.yaml', line: 3, col: 21 });
  });

  it('locates errors in folded block scalars and in appended text', () => {
    const r = load(
      rule('r', '>\n    evt.type = open and\n      proc.nme = cat') +
        '- rule: r\n  condition: and fd.nme = x\n  append: true\n',
    );
    const es = errors(r);
    expect(es.map((e) => e.message)).toEqual(['filter_check called with nonexistent field proc.nme']);
    expect(es[0]?.position).toMatchObject({ file: 'f0.yaml', line: 5, col: 7 });
    expect(es[0]?.context.map((c) => c.kind)).toEqual(['rules content', 'rule', 'rule condition']);

    const appended = load(
      rule('r', 'evt.type = open'),
      '- rule: r\n  condition: and fd.nme = x\n  append: true\n',
    );
    expect(errors(appended)[0]?.position).toMatchObject({ file: 'f1.yaml', line: 2, col: 18 });
  });

  it('locates errors inside macros at the macro, reported for the rule using it', () => {
    const r = load('- macro: m\n  condition: proc.nme = cat\n' + rule('uses m', 'evt.type = open and m'));
    const [e] = errors(r);
    expect(e).toMatchObject({
      itemType: 'rule',
      itemName: 'uses m',
      message: 'filter_check called with nonexistent field proc.nme',
    });
    expect(e?.position).toMatchObject({ line: 2, col: 14 });
    expect(e?.context.map((c) => `${c.kind}:${c.name}`)).toEqual([
      'rules content:',
      'rule:uses m',
      'rule condition:',
      'macro:m',
    ]);
  });

  it('keeps columns right after list substitution', () => {
    const r = load('- list: l\n  items: [a, b, c]\n' + rule('r', 'proc.name in (l) and fd.nme = x'));
    expect(errors(r)[0]?.position).toMatchObject({ line: 5, col: 35 });
  });

  it('reports undefined macros and output errors with positions', () => {
    const r = load(
      rule('r', 'evt.type = open and not known_macro'),
      rule('o', 'evt.type = open').replace('"%proc.name"', '"x %not_a_field"'),
    );
    expect(
      errors(r).map((e) => [e.code, e.message, e.position?.file, e.position?.line, e.position?.col]),
    ).toEqual([
      ['LOAD_ERR_VALIDATE', "Undefined macro 'known_macro' used in filter.", 'f0.yaml', 3, 38],
      ['LOAD_ERR_COMPILE_OUTPUT', 'invalid formatting token not_a_field', 'f1.yaml', 4, 14],
    ]);
    expect(r.ok).toBe(false);
  });

  it('skips rules with unknown fields when skip-if-unknown-filter is set', () => {
    const r = load(rule('r', 'evt.type = open and proc.nobody = cat', '  skip-if-unknown-filter: true\n'));
    expect(errors(r)).toEqual([]);
    expect(warnings(r, 'LOAD_UNKNOWN_FILTER').map((w) => w.message)).toEqual([
      'filter_check called with nonexistent field proc.nobody',
    ]);
    expect(r.rules).toEqual([]);
  });

  it('skips rules of unknown sources with a warning', () => {
    const r = load(
      '- required_plugin_versions:\n  - name: cloudtrail\n    version: 0.10.0\n' +
        rule('ct', 'ct.name = x', '  source: aws_cloudtrail\n'),
    );
    expect(errors(r)).toEqual([]);
    expect(warnings(r, 'LOAD_UNKNOWN_SOURCE').map((w) => w.message)).toEqual([
      'Unknown source aws_cloudtrail, skipping',
    ]);
    expect(r.rules).toEqual([]);
    expect(r.requiredPluginVersions).toEqual([{ name: 'cloudtrail', version: '0.10.0', alternatives: [] }]);
  });

  it('warns about unused lists and macros only when everything compiled', () => {
    const clean = load(
      '- list: unused_l\n  items: [a]\n- macro: unused_m\n  condition: evt.num = 1\n' +
        rule('r', 'evt.type = open'),
    );
    expect(warnings(clean, 'LOAD_UNUSED_LIST').map((w) => w.itemName)).toEqual(['unused_l']);
    expect(warnings(clean, 'LOAD_UNUSED_MACRO').map((w) => w.itemName)).toEqual(['unused_m']);
    const broken = load('- list: unused_l\n  items: [a]\n' + rule('r', 'evt.type = open and'));
    expect(warnings(broken, 'LOAD_UNUSED_LIST')).toEqual([]);
  });

  it('compiles after each file, like Falco, without repeating diagnostics', () => {
    // Falco test invalid_overwrite_macro: the macro is unused after the first file, broken by the second.
    const r = load(
      '- macro: some macro\n  condition: evt.type=execve\n',
      '- macro: some macro\n  condition: foo\n  append: false\n',
    );
    expect(r.diagnostics.map((d) => [d.code, d.position?.file])).toEqual([
      ['LOAD_INVALID_MACRO_NAME', 'f0.yaml'],
      ['LOAD_UNUSED_MACRO', 'f0.yaml'],
      ['LOAD_INVALID_MACRO_NAME', 'f1.yaml'],
      ['LOAD_ERR_VALIDATE', 'f1.yaml'],
    ]);
    const twice = load(rule('r', 'proc.name = cat'), '- list: l\n  items: [a]\n');
    expect(warnings(twice, 'LOAD_NO_EVTTYPE')).toHaveLength(1);
  });

  it('warns about <NA> comparisons, deprecated output fields and %container.info', () => {
    const r = load(
      rule('k', 'ka.user.name = "<NA>"', '  source: k8s_audit\n').replace('"%proc.name"', '"%ka.verb"') +
        rule('c', 'evt.type = open').replace('"%proc.name"', '"%proc.name (%container.info)"'),
    );
    expect(errors(r)).toEqual([]);
    expect(warnings(r, 'LOAD_UNSAFE_NA_CHECK')).toHaveLength(1);
    expect(warnings(r, 'LOAD_DEPRECATED_ITEM').map((w) => w.itemName)).toEqual(['c']);
    expect(r.rules.find((x) => x.name === 'c')?.output).toBe('%proc.name ()');
  });

  it('appends extra outputs to matching rules', () => {
    const r = loadRules(
      [
        {
          name: 'f.yaml',
          content: rule('a', 'evt.type = open', '  tags: [t]\n') + rule('b', 'evt.type = open'),
        },
      ],
      {
        extraOutput: [
          { format: 'user=%user.name', tags: ['t'] },
          { format: 'pid=%proc.pid', rule: 'b' },
        ],
      },
    );
    expect(r.rules.map((x) => x.output)).toEqual(['%proc.name user=%user.name', '%proc.name pid=%proc.pid']);
  });

  it('keeps the first definition position and order on redefinition', () => {
    const r = load(
      rule('a', 'evt.type = open') + rule('b', 'evt.type = open') + rule('a', 'evt.type = close'),
    );
    expect(r.rules.map((x) => [x.name, x.index, x.position?.line, x.compiledCondition])).toEqual([
      ['a', 0, 1, 'evt.type = close'],
      ['b', 1, 6, 'evt.type = open'],
    ]);
  });

  it('reports YAML syntax errors and keeps loading other files', () => {
    const r = load('- rule: [unclosed\n', rule('ok', 'evt.type = open'));
    expect(errors(r).map((e) => [e.code, e.position?.file, e.itemType])).toEqual([
      ['LOAD_ERR_YAML_PARSE', 'f0.yaml', 'rules content'],
    ]);
    expect(r.rules.map((x) => x.name)).toEqual(['ok']);
    expect(r.schemaValidation).toEqual(['failed', 'ok']);
  });

  it('checks engine versions against the option', () => {
    const content = '- required_engine_version: 0.40.0\n' + rule('r', 'evt.type = open');
    expect(load(content).requiredEngineVersion).toBe('0.40.0');
    const old = loadRules([{ name: 'f.yaml', content }], { engineVersion: '0.31.0' });
    expect(errors(old).map((e) => e.message)).toEqual([
      'Rules require engine version 0.40.0, but engine version is 0.31.0',
    ]);
  });

  it('never throws on odd input', () => {
    for (const content of [
      '',
      '---\n---\n',
      '- ~\n',
      '[1, 2',
      '- rule: r\n  exceptions: 3\n',
      '- list: l\n  items: [l]\n',
      '\u0000',
    ]) {
      expect(() => load(content)).not.toThrow();
    }
  });
});

/**
 * `vigil rules list-fields` and `vigil rules explain`: what the engine knows, shown to people.
 */
import type { Diagnostic } from '../engine/diagnostics.js';
import { formatPosition } from '../engine/diagnostics.js';
import { k8sAuditFields, syscallFields } from '../engine/fields/index.js';
import type { FieldDef } from '../engine/fields/types.js';
import type { LoadResult } from '../engine/rules/index.js';

function argHint(d: FieldDef): string {
  switch (d.arg) {
    case 'none':
      return '';
    case 'index':
      return '[N]';
    case 'key':
      return '[KEY]';
    case 'key-required':
      return '[KEY] (required)';
    case 'index-or-key':
      return '[N|NAME] or .NAME';
  }
}

export function formatFieldList(source: 'syscall' | 'k8s_audit' | undefined, json: boolean): string {
  const providers =
    source === 'syscall'
      ? [syscallFields]
      : source === 'k8s_audit'
        ? [k8sAuditFields]
        : [syscallFields, k8sAuditFields];
  const defs = providers.flatMap((p) => [...p.all()]);
  if (json) {
    return JSON.stringify(
      defs.map((d) => ({
        name: d.name,
        type: d.type,
        source: d.source,
        arg: d.arg,
        isList: d.isList,
        desc: d.desc,
      })),
      null,
      2,
    );
  }
  const out: string[] = [];
  let lastClass = '';
  const width = Math.min(48, Math.max(...defs.map((d) => d.name.length + argHint(d).length)) + 2);
  for (const d of defs) {
    const cls = `${d.source}: ${d.name.split('.')[0]}`;
    if (cls !== lastClass) {
      if (lastClass) out.push('');
      out.push(`Field class ${d.name.split('.')[0]} (source ${d.source})`);
      lastClass = cls;
    }
    const name = (d.name + argHint(d)).padEnd(width);
    const type = (d.isList ? `LIST(${d.type})` : d.type).padEnd(16);
    out.push(`  ${name}${type}${d.desc}`);
  }
  return out.join('\n');
}

export function explainRule(
  loaded: LoadResult,
  diagnostics: readonly Diagnostic[],
  ruleName: string,
  json: boolean,
): { ok: boolean; text: string } {
  const rule = loaded.rules.find((r) => r.name === ruleName);
  if (!rule) {
    const errors = diagnostics.filter((d) => d.severity === 'error');
    const near = loaded.rules
      .map((r) => r.name)
      .filter((n) => n.toLowerCase().includes(ruleName.toLowerCase()))
      .slice(0, 5);
    const lines = [`Error: no rule named '${ruleName}' in the loaded files.`];
    if (near.length) lines.push(`Did you mean: ${near.map((n) => `'${n}'`).join(', ')}?`);
    if (errors.length)
      lines.push(
        `(${errors.length} load error${errors.length > 1 ? 's' : ''}; run \`vigil rules validate\` to see them)`,
      );
    return { ok: false, text: lines.join('\n') };
  }
  const types = rule.eventTypes === null ? null : [...rule.eventTypes].sort();
  if (json) {
    return {
      ok: true,
      text: JSON.stringify(
        {
          name: rule.name,
          source: rule.source,
          priority: rule.priority,
          enabled: rule.enabled,
          tags: rule.tags,
          condition: rule.condition,
          compiled_condition: rule.compiledCondition,
          event_types: types,
          output: rule.output,
          file: rule.file,
          position: rule.position ?? null,
        },
        null,
        2,
      ),
    };
  }
  const lines = [
    `rule:        ${rule.name}`,
    `defined at:  ${rule.position ? formatPosition(rule.position) : rule.file}`,
    `source:      ${rule.source}`,
    `priority:    ${rule.priority}`,
    `enabled:     ${rule.enabled}`,
    `tags:        ${rule.tags.join(', ') || '(none)'}`,
    `condition:   ${rule.condition.trim()}`,
    `compiled:    ${rule.compiledCondition}`,
    `event types: ${
      rule.source !== 'syscall'
        ? `(not applicable to source ${rule.source}: runs on every event)`
        : types === null
          ? 'all (no evt.type restriction: the rule runs on every event)'
          : `${types.join(', ')} (${types.length})`
    }`,
    `output:      ${rule.output.trim()}`,
  ];
  return { ok: true, text: lines.join('\n') };
}

/**
 * The report of `vigil rules validate`: Falco-like text for people (location, code, message and
 * the offending line with a caret) and Falco-like JSON for machines.
 */
import { formatPosition, type Diagnostic, type DiagnosticCode } from '../engine/diagnostics.js';
import type { RulesFile } from '../engine/rules/index.js';

/** Short meaning of each code, shown next to it (our words). */
export const CODE_DESCRIPTIONS: Record<DiagnosticCode, string> = {
  LOAD_ERR_FILE_READ: 'could not read file',
  LOAD_ERR_YAML_PARSE: 'invalid YAML',
  LOAD_ERR_YAML_VALIDATE: 'invalid structure of rules file',
  LOAD_ERR_COMPILE_CONDITION: 'error compiling condition',
  LOAD_ERR_COMPILE_OUTPUT: 'error compiling output',
  LOAD_ERR_VALIDATE: 'invalid rule, macro, list or exception',
  LOAD_ERR_EXTENSION: 'error in extension item',
  LOAD_UNKNOWN_SOURCE: 'unknown rule source',
  LOAD_UNSAFE_NA_CHECK: 'unsafe <NA> comparison in condition',
  LOAD_NO_EVTTYPE: 'condition does not restrict event types',
  LOAD_UNKNOWN_FILTER: 'unknown field or event type in condition or output',
  LOAD_UNUSED_MACRO: 'unused macro',
  LOAD_UNUSED_LIST: 'unused list',
  LOAD_UNKNOWN_ITEM: 'unknown rules file item',
  LOAD_DEPRECATED_ITEM: 'deprecated item',
  LOAD_WARNING_EXTENSION: 'warning in extension item',
  LOAD_APPEND_NO_VALUES: 'override or append with no values',
  LOAD_EXCEPTION_NAME_NOT_UNIQUE: 'several exceptions with the same name',
  LOAD_INVALID_MACRO_NAME: 'invalid macro name',
  LOAD_INVALID_LIST_NAME: 'invalid list name',
  LOAD_COMPILE_CONDITION: 'condition has issues',
  LOAD_UNKNOWN_KEY: 'unknown key',
};

function snippet(d: Diagnostic, contents: Map<string, string>): string[] {
  const p = d.position;
  if (!p || p.line <= 0) return [];
  const text = contents.get(p.file);
  if (text === undefined) return [];
  const line = text.split(/\r?\n/)[p.line - 1];
  if (line === undefined) return [];
  const no = String(p.line);
  const pad = ' '.repeat(no.length);
  const caretCol = Math.max(1, Math.min(p.col, line.length + 1));
  return [`  ${no} | ${line}`, `  ${pad} | ${' '.repeat(caretCol - 1)}^`];
}

function chain(d: Diagnostic): string {
  const parts = d.context
    .filter((c) => c.kind !== 'file')
    .map((c) => {
      const where = c.position ? ` (${formatPosition(c.position)})` : '';
      return c.name ? `${c.kind} '${c.name}'${where}` : `${c.kind}${where}`;
    });
  return parts.length ? `  in ${parts.join(' > ')}` : '';
}

export function formatDiagnostic(d: Diagnostic, contents: Map<string, string>): string {
  const where = d.position ? `${formatPosition(d.position)}: ` : '';
  const lines = [`${where}${d.severity} ${d.code} (${CODE_DESCRIPTIONS[d.code] ?? d.code}): ${d.message}`];
  const c = chain(d);
  if (c) lines.push(c);
  lines.push(...snippet(d, contents));
  return lines.join('\n');
}

function fileOf(d: Diagnostic, fallback: string): string {
  return d.position?.file ?? d.context.find((c) => c.kind === 'file')?.name ?? fallback;
}

/** Human report: per file, `Ok` or `Invalid`, then its errors and warnings. */
export function formatValidateText(
  files: readonly RulesFile[],
  names: readonly string[],
  diagnostics: readonly Diagnostic[],
): string {
  const contents = new Map(files.map((f) => [f.name, f.content]));
  const out: string[] = [];
  const allNames = [...new Set([...names, ...diagnostics.map((d) => fileOf(d, names[0] ?? ''))])];
  for (const name of allNames) {
    const mine = diagnostics.filter((d) => fileOf(d, names[0] ?? '') === name);
    const errors = mine.filter((d) => d.severity === 'error');
    const warnings = mine.filter((d) => d.severity === 'warning');
    out.push(
      `${name}: ${errors.length ? 'Invalid' : 'Ok'}${warnings.length ? ` (${warnings.length} warning${warnings.length > 1 ? 's' : ''})` : ''}`,
    );
    if (errors.length) {
      out.push(`${errors.length} Error${errors.length > 1 ? 's' : ''}:`);
      for (const d of errors) out.push(formatDiagnostic(d, contents));
    }
    if (warnings.length) {
      out.push(`${warnings.length} Warning${warnings.length > 1 ? 's' : ''}:`);
      for (const d of warnings) out.push(formatDiagnostic(d, contents));
    }
  }
  return out.join('\n');
}

function jsonDiagnostic(d: Diagnostic): Record<string, unknown> {
  return {
    code: d.code,
    codedesc: CODE_DESCRIPTIONS[d.code],
    message: d.message,
    item_type: d.itemType ?? d.context.find((c) => c.kind !== 'file')?.kind ?? '',
    item_name: d.itemName ?? d.context.find((c) => c.kind !== 'file')?.name ?? '',
    position: d.position ?? null,
    context: {
      locations: d.context.map((c) => ({
        item_type: c.kind,
        item_name: c.name,
        position: c.position ?? null,
      })),
    },
  };
}

/** Machine report, shaped like Falco's `falco -V … --json` (one entry per file). */
export function formatValidateJson(names: readonly string[], diagnostics: readonly Diagnostic[]): string {
  const allNames = [...new Set([...names, ...diagnostics.map((d) => fileOf(d, names[0] ?? ''))])];
  const results = allNames.map((name) => {
    const mine = diagnostics.filter((d) => fileOf(d, names[0] ?? '') === name);
    const errors = mine.filter((d) => d.severity === 'error');
    return {
      name,
      successful: errors.length === 0,
      errors: errors.map(jsonDiagnostic),
      warnings: mine.filter((d) => d.severity === 'warning').map(jsonDiagnostic),
    };
  });
  return JSON.stringify({ falco_load_results: results }, null, 2);
}

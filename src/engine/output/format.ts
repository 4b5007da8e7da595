/**
 * Output formats: the `output` text of a rule with `%field` tokens (Falco's event formatter).
 *
 * Token rules (libsinsp eventformatter): after `%` an optional width (`%20proc.name` pads or
 * truncates to 20 characters), then the longest prefix that names a field (`%proc.aname[2]`,
 * `%evt.arg.flags`, `%jevt.value[/user/username]`) or a transformer (`%tolower(proc.name)`).
 * `%%` is a literal percent sign. Missing values render as `<NA>`.
 */
import type { FieldOrTransformer } from '../condition/ast.js';
import { parseCondition } from '../condition/parser.js';
import { compileValue } from '../compile/index.js';
import type { FieldProvider, FieldType, FieldValue } from '../fields/types.js';
import { jsonFieldValue, renderFieldValue } from '../fields/render.js';

export type OutputSegment =
  | { kind: 'text'; text: string }
  | {
      kind: 'field';
      /** token as written after % and the width, used as output_fields key */ name: string;
      width?: number;
      offset: number;
    };

export interface OutputFormatIssue {
  message: string;
  /** Offset of the `%` in the format string. */
  offset: number;
  unknownField?: boolean;
}

const TRANSFORMER_RE = /^(tolower|toupper|b64|basename|len|join|concat|getopt)\(/;
const FIELD_RE = /^[a-zA-Z_][a-zA-Z0-9_]*(?:\.[a-zA-Z0-9_]+)*/;

/** Split an output format into literal text and field tokens (no field validation yet). */
export function scanOutputFormat(format: string): OutputSegment[] {
  const segments: OutputSegment[] = [];
  let text = '';
  let i = 0;
  while (i < format.length) {
    const ch = format[i];
    if (ch !== '%') {
      text += ch;
      i++;
      continue;
    }
    if (format[i + 1] === '%') {
      text += '%';
      i += 2;
      continue;
    }
    const start = i;
    let j = i + 1;
    let widthText = '';
    while (j < format.length && /[0-9]/.test(format[j] ?? '')) widthText += format[j++];
    const rest = format.slice(j);
    let token: string | undefined;
    const tr = TRANSFORMER_RE.exec(rest);
    if (tr) {
      // Balanced parentheses, skipping quoted strings.
      let depth = 0;
      let k = 0;
      let quote: string | undefined;
      for (; k < rest.length; k++) {
        const c = rest[k];
        if (quote) {
          if (c === '\\') k++;
          else if (c === quote) quote = undefined;
          continue;
        }
        if (c === '"' || c === "'") quote = c;
        else if (c === '(') depth++;
        else if (c === ')') {
          depth--;
          if (depth === 0) break;
        }
      }
      if (depth === 0 && k < rest.length) {
        let end = k + 1;
        if (rest[end] === '[') {
          const close = rest.indexOf(']', end);
          if (close > 0) end = close + 1;
        }
        token = rest.slice(0, end);
      }
    }
    if (token === undefined) {
      const m = FIELD_RE.exec(rest);
      if (m) {
        token = m[0];
        if (rest[token.length] === '[') {
          const close = rest.indexOf(']', token.length);
          if (close > 0) token = rest.slice(0, close + 1);
        }
      }
    }
    if (token === undefined) {
      // A lone '%' followed by something that is not a field: keep it literally.
      text += '%';
      i++;
      continue;
    }
    if (text) segments.push({ kind: 'text', text });
    text = '';
    const seg: OutputSegment = { kind: 'field', name: token, offset: start };
    if (widthText) seg.width = Number(widthText);
    segments.push(seg);
    i = j + token.length;
  }
  if (text) segments.push({ kind: 'text', text });
  return segments;
}

/** A field token compiled against a provider. */
interface CompiledToken<E> {
  name: string;
  width?: number;
  get: (event: E) => FieldValue;
  type: FieldType;
  isList: boolean;
  render: (v: FieldValue) => string;
  json: (v: FieldValue) => unknown;
  /** Getter for the JSON value when Falco gives another field's value there (`evt.time` → `evt.rawtime`). */
  jsonGet?: (event: E) => FieldValue;
}

export interface RenderedOutput {
  text: string;
  fields: Record<string, unknown>;
}

export interface CompiledOutput<E> {
  /** Distinct field tokens in order of first appearance (output_fields keys). */
  fieldNames: string[];
  render(event: E): RenderedOutput;
}

export type CompileOutputResult<E> =
  { ok: true; output: CompiledOutput<E> } | { ok: false; errors: OutputFormatIssue[] };

/**
 * Resolve a token to a field/transformer node, taking the longest prefix that names a known field
 * (`%proc.name.` is `proc.name` followed by a dot; `%evt.arg.flags` is `evt.arg` with argument `flags`).
 */
function resolveToken<E>(
  token: string,
  provider: FieldProvider<E>,
): { node: FieldOrTransformer; consumed: number } | { error: string; unknownField?: boolean } {
  if (TRANSFORMER_RE.test(token)) {
    const parsed = parseCondition(`${token} exists`);
    if (!parsed.ok) return { error: parsed.error.message };
    const ast = parsed.ast;
    if (ast.kind !== 'unary') return { error: `invalid transformer '${token}'` };
    return { node: ast.left, consumed: token.length };
  }
  const bracket = token.indexOf('[');
  const base = bracket >= 0 ? token.slice(0, bracket) : token;
  const argText = bracket >= 0 ? token.slice(bracket + 1, -1) : undefined;
  const parts = base.split('.');
  for (let n = parts.length; n >= 2; n--) {
    const name = parts.slice(0, n).join('.');
    if (provider.lookup(name)) {
      const full = n === parts.length;
      const node: FieldOrTransformer = { kind: 'field', name, span: { start: 0, end: name.length } };
      if (full && argText !== undefined) node.arg = argText;
      return { node, consumed: full ? token.length : name.length };
    }
  }
  return { error: `invalid formatting token ${token}`, unknownField: true };
}

/** Compile an output format for one source. Unknown fields are errors (the loader reports them). */
export function compileOutput<E>(format: string, provider: FieldProvider<E>): CompileOutputResult<E> {
  const scanned = scanOutputFormat(format);
  const errors: OutputFormatIssue[] = [];
  const parts: (string | CompiledToken<E>)[] = [];
  const fieldNames: string[] = [];
  const byName = new Map<string, CompiledToken<E>>();
  for (const seg of scanned) {
    if (seg.kind === 'text') {
      parts.push(seg.text);
      continue;
    }
    const resolved = resolveToken(seg.name, provider);
    if ('error' in resolved) {
      const issue: OutputFormatIssue = { message: resolved.error, offset: seg.offset };
      if (resolved.unknownField) issue.unknownField = true;
      errors.push(issue);
      continue;
    }
    const name = seg.name.slice(0, resolved.consumed);
    const trailing = seg.name.slice(resolved.consumed);
    let token = byName.get(name);
    if (!token) {
      const compiled = compileValue(resolved.node, provider);
      if (!compiled.ok) {
        const issue: OutputFormatIssue = {
          message: compiled.errors.map((e) => e.message).join('; '),
          offset: seg.offset,
        };
        if (compiled.unknownField) issue.unknownField = true;
        errors.push(issue);
        continue;
      }
      const def = compiled.def;
      const type = compiled.type;
      const isList = compiled.isList;
      const pseudoDef = def ?? {
        name,
        type,
        desc: '',
        source: provider.source,
        arg: 'none' as const,
        isList,
      };
      const listDef = { ...pseudoDef, type, isList };
      let jsonGet: ((event: E) => FieldValue) | undefined;
      let jsonDef = listDef;
      if (def?.jsonAlias) {
        const alias = provider.lookup(def.jsonAlias);
        if (alias) {
          const extract = provider.extractor(alias.def);
          const arg = alias.argFromName;
          jsonGet = (event: E) => extract(event, arg);
          jsonDef = alias.def;
        }
      }
      token = {
        name,
        get: compiled.get,
        ...(jsonGet ? { jsonGet } : {}),
        type,
        isList,
        render: (v) => (v === undefined ? '<NA>' : renderFieldValue(v, listDef)),
        json: (v) => (v === undefined ? null : jsonFieldValue(v, jsonDef)),
      };
      byName.set(name, token);
      fieldNames.push(name);
    }
    const withWidth: CompiledToken<E> = seg.width !== undefined ? { ...token, width: seg.width } : token;
    parts.push(withWidth);
    if (trailing) parts.push(trailing);
  }
  if (errors.length > 0) return { ok: false, errors };
  const tokens = [...byName.values()];
  return {
    ok: true,
    output: {
      fieldNames,
      render(event: E): RenderedOutput {
        const values = new Map<string, FieldValue>();
        const fields: Record<string, unknown> = {};
        for (const t of tokens) {
          const v = t.get(event);
          values.set(t.name, v);
          fields[t.name] = t.json(t.jsonGet ? t.jsonGet(event) : v);
        }
        let text = '';
        for (const p of parts) {
          if (typeof p === 'string') {
            text += p;
            continue;
          }
          let s = p.render(values.get(p.name));
          if (p.width !== undefined) s = s.length > p.width ? s.slice(0, p.width) : s.padEnd(p.width, ' ');
          text += s;
        }
        return { text, fields };
      },
    },
  };
}

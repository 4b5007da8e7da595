/**
 * Rule exceptions → condition text (Falco's `build_rule_exception_infos`).
 *
 * The rule's condition becomes `(<cond>) and not <ex1> and not <ex2> …`:
 * - single-field form (`fields: proc.name`, `comps: in`, `values: [a, b]`) gives `(proc.name in (a, b))`;
 * - multi-field form gives one parenthesised conjunction per value tuple, or-ed together:
 *   `((f1 = v1 and f2 = v2) or (f1 = v3 and f2 = v4))`. A value that is itself a list is rendered
 *   `(x, y)`; a scalar value for a list operator is parenthesised; other values with a space are
 *   quoted (no escaping, exactly like Falco, so list names inside values still get substituted).
 * The text is then parsed like any condition, after list substitution.
 */
import { BINARY_OPERATORS, LIST_OPERATORS, type BinaryOperator } from '../condition/ast.js';
import { LoadError } from './context.js';
import type { ExceptionEntry, ExceptionInfo } from './collector.js';
import { MappedText } from './mapped-text.js';

const MODIFIERS = new Set(['oneof', 'anyof', 'allof']);

/** Operators that take a string on the right and so accept a modifier (`startswith oneof`). */
const MODIFIABLE = new Set<string>([
  '=',
  '==',
  '!=',
  'glob',
  'iglob',
  'contains',
  'icontains',
  'bcontains',
  'startswith',
  'bstartswith',
  'endswith',
  'regex',
]);

/** Trim and collapse blanks: `"  startswith   oneof "` → `startswith oneof`. */
export function normalizeComp(comp: string): string {
  return comp.trim().split(/\s+/).join(' ');
}

/** A comparison operator usable in an exception: any binary operator, or `<string op> <modifier>`. */
export function isValidExceptionComp(comp: string): boolean {
  const parts = normalizeComp(comp).split(' ');
  if (parts.length === 1) return (BINARY_OPERATORS as readonly string[]).includes(parts[0] ?? '');
  return parts.length === 2 && MODIFIABLE.has(parts[0] ?? '') && MODIFIERS.has(parts[1] ?? '');
}

/** Operators whose right-hand side is a list (`in`, `pmatch`, `intersects`, and modified string ops). */
export function isListComp(comp: string): boolean {
  const c = normalizeComp(comp);
  if (LIST_OPERATORS.has(c as BinaryOperator)) return true;
  return c.includes(' ') && isValidExceptionComp(c);
}

function quoteItem(e: string): string {
  return e.includes(' ') && e[0] !== '"' && e[0] !== "'" ? `"${e}"` : e;
}

function parenItem(e: string): string {
  return e[0] !== '(' ? `(${e})` : e;
}

/** An entry's text, mapped to its YAML scalar when the text is the scalar unchanged. */
function entryText(e: ExceptionEntry, text: string): MappedText | string {
  if (e.text && text === e.item) return e.text;
  if (e.text && text.length === e.item.length + 2 && text.slice(1, -1) === e.item) {
    return MappedText.concat([text[0] ?? '', e.text, text[text.length - 1] ?? '']);
  }
  return text;
}

/**
 * The rule condition with its exceptions appended. Throws LoadError (LOAD_ERR_VALIDATE) when the
 * values do not fit the fields, like Falco.
 */
export function appendExceptions(cond: MappedText, exceptions: readonly ExceptionInfo[]): MappedText {
  if (exceptions.length === 0) return cond;
  const parts: (MappedText | string)[] = ['(', cond, ')'];
  for (const ex of exceptions) {
    const icond: (MappedText | string)[] = [];
    if (!ex.fields.isList) {
      const field = ex.fields.item;
      const comp = normalizeComp(ex.comps.item);
      for (const val of ex.values) {
        if (val.isList) {
          throw new LoadError(
            'LOAD_ERR_VALIDATE',
            'Expected values array to contain a list of strings',
            ex.ctx,
          );
        }
        if (icond.length === 0) {
          icond.push('(', entryText(ex.fields, field), ` ${comp} (`);
        } else {
          icond.push(', ');
        }
        icond.push(entryText(val, quoteItem(val.item)));
      }
      if (icond.length > 0) icond.push('))');
    } else {
      const body: (MappedText | string)[] = [];
      for (const values of ex.values) {
        if (ex.fields.items.length !== values.items.length) {
          throw new LoadError('LOAD_ERR_VALIDATE', 'Fields and values lists must have equal length', ex.ctx);
        }
        if (body.length > 0) body.push(' or ');
        body.push('(');
        ex.fields.items.forEach((field, k) => {
          const comp = normalizeComp(ex.comps.items[k]?.item ?? '=');
          const value = values.items[k] as ExceptionEntry;
          if (k > 0) body.push(' and ');
          body.push(' ', entryText(field, field.item), ` ${comp} `);
          if (value.isList) {
            body.push('(');
            value.items.forEach((v, i) => {
              if (i > 0) body.push(', ');
              body.push(entryText(v, quoteItem(v.item)));
            });
            body.push(')');
          } else if (isListComp(comp)) {
            body.push(entryText(value, parenItem(value.item)));
          } else {
            body.push(entryText(value, quoteItem(value.item)));
          }
        });
        body.push(')');
      }
      if (body.length > 0) icond.push('(', ...body, ')');
    }
    if (icond.length > 0) parts.push(MappedText.generated(' and not ', ex.position), ...icond);
  }
  return MappedText.concat(parts);
}

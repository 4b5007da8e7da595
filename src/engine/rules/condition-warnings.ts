/**
 * Lint of a resolved rule condition (Falco's `filter_warning_resolver`): comparisons of k8s audit
 * and JSON fields with the string `<NA>` (LOAD_UNSAFE_NA_CHECK: use `exists` instead) and fields
 * deprecated since enter events are no longer delivered (LOAD_DEPRECATED_ITEM).
 */
import type { Expr, FieldOrTransformer, RhsExpr, Span, TransformerArg } from '../condition/ast.js';

export const UNSAFE_NA_CHECK_MESSAGE =
  "Comparing a field value with <NA> is unsafe and can lead to unpredictable behavior of the rule condition. If you need to check for the existence of a field, consider using the 'exists' operator instead.";

/** Deprecated fields, in Falco's order, with the explanation shown to users. */
export const DEPRECATED_FIELDS: readonly { name: string; desc: string }[] = [
  {
    name: 'evt.dir',
    desc: "due to the drop of enter events, 'evt.dir = <' always evaluates to true, and 'evt.dir = >' always evaluates to false. The rule expression can be simplified by removing the condition on 'evt.dir'",
  },
  ...['evt.latency', 'evt.latency.s', 'evt.latency.ns', 'evt.latency.human', 'evt.wait_latency'].map(
    (name) => ({
      name,
      desc: `'${name}' field is not available due to the drop of enter events.`,
    }),
  ),
];

const EQUALITY_OPS = new Set(['=', '==', '!=', 'in', 'intersects', 'pmatch']);
const NO_VALUE = '<NA>';

export interface ConditionWarning {
  code: 'LOAD_UNSAFE_NA_CHECK' | 'LOAD_DEPRECATED_ITEM';
  message: string;
  /** First place found. */
  span: Span;
}

function isUnsafeField(name: string): boolean {
  return name.startsWith('ka.') || name.startsWith('jevt.');
}

/** One warning per kind (per deprecated field), like Falco. */
export function conditionWarnings(ast: Expr): ConditionWarning[] {
  let naSpan: Span | undefined;
  const deprecated = new Map<string, Span>();

  const fieldsOf = (e: FieldOrTransformer | TransformerArg | RhsExpr, out: { unsafe: boolean }): void => {
    switch (e.kind) {
      case 'field':
        out.unsafe = isUnsafeField(e.name);
        if (DEPRECATED_FIELDS.some((d) => d.name === e.name) && !deprecated.has(e.name))
          deprecated.set(e.name, e.span);
        break;
      case 'transformer':
        for (const a of e.args) fieldsOf(a, out);
        break;
      case 'list':
        for (const v of e.values) fieldsOf(v, out);
        break;
      case 'val':
        fieldsOf(e.field, out);
        break;
      case 'value':
      case 'listref':
        break;
    }
  };

  const visit = (e: Expr): void => {
    switch (e.kind) {
      case 'and':
      case 'or':
        for (const c of e.children) visit(c);
        break;
      case 'not':
        visit(e.child);
        break;
      case 'unary':
        fieldsOf(e.left, { unsafe: false });
        break;
      case 'binary': {
        const left = { unsafe: false };
        fieldsOf(e.left, left);
        fieldsOf(e.right, { unsafe: false });
        if (left.unsafe && EQUALITY_OPS.has(e.op) && !naSpan) {
          const r = e.right;
          if (r.kind === 'value' && r.value === NO_VALUE) naSpan = r.span;
          else if (r.kind === 'list' && r.values.some((v) => v.kind === 'value' && v.value === NO_VALUE))
            naSpan = r.span;
        }
        break;
      }
      case 'identifier':
        break;
    }
  };
  visit(ast);

  const out: ConditionWarning[] = [];
  if (naSpan) out.push({ code: 'LOAD_UNSAFE_NA_CHECK', message: UNSAFE_NA_CHECK_MESSAGE, span: naSpan });
  for (const d of DEPRECATED_FIELDS) {
    const span = deprecated.get(d.name);
    if (span) out.push({ code: 'LOAD_DEPRECATED_ITEM', message: d.desc, span });
  }
  return out;
}

/**
 * Whether a condition can never match: Falco does not warn about missing event types for such
 * placeholders (`never_true` is `evt.num = 0`, and event numbers start at 1).
 */
export function isStaticallyFalse(e: Expr): boolean {
  switch (e.kind) {
    case 'and':
      return e.children.some(isStaticallyFalse);
    case 'or':
      return e.children.every(isStaticallyFalse);
    case 'binary':
      return (
        e.left.kind === 'field' &&
        e.left.name === 'evt.num' &&
        e.left.arg === undefined &&
        (e.op === '=' || e.op === '==') &&
        e.right.kind === 'value' &&
        /^0+$/.test(e.right.value)
      );
    case 'not':
    case 'unary':
    case 'identifier':
      return false;
  }
}

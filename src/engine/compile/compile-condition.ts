/**
 * Compiles a condition AST (macros and lists already resolved by the rule loader) into one closure
 * `(event) => boolean`, with libsinsp's semantics and error texts:
 *
 * - every check is type-checked against its operator (`evt.buffer icontains x` is an error), right
 *   hand literals are parsed once for the field type (numbers, booleans, IPs, CIDRs, hex bytes),
 *   globs, regexes and `pmatch` path sets are compiled once, `in` lists become hash sets;
 * - a missing value makes every operator false (`!=` too); `exists` tests presence;
 * - list-valued fields: `in` means every value is in the set, `intersects` means one is;
 * - modifiers `oneof` / `anyof` / `allof` count how many right-hand values match (empty: false);
 * - `val(field)` and transformer right-hand sides compare two extracted values of the same type;
 * - `and` / `or` short-circuit left to right.
 *
 * It also produces libsinsp's compile warnings: a string literal that is really a field name
 * (`proc.name = proc.pname`) or a transformer (`'toupper(proc.pname)'`), and `regex` patterns that
 * a cheaper operator could check.
 */
import { EVENT_INFO, GENERIC_SYSCALL_CATEGORY } from '../fields/syscall-event-info.generated.js';
import type { BinaryCheckExpr, Expr, ListExpr, Modifier, Span, UnaryCheckExpr } from '../condition/ast.js';
import { TRANSFORMER_NAMES } from '../condition/ast.js';
import type { FieldProvider, Scalar } from '../fields/types.js';
import { compileOperand, type CompileIssue, type Operand } from './compile-value.js';
import { fastLiteralCheck, fastStringMembership, fuseStringChecks } from './fast-paths.js';
import { memoizeFilter } from './memo.js';
import {
  canonicalOp,
  checkComparable,
  compileDynamicComparison,
  compileMembership,
  compileScalarPredicate,
  type CmpOp,
  type ScalarPred,
} from './operators.js';

export type { CompileIssue } from './compile-value.js';

/** Compile options. */
export interface CompileOptions {
  /**
   * Falco's `skip-if-unknown-filter`: when the condition uses a field this provider does not know,
   * return `{ ok: false, unknownField: true }` with only those issues, for the loader to report as
   * a warning and skip the rule.
   */
  skipUnknownFilter?: boolean;
  /**
   * Legacy list semantics for rules written for old engines (files declaring a legacy integer
   * `required_engine_version`): a scalar operator such as `contains` on a list field (which current
   * libsinsp rejects) holds when it holds for any value of the list, with a warning that says so.
   */
  legacyListOperators?: boolean;
  /**
   * Subexpressions that several conditions share by identity (macro bodies, which the macro
   * resolver substitutes as the same object everywhere): see {@link SharedSubexpressions}.
   */
  shared?: SharedSubexpressions;
}

/**
 * Lets rules that use one macro evaluate it once per event. Each shared compound subexpression
 * (`and`/`or`/`not`) is compiled into one closure per field provider and list semantics that
 * remembers its result for the last event it saw (like field values, see memo.ts): conditions are
 * pure functions of the event, so every rule sharing the macro gets the same answer without
 * evaluating its checks again. Each condition is still compiled in full, so its errors and
 * warnings are exactly those it would have on its own.
 */
export class SharedSubexpressions {
  private readonly compiled = new Map<Expr, { provider: unknown; legacy: boolean; filter: unknown }[]>();

  /** @param nodes the shared subexpressions (macro bodies, as substituted into conditions). */
  constructor(private readonly nodes: ReadonlySet<Expr>) {}

  /** The shared filter for `node`, or `filter` itself when the node is not shared. */
  filterFor<E>(
    node: Expr,
    provider: FieldProvider<E>,
    legacy: boolean,
    filter: CompiledFilter<E>,
  ): CompiledFilter<E> {
    if (node.kind !== 'and' && node.kind !== 'or' && node.kind !== 'not') return filter;
    if (!this.nodes.has(node)) return filter;
    let list = this.compiled.get(node);
    if (!list) {
      list = [];
      this.compiled.set(node, list);
    }
    const hit = list.find((c) => c.provider === provider && c.legacy === legacy);
    if (hit) return hit.filter as CompiledFilter<E>;
    const shared = memoizeFilter(filter);
    list.push({ provider, legacy, filter: shared });
    return shared;
  }
}

/** A compiled condition. */
export type CompiledFilter<E> = (event: E) => boolean;

/** `compileCondition`'s answer: the filter with its warnings, or the errors. */
export type CompileResult<E> =
  | { ok: true; filter: CompiledFilter<E>; warnings: CompileIssue[] }
  | { ok: false; errors: CompileIssue[]; unknownField?: boolean };

interface Ctx<E> {
  provider: FieldProvider<E>;
  legacyListOperators?: boolean;
  shared?: SharedSubexpressions;
  errors: CompileIssue[];
  unknownErrors: CompileIssue[];
  warnings: CompileIssue[];
}

const NEVER = (): boolean => false;

function addErrors<E>(ctx: Ctx<E>, r: { errors: CompileIssue[]; unknownField?: boolean }): void {
  ctx.errors.push(...r.errors);
  if (r.unknownField) ctx.unknownErrors.push(...r.errors);
}

// ---------------------------------------------------------------------------------------------
// Warnings (libsinsp sinsp_filter_compiler::check_value_and_add_warnings)

const REGEX_SPECIAL = '.+*?^$()[]{}|\\';
const REGEX_OCCURRENCE = '+*?';
const WARN_TRANSFORMERS: readonly string[] = [...TRANSFORMER_NAMES, 'val'];

/** True when a regex is a plain string, possibly anchored or wrapped in `.*`, `.+`, `.?`. */
function regexIsSimple(v: string): boolean {
  const len = v.length;
  for (let i = 0; i < len; i++) {
    const c = v[i] as string;
    if ((i === 0 && c === '^') || (i === len - 1 && c === '$')) continue;
    if (((i === 0 && len > 1) || i === len - 2) && c === '.' && REGEX_OCCURRENCE.includes(v[i + 1] ?? '\0')) {
      i++;
      continue;
    }
    if (REGEX_SPECIAL.includes(c)) return false;
  }
  return true;
}

function looksLikeField<E>(provider: FieldProvider<E>, s: string): boolean {
  const m = /^([a-zA-Z][a-zA-Z0-9_]*(?:\.[a-zA-Z][a-zA-Z0-9_]*)+)(?:\[[^\]]*\])?$/.exec(s);
  return m !== null && provider.lookup(m[1] as string) !== undefined;
}

function addValueWarnings<E>(ctx: Ctx<E>, op: CmpOp, value: string, span: Span): void {
  if (op === 'regex' && regexIsSimple(value)) {
    ctx.warnings.push({
      message: `regex check with '${value}' may be optimized with simpler operators such as '=', 'contains', 'startswith', 'endswith'`,
      span,
    });
  }
  const nospaces = value.replace(/[ \t\n\v\f\r]/g, '');
  if (looksLikeField(ctx.provider, nospaces)) {
    ctx.warnings.push({ message: `'${value}' may be a valid field misused as a const string value`, span });
  }
  for (const t of WARN_TRANSFORMERS) {
    if (
      nospaces.length >= t.length + 2 &&
      nospaces.startsWith(t) &&
      nospaces[t.length] === '(' &&
      nospaces.endsWith(')')
    ) {
      ctx.warnings.push({
        message: `'${value}' may be a valid field transformer misused as a const string value`,
        span,
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Checks

/** Does `pred` hold for one of `v[from..]`? */
function anyOf(v: readonly Scalar[], pred: ScalarPred, from = 0): boolean {
  for (let i = from; i < v.length; i++) if (pred(v[i] as Scalar)) return true;
  return false;
}

function allOf(v: readonly Scalar[], pred: ScalarPred): boolean {
  for (let i = 0; i < v.length; i++) if (!pred(v[i] as Scalar)) return false;
  return true;
}

/**
 * Applies a scalar predicate to what the left-hand side extracts:
 * - list fields: `in` needs every value in the set (an empty list is vacuously in it),
 *   `intersects` one;
 * - `ancestors` fields (`proc.aname` without index, extracted as `[self, parent, ...]`): the check
 *   holds when it holds for one ancestor, whatever the operator (libsinsp);
 * - `either-end` fields (`fd.ip`, `fd.net`, `fd.port`: `[client, server]`) and any other field that
 *   hands over several values: one value must match, except for `!=` (`negated`), which holds only
 *   when no value is equal (`fd.ip != 0.0.0.0`: neither end is 0.0.0.0, libsinsp's compare_ip).
 */
function bindPredicate<E>(lhs: Operand<E>, pred: ScalarPred, op: CmpOp, negated = false): CompiledFilter<E> {
  const get = lhs.get;
  if (lhs.multiValue === 'ancestors') {
    return (e) => {
      const v = get(e);
      if (v === undefined) return false;
      return Array.isArray(v) ? anyOf(v, pred, 1) : pred(v);
    };
  }
  const every = lhs.isList ? op !== 'intersects' : negated;
  if (every) {
    return (e) => {
      const v = get(e);
      if (v === undefined) return false;
      return Array.isArray(v) ? allOf(v, pred) : pred(v);
    };
  }
  return (e) => {
    const v = get(e);
    if (v === undefined) return false;
    return Array.isArray(v) ? anyOf(v, pred) : pred(v);
  };
}

function membershipCheck<E>(
  lhs: Operand<E>,
  op: CmpOp,
  m: { pred: ScalarPred; stringSet?: ReadonlySet<string> },
): CompiledFilter<E> {
  const slow = bindPredicate(lhs, m.pred, op);
  return m.stringSet !== undefined && !lhs.isList ? fastStringMembership(lhs.get, m.stringSet, slow) : slow;
}

function modifierPredicate(mod: Modifier, preds: readonly ScalarPred[]): ScalarPred {
  const n = preds.length;
  if (n === 0) return () => false;
  switch (mod) {
    case 'anyof':
      return (v) => {
        for (let i = 0; i < n; i++) if ((preds[i] as ScalarPred)(v)) return true;
        return false;
      };
    case 'allof':
      return (v) => {
        for (let i = 0; i < n; i++) if (!(preds[i] as ScalarPred)(v)) return false;
        return true;
      };
    case 'oneof':
      return (v) => {
        let hits = 0;
        for (let i = 0; i < n; i++) if ((preds[i] as ScalarPred)(v) && ++hits > 1) return false;
        return hits === 1;
      };
  }
}

function listLiterals(list: ListExpr): { values: string[]; bad?: Span } {
  const values: string[] = [];
  for (const item of list.values) {
    if (item.kind !== 'value') return { values, bad: item.span };
    values.push(item.value);
  }
  return { values };
}

const OP_ENUM_NAME: Partial<Record<CmpOp, string>> = { pmatch: 'PMATCH', regex: 'REGEX' };

function compileFieldComparison<E>(
  ctx: Ctx<E>,
  node: BinaryCheckExpr,
  op: CmpOp,
  lhs: Operand<E>,
  rhs: Operand<E>,
): CompiledFilter<E> | undefined {
  const err = (message: string): undefined => {
    ctx.errors.push({ message, span: node.right.span });
    return undefined;
  };
  const opName = OP_ENUM_NAME[op];
  if (opName !== undefined) return err(`operator '${opName}' doesn't support right-hand side fields`);
  if (lhs.type === 'IPNET') return err(`field type 'IPNET' doesn't support right-hand side fields`);
  if (!lhs.rhsSupported) return err(`field '${lhs.name}' doesn't support right-hand side fields`);
  if (!rhs.rhsSupported) return err(`field '${rhs.name}' can't be used as a right-hand side field`);
  if (lhs.type !== rhs.type || lhs.isList !== rhs.isList) {
    return err(
      `field '${lhs.name}' has type '${lhs.type}${lhs.isList ? ' (list)' : ''}' while the right-hand side field '${rhs.name}' has incompatible type '${rhs.type}${rhs.isList ? ' (list)' : ''}'`,
    );
  }
  const cmp = compileDynamicComparison(op, lhs.type);
  if (!cmp) return err(`filter error: '${op}' operator not supported for type '${lhs.type}'`);
  const lget = lhs.get;
  const rget = rhs.get;
  if (op === 'in' || op === 'intersects') {
    const member = (l: Scalar, r: Scalar | Scalar[]): boolean => {
      if (!Array.isArray(r)) return cmp(l, r);
      for (let i = 0; i < r.length; i++) if (cmp(l, r[i] as Scalar)) return true;
      return false;
    };
    const every = op === 'in';
    return (e) => {
      const l = lget(e);
      if (l === undefined) return false;
      const r = rget(e);
      if (r === undefined) return false;
      if (!Array.isArray(l)) return member(l, r);
      for (let i = 0; i < l.length; i++) {
        const hit = member(l[i] as Scalar, r);
        if (every && !hit) return false;
        if (!every && hit) return true;
      }
      return every;
    };
  }
  return (e) => {
    const l = lget(e);
    if (l === undefined) return false;
    const r = rget(e);
    if (r === undefined) return false;
    const ls = Array.isArray(l) ? l[0] : l;
    const rs = Array.isArray(r) ? r[0] : r;
    return ls !== undefined && rs !== undefined && cmp(ls, rs);
  };
}

function compileBinary<E>(ctx: Ctx<E>, node: BinaryCheckExpr): CompiledFilter<E> | undefined {
  const left = compileOperand(node.left, ctx.provider);
  if (!left.ok) {
    addErrors(ctx, left);
    return undefined;
  }
  const lhs = left.operand;
  const op = canonicalOp(node.op);
  const incompatible = checkComparable(op, lhs.type, lhs.isList);
  if (incompatible !== undefined) {
    const scalarIncompatible = lhs.isList ? checkComparable(op, lhs.type, false) : incompatible;
    if (
      ctx.legacyListOperators &&
      lhs.isList &&
      scalarIncompatible === undefined &&
      node.right.kind === 'value' &&
      node.modifier === undefined
    ) {
      return compileLegacyListCheck(ctx, node, op, lhs, node.right.value);
    }
    ctx.errors.push({ message: `filter error: ${incompatible}`, span: node.span });
    return undefined;
  }
  const right = node.right;
  const err = (message: string, span: Span = right.span): undefined => {
    ctx.errors.push({ message, span });
    return undefined;
  };
  const unknownType = unknownEventType(ctx, node);
  if (unknownType !== undefined) return err(`unknown event type ${unknownType}`);

  switch (right.kind) {
    case 'val':
    case 'transformer': {
      if (node.modifier !== undefined)
        return err(`filter error: modifier '${node.modifier}' needs a list of values`);
      const r = compileOperand(right.kind === 'val' ? right.field : right, ctx.provider);
      if (!r.ok) {
        addErrors(ctx, r);
        return undefined;
      }
      return compileFieldComparison(ctx, node, op, lhs, r.operand);
    }
    case 'listref':
      return err(`filter error: unexpected identifier '${right.name}'`);
    case 'value': {
      addValueWarnings(ctx, op, right.value, right.span);
      if (node.modifier !== undefined)
        return err(`filter error: modifier '${node.modifier}' needs a list of values`);
      if (op === 'in' || op === 'intersects' || op === 'pmatch') {
        const m = compileMembership(op, lhs.type, [right.value]);
        return m.ok ? membershipCheck(lhs, op, m) : err(m.error);
      }
      const p = compileScalarPredicate(op, lhs.type, right.value);
      if (!p.ok) return err(p.error);
      const slow = bindPredicate(lhs, p.pred, op, op === '!=');
      return fastLiteralCheck(lhs.get, lhs.type, lhs.isList, op, right.value, slow) ?? slow;
    }
    case 'list': {
      const { values, bad } = listLiterals(right);
      if (bad) return err('filter error: unexpected field in a list of values', bad);
      for (const v of values) addValueWarnings(ctx, op, v, right.span);
      if (node.modifier !== undefined) {
        const preds: ScalarPred[] = [];
        for (const v of values) {
          const p = compileScalarPredicate(op, lhs.type, v);
          if (!p.ok) return err(p.error);
          preds.push(p.pred);
        }
        return bindPredicate(lhs, modifierPredicate(node.modifier, preds), op);
      }
      if (op !== 'in' && op !== 'intersects' && op !== 'pmatch') {
        return err(`filter error: operator '${node.op}' does not take a list of values`);
      }
      const m = compileMembership(op, lhs.type, values);
      return m.ok ? membershipCheck(lhs, op, m) : err(m.error);
    }
  }
}

/** Event-type names the syscall source knows (driver events and generic syscalls). */
const KNOWN_EVENT_TYPES: ReadonlySet<string> = new Set([
  ...Object.keys(EVENT_INFO),
  ...Object.keys(GENERIC_SYSCALL_CATEGORY),
]);

/**
 * `evt.type = x` / `evt.type in (...)` with a name that is no event type is an error, as in Falco
 * (it also catches a list name that was never expanded, e.g. a list defined in a loop).
 */
function unknownEventType<E>(ctx: Ctx<E>, node: BinaryCheckExpr): string | undefined {
  if (ctx.provider.source !== 'syscall') return undefined;
  const left = node.left;
  if (left.kind !== 'field' || left.name !== 'evt.type' || left.arg !== undefined) return undefined;
  if (!['=', '==', '!=', 'in', 'intersects'].includes(node.op)) return undefined;
  const values =
    node.right.kind === 'value'
      ? [node.right.value]
      : node.right.kind === 'list'
        ? node.right.values.flatMap((v) => (v.kind === 'value' ? [v.value] : []))
        : [];
  return values.find((v) => !KNOWN_EVENT_TYPES.has(v));
}

/**
 * Legacy engines compared a list field with a scalar operator value by value; keep that for rules
 * files that declare such an engine, and say so in a warning.
 */
function compileLegacyListCheck<E>(
  ctx: Ctx<E>,
  node: BinaryCheckExpr,
  op: CmpOp,
  lhs: Operand<E>,
  value: string,
): CompiledFilter<E> | undefined {
  const p = compileScalarPredicate(op, lhs.type, value);
  if (!p.ok) {
    ctx.errors.push({ message: p.error, span: node.right.span });
    return undefined;
  }
  ctx.warnings.push({
    message: `'${node.op}' on list field '${lhs.name}' is legacy syntax (accepted because the rules file declares a legacy engine version): it holds when any value matches; use 'intersects' or a modifier ('${node.op} anyof (...)') instead`,
    span: node.span,
  });
  return bindPredicate({ ...lhs, isList: false }, p.pred, op, op === '!=');
}

function compileUnary<E>(ctx: Ctx<E>, node: UnaryCheckExpr): CompiledFilter<E> | undefined {
  const left = compileOperand(node.left, ctx.provider);
  if (!left.ok) {
    addErrors(ctx, left);
    return undefined;
  }
  const { get, multiValue } = left.operand;
  if (multiValue === 'ancestors') {
    // `proc.aname exists`: the process has an ancestor
    return (e) => {
      const v = get(e);
      return v !== undefined && (!Array.isArray(v) || v.length > 1);
    };
  }
  return (e) => get(e) !== undefined;
}

function combine<E>(kind: 'and' | 'or', parts: CompiledFilter<E>[]): CompiledFilter<E> {
  const [a, b, c] = parts;
  if (parts.length === 1 && a) return a;
  if (kind === 'and') {
    if (parts.length === 2 && a && b) return (e) => a(e) && b(e);
    if (parts.length === 3 && a && b && c) return (e) => a(e) && b(e) && c(e);
    return (e) => {
      for (let i = 0; i < parts.length; i++) if (!(parts[i] as CompiledFilter<E>)(e)) return false;
      return true;
    };
  }
  if (parts.length === 2 && a && b) return (e) => a(e) || b(e);
  if (parts.length === 3 && a && b && c) return (e) => a(e) || b(e) || c(e);
  return (e) => {
    for (let i = 0; i < parts.length; i++) if ((parts[i] as CompiledFilter<E>)(e)) return true;
    return false;
  };
}

function compileExpr<E>(ctx: Ctx<E>, node: Expr): CompiledFilter<E> | undefined {
  const f = compileNode(ctx, node);
  return f && ctx.shared ? ctx.shared.filterFor(node, ctx.provider, ctx.legacyListOperators ?? false, f) : f;
}

function compileNode<E>(ctx: Ctx<E>, node: Expr): CompiledFilter<E> | undefined {
  switch (node.kind) {
    case 'and':
    case 'or': {
      const parts: CompiledFilter<E>[] = [];
      let failed = false;
      for (const child of node.children) {
        const f = compileExpr(ctx, child);
        if (f) parts.push(f);
        else failed = true;
      }
      if (failed) return undefined;
      if (parts.length === 0) return node.kind === 'and' ? () => true : NEVER;
      return combine(node.kind, fuseStringChecks(node.kind, parts));
    }
    case 'not': {
      const f = compileExpr(ctx, node.child);
      return f ? (e) => !f(e) : undefined;
    }
    case 'identifier':
      ctx.errors.push({ message: `Undefined macro '${node.name}' used in filter.`, span: node.span });
      return undefined;
    case 'unary':
      return compileUnary(ctx, node);
    case 'binary':
      return compileBinary(ctx, node);
  }
}

/**
 * Compiles a condition for one event source. Never throws on user mistakes: problems come back as
 * `errors` (every check is tried, so one call reports all of them) with spans into the condition.
 */
export function compileCondition<E>(
  ast: Expr,
  provider: FieldProvider<E>,
  options: CompileOptions = {},
): CompileResult<E> {
  const ctx: Ctx<E> = {
    provider,
    errors: [],
    unknownErrors: [],
    warnings: [],
    legacyListOperators: options?.legacyListOperators ?? false,
  };
  if (options.shared) ctx.shared = options.shared;
  const filter = compileExpr(ctx, ast);
  if (ctx.unknownErrors.length > 0 && options.skipUnknownFilter) {
    return { ok: false, errors: ctx.unknownErrors, unknownField: true };
  }
  if (!filter || ctx.errors.length > 0) return { ok: false, errors: ctx.errors };
  return { ok: true, filter, warnings: ctx.warnings };
}

/**
 * Which event types can a condition match? The engine indexes syscall rules by the answer, so an
 * event is only tested against rules that can match its type (Falco's `evttype_index_ruleset`).
 *
 * Semantics of libsinsp `filter/ppm_codes.cpp`: `evt.type = x`, `evt.type in (…)` and
 * `evt.type != x` restrict the types, any other check is neutral (all types), `and` intersects,
 * `or` unites, and negation is pushed down to the leaves (De Morgan) so `not evt.type = open` means
 * "every type but open" while `not proc.name = cat` stays neutral. We compute, for every node, the
 * types where it may be true and the types where it may be false; `not` swaps the two, which is the
 * same algebra without rewriting the tree. Sets are kept without a universe: "all types except S"
 * is a complement, and any complement at the root means "all types" (`null`), a safe superset.
 *
 * Additions, all supersets of the exact answer: `evt.type` checks with `oneof/anyof/allof`
 * modifiers are handled per modifier; `evt.type` compared with `val()` or through a transformer is
 * neutral (libsinsp refuses to index those); `evt.num = 0` can never be true (event numbers start
 * at 1), which Falco uses as the `never_true` placeholder macro, so it matches no type.
 */
import type { BinaryCheckExpr, Expr, FieldOrTransformer } from '../condition/ast.js';
import { parseInteger } from './operators.js';

/** A set of event type names, possibly "all types except …". */
type TypeSet =
  | { readonly all: false; readonly names: ReadonlySet<string> }
  | { readonly all: true; readonly except: ReadonlySet<string> };

const EMPTY: ReadonlySet<string> = new Set();
const ALL: TypeSet = { all: true, except: EMPTY };
const NONE: TypeSet = { all: false, names: EMPTY };

const only = (names: ReadonlySet<string>): TypeSet => ({ all: false, names });
const except = (names: ReadonlySet<string>): TypeSet => ({ all: true, except: names });

function complement(s: TypeSet): TypeSet {
  return s.all ? only(s.except) : except(s.names);
}

function union(a: TypeSet, b: TypeSet): TypeSet {
  if (!a.all && !b.all) return only(new Set([...a.names, ...b.names]));
  if (a.all && b.all) return except(new Set([...a.except].filter((x) => b.except.has(x))));
  const [co, fin] = a.all
    ? [a, b as { all: false; names: ReadonlySet<string> }]
    : [b as { all: true; except: ReadonlySet<string> }, a];
  return except(new Set([...co.except].filter((x) => !fin.names.has(x))));
}

function intersect(a: TypeSet, b: TypeSet): TypeSet {
  return complement(union(complement(a), complement(b)));
}

/** Where a node may be true / may be false. */
interface Polarity {
  t: TypeSet;
  f: TypeSet;
}

const NEUTRAL: Polarity = { t: ALL, f: ALL };

function isEvtType(left: FieldOrTransformer): boolean {
  return left.kind === 'field' && left.name === 'evt.type' && left.arg === undefined;
}

function rhsNames(node: BinaryCheckExpr): string[] | undefined {
  const r = node.right;
  if (r.kind === 'value') return [r.value];
  if (r.kind === 'list') {
    const out: string[] = [];
    for (const v of r.values) {
      if (v.kind !== 'value') return undefined;
      out.push(v.value);
    }
    return out;
  }
  return undefined;
}

function evtTypeCheck(node: BinaryCheckExpr): Polarity {
  const names = rhsNames(node);
  if (names === undefined) return NEUTRAL;
  const set = new Set(names);
  const eq = node.op === '=' || node.op === '==';
  if (node.modifier === undefined) {
    if (eq || node.op === 'in') return { t: only(set), f: except(set) };
    if (node.op === '!=') return { t: except(set), f: only(set) };
    return NEUTRAL;
  }
  if (names.length === 0) return { t: NONE, f: ALL }; // modifiers over an empty list are false
  if (eq) return { t: only(set), f: ALL };
  if (node.op === '!=') {
    switch (node.modifier) {
      case 'allof':
        return { t: except(set), f: ALL };
      case 'anyof':
        return { t: set.size === 1 ? except(set) : ALL, f: ALL };
      case 'oneof':
        // exactly one value differs: the type equals all the others
        return { t: names.length === 1 ? except(set) : only(set), f: ALL };
    }
  }
  return NEUTRAL;
}

function isNeverTrue(node: BinaryCheckExpr): boolean {
  if (node.left.kind !== 'field' || node.left.name !== 'evt.num' || node.left.arg !== undefined) return false;
  if (node.modifier !== undefined || (node.op !== '=' && node.op !== '==')) return false;
  return node.right.kind === 'value' && parseInteger(node.right.value) === 0;
}

function polarity(e: Expr): Polarity {
  switch (e.kind) {
    case 'and': {
      let t: TypeSet = ALL;
      let f: TypeSet = NONE;
      for (const c of e.children) {
        const p = polarity(c);
        t = intersect(t, p.t);
        f = union(f, p.f);
      }
      return { t, f };
    }
    case 'or': {
      let t: TypeSet = NONE;
      let f: TypeSet = ALL;
      for (const c of e.children) {
        const p = polarity(c);
        t = union(t, p.t);
        f = intersect(f, p.f);
      }
      return { t, f };
    }
    case 'not': {
      const p = polarity(e.child);
      return { t: p.f, f: p.t };
    }
    case 'identifier':
      return NEUTRAL;
    case 'unary':
      // evt.type always exists on a syscall event
      return isEvtType(e.left) ? { t: ALL, f: NONE } : NEUTRAL;
    case 'binary':
      if (isEvtType(e.left)) return evtTypeCheck(e);
      if (isNeverTrue(e)) return { t: NONE, f: ALL };
      return NEUTRAL;
  }
}

/**
 * The event type names a condition can match, or `null` when it may match every type (the rule
 * then runs for every event of its source). An empty set means the condition can never be true.
 */
export function eventTypesOf(ast: Expr): Set<string> | null {
  const { t } = polarity(ast);
  return t.all ? null : new Set(t.names);
}

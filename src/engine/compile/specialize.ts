/**
 * Conditions specialized for one event type.
 *
 * The engine tests a syscall event only against the rules indexed under its type, so inside those
 * rules every `evt.type` check against literals has a known answer: `evt.type in (open, openat,
 * openat2)` holds for every openat event, `evt.type = rename` for none. Falco's rules are built
 * from macros that start with such checks (`open_read`, `spawned_process`, `rename`...), and most
 * of a rule's work on an event can be the checks that rule out the other event types. Folding
 * them away before compiling (and simplifying the `and` / `or` / `not` around them) leaves fewer
 * checks to run per event with the same answer, as conditions have no side effects.
 *
 * Only `evt.type` without argument or transformer, compared with `=`, `==`, `!=`, `in` or
 * `intersects` to literal values, is folded: exactly the checks whose value depends on the event
 * type alone (`evt.type` is the event's type name, compared as a plain string).
 *
 * Macro bodies are one object in every condition that uses them, and rules that share one evaluate
 * it once per event (`SharedSubexpressions`). Specialization keeps that: a node gives the same
 * specialized object for every type on which its `evt.type` checks give the same answers, and the
 * specialized forms of shared nodes are collected in {@link EventTypeSpecializer.shared}.
 */
import type { BinaryCheckExpr, Expr } from '../condition/ast.js';

/** The answer of an `evt.type` check for events of `type`, or undefined when it is no such check. */
export function foldEventTypeCheck(node: BinaryCheckExpr, type: string): boolean | undefined {
  const left = node.left;
  if (left.kind !== 'field' || left.name !== 'evt.type' || left.arg !== undefined) return undefined;
  if (node.modifier !== undefined) return undefined;
  const right = node.right;
  const op = node.op;
  if (op === '=' || op === '==') return right.kind === 'value' ? type === right.value : undefined;
  if (op === '!=') return right.kind === 'value' ? type !== right.value : undefined;
  if (op !== 'in' && op !== 'intersects') return undefined;
  if (right.kind === 'value') return type === right.value;
  if (right.kind !== 'list') return undefined;
  let hit = false;
  for (const v of right.values) {
    if (v.kind !== 'value') return undefined;
    if (v.value === type) hit = true;
  }
  return hit;
}

/**
 * Compound nodes (`and`, `or`, `not`) that occur more than once in `asts`, counting every
 * occurrence: macro bodies used twice or more (the parser makes a fresh node everywhere else).
 */
export function repeatedNodes(asts: Iterable<Expr>): Set<Expr> {
  const seen = new Set<Expr>();
  const repeated = new Set<Expr>();
  const walk = (n: Expr): void => {
    if (n.kind !== 'and' && n.kind !== 'or' && n.kind !== 'not') return;
    if (seen.has(n)) {
      repeated.add(n);
      return; // its children were counted the first time
    }
    seen.add(n);
    if (n.kind === 'not') walk(n.child);
    else for (const c of n.children) walk(c);
  };
  for (const a of asts) walk(a);
  return repeated;
}

/** See the module comment. One instance per set of conditions compiled together. */
export class EventTypeSpecializer {
  /** Specialized forms of the shared nodes: to be shared in turn when compiled. */
  readonly shared = new Set<Expr>();
  /** The `evt.type` checks under each node, in order. */
  private readonly checks = new Map<Expr, BinaryCheckExpr[]>();
  /** Results per node, by the answers of its `evt.type` checks. */
  private readonly results = new Map<Expr, Map<string, Expr | boolean>>();

  /** @param sharedNodes nodes several conditions share (see {@link repeatedNodes}). */
  constructor(private readonly sharedNodes: ReadonlySet<Expr>) {}

  /**
   * `node` for events of type `type`: the node itself when it has no `evt.type` check, a constant
   * when its value is known, otherwise a simplified copy.
   */
  specialize(node: Expr, type: string): Expr | boolean {
    const checks = this.checksOf(node);
    if (checks.length === 0) {
      if (this.sharedNodes.has(node)) this.shared.add(node);
      return node;
    }
    let key = '';
    for (const c of checks) key += foldEventTypeCheck(c, type) ? '1' : '0';
    let byKey = this.results.get(node);
    if (!byKey) {
      byKey = new Map();
      this.results.set(node, byKey);
    }
    const hit = byKey.get(key);
    if (hit !== undefined) return hit;
    const out = this.build(node, type);
    byKey.set(key, out);
    if (typeof out !== 'boolean' && this.sharedNodes.has(node)) this.shared.add(out);
    return out;
  }

  /** Whether `n` is shared: one of the shared nodes or a specialized form of one. */
  isShared(n: Expr): boolean {
    return this.sharedNodes.has(n) || this.shared.has(n);
  }

  private build(node: Expr, type: string): Expr | boolean {
    if (node.kind === 'binary') return foldEventTypeCheck(node, type) ?? node;
    if (node.kind === 'not') {
      const c = this.specialize(node.child, type);
      if (typeof c === 'boolean') return !c;
      return c === node.child ? node : { kind: 'not', child: c, span: node.span };
    }
    if (node.kind !== 'and' && node.kind !== 'or') return node;
    // `and`: a false child decides, true children drop out; `or` the other way round.
    const decisive = node.kind === 'or';
    const kids: Expr[] = [];
    let changed = false;
    for (const child of node.children) {
      const c = this.specialize(child, type);
      if (typeof c === 'boolean') {
        if (c === decisive) return decisive;
        changed = true; // a neutral child drops out
        continue;
      }
      if (c !== child) changed = true;
      // A nested node of the same kind that no other condition shares joins this one (same
      // order, same short-circuit): one closure less per evaluation.
      if ((c.kind === 'and' || c.kind === 'or') && c.kind === node.kind && !this.isShared(c) && c !== child)
        kids.push(...c.children);
      else kids.push(c);
    }
    if (!changed) return node;
    if (kids.length === 0) return !decisive;
    if (kids.length === 1) return kids[0]!;
    return { kind: node.kind, children: kids, span: node.span };
  }

  private checksOf(node: Expr): BinaryCheckExpr[] {
    let list = this.checks.get(node);
    if (list) return list;
    list = [];
    if (node.kind === 'binary') {
      if (foldEventTypeCheck(node, 'open') !== undefined) list.push(node);
    } else if (node.kind === 'not') {
      list.push(...this.checksOf(node.child));
    } else if (node.kind === 'and' || node.kind === 'or') {
      for (const c of node.children) list.push(...this.checksOf(c));
    }
    this.checks.set(node, list);
    return list;
  }
}

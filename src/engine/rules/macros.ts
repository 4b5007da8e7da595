/**
 * Macro substitution on the AST (Falco's `filter_macro_resolver`).
 *
 * A bare identifier in a boolean position is a macro reference; it is replaced by the macro's
 * condition. Macros are resolved one by one in definition order, each seeing only the macros whose
 * index is lower than its own visibility; rules see every macro. A macro already resolved is
 * substituted as is; one not yet resolved is resolved recursively with the referencing item's
 * visibility. A reference back to a macro on the current substitution path is a loop.
 * Substitution builds new and/or/not nodes and never modifies shared macro bodies.
 */
import type { Expr, Span } from '../condition/ast.js';
import type { MacroInfo } from './collector.js';

export interface MacroEntry {
  name: string;
  info: MacroInfo;
  /** Parsed body (spans in the load's span space); undefined when it did not parse. */
  ast?: Expr;
  /** Body with its own references substituted, once resolved. */
  resolved?: Expr;
  /** The macro could not be parsed or resolved (already reported). */
  broken: boolean;
  used: boolean;
}

export type ResolveResult =
  | {
      ok: true;
      ast: Expr;
      /** Macros substituted at the top level, with the body used (for memoisation by identity). */
      deps: { name: string; body: Expr }[];
      /** False when a not-yet-resolved macro was expanded on the fly (result not reusable). */
      memoizable: boolean;
      /** Every macro substituted, at any depth. */
      used: string[];
    }
  /** `error` is absent when the failure comes from a broken macro, already reported. */
  | { ok: false; error?: { message: string; span: Span } };

/**
 * Substitute macro references in `ast`. `visible` answers which macros the item may use.
 * Marks every substituted macro as used when the whole resolution succeeds.
 */
export function resolveMacros(ast: Expr, visible: (name: string) => MacroEntry | undefined): ResolveResult {
  const errors: { message: string; span: Span }[] = [];
  const unknown: { name: string; span: Span }[] = [];
  const used: MacroEntry[] = [];
  const path: string[] = [];
  const deps: { name: string; body: Expr }[] = [];
  let brokenRef = false;
  let memoizable = true;

  const visit = (e: Expr): Expr => {
    switch (e.kind) {
      case 'and':
      case 'or': {
        let changed = false;
        const children = e.children.map((c) => {
          const r = visit(c);
          if (r !== c) changed = true;
          return r;
        });
        return changed ? { ...e, children } : e;
      }
      case 'not': {
        const child = visit(e.child);
        return child !== e.child ? { ...e, child } : e;
      }
      case 'identifier': {
        const m = visible(e.name);
        if (!m) {
          unknown.push({ name: e.name, span: e.span });
          return e;
        }
        if (path.includes(m.name)) {
          errors.push({ message: `reference loop in macro '${m.name}'`, span: e.span });
          return e;
        }
        if (m.broken || !m.ast) {
          brokenRef = true;
          return e;
        }
        let body: Expr;
        if (m.resolved) {
          body = m.resolved;
        } else {
          memoizable = false;
          path.push(m.name);
          body = visit(m.ast);
          path.pop();
        }
        if (path.length === 0) deps.push({ name: m.name, body });
        used.push(m);
        return body;
      }
      case 'unary':
      case 'binary':
        return e;
    }
  };

  const out = visit(ast);
  const err = errors[0];
  if (err) return { ok: false, error: err };
  const unk = unknown[0];
  if (unk)
    return { ok: false, error: { message: `Undefined macro '${unk.name}' used in filter.`, span: unk.span } };
  if (brokenRef) return { ok: false };
  for (const m of used) m.used = true;
  return { ok: true, ast: out, deps, memoizable, used: used.map((m) => m.name) };
}

/**
 * Conditions over plain records, for the compiler's unit tests: events are `{ field: value }`
 * objects, with `proc.name`, `fd.name` and `evt.type` as strings.
 */
import type { Expr } from '../../src/engine/condition/ast.js';
import { parseCondition } from '../../src/engine/condition/parser.js';
import type { FieldDef, FieldProvider, FieldValue } from '../../src/engine/fields/types.js';
import {
  compileCondition,
  type CompiledFilter,
  type SharedSubexpressions,
} from '../../src/engine/compile/index.js';

export type RecordEvent = Record<string, FieldValue>;

export const recordProvider: FieldProvider<RecordEvent> = (() => {
  const defs = new Map<string, FieldDef>(
    (['proc.name', 'fd.name', 'evt.type'] as const).map((name) => [
      name,
      { name, type: 'CHARBUF', desc: '', source: 'syscall', arg: 'none', isList: false },
    ]),
  );
  return {
    source: 'syscall',
    lookup: (name) => {
      const def = defs.get(name);
      return def ? { def } : undefined;
    },
    extractor: (def) => (e) => e[def.name],
    all: () => [...defs.values()],
  };
})();

/** Parses a condition; throws on a syntax error. */
export function parse(cond: string): Expr {
  const r = parseCondition(cond);
  if (!r.ok) throw new Error(r.error.message);
  return r.ast;
}

/** Compiles a condition over records, sharing macro bodies through `shared` when given. */
export function compile(ast: Expr, shared?: SharedSubexpressions): CompiledFilter<RecordEvent> {
  const r = compileCondition(ast, recordProvider, shared ? { shared } : {});
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('; '));
  return r.filter;
}

/**
 * Which rule conditions give the same answer for two events that carry the same parameters, come
 * from the same thread and meet the same state: those that read no field whose value depends on
 * something else about the event — its time, its number in the stream, the CPU it ran on.
 *
 * The agent reuses a verdict for such repeats (src/agent/repeats.ts): an open/close storm, a
 * process polling one file, a server opening the same files for every request. A field is judged
 * by its name; a condition that still holds an unresolved macro name, or a field of another event
 * source, is never repeatable.
 */
import type { BinaryCheckExpr, Expr, FieldOrTransformer, RhsExpr, TransformerArg } from '../condition/ast.js';

/**
 * Syscall fields whose value depends on more than the event's parameters, its thread and the
 * state: the event's time, number and CPU, and durations measured up to the event.
 */
const VOLATILE = /(^evt\.(num|cpu|around|count)(\.|$))|time|duration|latency/;

/** True when `name` is a syscall field whose value is fixed by the parameters, thread and state. */
export function isRepeatableField(name: string): boolean {
  if (VOLATILE.test(name)) return false;
  return /^(evt|proc|thread|user|group|fd|fs|container|k8s)\./.test(name);
}

/** True when every field `e` reads is repeatable ({@link isRepeatableField}). */
export function isRepeatableCondition(e: Expr): boolean {
  switch (e.kind) {
    case 'and':
    case 'or':
      return e.children.every(isRepeatableCondition);
    case 'not':
      return isRepeatableCondition(e.child);
    case 'identifier':
      return false;
    case 'unary':
      return operand(e.left);
    case 'binary':
      return numberedFromOne(e) || (operand(e.left) && operand(e.right));
  }
}

/**
 * `evt.num` compared with 0: constant, since events are numbered from 1. Falco's rules use
 * `evt.num=0` as a condition that never holds (the `never_true` macro, in every
 * `user_known_*` placeholder a user can override).
 */
function numberedFromOne(e: BinaryCheckExpr): boolean {
  return (
    e.left.kind === 'field' &&
    e.left.name === 'evt.num' &&
    e.modifier === undefined &&
    e.right.kind === 'value' &&
    e.right.value === '0' &&
    ['=', '==', '!=', '<', '<=', '>', '>='].includes(e.op)
  );
}

/** True when every field an operand (either side of a check, a transformer's argument) reads is repeatable. */
function operand(o: FieldOrTransformer | TransformerArg | RhsExpr): boolean {
  switch (o.kind) {
    case 'field':
      return isRepeatableField(o.name);
    case 'val':
      return isRepeatableField(o.field.name);
    case 'transformer':
      return o.args.every(operand);
    case 'list':
      return o.values.every(operand);
    case 'value':
    case 'listref':
      return true;
  }
}

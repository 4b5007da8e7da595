/**
 * Prints a condition AST in Falco's "compiled condition" form (libsinsp `ast::as_string`):
 * `and`/`or` groups always parenthesised, `not ` before its operand, single spaces around
 * operators, list values `(a, b)`, values quoted only when needed (`"curl 127.0.0.1"`).
 *
 * Deliberate differences from libsinsp, all in cases Falco prints text that does not parse back:
 * empty values and values holding `( ) = ,` are quoted, a final backslash is written `\x5c`, and
 * string arguments of transformers are always quoted (`join("-", (fd.name, "x"))`). Printed
 * conditions therefore always re-parse to the same AST (spans and the `quoted` flag aside).
 */
import type { Expr, FieldExpr, FieldOrTransformer, RhsExpr, TransformerArg, ValueExpr } from './ast.js';
import { escapeString, quoteString } from './escaping.js';

/** Falco's string form of a condition, e.g. `(evt.type = open and proc.name in (ash, bash))`. */
export function printExpr(e: Expr): string {
  switch (e.kind) {
    case 'and':
    case 'or':
      return `(${e.children.map(printExpr).join(` ${e.kind} `)})`;
    case 'not':
      return `not ${printExpr(e.child)}`;
    case 'identifier':
      return e.name;
    case 'unary':
      return `${printOperand(e.left)} ${e.op}`;
    case 'binary': {
      const modifier = e.modifier === undefined ? '' : `${e.modifier} `;
      return `${printOperand(e.left)} ${e.op} ${modifier}${printOperand(e.right)}`;
    }
  }
}

/** String form of one operand: a field, transformer, value, list, list name or `val(...)`. */
export function printOperand(e: FieldOrTransformer | RhsExpr | TransformerArg): string {
  switch (e.kind) {
    case 'field':
      return printField(e);
    case 'transformer': {
      const args = e.args.map(printTransformerArg).join(', ');
      return `${e.name}(${args})${printBracketArg(e.arg)}`;
    }
    case 'value':
      return escapeString(e.value);
    case 'list':
      return `(${e.values.map(printOperand).join(', ')})`;
    case 'listref':
      return e.name;
    case 'val':
      return `val(${printField(e.field)})`;
  }
}

function printField(f: FieldExpr): string {
  return f.name + printBracketArg(f.arg);
}

function printBracketArg(arg: string | undefined): string {
  return arg === undefined ? '' : `[${escapeString(arg, 'fieldArg')}]`;
}

// A transformer argument must be a quoted string or a number (never a bare string).
const NUMERIC = /^(?:0[xX][0-9a-zA-Z]+|[+-]?[0-9]+\.?[0-9]*(?:[eE][+-][0-9]+)?)$/;

function printTransformerArg(a: TransformerArg | ValueExpr): string {
  switch (a.kind) {
    case 'value':
      return !a.quoted && NUMERIC.test(a.value) ? a.value : quoteString(a.value);
    case 'list':
      return `(${a.values.map(printTransformerArg).join(', ')})`;
    case 'field':
    case 'transformer':
      return printOperand(a);
  }
}

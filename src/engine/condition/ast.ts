/**
 * Abstract syntax tree of a Falco condition (libsinsp filter language).
 *
 * Shared by the parser (produces it), the rule loader (macro substitution, exception
 * appending, printing compiled conditions) and the compiler (turns it into closures).
 * Spans are offsets into the condition text that was parsed, so diagnostics can point
 * at `file:line:col`.
 */

export interface Span {
  /** Offset of the first character (0-based, UTF-16 units of the condition string). */
  start: number;
  /** Offset one past the last character. */
  end: number;
}

export type Expr = AndExpr | OrExpr | NotExpr | IdentifierExpr | UnaryCheckExpr | BinaryCheckExpr;

/** `a and b and c` (n-ary). */
export interface AndExpr {
  kind: 'and';
  children: Expr[];
  span: Span;
}

/** `a or b or c` (n-ary). */
export interface OrExpr {
  kind: 'or';
  children: Expr[];
  span: Span;
}

export interface NotExpr {
  kind: 'not';
  child: Expr;
  span: Span;
}

/** A bare identifier in boolean position: a macro reference. */
export interface IdentifierExpr {
  kind: 'identifier';
  name: string;
  span: Span;
}

/** `field exists` */
export interface UnaryCheckExpr {
  kind: 'unary';
  left: FieldOrTransformer;
  op: UnaryOperator;
  span: Span;
}

/** `field op rhs`, optionally with a modifier (`startswith oneof (a, b)`). */
export interface BinaryCheckExpr {
  kind: 'binary';
  left: FieldOrTransformer;
  op: BinaryOperator;
  modifier?: Modifier;
  right: RhsExpr;
  span: Span;
}

export type UnaryOperator = 'exists';

export const BINARY_OPERATORS = [
  '=',
  '==',
  '!=',
  '<=',
  '<',
  '>=',
  '>',
  'contains',
  'icontains',
  'bcontains',
  'startswith',
  'bstartswith',
  'endswith',
  'glob',
  'iglob',
  'regex',
  'in',
  'intersects',
  'pmatch',
] as const;
export type BinaryOperator = (typeof BINARY_OPERATORS)[number];

/** Operators whose right-hand side is a list: `(a, b)` or a list name. */
export const LIST_OPERATORS: ReadonlySet<BinaryOperator> = new Set(['in', 'intersects', 'pmatch']);

export type Modifier = 'oneof' | 'anyof' | 'allof';

/** A field reference: `proc.name`, `proc.aname[2]`, `jevt.value[/user/username]`, `evt.arg.flags`. */
export interface FieldExpr {
  kind: 'field';
  /** Field name as written (`evt.arg.flags`, `proc.aname`). */
  name: string;
  /** Bracket argument, unquoted (`2`, `/user/username`), when present. */
  arg?: string;
  span: Span;
}

export const TRANSFORMER_NAMES = [
  'tolower',
  'toupper',
  'b64',
  'basename',
  'len',
  'join',
  'concat',
  'getopt',
] as const;
export type TransformerName = (typeof TRANSFORMER_NAMES)[number];

/** `tolower(proc.name)`, `join("->", (fd.name, "x"))`, `getopt(proc.args, "n:")[n]` */
export interface TransformerExpr {
  kind: 'transformer';
  name: TransformerName;
  args: TransformerArg[];
  /** Bracket index after the closing parenthesis (`getopt(...)[n]`). */
  arg?: string;
  span: Span;
}

export type FieldOrTransformer = FieldExpr | TransformerExpr;

export type TransformerArg = FieldExpr | TransformerExpr | ValueExpr | ListExpr;

/** A literal value: quoted (`"a b"`) or bare (`bash`, `127.0.0.1`, `0x1f`). `value` is unescaped. */
export interface ValueExpr {
  kind: 'value';
  value: string;
  quoted: boolean;
  span: Span;
}

/** `(a, b, "c d")` — also used for transformer list arguments, whose items may be fields/transformers. */
export interface ListExpr {
  kind: 'list';
  values: (ValueExpr | FieldExpr | TransformerExpr)[];
  span: Span;
}

/** A list name on the right of a list operator before list substitution (`proc.name in shell_binaries`). */
export interface ListRefExpr {
  kind: 'listref';
  name: string;
  span: Span;
}

/** `val(proc.pname)`: field-to-field comparison. */
export interface ValFieldExpr {
  kind: 'val';
  field: FieldExpr;
  span: Span;
}

export type RhsExpr = ValueExpr | ListExpr | ListRefExpr | ValFieldExpr | TransformerExpr;

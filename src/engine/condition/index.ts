/**
 * Public entry of the condition language: AST types, parser, printer and string escaping.
 */
export type {
  AndExpr,
  BinaryCheckExpr,
  BinaryOperator,
  Expr,
  FieldExpr,
  FieldOrTransformer,
  IdentifierExpr,
  ListExpr,
  ListRefExpr,
  Modifier,
  NotExpr,
  OrExpr,
  RhsExpr,
  Span,
  TransformerArg,
  TransformerExpr,
  TransformerName,
  UnaryCheckExpr,
  UnaryOperator,
  ValFieldExpr,
  ValueExpr,
} from './ast.js';
export { BINARY_OPERATORS, LIST_OPERATORS, TRANSFORMER_NAMES } from './ast.js';
export { DEFAULT_MAX_DEPTH, parseCondition } from './parser.js';
export type { ParseError, ParseOptions, ParseResult } from './parser.js';
export { printExpr, printOperand } from './print.js';
export { escapeString, quoteString, unescapeString } from './escaping.js';
export type { UnescapeResult } from './escaping.js';

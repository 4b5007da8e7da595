/**
 * Parser of Falco conditions (the libsinsp filter language) into the AST of `ast.ts`.
 *
 * Recursive descent, one parse function per production of the grammar below, with a depth guard
 * (libsinsp's default of 100; Falco's rule compiler passes 1000). It never throws: every failure,
 * including a JS stack overflow, comes back as a `ParseError` with Falco's message text and the
 * offset where the parser stopped. It runs at load time only; every lexer is anchored (sticky
 * regexes without nested ambiguity), so time is linear in the input length.
 *
 * Grammar (EBNF; terminals in quotes, BLANK = [ \t\b\r\n]; mirrors libsinsp `filter/parser.h/.cpp`):
 *
 *   Expr          ::= Or
 *   Or            ::= And { "or" ( BLANK+ And | "(" Group ) }
 *   And           ::= Not { "and" ( BLANK+ Not | "(" Group ) }
 *   Not           ::= { "not" SPACE+ } ( "not(" Group | Check )        (* each 'not' toggles *)
 *   Group         ::= Expr ")"                                          (* after its "(" *)
 *   Check         ::= "(" Group
 *                   | Field Condition
 *                   | TrName TrRest Condition
 *                   | Identifier                                        (* macro reference *)
 *   Field         ::= FieldName [ "[" FieldArg "]" ]                    (* no blank before "[" *)
 *   TrName        ::= "tolower(" | "toupper(" | "b64(" | "basename(" | "len(" | "join("
 *                   | "concat(" | "getopt("                             (* no blank before "(" *)
 *   TrRest        ::= TrArg { "," TrArg } ")" [ "[" FieldArg "]" ]
 *   TrArg         ::= TrName TrRest | Field | QuotedStr | NumValue
 *                   | "(" [ TrListItem { "," TrListItem } ] ")"
 *   TrListItem    ::= TrName TrRest | Field | QuotedStr | NumValue
 *   Condition     ::= "exists"
 *                   | NumOp NumValueOrTr
 *                   | StrOp StrValueOrTr
 *                   | ListOp ListValueOrTr
 *   NumValueOrTr  ::= TransformerOrVal | HexNumber | Number
 *   StrValueOrTr  ::= TransformerOrVal | Modifier BLANK+ ListValue | QuotedStr | BareStr
 *   ListValueOrTr ::= "(" ListRest | TransformerOrVal | Identifier     (* identifier = list name *)
 *   ListValue     ::= "(" ListRest | Identifier
 *   ListRest      ::= [ StrValue { "," StrValue } ] ")"
 *   StrValue      ::= QuotedStr | BareStr
 *   TransformerOrVal ::= "val(" FieldName [ "[" FieldArg "]" ] ")" | TrName TrRest
 *   NumOp         ::= "<=" | "<" | ">=" | ">"
 *   StrOp         ::= "==" | "=" | "!=" | ( "glob" | "iglob" | "contains" | "icontains"
 *                   | "bcontains" | "startswith" | "bstartswith" | "endswith" | "regex" ) BLANK
 *   ListOp        ::= "intersects" | "in" | "pmatch"                    (* no blank needed *)
 *   Modifier      ::= "oneof" | "anyof" | "allof"
 *       (* a modifier only when preceded by a blank and followed by blanks then "(" or an
 *          identifier other than 'and'/'or'; otherwise it is the bare string "oneof" etc. *)
 *
 *   Tokens (operators and keywords are tried in the order listed, as literal prefixes):
 *   SPACE         ::= [ \t\n\v\f\r]
 *   Identifier    ::= [a-zA-Z][a-zA-Z0-9_]*
 *   FieldName     ::= Identifier ( "." Identifier )+
 *   FieldArg      ::= QuotedStr | [^][\"' \t\n\v\f\r]+
 *   HexNumber     ::= 0[xX][0-9a-zA-Z]+
 *   Number        ::= [+-]?[0-9]+\.?[0-9]*([eE][+-][0-9]+)?
 *   QuotedStr     ::= '"' … '"' | "'" … "'"    (* ends at the first delimiter not preceded by a
 *                                                 backslash; escapes in escaping.ts *)
 *   BareStr       ::= [^()\"' \t\n\v\f\r=,]+
 *   (NUL ends the input for every token, as in the C implementation.)
 */
import {
  TRANSFORMER_NAMES,
  type BinaryOperator,
  type Expr,
  type FieldExpr,
  type FieldOrTransformer,
  type IdentifierExpr,
  type ListExpr,
  type ListRefExpr,
  type Modifier,
  type RhsExpr,
  type Span,
  type TransformerArg,
  type TransformerExpr,
  type TransformerName,
  type ValFieldExpr,
  type ValueExpr,
} from './ast.js';
import { unescapeString } from './escaping.js';

/** Why a condition did not parse. Messages follow libsinsp's parser where Falco users see them. */
export interface ParseError {
  message: string;
  /** Offset into the condition text (0-based, UTF-16 units) where parsing stopped. */
  offset: number;
}

export type ParseResult = { ok: true; ast: Expr } | { ok: false; error: ParseError };

export interface ParseOptions {
  /** Maximum recursion depth of the parser (libsinsp default 100; Falco's rule compiler uses 1000). */
  maxDepth?: number;
}

/** libsinsp's default recursion limit. */
export const DEFAULT_MAX_DEPTH = 100;

/**
 * Parses one condition. Never throws: syntax errors, too deep nesting and stack exhaustion are
 * returned as `{ ok: false, error }`.
 */
export function parseCondition(text: string, options?: ParseOptions): ParseResult {
  const maxDepth = options?.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (text.length === 0) {
    return { ok: false, error: { message: 'filter input string is empty', offset: 0 } };
  }
  const parser = new ConditionParser(text, maxDepth);
  try {
    return { ok: true, ast: parser.parseExpr() };
  } catch (e: unknown) {
    if (e instanceof ParseFailure) {
      return { ok: false, error: { message: e.message, offset: e.offset } };
    }
    if (e instanceof RangeError) {
      // JS stack exhausted before maxDepth was reached (a caller passed a very large maxDepth)
      return {
        ok: false,
        error: {
          message: `exceeded max depth limit of ${maxDepth} (parser stack exhausted)`,
          offset: parser.offset,
        },
      };
    }
    throw e;
  }
}

/** Internal control flow for errors; caught in parseCondition. Not an Error: no stack capture. */
class ParseFailure {
  constructor(
    readonly message: string,
    readonly offset: number,
  ) {}
}

// Token regexes: sticky, and written so a failed attempt costs at most one scan of the candidate.
const RE_IDENTIFIER = /[a-zA-Z][a-zA-Z0-9_]*/y;
const RE_FIELD_NAME = /[a-zA-Z][a-zA-Z0-9_]*(?:\.[a-zA-Z][a-zA-Z0-9_]*)+/y;
const RE_FIELD_ARG_BARE = /[^[\]"'\t\n\v\f\r \0]+/y;
const RE_HEX_NUMBER = /0[xX][0-9a-zA-Z]+/y;
const RE_NUMBER = /[+-]?[0-9]+\.?[0-9]*(?:[eE][+-][0-9]+)?/y;
const RE_BARE_STR = /[^()"'\t\n\v\f\r =,\0]+/y;
// 'not' must be followed by POSIX [:space:] (no \b, unlike BLANK)
const RE_NOT_SPACE = /not[\t\n\v\f\r ]+/y;

const UNARY_OPS = ['exists'] as const;
const NUM_OPS = ['<=', '<', '>=', '>'] as const;
const STR_SYMBOL_OPS = ['==', '=', '!='] as const;
const STR_WORD_OPS = [
  'glob',
  'iglob',
  'contains',
  'icontains',
  'bcontains',
  'startswith',
  'bstartswith',
  'endswith',
  'regex',
] as const;
const LIST_OPS = ['intersects', 'in', 'pmatch'] as const;
const MODIFIERS: readonly Modifier[] = ['oneof', 'anyof', 'allof'];

const SUPPORTED_OPERATORS = [...UNARY_OPS, ...NUM_OPS, ...STR_SYMBOL_OPS, ...STR_WORD_OPS, ...LIST_OPS]
  .map((op) => `'${op}'`)
  .join(', ');
const SUPPORTED_TRANSFORMERS = ['val', ...TRANSFORMER_NAMES].map((t) => `'${t}'`).join(', ');

function isBlank(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\b' || c === '\r' || c === '\n';
}

class ConditionParser {
  private pos = 0;
  private depth = 0;
  /** Text of the last token consumed (for "unexpected token after '…'"). */
  private lastToken = '';
  /** End offset of the last token consumed (span ends exclude trailing blanks). */
  private lastEnd = 0;

  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
  ) {}

  get offset(): number {
    return this.pos;
  }

  // ---- productions -------------------------------------------------------------------------

  /** Expr: the whole input must be consumed. */
  parseExpr(): Expr {
    const expr = this.parseOr();
    if (this.pos !== this.text.length) {
      this.fail(`unexpected token after '${this.lastToken}', expecting 'or', 'and'`);
    }
    return expr;
  }

  /** Or ::= And { "or" ( BLANK+ And | "(" Group ) } */
  private parseOr(): Expr {
    this.enter();
    this.skipBlanks();
    const start = this.pos;
    const children: Expr[] = [this.parseAnd()];
    this.skipBlanks();
    while (this.literal('or')) {
      if (this.skipBlanks()) {
        children.push(this.parseAnd());
      } else if (this.literal('(')) {
        children.push(this.parseGroup());
      } else {
        this.fail("expected blank or '(' after 'or'");
      }
      this.skipBlanks();
    }
    this.leave();
    return children.length > 1 ? { kind: 'or', children, span: this.spanFrom(start) } : (children[0] as Expr);
  }

  /** And ::= Not { "and" ( BLANK+ Not | "(" Group ) } */
  private parseAnd(): Expr {
    this.enter();
    this.skipBlanks();
    const start = this.pos;
    const children: Expr[] = [this.parseNot()];
    this.skipBlanks();
    while (this.literal('and')) {
      if (this.skipBlanks()) {
        children.push(this.parseNot());
      } else if (this.literal('(')) {
        children.push(this.parseGroup());
      } else {
        this.fail("expected blank or '(' after 'and'");
      }
      this.skipBlanks();
    }
    this.leave();
    return children.length > 1
      ? { kind: 'and', children, span: this.spanFrom(start) }
      : (children[0] as Expr);
  }

  /** Not ::= { "not" SPACE+ } ( "not(" Group | Check ) */
  private parseNot(): Expr {
    this.enter();
    this.skipBlanks();
    const start = this.pos;
    let negate = false;
    while (this.regex(RE_NOT_SPACE) !== undefined) {
      negate = !negate;
    }
    let child: Expr;
    if (this.literal('not(')) {
      negate = !negate;
      child = this.parseGroup();
    } else {
      child = this.parseCheck();
    }
    this.leave();
    return negate ? { kind: 'not', child, span: this.spanFrom(start) } : child;
  }

  /** Group ::= Expr ")" — the rest of a parenthesised expression after its "(". */
  private parseGroup(): Expr {
    this.enter();
    this.skipBlanks();
    const child = this.parseOr();
    this.skipBlanks();
    if (!this.literal(')')) {
      this.fail("expected a ')' token");
    }
    this.leave();
    return child;
  }

  /** Check ::= "(" Group | Field Condition | TrName TrRest Condition | Identifier */
  private parseCheck(): Expr {
    this.enter();
    this.skipBlanks();
    const start = this.pos;
    let result: Expr;
    if (this.literal('(')) {
      result = this.parseGroup();
    } else {
      const fieldName = this.regex(RE_FIELD_NAME);
      if (fieldName !== undefined) {
        result = this.parseCondition(this.parseFieldRest(fieldName, start));
      } else {
        const transformer = this.transformerName();
        if (transformer !== undefined) {
          result = this.parseCondition(this.parseTransformerRest(transformer, start));
        } else {
          const name = this.regex(RE_IDENTIFIER);
          if (name === undefined) {
            this.fail("expected a '(' token, a field check, or an identifier");
          }
          const identifier: IdentifierExpr = { kind: 'identifier', name, span: this.spanFrom(start) };
          result = identifier;
        }
      }
    }
    this.leave();
    return result;
  }

  /** Field ::= FieldName [ "[" FieldArg "]" ] — after the field name. */
  private parseFieldRest(name: string, start: number): FieldExpr {
    this.enter();
    const arg = this.parseBracketArg();
    this.leave();
    const field: FieldExpr = { kind: 'field', name, span: this.spanFrom(start) };
    if (arg !== undefined) field.arg = arg;
    return field;
  }

  /** The optional `[arg]` after a field or transformer. */
  private parseBracketArg(): string | undefined {
    if (!this.literal('[')) return undefined;
    const arg = this.quotedString() ?? this.regex(RE_FIELD_ARG_BARE);
    if (arg === undefined) {
      this.fail('expected a valid field argument: a quoted string or a bare string');
    }
    if (!this.literal(']')) {
      this.fail("expected a ']' token");
    }
    return arg;
  }

  /** TrRest ::= TrArg { "," TrArg } ")" [ "[" FieldArg "]" ] — after `name(`. */
  private parseTransformerRest(name: TransformerName, start: number): TransformerExpr {
    this.enter();
    this.skipBlanks();
    const args: TransformerArg[] = [this.parseTransformerArg()];
    this.skipBlanks();
    while (this.literal(',')) {
      this.skipBlanks();
      args.push(this.parseTransformerArg());
      this.skipBlanks();
    }
    if (!this.literal(')')) {
      this.fail("expected a ')' token closing the transformer");
    }
    const arg = this.parseBracketArg();
    this.leave();
    const transformer: TransformerExpr = { kind: 'transformer', name, args, span: this.spanFrom(start) };
    if (arg !== undefined) transformer.arg = arg;
    return transformer;
  }

  /** TrArg ::= TrName TrRest | Field | QuotedStr | NumValue | "(" [ TrListItem { "," TrListItem } ] ")" */
  private parseTransformerArg(): TransformerArg {
    this.enter();
    const start = this.pos;
    let result: TransformerArg | undefined;
    if (this.literal('(')) {
      const values: ListExpr['values'] = [];
      this.skipBlanks();
      if (!this.literal(')')) {
        values.push(this.parseTransformerListItem());
        this.skipBlanks();
        while (this.literal(',')) {
          this.skipBlanks();
          values.push(this.parseTransformerListItem());
          this.skipBlanks();
        }
        if (!this.literal(')')) {
          this.fail("expected a ')' token");
        }
      }
      result = { kind: 'list', values, span: this.spanFrom(start) };
    } else {
      result = this.tryTransformerListItem();
    }
    if (result === undefined) {
      this.fail(
        'expected a transformer argument: a field, a nested transformer, a quoted string, a number, or a list',
      );
    }
    this.leave();
    return result;
  }

  /** TrListItem ::= TrName TrRest | Field | QuotedStr | NumValue */
  private parseTransformerListItem(): ValueExpr | FieldExpr | TransformerExpr {
    const item = this.tryTransformerListItem();
    if (item === undefined) {
      this.fail('expected a list item: a field, a transformer, a quoted string, or a number');
    }
    return item;
  }

  private tryTransformerListItem(): ValueExpr | FieldExpr | TransformerExpr | undefined {
    const start = this.pos;
    const transformer = this.transformerName();
    if (transformer !== undefined) {
      return this.parseTransformerRest(transformer, start);
    }
    const fieldName = this.regex(RE_FIELD_NAME);
    if (fieldName !== undefined) {
      return this.parseFieldRest(fieldName, start);
    }
    const quoted = this.quotedString();
    if (quoted !== undefined) {
      return { kind: 'value', value: quoted, quoted: true, span: this.spanFrom(start) };
    }
    const num = this.regex(RE_HEX_NUMBER) ?? this.regex(RE_NUMBER);
    if (num !== undefined) {
      return { kind: 'value', value: num, quoted: false, span: this.spanFrom(start) };
    }
    return undefined;
  }

  /** Condition ::= "exists" | NumOp NumValueOrTr | StrOp StrValueOrTr | ListOp ListValueOrTr */
  private parseCondition(left: FieldOrTransformer): Expr {
    this.enter();
    const start = left.span.start;
    this.skipBlanks();
    let result: Expr;
    if (this.literal('exists')) {
      result = { kind: 'unary', left, op: 'exists', span: this.spanFrom(start) };
    } else {
      let op: BinaryOperator | undefined = this.oneOfLiterals(NUM_OPS);
      if (op !== undefined) {
        const right = this.parseNumValueOrTransformer();
        result = { kind: 'binary', left, op, right, span: this.spanFrom(start) };
      } else if ((op = this.strOperator()) !== undefined) {
        const { modifier, right } = this.parseStrValueOrTransformer();
        result = { kind: 'binary', left, op, right, span: this.spanFrom(start) };
        if (modifier !== undefined) result.modifier = modifier;
      } else if ((op = this.oneOfLiterals(LIST_OPS)) !== undefined) {
        const right = this.parseListValueOrTransformer();
        result = { kind: 'binary', left, op, right, span: this.spanFrom(start) };
      } else {
        this.fail(`expected a valid check operator: one of ${SUPPORTED_OPERATORS}`);
      }
    }
    this.leave();
    return result;
  }

  /** NumValueOrTr ::= TransformerOrVal | HexNumber | Number */
  private parseNumValueOrTransformer(): RhsExpr {
    this.enter();
    this.skipBlanks();
    const start = this.pos;
    let result: RhsExpr | undefined = this.tryTransformerOrVal();
    if (result === undefined) {
      const num = this.regex(RE_HEX_NUMBER) ?? this.regex(RE_NUMBER);
      if (num === undefined) {
        this.fail(`expected a number value or a field with a valid transformer: ${SUPPORTED_TRANSFORMERS}`);
      }
      result = { kind: 'value', value: num, quoted: false, span: this.spanFrom(start) };
    }
    this.leave();
    return result;
  }

  /** StrValueOrTr ::= TransformerOrVal | Modifier BLANK+ ListValue | QuotedStr | BareStr */
  private parseStrValueOrTransformer(): { modifier?: Modifier; right: RhsExpr } {
    this.enter();
    this.skipBlanks();
    const start = this.pos;
    let result: { modifier?: Modifier; right: RhsExpr };
    const transformer = this.tryTransformerOrVal();
    if (transformer !== undefined) {
      result = { right: transformer };
    } else {
      const modifier = this.modifier();
      if (modifier !== undefined) {
        result = { modifier, right: this.parseListValue() };
      } else {
        const value = this.tryStrValue(start);
        if (value === undefined) {
          this.fail(`expected a string value or a field with a valid transformer: ${SUPPORTED_TRANSFORMERS}`);
        }
        result = { right: value };
      }
    }
    this.leave();
    return result;
  }

  /** ListValueOrTr ::= "(" ListRest | TransformerOrVal | Identifier */
  private parseListValueOrTransformer(): RhsExpr {
    this.enter();
    this.skipBlanks();
    const start = this.pos;
    let result: RhsExpr | undefined;
    if (this.literal('(')) {
      result = this.parseListRest(start);
    } else {
      result = this.tryTransformerOrVal() ?? this.tryListRef(start);
      if (result === undefined) {
        this.fail(
          `expected a list, an identifier, or a field with a valid transformer: ${SUPPORTED_TRANSFORMERS}`,
        );
      }
    }
    this.leave();
    return result;
  }

  /** ListValue ::= "(" ListRest | Identifier — the right side of a modifier. */
  private parseListValue(): ListExpr | ListRefExpr {
    this.enter();
    this.skipBlanks();
    const start = this.pos;
    const result = this.literal('(') ? this.parseListRest(start) : this.tryListRef(start);
    if (result === undefined) {
      this.fail('expected a list or an identifier');
    }
    this.leave();
    return result;
  }

  /** ListRest ::= [ StrValue { "," StrValue } ] ")" — after "(". */
  private parseListRest(start: number): ListExpr {
    this.enter();
    const values: ValueExpr[] = [];
    this.skipBlanks();
    // libsinsp tries a first value and, when none is there, expects the list to be empty
    const first = this.tryStrValue(this.pos);
    if (first !== undefined) {
      values.push(first);
      this.skipBlanks();
      while (this.literal(',')) {
        this.skipBlanks();
        const value = this.tryStrValue(this.pos);
        if (value === undefined) {
          this.fail('expected a string value');
        }
        values.push(value);
        this.skipBlanks();
      }
    }
    if (!this.literal(')')) {
      this.fail("expected a ')' token");
    }
    this.leave();
    return { kind: 'list', values, span: this.spanFrom(start) };
  }

  /** TransformerOrVal ::= "val(" FieldName [ "[" FieldArg "]" ] ")" | TrName TrRest */
  private tryTransformerOrVal(): TransformerExpr | ValFieldExpr | undefined {
    this.enter();
    this.skipBlanks();
    const start = this.pos;
    let result: TransformerExpr | ValFieldExpr | undefined;
    if (this.literal('val(')) {
      this.skipBlanks();
      const fieldStart = this.pos;
      const fieldName = this.regex(RE_FIELD_NAME);
      if (fieldName === undefined) {
        this.fail("expected a field within 'val' transformer");
      }
      const field = this.parseFieldRest(fieldName, fieldStart);
      this.skipBlanks();
      if (!this.literal(')')) {
        this.fail("expected a ')' token closing the transformer");
      }
      if (this.text[this.pos] === '[') {
        // libsinsp parses `val(f)[x]` and its compiler rejects it with this message; our AST has
        // no place for the argument, so the parser reports it (the rule fails to load either way).
        this.fail("transformer 'val' does not support field arguments");
      }
      result = { kind: 'val', field, span: this.spanFrom(start) };
    } else {
      const transformer = this.transformerName();
      if (transformer !== undefined) {
        result = this.parseTransformerRest(transformer, start);
      }
    }
    this.leave();
    return result;
  }

  // ---- small token helpers -----------------------------------------------------------------

  /** StrValue ::= QuotedStr | BareStr */
  private tryStrValue(start: number): ValueExpr | undefined {
    const quoted = this.quotedString();
    if (quoted !== undefined) {
      return { kind: 'value', value: quoted, quoted: true, span: this.spanFrom(start) };
    }
    const bare = this.regex(RE_BARE_STR);
    if (bare !== undefined) {
      return { kind: 'value', value: bare, quoted: false, span: this.spanFrom(start) };
    }
    return undefined;
  }

  private tryListRef(start: number): ListRefExpr | undefined {
    const name = this.regex(RE_IDENTIFIER);
    return name === undefined ? undefined : { kind: 'listref', name, span: this.spanFrom(start) };
  }

  /**
   * A modifier keyword, only when preceded by a blank and followed by blanks and then a list
   * (`(` or an identifier that is not a boolean keyword); otherwise the word is a plain value.
   */
  private modifier(): Modifier | undefined {
    const text = this.text;
    const at = this.pos;
    if (!isBlank(text[at - 1])) return undefined;
    for (const m of MODIFIERS) {
      if (!text.startsWith(m, at)) continue;
      let next = at + m.length;
      if (!isBlank(text[next])) return undefined;
      while (isBlank(text[next])) next++;
      if (text[next] !== '(') {
        RE_IDENTIFIER.lastIndex = next;
        const ident = RE_IDENTIFIER.exec(text);
        if (ident === null || ident[0] === 'and' || ident[0] === 'or') return undefined;
      }
      this.pos = at + m.length;
      this.lastEnd = this.pos;
      this.lastToken = m;
      this.skipBlanks();
      return m;
    }
    return undefined;
  }

  /** StrOp: symbols as prefixes, words followed by one blank (consumed with the word). */
  private strOperator(): BinaryOperator | undefined {
    const symbol = this.oneOfLiterals(STR_SYMBOL_OPS);
    if (symbol !== undefined) return symbol;
    for (const word of STR_WORD_OPS) {
      if (this.text.startsWith(word, this.pos) && isBlank(this.text[this.pos + word.length])) {
        this.pos += word.length;
        this.lastEnd = this.pos;
        this.lastToken = word;
        this.pos++;
        return word;
      }
    }
    return undefined;
  }

  /** `tolower(` etc.; returns the name and leaves the cursor after the parenthesis. */
  private transformerName(): TransformerName | undefined {
    for (const name of TRANSFORMER_NAMES) {
      if (this.text.startsWith(name, this.pos) && this.text[this.pos + name.length] === '(') {
        this.pos += name.length + 1;
        this.lastEnd = this.pos;
        this.lastToken = `${name}(`;
        return name;
      }
    }
    return undefined;
  }

  /**
   * A quoted string at the cursor, unescaped. Undefined (cursor unchanged) when there is none or
   * it is not terminated; an invalid escape is a parse error.
   */
  private quotedString(): string | undefined {
    const text = this.text;
    const start = this.pos;
    const delimiter = text[start];
    if (delimiter !== '"' && delimiter !== "'") return undefined;
    let prev = delimiter;
    for (let i = start + 1; i < text.length; i++) {
      const c = text[i];
      if (c === '\0') return undefined;
      if (c === delimiter && prev !== '\\') {
        const raw = text.slice(start, i + 1);
        const unescaped = unescapeString(raw);
        if (!unescaped.ok) {
          this.fail(unescaped.message, start + unescaped.offset);
        }
        this.pos = i + 1;
        this.lastEnd = this.pos;
        this.lastToken = unescaped.value;
        return unescaped.value;
      }
      prev = c as string;
    }
    return undefined;
  }

  private oneOfLiterals<T extends string>(candidates: readonly T[]): T | undefined {
    for (const c of candidates) {
      if (this.literal(c)) return c;
    }
    return undefined;
  }

  private literal(s: string): boolean {
    if (!this.text.startsWith(s, this.pos)) return false;
    this.pos += s.length;
    this.lastEnd = this.pos;
    this.lastToken = s;
    return true;
  }

  private regex(re: RegExp): string | undefined {
    re.lastIndex = this.pos;
    const m = re.exec(this.text);
    if (m === null) return undefined;
    const token = m[0];
    this.pos += token.length;
    this.lastEnd = this.pos;
    this.lastToken = token;
    return token;
  }

  /** Skips BLANK characters; true when at least one was skipped. Not a token (no lastToken). */
  private skipBlanks(): boolean {
    const start = this.pos;
    while (isBlank(this.text[this.pos])) this.pos++;
    return this.pos !== start;
  }

  private spanFrom(start: number): Span {
    return { start, end: this.lastEnd };
  }

  private enter(): void {
    this.depth++;
    if (this.depth >= this.maxDepth) {
      this.fail(`exceeded max depth limit of ${this.maxDepth}`);
    }
  }

  private leave(): void {
    this.depth--;
  }

  private fail(message: string, offset: number = this.pos): never {
    throw new ParseFailure(message, offset);
  }
}

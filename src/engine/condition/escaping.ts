/**
 * String escaping of the Falco condition language (libsinsp `filter/escaping.cpp` semantics).
 *
 * `unescapeString` turns a quoted token as the lexer cut it (delimiters included) into its value;
 * `escapeString` / `quoteString` do the reverse for the printer. Values are JS strings; a `\xHH`
 * escape yields the single UTF-16 code unit U+00HH, which is how a raw byte is carried in a string
 * value (Falco compares bytes; the compiler decides what a byte value means for each field type).
 */

/** Result of {@link unescapeString}: the value, or why the escape sequence is invalid. */
export type UnescapeResult =
  | { ok: true; value: string }
  | {
      ok: false;
      message: string;
      /** Offset of the offending backslash inside the token passed in. */
      offset: number;
    };

const HEX_DIGIT = /^[0-9a-fA-F]$/;

/**
 * Unescapes a quoted token, delimiters included (`"a \"b\""`, `'c\'d'`).
 *
 * Supported escapes: `\b \f \n \r \t \\ \/`, `\"` only inside `"…"`, `\'` only inside `'…'`, `\xHH`
 * (exactly two hex digits). Quirk kept from libsinsp for one legacy Falco rule: `\ ` (backslash,
 * space) yields a single backslash. An unescaped delimiter inside the token is kept as is: the
 * lexer can produce one (`"a\\"b"` is lexed as a single token) and libsinsp accepts it.
 */
export function unescapeString(quoted: string): UnescapeResult {
  const delimiter = quoted[0];
  let out = '';
  const end = quoted.length - 1;
  for (let i = 1; i < end; i++) {
    const c = quoted[i] as string;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const at = i;
    i++;
    if (i >= end) {
      return { ok: false, message: 'truncated string escape sequence', offset: at };
    }
    const e = quoted[i] as string;
    switch (e) {
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case ' ': // legacy quirk, see the TSDoc above
      case '\\':
        out += '\\';
        break;
      case '/':
        out += '/';
        break;
      case '"':
        if (delimiter !== '"') {
          return { ok: false, message: `invalid \\" escape in '-quoted string`, offset: at };
        }
        out += '"';
        break;
      case "'":
        if (delimiter !== "'") {
          return { ok: false, message: `invalid \\' escape in "-quoted string`, offset: at };
        }
        out += "'";
        break;
      case 'x': {
        // both hex digits must come before the closing delimiter at `end`
        if (i + 2 >= end) {
          return { ok: false, message: 'truncated hex char escape sequence', offset: at };
        }
        const h1 = quoted[i + 1] as string;
        const h2 = quoted[i + 2] as string;
        if (!HEX_DIGIT.test(h1) || !HEX_DIGIT.test(h2)) {
          return { ok: false, message: `invalid hex char escape sequence: \\x${h1}${h2}`, offset: at };
        }
        out += String.fromCharCode(parseInt(h1 + h2, 16));
        i += 2;
        break;
      }
      default:
        return { ok: false, message: `unsupported string escape sequence: \\${e}`, offset: at };
    }
  }
  return { ok: true, value: out };
}

/** Characters libsinsp's `escape_str` quotes for. */
const FALCO_QUOTE_TRIGGER = /[\b\f\n\r\t \\"']/;
/**
 * Characters that cannot appear in a bare value (BareStr) and would not read back unquoted.
 * libsinsp prints those bare (its output then does not parse back); we quote them.
 */
const BARE_VALUE_BREAKER = /[()=,\v\0]/;
/** Same for a bare field argument (FieldArgBareStr): brackets end it. */
const BARE_FIELD_ARG_BREAKER = /[[\]\v\0]/;

/**
 * A value as written in a printed condition: bare when it reads back unchanged, otherwise quoted.
 *
 * Matches libsinsp's `escape_str` (quote when the value holds a blank, a quote or a backslash) and
 * additionally quotes the empty string and values holding characters a bare token cannot hold
 * (`( ) = ,` for values, `[ ]` for field arguments), so that printed conditions always parse back.
 */
export function escapeString(value: string, context: 'value' | 'fieldArg' = 'value'): string {
  const breaker = context === 'value' ? BARE_VALUE_BREAKER : BARE_FIELD_ARG_BREAKER;
  if (value.length === 0 || FALCO_QUOTE_TRIGGER.test(value) || breaker.test(value)) {
    return quoteString(value);
  }
  return value;
}

/**
 * Always-quoted form `"…"` of a value, escaping what libsinsp escapes, plus NUL as `\x00` and a
 * final backslash as `\x5c` (libsinsp prints `"\\"` there, which its lexer cannot read back).
 */
export function quoteString(value: string): string {
  let out = '"';
  for (let i = 0; i < value.length; i++) {
    const c = value[i] as string;
    switch (c) {
      case '\b':
        out += '\\b';
        break;
      case '\f':
        out += '\\f';
        break;
      case '\n':
        out += '\\n';
        break;
      case '\r':
        out += '\\r';
        break;
      case '\t':
        out += '\\t';
        break;
      case '\\':
        // the lexer never ends a string at a quote preceded by a backslash, so a trailing
        // backslash cannot be written `\\`; the hex form reads back the same
        out += i === value.length - 1 ? '\\x5c' : '\\\\';
        break;
      case '"':
        out += '\\"';
        break;
      case '\0':
        // the lexer stops at NUL (C string heritage), so it can only travel escaped
        out += '\\x00';
        break;
      default:
        out += c;
    }
  }
  return out + '"';
}

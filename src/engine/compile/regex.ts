/**
 * The `regex` operator: libsinsp compiles the right-hand side with RE2 in POSIX syntax mode and
 * matches it against the whole value (anchored at both ends).
 *
 * We translate that RE2 subset to a JS `RegExp` rather than pass the text through, because the two
 * dialects disagree: RE2's POSIX mode rejects Perl extensions that JS accepts (`(?:…)`, `(?=…)`,
 * back-references, lazy `*?`, `\d \w \s \b`), has POSIX bracket classes JS lacks (`[[:alpha:]]`),
 * lets `.` match anything but a newline, and (with `one_line` off) lets `^`/`$` match at line
 * boundaries. Patterns outside the subset are compile errors, as in Falco.
 */

const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7f',
  blank: '\\t ',
  cntrl: '\\x00-\\x1f\\x7f',
  digit: '0-9',
  graph: '\\x21-\\x7e',
  lower: 'a-z',
  print: '\\x20-\\x7e',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

/** Escape for use inside a JS character class. */
function classChar(c: string): string {
  return /[\\\]^[-]/.test(c) ? `\\${c}` : c;
}

/** Escape for use as a JS literal outside classes. */
function literalChar(c: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(c) ? `\\${c}` : c;
}

class RegexSyntaxError extends Error {}

/** Reads one escape after a backslash at `p[i]`; returns the literal character and next index. */
function readEscape(p: string, i: number): { ch: string; next: number } {
  const c = p[i];
  if (c === undefined) throw new RegexSyntaxError('trailing \\');
  switch (c) {
    case 'a':
      return { ch: '\x07', next: i + 1 };
    case 'f':
      return { ch: '\f', next: i + 1 };
    case 'n':
      return { ch: '\n', next: i + 1 };
    case 'r':
      return { ch: '\r', next: i + 1 };
    case 't':
      return { ch: '\t', next: i + 1 };
    case 'v':
      return { ch: '\v', next: i + 1 };
    case 'x': {
      if (p[i + 1] === '{') {
        const end = p.indexOf('}', i + 2);
        const hex = end < 0 ? '' : p.slice(i + 2, end);
        if (!/^[0-9a-fA-F]{1,6}$/.test(hex)) throw new RegexSyntaxError(`invalid escape sequence: \\x`);
        const cp = parseInt(hex, 16);
        if (cp > 0x10ffff) throw new RegexSyntaxError(`invalid escape sequence: \\x{${hex}}`);
        return { ch: String.fromCodePoint(cp), next: end + 1 };
      }
      const hex = p.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new RegexSyntaxError(`invalid escape sequence: \\x${hex}`);
      return { ch: String.fromCharCode(parseInt(hex, 16)), next: i + 3 };
    }
    default:
      break;
  }
  if (c >= '0' && c <= '7') {
    // \0, \0N, \0NN octal; a lone non-zero digit would be a back-reference, which RE2 rejects
    if (c !== '0' && !(p[i + 1] !== undefined && p[i + 1]! >= '0' && p[i + 1]! <= '7')) {
      throw new RegexSyntaxError(`invalid escape sequence: \\${c}`);
    }
    let j = i;
    let v = 0;
    while (j < p.length && j < i + 3 && p[j]! >= '0' && p[j]! <= '7') v = v * 8 + Number(p[j++]);
    return { ch: String.fromCharCode(v), next: j };
  }
  if (/[0-9A-Za-z_]/.test(c)) {
    // \d \w \s \b \pN \Q ... are Perl extensions, off in POSIX mode
    throw new RegexSyntaxError(`invalid escape sequence: \\${c}`);
  }
  return { ch: c, next: i + 1 };
}

function translateClass(p: string, start: number): { out: string; next: number } {
  // `start` is just after '['
  let i = start;
  let out = '[';
  if (p[i] === '^') {
    out += '^';
    i++;
  }
  let first = true;
  let items = 0;
  while (i < p.length) {
    const c = p[i] as string;
    if (c === ']' && !first) return { out: items === 0 ? '[^\\s\\S]' : `${out}]`, next: i + 1 };
    first = false;
    if (c === '[' && p[i + 1] === ':') {
      const end = p.indexOf(':]', i + 2);
      if (end < 0) throw new RegexSyntaxError('missing closing ]');
      const name = p.slice(i + 2, end);
      const cls = POSIX_CLASSES[name];
      if (cls === undefined) throw new RegexSyntaxError(`invalid character class range: [:${name}:]`);
      out += cls;
      items++;
      i = end + 2;
      continue;
    }
    let lo: string;
    if (c === '\\') {
      const e = readEscape(p, i + 1);
      lo = e.ch;
      i = e.next;
    } else {
      lo = c;
      i++;
    }
    if (p[i] === '-' && p[i + 1] !== undefined && p[i + 1] !== ']') {
      let hi: string;
      if (p[i + 1] === '\\') {
        const e = readEscape(p, i + 2);
        hi = e.ch;
        i = e.next;
      } else {
        hi = p[i + 1] as string;
        i += 2;
      }
      if (hi.codePointAt(0)! < lo.codePointAt(0)!)
        throw new RegexSyntaxError(`invalid character class range: ${lo}-${hi}`);
      out += `${classChar(lo)}-${classChar(hi)}`;
    } else {
      out += classChar(lo);
    }
    items++;
  }
  throw new RegexSyntaxError('missing closing ]');
}

/** Translates an RE2 POSIX-syntax pattern into JS regex source (unanchored). */
export function translateRe2Posix(p: string): string {
  let out = '';
  let depth = 0;
  // whether the previous item can take a repetition operator, and whether it already has one
  let canRepeat = false;
  let repeated = false;
  let i = 0;
  while (i < p.length) {
    const c = p[i] as string;
    switch (c) {
      case '\\': {
        const e = readEscape(p, i + 1);
        out += literalChar(e.ch).replace(/\n/g, '\\n');
        i = e.next;
        canRepeat = true;
        repeated = false;
        continue;
      }
      case '[': {
        const t = translateClass(p, i + 1);
        out += t.out;
        i = t.next;
        canRepeat = true;
        repeated = false;
        continue;
      }
      case '(':
        if (p[i + 1] === '?') throw new RegexSyntaxError('invalid or unsupported Perl syntax: (?');
        out += '(?:';
        depth++;
        i++;
        canRepeat = false;
        repeated = false;
        continue;
      case ')':
        if (depth === 0) throw new RegexSyntaxError('unexpected )');
        depth--;
        out += ')';
        i++;
        canRepeat = true;
        repeated = false;
        continue;
      case '|':
        out += '|';
        i++;
        canRepeat = false;
        repeated = false;
        continue;
      case '.':
        out += '[^\\n]';
        i++;
        canRepeat = true;
        repeated = false;
        continue;
      case '^':
        out += '(?<![^\\n])';
        i++;
        canRepeat = false;
        repeated = false;
        continue;
      case '$':
        out += '(?![^\\n])';
        i++;
        canRepeat = false;
        repeated = false;
        continue;
      case '*':
      case '+':
      case '?':
        if (repeated) throw new RegexSyntaxError(`bad repetition operator: ${p.slice(i - 1, i + 1)}`);
        if (!canRepeat) throw new RegexSyntaxError(`missing argument to repetition operator: ${c}`);
        out += c;
        i++;
        repeated = true;
        continue;
      case '{': {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(p.slice(i));
        if (!m) {
          // not a repetition: a literal brace, as in RE2
          out += '\\{';
          i++;
          canRepeat = true;
          repeated = false;
          continue;
        }
        const min = Number(m[1]);
        const max = m[2] === undefined ? min : m[3] === '' ? undefined : Number(m[3]);
        if (min > 1000 || (max !== undefined && (max > 1000 || max < min))) {
          throw new RegexSyntaxError(`bad repetition operator: ${m[0]}`);
        }
        if (repeated) throw new RegexSyntaxError(`bad repetition operator: ${m[0]}`);
        if (!canRepeat) throw new RegexSyntaxError(`missing argument to repetition operator: ${m[0]}`);
        out += m[0];
        i += m[0].length;
        repeated = true;
        continue;
      }
      default:
        out += literalChar(c);
        i++;
        canRepeat = true;
        repeated = false;
    }
  }
  if (depth > 0) throw new RegexSyntaxError('missing )');
  return out;
}

/** A compiled full-match regex, or the syntax error. */
export type RegexResult = { ok: true; regex: RegExp } | { ok: false; error: string };

/** Compiles a pattern for full-value matching (`regex` operator). */
export function compileRegex(pattern: string): RegexResult {
  try {
    const source = translateRe2Posix(pattern);
    return { ok: true, regex: new RegExp(`^(?:${source})$`) };
  } catch (e: unknown) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

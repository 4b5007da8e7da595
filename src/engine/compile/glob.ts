/**
 * Glob matching with the semantics of POSIX `fnmatch(pattern, s, 0)` as libsinsp calls it for the
 * `glob` operator (and with `FNM_CASEFOLD` for `iglob`):
 *
 * - `*` matches any run of characters, `/` and leading dots included (no `FNM_PATHNAME`, no
 *   `FNM_PERIOD`); `?` matches exactly one character;
 * - `[...]` bracket expressions with ranges (`a-z`), negation (`[!...]` or `[^...]`), a literal `]`
 *   when it comes first, and POSIX classes (`[:alpha:]`, `[:digit:]`, ...);
 * - a backslash escapes the next character, inside brackets too; a trailing backslash never matches
 *   (glibc behaviour); an unterminated `[` is an ordinary character;
 * - case folding is ASCII only, as in the C locale Falco runs with.
 *
 * Patterns are compiled once into tokens. Common shapes (`lit`, `lit*`, `*lit`, `*lit*`) become plain
 * string tests; everything else runs a greedy matcher that backtracks only to the last `*`, so the
 * cost is bounded by O(pattern × input) without the exponential blow-up of naive recursion.
 */

type ClassName =
  | 'alnum'
  | 'alpha'
  | 'blank'
  | 'cntrl'
  | 'digit'
  | 'graph'
  | 'lower'
  | 'print'
  | 'punct'
  | 'space'
  | 'upper'
  | 'xdigit';

const CLASS_NAMES: ReadonlySet<string> = new Set<ClassName>([
  'alnum',
  'alpha',
  'blank',
  'cntrl',
  'digit',
  'graph',
  'lower',
  'print',
  'punct',
  'space',
  'upper',
  'xdigit',
]);

function inClass(name: ClassName, c: number): boolean {
  switch (name) {
    case 'alnum':
      return inClass('alpha', c) || inClass('digit', c);
    case 'alpha':
      return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    case 'blank':
      return c === 32 || c === 9;
    case 'cntrl':
      return c < 32 || c === 127;
    case 'digit':
      return c >= 48 && c <= 57;
    case 'graph':
      return c > 32 && c < 127;
    case 'lower':
      return c >= 97 && c <= 122;
    case 'print':
      return c >= 32 && c < 127;
    case 'punct':
      return c > 32 && c < 127 && !inClass('alnum', c);
    case 'space':
      return c === 32 || (c >= 9 && c <= 13);
    case 'upper':
      return c >= 65 && c <= 90;
    case 'xdigit':
      return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
  }
}

/** ASCII-only lower case of one UTF-16 code unit. */
export function foldAscii(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/** ASCII-only lower case of a string (C-locale `tolower`); returns `s` itself when unchanged. */
export function lowerAscii(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) {
      let out = s.slice(0, i);
      for (let j = i; j < s.length; j++) out += String.fromCharCode(foldAscii(s.charCodeAt(j)));
      return out;
    }
  }
  return s;
}

/** ASCII-only upper case of a string (C-locale `toupper`). */
export function upperAscii(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 97 && c <= 122) {
      let out = s.slice(0, i);
      for (let j = i; j < s.length; j++) {
        const d = s.charCodeAt(j);
        out += String.fromCharCode(d >= 97 && d <= 122 ? d - 32 : d);
      }
      return out;
    }
  }
  return s;
}

interface SetItem {
  /** Inclusive code-unit range, or a POSIX class. */
  lo: number;
  hi: number;
  cls?: ClassName;
}

type Token =
  | { kind: 'lit'; c: number }
  | { kind: 'any' }
  | { kind: 'star' }
  | { kind: 'set'; negate: boolean; items: SetItem[] }
  /** A trailing backslash: glibc makes the whole pattern fail. */
  | { kind: 'never' };

function parseBracket(p: string, start: number): { token: Token; next: number } | undefined {
  // `start` points just after '['
  let i = start;
  let negate = false;
  if (p[i] === '!' || p[i] === '^') {
    negate = true;
    i++;
  }
  const items: SetItem[] = [];
  let first = true;
  while (i < p.length) {
    let ch = p[i] as string;
    if (ch === ']' && !first) {
      return { token: { kind: 'set', negate, items }, next: i + 1 };
    }
    first = false;
    if (ch === '[' && p[i + 1] === ':') {
      const end = p.indexOf(':]', i + 2);
      if (end >= 0) {
        const name = p.slice(i + 2, end);
        if (CLASS_NAMES.has(name)) {
          items.push({ lo: 0, hi: -1, cls: name as ClassName });
          i = end + 2;
          continue;
        }
        // unknown class name: glibc fails the whole bracket; treat '[' literally below
      }
    }
    if (ch === '\\' && i + 1 < p.length) {
      i++;
      ch = p[i] as string;
    }
    const lo = ch.charCodeAt(0);
    i++;
    if (p[i] === '-' && i + 1 < p.length && p[i + 1] !== ']') {
      let hiCh = p[i + 1] as string;
      let skip = 2;
      if (hiCh === '\\' && i + 2 < p.length) {
        hiCh = p[i + 2] as string;
        skip = 3;
      }
      items.push({ lo, hi: hiCh.charCodeAt(0) });
      i += skip;
    } else {
      items.push({ lo, hi: lo });
    }
  }
  return undefined; // unterminated: '[' is literal
}

function tokenize(p: string): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < p.length; i++) {
    const ch = p[i] as string;
    if (ch === '*') {
      // consecutive stars are one star
      if (tokens[tokens.length - 1]?.kind !== 'star') tokens.push({ kind: 'star' });
    } else if (ch === '?') {
      tokens.push({ kind: 'any' });
    } else if (ch === '[') {
      const b = parseBracket(p, i + 1);
      if (b) {
        tokens.push(b.token);
        i = b.next - 1;
      } else {
        tokens.push({ kind: 'lit', c: 91 });
      }
    } else if (ch === '\\') {
      if (i + 1 >= p.length) {
        tokens.push({ kind: 'never' });
      } else {
        i++;
        tokens.push({ kind: 'lit', c: p.charCodeAt(i) });
      }
    } else {
      tokens.push({ kind: 'lit', c: ch.charCodeAt(0) });
    }
  }
  return tokens;
}

function setMatches(t: { negate: boolean; items: SetItem[] }, c: number, fold: boolean): boolean {
  let hit = false;
  const fc = fold ? foldAscii(c) : c;
  for (const it of t.items) {
    if (it.cls !== undefined) {
      // with case folding, [:upper:] and [:lower:] both match letters of either case
      if (inClass(it.cls, c) || (fold && (it.cls === 'upper' || it.cls === 'lower') && inClass('alpha', c))) {
        hit = true;
        break;
      }
    } else if (fold) {
      if ((fc >= foldAscii(it.lo) && fc <= foldAscii(it.hi)) || (c >= it.lo && c <= it.hi)) {
        hit = true;
        break;
      }
    } else if (c >= it.lo && c <= it.hi) {
      hit = true;
      break;
    }
  }
  return hit !== t.negate;
}

function tokenMatches(t: Token, c: number, fold: boolean): boolean {
  switch (t.kind) {
    case 'lit':
      return fold ? foldAscii(t.c) === foldAscii(c) : t.c === c;
    case 'any':
      return true;
    case 'set':
      return setMatches(t, c, fold);
    case 'star':
    case 'never':
      return false;
  }
}

function runTokens(tokens: readonly Token[], s: string, fold: boolean): boolean {
  let ti = 0;
  let si = 0;
  let starTi = -1;
  let starSi = 0;
  while (si < s.length) {
    const t = tokens[ti];
    if (t !== undefined && t.kind === 'star') {
      starTi = ti++;
      starSi = si;
      continue;
    }
    if (t !== undefined && tokenMatches(t, s.charCodeAt(si), fold)) {
      ti++;
      si++;
      continue;
    }
    if (starTi < 0) return false;
    // let the last star swallow one more character and retry
    ti = starTi + 1;
    si = ++starSi;
  }
  while (ti < tokens.length && tokens[ti]?.kind === 'star') ti++;
  return ti === tokens.length;
}

/** A compiled glob: call it with the subject string. */
export type GlobMatcher = (s: string) => boolean;

/**
 * Compiles an fnmatch pattern. `caseInsensitive` gives `iglob` (FNM_CASEFOLD) semantics.
 */
export function compileGlob(pattern: string, caseInsensitive = false): GlobMatcher {
  const tokens = tokenize(pattern);
  if (tokens.some((t) => t.kind === 'never')) return () => false;

  // Fast paths: literal runs around at most a leading and a trailing star.
  const isLit = (t: Token | undefined): boolean => t?.kind === 'lit';
  const litText = (ts: Token[]): string =>
    ts.map((t) => String.fromCharCode(t.kind === 'lit' ? t.c : 0)).join('');
  const inner = tokens.slice(
    tokens[0]?.kind === 'star' ? 1 : 0,
    tokens[tokens.length - 1]?.kind === 'star' && tokens.length > 1 ? tokens.length - 1 : tokens.length,
  );
  if (inner.every(isLit)) {
    const leading = tokens[0]?.kind === 'star';
    const trailing = tokens.length > 1 && tokens[tokens.length - 1]?.kind === 'star';
    const lit = litText(inner);
    if (caseInsensitive) {
      const l = lowerAscii(lit);
      if (leading && trailing) return (s) => lowerAscii(s).includes(l);
      if (leading) return (s) => s.length >= l.length && lowerAscii(s).endsWith(l);
      if (trailing) return (s) => s.length >= l.length && lowerAscii(s.slice(0, l.length)) === l;
      return (s) => s.length === l.length && lowerAscii(s) === l;
    }
    if (leading && trailing) return (s) => s.includes(lit);
    if (leading) return (s) => s.endsWith(lit);
    if (trailing) return (s) => s.startsWith(lit);
    return (s) => s === lit;
  }
  return (s) => runTokens(tokens, s, caseInsensitive);
}

/** One-shot helper (tests, pmatch components): does `s` match `pattern`? */
export function globMatch(pattern: string, s: string, caseInsensitive = false): boolean {
  return compileGlob(pattern, caseInsensitive)(s);
}

/**
 * Splits an ingest body `{"alerts":[…]}` into the byte ranges of its alerts without decoding the
 * whole body into one string; each alert is then parsed on its own (`JSON.parse` of a small string).
 *
 * Why: a batch of 1,000 alerts is about a megabyte. Decoded whole, it makes a string too large for
 * V8's young generation, which V8 places in freshly mapped memory; on virtual machines where first
 * touching memory is slow (measured on the project's machine: ~200 MB/s for such strings against
 * ~8 GB/s for strings under 100 KB) that decode alone cost more than the parse.
 *
 * The scan checks the body's structure: one object whose only key is `alerts`, an array, commas,
 * and brackets balanced outside strings. The alerts' own syntax is checked by `JSON.parse` of each.
 * Anything else returns `undefined`, and the caller parses the body whole, the ordinary way (which
 * also gives the ordinary error message).
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
/** `"alerts"` as bytes. */
const ALERTS_KEY = [0x22, 0x61, 0x6c, 0x65, 0x72, 0x74, 0x73, 0x22];

function isSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Index of the first non-whitespace byte at or after `i`. */
export function skipSpace(b: Uint8Array, i: number): number {
  while (isSpace(b[i])) i++;
  return i;
}

/**
 * Past the string whose opening quote is at `i`, or -1 when it is unterminated or holds a control
 * character. Locals only (no closure state): this loop runs over every byte of a body.
 */
function skipString(b: Uint8Array, i: number): number {
  const n = b.length;
  i++;
  while (i < n) {
    const c = b[i]!;
    if (c === QUOTE) return i + 1;
    if (c === BACKSLASH) i += 2;
    else if (c < 0x20) return -1;
    else i++;
  }
  return -1;
}

/**
 * Past the JSON value starting at `i` (objects and arrays by bracket depth outside strings; numbers
 * and literals up to the next delimiter), or -1 when it is not well formed that far. The value's own
 * syntax is left to `JSON.parse`.
 */
export function skipValue(b: Uint8Array, i: number): number {
  const n = b.length;
  const c = b[i];
  if (c === QUOTE) return skipString(b, i);
  if (c === LBRACE || c === LBRACKET) {
    let depth = 0;
    while (i < n) {
      const d = b[i]!;
      if (d === QUOTE) {
        i = skipString(b, i);
        if (i < 0) return -1;
        continue;
      }
      if (d === LBRACE || d === LBRACKET) depth++;
      else if (d === RBRACE || d === RBRACKET) {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return -1;
  }
  const start = i;
  while (i < n) {
    const d = b[i]!;
    if (d === COMMA || d === RBRACE || d === RBRACKET || isSpace(d)) break;
    i++;
  }
  return i > start ? i : -1;
}

/**
 * Index just past `{"alerts":[` (and the whitespace after it) at the start of `b`, or -1 when the
 * body does not start so.
 */
export function scanBatchStart(b: Uint8Array): number {
  let i = skipSpace(b, 0);
  if (b[i] !== LBRACE) return -1;
  i = skipSpace(b, i + 1);
  for (let k = 0; k < ALERTS_KEY.length; k++) if (b[i + k] !== ALERTS_KEY[k]) return -1;
  i = skipSpace(b, i + ALERTS_KEY.length);
  if (b[i] !== COLON) return -1;
  i = skipSpace(b, i + 1);
  if (b[i] !== LBRACKET) return -1;
  return skipSpace(b, i + 1);
}

/** Whether `b` ends at `i` with `}` and whitespace (after the array's `]`). */
export function scanBatchEnd(b: Uint8Array, i: number): boolean {
  i = skipSpace(b, i);
  if (b[i] !== RBRACE) return false;
  return skipSpace(b, i + 1) === b.length;
}

/**
 * Byte ranges of the elements of `alerts` in `{"alerts":[…]}`, two numbers per element (start, end
 * exclusive); undefined when the body is not exactly of that shape or not well formed.
 */
export function scanAlertBatch(b: Uint8Array): number[] | undefined {
  let i = scanBatchStart(b);
  if (i < 0) return undefined;
  const ranges: number[] = [];
  if (b[i] === RBRACKET) i++;
  else {
    for (;;) {
      i = skipSpace(b, i);
      const start = i;
      i = skipValue(b, i);
      if (i < 0) return undefined;
      ranges.push(start, i);
      i = skipSpace(b, i);
      if (b[i] === COMMA) {
        i++;
        continue;
      }
      if (b[i] !== RBRACKET) return undefined;
      i++;
      break;
    }
  }
  return scanBatchEnd(b, i) ? ranges : undefined;
}

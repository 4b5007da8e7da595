/**
 * Field transformers: `tolower`, `toupper`, `b64`, `basename`, `len` (one argument, applied to each
 * value of the field) and the multi-value ones `join`, `concat`, `getopt`.
 *
 * Type rules and errors follow libsinsp's `sinsp_filter_transformer*` classes:
 * - `tolower`, `toupper`, `basename`: CHARBUF / FSPATH / FSRELPATH (lists too), type unchanged;
 * - `b64`: the string types and BYTEBUF, type unchanged; a value that is not base64 makes the field
 *   missing for the event;
 * - `len`: any list (counts values) or a string/buffer (byte length), giving UINT64;
 * - `join(sep, list)`, `concat(a, b, ...)`: CHARBUF results; `getopt(args, optstring)` gives the
 *   CHARBUF list of parsed options, or one value with a selector (`getopt(...)[t]`).
 */
import type { FieldType, Scalar } from '../fields/types.js';
import { lowerAscii, upperAscii } from './glob.js';
import { scalarToString } from './operators.js';

/** Transformers applied to each value of one argument. */
export const SINGLE_VALUE_TRANSFORMERS = ['tolower', 'toupper', 'b64', 'basename', 'len'] as const;
export type SingleValueTransformer = (typeof SINGLE_VALUE_TRANSFORMERS)[number];

/** Is `name` one of `tolower`, `toupper`, `b64`, `basename`, `len`? */
export function isSingleValueTransformer(name: string): name is SingleValueTransformer {
  return (SINGLE_VALUE_TRANSFORMERS as readonly string[]).includes(name);
}

const STRING_TYPES: ReadonlySet<FieldType> = new Set<FieldType>(['CHARBUF', 'FSPATH', 'FSRELPATH']);

/**
 * The type a transformer produces from `type`/`isList`, or `undefined` when libsinsp refuses the
 * combination.
 */
export function transformType(
  name: SingleValueTransformer,
  type: FieldType,
  isList: boolean,
): { type: FieldType; isList: boolean } | undefined {
  switch (name) {
    case 'tolower':
    case 'toupper':
    case 'basename':
      return STRING_TYPES.has(type) ? { type, isList } : undefined;
    case 'b64':
      return STRING_TYPES.has(type) || type === 'BYTEBUF' ? { type, isList } : undefined;
    case 'len':
      if (isList) return { type: 'UINT64', isList: false };
      return STRING_TYPES.has(type) || type === 'BYTEBUF' ? { type: 'UINT64', isList: false } : undefined;
  }
}

/** UTF-8 byte length of a string, without allocating (strlen of the C string libsinsp sees). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i;

/** Base64 decode, padding optional; `undefined` on any character outside the alphabet. */
export function decodeBase64(s: string): Uint8Array | undefined {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 61 /* = */) end--;
  if (end % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor((end * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? (B64_INDEX[c] as number) : -1;
    if (v < 0) return undefined;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out.subarray(0, o);
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** Bytes to text: UTF-8 when valid, one character per byte otherwise (keeps every byte). */
export function bytesToText(b: Uint8Array): string {
  try {
    return utf8Strict.decode(b);
  } catch {
    let s = '';
    for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i] as number);
    return s;
  }
}

function basename(s: string): string {
  const slash = s.lastIndexOf('/');
  return slash < 0 ? s : s.slice(slash + 1);
}

/** Drop trailing NULs: libsinsp strips terminators before transforming. */
function trimNul(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 0) end--;
  return end === s.length ? s : s.slice(0, end);
}

/**
 * Per-value function of a single-value transformer (`len` on lists is handled by the caller).
 * Returns `undefined` when the value cannot be transformed (bad base64).
 */
export function valueTransform(
  name: SingleValueTransformer,
  outType: FieldType,
): (v: Scalar) => Scalar | undefined {
  switch (name) {
    case 'tolower':
      return (v) => lowerAscii(trimNul(scalarToString(v)));
    case 'toupper':
      return (v) => upperAscii(trimNul(scalarToString(v)));
    case 'basename':
      return (v) => basename(trimNul(scalarToString(v)));
    case 'b64':
      return (v) => {
        const bytes = decodeBase64(trimNul(scalarToString(v)));
        if (bytes === undefined) return undefined;
        return outType === 'BYTEBUF' ? bytes : bytesToText(bytes);
      };
    case 'len':
      return (v) => (v instanceof Uint8Array ? v.length : utf8Length(trimNul(scalarToString(v))));
  }
}

// ---------------------------------------------------------------------------------------------
// getopt

interface OptInfo {
  valid: Set<string>;
  withArg: Set<string>;
}

/** Decodes a getopt(3) optstring: `n` flag, `t:` option taking a value; a leading `:` is ignored. */
export function parseOptstring(optstring: string): OptInfo {
  const info: OptInfo = { valid: new Set(), withArg: new Set() };
  for (let i = optstring.startsWith(':') ? 1 : 0; i < optstring.length; i++) {
    const c = optstring[i] as string;
    if (c === ':') continue;
    info.valid.add(c);
    if (optstring[i + 1] === ':') {
      info.withArg.add(c);
      i++;
    }
  }
  return info;
}

/**
 * Runs getopt-like parsing over `argv`. Without a selector: the list of option letters, each
 * followed by its value when it takes one, `?` for unknown options, and an empty string for a
 * missing value. With a selector: the value (or the letter, for a flag) of the last occurrence of
 * that option, or `undefined` when it does not occur.
 *
 * Rules (libsinsp): stop at `--`, skip long options (`--exec`), stop at the first non-option token
 * (including a lone `-`), expand clusters (`-nt`), an option's value is the rest of the token or
 * the next token.
 */
export function runGetopt(
  argv: readonly string[],
  info: OptInfo,
  selector: string | undefined,
): string[] | string | undefined {
  const results: string[] = [];
  let selected: string | undefined;
  for (let ai = 0; ai < argv.length; ai++) {
    const arg = argv[ai] as string;
    if (arg === '--') break;
    if (arg.length > 2 && arg.startsWith('--')) continue;
    if (arg.length < 2 || arg[0] !== '-') break;
    for (let i = 1; i < arg.length; i++) {
      const opt = arg[i] as string;
      if (opt === ':' || !info.valid.has(opt)) {
        if (selector === undefined) results.push('?');
        continue;
      }
      const match = selector === undefined || opt === selector;
      if (!info.withArg.has(opt)) {
        if (match) {
          if (selector === undefined) results.push(opt);
          else selected = opt;
        }
        continue;
      }
      let value: string | undefined;
      if (i + 1 < arg.length) value = arg.slice(i + 1);
      else if (ai + 1 < argv.length) value = argv[++ai] as string;
      if (value === undefined) {
        // missing value: an empty string keeps `getopt(...)[t] != ""` meaningful
        if (match) {
          if (selector === undefined) results.push('');
          else selected = '';
        }
        break;
      }
      if (match) {
        if (selector === undefined) results.push(opt, value);
        else selected = value;
      }
      break;
    }
  }
  return selector === undefined ? results : selected;
}

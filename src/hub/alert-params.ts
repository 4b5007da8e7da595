/**
 * The fast path of ingest: one wire alert's bytes straight to the SQLite writer's row parameters —
 * the values `rowParams(encodeAlert(alertFromWire(JSON.parse(text))))` gives, in `ALERT_COLUMNS`
 * order — without building the alert as objects and serialising its fields again.
 *
 * Why: parsing an alert into objects, then `JSON.stringify` of its `output_fields` and tags, was
 * most of the ingest thread's time and most of its garbage, only to produce again, character for
 * character, the text the agent had sent (agents send `JSON.stringify` output).
 *
 * It takes alerts in the form `JSON.stringify` gives them: the nine members, each once, in any
 * order; `output_fields` and `tags` in **canonical** form, i.e. exactly the text `JSON.stringify`
 * would write for their parsed value — no whitespace, only the escapes it writes (`\"` `\\` `\b`
 * `\f` `\n` `\r` `\t`, `\u00xx` for other control characters), numbers printed as it prints them,
 * no repeated keys and no array-index keys (a parsed object puts those first) — and holding only
 * values that need no `output_types` (strings without NUL, finite numbers other than −0, booleans,
 * null, arrays of those). The stored `output_fields` and `tags` are then the received text itself,
 * which is what `encodeAlert` would have written. Anything else — another form, another member, a
 * value of the wrong type — returns -1, and the caller takes the general path for that alert, which
 * stores the same row or refuses the batch with the usual message.
 *
 * Text is decoded from the alert's bytes as the general path decodes it (UTF-8, invalid sequences
 * replaced); an all-ASCII alert is decoded once and its strings are slices of that string.
 */
import { parsePriority, priorityRank } from '../engine/rules/index.js';
import { ALERT_COLUMNS } from '../store/alert-row.js';
import { MAX_ID_LENGTH } from './wire.js';

/** The column order this module writes. */
const LAYOUT = [
  'id',
  'time',
  'rule',
  'priority',
  'source',
  'hostname',
  'container_id',
  'container_name',
  'k8s_ns',
  'output',
  'output_fields',
  'output_types',
  'tags',
] as const;

/** False if the store's columns ever change from {@link LAYOUT}: callers then use the general path only. */
export const ALERT_PARAMS_USABLE =
  ALERT_COLUMNS.length === LAYOUT.length && ALERT_COLUMNS.every((c, k) => c === LAYOUT[k]);

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;

/** Byte classes inside a string. */
const C_PLAIN = 0;
const C_QUOTE = 1;
const C_BACKSLASH = 2;
const C_CONTROL = 3;
const C_HIGH = 4;
const CLASS = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  CLASS[c] =
    c < 0x20
      ? C_CONTROL
      : c === QUOTE
        ? C_QUOTE
        : c === BACKSLASH
          ? C_BACKSLASH
          : c >= 0x80
            ? C_HIGH
            : C_PLAIN;
}
/** Bytes of a number token (checked afterwards by printing the number back). */
const NUMBER_BYTE = new Uint8Array(256);
for (const ch of '0123456789.eE+-') NUMBER_BYTE[ch.charCodeAt(0)] = 1;

/** Flags of the last string scanned, and of every string of the current alert (OR). */
const F_ESCAPE = 1;
const F_HIGH = 2;
const F_NUL = 4;
let strFlags = 0;
let alertFlags = 0;

/** Keys of the current `output_fields` (for repeats): start, length, hash. */
const MAX_KEYS = 256;
const keyStart = new Int32Array(MAX_KEYS);
const keyLen = new Int32Array(MAX_KEYS);
const keyHash = new Int32Array(MAX_KEYS);

/** The fields that become columns, as bytes; their values' content ranges (start -1: absent). */
const SPECIAL_KEYS = ['container.id', 'container.name', 'k8s.ns.name', 'ka.target.namespace'].map((k) =>
  Buffer.from(k, 'latin1'),
);
const S_CONTAINER_ID = 0;
const S_CONTAINER_NAME = 1;
const S_K8S_NS = 2;
const S_KA_NS = 3;
const specStart = new Int32Array(4);
const specEnd = new Int32Array(4);
const specFlags = new Int32Array(4);

/** The alert's members, by index (bit 1 << index), and where each value is. */
const MEMBERS = [
  'id',
  'time',
  'rule',
  'priority',
  'source',
  'hostname',
  'output',
  'output_fields',
  'tags',
].map((k) => Buffer.from(k, 'latin1'));
const M_ID = 0;
const M_TIME = 1;
const M_RULE = 2;
const M_PRIORITY = 3;
const M_SOURCE = 4;
const M_HOSTNAME = 5;
const M_OUTPUT = 6;
const M_FIELDS = 7;
const M_TAGS = 8;
const ALL_MEMBERS = (1 << MEMBERS.length) - 1;
/** Value ranges (strings with their quotes) and string flags, by member index. */
const valStart = new Int32Array(MEMBERS.length);
const valEnd = new Int32Array(MEMBERS.length);
const valFlags = new Int32Array(MEMBERS.length);

/** Priority ranks by the received spelling (agents use a handful). */
const priorityCache = new Map<string, number>();

function sameBytes(b: Uint8Array, at: number, lit: Uint8Array): boolean {
  for (let k = 0; k < lit.length; k++) if (b[at + k] !== lit[k]) return false;
  return true;
}

function skipWs(b: Uint8Array, i: number): number {
  for (;;) {
    const c = b[i];
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i++;
  }
}

/**
 * Past the string whose opening quote is at `i`, or -1 when it is not in canonical form (or not
 * JSON). Sets {@link strFlags}: escapes, bytes ≥ 0x80, an escaped NUL.
 */
function canonString(b: Uint8Array, i: number, n: number): number {
  let flags = 0;
  i++;
  while (i < n) {
    const k = CLASS[b[i]!]!;
    if (k === C_PLAIN) {
      i++;
    } else if (k === C_QUOTE) {
      strFlags = flags;
      alertFlags |= flags;
      return i + 1;
    } else if (k === C_HIGH) {
      flags |= F_HIGH;
      i++;
    } else if (k === C_BACKSLASH) {
      flags |= F_ESCAPE;
      const e = b[i + 1];
      // The escapes JSON.stringify writes: \" \\ \b \f \n \r \t, and \u00xx (lower case) for the
      // other control characters.
      if (
        e === QUOTE ||
        e === BACKSLASH ||
        e === 0x62 ||
        e === 0x66 ||
        e === 0x6e ||
        e === 0x72 ||
        e === 0x74
      ) {
        i += 2;
        continue;
      }
      if (e !== 0x75 || b[i + 2] !== ZERO || b[i + 3] !== ZERO) return -1;
      const h1 = b[i + 4];
      const h2 = b[i + 5]!;
      const low = h2 >= ZERO && h2 <= NINE ? h2 - ZERO : h2 >= 0x61 && h2 <= 0x66 ? h2 - 0x61 + 10 : -1;
      if ((h1 !== ZERO && h1 !== 0x31) || low < 0) return -1;
      const code = (h1 - ZERO) * 16 + low;
      if (code === 0x08 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d) return -1;
      if (code === 0) flags |= F_NUL;
      i += 6;
    } else {
      return -1; // a raw control character: not JSON
    }
  }
  return -1;
}

/** Past the number at `i` when JSON.stringify would print it the same (finite, not −0), else -1. */
function canonNumber(b: Buffer, i: number, n: number): number {
  const start = i;
  if (b[i] === MINUS) i++;
  const digits = i;
  const first = b[i];
  if (first === ZERO) i++;
  else if (first !== undefined && first > ZERO && first <= NINE) {
    i++;
    while (i < n && b[i]! >= ZERO && b[i]! <= NINE) i++;
  } else return -1;
  const c = b[i];
  if (c !== 0x2e && c !== 0x65 && c !== 0x45) {
    // An integer: printed back the same when it has at most 15 digits, save −0 (and 0…, which the
    // caller's delimiter check refuses).
    if (first === ZERO) return start === digits ? i : -1;
    if (i - digits <= 15) return i;
  }
  while (i < n && NUMBER_BYTE[b[i]!] === 1) i++;
  const text = b.toString('latin1', start, i);
  // Whatever prints back as itself is a valid JSON number in canonical form (String never gives
  // "01", "1." or "+1"; "Infinity" and "NaN" cannot be made of these bytes).
  return String(Number(text)) === text ? i : -1;
}

/** Past `true`, `false` or `null` at `i`, else -1. */
function literal(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c === 0x74) return b[i + 1] === 0x72 && b[i + 2] === 0x75 && b[i + 3] === 0x65 ? i + 4 : -1;
  if (c === 0x66)
    return b[i + 1] === 0x61 && b[i + 2] === 0x6c && b[i + 3] === 0x73 && b[i + 4] === 0x65 ? i + 5 : -1;
  if (c === 0x6e) return b[i + 1] === 0x75 && b[i + 2] === 0x6c && b[i + 3] === 0x6c ? i + 4 : -1;
  return -1;
}

/** Past a canonical plain scalar (string without NUL, number, literal) at `i`, else -1. */
function canonScalar(b: Buffer, i: number, n: number): number {
  const c = b[i];
  if (c === QUOTE) {
    const end = canonString(b, i, n);
    return end >= 0 && (strFlags & F_NUL) === 0 ? end : -1;
  }
  if (c === MINUS || (c !== undefined && c >= ZERO && c <= NINE)) return canonNumber(b, i, n);
  return literal(b, i);
}

/** Past a canonical array of plain scalars (of strings only, with `stringsOnly`) at `i`, else -1. */
function canonArray(b: Buffer, i: number, n: number, stringsOnly: boolean): number {
  i++;
  if (b[i] === RBRACKET) return i + 1;
  for (;;) {
    if (stringsOnly && b[i] !== QUOTE) return -1;
    i = canonScalar(b, i, n);
    if (i < 0) return -1;
    const c = b[i];
    if (c === COMMA) i++;
    else if (c === RBRACKET) return i + 1;
    else return -1;
  }
}

/**
 * Past a canonical `output_fields` object at `i` whose values need no `output_types`, else -1.
 * Records the content ranges of the string values of the column fields ({@link SPECIAL_KEYS}).
 */
function canonFields(b: Buffer, i: number, n: number): number {
  i++;
  if (b[i] === RBRACE) return i + 1;
  let keys = 0;
  for (;;) {
    if (b[i] !== QUOTE) return -1;
    const ks = i + 1;
    i = canonString(b, i, n);
    // Keys of non-ASCII bytes are left to the general path: two invalid UTF-8 sequences may decode
    // to the same key, which the byte comparison below would not see.
    if (i < 0 || (strFlags & (F_HIGH | F_NUL)) !== 0) return -1;
    const len = i - 1 - ks;
    let hash = len;
    let allDigits = len > 0;
    for (let k = ks; k < ks + len; k++) {
      const c = b[k]!;
      hash = (Math.imul(hash, 31) + c) | 0;
      if (c < ZERO || c > NINE) allDigits = false;
    }
    // A parsed object lists array-index keys first: JSON.stringify would reorder them.
    if (allDigits || keys === MAX_KEYS) return -1;
    for (let k = 0; k < keys; k++) {
      if (keyHash[k] !== hash || keyLen[k] !== len) continue;
      const other = keyStart[k]!;
      let same = true;
      for (let j = 0; j < len; j++) {
        if (b[other + j] !== b[ks + j]) {
          same = false;
          break;
        }
      }
      // A repeated key: JSON.parse keeps the last value at the first one's place.
      if (same) return -1;
    }
    keyStart[keys] = ks;
    keyLen[keys] = len;
    keyHash[keys] = hash;
    keys++;
    if (b[i] !== COLON) return -1;
    i++;
    const c = b[i];
    if (c === QUOTE) {
      const vs = i + 1;
      i = canonString(b, i, n);
      if (i < 0 || (strFlags & F_NUL) !== 0) return -1;
      for (let s = 0; s < SPECIAL_KEYS.length; s++) {
        const key = SPECIAL_KEYS[s]!;
        if (key.length === len && sameBytes(b, ks, key)) {
          specStart[s] = vs;
          specEnd[s] = i - 1;
          specFlags[s] = strFlags;
          break;
        }
      }
    } else if (c === LBRACKET) {
      i = canonArray(b, i, n, false);
    } else {
      i = canonScalar(b, i, n);
    }
    if (i < 0) return -1;
    const d = b[i];
    if (d === COMMA) i++;
    else if (d === RBRACE) return i + 1;
    else return -1;
  }
}

/** The member whose name is the `len` bytes at `ks`, or -1. */
function memberAt(b: Uint8Array, ks: number, len: number): number {
  for (let m = 0; m < MEMBERS.length; m++) {
    const name = MEMBERS[m]!;
    if (name.length === len && sameBytes(b, ks, name)) return m;
  }
  return -1;
}

/** NUL is replaced in text columns, as encodeAlert does. */
function cleanText(s: string): string {
  return s.includes('\u0000') ? s.replaceAll('\u0000', '\uFFFD') : s;
}

/**
 * Appends the 13 row parameters of the alert whose JSON object starts at `start` (no whitespace
 * before it) to `out`, and returns the index just past the object; returns -1 and appends nothing
 * when the alert is not in the form this path takes (see the module comment).
 */
export function appendAlertParams(buf: Buffer, start: number, out: unknown[]): number {
  const b = buf;
  const n = b.length;
  let i = start;
  if (b[i] !== LBRACE) return -1;
  alertFlags = 0;
  specStart.fill(-1);
  let seen = 0;
  i = skipWs(b, i + 1);
  for (;;) {
    if (b[i] !== QUOTE) return -1;
    const ks = i + 1;
    i = canonString(b, i, n);
    if (i < 0 || strFlags !== 0) return -1;
    const m = memberAt(b, ks, i - 1 - ks);
    // Unknown or repeated members: the general path (it ignores the first, keeps the last of the second).
    if (m < 0 || (seen & (1 << m)) !== 0) return -1;
    seen |= 1 << m;
    i = skipWs(b, i);
    if (b[i] !== COLON) return -1;
    i = skipWs(b, i + 1);
    const vs = i;
    const c = b[i];
    if (m === M_FIELDS) {
      if (c !== LBRACE) return -1;
      i = canonFields(b, i, n);
    } else if (m === M_TAGS) {
      if (c !== LBRACKET) return -1;
      i = canonArray(b, i, n, true);
    } else {
      if (c !== QUOTE) return -1;
      i = canonString(b, i, n);
      valFlags[m] = strFlags;
    }
    if (i < 0) return -1;
    valStart[m] = vs;
    valEnd[m] = i;
    i = skipWs(b, i);
    const d = b[i];
    if (d === COMMA) i = skipWs(b, i + 1);
    else if (d === RBRACE) break;
    else return -1;
  }
  const end = i + 1;
  if (seen !== ALL_MEMBERS) return -1;

  // Text: an ASCII alert is decoded once, its strings are slices of it; otherwise each is decoded
  // from its bytes as UTF-8 (ranges start and end at ASCII bytes, so this decodes them as decoding
  // the whole alert would).
  const ascii = (alertFlags & F_HIGH) === 0;
  const whole = ascii ? b.toString('latin1', start, end) : '';
  const text = (from: number, to: number): string =>
    ascii ? whole.slice(from - start, to - start) : b.toString('utf8', from, to);
  /** A string member's value (`at`: its range with quotes). */
  const str = (m: number): string =>
    (valFlags[m]! & F_ESCAPE) !== 0
      ? (JSON.parse(text(valStart[m]!, valEnd[m]!)) as string)
      : text(valStart[m]! + 1, valEnd[m]! - 1);

  // The checks of alertFromWire and encodeAlert; a failing one is left to the general path, whose
  // message names the alert.
  if ((valFlags[M_ID]! & F_NUL) !== 0 || valFlags[M_TIME] !== 0) return -1;
  const id = str(M_ID);
  if (id === '' || id.length > MAX_ID_LENGTH) return -1;
  const ts = valStart[M_TIME]! + 1;
  const te = valEnd[M_TIME]! - 1;
  const digits = b[ts] === MINUS ? ts + 1 : ts;
  if (te - digits < 1 || te - digits > 19) return -1;
  for (let k = digits; k < te; k++) if (b[k]! < ZERO || b[k]! > NINE) return -1;
  const priorityText = str(M_PRIORITY);
  let rank = priorityCache.get(priorityText);
  if (rank === undefined) {
    const p = parsePriority(priorityText);
    if (p === undefined) return -1;
    rank = priorityRank(p);
    if (priorityCache.size < 64) priorityCache.set(priorityText, rank);
  }
  const rule = str(M_RULE);
  const source = str(M_SOURCE);
  if (rule === '' || source === '') return -1;

  const column = (s: number): string | null => {
    const from = specStart[s]!;
    const to = specEnd[s]!;
    if (from < 0 || from === to) return null;
    return (specFlags[s]! & F_ESCAPE) !== 0 ? (JSON.parse(text(from - 1, to + 1)) as string) : text(from, to);
  };
  out.push(
    id,
    BigInt(text(ts, te)),
    cleanText(rule),
    rank,
    cleanText(source),
    cleanText(str(M_HOSTNAME)),
    column(S_CONTAINER_ID),
    column(S_CONTAINER_NAME),
    column(S_K8S_NS) ?? column(S_KA_NS),
    cleanText(str(M_OUTPUT)),
    text(valStart[M_FIELDS]!, valEnd[M_FIELDS]!),
    null,
    text(valStart[M_TAGS]!, valEnd[M_TAGS]!),
  );
  return end;
}

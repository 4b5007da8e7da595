/**
 * Comparison operators by field type: which operator applies to which type (libsinsp's
 * `flt_is_comparable`), how a right-hand-side literal is parsed for a type (once, at compile time),
 * and the predicates that compare an extracted value with it (libsinsp's `flt_compare`).
 *
 * Every predicate here receives a value that exists: missing values (`undefined`) are filtered out
 * by the caller, because in Falco every operator, `!=` included, is false on a missing value.
 * Field values arrive as JS values (`string`, `number | bigint`, `boolean`, `Uint8Array`, IP text);
 * each predicate has a fast path for the expected JS type and a coercion for anything else.
 */
import type { BinaryOperator } from '../condition/ast.js';
import type { FieldType, Scalar } from '../fields/types.js';
import { compileGlob, lowerAscii } from './glob.js';
import { inNet, ipEquals, parseCidr, parseIp, toIp, type IpAddr, type IpNet } from './net.js';
import { PathPrefixSearch } from './pmatch.js';
import { compileRegex } from './regex.js';

/** Families of field types sharing one comparison semantics. */
export type TypeClass = 'string' | 'numeric' | 'bool' | 'ipaddr' | 'ipnet' | 'buffer' | 'dynamic';

/** The comparison family of a field type. */
export function typeClassOf(t: FieldType): TypeClass {
  switch (t) {
    case 'CHARBUF':
    case 'FSPATH':
    case 'FSRELPATH':
      return 'string';
    case 'INT8':
    case 'INT16':
    case 'INT32':
    case 'INT64':
    case 'UINT8':
    case 'UINT16':
    case 'UINT32':
    case 'UINT64':
    case 'RELTIME':
    case 'ABSTIME':
    case 'PORT':
    case 'DOUBLE':
      return 'numeric';
    case 'BOOL':
      return 'bool';
    case 'IPADDR':
      return 'ipaddr';
    case 'IPNET':
      return 'ipnet';
    case 'BYTEBUF':
      return 'buffer';
    case 'DYNAMIC':
      return 'dynamic';
  }
}

/** Operators, by libsinsp's canonical name (`==` is `=`). */
export type CmpOp = Exclude<BinaryOperator, '=='> | 'exists';

/** `==` and `=` are one operator. */
export function canonicalOp(op: BinaryOperator | 'exists'): CmpOp {
  return op === '==' ? '=' : op;
}

const NUMERIC_OPS: ReadonlySet<CmpOp> = new Set<CmpOp>([
  '=',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  'in',
  'intersects',
  'exists',
]);
const BOOL_OPS: ReadonlySet<CmpOp> = new Set<CmpOp>(['=', '!=', 'in', 'intersects', 'exists']);
const STRING_OPS: ReadonlySet<CmpOp> = new Set<CmpOp>([
  '=',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  'contains',
  'in',
  'exists',
  'icontains',
  'startswith',
  'glob',
  'pmatch',
  'endswith',
  'intersects',
  'iglob',
  'regex',
]);
const BUFFER_OPS: ReadonlySet<CmpOp> = new Set<CmpOp>([
  '=',
  '!=',
  'contains',
  'in',
  'exists',
  'startswith',
  'endswith',
  'intersects',
  'bcontains',
  'bstartswith',
]);
const IP_OPS: ReadonlySet<CmpOp> = new Set<CmpOp>(['=', '!=', 'in', 'exists', 'intersects']);
const LIST_OPS: ReadonlySet<CmpOp> = new Set<CmpOp>(['in', 'exists', 'intersects']);
/** Types libsinsp supports as list-valued fields. */
const LIST_TYPES: ReadonlySet<FieldType> = new Set<FieldType>([
  'CHARBUF',
  'UINT64',
  'RELTIME',
  'ABSTIME',
  'BOOL',
  'IPADDR',
  'IPNET',
]);
/** evt.rawarg-like fields whose type is only known per event: numeric and string operators. */
const DYNAMIC_OPS: ReadonlySet<CmpOp> = new Set<CmpOp>([...NUMERIC_OPS, ...STRING_OPS]);

/**
 * libsinsp `flt_is_comparable`: `undefined` when `op` applies to values of `type`, else the error
 * text (without the `filter error: ` prefix the compiler adds).
 */
export function checkComparable(op: CmpOp, type: FieldType, isList: boolean): string | undefined {
  if (op === 'exists') return undefined;
  if (isList) {
    if (!LIST_TYPES.has(type)) return `list filters are not supported for type '${type}'`;
    return LIST_OPS.has(op) ? undefined : `'${op}' operator not supported list filters`;
  }
  switch (typeClassOf(type)) {
    case 'numeric':
      return NUMERIC_OPS.has(op) ? undefined : `'${op}' operator not supported for numeric filters`;
    case 'bool':
      return BOOL_OPS.has(op) ? undefined : `'${op}' operator not supported for numeric filters`;
    case 'string':
      return STRING_OPS.has(op) ? undefined : `'${op}' operator not supported for string filters`;
    case 'buffer':
      return BUFFER_OPS.has(op) ? undefined : `'${op}' operator not supported for buffer filters`;
    case 'ipaddr':
    case 'ipnet':
      return IP_OPS.has(op) ? undefined : `'${op}' operator not supported for ip address and network filters`;
    case 'dynamic':
      return DYNAMIC_OPS.has(op) ? undefined : `'${op}' operator not supported for type '${type}'`;
  }
}

// ---------------------------------------------------------------------------------------------
// Value coercions (used only when an extractor hands over an unexpected JS type)

const latin1 = (b: Uint8Array): string => {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i] as number);
  return s;
};

/** Text form of any scalar, as libsinsp renders values for string operators. */
export function scalarToString(v: Scalar): string {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return latin1(v);
  return String(v);
}

/**
 * Bytes of a rule literal compared with a byte buffer: one byte per character when every character
 * fits in a byte (so `\xHH` escapes give the byte HH), UTF-8 otherwise.
 */
export function stringToBytes(s: string): Uint8Array {
  let wide = false;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0xff) {
      wide = true;
      break;
    }
  }
  if (wide) return new TextEncoder().encode(s);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function toBytes(v: Scalar): Uint8Array {
  return v instanceof Uint8Array ? v : stringToBytes(scalarToString(v));
}

/** Number or bigint of a value; `undefined` when it is not a number. */
function toNum(v: Scalar): number | bigint | undefined {
  if (typeof v === 'number' || typeof v === 'bigint') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') return parseInteger(v);
  return undefined;
}

/** Normal form for set membership: safe integers as numbers, larger ones as bigint. */
function numKey(v: number | bigint): number | bigint {
  if (typeof v === 'bigint' && v >= -9007199254740991n && v <= 9007199254740991n) return Number(v);
  return v;
}

function numEq(a: number | bigint, b: number | bigint): boolean {
  return typeof a === typeof b ? a === b : !(a < b) && !(a > b);
}

function toBool(v: Scalar): boolean {
  return v === true || v === 1 || v === 1n || v === 'true';
}

// ---------------------------------------------------------------------------------------------
// Parsing of right-hand-side literals

/** Strict integer literal: `12`, `-3`, `+4`, `0x1f`. Values beyond 2^53 become bigint. */
export function parseInteger(s: string): number | bigint | undefined {
  let big: bigint;
  if (/^[+-]?[0-9]+$/.test(s)) big = BigInt(s.startsWith('+') ? s.slice(1) : s);
  else if (/^0[xX][0-9a-fA-F]+$/.test(s)) big = BigInt(s);
  else return undefined;
  return numKey(big);
}

/** `unhex`: even number of hex digits to bytes. */
export function parseHex(s: string): Uint8Array | undefined {
  if (s.length === 0 || s.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(s)) return undefined;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** A literal parsed for one field type; `error` holds libsinsp-style text. */
export type ParsedValue =
  | { kind: 'string'; v: string }
  | { kind: 'numeric'; v: number | bigint }
  | { kind: 'bool'; v: boolean }
  | { kind: 'ipaddr'; v: IpAddr }
  | { kind: 'ipnet'; v: IpNet }
  | { kind: 'buffer'; v: Uint8Array }
  | { kind: 'dynamic'; s: string; n: number | bigint | undefined };

/** Parses a right-hand-side literal for a field type and operator (libsinsp's value parser). */
export function parseValue(raw: string, type: FieldType, op: CmpOp): ParsedValue | { error: string } {
  if (op === 'bcontains' || op === 'bstartswith') {
    const bytes = parseHex(raw);
    if (!bytes) return { error: 'filter error: bcontains and bstartswith operator support hex strings only' };
    return { kind: 'buffer', v: bytes };
  }
  switch (typeClassOf(type)) {
    case 'string':
      // a C string cannot hold NUL: libsinsp rejects such literals for string fields
      if (raw.includes('\0')) return { error: `filter error: string value contains a NUL character` };
      return { kind: 'string', v: raw };
    case 'numeric': {
      const n = parseInteger(raw);
      if (n === undefined)
        return { error: `filter error: invalid numeric value '${raw}' for type '${type}'` };
      return { kind: 'numeric', v: n };
    }
    case 'bool':
      if (raw === 'true') return { kind: 'bool', v: true };
      if (raw === 'false') return { kind: 'bool', v: false };
      return { error: `filter error: unrecognized boolean value ${raw}` };
    case 'ipaddr': {
      const ip = parseIp(raw);
      if (ip !== undefined) return { kind: 'ipaddr', v: ip };
      // a network on the right of an address field matches the addresses inside it
      const net = raw.includes('/') ? parseCidr(raw) : undefined;
      if (net) return { kind: 'ipnet', v: net };
      return { error: `filter error: unrecognized IP address ${raw}` };
    }
    case 'ipnet': {
      const net = parseCidr(raw);
      if (!net) return { error: `filter error: unrecognized IP network ${raw}` };
      return { kind: 'ipnet', v: net };
    }
    case 'buffer':
      return { kind: 'buffer', v: stringToBytes(raw) };
    case 'dynamic':
      return { kind: 'dynamic', s: raw, n: parseInteger(raw) };
  }
}

// ---------------------------------------------------------------------------------------------
// Scalar predicates against constant right-hand sides

/** Test of one extracted (present) scalar value. */
export type ScalarPred = (v: Scalar) => boolean;

function bytesIndexOf(h: Uint8Array, n: Uint8Array): number {
  if (n.length === 0) return 0;
  const first = n[0] as number;
  const last = h.length - n.length;
  outer: for (let i = 0; i <= last; i++) {
    if (h[i] !== first) continue;
    for (let j = 1; j < n.length; j++) if (h[i + j] !== n[j]) continue outer;
    return i;
  }
  return -1;
}

function bytesStartsAt(h: Uint8Array, n: Uint8Array, at: number): boolean {
  if (at < 0 || at + n.length > h.length) return false;
  for (let j = 0; j < n.length; j++) if (h[at + j] !== n[j]) return false;
  return true;
}

function bytesEq(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && bytesStartsAt(a, b, 0);
}

/** ASCII case-insensitive substring test (strcasestr in the C locale). */
function icontains(h: string, lowNeedle: string): boolean {
  return lowerAscii(h).includes(lowNeedle);
}

function stringPred(op: CmpOp, r: string): ScalarPred | undefined {
  const s = (v: Scalar): string => (typeof v === 'string' ? v : scalarToString(v));
  switch (op) {
    case '=':
    case 'in':
    case 'intersects':
      return (v) => s(v) === r;
    case '!=':
      return (v) => s(v) !== r;
    case '<':
      return (v) => s(v) < r;
    case '<=':
      return (v) => s(v) <= r;
    case '>':
      return (v) => s(v) > r;
    case '>=':
      return (v) => s(v) >= r;
    case 'contains':
      return (v) => s(v).includes(r);
    case 'icontains': {
      const low = lowerAscii(r);
      return (v) => icontains(s(v), low);
    }
    case 'startswith':
      return (v) => s(v).startsWith(r);
    case 'endswith':
      return (v) => s(v).endsWith(r);
    case 'glob': {
      const m = compileGlob(r);
      return (v) => m(s(v));
    }
    case 'iglob': {
      const m = compileGlob(r, true);
      return (v) => m(s(v));
    }
    case 'pmatch': {
      const p = new PathPrefixSearch([r]);
      return (v) => p.match(s(v));
    }
    case 'bcontains':
    case 'bstartswith':
    case 'exists':
    case 'regex':
      return undefined;
  }
}

/** `=`, `in` and `intersects` all test equality against one literal. */
const isEq = (op: CmpOp): boolean => op === '=' || op === 'in' || op === 'intersects';

function numericPred(op: CmpOp, r: number | bigint): ScalarPred | undefined {
  const n = (v: Scalar): number | bigint | undefined =>
    typeof v === 'number' || typeof v === 'bigint' ? v : toNum(v);
  const cmp = numericComparator(op);
  if (!cmp) return undefined;
  return (v) => {
    const x = n(v);
    return x !== undefined && cmp(x, r);
  };
}

/** Numeric comparison for an operator, shared by literal and field-to-field checks. */
function numericComparator(op: CmpOp): ((a: number | bigint, b: number | bigint) => boolean) | undefined {
  if (isEq(op)) return numEq;
  if (op === '!=') return (a, b) => !numEq(a, b);
  if (op === '<') return (a, b) => a < b;
  if (op === '<=') return (a, b) => a <= b;
  if (op === '>') return (a, b) => a > b;
  if (op === '>=') return (a, b) => a >= b;
  return undefined;
}

function ipPred(op: CmpOp, r: IpAddr | IpNet, isNet: boolean): ScalarPred | undefined {
  // libsinsp: across address families `!=` is true and every other operator false
  const test = isNet
    ? (a: IpAddr): boolean => inNet(a, r as IpNet)
    : (a: IpAddr): boolean => ipEquals(a, r as IpAddr);
  if (isEq(op)) {
    return (v) => {
      const a = toIp(v);
      return a !== undefined && test(a);
    };
  }
  if (op === '!=') {
    return (v) => {
      const a = toIp(v);
      return a !== undefined && !test(a);
    };
  }
  return undefined;
}

/** Byte-buffer comparison for an operator, shared by literal and field-to-field checks. */
function bufferComparator(op: CmpOp): ((a: Uint8Array, b: Uint8Array) => boolean) | undefined {
  if (isEq(op)) return bytesEq;
  if (op === '!=') return (a, b) => !bytesEq(a, b);
  if (op === 'contains' || op === 'bcontains') return (a, b) => bytesIndexOf(a, b) >= 0;
  if (op === 'startswith' || op === 'bstartswith') return (a, b) => bytesStartsAt(a, b, 0);
  if (op === 'endswith') return (a, b) => bytesStartsAt(a, b, a.length - b.length);
  return undefined;
}

function bufferPred(op: CmpOp, r: Uint8Array): ScalarPred | undefined {
  const cmp = bufferComparator(op);
  return cmp && ((v) => cmp(toBytes(v), r));
}

function boolPred(op: CmpOp, r: boolean): ScalarPred | undefined {
  if (isEq(op)) return (v) => toBool(v) === r;
  if (op === '!=') return (v) => toBool(v) !== r;
  return undefined;
}

/**
 * Predicate for one parsed literal. Regex literals are compiled by the caller (they need the
 * pattern text and produce their own errors), so `regex` is handled in `compileScalarPredicate`.
 */
function predFor(op: CmpOp, p: ParsedValue): ScalarPred | undefined {
  switch (p.kind) {
    case 'string':
      return stringPred(op, p.v);
    case 'numeric':
      return numericPred(op, p.v);
    case 'bool':
      return boolPred(op, p.v);
    case 'ipaddr':
      return ipPred(op, p.v, false);
    case 'ipnet':
      return ipPred(op, p.v, true);
    case 'buffer':
      return bufferPred(op, p.v);
    case 'dynamic': {
      // evt.rawarg: numeric comparison when the value is a number, string comparison otherwise
      const sp = stringPred(op, p.s);
      const np = p.n === undefined ? undefined : numericPred(op, p.n);
      return (v) => {
        if (typeof v === 'number' || typeof v === 'bigint') return np !== undefined && np(v);
        return sp !== undefined && sp(v);
      };
    }
  }
}

/** A compiled predicate, or the libsinsp-style error that prevented it. */
export type PredResult =
  | {
      ok: true;
      pred: ScalarPred;
      /** For string membership: the set of literals, for fused fast paths. */
      stringSet?: ReadonlySet<string>;
    }
  | { ok: false; error: string };

/** Compiles `value <op> literal` for one literal (no list operators). */
export function compileScalarPredicate(op: CmpOp, type: FieldType, raw: string): PredResult {
  if (op === 'regex') {
    if (raw.includes('\0'))
      return { ok: false, error: 'filter error: string value contains a NUL character' };
    const re = compileRegex(raw);
    if (!re.ok) return { ok: false, error: `filter error: invalid regular expression '${raw}': ${re.error}` };
    const rx = re.regex;
    return { ok: true, pred: (v) => rx.test(typeof v === 'string' ? v : scalarToString(v)) };
  }
  const parsed = parseValue(raw, type, op);
  if ('error' in parsed) return { ok: false, error: parsed.error };
  const pred = predFor(op, parsed);
  if (!pred) return { ok: false, error: `filter error: '${op}' operator not supported for type '${type}'` };
  return { ok: true, pred };
}

/**
 * Compiles a set-membership test for `in` / `intersects` (and `pmatch` on strings): the literals
 * are parsed once and kept in a hash set where the type allows it.
 */
export function compileMembership(
  op: 'in' | 'intersects' | 'pmatch',
  type: FieldType,
  raws: readonly string[],
): PredResult {
  if (op === 'pmatch') {
    for (const r of raws)
      if (r.includes('\0'))
        return { ok: false, error: 'filter error: string value contains a NUL character' };
    const search = new PathPrefixSearch(raws);
    return { ok: true, pred: (v) => search.match(typeof v === 'string' ? v : scalarToString(v)) };
  }
  if (raws.length === 0) return { ok: true, pred: () => false };
  const parsed: ParsedValue[] = [];
  for (const r of raws) {
    const p = parseValue(r, type, op);
    if ('error' in p) return { ok: false, error: p.error };
    parsed.push(p);
  }
  const cls = typeClassOf(type);
  if (cls === 'string') {
    const set = new Set(parsed.map((p) => (p as { v: string }).v));
    return { ok: true, pred: (v) => set.has(typeof v === 'string' ? v : scalarToString(v)), stringSet: set };
  }
  if (cls === 'numeric') {
    const set = new Set<number | bigint>(parsed.map((p) => numKey((p as { v: number | bigint }).v)));
    return {
      ok: true,
      pred: (v) => {
        const x = typeof v === 'number' ? v : toNum(v);
        return x !== undefined && set.has(typeof x === 'bigint' ? numKey(x) : x);
      },
    };
  }
  if (cls === 'bool') {
    const set = new Set(parsed.map((p) => (p as { v: boolean }).v));
    return { ok: true, pred: (v) => set.has(toBool(v)) };
  }
  const preds = parsed.map((p) => predFor('=', p)).filter((p): p is ScalarPred => p !== undefined);
  return {
    ok: true,
    pred: (v) => {
      for (const p of preds) if (p(v)) return true;
      return false;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Comparisons between two extracted values (val() and transformer right-hand sides)

/** `lhs <op> rhs` where both come from the event and have the same field type. */
export type DynamicCmp = (l: Scalar, r: Scalar) => boolean;

/** Comparison of two extracted values of `type` (field-to-field checks); `undefined` if `op` does not apply. */
export function compileDynamicComparison(op: CmpOp, type: FieldType): DynamicCmp | undefined {
  switch (typeClassOf(type)) {
    case 'string':
    case 'dynamic':
      return stringComparator(op);
    case 'numeric': {
      const cmp = numericComparator(op);
      if (!cmp) return undefined;
      return (l, r) => {
        const a = toNum(l);
        const b = toNum(r);
        return a !== undefined && b !== undefined && cmp(a, b);
      };
    }
    case 'bool':
      if (op === '!=') return (l, r) => toBool(l) !== toBool(r);
      return isEq(op) ? (l, r) => toBool(l) === toBool(r) : undefined;
    case 'ipaddr':
    case 'ipnet': {
      const eq = (l: Scalar, r: Scalar): boolean | undefined => {
        const a = toIp(l);
        const b = toIp(r);
        return a === undefined || b === undefined ? undefined : ipEquals(a, b);
      };
      if (op === '!=') return (l, r) => eq(l, r) === false;
      return isEq(op) ? (l, r) => eq(l, r) === true : undefined;
    }
    case 'buffer': {
      const cmp = bufferComparator(op);
      return cmp && ((l, r) => cmp(toBytes(l), toBytes(r)));
    }
  }
}

/** String comparison of two extracted values. */
function stringComparator(op: CmpOp): DynamicCmp | undefined {
  const s = (v: Scalar): string => (typeof v === 'string' ? v : scalarToString(v));
  if (isEq(op)) return (l, r) => s(l) === s(r);
  if (op === '!=') return (l, r) => s(l) !== s(r);
  if (op === '<') return (l, r) => s(l) < s(r);
  if (op === '<=') return (l, r) => s(l) <= s(r);
  if (op === '>') return (l, r) => s(l) > s(r);
  if (op === '>=') return (l, r) => s(l) >= s(r);
  if (op === 'contains') return (l, r) => s(l).includes(s(r));
  if (op === 'icontains') return (l, r) => icontains(s(l), lowerAscii(s(r)));
  if (op === 'startswith') return (l, r) => s(l).startsWith(s(r));
  if (op === 'endswith') return (l, r) => s(l).endsWith(s(r));
  if (op === 'glob') return (l, r) => compileGlob(s(r))(s(l));
  if (op === 'iglob') return (l, r) => compileGlob(s(r), true)(s(l));
  return undefined;
}

/**
 * How field values appear in alerts: the text Falco prints in the output line and the JSON value it
 * puts in `output_fields` (libsinsp `rawval_to_string` / `rawval_to_json`).
 *
 * Text: numbers in decimal (`fd.dev` in uppercase hex, `*.ns` parts zero-padded to 9 digits), doubles
 * with one decimal, booleans `true`/`false`, byte buffers with unprintable bytes as `.` (at most 1023
 * characters), network fields as `<IPNET>`, lists as `(a,b,c)`. JSON: numbers as numbers (bigint when
 * beyond 2^53; the alert serializer writes them exactly), booleans as booleans, lists as arrays,
 * everything else as strings, a missing value as `null`.
 */
import type { FieldDef, FieldValue, Scalar } from './types.js';

/** libsinsp prints byte buffers into a 1024-byte property buffer. */
const MAX_BUFFER_TEXT = 1023;

/**
 * A byte buffer as libsinsp prints it by default: printable ASCII kept, any other byte as `.`;
 * at most `max` characters.
 */
export function printableText(b: Uint8Array, max = Number.POSITIVE_INFINITY): string {
  const n = Math.min(b.length, max);
  let s = '';
  for (let i = 0; i < n; i++) {
    const c = b[i]!;
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.';
  }
  return s;
}

function bufferText(b: Uint8Array): string {
  return printableText(b, MAX_BUFFER_TEXT);
}

function hexText(v: number | bigint): string {
  // %X of a signed 32-bit value prints its two's complement.
  if (typeof v === 'number') return (v >>> 0).toString(16).toUpperCase();
  return (v < 0n ? BigInt.asUintN(64, v) : v).toString(16).toUpperCase();
}

const NUMERIC_TYPES: ReadonlySet<FieldDef['type']> = new Set<FieldDef['type']>([
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'RELTIME',
  'ABSTIME',
  'PORT',
  'DOUBLE',
]);

function scalarText(v: Scalar, def: FieldDef): string {
  if (v instanceof Uint8Array) return bufferText(v);
  if (def.type === 'BOOL')
    return v === true || (typeof v === 'number' && v !== 0) || v === 'true' ? 'true' : 'false';
  if (def.type === 'IPNET') return '<IPNET>';
  if (def.type === 'DOUBLE') return typeof v === 'number' ? v.toFixed(1) : String(v);
  if (typeof v === 'number' || typeof v === 'bigint') {
    if (def.printFormat === 'hex') return hexText(v);
    if (def.printFormat === 'padded') return String(v).padStart(9, '0');
    return String(v);
  }
  return String(v);
}

function scalarJson(v: Scalar, def: FieldDef): unknown {
  if (v instanceof Uint8Array) return bufferText(v);
  if (def.type === 'BOOL') return v === true || (typeof v === 'number' && v !== 0) || v === 'true';
  if (def.type === 'IPNET') return '<IPNET>';
  if (typeof v === 'number' || typeof v === 'bigint') {
    if (def.printFormat === 'hex') return hexText(v);
    if (typeof v === 'bigint') return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
    return v;
  }
  if (typeof v === 'boolean') return v;
  // Strings of numeric fields (from transformers or odd sources) stay strings.
  if (NUMERIC_TYPES.has(def.type) && typeof v !== 'string') return String(v);
  return v;
}

/**
 * Falco's text form of an extracted value. `undefined` gives `<NA>`. For `multiValue: 'ancestors'`
 * fields the process's own value (the first element) is shown, as libsinsp does.
 */
export function renderFieldValue(value: FieldValue, def: FieldDef): string {
  if (value === undefined) return '<NA>';
  if (Array.isArray(value)) {
    if (def.multiValue === 'ancestors' && !def.isList) {
      const own = value[0];
      return own === undefined ? '<NA>' : scalarText(own, def);
    }
    let s = '(';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) s += ',';
      s += scalarText(value[i]!, def);
    }
    return `${s})`;
  }
  return scalarText(value, def);
}

/**
 * The JSON value Falco puts in `output_fields` for an extracted value (`null` when missing). Fields
 * with `def.jsonAlias` (`evt.time` & co) are given by Falco as the alias field's value; the output
 * formatter resolves that, this function renders what it is handed.
 */
export function jsonFieldValue(value: FieldValue, def: FieldDef): unknown {
  if (value === undefined) return null;
  if (Array.isArray(value)) {
    if (def.multiValue === 'ancestors' && !def.isList) {
      const own = value[0];
      return own === undefined ? null : scalarJson(own, def);
    }
    return value.map((v) => scalarJson(v, def));
  }
  return scalarJson(value, def);
}

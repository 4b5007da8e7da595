/**
 * The one mapping between an alert and its stored row, shared by both backends so they store and
 * return exactly the same thing.
 *
 * `output_fields` is stored as plain JSON so SQL can read it (`output_fields->>'proc.name'`), and
 * what plain JSON cannot say is recorded beside it in `output_types`: which values were bigint (kept
 * as JSON numbers when they fit a double exactly, as decimal strings otherwise), byte buffers (base64),
 * non-finite numbers, `undefined`, and strings holding NUL (which PostgreSQL text and jsonb refuse).
 * `output_types` is null for the usual alert that has none of these, and mirrors the shape of the
 * value where it is not (an object of tags per key, an array of tags per element).
 */
import type { Priority } from '../engine/rules/index.js';
import { PRIORITIES, priorityRank } from '../engine/rules/index.js';
import { StoreQueryError, type StoredAlert } from './store.js';

/** Columns of the `alerts` table in insertion order (both backends use these names). */
export const ALERT_COLUMNS = [
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

/** An alert flattened to column values (text columns are free of NUL). */
export interface AlertRow {
  id: string;
  time: bigint;
  rule: string;
  /** Syslog rank 0 (EMERGENCY) … 7 (DEBUG): "at or above" is `priority <= rank`. */
  priority: number;
  source: string;
  hostname: string;
  containerId: string | null;
  containerName: string | null;
  k8sNs: string | null;
  output: string;
  /** JSON text. */
  outputFields: string;
  /** JSON text, or null when the fields are plain JSON. */
  outputTypes: string | null;
  tags: string[];
}

/** The same row as read back: JSON already parsed by the driver or by the backend. */
export interface ReadRow {
  id: string;
  time: bigint;
  rule: string;
  priority: number;
  source: string;
  hostname: string;
  output: string;
  outputFields: Record<string, unknown>;
  /** The parsed `output_types` column (null or undefined when the fields are plain JSON). */
  outputTypes: unknown;
  tags: string[];
}

/** A value's type tag: a leaf tag, or the tags of a container's members. */
type TypeTag = LeafTag | TypeTag[] | { [key: string]: TypeTag };
type LeafTag = 'bigint' | 'bytes' | 'number' | 'undefined' | 'nulstr' | null;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;
const NUL = '\u0000';
const REPLACEMENT = '\uFFFD';

/** Text columns cannot hold NUL on PostgreSQL; both backends replace it alike so they agree. */
function cleanText(s: string): string {
  return s.includes(NUL) ? s.replaceAll(NUL, REPLACEMENT) : s;
}

/** Encodes one value to plain JSON; returns the JSON value and its tag (null when plain). */
function encodeValue(v: unknown): [unknown, TypeTag] {
  switch (typeof v) {
    case 'string':
      // JSON.stringify of the string is NUL-free and JSON.parse undoes it exactly.
      return v.includes(NUL) ? [JSON.stringify(v), 'nulstr'] : [v, null];
    case 'boolean':
      return [v, null];
    case 'number':
      return Number.isFinite(v) && !Object.is(v, -0) ? [v, null] : [String(v), 'number'];
    case 'bigint':
      return [v >= MIN_SAFE && v <= MAX_SAFE ? Number(v) : v.toString(), 'bigint'];
    case 'undefined':
      return [null, 'undefined'];
    case 'object': {
      if (v === null) return [null, null];
      if (v instanceof Uint8Array)
        return [Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'), 'bytes'];
      if (Array.isArray(v)) {
        const out: unknown[] = new Array<unknown>(v.length);
        let tags: TypeTag[] | null = null;
        for (let i = 0; i < v.length; i++) {
          const [ev, et] = encodeValue(v[i]);
          out[i] = ev;
          if (et !== null) (tags ??= new Array<TypeTag>(v.length).fill(null))[i] = et;
        }
        return [out, tags];
      }
      return encodeObject(v as Record<string, unknown>);
    }
    case 'function':
    case 'symbol':
      // No stored form; keep the key with null, as Falco does for missing values.
      return [null, null];
  }
}

function encodeObject(o: Record<string, unknown>): [Record<string, unknown>, TypeTag] {
  const out: Record<string, unknown> = {};
  let tags: Record<string, TypeTag> | null = null;
  for (const k of Object.keys(o)) {
    const [ev, et] = encodeValue(o[k]);
    out[k] = ev;
    if (et !== null) (tags ??= {})[k] = et;
  }
  return [out, tags];
}

function isPlainScalar(v: unknown): boolean {
  if (typeof v === 'string') return !v.includes(NUL);
  if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0);
  return v === null || typeof v === 'boolean';
}

/** Whether JSON.stringify keeps every value of the fields as it is (one level of arrays deep). */
function isPlainJson(o: Record<string, unknown>): boolean {
  for (const k in o) {
    if (!Object.hasOwn(o, k)) return false;
    const v = o[k];
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) if (!isPlainScalar(v[i])) return false;
    } else if (!isPlainScalar(v)) {
      return false;
    }
  }
  return true;
}

function decodeValue(v: unknown, tag: TypeTag): unknown {
  if (tag === null) return v;
  if (typeof tag === 'string') {
    switch (tag) {
      case 'bigint':
        return typeof v === 'number' || typeof v === 'string' ? BigInt(v) : v;
      case 'bytes':
        return typeof v === 'string' ? new Uint8Array(Buffer.from(v, 'base64')) : v;
      case 'number':
        return Number(v);
      case 'undefined':
        return undefined;
      case 'nulstr':
        return typeof v === 'string' ? (JSON.parse(v) as unknown) : v;
    }
  }
  if (Array.isArray(tag)) {
    if (!Array.isArray(v)) return v;
    return v.map((e, i) => decodeValue(e, tag[i] ?? null));
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(tag)) if (k in o) o[k] = decodeValue(o[k], tag[k] ?? null);
  return o;
}

/** A string field value, or null (missing, null or not a string). */
function stringField(fields: Record<string, unknown>, key: string): string | null {
  const v = fields[key];
  return typeof v === 'string' && v !== '' ? cleanText(v) : null;
}

/** Flattens an alert for insertion; throws StoreQueryError for an alert no backend can store. */
export function encodeAlert(a: StoredAlert): AlertRow {
  if (typeof a.id !== 'string' || a.id === '' || a.id.includes(NUL)) {
    throw new StoreQueryError(
      `alert id must be a non-empty string without NUL (got ${JSON.stringify(a.id)})`,
    );
  }
  if (typeof a.time !== 'bigint')
    throw new StoreQueryError(`alert ${a.id}: time must be a bigint (ns since the epoch)`);
  const rank = PRIORITY_RANKS.get(a.priority);
  if (rank === undefined)
    throw new StoreQueryError(`alert ${a.id}: unknown priority ${JSON.stringify(a.priority)}`);
  const fields = a.outputFields;
  let outputFields: string;
  let outputTypes: string | null = null;
  if (isPlainJson(fields)) {
    // The common case: nothing to record beside the JSON, and no copy of the fields needed.
    outputFields = JSON.stringify(fields);
  } else {
    const [plain, types] = encodeObject(fields);
    outputFields = JSON.stringify(plain);
    if (types !== null) outputTypes = JSON.stringify(types);
  }
  return {
    id: a.id,
    time: a.time,
    rule: cleanText(a.rule),
    priority: rank,
    source: cleanText(a.source),
    hostname: cleanText(a.hostname),
    containerId: stringField(fields, 'container.id'),
    containerName: stringField(fields, 'container.name'),
    k8sNs: stringField(fields, 'k8s.ns.name') ?? stringField(fields, 'ka.target.namespace'),
    output: cleanText(a.output),
    outputFields,
    outputTypes,
    tags: a.tags.map(cleanText),
  };
}

/** Rebuilds the alert from a row read back. */
export function decodeAlert(r: ReadRow): StoredAlert {
  const fields =
    r.outputTypes == null
      ? r.outputFields
      : (decodeValue(r.outputFields, r.outputTypes as TypeTag) as Record<string, unknown>);
  return {
    id: r.id,
    rule: r.rule,
    priority: priorityName(r.priority),
    source: r.source,
    time: r.time,
    output: r.output,
    outputFields: fields,
    tags: r.tags,
    hostname: r.hostname,
  };
}

const PRIORITY_RANKS = new Map<string, number>(PRIORITIES.map((p) => [p, priorityRank(p)]));

/** Priority name of a stored rank. */
export function priorityName(rank: number): Priority {
  const p = PRIORITIES[rank];
  if (p === undefined) throw new Error(`stored priority rank ${rank} is not 0..7`);
  return p;
}

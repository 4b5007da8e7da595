/**
 * Alerts on the wire: the JSON shape the hub API, the agent→hub spool and `vigil alerts --json` share.
 *
 * JSON has no bigint, so event times travel as decimal strings of nanoseconds (exact), and bigint values
 * inside `output_fields` as JSON numbers when they are safe integers, else as decimal strings (readable
 * by any JSON consumer; the numeric type of those fields does not survive, their value does).
 *
 * `alertFromWire` validates one untrusted value and says which field is wrong and why; it is called once
 * per ingested alert, so it checks shapes without walking `output_fields` deeply.
 */
import type { StoredAlert } from '../store/store.js';
import { parsePriority, priorityLabel } from '../engine/rules/index.js';

/** One alert as a JSON object (`POST /v1/alerts`, `GET /v1/alerts`, spool files, `vigil alerts --json`). */
export interface WireAlert {
  /** Idempotency key chosen by the producer, e.g. `<agentId>:<bootId>:<seq>`. */
  id: string;
  /** Event time, nanoseconds since the epoch, as a decimal string. */
  time: string;
  rule: string;
  /** Falco priority name as alerts print it (`Warning`, `Critical`…); parsing is case-insensitive. */
  priority: string;
  source: string;
  hostname: string;
  output: string;
  output_fields: Record<string, unknown>;
  tags: string[];
}

/** A wire value that is not a valid alert; the message names the field (`alerts[3].time: …`) and why. */
export class WireError extends Error {
  override readonly name = 'WireError';
  /** Path of the offending field, e.g. `alerts[3].time`. */
  readonly path: string;
  constructor(path: string, reason: string) {
    super(`${path}: ${reason}`);
    this.path = path;
  }
}

/** Longest accepted id: ids are keys, not payloads. */
export const MAX_ID_LENGTH = 512;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;
/** Up to 19 digits: fits a signed 64-bit integer for any time before year 2262. */
const TIME_RE = /^-?\d{1,19}$/;

/** A JSON-safe copy of a value: bigints become numbers or decimal strings, byte buffers base64. */
function jsonValue(v: unknown): unknown {
  switch (typeof v) {
    case 'bigint':
      return v >= MIN_SAFE && v <= MAX_SAFE ? Number(v) : v.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      // Falco reports missing values as null; keep the key.
      return null;
    case 'object': {
      if (v === null) return null;
      if (v instanceof Uint8Array)
        return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
      if (Array.isArray(v)) return v.map(jsonValue);
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v)) out[k] = jsonValue((v as Record<string, unknown>)[k]);
      return out;
    }
    case 'string':
    case 'number':
    case 'boolean':
      return v;
  }
}

/** Whether JSON.stringify would keep every value as it is (the usual case: strings, numbers, null). */
function isPlain(v: unknown): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v);
    case 'object':
      if (v === null) return true;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) if (!isPlain(v[i])) return false;
        return true;
      }
      return false;
    case 'bigint':
    case 'undefined':
    case 'function':
    case 'symbol':
      return false;
  }
}

function outputFieldsToWire(fields: Record<string, unknown>): Record<string, unknown> {
  for (const k in fields) {
    if (!isPlain(fields[k])) return jsonValue(fields) as Record<string, unknown>;
  }
  // No copy needed: every value already serialises to itself.
  return fields;
}

/** The wire form of a stored alert. Shares `output_fields` with the input when no value needs converting. */
export function alertToWire(a: StoredAlert): WireAlert {
  return {
    id: a.id,
    time: a.time.toString(),
    rule: a.rule,
    priority: priorityLabel(a.priority),
    source: a.source,
    hostname: a.hostname,
    output: a.output,
    output_fields: outputFieldsToWire(a.outputFields),
    tags: a.tags,
  };
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)?.slice(0, 40) ?? ''}`.trim();
}

function str(o: Record<string, unknown>, key: string, where: string, nonEmpty: boolean): string {
  const v = o[key];
  if (typeof v !== 'string') throw new WireError(`${where}.${key}`, `must be a string (got ${describe(v)})`);
  if (nonEmpty && v === '') throw new WireError(`${where}.${key}`, 'must not be empty');
  return v;
}

/**
 * Validates one untrusted wire value and returns the alert it describes.
 *
 * @param v - parsed JSON (anything).
 * @param where - path of `v` for messages, e.g. `alerts[17]`.
 * @throws WireError naming the field and the reason, e.g.
 *   `alerts[17].time: must be a decimal string of nanoseconds`.
 */
export function alertFromWire(v: unknown, where: string): StoredAlert {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new WireError(where, `must be an object (got ${describe(v)})`);
  const o = v as Record<string, unknown>;

  const id = str(o, 'id', where, true);
  if (id.length > MAX_ID_LENGTH)
    throw new WireError(`${where}.id`, `must be at most ${MAX_ID_LENGTH} characters (got ${id.length})`);
  if (id.includes('\u0000')) throw new WireError(`${where}.id`, 'must not contain NUL');

  const t = o['time'];
  if (typeof t !== 'string' || !TIME_RE.test(t))
    throw new WireError(`${where}.time`, 'must be a decimal string of nanoseconds');

  const p = o['priority'];
  const priority = typeof p === 'string' ? parsePriority(p) : undefined;
  if (priority === undefined)
    throw new WireError(
      `${where}.priority`,
      `must be a Falco priority name (Emergency, Alert, Critical, Error, Warning, Notice, Informational, Debug; got ${describe(p)})`,
    );

  const rule = str(o, 'rule', where, true);
  const source = str(o, 'source', where, true);
  const hostname = str(o, 'hostname', where, false);
  const output = str(o, 'output', where, false);

  const f = o['output_fields'];
  if (typeof f !== 'object' || f === null || Array.isArray(f))
    throw new WireError(`${where}.output_fields`, `must be an object (got ${describe(f)})`);

  const tags = o['tags'];
  if (!Array.isArray(tags))
    throw new WireError(`${where}.tags`, `must be an array of strings (got ${describe(tags)})`);
  for (let i = 0; i < tags.length; i++) {
    if (typeof tags[i] !== 'string')
      throw new WireError(`${where}.tags[${i}]`, `must be a string (got ${describe(tags[i])})`);
  }

  return {
    id,
    time: BigInt(t),
    rule,
    priority,
    source,
    hostname,
    output,
    outputFields: f as Record<string, unknown>,
    tags: tags as string[],
  };
}

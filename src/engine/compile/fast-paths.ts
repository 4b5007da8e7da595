/**
 * Fused closures for the checks Falco rulesets are made of (`proc.name = x`, `proc.name in (...)`,
 * `fd.name startswith /etc`, `fd.num >= 0`, `evt.is_open_read = true`): one closure that extracts
 * and compares when the extracted value has the expected JS type, instead of a getter closure
 * calling a predicate closure. Anything unusual (a missing value, several values, another JS type)
 * goes to the generic `slow` check, which has the full semantics, so these add speed, not
 * behaviour. Two indirect calls per check matter: a rule evaluates 5 to 15 checks per event and V8
 * cannot inline through closures shared by every compiled check.
 */
import type { FieldType, FieldValue } from '../fields/types.js';
import { parseInteger, typeClassOf, type CmpOp } from './operators.js';

type Check<E> = (e: E) => boolean;

/**
 * A fused check for `field <op> literal`, or `undefined` when there is none for this shape.
 * `slow` must implement the same check generically.
 */
export function fastLiteralCheck<E>(
  get: (e: E) => FieldValue,
  type: FieldType,
  isList: boolean,
  op: CmpOp,
  raw: string,
  slow: Check<E>,
): Check<E> | undefined {
  if (isList) return undefined;
  const cls = typeClassOf(type);
  if (cls === 'string') {
    if (op === '=') {
      return (e) => {
        const v = get(e);
        return typeof v === 'string' ? v === raw : slow(e);
      };
    }
    if (op === '!=') {
      return (e) => {
        const v = get(e);
        return typeof v === 'string' ? v !== raw : slow(e);
      };
    }
    if (op === 'startswith') {
      return (e) => {
        const v = get(e);
        return typeof v === 'string' ? v.startsWith(raw) : slow(e);
      };
    }
    if (op === 'endswith') {
      return (e) => {
        const v = get(e);
        return typeof v === 'string' ? v.endsWith(raw) : slow(e);
      };
    }
    if (op === 'contains') {
      return (e) => {
        const v = get(e);
        return typeof v === 'string' ? v.includes(raw) : slow(e);
      };
    }
    return undefined;
  }
  if (cls === 'numeric') {
    const r = parseInteger(raw);
    if (typeof r !== 'number') return undefined;
    if (op === '=') {
      return (e) => {
        const v = get(e);
        return typeof v === 'number' ? v === r : slow(e);
      };
    }
    if (op === '!=') {
      return (e) => {
        const v = get(e);
        return typeof v === 'number' ? v !== r : slow(e);
      };
    }
    if (op === '<') {
      return (e) => {
        const v = get(e);
        return typeof v === 'number' ? v < r : slow(e);
      };
    }
    if (op === '<=') {
      return (e) => {
        const v = get(e);
        return typeof v === 'number' ? v <= r : slow(e);
      };
    }
    if (op === '>') {
      return (e) => {
        const v = get(e);
        return typeof v === 'number' ? v > r : slow(e);
      };
    }
    if (op === '>=') {
      return (e) => {
        const v = get(e);
        return typeof v === 'number' ? v >= r : slow(e);
      };
    }
    return undefined;
  }
  if (cls === 'bool' && (op === '=' || op === '!=') && (raw === 'true' || raw === 'false')) {
    const want = (raw === 'true') === (op === '=');
    return (e) => {
      const v = get(e);
      return typeof v === 'boolean' ? v === want : slow(e);
    };
  }
  return undefined;
}

/** A fused `string-field in (literals)` / `intersects` check over a prebuilt set. */
export function fastStringMembership<E>(
  get: (e: E) => FieldValue,
  set: ReadonlySet<string>,
  slow: Check<E>,
): Check<E> {
  if (set.size === 0) return slow;
  // Small sets: comparing a few strings (length first) beats hashing a fresh event string.
  if (set.size <= 4) {
    const [a = '', b = a, c = a, d = a] = [...set];
    return (e) => {
      const v = get(e);
      return typeof v === 'string' ? v === a || v === b || v === c || v === d : slow(e);
    };
  }
  return (e) => {
    const v = get(e);
    return typeof v === 'string' ? set.has(v) : slow(e);
  };
}

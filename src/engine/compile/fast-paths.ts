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

// String checks that `fuseStringChecks` can merge: which field getter, which test, which literal.
const S_EQ = 0;
const S_NE = 1;
const S_STARTS = 2;
const S_ENDS = 3;
const S_CONTAINS = 4;
const S_IN = 5;

interface StringCheck {
  get: (e: never) => FieldValue;
  op: number;
  lit: string;
  set: ReadonlySet<string> | undefined;
}

/** The fused string checks made here, by closure. */
const stringChecks = new WeakMap<Check<never>, StringCheck>();

function registered<E>(
  check: Check<E>,
  get: (e: E) => FieldValue,
  op: number,
  lit: string,
  set?: ReadonlySet<string>,
): Check<E> {
  stringChecks.set(check as Check<never>, { get: get as (e: never) => FieldValue, op, lit, set });
  return check;
}

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
      const check: Check<E> = (e) => {
        const v = get(e);
        return typeof v === 'string' ? v === raw : slow(e);
      };
      return registered(check, get, S_EQ, raw);
    }
    if (op === '!=') {
      const check: Check<E> = (e) => {
        const v = get(e);
        return typeof v === 'string' ? v !== raw : slow(e);
      };
      return registered(check, get, S_NE, raw);
    }
    if (op === 'startswith') {
      const check: Check<E> = (e) => {
        const v = get(e);
        return typeof v === 'string' ? v.startsWith(raw) : slow(e);
      };
      return registered(check, get, S_STARTS, raw);
    }
    if (op === 'endswith') {
      const check: Check<E> = (e) => {
        const v = get(e);
        return typeof v === 'string' ? v.endsWith(raw) : slow(e);
      };
      return registered(check, get, S_ENDS, raw);
    }
    if (op === 'contains') {
      const check: Check<E> = (e) => {
        const v = get(e);
        return typeof v === 'string' ? v.includes(raw) : slow(e);
      };
      return registered(check, get, S_CONTAINS, raw);
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
    const check: Check<E> = (e) => {
      const v = get(e);
      return typeof v === 'string' ? v === a || v === b || v === c || v === d : slow(e);
    };
    return registered(check, get, S_IN, '', set);
  }
  const check: Check<E> = (e) => {
    const v = get(e);
    return typeof v === 'string' ? set.has(v) : slow(e);
  };
  return registered(check, get, S_IN, '', set);
}

/**
 * Merges runs of consecutive string checks on one field among the operands of an `and` / `or`
 * (`fd.name endswith a or fd.name endswith b or fd.name contains c...`, as rule macros list file
 * names) into one closure: the field is read once and each literal tested inline, instead of one
 * check closure and one getter call per literal. When the value is not a string the run's own
 * checks decide, as they would have. Other operands are kept as they are, in order.
 */
export function fuseStringChecks<E>(kind: 'and' | 'or', parts: readonly Check<E>[]): Check<E>[] {
  const out: Check<E>[] = [];
  for (let i = 0; i < parts.length;) {
    const first = stringChecks.get(parts[i] as Check<never>);
    let j = i + 1;
    if (first) while (j < parts.length && stringChecks.get(parts[j] as Check<never>)?.get === first.get) j++;
    if (!first || j - i < 2) {
      out.push(parts[i]!);
      i++;
      continue;
    }
    const run = parts.slice(i, j);
    const specs = run.map((p) => stringChecks.get(p as Check<never>)!);
    out.push(fusedRun(kind === 'or', first.get as (e: E) => FieldValue, specs, run));
    i = j;
  }
  return out;
}

function fusedRun<E>(
  isOr: boolean,
  get: (e: E) => FieldValue,
  specs: readonly StringCheck[],
  run: readonly Check<E>[],
): Check<E> {
  const n = specs.length;
  const ops = specs.map((s) => s.op);
  const lits = specs.map((s) => s.lit);
  const sets = specs.map((s) => s.set ?? new Set<string>());
  return (e) => {
    const v = get(e);
    if (typeof v !== 'string') {
      for (let i = 0; i < n; i++) if (run[i]!(e) === isOr) return isOr;
      return !isOr;
    }
    for (let i = 0; i < n; i++) {
      let r: boolean;
      switch (ops[i]!) {
        case S_EQ:
          r = v === lits[i];
          break;
        case S_NE:
          r = v !== lits[i];
          break;
        case S_STARTS:
          r = v.startsWith(lits[i]!);
          break;
        case S_ENDS:
          r = v.endsWith(lits[i]!);
          break;
        case S_CONTAINS:
          r = v.includes(lits[i]!);
          break;
        default:
          r = sets[i]!.has(v);
      }
      if (r === isOr) return isOr;
    }
    return !isOr;
  };
}

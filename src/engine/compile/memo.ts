/**
 * Per-event memo of extracted values, shared by every filter compiled against one field provider.
 *
 * Falco's stable rules extract the same few fields (`proc.name`, `evt.type`, `fd.name`, ...) from one
 * event in many rules. Each distinct field (name plus argument) or transformer expression gets one
 * memoised getter per provider; the getter remembers the last event it saw (by identity) and the
 * value it extracted. Evaluating N rules on an event therefore extracts each field once, with no
 * allocation: the cache is two variables in a closure.
 *
 * Contract: sources hand the engine a fresh object per event. Code that changes an event object and
 * evaluates it again must call `invalidateFieldMemo()` in between, or it gets the old values.
 */
import type { FieldValue } from '../fields/types.js';

const NONE: unique symbol = Symbol('no event yet');

/** Bumped by `invalidateFieldMemo`: memoised values from an older epoch are stale. */
let epoch = 0;

/**
 * Forgets every memoised value. Only needed when an event object is changed and evaluated again
 * (tests that reuse and mutate one event, a state engine that patches an event in place).
 */
export function invalidateFieldMemo(): void {
  epoch++;
}

/** Wraps `fn` so consecutive calls with the same event reuse the first result. */
export function memoizeByEvent<E>(fn: (e: E) => FieldValue): (e: E) => FieldValue {
  let lastEvent: E | typeof NONE = NONE;
  let lastEpoch = -1;
  let lastValue: FieldValue;
  return (e: E): FieldValue => {
    if (e === lastEvent && lastEpoch === epoch) return lastValue;
    const v = fn(e);
    lastValue = v;
    lastEvent = e;
    lastEpoch = epoch;
    return v;
  };
}

/** {@link memoizeByEvent} for a condition: consecutive calls with the same event reuse the answer. */
export function memoizeFilter<E>(fn: (e: E) => boolean): (e: E) => boolean {
  let lastEvent: E | typeof NONE = NONE;
  let lastEpoch = -1;
  let lastValue = false;
  return (e: E): boolean => {
    if (e === lastEvent && lastEpoch === epoch) return lastValue;
    const v = fn(e);
    lastValue = v;
    lastEvent = e;
    lastEpoch = epoch;
    return v;
  };
}

const caches = new WeakMap<object, Map<string, (e: never) => FieldValue>>();

/**
 * The shared memoised getter for `key` under `owner` (a field provider), created with `make` the
 * first time.
 */
export function sharedGetter<E>(
  owner: object,
  key: string,
  make: () => (e: E) => FieldValue,
): (e: E) => FieldValue {
  let m = caches.get(owner);
  if (!m) {
    m = new Map();
    caches.set(owner, m);
  }
  const hit = m.get(key) as ((e: E) => FieldValue) | undefined;
  if (hit) return hit;
  const g = memoizeByEvent(make());
  m.set(key, g as (e: never) => FieldValue);
  return g;
}

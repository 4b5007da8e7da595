/**
 * Time values as people type them in `?since=` / `vigil alerts --since`: RFC 3339 (`2026-11-26T02:00:00Z`,
 * fractions to the nanosecond, any offset), a bare date (`2026-11-26`, midnight UTC), nanoseconds since
 * the epoch (`1764122400000000000`), `now`, or a duration ago (`15m`, `1h30m`, `2d`, `500ms`).
 *
 * Shared by the hub and the CLI so both read the same strings the same way.
 */

/** Nanoseconds per unit of a duration. */
const UNIT_NS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
  d: 86_400_000_000_000n,
  w: 604_800_000_000_000n,
};

const DURATION_RE = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d|w))+$/;
const DURATION_PART_RE = /(\d+)(?:\.(\d+))?(ns|us|µs|ms|s|m|h|d|w)/g;
const RFC3339_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2}))?$/;

/** Why a time or duration string was not understood (the message is for people). */
export class TimeParamError extends Error {
  override readonly name = 'TimeParamError';
}

/** The current time in nanoseconds since the epoch. */
export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/**
 * A duration such as `15m`, `1h30m`, `1.5h`, `500ms`, `2d`, `1w` in nanoseconds.
 * @throws TimeParamError when `s` is not a duration.
 */
export function parseDuration(s: string): bigint {
  if (!DURATION_RE.test(s))
    throw new TimeParamError(`${JSON.stringify(s)} is not a duration (e.g. 30s, 15m, 1h30m, 2d)`);
  let total = 0n;
  for (const m of s.matchAll(DURATION_PART_RE)) {
    const unit = UNIT_NS[m[3] as string] as bigint;
    total += BigInt(m[1] as string) * unit;
    const frac = m[2];
    if (frac !== undefined) total += (BigInt(frac) * unit) / 10n ** BigInt(frac.length);
  }
  return total;
}

/**
 * A point in time in nanoseconds since the epoch.
 * @param s - RFC 3339, a bare date, decimal nanoseconds, `now`, or a duration meaning that long before `now`.
 * @param now - the clock for `now` and durations (ns since the epoch).
 * @throws TimeParamError saying which forms are accepted.
 */
export function parseTimeParam(s: string, now: bigint = nowNs()): bigint {
  const t = s.trim();
  if (/^-?\d+$/.test(t)) {
    if (t.replace('-', '').length > 19)
      throw new TimeParamError(`${JSON.stringify(s)} is out of range for nanoseconds since the epoch`);
    return BigInt(t);
  }
  if (t === 'now') return now;
  if (DURATION_RE.test(t)) return now - parseDuration(t);
  const m = RFC3339_RE.exec(t);
  if (m !== null) {
    const [, y, mo, d, h = '0', mi = '0', sec = '0', frac = '', zone = 'Z'] = m;
    const month = Number(mo);
    const day = Number(d);
    const ms = Date.UTC(Number(y), month - 1, day, Number(h), Number(mi), Number(sec));
    const check = new Date(ms);
    // Date.UTC rolls over (Feb 30 → Mar 2); an exact calendar match rejects such dates.
    if (
      Number.isNaN(ms) ||
      check.getUTCMonth() !== month - 1 ||
      check.getUTCDate() !== day ||
      Number(h) > 23 ||
      Number(mi) > 59 ||
      Number(sec) > 59
    )
      throw new TimeParamError(`${JSON.stringify(s)} is not a valid date and time`);
    let offsetMin = 0;
    if (zone !== 'Z' && zone !== 'z') {
      const sign = zone.startsWith('-') ? -1 : 1;
      offsetMin = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
    }
    const fracNs = frac === '' ? 0n : BigInt(frac.padEnd(9, '0'));
    return (BigInt(ms) - BigInt(offsetMin) * 60_000n) * 1_000_000n + fracNs;
  }
  throw new TimeParamError(
    `${JSON.stringify(s)} is not a time: use RFC 3339 (2026-11-26T02:00:00Z), nanoseconds since the epoch, now, or a duration ago (15m, 1h, 2d)`,
  );
}

/** RFC 3339 in UTC with nanoseconds (`2026-11-26T02:00:00.123456789Z`). */
export function formatTimeNs(ns: bigint): string {
  // Floor division, so times before the epoch keep a positive fraction.
  let rem = ns % 1_000_000_000n;
  if (rem < 0n) rem += 1_000_000_000n;
  const secs = (ns - rem) / 1_000_000_000n;
  const base = new Date(Number(secs) * 1000).toISOString().slice(0, 19);
  return `${base}.${rem.toString().padStart(9, '0')}Z`;
}

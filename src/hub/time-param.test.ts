import { describe, expect, it } from 'vitest';
import { alertQueryToParams, parseAlertQuery, QueryParamError } from './query-params.js';
import { formatTimeNs, parseDuration, parseTimeParam, TimeParamError } from './time-param.js';

const NOW = 1_764_122_400_000_000_000n; // 2025-11-26T02:00:00Z

describe('parseTimeParam', () => {
  it.each([
    ['1764122400123456789', 1_764_122_400_123_456_789n],
    // Bare digits are nanoseconds, however few.
    ['15', 15n],
    ['now', NOW],
    ['15m', NOW - 900_000_000_000n],
    ['1h30m', NOW - 5_400_000_000_000n],
    ['1.5h', NOW - 5_400_000_000_000n],
    ['500ms', NOW - 500_000_000n],
    ['2d', NOW - 172_800_000_000_000n],
    ['2025-11-26T02:00:00Z', NOW],
    ['2025-11-26T02:00:00.123456789Z', NOW + 123_456_789n],
    ['2025-11-26T02:00:00.5z', NOW + 500_000_000n],
    ['2025-11-26T03:30:00+01:30', NOW],
    ['2025-11-25T21:00:00-05:00', NOW],
    ['2025-11-26', NOW - 7_200_000_000_000n],
  ])('%s', (s, expected) => {
    expect(parseTimeParam(s, NOW)).toBe(expected);
  });

  it.each([
    'yesterday',
    '',
    'x15m',
    '2025-02-30',
    '2025-11-26T24:00:00Z',
    '2025-11-26T02:00:00',
    '1'.repeat(20),
  ])('rejects %j', (s) => {
    expect(() => parseTimeParam(s, NOW)).toThrow(TimeParamError);
  });

  it('parses durations and formats times back', () => {
    expect(parseDuration('1w')).toBe(604_800_000_000_000n);
    expect(() => parseDuration('1y')).toThrow(/not a duration/);
    expect(formatTimeNs(NOW + 5n)).toBe('2025-11-26T02:00:00.000000005Z');
    expect(formatTimeNs(-1n)).toBe('1969-12-31T23:59:59.999999999Z');
    expect(parseTimeParam(formatTimeNs(NOW + 123n), NOW)).toBe(NOW + 123n);
  });
});

describe('alert query parameters', () => {
  it('round-trips a query through URL parameters', () => {
    const q = {
      since: NOW - 1n,
      until: NOW,
      rule: ['A', 'B, with comma'],
      minPriority: 'WARNING' as const,
      tags: ['t1', 't2'],
      source: 'syscall',
      hostname: ['h1'],
      container: 'nginx',
      namespace: ['default', 'payments'],
      text: 'a&b=c',
      limit: 10,
      cursor: 'abc',
    };
    const back = parseAlertQuery(new URLSearchParams(alertQueryToParams(q).toString()), NOW);
    expect(back).toEqual({ ...q, hostname: 'h1' });
  });

  it('keeps the least severe of repeated priorities', () => {
    expect(parseAlertQuery(new URLSearchParams('priority=critical&priority=notice'), NOW).minPriority).toBe(
      'NOTICE',
    );
  });

  it('resolves relative times against the given clock', () => {
    expect(parseAlertQuery(new URLSearchParams('since=1h'), NOW).since).toBe(NOW - 3_600_000_000_000n);
  });

  it.each([
    ['bogus=1', /unknown query parameter "bogus"/],
    ['q=a&q=b', /q: given more than once/],
    ['limit=10001', /limit: must be an integer from 1 to 10000/],
    ['limit=1.5', /limit: must be an integer/],
    ['until=soon', /until: "soon" is not a time/],
    ['priority=', /priority: "" is not a Falco priority/],
  ])('rejects %s', (qs, re) => {
    expect(() => parseAlertQuery(new URLSearchParams(qs), NOW)).toThrow(QueryParamError);
    expect(() => parseAlertQuery(new URLSearchParams(qs), NOW)).toThrow(re);
  });
});

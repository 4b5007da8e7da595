/** The HTTP client's pieces that the integration tests cannot pin: `Retry-After` parsing. */
import { describe, expect, it } from 'vitest';
import { retryAfterMs } from './http.js';

describe('retryAfterMs', () => {
  it('reads delta-seconds and HTTP dates', () => {
    expect(retryAfterMs(undefined)).toBeUndefined();
    expect(retryAfterMs('7')).toBe(7000);
    const now = Date.UTC(2026, 10, 26, 2, 0, 0);
    expect(retryAfterMs('Thu, 26 Nov 2026 02:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('Thu, 26 Nov 2026 01:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('soon')).toBeUndefined();
  });
});

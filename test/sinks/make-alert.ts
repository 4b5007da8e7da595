/**
 * Alerts for the sink tests: shaped like the engine's (Falco output fields, a 64-bit value, tags),
 * each call a fresh object with a unique id.
 */
import type { StoredAlert } from '../../src/store/store.js';

let seq = 0;

/** 2026-11-26T02:00:00.123456789Z */
export const BASE_TIME_NS = 1_795_658_400_123_456_789n;

export function makeAlert(over: Partial<StoredAlert> = {}): StoredAlert {
  seq++;
  const fields: Record<string, unknown> = {
    'proc.name': 'bash',
    'container.id': 'c0ffee123456',
    'user.name': 'root',
    'proc.pid': 4242,
    // Beyond 2^53: must survive JSON exactly.
    'proc.vpid': 9_007_199_254_740_993n,
  };
  return {
    id: `test:${process.pid}:${seq}`,
    rule: 'Terminal shell in container',
    priority: 'NOTICE',
    source: 'syscall',
    time: BASE_TIME_NS + BigInt(seq) * 1_000_000n,
    output: `A shell was spawned in a container (user=root proc.name=bash container_id=c0ffee123456 seq=${seq})`,
    outputFields: fields,
    tags: ['shell', 'container', 'mitre_execution'],
    hostname: 'test-host',
    ...over,
  };
}

/** Polls `cond` every 10 ms until it holds or `timeoutMs` passes (then throws with `what`). */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

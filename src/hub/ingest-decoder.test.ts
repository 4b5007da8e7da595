/**
 * The ingest thread end to end: request bodies handed over in chunks (as the socket gives them, or
 * views of a shared buffer), several in flight at once, decoded on the fast path and written by the
 * SQLite writer thread, store exactly the rows the Store API stores for the same alerts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore, type SqliteStore } from '../store/sqlite/store.js';
import type { StoredAlert } from '../store/store.js';
import { decodeAlertBatch } from './batch-decode.js';
import { inlineBatchDecoder, startIngestThread, type BatchDecoder } from './ingest-decoder.js';
import { alertFromWire, alertToWire } from './wire.js';

function alert(i: number): StoredAlert {
  const fields: Record<string, unknown> = {
    'proc.cmdline': `sh -c "echo ${'x'.repeat(i % 400)}" \\ ü 😀`,
    'proc.pid': 1000 + i,
    'container.id': i % 5 === 0 ? 'host' : `c${i % 17}`,
    'container.name': i % 7 === 0 ? null : `nginx-${i % 17}`,
    'k8s.ns.name': i % 3 === 0 ? '' : 'payments',
    'ka.target.namespace': 'audit-ns',
    'evt.rawtime': 1_764_000_000_000_000_000n + BigInt(i),
  };
  // Every tenth alert is not in the fast path's form: it takes the general path inside the body.
  if (i % 10 === 0) fields['nested'] = { a: [1, { b: 'NUL \u0000' }], n: -0 };
  return {
    id: `agent-1:boot-1:${i}`,
    time: 1_764_000_000_000_000_000n + BigInt(i) * 1_000_000n,
    rule: i % 2 ? 'Write below etc' : 'Terminal shell in container',
    priority: i % 2 ? 'ERROR' : 'NOTICE',
    source: 'syscall',
    hostname: `node-${i % 4}`,
    output: `output ${i} ${'y'.repeat(i % 300)} "quoted" \u0000`,
    outputFields: fields,
    tags: ['container', `t${i % 3}`],
  };
}

/** A body cut into chunks of varied sizes; every third chunk is a view into a larger shared buffer. */
function chunked(body: Buffer, seed: number): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  let k = seed;
  while (at < body.length) {
    const len = Math.min(body.length - at, 1 + ((k * 7919) % 70_000));
    const piece = body.subarray(at, at + len);
    if (k % 3 === 0) {
      const shared = Buffer.alloc(len + 100);
      piece.copy(shared, 50);
      out.push(shared.subarray(50, 50 + len));
    } else {
      out.push(Buffer.from(piece));
    }
    at += len;
    k++;
  }
  return out;
}

describe('ingest thread', () => {
  let dir: string;
  let viaThread: SqliteStore;
  let viaApi: SqliteStore;
  let decoder: BatchDecoder;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-ingest-'));
    viaThread = await openSqliteStore({ path: join(dir, 'thread.db') });
    viaApi = await openSqliteStore({ path: join(dir, 'api.db') });
    decoder = startIngestThread(10_000, viaThread.openRowPort());
  });
  afterAll(async () => {
    await decoder.close();
    await viaThread.close();
    await viaApi.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores the rows the Store API stores, from chunked bodies decoded concurrently', async () => {
    const batches = [0, 1, 2, 3].map((b) => Array.from({ length: 300 }, (_, k) => alert(b * 300 + k)));
    const bodies = batches.map((batch) => Buffer.from(JSON.stringify({ alerts: batch.map(alertToWire) })));
    expect(bodies[0]!.length).toBeGreaterThan(200_000);
    const results = await Promise.all(
      bodies.map((body, k) => decoder.decode(chunked(body, k + 1), body.length)),
    );
    for (const r of results) expect(r).toEqual({ ok: true, stored: { inserted: 300, duplicates: 0 } });

    // The Store API gets what the general path decodes from the same wire alerts.
    for (const batch of batches) {
      await viaApi.insertAlerts(
        batch.map((a) => alertFromWire(JSON.parse(JSON.stringify(alertToWire(a))), 'a')),
      );
    }
    const rows = (s: SqliteStore): unknown[] => s.db.prepare('SELECT * FROM alerts ORDER BY id').all();
    const stored = rows(viaThread);
    expect(stored).toHaveLength(1200);
    expect(stored).toEqual(rows(viaApi));
  });

  it('answers a second post of the same body with duplicates, and refusals with the usual message', async () => {
    const body = Buffer.from(JSON.stringify({ alerts: [alert(1), alert(2)].map(alertToWire) }));
    expect(await decoder.decode(chunked(body, 5), body.length)).toEqual({
      ok: true,
      stored: { inserted: 0, duplicates: 2 },
    });
    const bad = Buffer.from(JSON.stringify({ alerts: [{ ...alertToWire(alert(9)), time: 'soon' }] }));
    expect(await decoder.decode(chunked(bad, 2), bad.length)).toMatchObject({
      ok: false,
      status: 400,
      message: 'alerts[0].time: must be a decimal string of nanoseconds',
    });
  });

  it('inline: decodes chunks as one body', async () => {
    const body = Buffer.from(JSON.stringify({ alerts: [alert(4), alert(10)].map(alertToWire) }));
    const inline = inlineBatchDecoder(10);
    expect(await inline.decode(chunked(body, 1), body.length)).toEqual(decodeAlertBatch(body, 10));
  });
});

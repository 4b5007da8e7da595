/** The store sink against a real SQLite store: batched inserts, every output field kept, ids idempotent. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/index.js';
import { createSink, parseSinksConfig } from '../../src/sinks/index.js';
import { StoreSink } from '../../src/sinks/store.js';
import { makeAlert } from './make-alert.js';

const dir = mkdtempSync(join(tmpdir(), 'vigil-store-sink-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('store sink (SQLite)', () => {
  it('inserts alerts in batches; a repeated id is stored once', async () => {
    const store: Store = await openStore({ kind: 'sqlite', path: join(dir, 'alerts.db') });
    try {
      const [config] = parseSinksConfig({ sinks: [{ type: 'store', batch_size: 100 }] }, '').sinks;
      const sink = createSink(config!, { store });
      const alerts = Array.from({ length: 1000 }, (_, i) =>
        makeAlert({ outputFields: { 'proc.name': `p${i}`, 'proc.vpid': 2n ** 62n } }),
      );
      for (const a of alerts) sink.send(a);
      sink.send(alerts[0]!); // delivered again: not stored twice
      await sink.close();
      expect(sink.stats()).toMatchObject({ sent: 1001, failed: 0 });
      expect((sink as StoreSink).duplicates).toBe(1);
      expect(await store.countAlerts()).toBe(1000);
      const page = await store.queryAlerts({ rule: 'Terminal shell in container', limit: 1 });
      const newest = alerts.at(-1)!;
      expect(page.alerts[0]).toMatchObject({
        id: newest.id,
        time: newest.time,
        output: newest.output,
        priority: 'NOTICE',
      });
      expect(page.alerts[0]!.outputFields).toMatchObject({ 'proc.name': 'p999' });
      expect(BigInt(page.alerts[0]!.outputFields['proc.vpid'] as bigint)).toBe(2n ** 62n);
    } finally {
      await store.close();
    }
  });

  it('refuses to build a store sink without a store', () => {
    const [config] = parseSinksConfig({ sinks: [{ type: 'store' }] }, '').sinks;
    expect(() => createSink(config!, {})).toThrow(/needs the app's store/);
  });

  it('retries while the store fails and counts the drop when it keeps failing', async () => {
    const store = await openStore({ kind: 'sqlite', path: join(dir, 'closed.db') });
    await store.close(); // every insert now fails
    const [config] = parseSinksConfig(
      { sinks: [{ type: 'store', retry: { max_retries: 2, initial_backoff: '1ms' } }] },
      '',
    ).sinks;
    const sink = createSink(config!, { store });
    sink.send(makeAlert());
    await sink.close();
    expect(sink.stats()).toMatchObject({ sent: 0, failed: 3, retries: 2 });
    expect(sink.stats().dropped.retries_exhausted).toBe(1);
  });
});

/**
 * The store sink: alerts inserted in batches into the app's {@link Store} (SQLite or PostgreSQL), where
 * the hub API and `vigil alerts` find them. Inserts are idempotent by alert id, so a retried batch that
 * had in fact been committed stores nothing twice.
 */
import { StoreQueryError, type Store, type StoredAlert } from '../store/store.js';
import type { StoreSinkConfig } from './config.js';
import { QueuedSink, RejectedError, type SinkHooks } from './sink.js';

export class StoreSink extends QueuedSink {
  /** Alerts the store already had (same id): delivered, not inserted again. */
  duplicates = 0;

  constructor(
    config: StoreSinkConfig,
    private readonly store: Store,
    hooks: SinkHooks = {},
  ) {
    super(config.name, config, hooks);
  }

  protected override async deliver(batch: readonly StoredAlert[]): Promise<void> {
    try {
      const r = await this.store.insertAlerts(batch);
      this.duplicates += r.duplicates;
    } catch (err) {
      // The store refused the batch itself (an invalid id): inserting it again fails the same way.
      if (err instanceof StoreQueryError) throw new RejectedError(err.message, { cause: err });
      throw err;
    }
  }
}

/**
 * The stdout sink: Falco's alert lines (or JSON alerts) on standard output, as `falco` prints them.
 * Written through the thread pool (see lines.ts) so a slow reader of the pipe never stalls detection.
 */
import type { StoredAlert } from '../store/store.js';
import type { StdoutSinkConfig } from './config.js';
import { formatAlertLines, writeAll } from './lines.js';
import { QueuedSink, type SinkHooks } from './sink.js';

export class StdoutSink extends QueuedSink {
  /**
   * @param fd where "stdout" is; 1 unless a test or the app points it elsewhere. Not closed by the sink.
   */
  constructor(
    private readonly config: StdoutSinkConfig,
    hooks: SinkHooks = {},
    private readonly fd = 1,
  ) {
    super(config.name, config, hooks);
  }

  protected override deliver(batch: readonly StoredAlert[]): Promise<void> {
    return writeAll(this.fd, formatAlertLines(batch, this.config.format, this.config.timeFormat));
  }
}

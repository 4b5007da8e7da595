/**
 * The file sink: alert lines appended to a file, reopened on `reopen()` (SIGHUP) so logrotate can move
 * the file away and the next alerts land in a fresh one at the configured path.
 *
 * The file is opened once at creation (so a wrong path shows up in the log at start-up, not at the first
 * alert) and again whenever a write finds it closed.
 */
import { close, open } from 'node:fs';
import type { StoredAlert } from '../store/store.js';
import type { FileSinkConfig } from './config.js';
import { formatAlertLines, writeAll } from './lines.js';
import { QueuedSink, type SinkHooks } from './sink.js';

function openAppend(path: string, mode: number): Promise<number> {
  return new Promise((resolve, reject) =>
    open(path, 'a', mode, (err, fd) => (err ? reject(err) : resolve(fd))),
  );
}

function closeFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => close(fd, (err) => (err ? reject(err) : resolve())));
}

export class FileSink extends QueuedSink {
  private fd: number | undefined;
  /** Times the file was (re)opened; tests and operators can see that a SIGHUP took effect. */
  opens = 0;

  constructor(
    private readonly config: FileSinkConfig,
    hooks: SinkHooks = {},
  ) {
    super(config.name, config, hooks);
    this.schedule(() => this.ensureOpen().then(() => undefined));
  }

  /** Closes the file and opens the configured path again, between batches (never mid-write). */
  reopen(): void {
    this.schedule(async () => {
      await this.closeFile();
      await this.ensureOpen();
    });
  }

  protected override async deliver(batch: readonly StoredAlert[]): Promise<void> {
    const fd = await this.ensureOpen();
    try {
      await writeAll(fd, formatAlertLines(batch, this.config.format, this.config.timeFormat));
    } catch (err) {
      // The next attempt starts from a fresh descriptor (the file may have been removed or the disk replaced).
      await this.closeFile().catch(() => {});
      throw err;
    }
  }

  protected override async shutdown(): Promise<void> {
    await this.closeFile();
  }

  private async ensureOpen(): Promise<number> {
    if (this.fd === undefined) {
      this.fd = await openAppend(this.config.path, this.config.mode);
      this.opens++;
    }
    return this.fd;
  }

  private async closeFile(): Promise<void> {
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) await closeFd(fd);
  }
}

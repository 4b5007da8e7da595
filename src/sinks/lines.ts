/**
 * Alerts as lines of text, and writing them to a file descriptor without blocking the event loop.
 *
 * Lines use Falco's own shapes (`formatAlertText`, `formatAlertJson`), so anything that reads Falco's
 * stdout, file or program output reads Vigil's. Writes go through libuv's thread pool (`fs.write`), never
 * `process.stdout`: on Linux a write to a piped stdout is synchronous, and a slow reader would stall
 * detection.
 */
import { write } from 'node:fs';
import type { StoredAlert } from '../store/store.js';
import { formatAlertJson, formatAlertText, type TimeFormat } from '../engine/output/alert-format.js';

/** `text`: Falco's alert line; `json`: Falco's JSON alert, one per line. */
export type AlertFormat = 'text' | 'json';

/** One alert as a line, without the newline. */
export function formatAlertLine(alert: StoredAlert, format: AlertFormat, timeFormat: TimeFormat): string {
  return format === 'json' ? formatAlertJson(alert, timeFormat) : formatAlertText(alert, timeFormat);
}

/** A batch as newline-terminated lines in one buffer (one write per batch). */
export function formatAlertLines(
  batch: readonly StoredAlert[],
  format: AlertFormat,
  timeFormat: TimeFormat,
): Buffer {
  let text = '';
  for (const a of batch) text += formatAlertLine(a, format, timeFormat) + '\n';
  return Buffer.from(text, 'utf8');
}

/**
 * Writes all of `buf` to `fd` at its current position (appending for files opened with `a`), resuming
 * after partial writes.
 */
export function writeAll(fd: number, buf: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    let offset = 0;
    const step = (): void => {
      write(fd, buf, offset, buf.length - offset, null, (err, n) => {
        // A non-blocking pipe that is full (stdout shared with a process that set O_NONBLOCK): wait for
        // the reader instead of failing; the queue meanwhile absorbs or drops what arrives.
        if (err?.code === 'EAGAIN') return void setTimeout(step, 5);
        if (err) return reject(err);
        offset += n;
        if (offset < buf.length) step();
        else resolve();
      });
    };
    step();
  });
}

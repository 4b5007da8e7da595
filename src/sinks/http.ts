/**
 * The HTTP client the webhook and Alertmanager sinks share: POST a JSON body over a keep-alive agent,
 * and turn the response into success, a retryable failure or a rejection.
 *
 * node:http rather than fetch: Node 20's fetch cannot turn TLS verification off per request
 * (`insecure_skip_verify`) without an extra dependency.
 */
import http from 'node:http';
import https from 'node:https';
import { RejectedError, RetryableError } from './sink.js';
import type { HttpSinkConfig } from './config.js';

/** How much of an error response body is kept for the log. */
const MAX_ERROR_BODY = 512;

/** A JSON poster for one configured endpoint; `close` drops its idle connections. */
export class JsonPoster {
  private readonly agent: http.Agent;
  private readonly target: URL;

  constructor(
    url: string,
    private readonly config: Pick<HttpSinkConfig, 'headers' | 'insecureSkipVerify' | 'timeoutMs'>,
  ) {
    this.target = new URL(url);
    this.agent =
      this.target.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: !config.insecureSkipVerify })
        : new http.Agent({ keepAlive: true, maxSockets: 1 });
  }

  /**
   * POSTs `body` (already JSON). Resolves on 2xx. Throws {@link RetryableError} on network errors,
   * timeouts, 408, 429 and 5xx (with the `Retry-After` hint when given), {@link RejectedError} on other
   * statuses: the receiver will not accept these alerts however often they are sent.
   */
  post(body: string, signal: AbortSignal): Promise<void> {
    const payload = Buffer.from(body, 'utf8');
    const mod = this.target.protocol === 'https:' ? https : http;
    return new Promise<void>((resolve, reject) => {
      const req = mod.request(
        this.target,
        {
          method: 'POST',
          agent: this.agent,
          signal,
          headers: {
            'user-agent': 'vigil',
            ...this.config.headers,
            'content-type': 'application/json',
            'content-length': String(payload.length),
          },
        },
        (res) => {
          const status = res.statusCode ?? 0;
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            if (text.length < MAX_ERROR_BODY) text += chunk;
          });
          res.on('error', (err) =>
            reject(new RetryableError(`reading the response: ${err.message}`, undefined, { cause: err })),
          );
          res.on('end', () => {
            if (status >= 200 && status < 300) return resolve();
            const detail = text.trim().slice(0, MAX_ERROR_BODY).replace(/\s+/g, ' ');
            const message = `HTTP ${status} from ${this.target.host}${detail ? `: ${detail}` : ''}`;
            if (status === 408 || status === 429 || status >= 500) {
              reject(new RetryableError(message, retryAfterMs(res.headers['retry-after'])));
            } else {
              reject(new RejectedError(message));
            }
          });
        },
      );
      req.setTimeout(this.config.timeoutMs, () => {
        req.destroy(
          new RetryableError(`no response from ${this.target.host} within ${this.config.timeoutMs}ms`),
        );
      });
      req.on('error', (err) => {
        reject(
          err instanceof RetryableError
            ? err
            : new RetryableError(`${this.target.host}: ${err.message}`, undefined, { cause: err }),
        );
      });
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** `Retry-After` as ms: delta-seconds or an HTTP date. */
export function retryAfterMs(header: string | undefined, now: number = Date.now()): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const t = Date.parse(header);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

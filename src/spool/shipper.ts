/**
 * The shipper: sends what the spool holds to the hub (`POST /v1/alerts`), one batch at a time, and
 * acknowledges a batch in the spool only once the hub has answered 2xx for all of it. Delivery is
 * at-least-once; the hub stores each alert id once, so a batch sent twice (hub crashed after storing,
 * before answering) is harmless.
 *
 * Failures: network errors, timeouts, 5xx, 429 and other unexpected answers are retried forever with
 * exponential backoff and jitter (the spool keeps the data meanwhile, up to its size bound). A 400 is
 * about the content, so retrying the same bytes would block the spool forever: the batch is split in
 * halves until the alerts the hub refuses are isolated, and those are skipped and counted
 * (`dropped.rejected`), with the hub's reason logged. A 413 splits the same way (`dropped.too_large`).
 *
 * Records are sent as they were spooled: the body is the stored WireAlert JSON bytes joined, never
 * parsed and re-serialised.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { Spool, SpoolBatch, SpoolStats } from './spool.js';

/** Options of {@link startShipper}. */
export interface ShipperOptions {
  spool: Spool;
  /** The hub's base URL, e.g. `http://127.0.0.1:8765` (the path `/v1/alerts` is appended). */
  hubUrl: string;
  /** Bearer token for the hub. */
  token: string;
  /** PEM of a CA to trust for an `https://` hub with a private certificate. */
  ca?: string;
  /** Most alerts per request. Default 2000. */
  maxBatchAlerts?: number;
  /** About the most payload bytes per request (a single larger alert is sent alone). Default 4 MiB. */
  maxBatchBytes?: number;
  /** A request not answered within this is aborted and retried. Default 30 s. */
  requestTimeoutMs?: number;
  /** First retry delay; doubles per failed attempt up to `backoffMaxMs`, with jitter. Default 100 ms. */
  backoffInitialMs?: number;
  /** Default 30 s. */
  backoffMaxMs?: number;
  /** Where failures and rejected alerts are reported (rate: once per failed attempt). */
  onLog?: (message: string) => void;
}

/** The spool's counters plus the shipping ones (see docs/spool.md). */
export interface ShipperStats extends SpoolStats {
  /** Alerts the hub acknowledged (stored now or before). */
  shipped: number;
  /** Of those, alerts the hub already had (resent after a crash or a lost answer). */
  duplicates: number;
  /** Requests answered 2xx. */
  batches: number;
  /** Failed attempts that were retried. */
  retries: number;
  /** When the hub last answered 2xx, ms since the epoch. */
  lastSuccessTime?: number;
}

/** A running shipper. */
export interface Shipper {
  stats(): ShipperStats;
  /**
   * Keeps shipping until nothing is pending or `drainTimeoutMs` (default 5000) has passed, then
   * aborts the request in flight and stops. What was not acknowledged stays in the spool for the next
   * start. Does not close the spool.
   */
  close(options?: { drainTimeoutMs?: number }): Promise<void>;
}

const DEFAULTS = {
  maxBatchAlerts: 2000,
  maxBatchBytes: 4 * 1024 * 1024,
  requestTimeoutMs: 30_000,
  backoffInitialMs: 100,
  backoffMaxMs: 30_000,
};

const PREFIX = Buffer.from('{"alerts":[');
const SUFFIX = Buffer.from(']}');
const COMMA = 0x2c;

/** `{"alerts":[p0,p1,…]}` from raw JSON payloads. */
export function buildAlertsBody(payloads: readonly Buffer[]): Buffer {
  let len = PREFIX.length + SUFFIX.length + Math.max(0, payloads.length - 1);
  for (const p of payloads) len += p.length;
  const body = Buffer.allocUnsafe(len);
  let pos = PREFIX.copy(body, 0);
  for (let i = 0; i < payloads.length; i++) {
    if (i > 0) body[pos++] = COMMA;
    pos += (payloads[i] as Buffer).copy(body, pos);
  }
  SUFFIX.copy(body, pos);
  return body;
}

/** The delay before retry number `attempt` (0-based): exponential, jittered into [d/2, d]. */
export function backoffDelay(
  attempt: number,
  initialMs: number,
  maxMs: number,
  random = Math.random,
): number {
  const d = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(d / 2 + random() * (d / 2));
}

interface Answer {
  status: number;
  text: string;
  retryAfterMs?: number;
}

type PartResult = 'ok' | 'split' | 'stopped';

function message(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as Error & { cause?: unknown }).cause;
  return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
}

/** The hub's reason from a `{"error":"…"}` body, else the start of the body. */
function reason(text: string): string {
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v === 'object' && v !== null && typeof (v as { error?: unknown }).error === 'string')
      return (v as { error: string }).error;
  } catch {
    // Not JSON.
  }
  return text.slice(0, 200);
}

class HttpShipper implements Shipper {
  private readonly spool: Spool;
  private readonly url: URL;
  private readonly lib: typeof http | typeof https;
  /** Keep-alive: one connection reused for every batch. */
  private readonly agent: http.Agent;
  private readonly auth: string;
  private readonly maxAlerts: number;
  private readonly maxBytes: number;
  private readonly timeoutMs: number;
  private readonly backoffInitialMs: number;
  private readonly backoffMaxMs: number;
  private readonly log: (message: string) => void;

  private shipped = 0;
  private duplicates = 0;
  private batches = 0;
  private retries = 0;
  private readonly dropped: Record<string, number> = {};
  private lastError: string | undefined;
  private lastSuccessTime: number | undefined;

  private stopping = false;
  private readonly abort = new AbortController();
  private wakeStop: () => void = () => undefined;
  private readonly stopped: Promise<void>;
  private readonly loop: Promise<void>;

  constructor(options: ShipperOptions) {
    this.spool = options.spool;
    this.url = new URL(`${options.hubUrl.replace(/\/+$/, '')}/v1/alerts`);
    if (this.url.protocol !== 'http:' && this.url.protocol !== 'https:')
      throw new RangeError(`hub URL ${JSON.stringify(options.hubUrl)} must start with http:// or https://`);
    this.lib = this.url.protocol === 'https:' ? https : http;
    this.agent =
      this.url.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, ...(options.ca ? { ca: options.ca } : {}) })
        : new http.Agent({ keepAlive: true });
    this.auth = `Bearer ${options.token}`;
    this.maxAlerts = options.maxBatchAlerts ?? DEFAULTS.maxBatchAlerts;
    this.maxBytes = options.maxBatchBytes ?? DEFAULTS.maxBatchBytes;
    this.timeoutMs = options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs;
    this.backoffInitialMs = options.backoffInitialMs ?? DEFAULTS.backoffInitialMs;
    this.backoffMaxMs = options.backoffMaxMs ?? DEFAULTS.backoffMaxMs;
    this.log = options.onLog ?? (() => undefined);
    this.stopped = new Promise((resolve) => (this.wakeStop = resolve));
    this.loop = this.run().catch((err: unknown) => {
      // A bug or a spool I/O failure: report it; the data stays in the spool.
      this.lastError = `shipper stopped: ${message(err)}`;
      this.log(this.lastError);
    });
  }

  stats(): ShipperStats {
    const s = this.spool.stats();
    const dropped = { ...s.dropped };
    for (const [k, v] of Object.entries(this.dropped)) dropped[k] = (dropped[k] ?? 0) + v;
    const out: ShipperStats = {
      ...s,
      dropped,
      shipped: this.shipped,
      duplicates: this.duplicates,
      batches: this.batches,
      retries: this.retries,
    };
    const lastError = this.lastError ?? s.lastError;
    if (lastError !== undefined) out.lastError = lastError;
    else delete out.lastError;
    if (this.lastSuccessTime !== undefined) out.lastSuccessTime = this.lastSuccessTime;
    return out;
  }

  async close(options: { drainTimeoutMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + (options.drainTimeoutMs ?? 5000);
    while (
      !this.stopping &&
      !this.spool.isClosed &&
      this.spool.stats().pendingBytes > 0 &&
      Date.now() < deadline
    ) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    this.stopping = true;
    this.wakeStop();
    this.abort.abort();
    await this.loop;
    this.agent.destroy();
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const batch = this.spool.read(this.maxAlerts, this.maxBytes);
      if (!batch) {
        // A spool closed under a running shipper: nothing more can be read.
        if (this.spool.isClosed) return;
        await Promise.race([this.spool.waitForData(), this.stopped]);
        continue;
      }
      if (batch.payloads.length > 0 && !(await this.deliver(batch))) {
        // Stopped mid-batch: the next start sends it again from the cursor.
        this.spool.rewind();
        return;
      }
      // Closed while the request was in flight: the cursor stays where it was (sent again next start).
      if (this.spool.isClosed) return;
      this.spool.commit(batch);
    }
  }

  /** Sends a batch until every alert in it is acknowledged or skipped; false when stopped first. */
  private async deliver(batch: SpoolBatch): Promise<boolean> {
    const parts: Buffer[][] = [batch.payloads];
    while (parts.length > 0) {
      const part = parts[0] as Buffer[];
      const r = await this.sendPart(part);
      if (r === 'stopped') return false;
      parts.shift();
      if (r === 'split') {
        const half = Math.ceil(part.length / 2);
        parts.unshift(part.slice(0, half), part.slice(half));
      }
    }
    return true;
  }

  private async sendPart(part: Buffer[]): Promise<PartResult> {
    const body = buildAlertsBody(part);
    for (let attempt = 0; ; attempt++) {
      if (this.stopping) return 'stopped';
      let answer: Answer;
      try {
        answer = await this.post(body);
      } catch (err) {
        if (this.stopping) return 'stopped';
        this.fail(`POST ${this.url}: ${message(err)}`);
        await this.sleep(backoffDelay(attempt, this.backoffInitialMs, this.backoffMaxMs));
        continue;
      }
      const { status } = answer;
      if (status >= 200 && status < 300) {
        this.acknowledged(part.length, answer.text);
        return 'ok';
      }
      if (status === 400 || status === 413) {
        const why = reason(answer.text);
        if (part.length > 1) {
          this.log(`hub refused a batch of ${part.length} alerts (${status}: ${why}); splitting it`);
          return 'split';
        }
        const kind = status === 400 ? 'rejected' : 'too_large';
        this.dropped[kind] = (this.dropped[kind] ?? 0) + 1;
        this.lastError = `hub refused an alert (${status}: ${why}); skipped it`;
        this.log(this.lastError);
        return 'ok';
      }
      this.fail(`POST ${this.url}: ${status} ${reason(answer.text)}`);
      const delay = backoffDelay(attempt, this.backoffInitialMs, this.backoffMaxMs);
      await this.sleep(Math.max(delay, Math.min(answer.retryAfterMs ?? 0, 5 * 60_000)));
    }
  }

  private acknowledged(count: number, text: string): void {
    this.shipped += count;
    this.batches++;
    this.lastSuccessTime = Date.now();
    try {
      const v = JSON.parse(text) as { duplicates?: unknown };
      if (typeof v.duplicates === 'number') this.duplicates += v.duplicates;
    } catch {
      // The count is informational.
    }
  }

  private fail(what: string): void {
    this.retries++;
    this.lastError = what;
    this.log(`${what}; retrying`);
  }

  /** One POST; resolves with any HTTP answer, rejects on transport failures and timeouts. */
  private post(body: Buffer): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = this.lib.request(
        this.url,
        {
          method: 'POST',
          agent: this.agent,
          headers: {
            authorization: this.auth,
            'content-type': 'application/json',
            'content-length': String(body.length),
          },
          signal: this.abort.signal,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const answer: Answer = {
              status: res.statusCode ?? 0,
              text: Buffer.concat(chunks).toString('utf8'),
            };
            const ra = Number(res.headers['retry-after']);
            if (Number.isFinite(ra) && ra > 0) answer.retryAfterMs = ra * 1000;
            resolve(answer);
          });
        },
      );
      req.setTimeout(this.timeoutMs, () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  private async sleep(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise((resolve) => (timer = setTimeout(resolve, ms))), this.stopped]);
    clearTimeout(timer);
  }
}

/**
 * Starts shipping the spool's records to the hub in the background (until `close`). One shipper per
 * spool.
 */
export function startShipper(options: ShipperOptions): Shipper {
  return new HttpShipper(options);
}

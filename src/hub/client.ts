/**
 * A client of the hub API (`vigil alerts`, tests, tools): batch posting, paged queries, and `follow`,
 * which polls for new alerts.
 *
 * Built on node:http / node:https with a keep-alive agent (one connection reused across polls and
 * batches) so a private CA can be given for TLS. Errors say what failed in words a user can act on:
 * "is the hub running at URL?", "token rejected".
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { AlertFilter, AlertPage, AlertQuery, InsertResult, StoredAlert } from '../store/store.js';
import { alertQueryToParams } from './query-params.js';
import type { RuleInfo } from './server.js';
import { alertFromWire, alertToWire, type WireAlert } from './wire.js';

/** Options of {@link HubClient}. */
export interface HubClientOptions {
  /** Base URL, e.g. `http://127.0.0.1:7878` or `https://hub.example:7878`. */
  url: string;
  /** Bearer token (omit for a hub without authentication). */
  token?: string;
  /** PEM of a CA to trust (for a hub with a self-signed certificate). */
  ca?: string;
  /** Per-request timeout, ms (default 30 000). */
  timeoutMs?: number;
}

/** A failed hub call. `status` is the HTTP status when the hub answered. */
export class HubError extends Error {
  override readonly name = 'HubError';
  constructor(
    message: string,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** Options of {@link HubClient.follow}. */
export interface FollowOptions {
  /** Earliest event time to report (ns). Default: the filter's `since`, else now. */
  from?: bigint;
  /** Alerts already shown (e.g. by an initial query): not reported again. */
  skip?: Iterable<{ id: string; time: bigint }>;
  /** Poll interval, ms (default 1 000). */
  intervalMs?: number;
  /**
   * How far back each poll looks behind the newest alert seen, ns (default 5 minutes), so alerts that
   * reach the hub late (an agent's spool catching up) are still reported once.
   */
  lookbackNs?: bigint;
  /** Stops following; `follow` then resolves. */
  signal?: AbortSignal;
  /** Called for a failed poll; polling goes on. Without it, the first failure rejects `follow`. */
  onError?: (e: HubError) => void;
}

/** Rows per page while following. */
const FOLLOW_PAGE = 1000;

/** A client of one hub. Call {@link HubClient.close} to release its keep-alive connections. */
export class HubClient {
  readonly url: string;
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;
  private readonly ca: string | undefined;

  constructor(opts: HubClientOptions) {
    this.url = opts.url.replace(/\/+$/, '');
    try {
      this.base = new URL(this.url);
    } catch {
      throw new HubError(`hub URL ${JSON.stringify(opts.url)} is not a URL (e.g. http://127.0.0.1:7878)`);
    }
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:')
      throw new HubError(`hub URL ${JSON.stringify(opts.url)} must start with http:// or https://`);
    this.token = opts.token;
    this.ca = opts.ca;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.agent =
      this.base.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, ...(opts.ca ? { ca: opts.ca } : {}) })
        : new http.Agent({ keepAlive: true });
  }

  /** Stores a batch (idempotent by alert id). */
  postAlerts(batch: readonly StoredAlert[]): Promise<InsertResult> {
    return this.postWireAlerts(batch.map(alertToWire));
  }

  /** Stores a batch already in wire form. */
  async postWireAlerts(batch: readonly WireAlert[]): Promise<InsertResult> {
    const body = await this.request('POST', '/v1/alerts', JSON.stringify({ alerts: batch }));
    const r = body as Partial<InsertResult>;
    if (typeof r.inserted !== 'number' || typeof r.duplicates !== 'number')
      throw new HubError(`hub at ${this.url}: unexpected answer to POST /v1/alerts: ${JSON.stringify(body)}`);
    return { inserted: r.inserted, duplicates: r.duplicates };
  }

  /** One page of alerts, newest first. */
  async queryAlerts(query: AlertQuery = {}): Promise<AlertPage> {
    const qs = alertQueryToParams(query).toString();
    const body = (await this.request('GET', `/v1/alerts${qs ? `?${qs}` : ''}`)) as {
      alerts?: unknown;
      next_cursor?: unknown;
    };
    if (!Array.isArray(body.alerts))
      throw new HubError(`hub at ${this.url}: unexpected answer to GET /v1/alerts (no alerts list)`);
    const alerts = body.alerts.map((a, i) => alertFromWire(a, `alerts[${i}]`));
    return typeof body.next_cursor === 'string' ? { alerts, nextCursor: body.next_cursor } : { alerts };
  }

  /** The hub's loaded rules. */
  async rules(): Promise<RuleInfo[]> {
    const body = (await this.request('GET', '/v1/rules')) as { rules?: RuleInfo[] };
    return body.rules ?? [];
  }

  /** Whether `/healthz` answers ok. */
  async healthy(): Promise<boolean> {
    try {
      const body = (await this.request('GET', '/healthz')) as { status?: string };
      return body.status === 'ok';
    } catch {
      return false;
    }
  }

  /**
   * Reports new alerts matching `filter` as they reach the hub, oldest first, each once, until
   * `opts.signal` aborts. Polls every `intervalMs`, looking `lookbackNs` behind the newest alert seen.
   */
  async follow(
    filter: AlertFilter,
    onAlert: (a: StoredAlert) => void,
    opts: FollowOptions = {},
  ): Promise<void> {
    const interval = opts.intervalMs ?? 1000;
    const lookback = opts.lookbackNs ?? 300_000_000_000n;
    const signal = opts.signal;
    // id → event time of every alert reported within the lookback window.
    const seen = new Map<string, bigint>();
    const from = opts.from ?? filter.since ?? BigInt(Date.now()) * 1_000_000n;
    let newest = from;
    for (const a of opts.skip ?? []) {
      seen.set(a.id, a.time);
      if (a.time > newest) newest = a.time;
    }
    const windowStart = () => (newest - lookback > from ? newest - lookback : from);
    while (!signal?.aborted) {
      try {
        const since = windowStart();
        const fresh: StoredAlert[] = [];
        let cursor: string | undefined;
        do {
          const page = await this.queryAlerts({
            ...filter,
            since,
            limit: FOLLOW_PAGE,
            ...(cursor ? { cursor } : {}),
          });
          for (const a of page.alerts) if (!seen.has(a.id)) fresh.push(a);
          cursor = page.nextCursor;
        } while (cursor !== undefined && !signal?.aborted);
        fresh.sort((a, b) =>
          a.time < b.time ? -1 : a.time > b.time ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
        );
        for (const a of fresh) {
          seen.set(a.id, a.time);
          if (a.time > newest) newest = a.time;
          onAlert(a);
        }
        // Ids older than the next window can never come back: forget them.
        const next = windowStart();
        if (next > since) for (const [id, t] of seen) if (t < next) seen.delete(id);
      } catch (e) {
        const err = e instanceof HubError ? e : new HubError(e instanceof Error ? e.message : String(e));
        if (!opts.onError) throw err;
        opts.onError(err);
      }
      if (signal?.aborted) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, interval);
        function done() {
          clearTimeout(t);
          signal?.removeEventListener('abort', done);
          resolve();
        }
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  /** One JSON request; resolves with the parsed body of a 2xx answer. */
  private request(method: string, path: string, body?: string): Promise<unknown> {
    const target = new URL(this.base.pathname.replace(/\/$/, '') + path, this.base);
    const lib = target.protocol === 'https:' ? https : http;
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (this.token !== undefined && this.token !== '') headers['Authorization'] = `Bearer ${this.token}`;
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(body));
    }
    const what = `${method} ${target.pathname}`;
    return new Promise((resolve, reject) => {
      const req = lib.request(
        target,
        { method, headers, agent: this.agent, ...(this.ca ? { ca: this.ca } : {}) },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (e) => reject(this.transportError(e, what)));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            let parsed: unknown;
            try {
              parsed = text === '' ? undefined : JSON.parse(text);
            } catch {
              parsed = undefined;
            }
            if (status >= 200 && status < 300) {
              if (parsed === undefined)
                reject(
                  new HubError(`hub at ${this.url}: ${what} answered with a body that is not JSON`, status),
                );
              else resolve(parsed);
              return;
            }
            const msg =
              typeof parsed === 'object' &&
              parsed !== null &&
              typeof (parsed as { error?: unknown }).error === 'string'
                ? (parsed as { error: string }).error
                : text.slice(0, 200);
            reject(this.statusError(status, msg, what));
          });
        },
      );
      req.setTimeout(this.timeoutMs, () =>
        req.destroy(Object.assign(new Error(`no answer within ${this.timeoutMs} ms`), { code: 'ETIMEDOUT' })),
      );
      req.on('error', (e) => reject(this.transportError(e, what)));
      req.end(body);
    });
  }

  private statusError(status: number, msg: string, what: string): HubError {
    if (status === 401) {
      const hint =
        this.token === undefined || this.token === ''
          ? 'the hub requires a token (set VIGIL_TOKEN or pass --token)'
          : 'token rejected (check VIGIL_TOKEN / --token against the hub’s tokens)';
      return new HubError(`hub at ${this.url}: ${hint}`, status);
    }
    if (status === 404)
      return new HubError(`hub at ${this.url}: ${what}: not found (is this URL a Vigil hub?)`, status);
    return new HubError(`hub at ${this.url}: ${what} failed with HTTP ${status}: ${msg}`, status);
  }

  private transportError(e: Error, what: string): HubError {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    switch (code) {
      case 'ECONNREFUSED':
        return new HubError(
          `cannot connect to ${this.url} (connection refused): is the hub running at ${this.url}?`,
          undefined,
          code,
        );
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return new HubError(
          `cannot resolve the host of ${this.url} (${code}): check the hub URL`,
          undefined,
          code,
        );
      case 'ETIMEDOUT':
        return new HubError(`hub at ${this.url}: ${what}: ${e.message}`, undefined, code);
      case 'ECONNRESET':
      case 'EPIPE':
        return new HubError(
          `hub at ${this.url} closed the connection during ${what} (${code})`,
          undefined,
          code,
        );
      case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      case 'SELF_SIGNED_CERT_IN_CHAIN':
      case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
      case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
      case 'ERR_TLS_CERT_ALTNAME_INVALID':
      case 'CERT_HAS_EXPIRED':
        return new HubError(
          `TLS to ${this.url} failed: ${e.message} (${code}); for a private CA pass its certificate (--ca / VIGIL_HUB_CA)`,
          undefined,
          code,
        );
      default:
        if (code === 'EPROTO' || /wrong version number|packet length too long/i.test(e.message))
          return new HubError(
            `TLS to ${this.url} failed: ${e.message} (does the hub serve plain http? check the URL scheme)`,
            undefined,
            code,
          );
        return new HubError(`hub at ${this.url}: ${what} failed: ${e.message}`, undefined, code);
    }
  }
}

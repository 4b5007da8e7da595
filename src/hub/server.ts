/**
 * The hub's HTTP API on node:http / node:https: batch ingest from agents, alert queries, loaded rules,
 * health and Prometheus metrics. See docs/hub.md for the reference.
 *
 * Ingest is the hot path: a request's body chunks are handed to the ingest thread as the socket gave
 * them (moved, not copied), which parses each alert, checks it and encodes it for the store
 * (batch-decode.ts), and stored with one `insertRows` call (one transaction, or one share of a group
 * commit). Metrics are updated per request, never per alert.
 *
 * Authentication: `Authorization: Bearer <token>` on every route but `/healthz`. Tokens are compared
 * as SHA-256 digests with `timingSafeEqual`, against every configured token without stopping at a
 * match, so neither a token's length nor its prefix leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { parsePriority, priorityLabel } from '../engine/rules/index.js';
import { CONTENT_TYPE as METRICS_CONTENT_TYPE, MetricsRegistry } from '../metrics/registry.js';
import { StoreQueryError, type Store } from '../store/store.js';
import { parseAlertQuery, QueryParamError } from './query-params.js';
import { nowNs } from './time-param.js';
import { alertToWire } from './wire.js';
import { inlineBatchDecoder, startIngestThread } from './ingest-decoder.js';
import { DEFAULT_MAX_BATCH_ALERTS, DEFAULT_MAX_BODY_BYTES } from './limits.js';

/** One rule as `GET /v1/rules` reports it (the detector's `rules()` returns these). */
export interface RuleInfo {
  name: string;
  source: string;
  /** Priority name; sent as Falco prints it (`Warning`). */
  priority: string;
  enabled: boolean;
  tags: string[];
  /** Alerts raised since the rule set was loaded. */
  hits: number;
}

/** Options of {@link startHub}. */
export interface HubOptions {
  /** Where alerts are stored and read. The hub does not close it. */
  store: Store;
  /** Address to listen on; port 0 picks a free port (see {@link Hub.url}). */
  listen: { host: string; port: number };
  /**
   * Accepted bearer tokens. An empty list turns authentication off (every route is open); the CLI
   * allows that on loopback only.
   */
  tokens: readonly string[];
  /** Serve HTTPS: certificate chain and private key, each a PEM file path or PEM text. */
  tls?: { cert: string; key: string };
  /** The loaded rules for `GET /v1/rules` (none: an empty list). */
  rules?: () => readonly RuleInfo[];
  /** Registry to expose on `/metrics`; the hub adds its own `vigil_hub_*` metrics to it. Default: a new one. */
  metrics?: MetricsRegistry;
  /** Largest accepted request body (default {@link DEFAULT_MAX_BODY_BYTES}). */
  maxBodyBytes?: number;
  /** Most alerts in one `POST /v1/alerts` (default {@link DEFAULT_MAX_BATCH_ALERTS}). */
  maxBatchAlerts?: number;
  /**
   * Decode ingest bodies in a thread of their own (default true): the event loop stays free for
   * queries, and the thread's larger young generation makes parsing cheaper. False decodes inline.
   */
  ingestThread?: boolean;
  /** Time allowed to receive a whole request, ms (default 30 000). */
  requestTimeoutMs?: number;
  /** How long an idle keep-alive connection stays open, ms (default 5 000). */
  keepAliveTimeoutMs?: number;
  /** Server-side failures (store errors, provider errors), for the operator's log. */
  onError?: (message: string) => void;
}

/** A running hub. */
export interface Hub {
  /** Base URL, e.g. `http://127.0.0.1:7878` (the real port when 0 was asked). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The registry `/metrics` exposes. */
  readonly metrics: MetricsRegistry;
  /**
   * Stops accepting connections, lets in-flight requests finish (up to `graceMs`, default 10 s, after
   * which their connections are cut), and resolves when the server is closed. Idempotent.
   */
  close(graceMs?: number): Promise<void>;
}

export { DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_BATCH_ALERTS };
/** Bytes of an oversized body read and discarded so the client sees the 413 before the connection closes. */
const MAX_DISCARD_BYTES = 64 * 1024 * 1024;

type Route = '/v1/alerts' | '/v1/rules' | '/healthz' | '/metrics' | 'other';

const ROUTES: Record<string, { route: Route; methods: readonly string[] }> = {
  '/v1/alerts': { route: '/v1/alerts', methods: ['GET', 'POST'] },
  '/v1/rules': { route: '/v1/rules', methods: ['GET'] },
  '/healthz': { route: '/healthz', methods: ['GET'] },
  '/metrics': { route: '/metrics', methods: ['GET'] },
};

/** A response decided by a handler: status, JSON (or text) body, extra headers. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function pem(v: string): string {
  return v.includes('-----BEGIN') ? v : readFileSync(v, 'utf8');
}

function digest(s: string | Buffer): Buffer {
  return createHash('sha256').update(s).digest();
}

/** The hub's own instruments. */
function hubMetrics(r: MetricsRegistry) {
  return {
    requests: r.counter('vigil_hub_requests_total', 'HTTP requests by route, method and status code.', [
      'route',
      'method',
      'code',
    ]),
    duration: r.histogram('vigil_hub_request_duration_seconds', 'HTTP request latency (whole request).', [
      'route',
    ]),
    inFlight: r.gauge('vigil_hub_requests_in_flight', 'HTTP requests being served.'),
    ingested: r.counter(
      'vigil_hub_ingest_alerts_total',
      'Alerts received by POST /v1/alerts, by result: inserted (new) or duplicate (id already stored).',
      ['result'],
    ),
    batches: r.counter('vigil_hub_ingest_batches_total', 'Accepted POST /v1/alerts batches.'),
    rejected: r.counter(
      'vigil_hub_ingest_rejected_total',
      'POST /v1/alerts requests refused before storing, by reason.',
      ['reason'],
    ),
    storeLatency: r.histogram('vigil_hub_store_duration_seconds', 'Store call latency by operation.', ['op']),
    authFailures: r.counter(
      'vigil_hub_auth_failures_total',
      'Requests refused for a missing or wrong token.',
    ),
    bodyBytes: r.counter(
      'vigil_hub_ingest_bytes_total',
      'Request body bytes of accepted POST /v1/alerts batches.',
    ),
  };
}

/**
 * Starts the hub and resolves once it listens.
 * @throws when the address cannot be bound or the TLS files cannot be read.
 */
export async function startHub(opts: HubOptions): Promise<Hub> {
  const store = opts.store;
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxBatch = opts.maxBatchAlerts ?? DEFAULT_MAX_BATCH_ALERTS;
  const registry = opts.metrics ?? new MetricsRegistry();
  const m = hubMetrics(registry);
  const insertTimer = m.storeLatency.labels('insert');
  const queryTimer = m.storeLatency.labels('query');
  const inserted = m.ingested.labels('inserted');
  const duplicates = m.ingested.labels('duplicate');
  const tokenDigests = opts.tokens.map((t) => digest(t));
  // The store's writer thread, when it has one, takes rows from the ingest thread directly.
  const rowPort = opts.ingestThread === false ? undefined : store.openRowPort?.();
  const decoder =
    opts.ingestThread === false ? inlineBatchDecoder(maxBatch) : startIngestThread(maxBatch, rowPort);
  const authOn = tokenDigests.length > 0;
  const onError = opts.onError ?? (() => {});

  function authorized(req: http.IncomingMessage): void {
    if (!authOn) return;
    const h = req.headers.authorization;
    const challenge = { 'WWW-Authenticate': 'Bearer realm="vigil"' };
    if (h === undefined || !/^Bearer\s+\S/i.test(h)) {
      m.authFailures.inc();
      throw new HttpError(401, 'missing bearer token (send Authorization: Bearer <token>)', challenge);
    }
    const presented = digest(h.replace(/^Bearer\s+/i, '').trim());
    let ok = false;
    // Every token is compared, so the time taken does not depend on which one matched.
    for (const d of tokenDigests) ok = timingSafeEqual(presented, d) || ok;
    if (!ok) {
      m.authFailures.inc();
      throw new HttpError(401, 'token rejected', {
        ...challenge,
        'WWW-Authenticate': 'Bearer realm="vigil", error="invalid_token"',
      });
    }
  }

  /**
   * Reads the whole body as the chunks the socket gave (not concatenated: the ingest thread takes
   * them over as they are), or throws 413 after discarding (a bounded amount of) the rest.
   */
  function readBody(req: http.IncomingMessage): Promise<{ chunks: Buffer[]; size: number }> {
    const declared = Number(req.headers['content-length'] ?? NaN);
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let tooLarge = declared > maxBody;
      let discarded = 0;
      const fail413 = () =>
        new HttpError(413, `request body exceeds ${maxBody} bytes; send smaller batches`, {
          Connection: 'close',
        });
      if (tooLarge && declared > MAX_DISCARD_BYTES) {
        reject(fail413());
        return;
      }
      req.on('data', (c: Buffer) => {
        if (tooLarge) {
          discarded += c.length;
          if (discarded > MAX_DISCARD_BYTES) {
            req.removeAllListeners('data');
            reject(fail413());
          }
          return;
        }
        size += c.length;
        if (size > maxBody) {
          tooLarge = true;
          chunks.length = 0;
          return;
        }
        chunks.push(c);
      });
      req.on('end', () => (tooLarge ? reject(fail413()) : resolve({ chunks, size })));
      req.on('error', reject);
    });
  }

  function requireJson(req: http.IncomingMessage): void {
    const ct = req.headers['content-type'];
    const type = ct?.split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/json') {
      m.rejected.labels('unsupported_media_type').inc();
      throw new HttpError(
        415,
        `Content-Type must be application/json (got ${ct === undefined ? 'none' : JSON.stringify(ct)})`,
      );
    }
    const enc = req.headers['content-encoding'];
    if (enc !== undefined && enc.toLowerCase() !== 'identity') {
      m.rejected.labels('unsupported_media_type').inc();
      throw new HttpError(
        415,
        `Content-Encoding ${JSON.stringify(enc)} is not supported; send the body uncompressed`,
      );
    }
  }

  async function postAlerts(req: http.IncomingMessage): Promise<unknown> {
    requireJson(req);
    let body: { chunks: Buffer[]; size: number };
    try {
      body = await readBody(req);
    } catch (e) {
      if (e instanceof HttpError && e.status === 413) m.rejected.labels('too_large').inc();
      throw e;
    }
    const bodyBytes = body.size;
    // Parsed, checked and encoded in the ingest thread (the chunks are handed over, not copied);
    // with a SQLite store also written from there: its store latency is then decode + write.
    const stopDirect = insertTimer.startTimer();
    const decoded = await decoder.decode(body.chunks, body.size);
    if (!decoded.ok) {
      m.rejected.labels(decoded.reason).inc();
      throw new HttpError(decoded.status, decoded.message);
    }
    let res;
    if ('stored' in decoded) {
      stopDirect();
      res = decoded.stored;
    } else {
      const stop = insertTimer.startTimer();
      try {
        res = await store.insertRows(decoded.rows);
      } catch (e) {
        if (e instanceof StoreQueryError) {
          m.rejected.labels('invalid').inc();
          throw new HttpError(400, e.message);
        }
        throw e;
      } finally {
        stop();
      }
    }
    inserted.inc(res.inserted);
    duplicates.inc(res.duplicates);
    m.batches.inc();
    m.bodyBytes.inc(bodyBytes);
    return { inserted: res.inserted, duplicates: res.duplicates };
  }

  async function getAlerts(url: URL): Promise<unknown> {
    let query;
    try {
      query = parseAlertQuery(url.searchParams, nowNs());
    } catch (e) {
      if (e instanceof QueryParamError) throw new HttpError(400, e.message);
      throw e;
    }
    const stop = queryTimer.startTimer();
    let page;
    try {
      page = await store.queryAlerts(query);
    } catch (e) {
      if (e instanceof StoreQueryError) throw new HttpError(400, e.message);
      throw e;
    } finally {
      stop();
    }
    return { alerts: page.alerts.map(alertToWire), next_cursor: page.nextCursor ?? null };
  }

  function getRules(): unknown {
    const rules = opts.rules ? opts.rules() : [];
    return {
      rules: rules.map((r) => {
        const p = parsePriority(r.priority);
        return {
          name: r.name,
          source: r.source,
          priority: p === undefined ? r.priority : priorityLabel(p),
          enabled: r.enabled,
          tags: r.tags,
          hits: r.hits,
        };
      }),
    };
  }

  function send(
    res: http.ServerResponse,
    status: number,
    body: string,
    contentType: string,
    headers: Record<string, string> = {},
  ): void {
    res.writeHead(status, {
      'Content-Type': contentType,
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
      ...(stopping ? { Connection: 'close' } : {}),
      ...headers,
    });
    res.end(body);
  }

  /** Set by close(): responses then carry Connection: close so their connections end with them. */
  let stopping = false;

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const t0 = process.hrtime.bigint();
    m.inFlight.inc();
    const method = req.method ?? 'GET';
    let route: Route = 'other';
    let status = 500;
    try {
      const url = new URL(req.url ?? '/', 'http://hub');
      const entry = ROUTES[url.pathname];
      if (entry === undefined) throw new HttpError(404, `no such endpoint: ${url.pathname}`);
      route = entry.route;
      if (!entry.methods.includes(method))
        throw new HttpError(405, `${method} is not allowed on ${url.pathname}`, {
          Allow: entry.methods.join(', '),
        });
      if (route !== '/healthz') authorized(req);
      let body: unknown;
      switch (route) {
        case '/healthz':
          body = { status: 'ok' };
          break;
        case '/metrics':
          status = 200;
          send(res, 200, registry.expose(), METRICS_CONTENT_TYPE);
          return;
        case '/v1/rules':
          body = getRules();
          break;
        case '/v1/alerts':
          body = method === 'POST' ? await postAlerts(req) : await getAlerts(url);
          break;
        case 'other':
          throw new HttpError(404, `no such endpoint: ${url.pathname}`);
      }
      status = 200;
      send(res, 200, JSON.stringify(body), 'application/json');
    } catch (e) {
      let message: string;
      let headers: Record<string, string> = {};
      if (e instanceof HttpError) {
        status = e.status;
        message = e.message;
        headers = e.headers;
      } else {
        status = 500;
        message = `internal error: ${e instanceof Error ? e.message : String(e)}`;
        onError(`${method} ${req.url ?? ''}: ${message}`);
      }
      if (!res.headersSent) {
        // An unread request body would be taken as the next request; close the connection instead.
        if (!req.complete) headers = { ...headers, Connection: 'close' };
        send(res, status, JSON.stringify({ error: message }), 'application/json', headers);
      } else {
        res.destroy();
      }
    } finally {
      m.requests.labels(route, method, String(status)).inc();
      m.duration.labels(route).observe(Number(process.hrtime.bigint() - t0) / 1e9);
      m.inFlight.dec();
    }
  }

  const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
    void handle(req, res);
  };
  const server: http.Server = opts.tls
    ? https.createServer({ cert: pem(opts.tls.cert), key: pem(opts.tls.key) }, listener)
    : http.createServer(listener);
  server.requestTimeout = opts.requestTimeoutMs ?? 30_000;
  server.headersTimeout = Math.min(server.requestTimeout, 10_000);
  server.keepAliveTimeout = opts.keepAliveTimeoutMs ?? 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => {
      void decoder.close();
      reject(e);
    });
    server.listen(opts.listen.port, opts.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (e) => onError(`server: ${e.message}`));

  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' || addr.address.includes(':') ? `[${addr.address}]` : addr.address;
  const url = `${opts.tls ? 'https' : 'http'}://${host}:${addr.port}`;

  let closing: Promise<void> | undefined;
  function close(graceMs = 10_000): Promise<void> {
    closing ??= new Promise<void>((resolve) => {
      stopping = true;
      // close() waits for every connection: idle keep-alive ones are closed now, busy ones after their
      // response (sent with Connection: close), stragglers at the deadline.
      server.close(() => {
        clearTimeout(timer);
        void decoder.close().then(resolve, resolve);
      });
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      timer.unref();
    });
    return closing;
  }

  return { url, host: addr.address, port: addr.port, metrics: registry, close };
}

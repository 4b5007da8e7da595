/**
 * `GET /v1/alerts` query parameters ↔ {@link AlertQuery}: the server parses them, the client writes them,
 * both from this one table of names so they cannot drift apart.
 *
 * Repeated parameters are alternatives (`rule=A&rule=B` selects either); `priority` is a minimum, and
 * when repeated the least severe one applies (the OR of "at least X" and "at least Y").
 */
import { parsePriority, priorityLabel, priorityRank } from '../engine/rules/index.js';
import type { Priority } from '../engine/rules/index.js';
import { MAX_QUERY_LIMIT, type AlertQuery } from '../store/store.js';
import { parseTimeParam, TimeParamError } from './time-param.js';

/** A query parameter the caller got wrong; the message names it and says why. */
export class QueryParamError extends Error {
  override readonly name = 'QueryParamError';
}

/** Every parameter `GET /v1/alerts` accepts. */
export const ALERT_QUERY_PARAMS = [
  'since',
  'until',
  'rule',
  'priority',
  'tag',
  'source',
  'hostname',
  'container',
  'namespace',
  'q',
  'limit',
  'cursor',
] as const;

const KNOWN = new Set<string>(ALERT_QUERY_PARAMS);
const SINGLE = ['since', 'until', 'q', 'limit', 'cursor'] as const;

/** One value, or the list when repeated. */
function oneOrMany(values: string[]): string | string[] {
  return values.length === 1 ? (values[0] as string) : values;
}

/**
 * The store query of a request's parameters.
 * @param now - the clock for relative times (`since=15m`), ns since the epoch.
 * @throws QueryParamError for unknown, repeated single-valued or malformed parameters.
 */
export function parseAlertQuery(params: URLSearchParams, now: bigint): AlertQuery {
  for (const k of params.keys()) {
    if (!KNOWN.has(k))
      throw new QueryParamError(
        `unknown query parameter ${JSON.stringify(k)} (known: ${ALERT_QUERY_PARAMS.join(', ')})`,
      );
  }
  for (const k of SINGLE) {
    if (params.getAll(k).length > 1) throw new QueryParamError(`${k}: given more than once`);
  }
  const q: AlertQuery = {};
  for (const k of ['since', 'until'] as const) {
    const v = params.get(k);
    if (v === null) continue;
    try {
      q[k] = parseTimeParam(v, now);
    } catch (e) {
      if (e instanceof TimeParamError) throw new QueryParamError(`${k}: ${e.message}`);
      throw e;
    }
  }
  const prios = params.getAll('priority');
  if (prios.length > 0) {
    let least: Priority | undefined;
    for (const p of prios) {
      const parsed = parsePriority(p);
      if (parsed === undefined)
        throw new QueryParamError(
          `priority: ${JSON.stringify(p)} is not a Falco priority (emergency, alert, critical, error, warning, notice, informational, debug)`,
        );
      if (least === undefined || priorityRank(parsed) > priorityRank(least)) least = parsed;
    }
    q.minPriority = least as Priority;
  }
  const rule = params.getAll('rule');
  if (rule.length > 0) q.rule = oneOrMany(rule);
  const tags = params.getAll('tag');
  if (tags.length > 0) q.tags = tags;
  for (const k of ['source', 'hostname', 'container', 'namespace'] as const) {
    const v = params.getAll(k);
    if (v.length > 0) q[k] = oneOrMany(v);
  }
  const text = params.get('q');
  if (text !== null && text !== '') q.text = text;
  const limit = params.get('limit');
  if (limit !== null) {
    const n = /^\d{1,9}$/.test(limit) ? Number(limit) : NaN;
    if (!(n >= 1 && n <= MAX_QUERY_LIMIT))
      throw new QueryParamError(
        `limit: must be an integer from 1 to ${MAX_QUERY_LIMIT} (got ${JSON.stringify(limit)})`,
      );
    q.limit = n;
  }
  const cursor = params.get('cursor');
  if (cursor !== null && cursor !== '') q.cursor = cursor;
  return q;
}

function addAll(p: URLSearchParams, key: string, v: string | readonly string[] | undefined): void {
  if (v === undefined) return;
  if (typeof v === 'string') p.append(key, v);
  else for (const x of v) p.append(key, x);
}

/** The query parameters of a store query (times as nanoseconds), for the client. */
export function alertQueryToParams(q: AlertQuery): URLSearchParams {
  const p = new URLSearchParams();
  if (q.since !== undefined) p.set('since', q.since.toString());
  if (q.until !== undefined) p.set('until', q.until.toString());
  addAll(p, 'rule', q.rule);
  if (q.minPriority !== undefined) p.set('priority', priorityLabel(q.minPriority));
  addAll(p, 'tag', q.tags);
  addAll(p, 'source', q.source);
  addAll(p, 'hostname', q.hostname);
  addAll(p, 'container', q.container);
  addAll(p, 'namespace', q.namespace);
  if (q.text !== undefined && q.text !== '') p.set('q', q.text);
  if (q.limit !== undefined) p.set('limit', String(q.limit));
  if (q.cursor !== undefined) p.set('cursor', q.cursor);
  return p;
}

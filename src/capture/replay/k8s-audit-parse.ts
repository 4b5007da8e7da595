/**
 * Kubernetes audit input for replay: audit.k8s.io Event objects, one JSON document per line, or an
 * EventList (what the API server's webhook backend posts). Follows the k8saudit plugin: a JSON
 * object without `auditID` is not an audit event and is counted as malformed, never evaluated.
 */
import type { K8sAuditEvent } from '../../engine/event.js';

export interface InputIssue {
  line: number;
  reason: string;
}

export type ParsedInput<E> = { events: E[]; issue?: undefined } | { events: E[]; issue: InputIssue };

/** RFC 3339 timestamp with optional fraction (up to ns) → ns since the epoch; undefined when invalid. */
export function parseRfc3339Ns(s: unknown): bigint | undefined {
  if (typeof s !== 'string') return undefined;
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(s);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  const frac = (m[2] ?? '').padEnd(9, '0');
  return BigInt(ms) * 1_000_000n + BigInt(frac);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Turn one parsed JSON value into audit events (an Event, an EventList, or an array of Events). */
export function auditEventsFromJson(
  value: unknown,
  line: number,
  nextNum: () => number,
  fallbackTs: () => bigint,
): ParsedInput<K8sAuditEvent> {
  const items: unknown[] = Array.isArray(value)
    ? value
    : isRecord(value) && value.kind === 'EventList' && Array.isArray(value.items)
      ? value.items
      : [value];
  const events: K8sAuditEvent[] = [];
  for (const item of items) {
    if (!isRecord(item)) {
      return { events, issue: { line, reason: 'not a JSON object' } };
    }
    if (typeof item.auditID !== 'string' || item.auditID === '') {
      return { events, issue: { line, reason: "data not recognized as a k8s audit event (no 'auditID')" } };
    }
    const ts =
      parseRfc3339Ns(item.stageTimestamp) ?? parseRfc3339Ns(item.requestReceivedTimestamp) ?? fallbackTs();
    events.push({ source: 'k8s_audit', num: nextNum(), ts, json: item });
  }
  return { events };
}

export function parseK8sAuditLine(
  text: string,
  line: number,
  nextNum: () => number,
  fallbackTs: () => bigint,
): ParsedInput<K8sAuditEvent> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { events: [], issue: { line, reason: `invalid JSON: ${(err as Error).message}` } };
  }
  return auditEventsFromJson(value, line, nextNum, fallbackTs);
}

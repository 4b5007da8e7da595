/**
 * Falco's alert line and JSON shapes.
 *
 * Text: `<time>: <Priority> <output>` where time is `HH:MM:SS.nnnnnnnnn` (UTC) or ISO 8601 with
 * `timeFormat: 'iso8601'`. JSON: the object Falco prints with `json_output: true` — keys sorted
 * as Falco's JSON library does, `output` holding the whole text line, `output_fields` the values of
 * every output field plus `evt.time` (ns), `time` in ISO 8601 with nanoseconds.
 */
import type { Alert } from '../engine.js';
import { priorityLabel } from '../rules/index.js';

export type TimeFormat = 'clock' | 'iso8601';

const NS_PER_SEC = 1_000_000_000n;

/** `2026-11-25T22:19:20.123456789Z` */
export function formatIsoTime(ns: bigint): string {
  const secs = ns / NS_PER_SEC;
  const frac = ns % NS_PER_SEC;
  const d = new Date(Number(secs) * 1000);
  const base = d.toISOString().slice(0, 19);
  return `${base}.${frac.toString().padStart(9, '0')}Z`;
}

/** `22:19:20.123456789` (UTC), Falco's default time prefix. */
export function formatClockTime(ns: bigint): string {
  return formatIsoTime(ns).slice(11, 29);
}

export function formatAlertText(alert: Alert, timeFormat: TimeFormat = 'clock'): string {
  const t = timeFormat === 'iso8601' ? formatIsoTime(alert.time) : formatClockTime(alert.time);
  return `${t}: ${priorityLabel(alert.priority)} ${alert.output}`;
}

export interface FalcoJsonAlert {
  hostname: string;
  output: string;
  output_fields: Record<string, unknown>;
  priority: string;
  rule: string;
  source: string;
  tags: string[];
  time: string;
}

function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k];
  return out;
}

export function toFalcoJson(alert: Alert, timeFormat: TimeFormat = 'clock'): FalcoJsonAlert {
  const fields: Record<string, unknown> = { 'evt.time': alert.time, ...alert.outputFields };
  return {
    hostname: alert.hostname,
    output: formatAlertText(alert, timeFormat),
    output_fields: sortKeys(fields),
    priority: priorityLabel(alert.priority),
    rule: alert.rule,
    source: alert.source,
    tags: [...alert.tags].sort(),
    time: formatIsoTime(alert.time),
  };
}

/** One JSON line; 64-bit integers (bigint) are written as exact JSON numbers. */
export function formatAlertJson(alert: Alert, timeFormat: TimeFormat = 'clock'): string {
  return stringifyWithBigInt(toFalcoJson(alert, timeFormat));
}

const BIGINT_MARK = '\u0000bigint:';

/** JSON.stringify that writes bigint values as plain (exact) JSON numbers. */
export function stringifyWithBigInt(value: unknown): string {
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${BIGINT_MARK}${v}` : v));
  return text.replace(/"\\u0000bigint:(-?\d+)"/g, '$1');
}

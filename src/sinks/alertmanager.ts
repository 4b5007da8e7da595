/**
 * The Alertmanager sink: batches of alerts POSTed to Alertmanager's v2 API (`POST /api/v2/alerts`).
 *
 * Each alert becomes labels `alertname` (the rule), `priority`, `rule`, `source`, `hostname`, the chosen
 * output fields (names sanitised to label names: `proc.name` → `proc_name`) and any fixed labels; the
 * annotations `summary` and `description` carry the output text. `startsAt` is the event time and
 * `endsAt` the time of sending plus the configured expiry: a Falco alert is an event, not a state, so
 * Alertmanager resolves it on its own once nothing repeats it.
 */
import type { StoredAlert } from '../store/store.js';
import { formatIsoTime } from '../engine/output/alert-format.js';
import { priorityLabel } from '../engine/rules/index.js';
import type { AlertmanagerSinkConfig } from './config.js';
import { JsonPoster } from './http.js';
import { QueuedSink, type SinkHooks } from './sink.js';

/** One alert of Alertmanager's v2 `postableAlerts` body. */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
}

/** A Prometheus label name for a field name: invalid characters become `_`, a leading digit gets `_`. */
export function sanitizeLabelName(name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

function labelValue(v: unknown): string | undefined {
  switch (typeof v) {
    case 'string':
      return v === '' ? undefined : v;
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(v);
    case 'object':
      if (v === null) return undefined;
      if (Array.isArray(v)) return v.map((x) => String(x)).join(',');
      return undefined;
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
}

/** The Alertmanager form of one alert (`nowMs`: time of sending, for `endsAt`). */
export function toPostableAlert(
  alert: StoredAlert,
  config: Pick<AlertmanagerSinkConfig, 'expiryMs' | 'labelFields' | 'labels' | 'annotations'>,
  nowMs: number,
): PostableAlert {
  const labels: Record<string, string> = {};
  for (const f of config.labelFields) {
    const v = labelValue(alert.outputFields[f]);
    if (v !== undefined) labels[sanitizeLabelName(f)] = v;
  }
  Object.assign(labels, config.labels);
  // The identifying labels win over fields and fixed labels of the same name.
  labels.alertname = alert.rule;
  labels.rule = alert.rule;
  labels.priority = priorityLabel(alert.priority);
  if (alert.source !== '') labels.source = alert.source;
  if (alert.hostname !== '') labels.hostname = alert.hostname;
  const eventMs = Number(alert.time / 1_000_000n);
  return {
    labels,
    annotations: { ...config.annotations, summary: alert.output, description: alert.output },
    startsAt: formatIsoTime(alert.time),
    // Never before startsAt, which Alertmanager rejects (an event clock ahead of ours).
    endsAt: new Date(Math.max(nowMs, eventMs) + config.expiryMs).toISOString(),
  };
}

export class AlertmanagerSink extends QueuedSink {
  private readonly poster: JsonPoster;

  constructor(
    private readonly config: AlertmanagerSinkConfig,
    hooks: SinkHooks = {},
    private readonly now: () => number = Date.now,
  ) {
    super(config.name, config, hooks);
    this.poster = new JsonPoster(alertsEndpoint(config.url), config);
  }

  protected override deliver(batch: readonly StoredAlert[], signal: AbortSignal): Promise<void> {
    const now = this.now();
    return this.poster.post(JSON.stringify(batch.map((a) => toPostableAlert(a, this.config, now))), signal);
  }

  protected override shutdown(): Promise<void> {
    this.poster.close();
    return Promise.resolve();
  }
}

/** `http://am:9093` → `http://am:9093/api/v2/alerts`; a URL already ending in the endpoint is kept. */
export function alertsEndpoint(base: string): string {
  const u = new URL(base);
  if (!u.pathname.endsWith('/api/v2/alerts')) u.pathname = `${u.pathname.replace(/\/+$/, '')}/api/v2/alerts`;
  return u.toString();
}

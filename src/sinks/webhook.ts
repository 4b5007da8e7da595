/**
 * The webhook sink: each alert POSTed as Falco's JSON alert — the body falcosidekick's `/` endpoint
 * takes (`output`, `priority`, `rule`, `time` in RFC 3339 with nanoseconds, `output_fields`, `source`,
 * `tags`, `hostname`). One alert per request, as that endpoint expects; 64-bit values stay exact.
 */
import type { StoredAlert } from '../store/store.js';
import { formatAlertJson } from '../engine/output/alert-format.js';
import type { WebhookSinkConfig } from './config.js';
import { JsonPoster } from './http.js';
import { QueuedSink, type SinkHooks } from './sink.js';

export class WebhookSink extends QueuedSink {
  private readonly poster: JsonPoster;

  constructor(
    private readonly config: WebhookSinkConfig,
    hooks: SinkHooks = {},
  ) {
    // The receiver takes one alert per request whatever batch size was configured.
    super(config.name, { ...config, batchSize: 1 }, hooks);
    this.poster = new JsonPoster(config.url, config);
  }

  protected override async deliver(batch: readonly StoredAlert[], signal: AbortSignal): Promise<void> {
    for (const alert of batch) await this.poster.post(formatAlertJson(alert, this.config.timeFormat), signal);
  }

  protected override shutdown(): Promise<void> {
    this.poster.close();
    return Promise.resolve();
  }
}

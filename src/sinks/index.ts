/**
 * Sinks: where alerts go. `createSinkSet` builds the configured sinks behind flood control;
 * `parseSinksConfig` validates their configuration. See docs/sinks.md.
 */
import type { Store } from '../store/store.js';
import type { SinkConfig, SinksConfig } from './config.js';
import { AlertmanagerSink } from './alertmanager.js';
import { FileSink } from './file.js';
import { ProgramSink } from './program.js';
import type { Sink, SinkHooks } from './sink.js';
import { SinkSet } from './sink-set.js';
import { StdoutSink } from './stdout.js';
import { StoreSink } from './store.js';
import { WebhookSink } from './webhook.js';

export type {
  AlertmanagerSinkConfig,
  CommonSinkConfig,
  FileSinkConfig,
  FloodControlConfig,
  FloodOverride,
  HttpSinkConfig,
  ProgramSinkConfig,
  SinkConfig,
  SinkKind,
  SinksConfig,
  StdoutSinkConfig,
  StoreSinkConfig,
  WebhookSinkConfig,
} from './config.js';
export { SINK_KINDS, SinksConfigError, defaultFloodControlConfig, parseSinksConfig } from './config.js';
export type { DropReason, QueueOptions, RetryPolicy, Sink, SinkHooks, SinkStats } from './sink.js';
export { DROP_REASONS, QueuedSink, RejectedError, RetryableError } from './sink.js';
export type { FloodControlStats } from './flood-control.js';
export { FloodControl, SUPPRESSED_FIELD, SUPPRESSED_SINCE_FIELD } from './flood-control.js';
export type { SinkSetOptions, SinkSetStats } from './sink-set.js';
export { SinkSet } from './sink-set.js';
export type { AlertFormat } from './lines.js';
export { AlertmanagerSink, FileSink, ProgramSink, StdoutSink, StoreSink, WebhookSink };

/** What sinks need from the app. */
export interface SinkContext extends SinkHooks {
  /** The app's store; required by `store` sinks. */
  store?: Store;
  /** Where the stdout sink writes (default 1). */
  stdoutFd?: number;
  /** Wall clock, ms (Alertmanager `endsAt`, flood windows). */
  now?: () => number;
}

/** A sink of the configured kind. Throws (a configuration error) when a `store` sink has no store. */
export function createSink(config: SinkConfig, ctx: SinkContext = {}): Sink {
  const hooks: SinkHooks = {};
  if (ctx.log) hooks.log = ctx.log;
  if (ctx.random) hooks.random = ctx.random;
  switch (config.type) {
    case 'stdout':
      return new StdoutSink(config, hooks, ctx.stdoutFd ?? 1);
    case 'file':
      return new FileSink(config, hooks);
    case 'webhook':
      return new WebhookSink(config, hooks);
    case 'alertmanager':
      return new AlertmanagerSink(config, hooks, ctx.now ?? Date.now);
    case 'program':
      return new ProgramSink(config, hooks);
    case 'store':
      if (!ctx.store)
        throw new Error(`sink ${config.name}: a store sink needs the app's store, and there is none`);
      return new StoreSink(config, ctx.store, hooks);
  }
}

/** Every configured sink behind flood control. */
export function createSinkSet(config: SinksConfig, ctx: SinkContext = {}): SinkSet {
  const sinks = config.sinks.map((c) => createSink(c, ctx));
  const options: ConstructorParameters<typeof SinkSet>[1] = { floodControl: config.floodControl };
  if (ctx.now) options.now = ctx.now;
  if (ctx.log) options.log = ctx.log;
  return new SinkSet(sinks, options);
}

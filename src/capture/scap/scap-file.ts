/**
 * Reading a scap capture file into Vigil's event model: blocks → records → state engine →
 * {@link SyscallEvent}s. This is what `vigil replay` uses for `.scap` files.
 */
import type { SyscallEvent } from '../../engine/event.js';
import { StateEngine, type StateEngineOptions } from '../state/state-engine.js';
import { openCaptureBytes } from './blocks.js';
import { readScapRecords, type ScapRecord } from './reader.js';

/** Metaevents a capture writer puts first to carry state (containers, users, groups). */
const INITIAL_STATE_EVENTS: ReadonlySet<number> = new Set([228, 272, 324, 354, 356, 358, 360]);

/** Options of {@link readScapFile}. */
export interface ReadScapFileOptions extends StateEngineOptions {
  /**
   * Treat event codes at or above this as unknown (skipped, not numbered), the way an older reader
   * behaves. Used to compare with sysdig 0.29.3, which knows codes below 352.
   */
  maxEventCode?: number;
  /** Keep at most this many warning messages in the stats (default 20). */
  maxWarnings?: number;
}

/** Counters of one read. */
export interface ScapReadStats {
  /** Blocks read (all types). */
  blocks: number;
  /** Events read (known codes). */
  events: number;
  /** Events produced (exit and single events; enter/internal ones only feed state by default). */
  emitted: number;
  /** Blocks of unknown types and events of unknown codes, skipped. */
  skipped: number;
  /** Malformed events skipped (their block was intact). */
  errors: number;
  /** First warnings, with the byte offset of their block. */
  warnings: string[];
  threads: number;
  fds: number;
  users: number;
}

/** The event stream of a capture, with its counters (filled as the stream is consumed). */
export type ScapEventStream = AsyncGenerator<SyscallEvent> & {
  readonly stats: ScapReadStats;
  readonly engine: StateEngine;
};

/**
 * Reads a scap capture (gzip-compressed or plain). Events stream one at a time; thread and fd
 * state is live, so evaluate each event before pulling the next (as Falco does). A truncated or
 * corrupt file ends the stream with a ScapFormatError naming the byte offset.
 */
export function readScapFile(path: string, options: ReadScapFileOptions = {}): ScapEventStream {
  const stats: ScapReadStats = {
    blocks: 0,
    events: 0,
    emitted: 0,
    skipped: 0,
    errors: 0,
    warnings: [],
    threads: 0,
    fds: 0,
    users: 0,
  };
  const engine = new StateEngine(options);
  const gen = streamEvents(path, options, stats, engine);
  return Object.assign(gen, { stats, engine });
}

async function* streamEvents(
  path: string,
  options: ReadScapFileOptions,
  stats: ScapReadStats,
  engine: StateEngine,
): AsyncGenerator<SyscallEvent> {
  const maxWarnings = options.maxWarnings ?? 20;
  const recordOptions =
    options.maxEventCode !== undefined
      ? { maxEventCode: options.maxEventCode, counters: stats }
      : { counters: stats };
  let bootstrapDirty = false;
  let initialState = true;
  const warn = (r: Extract<ScapRecord, { kind: 'warning' }>): void => {
    if (r.code === 'bad-event') stats.errors++;
    else stats.skipped++;
    if (stats.warnings.length < maxWarnings)
      stats.warnings.push(`${r.message} (block at byte offset ${r.offset})`);
  };
  for await (const r of readScapRecords(openCaptureBytes(path), recordOptions)) {
    switch (r.kind) {
      case 'event': {
        if (bootstrapDirty) {
          engine.finishBootstrap();
          bootstrapDirty = false;
        }
        stats.events++;
        // Container and user metaevents at the start of a capture are initial state: libsinsp
        // consumes them when it opens the file (they are numbered but not delivered).
        if (initialState && !INITIAL_STATE_EVENTS.has(r.event.type)) initialState = false;
        const ev = engine.processEvent(r.event);
        if (ev && !initialState) {
          stats.emitted++;
          yield ev;
        }
        break;
      }
      case 'thread':
        engine.addThread(r.entry);
        stats.threads++;
        bootstrapDirty = true;
        break;
      case 'fd':
        engine.addFd(r.entry);
        stats.fds++;
        break;
      case 'user':
        engine.addUser(r.entry);
        stats.users++;
        break;
      case 'group':
        engine.addGroup(r.entry);
        break;
      case 'machine':
        engine.setMachine(r.info);
        break;
      case 'warning':
        warn(r);
        break;
      case 'interface':
        engine.addInterface(r.entry);
        break;
      case 'section':
        break;
    }
  }
}

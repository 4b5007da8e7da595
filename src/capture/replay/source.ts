/**
 * Replay source: reads recorded events from files and yields them in order, counting every line
 * that cannot be used (with its line number and reason) instead of stopping.
 *
 * Input is read as a stream of lines, so large files do not need to fit in memory. A file whose
 * first line is not JSON on its own but which parses as one JSON document (a pretty-printed
 * EventList, say) is read whole. scap captures (`.scap`, or a file starting with the scap or gzip
 * magic) go through the scap reader and state engine; their reader counters join the stats, and a
 * corrupt or truncated capture ends that file (counted, with the byte offset) but not the replay.
 */
import { createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { VigilEvent } from '../../engine/event.js';
import { ScapFormatError } from '../scap/blocks.js';
import { readScapFile } from '../scap/scap-file.js';
import {
  auditEventsFromJson,
  parseK8sAuditLine,
  type InputIssue,
  type ParsedInput,
} from './k8s-audit-parse.js';
import { parseSyscallLine } from './syscall-jsonl-parse.js';

export type ReplaySource = 'syscall' | 'k8s_audit';

/** How a file is read: JSON lines (syscall or audit events) or a scap capture. */
export type ReplayFormat = 'jsonl' | 'scap';

/** The scap reader's counters, summed over the captures of a replay. */
export interface ScapReplayStats {
  /** Captures read (completely or not). */
  files: number;
  /** Events read from the captures (every direction, before the exit-only selection). */
  events: number;
  /** Events produced for the rules. */
  emitted: number;
  /** Blocks of unknown types and events of unknown codes, skipped. */
  skipped: number;
  /** Malformed events skipped (their block was intact). */
  errors: number;
  /** Captures that ended early (corrupt or truncated): the events before the damage were replayed. */
  corrupt: number;
  /** The reader's first warnings and every corrupt capture, with file and byte offset. */
  messages: string[];
}

export interface ReplayStats {
  files: number;
  lines: number;
  events: number;
  malformed: number;
  /** The first issues found (at most `maxIssues`), with file and line. */
  issues: (InputIssue & { file: string })[];
  maxIssues: number;
  scap: ScapReplayStats;
}

export function createReplayStats(maxIssues = 100): ReplayStats {
  return {
    files: 0,
    lines: 0,
    events: 0,
    malformed: 0,
    issues: [],
    maxIssues,
    scap: { files: 0, events: 0, emitted: 0, skipped: 0, errors: 0, corrupt: 0, messages: [] },
  };
}

/** First block type of a scap capture (section header 0x0A0D0D0A), as stored (little-endian). */
const SCAP_MAGIC = [0x0a, 0x0d, 0x0d, 0x0a] as const;
const GZIP_MAGIC = [0x1f, 0x8b] as const;

function startsWith(head: Uint8Array, magic: readonly number[]): boolean {
  return head.length >= magic.length && magic.every((b, i) => head[i] === b);
}

/**
 * How to read a file: `.scap` files and files starting with the scap section header or the gzip magic
 * (captures are usually gzipped) are scap captures; anything else is JSON lines.
 */
export async function detectFormat(path: string): Promise<ReplayFormat> {
  if (path.endsWith('.scap') || path.endsWith('.scap.gz')) return 'scap';
  const fh = await open(path, 'r');
  try {
    const head = new Uint8Array(4);
    const { bytesRead } = await fh.read(head, 0, 4, 0);
    const got = head.subarray(0, bytesRead);
    return startsWith(got, SCAP_MAGIC) || startsWith(got, GZIP_MAGIC) ? 'scap' : 'jsonl';
  } finally {
    await fh.close();
  }
}

type LineParser = (
  text: string,
  line: number,
  nextNum: () => number,
  fallbackTs: () => bigint,
) => ParsedInput<VigilEvent>;

const WHOLE_FILE_LIMIT = 256 * 1024 * 1024;

/**
 * Guess the source of a file: scap captures hold syscall events; in JSON lines, syscall events always
 * carry `"proc"`; audit events carry `auditID`, `kind`, `verb` or an `audit.k8s.io` apiVersion.
 * Undecided files are read as syscall input (whose parser then explains what is missing).
 */
export async function detectSource(path: string): Promise<ReplaySource> {
  if ((await detectFormat(path)) === 'scap') return 'syscall';
  const rl = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let looked = 0;
  try {
    for await (const raw of rl) {
      const line = raw.trim();
      if (!line) continue;
      if (/"proc"\s*:/.test(line)) return 'syscall';
      if (/"(auditID|verb|objectRef|requestURI)"\s*:/.test(line) || /audit\.k8s\.io/.test(line))
        return 'k8s_audit';
      if (/"kind"\s*:/.test(line)) return 'k8s_audit';
      if (++looked >= 50) break;
    }
  } finally {
    rl.close();
  }
  return 'syscall';
}

export interface ReadOptions {
  source: ReplaySource;
  stats: ReplayStats;
  /** Numbering continues across files (JSON lines; a capture keeps its own event numbers). */
  firstNum?: number;
  /** How to read the file (default: {@link detectFormat}). */
  format?: ReplayFormat;
  /**
   * scap captures: evaluate enter events too (sysdig and Falco < 0.42 did). Default false: exit events
   * only, like Falco >= 0.42.
   */
  enterEvents?: boolean;
  /** Hostname for events that do not name one (scap captures: unless their machine block does). */
  hostname?: string;
}

/** Yield the events of one file; malformed lines are recorded in `stats` and skipped. */
export async function* readReplayFile(path: string, options: ReadOptions): AsyncGenerator<VigilEvent> {
  const format = options.format ?? (await detectFormat(path));
  if (format === 'scap') {
    if (options.source !== 'syscall') throw new Error('a scap capture holds syscall events only');
    yield* readScapReplayFile(path, options);
    return;
  }
  const { stats } = options;
  stats.files++;
  let num = options.firstNum ?? stats.events + 1;
  const nextNum = (): number => num++;
  let lastTs = 0n;
  const fallbackTs = (): bigint => lastTs;
  const parse: LineParser = options.source === 'k8s_audit' ? parseK8sAuditLine : parseSyscallLine;
  const record = (issue: InputIssue): void => {
    stats.malformed++;
    if (stats.issues.length < stats.maxIssues) stats.issues.push({ ...issue, file: path });
  };

  const rl = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let lineNo = 0;
  let firstContentLine = true;
  for await (const raw of rl) {
    lineNo++;
    stats.lines++;
    const text = raw.trim();
    if (!text) continue;
    const parsed = parse(text, lineNo, nextNum, fallbackTs);
    if (
      firstContentLine &&
      parsed.issue &&
      parsed.issue.reason.startsWith('invalid JSON') &&
      (text === '{' || text === '[' || !text.endsWith('}'))
    ) {
      // Maybe one multi-line JSON document.
      const size = (await stat(path)).size;
      if (size <= WHOLE_FILE_LIMIT) {
        let whole: unknown;
        let ok = true;
        try {
          whole = JSON.parse(await readFile(path, 'utf8'));
        } catch {
          ok = false;
        }
        if (ok) {
          rl.close();
          const res =
            options.source === 'k8s_audit'
              ? auditEventsFromJson(whole, 1, nextNum, fallbackTs)
              : { events: [], issue: { line: 1, reason: 'syscall input must be one JSON event per line' } };
          for (const ev of res.events) {
            stats.events++;
            lastTs = ev.ts;
            yield ev;
          }
          if (res.issue) record(res.issue);
          return;
        }
      }
    }
    firstContentLine = false;
    for (const ev of parsed.events) {
      stats.events++;
      lastTs = ev.ts;
      yield ev;
    }
    if (parsed.issue) record(parsed.issue);
  }
}

/**
 * The events of one scap capture. The capture's state (threads, fds) is live: each event must be
 * evaluated before the next one is pulled, which a `for await` loop does. A corrupt or truncated
 * capture ends here with a message naming the byte offset; the events read before it were yielded.
 */
async function* readScapReplayFile(path: string, options: ReadOptions): AsyncGenerator<VigilEvent> {
  const { stats } = options;
  const scap = stats.scap;
  stats.files++;
  scap.files++;
  const stream = readScapFile(path, {
    enterEvents: options.enterEvents ?? false,
    ...(options.hostname !== undefined ? { hostname: options.hostname } : {}),
  });
  let damage: string | undefined;
  try {
    for await (const ev of stream) {
      stats.events++;
      yield ev;
    }
  } catch (err) {
    if (!(err instanceof ScapFormatError)) throw err;
    damage = `${path}: corrupt or truncated capture: ${err.message}; the events before it were replayed`;
  } finally {
    const st = stream.stats;
    scap.events += st.events;
    scap.emitted += st.emitted;
    scap.skipped += st.skipped;
    scap.errors += st.errors;
    for (const w of st.warnings) {
      if (scap.messages.length < stats.maxIssues) scap.messages.push(`${path}: ${w}`);
    }
    if (damage !== undefined) {
      // Always reported, whatever the number of warnings before it.
      scap.corrupt++;
      scap.messages.push(damage);
    }
  }
}

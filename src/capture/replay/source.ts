/**
 * Replay source: reads recorded events from files and yields them in order, counting every line
 * that cannot be used (with its line number and reason) instead of stopping.
 *
 * Input is read as a stream of lines, so large files do not need to fit in memory. A file whose
 * first line is not JSON on its own but which parses as one JSON document (a pretty-printed
 * EventList, say) is read whole.
 */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { VigilEvent } from '../../engine/event.js';
import {
  auditEventsFromJson,
  parseK8sAuditLine,
  type InputIssue,
  type ParsedInput,
} from './k8s-audit-parse.js';
import { parseSyscallLine } from './syscall-jsonl-parse.js';

export type ReplaySource = 'syscall' | 'k8s_audit';

export interface ReplayStats {
  files: number;
  lines: number;
  events: number;
  malformed: number;
  /** The first issues found (at most `maxIssues`), with file and line. */
  issues: (InputIssue & { file: string })[];
  maxIssues: number;
}

export function createReplayStats(maxIssues = 100): ReplayStats {
  return { files: 0, lines: 0, events: 0, malformed: 0, issues: [], maxIssues };
}

type LineParser = (
  text: string,
  line: number,
  nextNum: () => number,
  fallbackTs: () => bigint,
) => ParsedInput<VigilEvent>;

const WHOLE_FILE_LIMIT = 256 * 1024 * 1024;

/**
 * Guess the source of a file from its first lines: syscall events always carry `"proc"`; audit events
 * carry `auditID`, `kind`, `verb` or an `audit.k8s.io` apiVersion. Undecided files are read as syscall
 * input (whose parser then explains what is missing).
 */
export async function detectSource(path: string): Promise<ReplaySource> {
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
  /** Numbering continues across files. */
  firstNum?: number;
}

/** Yield the events of one file; malformed lines are recorded in `stats` and skipped. */
export async function* readReplayFile(path: string, options: ReadOptions): AsyncGenerator<VigilEvent> {
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

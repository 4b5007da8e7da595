/**
 * `vigil replay`: load rules, read recorded events, print one alert per line (Falco's text or JSON)
 * and a summary. Malformed input lines are counted and reported with their line numbers; the rest of
 * the file is still processed. scap captures are read with the scap reader: exit events only, like
 * Falco >= 0.42 (`allEvents` adds the enter events); a corrupt capture is reported with its byte
 * offset and the other files are still replayed.
 */
import type { Writable } from 'node:stream';
import type { RuleMatching } from '../engine/engine.js';
import type { Diagnostic } from '../engine/diagnostics.js';
import { formatAlertJson, formatAlertText, type TimeFormat } from '../engine/output/alert-format.js';
import {
  createReplayStats,
  detectSource,
  readReplayFile,
  type ReplaySource,
  type ReplayStats,
} from '../capture/replay/source.js';
import { loadRuleSet } from '../agent/ruleset.js';

export interface ReplayOptions {
  rules: string[];
  events: string[];
  source?: ReplaySource;
  json?: boolean;
  ruleMatching?: RuleMatching;
  minPriority?: string;
  disableRules?: string[];
  disableTags?: string[];
  onlyTags?: string[];
  timeFormat?: TimeFormat;
  hostname?: string;
  /**
   * scap captures: evaluate enter events too, as sysdig and Falco < 0.42 did (rules written with
   * `evt.dir = >` need it). Default false: exit events only, like Falco >= 0.42.
   */
  allEvents?: boolean;
  stdout: Writable;
  stderr: Writable;
}

export interface ReplaySummary {
  exitCode: number;
  alerts: number;
  alertsByRule: Map<string, number>;
  stats: ReplayStats;
  loadDiagnostics: Diagnostic[];
}

/** Buffers output lines and writes them in large chunks, honouring back-pressure. */
class LineWriter {
  private buf: string[] = [];
  private size = 0;
  constructor(private readonly out: Writable) {}
  async push(line: string): Promise<void> {
    this.buf.push(line);
    this.size += line.length;
    if (this.size > 64 * 1024) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.buf.length === 0) return;
    const chunk = this.buf.join('\n') + '\n';
    this.buf = [];
    this.size = 0;
    if (!this.out.write(chunk)) await new Promise<void>((resolve) => this.out.once('drain', resolve));
  }
}

export async function runReplay(opts: ReplayOptions): Promise<ReplaySummary> {
  const started = process.hrtime.bigint();
  const stats = createReplayStats();
  const alertsByRule = new Map<string, number>();
  const summary: ReplaySummary = {
    exitCode: 0,
    alerts: 0,
    alertsByRule,
    stats,
    loadDiagnostics: [],
  };
  const rs = loadRuleSet(opts.rules, {
    ...(opts.ruleMatching ? { ruleMatching: opts.ruleMatching } : {}),
    ...(opts.minPriority !== undefined ? { minPriority: opts.minPriority } : {}),
    ...(opts.disableRules ? { disableRules: opts.disableRules } : {}),
    ...(opts.disableTags ? { disableTags: opts.disableTags } : {}),
    ...(opts.onlyTags ? { onlyTags: opts.onlyTags } : {}),
    hostname: opts.hostname ?? '',
  });
  summary.loadDiagnostics = rs.diagnostics;
  if (!rs.ok) {
    opts.stderr.write(`Error: ${rs.message}${rs.details.length ? ':' : ''}\n`);
    for (const d of rs.details) opts.stderr.write(d + '\n');
    summary.exitCode = rs.kind === 'usage' ? (rs.message.startsWith('unknown priority') ? 2 : 1) : 1;
    return summary;
  }
  if (rs.warnings > 0) {
    opts.stderr.write(
      `vigil replay: rules loaded with ${rs.warnings} warning${rs.warnings > 1 ? 's' : ''} (see \`vigil rules validate\`)\n`,
    );
  }
  const engine = rs.engine;
  const writer = new LineWriter(opts.stdout);
  const sourcesSeen = new Set<string>();
  for (const file of opts.events) {
    try {
      // Detection reads the file: a missing file is reported like any other unreadable one.
      const source = opts.source ?? (await detectSource(file));
      sourcesSeen.add(source);
      const reading = {
        source,
        stats,
        enterEvents: opts.allEvents ?? false,
        ...(opts.hostname !== undefined ? { hostname: opts.hostname } : {}),
      };
      for await (const event of readReplayFile(file, reading)) {
        const alerts = engine.process(event);
        for (const alert of alerts) {
          summary.alerts++;
          alertsByRule.set(alert.rule, (alertsByRule.get(alert.rule) ?? 0) + 1);
          await writer.push(
            opts.json ? formatAlertJson(alert, opts.timeFormat) : formatAlertText(alert, opts.timeFormat),
          );
        }
      }
    } catch (err) {
      await writer.flush();
      opts.stderr.write(`Error: cannot read events from ${file}: ${(err as Error).message}\n`);
      summary.exitCode = 1;
      return summary;
    }
  }
  await writer.flush();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const lines: string[] = [];
  lines.push(
    `vigil replay: ${stats.events} event${stats.events === 1 ? '' : 's'} from ${stats.files} file${stats.files === 1 ? '' : 's'} (${[...sourcesSeen].join(', ') || 'no source'}) in ${ms.toFixed(0)} ms; ${summary.alerts} alert${summary.alerts === 1 ? '' : 's'}; ${stats.malformed} malformed line${stats.malformed === 1 ? '' : 's'}`,
  );
  for (const [rule, n] of [...alertsByRule].sort((a, b) => b[1] - a[1])) lines.push(`  ${n}\t${rule}`);
  for (const issue of stats.issues) lines.push(`  malformed: ${issue.file}:${issue.line}: ${issue.reason}`);
  if (stats.malformed > stats.issues.length)
    lines.push(`  (${stats.malformed - stats.issues.length} more malformed lines not shown)`);
  const scap = stats.scap;
  if (scap.files > 0) {
    lines.push(
      `  scap: ${scap.files} capture${scap.files === 1 ? '' : 's'}, ${scap.events} events read, ${scap.emitted} evaluated (${opts.allEvents ? 'enter and exit events' : 'exit events only, like Falco >= 0.42'}); ${scap.skipped} skipped (unknown block types or event codes); ${scap.errors} malformed event${scap.errors === 1 ? '' : 's'}; ${scap.corrupt} corrupt or truncated capture${scap.corrupt === 1 ? '' : 's'}`,
    );
    for (const m of scap.messages) lines.push(`  scap: ${m}`);
  }
  // A capture that could not be read to its end is a file that could not be read: exit status 1,
  // after every other file was replayed.
  if (scap.corrupt > 0) summary.exitCode = 1;
  opts.stderr.write(lines.join('\n') + '\n');
  return summary;
}

/**
 * `vigil alerts`: query a hub from the command line. A readable table by default (oldest first, so the
 * newest alert is next to the prompt), JSON lines (the hub's wire format) with --json, and --follow to
 * keep printing alerts as they arrive. Exit codes: 0 ok (also when nothing matches), 1 the hub failed
 * or could not be reached, 2 usage error.
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option, type CommanderError } from 'commander';
import { parsePriority, priorityLabel, type Priority } from '../../engine/rules/index.js';
import { HubClient, HubError } from '../../hub/client.js';
import { formatTimeNs, nowNs, parseTimeParam, TimeParamError } from '../../hub/time-param.js';
import { alertToWire } from '../../hub/wire.js';
import type { AlertFilter, StoredAlert } from '../../store/store.js';

export const DEFAULT_HUB_URL = 'http://127.0.0.1:7878';
const DEFAULT_LIMIT = 50;
/** Rows per request when --limit asks for more than one page. */
const PAGE = 1000;

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function positiveInt(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) <= 0) throw new InvalidArgumentError('must be a positive integer');
  return Number(v);
}

function priorityArg(v: string): Priority {
  const p = parsePriority(v);
  if (p === undefined)
    throw new InvalidArgumentError(
      'must be a Falco priority: emergency, alert, critical, error, warning, notice, informational, debug',
    );
  return p;
}

/** Checks the time syntax while parsing flags; the value is resolved against the clock later. */
function timeArg(v: string): string {
  try {
    parseTimeParam(v);
  } catch (e) {
    if (e instanceof TimeParamError) throw new InvalidArgumentError(e.message);
    throw e;
  }
  return v;
}

function usageExit(err: CommanderError): never {
  process.exit(err.exitCode === 0 ? 0 : 2);
}

interface AlertsFlags {
  since?: string;
  until?: string;
  rule?: string[];
  priority?: Priority;
  tag?: string[];
  source?: string[];
  hostname?: string[];
  container?: string[];
  namespace?: string[];
  query?: string;
  limit: number;
  json?: boolean;
  follow?: boolean;
  interval: number;
  hub: string;
  token?: string;
  ca?: string;
}

/** Registers `vigil alerts`. */
export function registerAlerts(program: Command): void {
  program
    .command('alerts')
    .description(
      'show alerts stored in a hub: a table by default, JSON lines with --json, live with --follow',
    )
    .exitOverride(usageExit)
    .addOption(
      new Option(
        '--since <time>',
        'alerts at or after: a duration ago (15m, 1h, 2d), RFC 3339, or ns',
      ).argParser(timeArg),
    )
    .addOption(
      new Option('--until <time>', 'alerts before this time (same forms as --since)').argParser(timeArg),
    )
    .option('--rule <name>', 'rule name, exact (repeatable: any of them)', collect)
    .addOption(
      new Option(
        '-p, --priority <priority>',
        'minimum priority (e.g. warning keeps Warning and more severe)',
      ).argParser(priorityArg),
    )
    .option('--tag <tag>', 'alerts having this tag (repeatable: any of them)', collect)
    .option('--source <source>', 'event source: syscall, k8s_audit… (repeatable)', collect)
    .option('--hostname <host>', 'host that raised the alert (repeatable)', collect)
    .option('--container <id|name>', 'container id or name (repeatable)', collect)
    .option('--namespace <ns>', 'Kubernetes namespace (repeatable)', collect)
    .option('-q, --query <text>', 'text in the output, case-insensitive')
    .addOption(
      new Option('-n, --limit <n>', 'show the newest N matching alerts')
        .argParser(positiveInt)
        .default(DEFAULT_LIMIT),
    )
    .option('--json', 'print JSON lines, one alert each (the hub wire format, see docs/hub.md)')
    .option('-f, --follow', 'after the newest alerts, keep printing new ones as they arrive (Ctrl-C stops)')
    .addOption(
      new Option('--interval <ms>', 'poll interval of --follow, ms')
        .argParser(positiveInt)
        .default(1000)
        .hideHelp(),
    )
    .addOption(new Option('--hub <url>', 'hub URL').env('VIGIL_HUB_URL').default(DEFAULT_HUB_URL))
    .addOption(new Option('--token <token>', 'API token').env('VIGIL_TOKEN'))
    .addOption(new Option('--ca <file>', 'PEM CA certificate to trust for an https hub').env('VIGIL_HUB_CA'))
    .addHelpText(
      'after',
      `
Repeating a filter means "any of these"; different filters combine (all must hold).
Alerts print oldest first, so the newest is last. Times in the table are UTC.

Examples:
  $ vigil alerts                                     the newest ${DEFAULT_LIMIT} alerts
  $ vigil alerts --since 1h -p warning               the last hour, Warning and more severe
  $ vigil alerts --rule "Terminal shell in container" --container nginx
  $ vigil alerts --tag mitre_execution --tag T1059 --since 2026-11-26T00:00:00Z --until 2026-11-26T06:00:00Z
  $ vigil alerts -q curl --json | jq -r .output_fields["proc.cmdline"]
  $ vigil alerts --follow -p error                   watch new Error and more severe alerts
  $ VIGIL_HUB_URL=https://hub:7878 VIGIL_TOKEN=… vigil alerts --ca hub-ca.pem --hostname web-1`,
    )
    .action(async (o: AlertsFlags) => {
      process.exitCode = await runAlerts(o);
    });
}

async function runAlerts(o: AlertsFlags): Promise<number> {
  const now = nowNs();
  const filter: AlertFilter = {};
  if (o.since !== undefined) filter.since = parseTimeParam(o.since, now);
  if (o.until !== undefined) filter.until = parseTimeParam(o.until, now);
  if (o.rule) filter.rule = o.rule;
  if (o.priority) filter.minPriority = o.priority;
  if (o.tag) filter.tags = o.tag;
  if (o.source) filter.source = o.source;
  if (o.hostname) filter.hostname = o.hostname;
  if (o.container) filter.container = o.container;
  if (o.namespace) filter.namespace = o.namespace;
  if (o.query !== undefined && o.query !== '') filter.text = o.query;

  let ca: string | undefined;
  if (o.ca !== undefined) {
    try {
      ca = readFileSync(o.ca, 'utf8');
    } catch (e) {
      process.stderr.write(`vigil alerts: cannot read --ca ${o.ca}: ${(e as Error).message}\n`);
      return 2;
    }
  }
  let client: HubClient;
  try {
    client = new HubClient({
      url: o.hub,
      ...(o.token !== undefined && o.token !== '' ? { token: o.token } : {}),
      ...(ca !== undefined ? { ca } : {}),
    });
  } catch (e) {
    process.stderr.write(`vigil alerts: ${(e as Error).message}\n`);
    return 2;
  }

  const width = terminalWidth();
  let table: Table | undefined;
  const print = (a: StoredAlert) => {
    if (table) process.stdout.write(table.row(a));
    else process.stdout.write(JSON.stringify(alertToWire(a)) + '\n');
  };

  try {
    // The newest `limit` alerts, then printed oldest first.
    const shown: StoredAlert[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.queryAlerts({
        ...filter,
        limit: Math.min(PAGE, o.limit - shown.length),
        ...(cursor ? { cursor } : {}),
      });
      shown.push(...page.alerts);
      cursor = page.nextCursor;
    } while (cursor !== undefined && shown.length < o.limit);
    shown.reverse();
    if (!o.json) table = new Table(width, o.follow ? undefined : shown);
    if (table && (shown.length > 0 || o.follow)) process.stdout.write(table.header());
    for (const a of shown) print(a);
    if (shown.length === 0 && !o.follow) process.stderr.write('no alerts match\n');
    else if (!o.follow && cursor !== undefined && !o.json)
      process.stderr.write(`(the newest ${shown.length} shown; use --limit or --since to see more)\n`);

    if (!o.follow) return 0;

    // Follow from the oldest alert shown when the limit cut the list (everything newer was shown), else
    // from --since, else from a few minutes ago (alerts shipped late are still shown once).
    const lookbackNs = 300_000_000_000n;
    const from =
      cursor !== undefined && shown.length > 0
        ? (shown[0] as StoredAlert).time
        : (filter.since ?? now - lookbackNs);
    const ac = new AbortController();
    const onSignal = () => ac.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    let lastError = '';
    await client.follow(filter, print, {
      from,
      skip: shown,
      intervalMs: o.interval,
      lookbackNs,
      signal: ac.signal,
      onError: (e) => {
        // Say it once per kind of failure, not on every poll while the hub restarts.
        if (e.message !== lastError) process.stderr.write(`vigil alerts: ${e.message} (retrying)\n`);
        lastError = e.message;
      },
    });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    return 0;
  } catch (e) {
    process.stderr.write(`vigil alerts: ${e instanceof HubError ? e.message : (e as Error).message}\n`);
    return 1;
  } finally {
    client.close();
  }
}

/** Terminal width for truncating outputs; unbounded when stdout is not a terminal (pipes, files). */
function terminalWidth(): number {
  const env = Number(process.env['COLUMNS']);
  if (Number.isInteger(env) && env > 0) return env;
  return process.stdout.isTTY ? process.stdout.columns : Infinity;
}

/** Column widths: at most these; narrower when the alerts shown are. */
const MAX_COLS = { time: 23, priority: 13, rule: 36, where: 32 };

function fit(s: string, w: number): string {
  const flat = s.replace(/[\r\n\t]+/g, ' ');
  if (flat.length <= w) return flat.padEnd(w);
  return flat.slice(0, Math.max(0, w - 1)) + '…';
}

/** `host/container` (container name, else id; none for the host itself). */
function whereOf(a: StoredAlert): string {
  const f = a.outputFields;
  const cname = f['container.name'];
  const cid = f['container.id'];
  const container =
    typeof cname === 'string' && cname !== '' && cname !== 'host'
      ? cname
      : typeof cid === 'string' && cid !== '' && cid !== 'host'
        ? cid
        : '';
  return container === '' ? a.hostname : `${a.hostname}/${container}`;
}

/** Aligned columns: time (UTC, ms), priority, rule, host/container, output (truncated to the width). */
class Table {
  private readonly cols = { ...MAX_COLS };

  /** `sample`: the rows about to be printed (columns fit them); none: the widest columns (for --follow). */
  constructor(
    private readonly width: number,
    sample?: readonly StoredAlert[],
  ) {
    if (sample === undefined || sample.length === 0) return;
    let rule = 'RULE'.length;
    let where = 'HOST/CONTAINER'.length;
    let priority = 'PRIORITY'.length;
    for (const a of sample) {
      rule = Math.max(rule, a.rule.length);
      where = Math.max(where, whereOf(a).length);
      priority = Math.max(priority, priorityLabel(a.priority).length);
    }
    this.cols.rule = Math.min(rule, MAX_COLS.rule);
    this.cols.where = Math.min(where, MAX_COLS.where);
    this.cols.priority = priority;
  }

  header(): string {
    return this.line('TIME (UTC)', 'PRIORITY', 'RULE', 'HOST/CONTAINER', 'OUTPUT');
  }

  row(a: StoredAlert): string {
    const time = formatTimeNs(a.time).replace('T', ' ').slice(0, 23);
    return this.line(time, priorityLabel(a.priority), a.rule, whereOf(a), a.output);
  }

  private line(time: string, priority: string, rule: string, where: string, output: string): string {
    const c = this.cols;
    const head = `${fit(time, c.time)}  ${fit(priority, c.priority)}  ${fit(rule, c.rule)}  ${fit(where, c.where)}  `;
    const room = this.width - head.length;
    const out = output.replace(/[\r\n\t]+/g, ' ');
    const text = room >= out.length ? out : room > 10 ? out.slice(0, room - 1) + '…' : out;
    return head + text + '\n';
  }
}

/**
 * `vigil run`: flags → {@link runLive}. Option names follow `vigil replay` (and Falco's where Falco
 * has one: -r, -p, -D, -T, -t). Usage errors exit with status 2.
 */
import { Command, InvalidArgumentError, Option, type CommanderError } from 'commander';
import { runLive } from '../../app/run.js';
import { defaultRulesPath } from '../paths.js';

/** Commander collector for repeatable options. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** A parser accepting a positive integer (pids). */
export function collectInt(value: string, previous: number[] = []): number[] {
  if (!/^\d+$/.test(value) || Number(value) <= 0)
    throw new InvalidArgumentError('must be a positive integer');
  return [...previous, Number(value)];
}

/** A parser accepting a positive number of seconds. */
export function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number of seconds');
  return n;
}

/** Usage errors of these commands exit with 2 (commander's default is 1); help and version with 0. */
export function usageExit(err: CommanderError): never {
  process.exit(err.exitCode === 0 ? 0 : 2);
}

/**
 * Sets the exit status and makes sure the process ends: a write to a stdout nobody reads stays in
 * flight forever and would keep it alive after the summary.
 */
export function exitSoon(code: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), 200).unref();
}

interface RunFlags {
  rules?: string[];
  json?: boolean;
  driver: 'auto' | 'ebpf' | 'ptrace';
  pid?: number[];
  keepClose?: boolean;
  minPriority?: string;
  priority?: string;
  disableRule?: string[];
  disableTag?: string[];
  tag?: string[];
  ruleMatching: 'first' | 'all';
  timeFormat: 'clock' | 'iso8601';
  output?: string;
  statsInterval?: number;
  outputQueue?: number;
}

/** Registers `vigil run`. */
export function registerRun(program: Command): void {
  program
    .command('run')
    .description('detect threats live: capture syscalls on this host (or of one command) and print alerts')
    .argument('[command...]', 'a command to run and watch until it exits (put it after --)')
    .option('-r, --rules <file>', 'rules file or directory (repeatable; default: the bundled rules)', collect)
    .option(
      '--json',
      "print alerts as Falco's JSON (output, priority, rule, time, output_fields, source, tags, hostname)",
    )
    .addOption(
      new Option(
        '--driver <driver>',
        'capture driver: auto picks eBPF when the machine allows it, else ptrace',
      )
        .choices(['auto', 'ebpf', 'ptrace'])
        .default('auto'),
    )
    .option('--pid <pid>', 'trace this running process and its children (ptrace; repeatable)', collectInt)
    .option(
      '--keep-close',
      'capture close calls even when no rule names them (eBPF; exact fd tables, more events: docs/drivers.md)',
    )
    .option('-p, --min-priority <priority>', 'skip rules below this priority (e.g. warning)')
    .addOption(new Option('--priority <priority>').hideHelp())
    .option('-D, --disable-rule <name>', 'disable rules by name, * wildcards allowed (repeatable)', collect)
    .option('-T, --disable-tag <tag>', 'disable rules with this tag (repeatable)', collect)
    .option('-t, --tag <tag>', 'only run rules with this tag (repeatable)', collect)
    .addOption(
      new Option(
        '--rule-matching <mode>',
        'first: stop at the first matching rule (Falco default); all: report every match',
      )
        .choices(['first', 'all'])
        .default('first'),
    )
    .addOption(
      new Option('--time-format <format>', 'time prefix of text alerts')
        .choices(['clock', 'iso8601'])
        .default('clock'),
    )
    .option('-o, --output <file>', 'append alerts to this file instead of printing them')
    .option('--stats-interval <seconds>', 'print a stats line on stderr this often', seconds)
    .addOption(
      new Option(
        '--output-queue <bytes>',
        'bound of the alert output queue; beyond it alerts are dropped and counted',
      )
        .argParser((v) => {
          const n = Number(v);
          if (!Number.isInteger(n) || n <= 0)
            throw new InvalidArgumentError('must be a positive number of bytes');
          return n;
        })
        .hideHelp(),
    )
    .exitOverride(usageExit)
    .addHelpText(
      'after',
      `
Examples:
  $ sudo vigil run                                   watch this host with the bundled rules
  $ sudo vigil run -r /etc/falco/falco_rules.yaml --json
  $ sudo vigil run -- sh -c 'cat /etc/shadow'          run a command, watch until it exits
  $ vigil run --driver ptrace -- ./build.sh          trace one command without root (strace)
  $ sudo vigil run --pid 1234                        trace a running process (ptrace)

Alerts go to stdout (or -o FILE), one per line; startup lines, stats and the summary go to stderr.
Alerts are never allowed to block detection: if stdout cannot keep up they are dropped and counted
(output_queue_full in the summary).
Signals: SIGINT/SIGTERM stop and print a summary (events, alerts by rule, drops by reason);
SIGHUP reloads the rules (an invalid set keeps the running one and prints each error).
Environment: VIGIL_CAPTURE_FLUSH_MS (how often the eBPF loader hands events over, ms; default 50);
VIGIL_REUSE_VERDICTS=1|agent|0 (repeated opens: reuse their verdict and let the probe count them,
the default; reuse in the agent only; evaluate every one).
Exit status: 0; 1 when the rules are invalid or no driver can start; 2 for usage errors;
with a command, the command's exit status. See docs/running.md.`,
    )
    .action(async (command: string[], o: RunFlags, cmd: Command) => {
      if (o.minPriority !== undefined && o.priority !== undefined)
        cmd.error('error: use either -p/--min-priority or --priority', { exitCode: 2 });
      const minPriority = o.minPriority ?? o.priority;
      const code = await runLive({
        rules: o.rules ?? [defaultRulesPath()],
        json: Boolean(o.json),
        driver: o.driver,
        pids: o.pid ?? [],
        command,
        ...(o.keepClose ? { keepClose: true } : {}),
        ...(minPriority !== undefined ? { minPriority } : {}),
        disableRules: o.disableRule ?? [],
        disableTags: o.disableTag ?? [],
        onlyTags: o.tag ?? [],
        ruleMatching: o.ruleMatching,
        timeFormat: o.timeFormat,
        ...(o.output !== undefined ? { output: o.output } : {}),
        ...(o.statsInterval !== undefined ? { statsIntervalS: o.statsInterval } : {}),
        ...(o.outputQueue !== undefined ? { outputQueueBytes: o.outputQueue } : {}),
      });
      exitSoon(code);
    });
}

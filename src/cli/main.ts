#!/usr/bin/env -S node --max-semi-space-size=4
/**
 * `vigil` command line. Subcommands are thin: they parse flags, call the app layer and set the
 * exit code. Exit codes: 0 success, 1 failure (invalid rules, unreadable input), 2 usage error.
 *
 * The installed `vigil` runs node with young-generation semispaces of 4 MiB (default 16): at 100,000
 * events/s the agent's peak RSS drops from about 103 MB to 85 MB at no measurable CPU cost
 * (docs/benchmarks.md). `node dist/src/cli/main.js` needs the flag given by hand for the same effect.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runReplay } from '../app/replay.js';
import { readRulesFiles } from '../app/rules-files.js';
import { formatValidateJson, formatValidateText } from '../app/validate-report.js';
import { explainRule, formatFieldList } from '../app/rules-info.js';
import { loadRules } from '../engine/rules/index.js';
import { registerCapture } from './commands/capture.js';
import { registerRun } from './commands/run.js';
import { registerUp } from './commands/up.js';
import { registerHub } from './commands/hub.js';
import { registerAlerts } from './commands/alerts.js';
import { defaultRulesPath, packageRoot } from './paths.js';

export { defaultRulesPath } from './paths.js';

function version(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string })
      .version;
  } catch {
    return 'unknown';
  }
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function oneOf<T extends string>(allowed: readonly T[]) {
  return (value: string): T => {
    if (!(allowed as readonly string[]).includes(value))
      throw new InvalidArgumentError(`must be one of: ${allowed.join(', ')}`);
    return value as T;
  };
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('vigil')
    .description(
      'Keeps watch over Linux hosts and Kubernetes clusters.\n' +
        'Security detection with Falco-compatible rules, over live syscalls, the Kubernetes audit log or recorded events.',
    )
    .version(version(), '-v, --version')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Examples:
  $ vigil replay examples/k8s-audit.jsonl                 replay audit events against the bundled rules
  $ vigil replay --rules my_rules.yaml --json events.jsonl
  $ vigil rules validate /etc/falco/falco_rules.yaml      check a Falco rules file
  $ vigil rules explain --rules falco_rules.yaml "Terminal shell in container"
  $ vigil rules list-fields --source k8s_audit`,
    );

  const rules = program.command('rules').description('validate, explain and inspect rules files');

  rules
    .command('validate')
    .description('load rules files the way the engine does and report every error and warning')
    .argument('<file...>', 'rules files or directories (loaded together, in order)')
    .option('--json', 'machine-readable report (like falco -V --json)')
    .addHelpText(
      'after',
      `
Exit status: 0 when no file has errors (warnings allowed), 1 otherwise.
Each problem is reported as file:line:col with Falco's code (e.g. LOAD_ERR_COMPILE_CONDITION).`,
    )
    .action((files: string[], o: { json?: boolean }) => {
      const read = readRulesFiles(files);
      const loaded = loadRules(read.files);
      const diagnostics = [...read.diagnostics, ...loaded.diagnostics];
      const names = read.files.map((f) => f.name);
      for (const d of read.diagnostics) if (d.position) names.push(d.position.file);
      process.stdout.write(
        (o.json
          ? formatValidateJson(names, diagnostics)
          : formatValidateText(read.files, names, diagnostics)) + '\n',
      );
      process.exitCode = diagnostics.some((d) => d.severity === 'error') ? 1 : 0;
    });

  rules
    .command('list-fields')
    .description('list the fields conditions and outputs can use')
    .addOption(new Option('--source <source>', 'only this event source').choices(['syscall', 'k8s_audit']))
    .option('--json', 'machine-readable list')
    .action((o: { source?: 'syscall' | 'k8s_audit'; json?: boolean }) => {
      process.stdout.write(formatFieldList(o.source, Boolean(o.json)) + '\n');
    });

  rules
    .command('explain')
    .description('show a rule after list, macro and exception expansion, and the event types it runs on')
    .requiredOption('-r, --rules <file>', 'rules file or directory (repeatable)', collect)
    .argument('<rule>', 'rule name')
    .option('--json', 'machine-readable output')
    .action((ruleName: string, o: { rules: string[]; json?: boolean }) => {
      const read = readRulesFiles(o.rules);
      const loaded = loadRules(read.files);
      const res = explainRule(
        loaded,
        [...read.diagnostics, ...loaded.diagnostics],
        ruleName,
        Boolean(o.json),
      );
      (res.ok ? process.stdout : process.stderr).write(res.text + '\n');
      process.exitCode = res.ok ? 0 : 1;
    });

  program
    .command('replay')
    .description('evaluate rules against recorded events and print alerts (one per line)')
    .argument(
      '<events...>',
      'event files: Kubernetes audit JSON (one Event per line, or an EventList), syscall JSON lines, or scap captures (.scap, gzipped or not)',
    )
    .option('-r, --rules <file>', 'rules file or directory (repeatable; default: the bundled rules)', collect)
    .addOption(
      new Option('--source <source>', 'input kind (default: detected from each file)').choices([
        'syscall',
        'k8s_audit',
      ]),
    )
    .option(
      '--json',
      "print alerts as Falco's JSON (rule, priority, source, output, output_fields, time, tags)",
    )
    .addOption(
      new Option(
        '--rule-matching <mode>',
        'first: stop at the first matching rule (Falco default); all: report every match',
      )
        .argParser(oneOf(['first', 'all'] as const))
        .default('first'),
    )
    .option('-p, --min-priority <priority>', 'skip rules below this priority (e.g. warning)')
    .option('-D, --disable-rule <name>', 'disable rules by name, * wildcards allowed (repeatable)', collect)
    .option('-T, --disable-tag <tag>', 'disable rules with this tag (repeatable)', collect)
    .option('-t, --tag <tag>', 'only run rules with this tag (repeatable)', collect)
    .option(
      '-A, --all-events',
      'scap captures: evaluate enter events too, as Falco < 0.42 did (default: exit events only, like Falco >= 0.42)',
    )
    .addOption(
      new Option('--time-format <format>', 'time prefix of text alerts')
        .choices(['clock', 'iso8601'])
        .default('clock'),
    )
    .addHelpText(
      'after',
      `
Alerts go to stdout; a summary (events, alerts by rule, malformed lines with their line numbers) to stderr.
Malformed lines are counted and skipped; the rest of the file is still processed.
Exit status: 0 when the replay ran, 1 when rules could not be loaded or a file could not be read
(a corrupt or truncated scap capture is reported with its byte offset; the other files are still replayed).
Syscall input format: docs/replay-format.md.`,
    )
    .action(
      async (
        events: string[],
        o: {
          rules?: string[];
          source?: 'syscall' | 'k8s_audit';
          json?: boolean;
          ruleMatching: 'first' | 'all';
          minPriority?: string;
          disableRule?: string[];
          disableTag?: string[];
          tag?: string[];
          allEvents?: boolean;
          timeFormat: 'clock' | 'iso8601';
        },
      ) => {
        const summary = await runReplay({
          rules: o.rules ?? [defaultRulesPath()],
          events,
          ...(o.source ? { source: o.source } : {}),
          json: Boolean(o.json),
          ruleMatching: o.ruleMatching,
          ...(o.minPriority ? { minPriority: o.minPriority } : {}),
          disableRules: o.disableRule ?? [],
          disableTags: o.disableTag ?? [],
          onlyTags: o.tag ?? [],
          allEvents: Boolean(o.allEvents),
          timeFormat: o.timeFormat,
          stdout: process.stdout,
          stderr: process.stderr,
        });
        process.exitCode = summary.exitCode;
      },
    );

  registerUp(program);
  registerRun(program);
  registerCapture(program);
  registerHub(program);
  registerAlerts(program);

  return program;
}

function isEntryPoint(): boolean {
  const argv1 = process.argv[1];
  if (!argv1) return false;
  try {
    return realpathSync(argv1) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      process.stderr.write(`vigil: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    });
}

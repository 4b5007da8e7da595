/**
 * `vigil up`: agent + hub + embedded store in one process (see src/app/up.ts).
 */
import { Command, Option } from 'commander';
import { ENV_VARS } from '../../config/env.js';
import { defaultRulesPath } from '../paths.js';

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function registerUp(program: Command): void {
  program
    .command('up')
    .description(
      'Run Vigil on this machine: live detection (eBPF, else ptrace), the hub API and the embedded SQLite store, in one process',
    )
    .option('-c, --config <file>', 'config file (YAML; see config/vigil.yaml for every key and its default)')
    .option('-r, --rules <path>', 'rules file or directory (repeatable; default: the bundled rules)', collect)
    .option('--listen <host:port>', 'hub API address (default 127.0.0.1:7878)')
    .option('--store <url>', 'store URL: sqlite:<file> (default <data-dir>/vigil.db) or postgres://…')
    .option(
      '--data-dir <dir>',
      'where the store, the spool and the generated token live (default ./vigil-data)',
    )
    .addOption(new Option('--driver <driver>', 'capture driver').choices(['auto', 'ebpf', 'ptrace']))
    .option(
      '--hub-url <url>',
      'ship alerts to this remote hub (through an on-disk spool) instead of a local one',
    )
    .option('--no-capture', 'run the hub only (no live capture on this machine)')
    .addHelpText(
      'after',
      `
Examples:
  sudo vigil up                               # everything local, defaults
  sudo vigil up --listen 0.0.0.0:7878 -r my_rules.yaml
  vigil up --no-capture --store postgres://vigil@db/vigil   # a central hub
  sudo vigil up --hub-url https://hub:7878    # an agent shipping to a central hub (VIGIL_TOKEN=…)

Then:
  vigil alerts --since 1h                     # query the hub (token from <data-dir>/token or VIGIL_TOKEN)
  curl -H "Authorization: Bearer $(cat vigil-data/token)" http://127.0.0.1:7878/v1/alerts

Signals: SIGINT/SIGTERM stop cleanly with a summary; SIGHUP reloads the rules (also reloaded when a
rules file changes) and reopens file sinks. An invalid new rule set keeps the old one running.

Precedence: flags > environment > config file > defaults. Environment variables:
${Object.entries(ENV_VARS)
  .map(([k, v]) => `  ${k.padEnd(16)} ${v}`)
  .join('\n')}

Docs: docs/configuration.md, docs/hub.md, docs/sinks.md, docs/running.md.`,
    )
    .action(
      async (o: {
        config?: string;
        rules?: string[];
        listen?: string;
        store?: string;
        dataDir?: string;
        driver?: 'auto' | 'ebpf' | 'ptrace';
        hubUrl?: string;
        capture: boolean;
      }) => {
        let resolveStop!: (s: string) => void;
        const stopSignal = new Promise<string>((r) => (resolveStop = r));
        let stopping = false;
        const onStop = (sig: string): void => {
          if (stopping) {
            process.stderr.write(`vigil up: ${sig} again: exiting now\n`);
            process.exit(130);
          }
          stopping = true;
          resolveStop(sig);
        };
        process.on('SIGINT', () => onStop('SIGINT'));
        process.on('SIGTERM', () => onStop('SIGTERM'));
        const configFile = o.config ?? process.env.VIGIL_CONFIG;
        // Loaded here, not at start: other commands need none of the hub, store and sinks.
        const { runUp } = await import('../../app/up.js');
        const code = await runUp({
          ...(configFile ? { configFile } : {}),
          overrides: {
            ...(o.rules ? { rulesFiles: o.rules } : {}),
            ...(o.listen ? { listen: o.listen } : {}),
            ...(o.store ? { storeUrl: o.store } : {}),
            ...(o.dataDir ? { dataDir: o.dataDir } : {}),
            ...(o.driver ? { driver: o.driver } : {}),
            ...(o.hubUrl ? { hubUrl: o.hubUrl, hub: false } : {}),
            ...(o.capture === false ? { capture: false } : {}),
          },
          env: process.env,
          defaultRules: defaultRulesPath(),
          stdout: process.stdout,
          stderr: process.stderr,
          stopSignal,
          onReloadRequest: (reload) => process.on('SIGHUP', () => void reload()),
        });
        process.exitCode = code;
        // Handles (watchers, timers) are closed; exit explicitly in case a library keeps one.
        process.exit(code);
      },
    );
}

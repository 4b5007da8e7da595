/**
 * `vigil capture -w FILE`: flags → {@link runCapture}. Usage errors exit with status 2.
 */
import { Command, Option } from 'commander';
import { runCapture } from '../../app/capture.js';
import { collect, exitSoon, seconds, usageExit } from './run.js';

interface CaptureFlags {
  write: string;
  duration?: number;
  driver: 'auto' | 'ebpf';
  rules?: string[];
  allSyscalls?: boolean;
  gzip?: boolean;
  procTables: boolean;
}

/** Registers `vigil capture`. */
export function registerCapture(program: Command): void {
  program
    .command('capture')
    .description('record live syscalls into a scap capture file (readable by sysdig, Falco and vigil replay)')
    .argument('[command...]', 'a command to run; the capture stops when it exits (put it after --)')
    .requiredOption('-w, --write <file>', 'the capture file to write (.scap; .scap.gz is gzip-compressed)')
    .option('--duration <seconds>', 'stop after this many seconds', seconds)
    .addOption(
      new Option('--driver <driver>', 'capture driver (only eBPF writes captures)')
        .choices(['auto', 'ebpf'])
        .default('auto'),
    )
    .addOption(
      new Option(
        '-r, --rules <file>',
        'capture only the syscalls these rules need, plus what process state needs (repeatable)',
      )
        .argParser(collect)
        .conflicts('allSyscalls'),
    )
    .option('--all-syscalls', 'capture every syscall the probe decodes (the default)')
    .option('--gzip', 'compress the capture (also implied by a .gz file name)')
    .option('--no-proc-tables', 'do not write the processes, fds and users that existed at start')
    .exitOverride(usageExit)
    .addHelpText(
      'after',
      `
Examples:
  $ sudo vigil capture -w host.scap --duration 10          everything for 10 s
  $ sudo vigil capture -w cat.scap -- cat /etc/hostname    while a command runs
  $ sudo vigil capture -w rules.scap.gz -r my_rules.yaml   only what the rules need, compressed
  $ sysdig -r cat.scap -p '%evt.type %proc.name %fd.name' proc.name=cat
  $ vigil replay cat.scap

Stops after --duration, when the command exits, or on SIGINT/SIGTERM; then prints the events
written, the file size and the drops. Needs root (the eBPF probe). Exit status: 0; 1 when the
capture cannot start or be written; 2 for usage errors; with a command, the command's status.
See docs/running.md.`,
    )
    .action(async (command: string[], o: CaptureFlags) => {
      const r = await runCapture({
        output: o.write,
        ...(o.duration !== undefined ? { durationS: o.duration } : {}),
        driver: o.driver,
        ...(o.rules?.length ? { rules: o.rules } : {}),
        ...(o.gzip ? { gzip: true } : {}),
        command,
        procTables: o.procTables,
      });
      exitSoon(r.exitCode);
    });
}

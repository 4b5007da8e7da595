/**
 * Falco's legacy syscall regression cases (`syscall/falco_tests.yaml`) that replay a committed capture
 * (`trace_file: trace_files/X.scap` → `syscall/scap/X.scap`), run through `runReplay` in-process with
 * their test rules (falco-rules-1.0.1 when the case names none).
 *
 * Checked, like Falco's test runner: `detect` (any alert, or none), `detect_level` (at least one alert
 * of each priority), `detect_counts` (exact per rule), `exit_status`, `stdout_contains` /
 * `stderr_contains` (regular expressions), `output_strictly_contains` (every expected line is an output
 * line). Options map to replay options: `rules_file` → rules, `disabled_rules` → disableRules (Falco's
 * `-D` is a substring, so `x` becomes `*x*`), `disable_tags` → disableTags, `run_tags` → onlyTags,
 * `priority` → minPriority, `json_output` → json, `time_iso_8601` → timeFormat.
 *
 * Event selection: the specs date from Falco 0.35, which evaluated enter and exit events; Falco >= 0.42
 * evaluates exit events only. Every case runs with enter events (`allEvents`), as its expectations
 * were recorded; the exit-only outcome of each case is measured too and printed (not asserted), as the
 * number docs/compatibility.md quotes. `all_events: True` (Falco's `-A`) also kept the events Falco
 * 0.35 dropped by default (EF_DROP_SIMPLE_CONS); Vigil drops none, so it changes nothing here.
 *
 * Every case is run and passes, or is listed below with its reason; the lists are asserted exactly.
 */
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runReplay, type ReplayOptions, type ReplaySummary } from '../../src/app/replay.js';
import { parsePriority } from '../../src/engine/rules/index.js';
import { asArray, mapSpecPath, readFalcoSpec, type FalcoTestCase } from '../helpers/falco-test-spec.js';
import { FIXTURES_SKIP_REASON, fixturePath, haveFixtures } from '../helpers/fixtures.js';

const DEFAULT_RULES =
  'BUILD_DIR/falcosecurity-rules-falco-prefix/src/falcosecurity-rules-falco/falco_rules.yaml';
/** Falco's test runner set FALCO_HOSTNAME to this. */
const TEST_HOSTNAME = 'test-falco-hostname';

const VALIDATION =
  'validation run (falco -V: loads the rules, reads no events); covered by test/conformance/test-rules.test.ts';
const DROPS =
  "needs falco.yaml's syscall_event_drops settings (actions ignore/log/alert/exit, threshold, rate) and Falco's drop-rate alerts, which vigil replay does not have";

/** Cases not run, with the reason. */
const NOT_RUN: Record<string, string> = {
  test_warnings: VALIDATION,
  invalid_not_yaml: VALIDATION,
  invalid_not_array: VALIDATION,
  invalid_array_item_not_object: VALIDATION,
  invalid_engine_version_not_number: VALIDATION,
  invalid_yaml_parse_error: VALIDATION,
  invalid_list_without_items: VALIDATION,
  invalid_macro_without_condition: VALIDATION,
  invalid_rule_without_output: VALIDATION,
  invalid_append_rule_without_condition: VALIDATION,
  invalid_append_macro_dangling: VALIDATION,
  invalid_list_append_dangling: VALIDATION,
  invalid_rule_append_dangling: VALIDATION,
  invalid_overwrite_macro: VALIDATION,
  invalid_append_macro: VALIDATION,
  invalid_overwrite_macro_multiple_docs: VALIDATION,
  invalid_append_macro_multiple_docs: VALIDATION,
  invalid_overwrite_rule: VALIDATION,
  invalid_append_rule: VALIDATION,
  invalid_overwrite_rule_multiple_docs: VALIDATION,
  invalid_append_rule_multiple_docs: VALIDATION,
  invalid_missing_rule_name: VALIDATION,
  invalid_missing_list_name: VALIDATION,
  invalid_missing_macro_name: VALIDATION,
  invalid_rule_output: VALIDATION,
  validate_skip_unknown_noevt: VALIDATION,
  skip_unknown_error: VALIDATION,
  skip_unknown_unspec_error: VALIDATION,
  engine_version_mismatch: VALIDATION,
  detect_counts:
    'its capture traces-positive/falco-event-generator.scap comes from the traces-positive zip, which is not among the fixtures',
  file_output_strict:
    "needs Falco's file_output channel (confs/file_output.yaml); vigil replay writes alerts to stdout only",
  program_output_strict:
    "needs Falco's program_output channel (confs/program_output.yaml); vigil replay writes alerts to stdout only",
  grpc_unix_socket_outputs: "needs Falco's gRPC output server (confs/grpc_unix_socket.yaml)",
  json_output_no_output_property: 'needs the json_include_output_property: false setting of falco.yaml',
  json_output_no_tags_property: 'needs the json_include_tags_property: false setting of falco.yaml',
  monitor_syscall_drops_none: DROPS,
  monitor_syscall_drops_ignore: DROPS,
  monitor_syscall_drops_ignore_and_log: DROPS,
  monitor_syscall_drops_threshold_oor: DROPS,
  monitor_syscall_drops_threshold_neg: DROPS,
  monitor_syscall_drops_log: DROPS,
  monitor_syscall_drops_alert: DROPS,
  monitor_syscall_drops_exit: DROPS,
};

/** Checks of run cases that do not apply, per case and key, with the reason. */
const CHECKS_NOT_APPLICABLE: Record<string, Record<string, string>> = {
  syscalls: {
    rules_warning:
      "Falco <= 0.31 printed 'Rule X: warning (ignored-evttype)' on stderr for rules on events it dropped without -A (EF_DROP_SIMPLE_CONS); today's loader has no such warning and Vigil drops no events",
  },
  time_iso_8601: {
    stderr_contains:
      "matches the ISO time of Falco's own log lines on stderr; Vigil's replay summary has no timestamp",
  },
};

/** Settings files whose only effect is what vigil replay does anyway. */
const NEUTRAL_CONF: Record<string, string> = {
  'confs/stdout_output.yaml': 'alerts to stdout only (no file, program, syslog or gRPC output)',
};

/**
 * Cases that run and do not pass yet: each must still fail (the test turns red once it passes, so the
 * entry gets removed).
 */
const KNOWN_FAILURES: Record<string, string> = {
  stdout_output_strict:
    "src/engine/output/alert-format.ts writes the ISO time prefix as '...397Z:'; Falco prints %evt.time.iso8601 ('...397+0000:')",
  stdout_output_json_strict:
    "src/engine/output/alert-format.ts: the ISO prefix ends in Z instead of +0000, output_fields has evt.time instead of the prefix's evt.time.iso8601, and keys are fully sorted (Falco prints output_fields last, after ', ')",
  time_iso_8601:
    "src/engine/output/alert-format.ts writes the ISO time prefix as '...739Z:'; Falco prints %evt.time.iso8601 ('...739+0000:')",
};

/** Keys of a case that this runner understands (anything else makes the case fail). */
const KNOWN_KEYS = new Set([
  'name',
  'trace_file',
  'detect',
  'detect_level',
  'detect_counts',
  'rules_file',
  'all_events',
  'priority',
  'disabled_rules',
  'disable_tags',
  'run_tags',
  'exit_status',
  'stdout_contains',
  'stderr_contains',
  'conf_file',
  'json_output',
  'time_iso_8601',
  'output_strictly_contains',
  'rules_warning',
]);

interface CaseRun {
  summary: ReplaySummary;
  stdout: string;
  stderr: string;
}

function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

async function replayCase(c: FalcoTestCase, json: boolean, enterEvents: boolean): Promise<CaseRun> {
  const out = sink();
  const err = sink();
  const opts: ReplayOptions = {
    rules: asArray(c.rules_file ?? DEFAULT_RULES).map(mapSpecPath),
    events: [mapSpecPath(c.trace_file as string)],
    json,
    disableRules: asArray(c.disabled_rules as string | string[] | undefined).map((s) => `*${s}*`),
    disableTags: asArray(c.disable_tags as string | string[] | undefined),
    onlyTags: asArray(c.run_tags as string | string[] | undefined),
    timeFormat: c.time_iso_8601 === true ? 'iso8601' : 'clock',
    hostname: TEST_HOSTNAME,
    allEvents: enterEvents,
    stdout: out.stream,
    stderr: err.stream,
  };
  if (typeof c.priority === 'string') opts.minPriority = c.priority;
  const summary = await runReplay(opts);
  return { summary, stdout: out.text(), stderr: err.text() };
}

/** Python's `re.search` patterns as the specs write them, in JavaScript. */
function pyRegex(p: string): RegExp {
  const flags = p.startsWith('(?i)') ? 'i' : '';
  return new RegExp(flags ? p.slice(4) : p, flags);
}

/** What fails in one case: empty when it passes. */
async function checkCase(c: FalcoTestCase, enterEvents: boolean): Promise<string[]> {
  const problems: string[] = [];
  const skipped = CHECKS_NOT_APPLICABLE[c.name] ?? {};
  for (const k of Object.keys(c)) if (!KNOWN_KEYS.has(k)) problems.push(`unsupported key ${k}`);
  if (typeof c.conf_file === 'string' && !NEUTRAL_CONF[c.conf_file])
    problems.push(`unsupported conf_file ${c.conf_file}`);

  const json = c.json_output === true;
  const run = await replayCase(c, true, enterEvents);
  const textRun = json ? run : await replayCase(c, false, enterEvents);
  const alerts = run.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { rule: string; priority: string });

  const wantStatus = typeof c.exit_status === 'number' ? c.exit_status : 0;
  if (run.summary.exitCode !== wantStatus)
    problems.push(`exit status ${run.summary.exitCode}, expected ${wantStatus}: ${run.stderr.slice(0, 300)}`);

  if (c.detect === false && alerts.length > 0) problems.push(`expected no alert, got ${alerts.length}`);
  if (c.detect === true) {
    if (alerts.length === 0) problems.push('expected alerts, got none');
    for (const level of asArray(c.detect_level)) {
      const want = parsePriority(level);
      const n = alerts.filter((a) => parsePriority(a.priority) === want).length;
      if (n === 0) problems.push(`no alert of priority ${level}`);
    }
  }
  for (const entry of c.detect_counts ?? []) {
    for (const [rule, count] of Object.entries(entry)) {
      const n = alerts.filter((a) => a.rule === rule).length;
      if (n !== count) problems.push(`rule '${rule}': ${n} alerts, expected ${count}`);
    }
  }
  const outputText = json ? run.stdout : textRun.stdout;
  for (const p of asArray(c.stdout_contains as string | string[] | undefined)) {
    if (skipped.stdout_contains) continue;
    if (!pyRegex(p).test(outputText)) problems.push(`stdout does not match /${p}/`);
  }
  for (const p of asArray(c.stderr_contains as string | string[] | undefined)) {
    if (skipped.stderr_contains) continue;
    if (!pyRegex(p).test(run.stderr)) problems.push(`stderr does not match /${p}/`);
  }
  for (const entry of asArray(
    c.output_strictly_contains as Record<string, string> | Record<string, string>[] | undefined,
  )) {
    for (const [where, file] of Object.entries(entry)) {
      if (where !== 'stdout') {
        problems.push(`output location ${where} is not stdout`);
        continue;
      }
      const lines = new Set(outputText.split('\n'));
      // Spec paths `output_files/X` live in syscall/output_files/.
      const expected = readFileSync(fixturePath('syscall', file), 'utf8')
        .split('\n')
        .filter((l) => l !== '');
      const missing = expected.filter((l) => !lines.has(l));
      if (missing.length > 0)
        problems.push(`${missing.length} of ${expected.length} expected lines missing, first: ${missing[0]}`);
    }
  }
  if (c.rules_warning !== undefined && !skipped.rules_warning) problems.push('rules_warning is not checked');
  return problems;
}

const cases: FalcoTestCase[] = haveFixtures
  ? readFalcoSpec('syscall', 'falco_tests.yaml').filter((c) => typeof c.trace_file === 'string')
  : [];
const runnable = cases.filter((c) => !(c.name in NOT_RUN));

describe.skipIf(!haveFixtures)('legacy falco_tests.yaml syscall cases (committed captures)', () => {
  it('lists exactly the cases it does not run', () => {
    const names = new Set(cases.map((c) => c.name));
    expect(cases.length).toBeGreaterThan(90);
    // Every listed case exists (no stale entries) ...
    expect(Object.keys(NOT_RUN).filter((n) => !names.has(n))).toEqual([]);
    expect(Object.keys(KNOWN_FAILURES).filter((n) => !names.has(n) || n in NOT_RUN)).toEqual([]);
    expect(Object.keys(CHECKS_NOT_APPLICABLE).filter((n) => !names.has(n) || n in NOT_RUN)).toEqual([]);
    // ... and validation cases are exactly the ones that only validate rules.
    const validation = cases.filter((c) => c.validate_rules_file !== undefined).map((c) => c.name);
    expect(Object.keys(NOT_RUN).filter((n) => NOT_RUN[n] === VALIDATION)).toEqual(validation);
    console.log(
      `falco_tests.yaml: ${cases.length} cases with a capture; ${runnable.length} run; ${cases.length - runnable.length} not run (${validation.length} validation runs)`,
    );
  });

  const results = new Map<string, { legacy: string[]; exitOnly: string[] }>();

  for (const c of runnable) {
    const known = KNOWN_FAILURES[c.name];
    it(`${c.name}${known ? ' (known failure)' : ''}`, async () => {
      const legacy = await checkCase(c, true);
      const exitOnly = await checkCase(c, false);
      results.set(c.name, { legacy, exitOnly });
      if (known) {
        expect(legacy.length, `now passes: remove it from KNOWN_FAILURES (${known})`).toBeGreaterThan(0);
      } else {
        expect(legacy).toEqual([]);
      }
    });
  }

  it('reports the numbers (enter and exit events, and exit events only)', () => {
    const legacyPass = [...results.values()].filter((r) => r.legacy.length === 0).length;
    const exitPass = [...results.values()].filter((r) => r.exitOnly.length === 0).length;
    const lines = [
      `legacy syscall cases: ${legacyPass}/${runnable.length} pass with enter and exit events (Falco 0.35 semantics); ${exitPass}/${runnable.length} with exit events only (Falco >= 0.42)`,
    ];
    for (const [name, r] of results) {
      if (r.legacy.length > 0) lines.push(`  ${name} (enter+exit): ${r.legacy.join('; ')}`);
      if (r.exitOnly.length > 0 && r.legacy.length === 0)
        lines.push(`  ${name} (exit only): ${r.exitOnly.join('; ')}`);
    }
    console.log(lines.join('\n'));
    expect(results.size).toBe(runnable.length);
    expect(legacyPass).toBe(runnable.length - Object.keys(KNOWN_FAILURES).length);
  });
});

describe.skipIf(haveFixtures)('legacy falco_tests.yaml syscall cases (fixtures absent)', () => {
  it.skip(FIXTURES_SKIP_REASON, () => undefined);
});

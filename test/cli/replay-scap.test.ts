/**
 * `vigil replay` on scap captures, through the built binary: detection by name or magic, exit events
 * only by default (Falco >= 0.42) and enter events with `--all-events`, the scap reader's counters in
 * the summary, and corrupt or truncated captures reported with their byte offset while the other files
 * are still replayed.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { runVigil } from '../helpers/cli.js';
import { FIXTURES_SKIP_REASON, fixturePath, haveFixtures } from '../helpers/fixtures.js';

const RULES = `
- rule: open_from_cat
  desc: a process named cat opens a file
  condition: evt.type=open and proc.name=cat
  output: "An open was seen (command=%proc.cmdline file=%fd.name dir=%evt.dir)"
  priority: WARNING
  tags: [filesystem]
`;

/** The number of `cat` opens in cat_write.scap (each an enter and an exit event). */
const OPENS = 4;

let dir: string;
let capture: string;
let rules: string;

function alertLines(stdout: string): string[] {
  return stdout.split('\n').filter((l) => l.trim() !== '');
}

describe.skipIf(!haveFixtures)('vigil replay with scap captures', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-replay-scap-'));
    capture = fixturePath('syscall', 'scap', 'cat_write.scap');
    rules = join(dir, 'rules.yaml');
    writeFileSync(rules, RULES);
  });

  it('reads a .scap file as syscall events and evaluates exit events only, like Falco >= 0.42', () => {
    const r = runVigil(['replay', '--rules', rules, capture]);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
    const alerts = alertLines(r.stdout);
    expect(alerts).toHaveLength(OPENS);
    // The exit event carries the opened fd: the files cat opens, in order.
    expect(alerts.map((a) => /file=(\S+) dir=(.)\)/.exec(a)?.slice(1))).toEqual([
      ['/etc/ld.so.cache', '<'],
      ['/lib/x86_64-linux-gnu/libc.so.6', '<'],
      ['/usr/lib/locale/locale-archive', '<'],
      ['/dev/null', '<'],
    ]);
    expect(alerts[0]).toMatch(/^16:17:57\.881785348: Warning An open was seen \(command=cat \/dev\/null /);
    expect(r.stderr).toMatch(/from 1 file \(syscall\)/);
    expect(r.stderr).toMatch(
      /scap: 1 capture, \d+ events read, \d+ evaluated \(exit events only, like Falco >= 0\.42\); 0 skipped .*; 0 malformed events; 0 corrupt or truncated captures/,
    );
  });

  it('evaluates enter events too with --all-events', () => {
    const r = runVigil(['replay', '--all-events', '--rules', rules, capture]);
    expect(r.status).toBe(0);
    const alerts = alertLines(r.stdout);
    expect(alerts).toHaveLength(2 * OPENS);
    // The enter event has no fd yet: fd.name is <NA>.
    expect(alerts.filter((a) => a.includes('file=<NA> dir=>)'))).toHaveLength(OPENS);
    expect(alerts.filter((a) => a.includes('dir=<)'))).toHaveLength(OPENS);
    expect(r.stderr).toMatch(/evaluated \(enter and exit events\)/);
    const read = /(\d+) events read, (\d+) evaluated/.exec(r.stderr);
    const exitOnly = /(\d+) events read, (\d+) evaluated/.exec(
      runVigil(['replay', '--rules', rules, capture]).stderr,
    );
    expect(Number(read?.[2])).toBeGreaterThan(Number(exitOnly?.[2]));
    expect(read?.[1]).toBe(exitOnly?.[1]);
  });

  it('recognises captures by their magic, gzipped or not, whatever their name', () => {
    const gz = join(dir, 'capture.bin');
    copyFileSync(capture, gz);
    const plain = join(dir, 'capture.raw');
    writeFileSync(plain, gunzipSync(readFileSync(capture)));
    for (const file of [gz, plain]) {
      const r = runVigil(['replay', '--json', '--rules', rules, file]);
      expect(r.status, r.stderr).toBe(0);
      const alerts = alertLines(r.stdout).map((l) => JSON.parse(l) as { rule: string; source: string });
      expect(alerts).toHaveLength(OPENS);
      expect(alerts.every((a) => a.rule === 'open_from_cat' && a.source === 'syscall')).toBe(true);
      expect(r.stderr).toMatch(/scap: 1 capture/);
    }
  });

  it('reports a truncated capture with its byte offset and still replays the other files', () => {
    const whole = gunzipSync(readFileSync(capture));
    const cut = join(dir, 'cut.scap');
    // Cut inside a block well past the process list, so some events come out before the damage.
    const at = Math.floor(whole.length * 0.8);
    writeFileSync(cut, whole.subarray(0, at));
    const r = runVigil(['replay', '--rules', rules, cut, capture]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `scap: ${cut.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: corrupt or truncated capture: truncated block .* \\(at byte offset \\d+\\); the events before it were replayed`,
      ),
    );
    expect(r.stderr).toMatch(/scap: 2 captures, .* 1 corrupt or truncated capture\b/);
    // Every alert of the intact capture, plus what the cut one held before the cut.
    const alerts = alertLines(r.stdout);
    expect(alerts.length).toBeGreaterThanOrEqual(OPENS);
    expect(alerts.length).toBeLessThanOrEqual(2 * OPENS);
    expect(r.stderr).toMatch(/from 2 files \(syscall\)/);
  });

  it('reports a cut gzip stream and a file that is not a capture', () => {
    const gz = readFileSync(capture);
    const cutGz = join(dir, 'cut-gzip.scap');
    writeFileSync(cutGz, gz.subarray(0, Math.floor(gz.length / 2)));
    const notScap = join(dir, 'notes.scap');
    writeFileSync(notScap, 'this is not a capture\n');
    const r = runVigil(['replay', '--rules', rules, cutGz, notScap, capture]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /cut-gzip\.scap: corrupt or truncated capture: gzip stream is corrupt or truncated/,
    );
    expect(r.stderr).toMatch(
      /notes\.scap: corrupt or truncated capture: not a scap capture: .* \(at byte offset 0\)/,
    );
    expect(r.stderr).toMatch(/2 corrupt or truncated captures/);
    expect(alertLines(r.stdout).length).toBeGreaterThanOrEqual(OPENS);
  });

  it('replays JSON lines and captures in one run', () => {
    const jsonl = join(dir, 'events.jsonl');
    const proc = { pid: 7, tid: 7, name: 'cat', exe: '/bin/cat', args: ['/etc/hosts'] };
    writeFileSync(
      jsonl,
      JSON.stringify({
        type: 'open',
        dir: '<',
        ts: '1700000000000000000',
        res: 3,
        proc,
        fd: { num: 3, type: 'file', name: '/etc/hosts' },
      }) + '\n',
    );
    const r = runVigil(['replay', '--rules', rules, jsonl, capture]);
    expect(r.status, r.stderr).toBe(0);
    const alerts = alertLines(r.stdout);
    expect(alerts).toHaveLength(OPENS + 1);
    expect(alerts[0]).toMatch(/file=\/etc\/hosts/);
    expect(r.stderr).toMatch(/from 2 files \(syscall\)/);
  });

  it('refuses disabling (-D/-T) and enabling (-t) rules together, as Falco does', () => {
    const r = runVigil(['replay', '--rules', rules, '-T', 'a', '-t', 'b', capture]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/You can not specify both disabled \(-D\/-T\) and enabled \(-t\) rules/);
    expect(r.stdout).toBe('');
  });
});

describe.skipIf(haveFixtures)('vigil replay with scap captures (fixtures absent)', () => {
  it.skip(FIXTURES_SKIP_REASON, () => undefined);
});

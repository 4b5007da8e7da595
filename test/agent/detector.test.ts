/**
 * The detector end to end on this host: eBPF (and ptrace) capture → state → Vigil's default rules →
 * alerts, stop summary, drop accounting, hot reload. Needs root and the probe built; skips naming why.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDetector, DetectorError } from '../../src/agent/detector.js';
import type { Alert } from '../../src/engine/engine.js';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { ebpfSkipReason } from '../helpers/ebpf.js';
import { withHostLock } from '../helpers/host-lock.js';

const RULES = join(REPO_ROOT, 'rules', 'vigil_rules.yaml');

const EBPF_SKIP = await ebpfSkipReason();
if (EBPF_SKIP) console.warn(`[vigil tests] skipping live detector tests: ${EBPF_SKIP}`);

describe.skipIf(EBPF_SKIP !== undefined)('detector on eBPF', () => {
  it('raises the default rule for a read of /etc/shadow by a command it runs, then summarises', async () => {
    const alerts: Alert[] = [];
    const d = createDetector({
      rulesFiles: [RULES],
      driver: 'ebpf',
      command: ['sh', '-c', 'head -c1 /etc/shadow >/dev/null'],
      commandStdio: 'ignore',
      onAlert: (a) => alerts.push(a),
    });
    const started = await d.start();
    expect(started.driver).toBe('ebpf');
    expect(started.syscalls).toContain('openat');
    await d.done;
    const summary = await d.stop();
    expect(summary.commandExit).toBe(0);
    const hit = alerts.find(
      (a) =>
        a.rule === 'Password Or Sudoers File Read By Untrusted Program' &&
        a.outputFields['proc.name'] === 'head',
    );
    expect(hit, JSON.stringify(alerts.map((a) => a.rule))).toBeDefined();
    expect(hit!.outputFields['fd.name']).toBe('/etc/shadow');
    expect(hit!.outputFields['container.id']).toBe('host');
    expect(summary.events).toBeGreaterThan(0);
    expect(summary.evaluated).toBeGreaterThan(0);
    expect(summary.alertsByRule['Password Or Sudoers File Read By Untrusted Program']).toBeGreaterThanOrEqual(
      1,
    );
    expect(summary.dropsTotal).toBe(0);
  }, 60_000);

  it('repeated opens: every read of /etc/shadow raises its alert, a storm of a plain file reuses verdicts and is counted in the probe', async () => {
    const workload = join(REPO_ROOT, 'native', 'bpf', 'build', 'vigil-workload');
    const dir = mkdtempSync(join(tmpdir(), 'vigil-repeats-'));
    const plain = join(dir, 'plain.txt');
    writeFileSync(plain, 'x');
    // Not while another test's storm runs: its opens would break the runs the probe counts (and
    // two storms at once can overrun the agent).
    await withHostLock('storm', async () => {
      const alerts: Alert[] = [];
      const d = createDetector({
        rulesFiles: [RULES],
        driver: 'ebpf',
        command: ['sh', '-c', `${workload} storm 2000 /etc/shadow && ${workload} storm 200000 ${plain}`],
        commandStdio: 'ignore',
        onAlert: (a) => alerts.push(a),
      });
      await d.start();
      await d.done;
      const summary = await d.stop();
      expect(summary.commandExit).toBe(0);
      expect(summary.dropsTotal).toBe(0);
      // A match is never answered from a previous verdict: one alert per open.
      const shadow = alerts.filter(
        (a) =>
          a.outputFields['fd.name'] === '/etc/shadow' && a.outputFields['proc.name'] === 'vigil-workload',
      );
      expect(shadow).toHaveLength(2000);
      expect(alerts.filter((a) => a.outputFields['fd.name'] === plain)).toEqual([]);
      // The plain file's opens come one after another: most of them reuse the verdict (other host
      // activity in between breaks a streak now and then).
      expect(summary.reused).toBeGreaterThan(100_000);
      expect(summary.reused).toBeLessThan(summary.evaluated);
      // Once the agent consented (a round trip of a hand-over or two, ~50 ms: a storm this long
      // outlasts it), the probe counted most of the rest instead of sending them; the counts are
      // part of the events.
      expect(summary.reusedInKernel).toBeGreaterThan(50_000);
      expect(summary.reusedInKernel).toBeLessThanOrEqual(summary.reused);
      expect(summary.events).toBeGreaterThanOrEqual(202_000);
    });
  }, 180_000);

  it('hot reload: an invalid file keeps the running rules; a valid one with a new event type re-attaches', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-reload-'));
    const file = join(dir, 'rules.yaml');
    const ruleA = `- rule: marker open\n  desc: d\n  condition: evt.type = openat and fd.name = ${dir}/a\n  output: open %fd.name\n  priority: WARNING\n`;
    writeFileSync(file, ruleA);
    const alerts: Alert[] = [];
    const d = createDetector({ rulesFiles: [file], driver: 'ebpf', onAlert: (a) => alerts.push(a) });
    const started = await d.start();
    expect(started.syscalls).not.toContain('mkdir');
    writeFileSync(file, ruleA + '- rule: broken\n  condition: evt.type = = x\n');
    const bad = await d.reload();
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.details.join('\n')).toMatch(/rules\.yaml:\d+:\d+/);
    writeFileSync(
      file,
      ruleA +
        `- rule: marker mkdir\n  desc: d\n  condition: evt.type in (mkdir, mkdirat) and evt.arg.path = ${dir}/m\n  output: mkdir %evt.arg.path\n  priority: WARNING\n`,
    );
    const good = await d.reload();
    expect(good).toMatchObject({ ok: true, recaptured: true });
    writeFileSync(join(dir, 'a'), 'x');
    readFileSync(join(dir, 'a'));
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'm'));
    await new Promise((r) => setTimeout(r, 500));
    const summary = await d.stop();
    expect(alerts.map((a) => a.rule)).toContain('marker open');
    expect(alerts.map((a) => a.rule)).toContain('marker mkdir');
    expect(summary.reloads).toEqual({ ok: 1, failed: 1 });
  }, 90_000);
});

describe('detector errors', () => {
  it('refuses invalid rules with file:line:col', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-bad-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      '- rule: x\n  desc: d\n  condition: evt.type = = open\n  output: o\n  priority: WARNING\n',
    );
    expect(() => createDetector({ rulesFiles: [file], onAlert: () => {} })).toThrow(DetectorError);
    try {
      createDetector({ rulesFiles: [file], onAlert: () => {} });
    } catch (e) {
      expect((e as Error).message).toContain(`${file}:3:`);
      expect((e as DetectorError).exitCode).toBe(1);
    }
  });
  it('ptrace without a command or pid is a usage error', async () => {
    const d = createDetector({ rulesFiles: [RULES], driver: 'ptrace', onAlert: () => {} });
    await expect(d.start()).rejects.toMatchObject({ exitCode: 2 });
  });
});

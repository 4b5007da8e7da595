/**
 * The program sink with real `sh -c` commands: alerts arrive on the program's stdin one per line; a
 * program that dies is restarted and gets the alerts that were waiting; a program that keeps exiting
 * is restarted with backoff while the queue overflows and counts its drops; closing stops the program.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatAlertJson, formatAlertText } from '../../src/engine/output/alert-format.js';
import { parseSinksConfig, type ProgramSinkConfig } from '../../src/sinks/index.js';
import { ProgramSink } from '../../src/sinks/program.js';
import { makeAlert, waitFor } from './make-alert.js';

const dir = mkdtempSync(join(tmpdir(), 'vigil-program-sink-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function programSink(raw: Record<string, unknown>, logs: string[] = []): ProgramSink {
  const [config] = parseSinksConfig({ sinks: [{ type: 'program', ...raw }] }, '').sinks;
  return new ProgramSink(config as ProgramSinkConfig, { log: (m) => logs.push(m) });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function lines(path: string): string[] {
  return existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
    : [];
}

describe('program sink', () => {
  it("pipes alerts to `sh -c 'cat >> FILE'`, one per line, and ends the program on close", async () => {
    const out = join(dir, 'cat.jsonl');
    const sink = programSink({ command: `cat >> '${out}'`, format: 'json' });
    const alerts = Array.from({ length: 500 }, () => makeAlert());
    for (const a of alerts) sink.send(a);
    await sink.flush();
    const pid = sink.pid;
    expect(pid).toBeDefined();
    await sink.close();
    expect(lines(out)).toEqual(alerts.map((a) => formatAlertJson(a)));
    expect(sink.stats()).toMatchObject({ sent: 500, restarts: 0, failed: 0 });
    expect(alive(pid!)).toBe(false);
  });

  it('restarts a program that died and delivers what was waiting', async () => {
    const out = join(dir, 'restart.log');
    const logs: string[] = [];
    const sink = programSink({ command: `cat >> '${out}'`, restart: { initial_backoff: '20ms' } }, logs);
    const first = [makeAlert(), makeAlert()];
    for (const a of first) sink.send(a);
    await sink.flush();
    // Lines in the pipe that cat has not read yet die with it; wait until it has written them.
    await waitFor(() => lines(out).length === 2, 'cat to write the first alerts');
    const pid = sink.pid!;
    process.kill(-pid, 'SIGKILL'); // the program's group, which the sink created
    await waitFor(() => sink.pid === undefined, 'the sink to notice the exit');
    const later = [makeAlert(), makeAlert(), makeAlert()];
    for (const a of later) sink.send(a);
    await sink.flush();
    expect(sink.pid).toBeDefined();
    expect(sink.pid).not.toBe(pid);
    await sink.close();
    expect(lines(out)).toEqual([...first, ...later].map((a) => formatAlertText(a)));
    expect(sink.stats()).toMatchObject({ sent: 5, restarts: 1 });
    expect(logs.some((l) => l.includes('exited (SIGKILL)'))).toBe(true);
  });

  it('keeps restarting a program that exits, with backoff, counting drops while it is down', async () => {
    const logs: string[] = [];
    const sink = programSink(
      {
        command: 'exit 3',
        queue_size: 5,
        restart: { initial_backoff: '5s', max_backoff: '5s' },
        close_timeout: '100ms',
      },
      logs,
    );
    sink.send(makeAlert());
    await waitFor(() => logs.some((l) => l.includes('exited (status 3)')), 'the program to exit');
    // The program is down for ≥ 2.5 s (5 s with jitter): everything beyond the queue is dropped, and sending stays instant.
    const started = process.hrtime.bigint();
    for (let i = 0; i < 1000; i++) sink.send(makeAlert());
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    console.log(`[sinks] program: 1000 sends while the program was down took ${ms.toFixed(2)} ms`);
    const st = sink.stats();
    expect(st.dropped.queue_full).toBeGreaterThanOrEqual(995);
    expect(st.queued).toBeLessThanOrEqual(6);
    await sink.close();
    const end = sink.stats();
    expect(end.queued).toBe(0);
    expect(end.accepted).toBe(end.sent + end.dropped.closed + end.dropped.retries_exhausted);
    expect(end.dropped.closed).toBeGreaterThan(0);
  });

  it('stops a program that ignores the end of its input when closing', async () => {
    const sink = programSink({ command: 'exec sleep 30', close_timeout: '100ms' });
    sink.send(makeAlert());
    await sink.flush();
    const pid = sink.pid!;
    expect(alive(pid)).toBe(true);
    await sink.close();
    await waitFor(() => !alive(pid), 'the program to be stopped', 5000);
  });
});

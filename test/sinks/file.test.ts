/**
 * The file and stdout sinks on real files: Falco text and JSON lines, appending, and reopening after a
 * logrotate-style rename.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatAlertJson, formatAlertText } from '../../src/engine/output/alert-format.js';
import { createSink, parseSinksConfig, type Sink } from '../../src/sinks/index.js';
import { FileSink } from '../../src/sinks/file.js';
import { makeAlert } from './make-alert.js';

const dir = mkdtempSync(join(tmpdir(), 'vigil-file-sink-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sinkFor(raw: Record<string, unknown>, stdoutFd?: number): Sink {
  const [config] = parseSinksConfig({ sinks: [raw] }, '').sinks;
  return createSink(config!, stdoutFd === undefined ? {} : { stdoutFd });
}

function lines(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
}

describe('file sink', () => {
  it('appends Falco text lines to an existing file', async () => {
    const path = join(dir, 'text.log');
    writeFileSync(path, 'earlier line\n');
    const sink = sinkFor({ type: 'file', path });
    const alerts = [makeAlert(), makeAlert({ priority: 'WARNING' })];
    for (const a of alerts) sink.send(a);
    await sink.close();
    expect(lines(path)).toEqual(['earlier line', ...alerts.map((a) => formatAlertText(a))]);
    expect(lines(path)[2]).toMatch(/^\d\d:\d\d:\d\d\.\d{9}: Warning A shell was spawned/);
  });

  it('writes JSON lines with ISO times when asked', async () => {
    const path = join(dir, 'alerts.jsonl');
    const sink = sinkFor({ type: 'file', path, format: 'json', time_format: 'iso8601' });
    const alerts = Array.from({ length: 300 }, () => makeAlert());
    for (const a of alerts) sink.send(a);
    await sink.close();
    const got = lines(path);
    expect(got).toEqual(alerts.map((a) => formatAlertJson(a, 'iso8601')));
    const parsed = JSON.parse(got[0]!) as { output: string; rule: string };
    expect(parsed.rule).toBe('Terminal shell in container');
    expect(parsed.output).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z: Notice /);
  });

  it('keeps writing to the renamed file until reopen(), then starts a new file at the path', async () => {
    const path = join(dir, 'rotated.log');
    const sink = new FileSink(parseSinksConfig({ sinks: [{ type: 'file', path }] }, '').sinks[0] as never);
    const a1 = makeAlert();
    sink.send(a1);
    await sink.flush();
    renameSync(path, `${path}.1`); // what logrotate does
    const a2 = makeAlert();
    sink.send(a2);
    await sink.flush();
    sink.reopen();
    const a3 = makeAlert();
    const a4 = makeAlert();
    sink.send(a3);
    sink.send(a4);
    await sink.close();
    expect(lines(`${path}.1`)).toEqual([a1, a2].map((a) => formatAlertText(a)));
    expect(lines(path)).toEqual([a3, a4].map((a) => formatAlertText(a)));
    expect(sink.opens).toBe(2);
    expect(sink.stats()).toMatchObject({ sent: 4, failed: 0 });
  });

  it('creates the file on reopen even when nothing is sent (so the old one is released at once)', async () => {
    const path = join(dir, 'idle.log');
    const sink = new FileSink(parseSinksConfig({ sinks: [{ type: 'file', path }] }, '').sinks[0] as never);
    await sink.flush();
    rmSync(path);
    sink.reopen();
    await sink.flush();
    expect(readFileSync(path, 'utf8')).toBe('');
    await sink.close();
  });

  it('retries and then drops when the folder does not exist', async () => {
    const logs: string[] = [];
    const [config] = parseSinksConfig(
      {
        sinks: [
          {
            type: 'file',
            path: join(dir, 'missing', 'x.log'),
            retry: { max_retries: 1, initial_backoff: '1ms' },
          },
        ],
      },
      '',
    ).sinks;
    const sink = createSink(config!, { log: (m) => logs.push(m) });
    sink.send(makeAlert());
    await sink.close();
    expect(sink.stats().dropped.retries_exhausted).toBe(1);
    expect(sink.stats().lastError).toMatch(/ENOENT/);
    expect(logs.some((l) => l.includes('dropped after 2 attempt(s)'))).toBe(true);
  });
});

describe('stdout sink', () => {
  it('writes Falco lines to its descriptor (text by default, JSON when asked)', async () => {
    const path = join(dir, 'stdout.txt');
    const fd = openSync(path, 'a');
    try {
      const text = sinkFor({ type: 'stdout' }, fd);
      const a = makeAlert();
      text.send(a);
      await text.close();
      const json = sinkFor({ type: 'stdout', format: 'json' }, fd);
      const b = makeAlert();
      json.send(b);
      await json.close();
      expect(lines(path)).toEqual([formatAlertText(a), formatAlertJson(b)]);
    } finally {
      closeSync(fd);
    }
  });
});

/**
 * The configuration loader: the documented example file equals the built-in defaults, mistakes are
 * reported all at once with file:line:col, and flags > environment > file.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { parseDurationMs, parseListen, parseSizeBytes } from '../../src/config/reader.js';
import { REPO_ROOT } from '../helpers/fixtures.js';

const RULES = join(REPO_ROOT, 'rules');
const EXAMPLE = join(REPO_ROOT, 'config', 'vigil.yaml');

function tmpFile(text: string): string {
  const f = join(mkdtempSync(join(tmpdir(), 'vigil-config-')), 'vigil.yaml');
  writeFileSync(f, text);
  return f;
}

function issues(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('the documented example file states the built-in defaults', () => {
    const fromFile = loadConfig(EXAMPLE, {}, {}, RULES);
    const builtIn = loadConfig(undefined, {}, {}, RULES);
    expect(fromFile).toEqual(builtIn);
    expect(builtIn.hub.listen).toEqual({ host: '127.0.0.1', port: 7878 });
    expect(builtIn.store.url).toBe(`sqlite:${join(process.cwd(), 'vigil-data', 'vigil.db')}`);
    expect(builtIn.rules.files).toEqual([RULES]);
    expect(builtIn.sinks.sinks.map((s) => s.type)).toEqual(['stdout']);
    expect(builtIn.store.retention.maxAgeMs).toBe(30 * 86_400_000);
  });

  it('reports every mistake with file:line:col', () => {
    const f = tmpFile(
      [
        'hub:',
        '  listen: nowhere',
        '  tokens: [short]',
        'capture:',
        '  driver: kmod',
        '  ringbuf_mb: 3',
        'bogus: 1',
        'sinks:',
        '  - type: webhook',
        '',
      ].join('\n'),
    );
    const got = issues(() => loadConfig(f, {}, {}, RULES));
    expect(got).toEqual(
      expect.arrayContaining([
        `${f}:2:3: hub.listen: must be HOST:PORT, e.g. 127.0.0.1:7878 or [::1]:7878 or :7878`,
        expect.stringMatching(new RegExp(`^${f}:3:3: hub.tokens: tokens must be at least 16 characters`)),
        `${f}:5:3: capture.driver: must be one of: auto, ebpf, ptrace`,
        `${f}:6:3: capture.ringbuf_mb: must be a power of two`,
        expect.stringMatching(new RegExp(`^${f}:7:1: bogus: unknown key`)),
        expect.stringMatching(new RegExp(`^${f}:9:5: sinks\\[0\\]\\.url: is required`)),
      ]),
    );
  });

  it('reads the capture flush interval from the file or VIGIL_CAPTURE_FLUSH_MS', () => {
    expect(loadConfig(undefined, {}, {}, RULES).capture.flushMs).toBe(50);
    expect(loadConfig(tmpFile('capture:\n  flush_interval: 200ms\n'), {}, {}, RULES).capture.flushMs).toBe(
      200,
    );
    expect(loadConfig(tmpFile('capture:\n  flush_interval: 0\n'), {}, {}, RULES).capture.flushMs).toBe(0);
    const env = { VIGIL_CAPTURE_FLUSH_MS: '20' };
    expect(loadConfig(tmpFile('capture:\n  flush_interval: 200ms\n'), env, {}, RULES).capture.flushMs).toBe(
      20,
    );
    const f = tmpFile('capture:\n  flush_interval: 2s\n');
    expect(issues(() => loadConfig(f, {}, {}, RULES))).toEqual([
      `${f}:2:3: capture.flush_interval: must be a whole number of milliseconds up to 1s`,
    ]);
    expect(issues(() => loadConfig(undefined, { VIGIL_CAPTURE_FLUSH_MS: '5s' }, {}, RULES))).toEqual([
      'VIGIL_CAPTURE_FLUSH_MS: must be milliseconds from 0 to 1000',
    ]);
  });

  it('reports YAML syntax errors with their position', () => {
    const f = tmpFile('hub:\n  listen: [oops\n');
    const got = issues(() => loadConfig(f, {}, {}, RULES));
    expect(got[0]).toMatch(new RegExp(`^${f}:\\d+:\\d+: invalid YAML`));
  });

  it('flags override the environment, which overrides the file', () => {
    const f = tmpFile('hub:\n  listen: 127.0.0.1:1111\ncapture:\n  driver: ptrace\n');
    const env = {
      VIGIL_LISTEN: '127.0.0.1:2222',
      VIGIL_DRIVER: 'ebpf',
      VIGIL_TOKEN: 'a-token-of-enough-length',
    };
    expect(loadConfig(f, {}, {}, RULES).hub.listen.port).toBe(1111);
    const e = loadConfig(f, env, {}, RULES);
    expect(e.hub.listen.port).toBe(2222);
    expect(e.capture.driver).toBe('ebpf');
    expect(e.hub.tokens).toEqual(['a-token-of-enough-length']);
    const fl = loadConfig(f, env, { listen: '[::1]:3333', driver: 'auto' }, RULES);
    expect(fl.hub.listen).toEqual({ host: '::1', port: 3333 });
    expect(fl.capture.driver).toBe('auto');
    expect(issues(() => loadConfig(f, { VIGIL_LISTEN: 'x' }, {}, RULES))[0]).toBe(
      'VIGIL_LISTEN: must be HOST:PORT, e.g. 127.0.0.1:7878',
    );
  });

  it('an agent with a remote hub does not run a local hub unless asked', () => {
    const c = loadConfig(undefined, { VIGIL_HUB_URL: 'http://hub:7878' }, {}, RULES);
    expect(c.hub.enabled).toBe(false);
    expect(c.agent.hubUrl).toBe('http://hub:7878');
    expect(issues(() => loadConfig(undefined, { VIGIL_HUB_URL: 'hub:7878' }, {}, RULES))[0]).toMatch(
      /agent.hub_url: must be an http\(s\) URL/,
    );
    expect(issues(() => loadConfig(undefined, {}, { capture: false, hub: false }, RULES))[0]).toMatch(
      /nothing to run/,
    );
  });

  it('parses durations, sizes and listen addresses', () => {
    expect(parseDurationMs('30d')).toBe(30 * 86_400_000);
    expect(parseDurationMs('1.5s')).toBe(1500);
    expect(parseDurationMs(2)).toBe(2000);
    expect(parseDurationMs('5 minutes')).toBeUndefined();
    expect(parseSizeBytes('8MiB')).toBe(8 * 1024 * 1024);
    expect(parseSizeBytes('1GB')).toBe(1e9);
    expect(parseSizeBytes('-1')).toBeUndefined();
    expect(parseListen(':7878')).toEqual({ host: '0.0.0.0', port: 7878 });
    expect(parseListen('localhost:99999')).toBeUndefined();
  });
});

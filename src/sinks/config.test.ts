/** parseSinksConfig: defaults, every kind, and errors that name the offending path. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEFAULT_FLOOD_KEY_FIELDS, SinksConfigError, parseSinksConfig } from './config.js';

function issuesOf(value: unknown, where = ''): string[] {
  try {
    parseSinksConfig(value, where);
  } catch (err) {
    if (err instanceof SinksConfigError) return err.issues;
    throw err;
  }
  throw new Error('expected a SinksConfigError');
}

describe('parseSinksConfig', () => {
  it('defaults to one stdout text sink and flood control on (60 s, rule + process/container key)', () => {
    const c = parseSinksConfig({}, '');
    expect(c.sinks).toHaveLength(1);
    expect(c.sinks[0]).toMatchObject({
      type: 'stdout',
      name: 'stdout',
      format: 'text',
      timeFormat: 'clock',
      queueSize: 10_000,
    });
    expect(c.floodControl).toMatchObject({ enabled: true, windowMs: 60_000, overrides: [] });
    expect(c.floodControl.keyFields).toEqual([...DEFAULT_FLOOD_KEY_FIELDS]);
    expect(parseSinksConfig(undefined, '').sinks).toHaveLength(1);
    expect(parseSinksConfig({ sinks: [] }, '').sinks).toEqual([]);
  });

  it('reads every kind with its options and per-kind defaults', () => {
    const c = parseSinksConfig(
      {
        sinks: [
          { type: 'stdout', format: 'json', time_format: 'iso8601' },
          { type: 'file', path: '/var/log/vigil.log', mode: 0o600, queue_size: 50 },
          {
            type: 'webhook',
            url: 'https://sidekick:2801/',
            headers: { Authorization: 'Bearer x', 'X-N': 3 },
            insecure_skip_verify: true,
            timeout: '2s',
          },
          {
            type: 'alertmanager',
            url: 'http://am:9093',
            expiry: '15m',
            labels: { cluster: 'prod' },
            label_fields: ['k8s.pod.name'],
            batch_size: 20,
          },
          {
            type: 'program',
            command: 'jq -c . >> /tmp/x',
            restart: { initial_backoff: '1s', max_backoff: '1m' },
          },
          { type: 'store', retry: { max_retries: 0 } },
          { type: 'webhook', url: 'http://b/', name: 'slack' },
          { type: 'webhook', url: 'http://c/' },
        ],
      },
      '',
    );
    const [stdout, file, webhook, am, program, store, slack, webhook2] = c.sinks;
    expect(stdout).toMatchObject({ format: 'json', timeFormat: 'iso8601' });
    expect(file).toMatchObject({
      type: 'file',
      path: '/var/log/vigil.log',
      mode: 0o600,
      queueSize: 50,
      format: 'text',
    });
    expect(webhook).toMatchObject({
      name: 'webhook',
      headers: { Authorization: 'Bearer x', 'X-N': '3' },
      insecureSkipVerify: true,
      timeoutMs: 2000,
      batchSize: 1,
      retry: { maxRetries: 5, initialBackoffMs: 500, maxBackoffMs: 30_000 },
    });
    expect(am).toMatchObject({
      expiryMs: 900_000,
      labels: { cluster: 'prod' },
      labelFields: ['k8s.pod.name'],
      batchSize: 20,
    });
    expect(program).toMatchObject({
      command: 'jq -c . >> /tmp/x',
      restart: { initialBackoffMs: 1000, maxBackoffMs: 60_000 },
    });
    expect(store).toMatchObject({ type: 'store', retry: { maxRetries: 0 } });
    expect(slack?.name).toBe('slack');
    expect(
      parseSinksConfig({ sinks: [{ type: 'file', path: 'x', mode: '0600' }] }, '').sinks[0],
    ).toMatchObject({ mode: 0o600 });
    expect(webhook2?.name).toBe('webhook-2');
  });

  it('names the path of every mistake, all at once', () => {
    const issues = issuesOf(
      {
        sinks: [
          { type: 'stdout', format: 'yaml' },
          { type: 'file' },
          { type: 'webhook', url: 'ftp://x/' },
          { type: 'alertmanager', url: 'not a url', labels: { 'bad-name': 'x' } },
          { type: 'smoke-signal' },
          {
            type: 'program',
            command: 'x',
            retry: { max_backoff: '1ms', initial_backoff: '1s' },
            colour: 'red',
          },
          { type: 'stdout', queue_size: 0, close_timeout: 'soon' },
        ],
        flood_control: { window: -1, overrides: [{ enabled: false }] },
      },
      'output',
    );
    expect(issues).toEqual(
      expect.arrayContaining([
        'output.sinks[0].format: must be one of: text, json',
        'output.sinks[1].path: is required',
        'output.sinks[2].url: must be an http(s) URL',
        'output.sinks[3].url: must be an http(s) URL',
        'output.sinks[3].labels.bad-name: is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)',
        'output.sinks[4].type: must be one of: stdout, file, webhook, alertmanager, program, store',
        'output.sinks[5].retry.max_backoff: must not be less than initial_backoff',
        expect.stringMatching(/^output\.sinks\[5\]\.colour: unknown key/),
        'output.sinks[6].queue_size: must be an integer from 1 to 10000000',
        'output.sinks[6].close_timeout: must be a duration such as 500ms, 10s, 5m, 1h, 30d (or seconds)',
        'output.flood_control.window: must be a duration such as 500ms, 10s, 5m, 1h, 30d (or seconds)',
        'output.flood_control.overrides[0]: must name `rules` or `tags`',
      ]),
    );
    expect(issues).toHaveLength(12);
  });

  it('expands ${NAME} in URLs and header values from the environment, and names what is missing', () => {
    const env = { SIDEKICK_TOKEN: 's3cret', SIDEKICK_HOST: 'sidekick.falco' };
    const c = parseSinksConfig(
      {
        sinks: [
          {
            type: 'webhook',
            url: 'http://${SIDEKICK_HOST}:2801/',
            headers: { Authorization: 'Bearer ${SIDEKICK_TOKEN}', 'X-Literal': 'cost $${price}' },
          },
        ],
      },
      '',
      env,
    );
    expect(c.sinks[0]).toMatchObject({
      url: 'http://sidekick.falco:2801/',
      headers: { Authorization: 'Bearer s3cret', 'X-Literal': 'cost ${price}' },
    });
    let issues: string[] = [];
    try {
      parseSinksConfig(
        {
          sinks: [
            {
              type: 'webhook',
              url: 'http://h/',
              headers: { Authorization: 'Bearer ${NOPE}', 'X-Bad': '${1x}' },
            },
            { type: 'alertmanager', url: 'http://${AM_HOST}:9093' },
          ],
        },
        '',
        env,
      );
    } catch (err) {
      if (!(err instanceof SinksConfigError)) throw err;
      issues = err.issues;
    }
    expect(issues).toEqual([
      'sinks[0].headers.Authorization: environment variable NOPE is not set',
      'sinks[0].headers.X-Bad: "${1x}" is not a variable reference (use ${NAME}, or $${ for a literal ${)',
      'sinks[1].url: environment variable AM_HOST is not set',
    ]);
  });

  it('rejects duplicate names and non-list sinks', () => {
    expect(
      issuesOf({
        sinks: [
          { type: 'stdout', name: 'a' },
          { type: 'store', name: 'a' },
        ],
      }),
    ).toEqual(['sinks[1].name: duplicate sink name "a"']);
    expect(issuesOf({ sinks: { type: 'stdout' } })).toEqual(['sinks: must be a list of sinks']);
    expect(issuesOf({ sinks: [{ format: 'json' }] })).toEqual([
      'sinks[0].type: is required (one of: stdout, file, webhook, alertmanager, program, store)',
    ]);
  });

  it('reads flood control: off, per-rule and per-tag overrides, durations in seconds', () => {
    expect(parseSinksConfig({ flood_control: false }, '').floodControl.enabled).toBe(false);
    expect(parseSinksConfig({ flood_control: { enabled: false } }, '').floodControl.enabled).toBe(false);
    const f = parseSinksConfig(
      {
        flood_control: {
          window: 30,
          key_fields: ['proc.name'],
          overrides: [
            { rules: ['Drop and execute*'], enabled: false },
            { tags: ['k8s_audit'], window: '5m', key_fields: ['ka.user.name'] },
          ],
        },
      },
      '',
    ).floodControl;
    expect(f).toMatchObject({
      enabled: true,
      windowMs: 30_000,
      keyFields: ['proc.name'],
      overrides: [
        { rules: ['Drop and execute*'], tags: [], enabled: false },
        { rules: [], tags: ['k8s_audit'], windowMs: 300_000, keyFields: ['ka.user.name'] },
      ],
    });
  });
});

describe('docs/sinks.md', () => {
  it('every YAML example parses', () => {
    const doc = readFileSync(new URL('../../docs/sinks.md', import.meta.url), 'utf8');
    const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThanOrEqual(7);
    const kinds = new Set<string>();
    for (const block of blocks) {
      // The examples' ${…} references, as a deployment would set them.
      const c = parseSinksConfig(parse(block), '', { SIDEKICK_TOKEN: 't0k3n' });
      for (const s of c.sinks) kinds.add(s.type);
    }
    expect([...kinds].sort()).toEqual(['alertmanager', 'file', 'program', 'stdout', 'store', 'webhook']);
    const flood = parseSinksConfig(
      parse(blocks.find((b) => b.startsWith('flood_control'))!),
      '',
    ).floodControl;
    expect(flood.overrides).toHaveLength(2);
    const file = parseSinksConfig(parse(blocks.find((b) => b.includes('type: file'))!), '').sinks[0];
    expect(file).toMatchObject({ mode: 0o640 });
  });
});

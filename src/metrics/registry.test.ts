import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONTENT_TYPE, escapeLabelValue, formatValue, MetricsRegistry } from './registry.js';

const PROMTOOL = '/usr/bin/promtool';

/** Sample lines (not comments) of an exposition, as name{labels} → value. */
function samples(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

describe('MetricsRegistry', () => {
  it('renders counters and gauges with HELP, TYPE and labels', () => {
    const r = new MetricsRegistry();
    const c = r.counter('vigil_test_requests_total', 'Requests.', ['route', 'code']);
    c.labels('/v1/alerts', '200').inc();
    c.labels({ route: '/v1/alerts', code: '200' }).inc(2);
    c.labels('/healthz', '200').inc();
    const g = r.gauge('vigil_test_queue_depth', 'Queue depth.');
    g.set(5);
    g.dec(2);
    const text = r.expose();
    expect(text).toContain(
      '# HELP vigil_test_requests_total Requests.\n# TYPE vigil_test_requests_total counter\n',
    );
    const s = samples(text);
    expect(s.get('vigil_test_requests_total{route="/v1/alerts",code="200"}')).toBe('3');
    expect(s.get('vigil_test_requests_total{route="/healthz",code="200"}')).toBe('1');
    expect(s.get('vigil_test_queue_depth')).toBe('3');
    expect(c.get('/v1/alerts', '200')).toBe(3);
    expect(text.endsWith('\n')).toBe(true);
    expect(CONTENT_TYPE).toMatch(/version=0\.0\.4/);
  });

  it('shows unlabelled metrics at 0 before any update', () => {
    const r = new MetricsRegistry();
    r.counter('vigil_test_x_total', 'X.');
    expect(samples(r.expose()).get('vigil_test_x_total')).toBe('0');
  });

  it('escapes label values and help text', () => {
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    const r = new MetricsRegistry();
    r.counter('vigil_test_rule_total', 'Per rule.\nSecond \\ line', ['rule']).labels('say "hi"\\\n').inc();
    const text = r.expose();
    expect(text).toContain('# HELP vigil_test_rule_total Per rule.\\nSecond \\\\ line\n');
    expect(text).toContain('vigil_test_rule_total{rule="say \\"hi\\"\\\\\\n"} 1\n');
  });

  it('renders histograms with cumulative buckets, +Inf, sum and count', () => {
    const r = new MetricsRegistry();
    const h = r.histogram('vigil_test_latency_seconds', 'Latency.', ['route'], [0.1, 1]);
    const child = h.labels('/a');
    for (const v of [0.05, 0.1, 0.5, 2, 3]) child.observe(v);
    const s = samples(r.expose());
    expect(s.get('vigil_test_latency_seconds_bucket{route="/a",le="0.1"}')).toBe('2');
    expect(s.get('vigil_test_latency_seconds_bucket{route="/a",le="1"}')).toBe('3');
    expect(s.get('vigil_test_latency_seconds_bucket{route="/a",le="+Inf"}')).toBe('5');
    expect(Number(s.get('vigil_test_latency_seconds_sum{route="/a"}'))).toBeCloseTo(5.65);
    expect(s.get('vigil_test_latency_seconds_count{route="/a"}')).toBe('5');
  });

  it('times with startTimer', () => {
    const r = new MetricsRegistry();
    const h = r.histogram('vigil_test_t_seconds', 'T.');
    const stop = h.startTimer();
    const secs = stop();
    expect(secs).toBeGreaterThanOrEqual(0);
    expect(samples(r.expose()).get('vigil_test_t_seconds_count')).toBe('1');
  });

  it('reads collectors at scrape time and merges families by name', () => {
    const r = new MetricsRegistry();
    let sent = 1;
    r.collect(() => [
      {
        name: 'vigil_sink_sent_total',
        help: 'Sent.',
        type: 'counter',
        samples: [{ labels: { sink: 'a' }, value: sent }],
      },
    ]);
    const remove = r.collect(() => [
      {
        name: 'vigil_sink_sent_total',
        help: 'Sent.',
        type: 'counter',
        samples: [{ labels: { sink: 'b' }, value: 9n }],
      },
    ]);
    sent = 7;
    const text = r.expose();
    expect(text.match(/# TYPE vigil_sink_sent_total/g)).toHaveLength(1);
    let s = samples(text);
    expect(s.get('vigil_sink_sent_total{sink="a"}')).toBe('7');
    expect(s.get('vigil_sink_sent_total{sink="b"}')).toBe('9');
    remove();
    s = samples(r.expose());
    expect(s.has('vigil_sink_sent_total{sink="b"}')).toBe(false);
  });

  it('skips collectors that throw or clash, and counts them', () => {
    const r = new MetricsRegistry();
    r.counter('vigil_test_a_total', 'A.');
    r.collect(() => {
      throw new Error('boom');
    });
    r.collect(() => [{ name: 'vigil_test_a_total', help: 'dup', type: 'counter', samples: [{ value: 1 }] }]);
    r.collect(() => [{ name: 'vigil_test_g', help: 'G.', type: 'gauge', samples: [{ value: 1 }] }]);
    r.collect(() => [{ name: 'vigil_test_g', help: 'G.', type: 'counter', samples: [{ value: 2 }] }]);
    const s = samples(r.expose());
    expect(s.get('vigil_test_a_total')).toBe('0');
    expect(s.get('vigil_test_g')).toBe('1');
    expect(s.get('vigil_metrics_collector_errors_total')).toBe('3');
  });

  it('rejects bad names, duplicate registration, wrong label counts and negative increments', () => {
    const r = new MetricsRegistry();
    expect(() => r.counter('bad-name', 'x')).toThrow(/invalid metric name/);
    expect(() => r.counter('vigil_x_total', 'x', ['__reserved'])).toThrow(/invalid label name/);
    expect(() => r.histogram('vigil_h', 'x', ['le'])).toThrow(/reserved/);
    expect(() => r.histogram('vigil_h2', 'x', [], [1, 0.5])).toThrow(/ascending/);
    const c = r.counter('vigil_y_total', 'y', ['a']);
    expect(() => r.gauge('vigil_y_total', 'again')).toThrow(/already registered/);
    expect(() => c.labels('1', '2')).toThrow(/expects 1 label values/);
    expect(() => c.labels({ b: 'x' })).toThrow(/label a missing/);
    expect(() => c.inc()).toThrow(/has labels/);
    expect(() => c.labels('1').inc(-1)).toThrow(/>= 0/);
  });

  it('formats special values', () => {
    expect(formatValue(NaN)).toBe('NaN');
    expect(formatValue(Infinity)).toBe('+Inf');
    expect(formatValue(-Infinity)).toBe('-Inf');
    expect(formatValue(2n ** 70n)).toBe('1180591620717411303424');
    expect(formatValue(0.25)).toBe('0.25');
  });

  it.skipIf(!existsSync(PROMTOOL))(
    'passes promtool check metrics (skipped: /usr/bin/promtool not installed)',
    () => {
      const r = new MetricsRegistry();
      r.counter('vigil_test_requests_total', 'Requests by route.', ['route']).labels('a"\\\nb').inc(3);
      r.gauge('vigil_test_depth', 'Depth.').set(2);
      r.histogram('vigil_test_latency_seconds', 'Latency.', ['route']).labels('/x').observe(0.003);
      r.collect(() => [
        {
          name: 'vigil_test_c_total',
          help: 'C.',
          type: 'counter',
          samples: [{ labels: { k: 'v' }, value: 1 }],
        },
      ]);
      const res = spawnSync(PROMTOOL, ['check', 'metrics'], { input: r.expose(), encoding: 'utf8' });
      expect(res.stderr + res.stdout).toBe('');
      expect(res.status).toBe(0);
    },
  );
});

/** The Alertmanager form of an alert (the real server is exercised in test/sinks/alertmanager.test.ts). */
import { describe, expect, it } from 'vitest';
import { makeAlert } from '../../test/sinks/make-alert.js';
import { alertsEndpoint, sanitizeLabelName, toPostableAlert } from './alertmanager.js';

describe('toPostableAlert', () => {
  const config = {
    expiryMs: 600_000,
    labelFields: ['proc.name', 'container.id', 'proc.aname[2]', 'proc.vpid', 'fd.name'],
    labels: { cluster: 'prod', rule: 'must not win' },
    annotations: { runbook: 'https://example/runbook' },
  };

  it('labels the rule, priority, source, hostname and the chosen fields; output in the annotations', () => {
    const a = makeAlert({
      outputFields: {
        'proc.name': 'bash',
        'container.id': 'abc',
        'proc.aname[2]': 'sshd',
        'proc.vpid': 2n ** 60n,
        'fd.name': null,
      },
    });
    const now = Date.UTC(2026, 10, 26, 3, 0, 0);
    const p = toPostableAlert(a, config, now);
    expect(p.labels).toEqual({
      alertname: a.rule,
      rule: a.rule,
      priority: 'Notice',
      source: 'syscall',
      hostname: 'test-host',
      cluster: 'prod',
      proc_name: 'bash',
      container_id: 'abc',
      proc_aname_2_: 'sshd',
      proc_vpid: (2n ** 60n).toString(),
    });
    expect(p.annotations).toEqual({
      runbook: 'https://example/runbook',
      summary: a.output,
      description: a.output,
    });
    expect(p.startsAt).toMatch(/^2026-11-26T02:00:00\.\d{9}Z$/);
    expect(p.endsAt).toBe('2026-11-26T03:10:00.000Z');
  });

  it('never ends before it starts when the event clock is ahead', () => {
    const a = makeAlert();
    const p = toPostableAlert(a, config, 0);
    expect(Date.parse(p.endsAt)).toBeGreaterThan(Date.parse(p.startsAt));
  });

  it('sanitises field names into label names', () => {
    expect(sanitizeLabelName('k8s.ns.name')).toBe('k8s_ns_name');
    expect(sanitizeLabelName('0day')).toBe('_0day');
    expect(sanitizeLabelName('evt.arg.flags')).toMatch(/^[a-zA-Z_][a-zA-Z0-9_]*$/);
  });

  it('appends the v2 alerts path once', () => {
    expect(alertsEndpoint('http://am:9093')).toBe('http://am:9093/api/v2/alerts');
    expect(alertsEndpoint('http://am:9093/prefix/')).toBe('http://am:9093/prefix/api/v2/alerts');
    expect(alertsEndpoint('https://am/api/v2/alerts')).toBe('https://am/api/v2/alerts');
  });
});

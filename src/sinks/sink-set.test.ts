/**
 * SinkSet and flood control, on a fake clock: the first alert of a key passes at once, repeats within
 * the window become one summary when it closes; keys, overrides and fan-out isolation.
 */
import { describe, expect, it } from 'vitest';
import type { StoredAlert } from '../store/store.js';
import { makeAlert } from '../../test/sinks/make-alert.js';
import { parseSinksConfig, type FloodControlConfig } from './config.js';
import { SUPPRESSED_FIELD, SUPPRESSED_SINCE_FIELD, formatSpan } from './flood-control.js';
import { SinkSet } from './sink-set.js';
import type { Sink, SinkStats } from './sink.js';

/** A sink that keeps what it gets. */
class MemorySink implements Sink {
  readonly got: StoredAlert[] = [];
  closed = false;
  constructor(readonly name = 'memory') {}
  send(alert: StoredAlert): void {
    this.got.push(alert);
  }
  stats(): SinkStats {
    const dropped = { queue_full: 0, retries_exhausted: 0, rejected: 0, closed: 0 };
    return { queued: 0, accepted: this.got.length, sent: this.got.length, failed: 0, retries: 0, dropped };
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

function flood(raw: unknown): FloodControlConfig {
  return parseSinksConfig({ sinks: [], flood_control: raw }, '').floodControl;
}

function setup(raw: unknown = {}): { set: SinkSet; sink: MemorySink; clock: { t: number } } {
  const clock = { t: 1_000_000 };
  const sink = new MemorySink();
  const set = new SinkSet([sink], { floodControl: flood(raw), now: () => clock.t });
  return { set, sink, clock };
}

describe('flood control', () => {
  it('passes the first alert, suppresses repeats in the window, then sends one summary', async () => {
    const { set, sink, clock } = setup({ window: '60s' });
    const first = makeAlert();
    set.send(first);
    expect(sink.got).toEqual([first]);
    let last = first;
    for (let i = 0; i < 41; i++) {
      clock.t += 1000;
      last = makeAlert({ time: first.time + BigInt(i + 1) * 1_000_000_000n });
      set.send(last);
    }
    expect(sink.got).toHaveLength(1);
    set.tick();
    expect(sink.got).toHaveLength(1); // 41 s in: the window is still open
    clock.t = 1_000_000 + 60_000;
    set.tick();
    expect(sink.got).toHaveLength(2);
    const summary = sink.got[1]!;
    expect(summary).toMatchObject({
      rule: first.rule,
      priority: first.priority,
      source: first.source,
      hostname: first.hostname,
      time: last.time,
    });
    expect(summary.id).not.toBe(last.id);
    expect(summary.output).toContain(last.output);
    expect(summary.output).toContain('41 similar alerts suppressed over 41s since 2026-11-26T02:00:00.');
    expect(summary.outputFields[SUPPRESSED_FIELD]).toBe(41);
    expect(summary.outputFields[SUPPRESSED_SINCE_FIELD]).toBe(first.time);
    expect(summary.outputFields['proc.name']).toBe('bash');
    expect(set.stats().flood).toEqual({ suppressed: { [first.rule]: 41 }, summaries: 1, openWindows: 0 });
    expect(set.stats().received).toBe(42);
    // After the window: the next repeat passes at once again.
    set.send(makeAlert());
    expect(sink.got).toHaveLength(3);
    await set.close();
  });

  it('sends no summary for a window without repeats', () => {
    const { set, sink, clock } = setup();
    set.send(makeAlert());
    clock.t += 61_000;
    set.tick();
    expect(sink.got).toHaveLength(1);
    expect(set.stats().flood.summaries).toBe(0);
  });

  it('keys on rule + key fields: other processes, containers or rules are not suppressed', () => {
    const { set, sink } = setup();
    const base = makeAlert().outputFields;
    set.send(makeAlert());
    set.send(makeAlert({ outputFields: { ...base, 'proc.name': 'sh' } }));
    set.send(makeAlert({ outputFields: { ...base, 'container.id': 'other' } }));
    set.send(makeAlert({ rule: 'Another rule' }));
    // Fields outside the key do not matter.
    set.send(makeAlert({ outputFields: { ...base, 'user.name': 'alice' } }));
    expect(sink.got).toHaveLength(4);
    expect(set.stats().flood.suppressed).toEqual({ 'Terminal shell in container': 1 });
  });

  it('keys on the output text when the alert has none of the key fields', () => {
    const { set, sink } = setup();
    const a = { outputFields: { 'fd.name': '/etc/shadow' }, output: 'read /etc/shadow' };
    set.send(makeAlert(a));
    set.send(makeAlert(a));
    set.send(makeAlert({ ...a, output: 'read /etc/passwd' }));
    expect(sink.got.map((x) => x.output)).toEqual(['read /etc/shadow', 'read /etc/passwd']);
  });

  it('sends a due summary before the alert that opens the next window, even without a tick', () => {
    const { set, sink, clock } = setup({ window: '10s' });
    set.send(makeAlert());
    set.send(makeAlert());
    set.send(makeAlert());
    clock.t += 10_000;
    const next = makeAlert();
    set.send(next);
    expect(sink.got).toHaveLength(3);
    expect(sink.got[1]!.outputFields[SUPPRESSED_FIELD]).toBe(2);
    expect(sink.got[2]).toBe(next);
    // `next` opened a new window: its repeats are suppressed again.
    set.send(makeAlert());
    expect(sink.got).toHaveLength(3);
  });

  it('closes each window at its own end, across window lengths and reopened keys', () => {
    const { set, sink, clock } = setup({ window: '10s', overrides: [{ tags: ['fast'], window: '3s' }] });
    const t0 = clock.t;
    const proc = (p: string, tags = ['shell']): StoredAlert =>
      makeAlert({ tags, outputFields: { 'proc.name': p } });
    set.send(proc('a'));
    set.send(proc('a'));
    clock.t = t0 + 2_000;
    set.send(proc('f', ['fast']));
    set.send(proc('f', ['fast']));
    clock.t = t0 + 10_000;
    // Both windows have ended: this send sweeps out their summaries, then opens a new `a` window.
    set.send(proc('a'));
    const seen = sink.got.map(
      (x) => `${String(x.outputFields['proc.name'])}:${String(x.outputFields[SUPPRESSED_FIELD])}`,
    );
    expect(seen.slice(0, 2)).toEqual(['a:undefined', 'f:undefined']);
    expect(seen.slice(2, 4).sort()).toEqual(['a:1', 'f:1']);
    expect(seen[4]).toBe('a:undefined');
    set.send(proc('a'));
    clock.t = t0 + 15_000;
    set.tick(); // the stale entry of the first `a` window must not close the second one
    expect(sink.got).toHaveLength(5);
    expect(set.stats().flood.openWindows).toBe(1);
    clock.t = t0 + 20_000;
    set.tick();
    expect(sink.got).toHaveLength(6);
    expect(set.stats().flood.openWindows).toBe(0);
  });

  it('can be off entirely, or off / different for some rules and tags', () => {
    const off = setup({ enabled: false });
    for (let i = 0; i < 5; i++) off.set.send(makeAlert());
    expect(off.sink.got).toHaveLength(5);

    const { set, sink, clock } = setup({
      window: '60s',
      overrides: [
        { rules: ['Terminal shell*'], enabled: false },
        { tags: ['noisy'], window: '5s', key_fields: ['fd.name'] },
      ],
    });
    for (let i = 0; i < 3; i++) set.send(makeAlert());
    expect(sink.got).toHaveLength(3);
    const noisy = (name: string): StoredAlert =>
      makeAlert({
        rule: 'Read sensitive file',
        tags: ['noisy'],
        outputFields: { 'fd.name': name, 'proc.name': `p${Math.random()}` },
      });
    set.send(noisy('/etc/shadow'));
    set.send(noisy('/etc/shadow')); // same fd.name; proc.name is not part of this override's key
    set.send(noisy('/etc/sudoers'));
    expect(sink.got).toHaveLength(5);
    clock.t += 5_000; // the override's 5 s window, not the default 60 s
    set.tick();
    expect(sink.got).toHaveLength(6);
    expect(sink.got[5]!.outputFields[SUPPRESSED_FIELD]).toBe(1);
  });

  it('sends the summaries of open windows on close', async () => {
    const { set, sink } = setup();
    set.send(makeAlert());
    set.send(makeAlert());
    await set.close();
    expect(sink.got).toHaveLength(2);
    expect(sink.got[1]!.outputFields[SUPPRESSED_FIELD]).toBe(1);
    expect(sink.closed).toBe(true);
  });

  it('stops tracking new keys beyond max_keys (they pass)', () => {
    const { set, sink } = setup({ max_keys: 2 });
    for (const p of ['a', 'b', 'c', 'c', 'c']) set.send(makeAlert({ outputFields: { 'proc.name': p } }));
    expect(sink.got).toHaveLength(5);
  });

  it('sends summaries on its own timer with the real clock', async () => {
    const sink = new MemorySink();
    const set = new SinkSet([sink], { floodControl: flood({ window: '50ms' }) });
    set.send(makeAlert());
    set.send(makeAlert());
    await new Promise((r) => setTimeout(r, 200));
    expect(sink.got).toHaveLength(2);
    await set.close();
  });
});

describe('SinkSet', () => {
  it('fans out to every sink; a sink that throws costs the others nothing', async () => {
    const a = new MemorySink('a');
    const b = new MemorySink('b');
    const broken: Sink = {
      name: 'broken',
      send() {
        throw new Error('bug');
      },
      stats: () => a.stats(),
      close: () => Promise.reject(new Error('bug')),
    };
    const logs: string[] = [];
    const set = new SinkSet([a, broken, b], { log: (m) => logs.push(m) });
    const alert = makeAlert();
    expect(() => set.send(alert)).not.toThrow();
    expect(a.got).toEqual([alert]);
    expect(b.got).toEqual([alert]);
    expect(Object.keys(set.stats().sinks)).toEqual(['a', 'broken', 'b']);
    await set.close();
    expect(a.closed && b.closed).toBe(true);
    expect(logs).toEqual(['sink broken: send: bug', 'sink broken: close: bug']);
  });
});

describe('formatSpan', () => {
  it('reads naturally', () => {
    expect(formatSpan(850)).toBe('850ms');
    expect(formatSpan(42_400)).toBe('42s');
    expect(formatSpan(90_000)).toBe('1m30s');
    expect(formatSpan(3_600_000)).toBe('1h');
  });
});

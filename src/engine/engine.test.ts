/**
 * The engine's per-type buckets: conditions specialized per event type and rules skipped together
 * when the shared macro they start with is false must raise exactly the alerts each rule's own
 * filter gives.
 */
import { describe, expect, it } from 'vitest';
import type { SyscallEvent } from './event.js';
import { createEngine } from './engine.js';
import { loadRules } from './rules/index.js';

const RULES = `
- macro: lead
  condition: (evt.type in (open, openat) and proc.name != init and fd.name != /nope)
- rule: A
  desc: a
  condition: lead and fd.name startswith /etc
  output: A %fd.name
  priority: WARNING
- rule: B
  desc: b
  condition: lead and fd.name = /tmp/x
  output: B %fd.name
  priority: WARNING
- rule: C
  desc: c
  condition: lead and proc.name = cat
  output: C %proc.name
  priority: WARNING
- rule: D
  desc: d
  condition: (evt.type = rename or lead) and proc.name in (mv, cat)
  output: D %proc.name
  priority: WARNING
- rule: G
  desc: g
  condition: evt.type = open and proc.name = init
  output: G %proc.name
  priority: WARNING
- rule: E
  desc: e
  condition: evt.type = execve and not proc.name = sh
  output: E %proc.name
  priority: WARNING
- rule: F
  desc: f
  condition: lead and not evt.type = openat
  output: F %fd.name
  priority: WARNING
`;

function event(type: string, comm: string, fdName: string | undefined, num: number): SyscallEvent {
  return {
    source: 'syscall',
    num,
    ts: BigInt(num),
    type,
    dir: '<',
    cpu: 0,
    category: 'file',
    params: [],
    thread: { tid: 1, pid: 1, comm, exe: comm, args: [] },
    ...(fdName !== undefined ? { fd: { num: 3, type: 'file', name: fdName } } : {}),
  };
}

describe('Engine buckets', () => {
  const loaded = loadRules([{ name: 'rules.yaml', content: RULES }]);
  it('loads', () => {
    expect(loaded.rules.map((r) => r.name)).toEqual(['A', 'B', 'C', 'D', 'G', 'E', 'F']);
  });

  it.each(['all', 'first'] as const)('raises what the rules themselves say (%s)', (ruleMatching) => {
    const engine = createEngine(loaded, { ruleMatching });
    expect(engine.interestingEventTypes()).toEqual(new Set(['open', 'openat', 'rename', 'execve']));
    let num = 0;
    let raised = 0;
    for (const type of ['open', 'openat', 'rename', 'execve', 'close'])
      for (const comm of ['init', 'cat', 'mv', 'sh'])
        for (const fd of ['/etc/passwd', '/tmp/x', '/var/y', '/nope', undefined]) {
          const ev = event(type, comm, fd, ++num);
          const got = engine.process(ev).map((a) => a.rule);
          const want = loaded.rules
            .filter((r) => (r.filter as (e: SyscallEvent) => boolean)(ev))
            .map((r) => r.name);
          expect(got).toEqual(ruleMatching === 'all' ? want : want.slice(0, 1));
          raised += got.length;
        }
    expect(raised).toBeGreaterThan(10);
  });
});

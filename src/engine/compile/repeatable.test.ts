import { describe, expect, it } from 'vitest';
import { parseCondition } from '../condition/index.js';
import { createEngine } from '../engine.js';
import type { SyscallEvent } from '../event.js';
import { loadRules } from '../rules/index.js';
import { isRepeatableCondition, isRepeatableField } from './repeatable.js';

function cond(text: string): boolean {
  const r = parseCondition(text);
  if (!r.ok) throw new Error(`${text}: ${JSON.stringify(r)}`);
  return isRepeatableCondition(r.ast);
}

describe('repeatable fields and conditions', () => {
  it('fields fixed by the parameters, the thread and the state are repeatable', () => {
    for (const f of [
      'evt.type',
      'evt.dir',
      'evt.arg.flags',
      'evt.rawres',
      'evt.is_open_read',
      'fd.name',
      'fd.directory',
      'fd.name_changed',
      'proc.name',
      'proc.aname',
      'proc.pid.ts',
      'user.name',
      'container.id',
      'k8s.pod.name',
    ])
      expect(isRepeatableField(f), f).toBe(true);
  });

  it("fields of the event's time, number or CPU, durations and other sources are not", () => {
    for (const f of [
      'evt.time',
      'evt.time.s',
      'evt.rawtime',
      'evt.datetime',
      'evt.reltime',
      'evt.deltatime',
      'evt.outputtime',
      'evt.latency',
      'evt.wait_latency',
      'evt.num',
      'evt.cpu',
      'evt.around',
      'evt.count',
      'proc.duration',
      'proc.ppid.duration',
      'thread.exectime',
      'ka.verb',
      'jevt.value',
    ])
      expect(isRepeatableField(f), f).toBe(false);
  });

  it('a condition is repeatable when every field it reads is, on either side and in transformers', () => {
    expect(
      cond('evt.type = openat and fd.name in (/etc/shadow, /etc/sudoers) and not proc.name = sudo'),
    ).toBe(true);
    expect(cond('tolower(fd.name) startswith /etc and fd.name != val(proc.cwd)')).toBe(true);
    expect(cond('evt.type = openat and evt.num > 100')).toBe(false);
    expect(cond('fd.name = val(evt.cpu)')).toBe(false);
    expect(cond('concat(fd.name, proc.duration) = x')).toBe(false);
    expect(cond('proc.duration exists')).toBe(false);
    // evt.num against 0 is constant (events are numbered from 1): Falco's `never_true` macro.
    expect(cond('evt.type = openat and not (evt.num=0)')).toBe(true);
    expect(cond('evt.num >= 0 and evt.num != 0')).toBe(true);
    expect(cond('evt.num = 1')).toBe(false);
    expect(cond('evt.num in (0)')).toBe(false);
    // An unresolved macro name could read anything.
    expect(cond('evt.type = openat and some_macro')).toBe(false);
  });

  it("the engine answers per event, from every rule that the event's type meets", () => {
    const loaded = loadRules([
      {
        name: 'r.yaml',
        content: `
- rule: Shadow
  desc: d
  condition: evt.type = openat and fd.name = /etc/shadow
  output: o
  priority: WARNING
- rule: Old process reads etc
  desc: d
  condition: evt.type = openat and fd.name startswith /etc/ and proc.duration > 1000 and proc.name != x
  output: o
  priority: WARNING
- rule: Late connect
  desc: d
  condition: evt.type = connect and evt.num > 10
  output: o
  priority: WARNING
- rule: Any event, timed
  desc: d
  condition: proc.duration > 1000000000000 or proc.name = never
  output: o
  priority: WARNING
  enabled: false
`,
      },
    ]);
    const ev = (type: string, name: string): SyscallEvent => ({
      source: 'syscall',
      num: 5,
      ts: 5n,
      type,
      dir: '<',
      cpu: 0,
      category: 'file',
      params: [],
      thread: { tid: 1, pid: 1, comm: 'cat', exe: 'cat', args: [] },
      fd: { num: 3, type: 'file', name },
    });
    const engine = createEngine(loaded);
    // The timed rule's fixed conjuncts (openat, a path under /etc/, the name) are false: it cannot match.
    expect(engine.verdictRepeats(ev('openat', '/tmp/x'))).toBe(true);
    // They hold: only the time-dependent part decided, and it may decide otherwise next time.
    expect(engine.verdictRepeats(ev('openat', '/etc/hosts'))).toBe(false);
    // Its fixed conjunct (the type) holds for every connect: only evt.num decided.
    expect(engine.verdictRepeats(ev('connect', ''))).toBe(false);
    // No rule for the type: nothing to get wrong.
    expect(engine.verdictRepeats(ev('execve', ''))).toBe(true);
    // The disabled all-types rule does not count; enabled (an `or` at the top), it rules out every type.
    const all = createEngine(loaded, { enable: { names: ['Any event, timed'] } });
    expect(all.verdictRepeats(ev('openat', '/tmp/x'))).toBe(false);
    expect(all.verdictRepeats(ev('execve', ''))).toBe(false);
  });
});

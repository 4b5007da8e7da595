/**
 * `lazyParams`: events whose parameters are decoded when read must be the events the default
 * (eager) state engine builds, parameter for parameter, when each is read before the next event.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixturePath, haveFixtures, scapFixtureFiles } from '../../../test/helpers/fixtures.js';
import type { SyscallEvent } from '../../engine/event.js';
import { openCaptureBytes } from '../scap/blocks.js';
import { readScapRecords } from '../scap/reader.js';
import { P } from '../scap/writer.js';
import { StateEngine } from './state-engine.js';

/** Everything an event shows, parameters read through their getters. */
function dump(ev: SyscallEvent | undefined): unknown {
  if (!ev) return undefined;
  return {
    num: ev.num,
    ts: ev.ts,
    type: ev.type,
    dir: ev.dir,
    cpu: ev.cpu,
    res: ev.res,
    category: ev.category,
    fd: ev.fd,
    container: ev.container,
    hostname: ev.hostname,
    tid: ev.thread.tid,
    comm: ev.thread.comm,
    params: ev.params.map((p) => ({ name: p.name, raw: p.raw, text: p.text, rawText: p.rawText })),
  };
}

/** Both engines get every record; each event is dumped right after it is processed. */
async function compare(path: string): Promise<number> {
  const eager = new StateEngine({ enterEvents: true });
  const lazy = new StateEngine({ enterEvents: true, lazyParams: true });
  let events = 0;
  for await (const r of readScapRecords(openCaptureBytes(path))) {
    for (const s of [eager, lazy]) s.addRecord(r);
    if (r.kind !== 'event') continue;
    // The scap reader's parameter views last until the next record: both are read now.
    const lev = lazy.processEvent(r.event);
    const eev = eager.processEvent(r.event);
    if (lev && eev) {
      // By name first (before the list exists), as rules read them.
      for (const name of new Set(eev.params.map((p) => p.name))) {
        const want = eev.params.find((p) => p.name === name);
        const got = lev.param?.(name);
        expect({ raw: got?.raw, text: got?.text, rawText: got?.rawText }).toEqual({
          raw: want?.raw,
          text: want?.text,
          rawText: want?.rawText,
        });
      }
      expect(lev.param?.('no such parameter')).toBeUndefined();
    }
    const l = dump(lev);
    const e = dump(eev);
    expect(l).toEqual(e);
    if (e) events++;
  }
  return events;
}

describe.skipIf(!haveFixtures)('StateEngine lazyParams: the same events as eager decoding', () => {
  const dir = haveFixtures ? fixturePath('syscall', 'scap') : '';
  const files = scapFixtureFiles();
  it.each(files)('%s', async (f) => {
    expect(await compare(join(dir, f))).toBeGreaterThan(0);
  });
});

describe('StateEngine lazyParams', () => {
  const seed = (s: StateEngine): void => {
    s.addThread({
      tid: 7,
      pid: 7,
      ptid: 1,
      comm: 'cat',
      exe: 'cat',
      args: [],
      cwd: '/home/a',
      uid: 0,
      gid: 0,
    });
    s.finishBootstrap();
  };
  // openat exit (new layout): fd, dirfd, name, flags, mode, dev, ino.
  const openat = (fd: number, name: string, flags: number): Uint8Array[] => [
    P.i64(fd),
    P.i64(-100),
    P.str(name),
    P.u32(flags),
    P.u32(0o644),
    P.u32(0),
    P.u64(0n),
  ];

  it('decodes on first read: raw values, texts relative to the cwd, and the result', () => {
    const s = new StateEngine({ lazyParams: true });
    seed(s);
    const ev = s.processEvent({ ts: 1n, tid: 7, cpu: 0, type: 307, params: openat(3, 'x/../f.txt', 1) });
    expect(ev?.res).toBe(3);
    expect(ev?.fd?.name).toBe('/home/a/f.txt');
    const name = ev?.params.find((p) => p.name === 'name');
    expect(name?.raw).toBe('x/../f.txt');
    expect(name?.text).toBe('/home/a/f.txt');
    expect(ev?.params.find((p) => p.name === 'flags')?.text).toBe('O_RDONLY');
    expect(ev?.params.find((p) => p.name === 'fd')?.text).toBe('<f>/home/a/f.txt');
  });

  it('keeps parameters assigned to the event', () => {
    const s = new StateEngine({ lazyParams: true });
    seed(s);
    const ev = s.processEvent({ ts: 1n, tid: 7, cpu: 0, type: 307, params: openat(-2, '/nope', 0) });
    expect(ev?.res).toBe(-2);
    expect(ev?.params.find((p) => p.name === 'fd')?.text).toBe('ENOENT');
    ev!.params = [];
    ev!.res = 5;
    expect(ev?.params).toEqual([]);
    expect(ev?.res).toBe(5);
  });
});

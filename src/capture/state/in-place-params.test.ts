/**
 * In-place parameter reads (`RawSyscallEvent.buf`, `paramOffset`...): the eBPF framing's events are
 * read without a view per parameter. The state engine must build the same events from them as from
 * the same parameters handed over as `params` views.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixturePath, haveFixtures, scapFixtureFiles } from '../../../test/helpers/fixtures.js';
import type { SyscallEvent } from '../../engine/event.js';
import { openCaptureBytes } from '../scap/blocks.js';
import { readScapRecords, type ScapRecord } from '../scap/reader.js';
import { encodeEvent, encodeSectionHeader, P, type EventToWrite } from '../scap/writer.js';
import { EbpfStreamParser, type RawEbpfEvent } from '../sources/ebpf/parse.js';
import { StateEngine, type StateEngineOptions } from './state-engine.js';

/** Everything an event shows, parameters read by name first (as rules do), then as a list. */
function dump(ev: SyscallEvent | undefined): unknown {
  if (!ev) return undefined;
  // Names from the schema order without making the list first: paramRaw, then param, by name.
  const names = ['fd', 'dirfd', 'name', 'flags', 'mode', 'dev', 'ino', 'res', 'uid', 'gid', 'pid', 'size'];
  const rawByName = names.map((n) => ev.paramRaw?.(n));
  const byName = names.map((n) => ev.param?.(n)?.raw);
  return {
    num: ev.num,
    type: ev.type,
    res: ev.res,
    category: ev.category,
    fd: ev.fd,
    container: ev.container,
    tid: ev.thread.tid,
    comm: ev.thread.comm,
    exepath: ev.thread.exepath,
    byName,
    rawByName,
    // paramRaw is param()'s raw value.
    same: rawByName.every((v, i) => ev.paramRaw === undefined || Object.is(v, byName[i])),
    params: ev.params.map((p) => ({ name: p.name, raw: p.raw, text: p.text, rawText: p.rawText })),
  };
}

/** Two engines, one fed the framed events as they are, one the same parameters as views. */
class Pair {
  readonly inPlace: StateEngine;
  readonly views: StateEngine;
  private readonly parser = new EbpfStreamParser();
  events = 0;

  constructor(opts: StateEngineOptions) {
    this.inPlace = new StateEngine(opts);
    this.views = new StateEngine(opts);
    this.parser.push(encodeSectionHeader());
  }

  record(r: ScapRecord): void {
    for (const s of [this.inPlace, this.views]) s.addRecord(r);
    if (r.kind === 'event') this.event(r.event);
  }

  event(ev: EventToWrite): void {
    for (const raw of this.parser.push(encodeEvent(ev))) this.compare(raw);
  }

  private compare(raw: RawEbpfEvent): void {
    // A plain object: no in-place members, so the engine reads `params`.
    const plain = { ts: raw.ts, tid: raw.tid, cpu: raw.cpu, type: raw.type, params: raw.params };
    const got = dump(this.inPlace.processEvent(raw));
    const want = dump(this.views.processEvent(plain));
    expect(got).toEqual(want);
    if (want) this.events++;
  }
}

describe('StateEngine: parameters read in place', () => {
  it('openat events of every layout and width, short and missing parameters included', () => {
    for (const lazyParams of [false, true]) {
      const pair = new Pair({ lazyParams });
      for (const s of [pair.inPlace, pair.views]) {
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
      }
      const at = (params: Uint8Array[], type = 307): void =>
        pair.event({ ts: BigInt(pair.events + 1), tid: 7, cpu: 0, type, params });
      // openat exit (new layout): fd, dirfd, name, flags, mode, dev, ino.
      at([P.i64(3), P.i64(-100), P.str('x/../f.txt'), P.u32(1), P.u32(0o644), P.u32(0xfe01), P.u64(9n)]);
      at([P.i64(4), P.i64(3), P.str('rel'), P.u32(1 << 10), P.u32(0), P.u32(0), P.u64(0n)]);
      at([P.i64(5), P.i64(-100), P.str('/é/ü.txt'), P.u32(2), P.u32(0)]); // fewer parameters, UTF-8
      at([P.i64(6), P.i64(-100), new Uint8Array([0x2f, 0xff, 0x00]), P.u32(2)]); // invalid UTF-8
      at([P.i64(-2), P.i64(-100), P.str('/nope'), P.u32(1), P.u32(0), P.u32(0), P.u64(0n)]);
      at([P.i64(7), P.i64(-100), new Uint8Array(0), P.u32(1)]); // empty name
      at([P.i64(8)]); // name and flags missing
      at([new Uint8Array([9, 0, 0, 0]), P.i64(-100), P.str('/four'), P.u32(1)]); // a 4-byte fd
      at([P.i64(10), P.i64(-100), P.str('/big'), P.u64(0x1_0000_0001n)]); // an 8-byte flags value
      at([P.i64(11), P.i64(-100), P.str('/high'), P.u32(0x8000_0001), P.u32(0o100755)]); // the top bit
      expect(pair.events).toBe(10);
    }
  });
});

describe.skipIf(!haveFixtures)('StateEngine: parameters read in place, over the scap fixtures', () => {
  const dir = haveFixtures ? fixturePath('syscall', 'scap') : '';
  const files = scapFixtureFiles();
  it.each(files)('%s', async (f) => {
    for (const lazyParams of [false, true]) {
      const pair = new Pair({ lazyParams, enterEvents: true });
      for await (const r of readScapRecords(openCaptureBytes(join(dir, f)))) pair.record(r);
      expect(pair.events).toBeGreaterThan(0);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { BLOCK, ScapFormatError } from './blocks.js';
import { readScapRecords, SCAP_FD, type ScapRecord } from './reader.js';
import {
  concatBlocks,
  encodeBlock,
  encodeEvent,
  encodeEventV1,
  encodeFdList,
  encodeMachineInfo,
  encodeProcessList,
  encodeSectionHeader,
  encodeUserList,
  P,
  SCAP_LIMITS,
} from './writer.js';

async function records(bytes: Uint8Array, maxEventCode?: number): Promise<ScapRecord[]> {
  async function* one(): AsyncGenerator<Uint8Array> {
    yield bytes;
  }
  const out: ScapRecord[] = [];
  const opts = maxEventCode === undefined ? {} : { maxEventCode };
  for await (const r of readScapRecords(one(), opts)) {
    // Event parameters are views into the read buffer: copy before keeping them.
    if (r.kind === 'event') r.event.params = r.event.params.map((p) => p.slice());
    out.push(r);
  }
  return out;
}

const thread = {
  tid: 100,
  pid: 100,
  ptid: 1,
  sid: 100,
  comm: 'bash',
  exe: '/bin/bash',
  exepath: '/usr/bin/bash',
  args: ['-i'],
  cwd: '/root/',
  flags: 0,
  uid: 0,
  gid: 0,
  env: ['HOME=/root'],
  cgroups: ['cpu=/docker/' + 'a'.repeat(64)],
  tty: 34817,
  loginuid: 1000,
};

describe('readScapRecords', () => {
  it('reads machine info, process, fd and user lists', async () => {
    const rs = await records(
      concatBlocks([
        encodeSectionHeader(),
        encodeMachineInfo('box'),
        encodeProcessList([thread]),
        encodeFdList(100, [
          { tid: 100, fd: 3, ino: 0, type: SCAP_FD.FILE_V2, name: '/etc/hosts', openFlags: 1, dev: 0x803 },
          {
            tid: 100,
            fd: 4,
            ino: 0,
            type: SCAP_FD.IPV4_SOCK,
            sip: '10.0.0.1',
            dip: '10.0.0.2',
            sport: 5000,
            dport: 80,
            l4proto: 2,
          },
          { tid: 100, fd: 5, ino: 0, type: SCAP_FD.UNIX_SOCK, source: 1n, dest: 2n, name: '/run/s' },
        ]),
        encodeUserList([{ uid: 0, gid: 0, name: 'root' }], [{ gid: 0, name: 'root' }]),
      ]),
    );
    expect(rs.map((r) => r.kind)).toEqual([
      'section',
      'machine',
      'thread',
      'fd',
      'fd',
      'fd',
      'user',
      'group',
    ]);
    const m = rs[1];
    expect(m?.kind === 'machine' && m.info.hostname).toBe('box');
    const t = rs[2];
    expect(t?.kind === 'thread' && t.entry).toMatchObject({
      tid: 100,
      comm: 'bash',
      exe: '/bin/bash',
      exepath: '/usr/bin/bash',
      args: ['-i'],
      env: ['HOME=/root'],
      tty: 34817,
      loginuid: 1000,
    });
    const fd = rs[3];
    expect(fd?.kind === 'fd' && fd.entry).toMatchObject({
      fd: 3,
      name: '/etc/hosts',
      openFlags: 1,
      dev: 0x803,
    });
    const sock = rs[4];
    expect(sock?.kind === 'fd' && sock.entry).toMatchObject({ sip: '10.0.0.1', dport: 80, l4proto: 2 });
  });

  it("truncates initial-table strings to libscap's limits, keeping whole leading items", async () => {
    // A node or JVM command line easily passes 4 KiB; sysdig refuses a capture that carries one.
    const long = {
      ...thread,
      args: ['--first', 'x'.repeat(30_000)],
      env: Array.from({ length: 500 }, (_, i) => `VAR${i}=${'v'.repeat(20)}`),
      cwd: `/${'d'.repeat(2000)}`,
      cgroups: Array.from({ length: 300 }, (_, i) => `${i}:ctl:/${'c'.repeat(20)}`),
    };
    const rs = await records(concatBlocks([encodeSectionHeader(), encodeProcessList([long])]));
    const t = rs[1];
    if (t?.kind !== 'thread') throw new Error(`expected a thread, got ${t?.kind}`);
    const bytes = (items: readonly string[]) => items.reduce((n, s) => n + Buffer.byteLength(s) + 1, 0);
    expect(t.entry.args[0]).toBe('--first');
    expect(bytes(t.entry.args)).toBe(SCAP_LIMITS.args);
    expect(bytes(t.entry.env ?? [])).toBeLessThanOrEqual(SCAP_LIMITS.env);
    expect(t.entry.env?.[0]).toBe(long.env[0]);
    expect(bytes(t.entry.cgroups ?? [])).toBeLessThanOrEqual(SCAP_LIMITS.cgroups);
    expect(Buffer.byteLength(t.entry.cwd)).toBe(SCAP_LIMITS.path);
  });

  it('reads V2 events with their parameter count and EVF events with flags', async () => {
    const rs = await records(
      concatBlocks([
        encodeSectionHeader(),
        encodeEvent({
          ts: 10n,
          tid: 7,
          cpu: 2,
          type: 3,
          params: [P.i64(3), P.str('/etc/x'), P.u32(1), P.u32(0)],
        }),
        encodeEvent({ ts: 11n, tid: 7, type: 5, params: [P.i64(0)] }, 1),
      ]),
    );
    const [, a, b] = rs;
    expect(a?.kind === 'event' && a.event).toMatchObject({ ts: 10n, tid: 7, cpu: 2, type: 3, blockFlags: 0 });
    expect(a?.kind === 'event' && a.event.params.length).toBe(4);
    expect(b?.kind === 'event' && b.event.blockFlags).toBe(1);
  });

  it('works out the parameter count of old (V1) events from the lengths', async () => {
    // open exit as 2016 drivers wrote it: fd, name, flags, mode, dev (no ino).
    const rs = await records(
      concatBlocks([
        encodeSectionHeader(0),
        encodeEventV1({
          ts: 1n,
          tid: 9,
          type: 3,
          params: [P.i64(3), P.str('/a'), P.u32(1), P.u32(0), P.u32(0)],
        }),
        encodeEventV1({ ts: 2n, tid: 9, type: 2, params: [] }),
      ]),
    );
    const open = rs[1];
    expect(open?.kind === 'event' && open.event.params.length).toBe(5);
    const enter = rs[2];
    expect(enter?.kind === 'event' && enter.event.params.length).toBe(0);
  });

  it('skips unknown blocks and unknown event codes with a warning', async () => {
    const rs = await records(
      concatBlocks([
        encodeSectionHeader(),
        encodeBlock(0x999, Uint8Array.of(1, 2, 3, 4)),
        encodeEvent({ ts: 1n, tid: 1, type: 60000, params: [] }),
        encodeEvent({ ts: 1n, tid: 1, type: 354, params: [P.u32(1)] }),
      ]),
      352,
    );
    expect(rs.map((r) => (r.kind === 'warning' ? r.code : r.kind))).toEqual([
      'section',
      'unknown-block',
      'unknown-event',
      'unknown-event',
    ]);
  });

  it('reports an event whose parameters overrun it, without stopping the stream', async () => {
    const good = encodeEvent({ ts: 1n, tid: 1, type: 5, params: [P.i64(0)] });
    const bad = good.slice();
    // Claim a 200-byte parameter in a 26+2+8 byte event.
    new DataView(bad.buffer).setUint16(8 + 2 + 26, 200, true);
    const rs = await records(concatBlocks([encodeSectionHeader(), bad, good]));
    expect(rs.map((r) => (r.kind === 'warning' ? r.code : r.kind))).toEqual([
      'section',
      'bad-event',
      'event',
    ]);
  });

  it('fails on a corrupt process list with the block offset', async () => {
    const pl = encodeProcessList([thread]);
    const cut = encodeBlock(BLOCK.PL_V9, pl.subarray(8, 40));
    const header = encodeSectionHeader();
    const err = await records(concatBlocks([header, cut])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScapFormatError);
    expect((err as ScapFormatError).offset).toBe(header.length);
  });
});

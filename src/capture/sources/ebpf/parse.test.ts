import { describe, expect, it } from 'vitest';
import { readScapRecords } from '../../scap/reader.js';
import {
  concatBlocks,
  encodeBlock,
  encodeEvent,
  encodeMachineInfo,
  encodeSectionHeader,
  P,
} from '../../scap/writer.js';
import { decodeParam, decodeTuple, type RenderContext } from '../../scap/params.js';
import {
  captureSetFor,
  decodeEbpfEvent,
  EBPF_SYSCALLS,
  parseLoaderLine,
  EbpfStreamParser,
  EV_REPEATS,
  STATE_SYSCALLS,
  type EbpfEvent,
} from './parse.js';

const NO_STATE: RenderContext = {
  hasThread: false,
  cwd: undefined,
  fd: () => undefined,
  threadName: () => undefined,
  userName: () => undefined,
  groupName: () => undefined,
};

describe('parseLoaderLine', () => {
  it('reads the ready message', () => {
    expect(
      parseLoaderLine(
        '{"type":"ready","syscalls":["openat","close"],"ringbufBytes":16777216,"cpus":2,"pid":42}',
      ),
    ).toEqual({
      type: 'ready',
      syscalls: ['openat', 'close'],
      ringbufBytes: 16777216,
      cpus: 2,
      pid: 42,
    });
  });

  it('reads kernel counters with drops by reason', () => {
    const m = parseLoaderLine(
      '{"type":"stats","when":"final","events":10,"delivered":9,"bytes":900,"drops":{"buffer":3,"maxEventSize":1,"noScratch":0},"skippedCompat":2}',
    );
    expect(m).toEqual({
      type: 'stats',
      when: 'final',
      events: 10,
      delivered: 9,
      bytes: 900,
      drops: { buffer: 3, maxEventSize: 1, noScratch: 0 },
      skippedCompat: 2,
      repeats: 0,
    });
  });

  it('keeps known error codes and maps unknown ones to load-failed', () => {
    expect(parseLoaderLine('{"type":"error","code":"no-btf","errno":2,"message":"no BTF"}')).toMatchObject({
      code: 'no-btf',
      errno: 2,
    });
    expect(parseLoaderLine('{"type":"error","code":"weird","message":"x"}')).toMatchObject({
      code: 'load-failed',
      errno: 0,
    });
  });

  it('ignores lines that are not loader messages', () => {
    expect(parseLoaderLine('Segmentation fault')).toBeUndefined();
    expect(parseLoaderLine('{not json')).toBeUndefined();
    expect(parseLoaderLine('{"type":"other"}')).toBeUndefined();
    expect(parseLoaderLine('[1,2]')).toBeUndefined();
  });
});

describe('captureSetFor', () => {
  it('adds the rule event types to what the state engine needs, in the loader order', () => {
    const set = captureSetFor(['ptrace', 'openat', 'mkdirat']);
    expect(set.unsupported).toEqual([]);
    for (const s of STATE_SYSCALLS) expect(set.syscalls).toContain(s);
    expect(set.syscalls).toContain('ptrace');
    expect(set.syscalls).toContain('mkdirat');
    expect(set.syscalls).toEqual(EBPF_SYSCALLS.filter((s) => set.syscalls.includes(s)));
    expect(set.syscalls).not.toContain('mkdir');
  });

  it('marks what only the state engine needs, and whose failures change no state, as success-only', () => {
    const set = captureSetFor(['openat', 'execve', 'connect'], { keepClose: true });
    expect(set.successOnly).toContain('close');
    expect(set.successOnly).toContain('open');
    expect(set.successOnly).toContain('chdir');
    expect(set.successOnly).toContain('fcntl');
    // Wanted by a rule: failed calls may matter to it.
    expect(set.successOnly).not.toContain('openat');
    // Failures of these still carry state (connect's EINPROGRESS) or are not in the safe list.
    expect(set.successOnly).not.toContain('connect');
    expect(set.successOnly).not.toContain('execve');
    for (const s of set.successOnly) expect(set.syscalls).toContain(s);
    expect(captureSetFor(['close'], { withState: false }).successOnly).toEqual([]);
  });

  it('leaves close out unless a rule names it or keepClose asks for it', () => {
    const elided = captureSetFor(['openat', 'execve']);
    expect(elided.syscalls).not.toContain('close');
    expect(elided.closeElided).toBe(true);
    const kept = captureSetFor(['openat', 'execve'], { keepClose: true });
    expect(kept.syscalls).toContain('close');
    expect(kept.successOnly).toContain('close');
    expect(kept.closeElided).toBe(false);
    // A rule on close gets every close, failed ones included.
    const ruled = captureSetFor(['close']);
    expect(ruled.syscalls).toContain('close');
    expect(ruled.successOnly).not.toContain('close');
    expect(ruled.closeElided).toBe(false);
    // Without the state there is nothing to elide.
    expect(captureSetFor(['openat'], { withState: false }).closeElided).toBe(false);
  });

  it('captures, for the state, every fd-making syscall the probe decodes and the cwd changes', () => {
    const set = captureSetFor([]);
    for (const s of [
      'chdir',
      'fchdir',
      'pipe',
      'pipe2',
      'socketpair',
      'eventfd',
      'eventfd2',
      'signalfd',
      'signalfd4',
      'timerfd_create',
      'inotify_init',
      'inotify_init1',
      'epoll_create',
      'epoll_create1',
      'memfd_create',
      'pidfd_open',
      'fcntl',
      'dup',
      'dup2',
      'dup3',
      'accept',
      'accept4',
      'socket',
    ]) {
      expect(set.syscalls, s).toContain(s);
      // Only the state needs them and a failed call changes nothing: failures stay in the kernel.
      expect(set.successOnly, s).toContain(s);
    }
  });

  it('names the types the probe cannot see, and maps umount to umount2', () => {
    const set = captureSetFor(['read', 'umount', 'write', 'read'], { withState: false });
    expect(set.syscalls).toEqual(['umount2']);
    expect(set.unsupported).toEqual(['read', 'write']);
  });
});

describe('EbpfStreamParser and decodeEbpfEvent', () => {
  const stream = concatBlocks([
    encodeSectionHeader(),
    encodeMachineInfo('host', 2),
    encodeEvent({
      ts: 1_700_000_000_000_000_000n,
      tid: 4242,
      cpu: 1,
      type: 307, // openat exit
      params: [
        P.i64(3),
        P.i64(-100),
        P.str('/etc/passwd'),
        P.u32(4097),
        P.u32(0),
        P.u32(0xfe00),
        P.u64(1234),
      ],
    }),
    encodeBlock(0x7777, new Uint8Array(4)), // a block type this reader does not know
    encodeEvent({
      ts: 1_700_000_000_000_000_100n,
      tid: 4242,
      cpu: 0,
      type: 23, // connect exit
      params: [P.i64(0), P.tuple4('10.0.0.1', 40000, '10.0.0.2', 443), P.i64(3), P.addr4('10.0.0.2', 443)],
    }),
    encodeEvent({
      ts: 1_700_000_000_000_000_200n,
      tid: 7,
      cpu: 0,
      type: 293, // execve exit, with a 64-bit cap set that is not an exact number
      params: [
        P.i64(-2),
        P.str('/bin/ls'),
        P.list(['-l', '/tmp']),
        P.i64(7),
        P.i64(7),
        P.i64(1),
        P.str('/root'),
        P.u64(1024),
        P.u64(0),
        P.u64(0),
        P.u32(0),
        P.u32(0),
        P.u32(0),
        P.str('ls'),
        P.list(['cpu=/']),
        P.list(['A=1']),
        P.u32(34816),
        P.i64(7),
        P.u32(0xffffffff),
        P.u32(1),
        P.u64(0),
        P.u64(0),
        P.u64(0xffffffffffffffffn),
      ],
    }),
    encodeEvent({ ts: 1n, tid: 1, type: 60000, params: [] }), // an event code newer than the table
  ]);

  function parseAll(bytes: Uint8Array, chunk: number): { events: EbpfEvent[]; parser: EbpfStreamParser } {
    const parser = new EbpfStreamParser();
    const raws = [];
    for (let i = 0; i < bytes.length; i += chunk) raws.push(...parser.push(bytes.subarray(i, i + chunk)));
    parser.finish();
    // Decoded after every chunk is in: views must not have been overwritten.
    return { events: raws.map(decodeEbpfEvent), parser };
  }

  it('frames events however the stream is cut, skipping what it does not know', () => {
    for (const chunk of [1, 7, 64, stream.length]) {
      const { events, parser } = parseAll(stream, chunk);
      expect(events.map((e) => e.name)).toEqual(['openat', 'connect', 'execve']);
      expect(parser.machine).toMatchObject({ numCpus: 2, hostname: 'host' });
      expect(parser.skipped).toBe(2);
      expect(parser.warnings.join('\n')).toMatch(/type 0x7777.*\n.*event type 60000/s);
    }
  });

  it("numbers each CPU's records as the probe counts them and adds up its repeat counts", () => {
    const open = (cpu: number, tid: number): Uint8Array =>
      encodeEvent({
        ts: 1n,
        tid,
        cpu,
        type: 307,
        params: [P.i64(3), P.i64(-100), P.str('/tmp/a'), P.u32(1), P.u32(0), P.u32(0), P.u64(1)],
      });
    const repeats = (cpu: number, n: bigint): Uint8Array =>
      encodeEvent({ ts: 2n, tid: 9, cpu, type: EV_REPEATS, params: [P.u64(n)] });
    const bytes = concatBlocks([
      encodeSectionHeader(),
      open(0, 9), // cpu 0: record 1
      open(1, 8), // cpu 1: record 1
      repeats(0, 41n), // cpu 0: record 2, not an event
      encodeEvent({ ts: 3n, tid: 8, cpu: 1, type: 60000, params: [] }), // cpu 1: record 2, skipped
      open(1, 8), // cpu 1: record 3
      open(0, 9), // cpu 0: record 3
      repeats(0, 1n), // cpu 0: record 4
      encodeEvent({ ts: 4n, tid: 9, cpu: 0, type: EV_REPEATS, params: [P.u32(5)] }), // malformed: skipped
      open(0, 9), // cpu 0: record 6
    ]);
    for (const chunk of [5, bytes.length]) {
      const parser = new EbpfStreamParser();
      const raws = [];
      for (let i = 0; i < bytes.length; i += chunk) raws.push(...parser.push(bytes.subarray(i, i + chunk)));
      expect(raws.map((r) => `${r.cpu}:${r.seq}`)).toEqual(['0:1', '1:1', '1:3', '0:3', '0:6']);
      expect(parser.repeats).toBe(42);
      expect(parser.skipped).toBe(2);
      expect(parser.warnings.join('\n')).toMatch(/repeat record of \d+ bytes is malformed/);
    }
  });

  it('decodes raw values and renders texts on demand', () => {
    const [open, conn, exec] = parseAll(stream, 13).events as [EbpfEvent, EbpfEvent, EbpfEvent];
    expect(open).toMatchObject({
      ts: 1_700_000_000_000_000_000n,
      tid: 4242,
      cpu: 1,
      type: 307,
      name: 'openat',
      dir: '<',
    });
    expect(open.args).toEqual({
      fd: 3,
      dirfd: -100,
      name: '/etc/passwd',
      flags: 4097,
      mode: 0,
      dev: 0xfe00,
      ino: 1234,
    });
    expect(open.params.find((p) => p.name === 'flags')?.text).toBe('O_RDONLY|O_CLOEXEC');
    expect(decodeTuple(conn.args.tuple as Uint8Array)).toEqual({
      family: 'ipv4',
      sip: '10.0.0.1',
      sport: 40000,
      dip: '10.0.0.2',
      dport: 443,
    });
    expect(exec.args).toMatchObject({
      res: -2,
      exe: '/bin/ls',
      cap_effective: 0xffffffffffffffffn,
    });
    expect(exec.params[0]?.text).toBe('ENOENT');
  });

  it('gives the same raw values as the scap reader and decoder', async () => {
    async function* once(): AsyncGenerator<Uint8Array> {
      yield stream;
    }
    const viaReader: Record<string, unknown>[] = [];
    for await (const r of readScapRecords(once())) {
      if (r.kind !== 'event') continue;
      const args: Record<string, unknown> = {};
      r.event.params.forEach((b, i) => {
        const info = r.event.info.params[i];
        if (info && !(info.name in args))
          args[info.name] = decodeParam(info, b, NO_STATE, r.event.info.name).raw;
      });
      viaReader.push(args);
    }
    expect(parseAll(stream, 5).events.map((e) => e.args)).toEqual(viaReader);
  });

  it('names the byte offset of a corrupt block and of a cut stream', () => {
    const corrupt = stream.slice();
    new DataView(corrupt.buffer).setUint32(28 + 4, 3, true); // the machine-info block's length
    expect(() => new EbpfStreamParser().push(corrupt)).toThrow(/implausible length 3 .*at byte offset 28/);
    const parser = new EbpfStreamParser();
    parser.push(stream.subarray(0, 100));
    expect(() => parser.finish()).toThrow(/truncated stream/);
    expect(() => new EbpfStreamParser().push(encodeMachineInfo('x'))).toThrow(
      /does not start with a section header/,
    );
  });
});

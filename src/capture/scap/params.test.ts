import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FdInfo } from '../../engine/event.js';
import { PF, PT, allEvents, eventInfo, flagTable, type ScapParamInfo } from './event-table.js';
import {
  concatPaths,
  decodeCString,
  decodeParam,
  decodeRawParam,
  decodeTuple,
  errnoName,
  formatG,
  ipv6Text,
  renderByteBuf,
  renderFdRef,
  renderFlags,
  type RenderContext,
} from './params.js';
import { P } from './writer.js';

const fds = new Map<number, FdInfo>([
  [3, { num: 3, type: 'file', name: '/etc/passwd' }],
  [4, { num: 4, type: 'ipv4', name: '10.0.0.1:5555->10.0.0.2:80', l4proto: 'tcp' }],
]);

const ctx: RenderContext = {
  hasThread: true,
  cwd: '/home/user/',
  fd: (n) => fds.get(n),
  threadName: (tid) => (tid === 100 ? 'bash' : undefined),
  userName: (uid) => (uid === 0 ? 'root' : undefined),
  groupName: (gid) => (gid === 0 ? 'root' : undefined),
};

function param(name: string, type: number, fmt: number = PF.DEC, table?: string): ScapParamInfo {
  return table ? { name, type, fmt, table } : { name, type, fmt };
}

describe('renderFlags', () => {
  const file = flagTable('file_flags');
  it('renders combined flags in table order', () => {
    expect(renderFlags(4097, file)).toBe('O_RDONLY|O_CLOEXEC');
    expect(renderFlags(3 | 4 | 64, file)).toBe('O_NONBLOCK|O_CREAT|O_RDWR');
    expect(renderFlags(0, file)).toBe('O_NONE');
  });
  it('prints zero-valued names only for a zero value', () => {
    const access = flagTable('access_flags');
    expect(renderFlags(0, access)).toBe('F_OK');
    expect(renderFlags(4, access)).toBe('R_OK');
    expect(renderFlags(6, access)).toBe('R_OK|W_OK');
  });
  it('stops at an exact value match (enum-like tables)', () => {
    expect(renderFlags(129, flagTable('futex_operations'))).toBe('FUTEX_PRIVATE_FLAG|FUTEX_WAKE');
    expect(renderFlags(2, flagTable('fcntl_commands'))).toBe('F_GETFD');
    expect(renderFlags(2, flagTable('socket_families'))).toBe('AF_INET');
    expect(renderFlags(1, flagTable('socket_families'))).toBe('AF_LOCAL');
  });
  it('gives nothing without a table', () => {
    expect(renderFlags(5, undefined)).toBe('');
  });
});

describe('scalar renderings', () => {
  it('names errnos and signals', () => {
    expect(errnoName(-2)).toBe('ENOENT');
    expect(errnoName(-115)).toBe('EINPROGRESS');
    expect(errnoName(-514)).toBe('ERESTARTNOHAND');
    expect(errnoName(-9999)).toBe('');
  });
  it('prints byte buffers with non-printable bytes as dots', () => {
    expect(renderByteBuf(Uint8Array.of(0x7f, 0x45, 0x4c, 0x46, 0, 10))).toBe('.ELF..');
    expect(renderByteBuf(new TextEncoder().encode('a"b\\c'))).toBe('a"b\\c');
  });
  it('formats like printf %lg', () => {
    expect(formatG(0)).toBe('0');
    expect(formatG(1.5)).toBe('1.5');
    expect(formatG(0.0001)).toBe('0.0001');
    expect(formatG(0.00001)).toBe('1e-05');
    expect(formatG(1234567)).toBe('1.23457e+06');
    expect(formatG(2.000001)).toBe('2');
  });
  it('prints IPv6 addresses canonically', () => {
    const b = new Uint8Array(16);
    b[15] = 1;
    expect(ipv6Text(b, 0)).toBe('::1');
    const c = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 1]);
    expect(ipv6Text(c, 0)).toBe('2001:db8::3:1');
    const mapped = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1]);
    expect(ipv6Text(mapped, 0)).toBe('::ffff:10.0.0.1');
  });
  it('joins paths the way libsinsp normalises them', () => {
    expect(concatPaths('/home/user/', 'a/../b/./c')).toBe('/home/user/b/c');
    expect(concatPaths('/home/user/', '/etc//passwd')).toBe('/etc/passwd');
    expect(concatPaths('/', '..')).toBe('/');
  });
  it('renders fd references with type and protocol letters', () => {
    expect(renderFdRef(fds.get(3) as FdInfo)).toBe('<f>/etc/passwd');
    expect(renderFdRef(fds.get(4) as FdInfo)).toBe('<4t>10.0.0.1:5555->10.0.0.2:80');
    expect(renderFdRef({ num: 4, type: 'ipv4', name: '10.0.0.1:5555->10.0.0.2:80' })).toBe(
      '<4>10.0.0.1:5555->10.0.0.2:80',
    );
  });
});

describe('decodeParam', () => {
  it('resolves fds, errnos and pids through the context', () => {
    const fd = decodeParam(param('fd', PT.FD), P.i64(3), ctx, 'read');
    expect(fd).toMatchObject({ raw: 3, rawText: '3', text: '<f>/etc/passwd' });
    expect(decodeParam(param('fd', PT.FD), P.i64(9), ctx, 'read')).toMatchObject({ rawText: '9', text: '9' });
    expect(decodeParam(param('fd', PT.FD), P.i64(-2), ctx, 'read').text).toBe('ENOENT');
    expect(decodeParam(param('res', PT.ERRNO), P.i64(-13), ctx, 'open')).toMatchObject({
      raw: -13,
      text: 'EACCES',
    });
    expect(decodeParam(param('res', PT.ERRNO), P.i64(7), ctx, 'open').text).toBe('7');
    expect(decodeParam(param('ptid', PT.PID), P.i64(100), ctx, 'clone').text).toBe('bash');
    expect(decodeParam(param('uid', PT.UID), P.u32(0), ctx, 'getuid').text).toBe('root');
  });
  it('takes fds stored in 4 bytes as unsigned, as libsinsp ends up printing them', () => {
    expect(decodeParam(param('fd', PT.FD), P.u32(0xffffffff), ctx, 'mmap').rawText).toBe('4294967295');
  });
  it('renders numbers in their print format', () => {
    expect(decodeParam(param('res', PT.UINT64, PF.HEX), P.u64(0x7fad48782000n), ctx, 'mmap').text).toBe(
      '7FAD48782000',
    );
    expect(decodeParam(param('mode', PT.UINT32, PF.OCT), P.u32(0o644), ctx, 'open').text).toBe('0644');
    expect(decodeParam(param('mode', PT.UINT32, PF.OCT), P.u32(0), ctx, 'open').text).toBe('0');
    const big = decodeParam(param('v', PT.UINT64), P.u64(2n ** 63n + 5n), ctx, 'x');
    expect(big.raw).toBe(2n ** 63n + 5n);
  });
  it('renders flags as number plus names', () => {
    const p = decodeParam(param('flags', PT.FLAGS32, PF.HEX, 'file_flags'), P.u32(4097), ctx, 'open');
    expect(p).toMatchObject({ raw: 4097, rawText: '4097', text: 'O_RDONLY|O_CLOEXEC' });
  });
  it('resolves relative paths against the cwd and leaves absolute ones alone', () => {
    expect(decodeParam(param('name', PT.FSPATH, PF.NA), P.str('a/b'), ctx, 'open')).toMatchObject({
      rawText: 'a/b',
      text: '/home/user/a/b',
    });
    expect(decodeParam(param('name', PT.FSPATH, PF.NA), P.str('/etc/x'), ctx, 'open').text).toBe('/etc/x');
  });
  it('renders tuples, addresses, relative times and signals', () => {
    const t = P.tuple4('127.0.0.1', 47192, '127.0.0.1', 80);
    expect(decodeParam(param('tuple', PT.SOCKTUPLE, PF.NA), t, ctx, 'connect').text).toBe(
      '127.0.0.1:47192->127.0.0.1:80',
    );
    expect(decodeParam(param('tuple', PT.SOCKTUPLE, PF.NA), P.empty(), ctx, 'sendto').text).toBe('NULL');
    expect(decodeParam(param('addr', PT.SOCKADDR, PF.NA), P.addr4('0.0.0.0', 8080), ctx, 'bind').text).toBe(
      '0.0.0.0:8080',
    );
    expect(decodeParam(param('interval', PT.RELTIME), P.u64(1500000000), ctx, 'nanosleep')).toMatchObject({
      rawText: '1500000000',
      text: '1.5s',
    });
    expect(decodeParam(param('sig', PT.SIGTYPE), P.u8(9), ctx, 'kill').text).toBe('SIGKILL');
  });
  it('renders fd lists with type letters and hex flags', () => {
    const b = new Uint8Array(2 + 20);
    const dv = new DataView(b.buffer);
    dv.setUint16(0, 2, true);
    dv.setBigInt64(2, 3n, true);
    dv.setInt16(10, 1, true);
    dv.setBigInt64(12, 7n, true);
    dv.setInt16(20, 0x41, true);
    expect(decodeParam(param('fds', PT.FDLIST), b, ctx, 'poll').text).toBe('3:f1 7:?41');
  });
  it('decodes a whole event schema entry', () => {
    const open = eventInfo(3);
    expect(open?.name).toBe('open');
    expect(open?.params.map((p) => p.name)).toEqual(['fd', 'name', 'flags', 'mode', 'dev', 'ino']);
  });
});

describe('decodeTuple', () => {
  it('decodes IPv4, IPv4-mapped IPv6 and unix tuples', () => {
    expect(decodeTuple(P.tuple4('1.2.3.4', 1, '5.6.7.8', 2))).toEqual({
      family: 'ipv4',
      sip: '1.2.3.4',
      sport: 1,
      dip: '5.6.7.8',
      dport: 2,
    });
    const mapped = new Uint8Array(37);
    mapped[0] = 10;
    mapped.set([0xff, 0xff, 10, 0, 0, 1], 11);
    mapped.set([0xff, 0xff, 10, 0, 0, 2], 29);
    expect(decodeTuple(mapped)).toMatchObject({ family: 'ipv4', sip: '10.0.0.1', dip: '10.0.0.2' });
    expect(decodeTuple(P.tupleUnix(0n, 0xffff1234n, '/run/x.sock'))).toMatchObject({
      family: 'unix',
      dest: 0xffff1234n,
      path: '/run/x.sock',
    });
    expect(decodeTuple(P.empty())).toBeUndefined();
  });
});

describe('fast paths agree with the plain definitions', () => {
  /** The definition: fold `.`, `..` and empty components of the joined path. */
  const fold = (dir: string, path: string): string => {
    const full = path.startsWith('/') ? path : `${dir.endsWith('/') ? dir : `${dir}/`}${path}`;
    const out: string[] = [];
    for (const part of full.split('/')) {
      if (part === '' || part === '.') continue;
      if (part === '..') out.pop();
      else out.push(part);
    }
    return `/${out.join('/')}`;
  };
  const pathish = fc.string({ unit: fc.constantFrom('/', '.', 'a', 'b'), maxLength: 12 });

  it('concatPaths keeps normal paths and folds the others', () => {
    fc.assert(
      fc.property(pathish, pathish, (dir, path) => concatPaths(dir, path) === fold(dir, path)),
      {
        numRuns: 5000,
      },
    );
    expect(concatPaths('/', '/a/.b/..c')).toBe('/a/.b/..c');
    expect(concatPaths('/x', 'a/')).toBe('/x/a');
  });

  it('decodeCString: ASCII, UTF-8, latin1 when invalid, cut at the first NUL', () => {
    const reference = (b: Uint8Array): string => {
      const end = b.indexOf(0);
      const bytes = b.subarray(0, end < 0 ? b.length : end);
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        return new TextDecoder('latin1').decode(bytes);
      }
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 24 }), (b) => decodeCString(b) === reference(b)),
      { numRuns: 3000 },
    );
    expect(decodeCString(Uint8Array.of(0x68, 0xc3, 0xa9, 0, 0x41))).toBe('hé');
  });

  it('64-bit integers are numbers while exact, bigints beyond', () => {
    const info = param('v', PT.INT64);
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (v) => {
        const want = v >= -(2n ** 53n) && v < 2n ** 53n ? Number(v) : v;
        return decodeParam(info, P.i64(v), ctx, 'x').raw === want;
      }),
      { numRuns: 3000 },
    );
    const u = param('v', PT.UINT64);
    expect(decodeParam(u, P.u64(2n ** 53n - 1n), ctx, 'x').raw).toBe(2 ** 53 - 1);
    expect(decodeParam(u, P.u64(2n ** 64n - 1n), ctx, 'x').raw).toBe(2n ** 64n - 1n);
    expect(decodeParam(param('v', PT.INT32), P.u32(0xffffffff), ctx, 'x').raw).toBe(-1);
    expect(decodeParam(param('v', PT.INT16), P.u16(0x8000), ctx, 'x').raw).toBe(-32768);
    expect(decodeParam(param('v', PT.INT8), P.u8(0xff), ctx, 'x').raw).toBe(-1);
  });

  it('decodeRawParam gives the raw value decodeParam gives, for every parameter of the table', () => {
    const params = allEvents().flatMap((e) => e.params.map((p) => ({ p, event: e.name })));
    fc.assert(
      fc.property(fc.constantFrom(...params), fc.uint8Array({ maxLength: 40 }), ({ p, event }, b) => {
        let full: unknown;
        let fullThrew = false;
        try {
          full = decodeParam(p, b, ctx, event).raw;
        } catch {
          fullThrew = true;
        }
        let raw: unknown;
        let rawThrew = false;
        try {
          raw = decodeRawParam(p, b, event);
        } catch {
          rawThrew = true;
        }
        expect(rawThrew).toBe(fullThrew);
        expect(raw).toEqual(full);
      }),
      { numRuns: 5000 },
    );
  });
});

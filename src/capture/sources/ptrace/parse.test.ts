import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  STRACE_FORMAT_OPTIONS,
  atomFd,
  atomNumber,
  decodeStraceString,
  parseFdDecoration,
  parseStraceArgs,
  parseStraceLine,
  parseStraceResult,
  straceArgs,
  type StraceLine,
} from './parse.js';
import { PTRACE_SYSCALLS } from './translate.js';

const GOLDEN = join(import.meta.dirname, '../../../../test/capture/strace-golden');
const goldenFiles = readdirSync(GOLDEN).filter((f) => f.endsWith('.txt'));

function line(text: string): StraceLine {
  const l = parseStraceLine(text);
  if (typeof l === 'string') throw new Error(`not parsed (${l}): ${text}`);
  return l;
}

describe('parseStraceLine', () => {
  it('splits a complete call: pid, comm, timestamp, name, arguments, result, duration', () => {
    const l = line(
      '17086<cat> 1795650771.387767123 openat(AT_FDCWD</tmp/st>, "/etc/hostname", O_RDONLY) = 3</etc/hostname> <0.000232001>',
    );
    expect(l).toMatchObject({
      kind: 'call',
      pid: 17086,
      comm: 'cat',
      ts: 1795650771387767123n,
      name: 'openat',
      args: 'AT_FDCWD</tmp/st>, "/etc/hostname", O_RDONLY',
      result: '3</etc/hostname>',
      durationNs: 232001n,
    });
  });

  it('finds the closing parenthesis past parentheses inside strings and decorations', () => {
    const l = line('5<x> 1.5 openat(AT_FDCWD</a (b)>, "c) = 4", O_RDONLY) = 3</a (b)/c) = 4> <0.1>');
    expect(l).toMatchObject({ args: 'AT_FDCWD</a (b)>, "c) = 4", O_RDONLY', result: '3</a (b)/c) = 4>' });
    expect(l.ts).toBe(1_500_000_000n);
  });

  it('reads unfinished and resumed halves', () => {
    expect(line('17085<sh> 1795650771.285284000 vfork( <unfinished ...>')).toMatchObject({
      kind: 'unfinished',
      name: 'vfork',
      args: '',
    });
    expect(
      line('17085<sh> 1795650771.287172000 <... vfork resumed>) = 17086<cat> <0.001682000>'),
    ).toMatchObject({ kind: 'resumed', name: 'vfork', args: '', result: '17086<cat>', durationNs: 1682000n });
    expect(
      line('7<a> 2.0 <... accept4 resumed>{sa_family=AF_INET, sin_port=htons(1)}, [16], 0) = 4 <0.1>'),
    ).toMatchObject({
      kind: 'resumed',
      args: '{sa_family=AF_INET, sin_port=htons(1)}, [16], 0',
      result: '4',
    });
  });

  it('reads process ends', () => {
    expect(line('9<x> 3.000000001 +++ exited with 3 +++')).toMatchObject({ kind: 'exited', code: 3 });
    expect(line('9<x> 3.0 +++ killed by SIGKILL +++')).toMatchObject({
      kind: 'killed',
      signal: 'SIGKILL',
      core: false,
    });
    expect(line('9<x> 3.0 +++ killed by SIGSEGV (core dumped) +++')).toMatchObject({ core: true });
    expect(line('9 3.0 +++ superseded by execve in pid 12 +++')).toMatchObject({
      kind: 'superseded',
      byPid: 12,
    });
  });

  it('takes the bracketed pid form and a default pid', () => {
    expect(line('[pid  42] 1.0 close(3) = 0')).toMatchObject({ pid: 42 });
    expect(parseStraceLine('1.0 close(3) = 0', 7)).toMatchObject({ pid: 7 });
  });

  it('says why a line is not strace output', () => {
    expect(parseStraceLine('hello world')).toBe('malformed');
    expect(parseStraceLine('12<x> close(3) = 0')).toBe('no-timestamp');
    expect(parseStraceLine('12<x> 1.0 close(3')).toBe('malformed');
  });
});

describe('parseStraceArgs', () => {
  it('reads strings, numbers, flags, fds, arrays, structs and keyed arguments', () => {
    const args = parseStraceArgs(
      'AT_FDCWD</tmp>, "a\\"b\\n\\303\\251", O_WRONLY|O_CREAT, 0666, ["x", "y"...], {flags=CLONE_VM, stack=0x10} => {parent_tid=[5<t>]}, child_stack=NULL',
    );
    expect(args.map((a) => a.value.k)).toEqual(['atom', 'str', 'atom', 'atom', 'arr', 'io', 'atom']);
    expect(args[1]?.value).toEqual({ k: 'str', s: 'a"b\né', truncated: false });
    const arr = args[4]?.value;
    expect(arr?.k === 'arr' && arr.items.length).toBe(2);
    expect(arr?.k === 'arr' && (arr.items[1] as { truncated: boolean }).truncated).toBe(true);
    const io = args[5]?.value;
    expect(io?.k === 'io' && io.before.k === 'obj' && io.before.fields[0]).toEqual({
      key: 'flags',
      value: { k: 'atom', text: 'CLONE_VM' },
    });
    expect(args[6]).toEqual({ key: 'child_stack', value: { k: 'atom', text: 'NULL' } });
  });

  it('keeps decorations with nested brackets and arrows in one atom', () => {
    const args = parseStraceArgs('19<TCP:[127.0.0.1:33719->127.0.0.1:57492]>, 11</dev/null<char 1:3>>');
    expect(args.map((a) => (a.value.k === 'atom' ? a.value.text : ''))).toEqual([
      '19<TCP:[127.0.0.1:33719->127.0.0.1:57492]>',
      '11</dev/null<char 1:3>>',
    ]);
  });

  it('marks arrays strace cut short', () => {
    const v = parseStraceArgs('["a", ...]')[0]?.value;
    expect(v).toEqual({ k: 'arr', items: [{ k: 'str', s: 'a', truncated: false }], truncated: true });
  });

  it('skips comments', () => {
    expect(parseStraceArgs('0x7ffd /* 20 vars */, 1').map((a) => a.value)).toEqual([
      { k: 'atom', text: '0x7ffd' },
      { k: 'atom', text: '1' },
    ]);
  });
});

describe('values', () => {
  it('decodes C escapes to UTF-8 text', () => {
    expect(decodeStraceString('uni\\303\\251')).toBe('unié');
    expect(decodeStraceString('we\\76ird\\x41\\t')).toBe('we>irdA\t');
  });

  it('reads results', () => {
    expect(parseStraceResult('3</etc/hostname>')).toEqual({ value: 3, decoration: '/etc/hostname' });
    expect(parseStraceResult('-1 ENOENT (No such file or directory)')).toEqual({
      value: -1,
      errno: 'ENOENT',
    });
    expect(parseStraceResult('?')).toEqual({});
    expect(parseStraceResult('3</memfd:x>(deleted)')).toEqual({ value: 3, decoration: '/memfd:x' });
    expect(parseStraceResult('1</dev/null<char 1:3>>')).toEqual({
      value: 1,
      decoration: '/dev/null<char 1:3>',
    });
  });

  it('reads numbers and fds', () => {
    expect(atomNumber('0755')).toBe(0o755);
    expect(atomNumber('0x1f')).toBe(31);
    expect(atomNumber('-1')).toBe(-1);
    expect(atomNumber('O_RDONLY')).toBeUndefined();
    expect(atomFd('AT_FDCWD</tmp>')).toEqual({ fd: -100, decoration: '/tmp' });
    expect(atomFd('26374<python3>')).toEqual({ fd: 26374, decoration: 'python3' });
  });

  it('reads fd decorations', () => {
    expect(parseFdDecoration('/dev/null<char 1:3>')).toEqual({
      kind: 'path',
      path: '/dev/null',
      devMajor: 1,
      devMinor: 3,
    });
    expect(parseFdDecoration('/tmp/we\\76ird')).toEqual({ kind: 'path', path: '/tmp/we>ird' });
    expect(parseFdDecoration('pipe:[279872]')).toEqual({ kind: 'pipe', inode: 279872 });
    expect(parseFdDecoration('TCPv6:[[::1]:42683->[::1]:55082]')).toEqual({
      kind: 'inet',
      family: 'ipv6',
      proto: 'tcp',
      local: { ip: '::1', port: 42683 },
      remote: { ip: '::1', port: 55082 },
    });
    expect(parseFdDecoration('UDP:[280940]')).toEqual({
      kind: 'inet',
      family: 'ipv4',
      proto: 'udp',
      inode: 280940,
    });
    expect(parseFdDecoration('UNIX-STREAM:[278628->278625,"/tmp/x.sock"]')).toEqual({
      kind: 'unix',
      inode: 278628,
      peer: 278625,
      path: '/tmp/x.sock',
    });
    expect(parseFdDecoration('anon_inode:[eventfd]')).toEqual({ kind: 'anon', what: 'eventfd' });
    expect(parseFdDecoration('/memfd:vigil')).toEqual({ kind: 'memfd', name: 'vigil' });
    expect(parseFdDecoration('uts:[4026531838]')).toEqual({ kind: 'other', text: 'uts:[4026531838]' });
  });
});

describe('straceArgs', () => {
  it('builds the command line for a command and for attaching', () => {
    expect(straceArgs({ syscalls: ['openat', 'close'], output: '/f', command: ['sh', '-c', 'x'] })).toEqual([
      ...STRACE_FORMAT_OPTIONS,
      '-e',
      'quiet=attach,personality',
      '-e',
      'trace=?openat,?close',
      '--seccomp-bpf',
      '-o',
      '/f',
      '--',
      'sh',
      '-c',
      'x',
    ]);
    const attach = straceArgs({ syscalls: ['openat'], output: '/f', pids: [1, 2] });
    expect(attach).not.toContain('--seccomp-bpf'); // strace refuses it with -p
    expect(attach.slice(-4)).toEqual(['-p', '1', '-p', '2']);
    expect(attach).toContain('quiet=personality'); // attach messages tell the source it is attached
  });

  // The golden fixtures must be recorded with the options the source uses.
  it.each(goldenFiles)('%s was recorded with the source options', (file) => {
    const header = readFileSync(join(GOLDEN, file), 'utf8').split('\n')[0] ?? '';
    expect(header.startsWith(`# strace ${STRACE_FORMAT_OPTIONS.join(' ')} -e quiet=`)).toBe(true);
    const traced = /-e trace=(\S+)/.exec(header)?.[1]?.split(',') ?? [];
    expect(new Set(traced)).toEqual(new Set(PTRACE_SYSCALLS.map((s) => `?${s}`)));
  });
});

describe('golden fixtures', () => {
  it.each(goldenFiles)('every line of %s is strace output the line parser reads', (file) => {
    const lines = readFileSync(join(GOLDEN, file), 'utf8')
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'));
    expect(lines.length).toBeGreaterThan(10);
    for (const l of lines) expect(typeof parseStraceLine(l), l).toBe('object');
  });
});

/**
 * `vigil capture -w` through the built binary, read back by Debian's real sysdig 0.29 and by
 * `vigil replay`: the command's own syscalls, the processes that existed before the capture (from
 * the initial tables), gzip output, and usage and rules errors. Needs root, the eBPF probe and
 * sysdig; each skip names its reason.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findOnPath } from '../../src/capture/driver-select.js';
import { runVigil } from '../helpers/cli.js';
import { ebpfSkipReason } from '../helpers/ebpf.js';

const CAPTURE_SKIP = await ebpfSkipReason();
const SYSDIG = findOnPath('sysdig');
const SYSDIG_SKIP = SYSDIG ? undefined : 'sysdig is not installed (Debian: apt-get install sysdig)';
if (CAPTURE_SKIP) console.warn(`[vigil tests] skipping vigil capture cases: ${CAPTURE_SKIP}`);
if (SYSDIG_SKIP) console.warn(`[vigil tests] skipping the sysdig read-back of vigil capture: ${SYSDIG_SKIP}`);

const dir = mkdtempSync(join(tmpdir(), 'vigil-capture-'));
const HOSTNAME_RULE =
  '- rule: hostname read by cat\n  desc: d\n  condition: evt.type = openat and fd.name = /etc/hostname and proc.name = cat\n  output: hostname read (proc=%proc.name cmdline=%proc.cmdline file=%fd.name)\n  priority: NOTICE\n';

/** sysdig's formatted output of a capture (`-p FORMAT`, optional filter). */
function sysdig(file: string, format: string, filter?: string): string {
  const r = spawnSync(SYSDIG!, ['-r', file, '-p', format, ...(filter ? [filter] : [])], {
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`sysdig failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

describe('vigil capture: usage and rules errors', () => {
  it('-w is required (exit 2)', () => {
    const r = runVigil(['capture', '--duration', '1']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/required option '-w, --write <file>'/);
  });

  it('--driver ptrace is refused: only eBPF writes captures (exit 2)', () => {
    const r = runVigil(['capture', '-w', join(dir, 'x.scap'), '--driver', 'ptrace']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--driver/);
  });

  it('-r with --all-syscalls is a usage error (exit 2)', () => {
    const r = runVigil(['capture', '-w', join(dir, 'x.scap'), '-r', 'rules', '--all-syscalls']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cannot be used with/);
  });

  it('invalid rules: exit 1 with file:line:col, before any capture starts', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      '- rule: x\n  desc: d\n  condition: evt.type = = open\n  output: o\n  priority: WARNING\n',
    );
    const r = runVigil(['capture', '-w', join(dir, 'never.scap'), '-r', bad, '--duration', '1']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${bad}:3:`);
    expect(existsSync(join(dir, 'never.scap'))).toBe(false);
  });
});

describe.skipIf(CAPTURE_SKIP !== undefined)('vigil capture on eBPF', () => {
  const file = join(dir, 'cat.scap');
  const rules = join(dir, 'hostname.yaml');
  let stderr = '';
  let status: number | null = null;
  let loop: ReturnType<typeof spawn> | undefined;
  let longArgs: ReturnType<typeof spawn> | undefined;

  beforeAll(async () => {
    // A process that exists before the capture and keeps making syscalls during it: only the
    // capture's initial process table can name it.
    loop = spawn('sh', ['-c', 'while :; do sleep 0.1; done'], { stdio: 'ignore' });
    // One whose command line passes libscap's 4 KiB limit on initial-table arguments (CI runners
    // have such processes; sysdig refuses a capture that carries one).
    longArgs = spawn('sh', ['-c', 'while :; do sleep 0.1; done', `long-${'x'.repeat(30_000)}`], {
      stdio: 'ignore',
    });
    await new Promise((r) => setTimeout(r, 200));
    // Only what this rule and the process state need: a small capture, quick to read back.
    writeFileSync(rules, HOSTNAME_RULE);
    const r = runVigil([
      'capture',
      '-w',
      file,
      '-r',
      rules,
      '--',
      'sh',
      '-c',
      'sleep 0.5; cat /etc/hostname; exit 5',
    ]);
    stderr = r.stderr;
    status = r.status;
  }, 90_000);
  afterAll(() => {
    loop?.kill('SIGKILL');
    longArgs?.kill('SIGKILL');
  });

  it('reports what it wrote and exits with the command status', () => {
    expect(status, stderr).toBe(5);
    expect(stderr).toMatch(/stopped \(the command exited\)/);
    const m = /wrote ([\d,]+) events \(([\d.]+) (KiB|MiB)\) to /.exec(stderr);
    expect(m, stderr).not.toBeNull();
    expect(Number(m![1]!.replace(/,/g, ''))).toBeGreaterThan(0);
    expect(stderr).toMatch(/drops: \d+/);
    expect(stderr).toMatch(/initial tables: [\d,]+ threads, [\d,]+ fds, [\d,]+ users, [\d,]+ groups/);
  });

  it.skipIf(SYSDIG_SKIP !== undefined)('sysdig 0.29 reads it: the openat of /etc/hostname by cat', () => {
    const out = sysdig(file, '%evt.type %proc.name %fd.name', 'proc.name=cat and evt.type=openat');
    expect(out, out.slice(0, 2000)).toMatch(/^openat cat \/etc\/hostname$/m);
  });

  it.skipIf(SYSDIG_SKIP !== undefined)('sysdig names a process that was running before the capture', () => {
    const pid = loop!.pid!;
    const out = sysdig(file, '%proc.pid %proc.name %proc.cmdline', `proc.pid=${pid}`);
    const lines = out.split('\n').filter(Boolean);
    expect(lines.length, `no event of pid ${pid}`).toBeGreaterThan(0);
    for (const l of lines) expect(l).toBe(`${pid} sh sh -c while :; do sleep 0.1; done`);
  });

  it.skipIf(SYSDIG_SKIP !== undefined)(
    'a command line over 4 KiB is truncated, and sysdig still reads the capture',
    () => {
      const pid = longArgs!.pid!;
      const out = sysdig(file, '%proc.cmdline', `proc.pid=${pid}`);
      const lines = out.split('\n').filter(Boolean);
      expect(lines.length, `no event of pid ${pid}`).toBeGreaterThan(0);
      for (const l of lines) {
        expect(l.startsWith('sh -c while :; do sleep 0.1; done long-xxx')).toBe(true);
        expect(l.length).toBeLessThanOrEqual('sh '.length + 4096);
      }
    },
  );

  it('vigil replay reads it and raises a rule on the command', () => {
    const r = runVigil(['replay', '-r', rules, file]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /Notice hostname read \(proc=cat cmdline=cat \/etc\/hostname file=\/etc\/hostname\)/,
    );
  });

  it.skipIf(SYSDIG_SKIP !== undefined)('only the syscalls the rules and process state need', () => {
    const types = new Set(sysdig(file, '%evt.type').split('\n').filter(Boolean));
    expect(types.has('openat')).toBe(true);
    for (const t of ['read', 'write', 'mmap']) expect(types.has(t)).toBe(false);
  });

  it('--gzip --duration with every syscall: a gzip capture sysdig reads', () => {
    const gz = join(dir, 'all.scap');
    const r = runVigil(['capture', '-w', gz, '--gzip', '--all-syscalls', '--duration', '1']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\(gzip\)/);
    expect(r.stderr).toMatch(/stopped \(duration reached\)/);
    expect(r.stderr).toMatch(/(KiB|MiB) compressed, [\d.]+ (KiB|MiB) raw/);
    expect([...readFileSync(gz).subarray(0, 2)]).toEqual([0x1f, 0x8b]);
    expect(readdirSync(dir).filter((n) => n.endsWith('.raw'))).toEqual([]);
    if (SYSDIG) {
      const n = sysdig(gz, '%evt.num').split('\n').filter(Boolean).length;
      expect(n).toBeGreaterThan(0);
    }
  }, 60_000);
});

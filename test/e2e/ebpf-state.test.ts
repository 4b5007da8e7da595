/**
 * Process and fd state on live eBPF events: a detector with a small rules file of its own watches
 * real programs (test/e2e/e2e-tool.c, the host's sh) change directory, open files by relative
 * path, reuse a closed fd's number for a pipe, exec with close-on-exec fds open, and run from a
 * memfd. Each case checks the fields a rule sees (fd.name, proc.cwd, fd.type, proc.exepath).
 *
 * The suite runs twice: with the default capture set, where close is not captured (the state
 * engine does without it, see docs/drivers.md), and with `keepCloseEvents`.
 *
 * Needs root, the built probe and gcc (static); skips naming what is missing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDetector, type DetectorStart } from '../../src/agent/detector.js';
import type { Alert } from '../../src/engine/engine.js';
import { ebpfSkipReason } from '../helpers/ebpf.js';
import { LOADER, LiveDetector, buildTool, hostSh, run, which } from './live.js';

const SKIP =
  (await ebpfSkipReason()) ?? (which('gcc') ? undefined : 'gcc is not installed (builds e2e-tool)');
if (SKIP) console.warn(`[vigil tests] skipping live eBPF state tests: ${SKIP}`);

/** Every process of these tests carries this word in its arguments. */
const MARK = 'vigil-e2e-state';

const RULES = `
- rule: E2E state open
  desc: opens by the processes of the eBPF state tests
  condition: evt.type in (open, openat, openat2) and evt.dir = < and proc.args contains "${MARK}"
  output: open fd=%fd.name raw=%fd.nameraw cwd=%proc.cwd pid=%proc.pid
  priority: WARNING
- rule: E2E state dup
  desc: dups by the processes of the eBPF state tests
  condition: evt.type = dup and evt.dir = < and proc.args contains "${MARK}"
  output: dup fd=%fd.name type=%fd.type num=%fd.num res=%evt.rawres pid=%proc.pid
  priority: WARNING
- rule: E2E state memfd exec
  desc: programs of the eBPF state tests run from a memfd
  condition: evt.type in (execve, execveat) and evt.dir = < and proc.is_exe_from_memfd = true and proc.args contains "${MARK}"
  output: memfd exe=%proc.exepath pid=%proc.pid
  priority: WARNING
`;

const f = (a: Alert, k: string): unknown => a.outputFields[k];

describe.skipIf(SKIP !== undefined).each([
  { keepClose: false, mode: 'close not captured (default)' },
  { keepClose: true, mode: 'close captured (keepCloseEvents)' },
])('live eBPF process and fd state, $mode', { timeout: 120_000 }, ({ keepClose }) => {
  let live: LiveDetector;
  let started: DetectorStart;
  let tool: string;
  let dir: string;

  beforeAll(async () => {
    tool = buildTool();
    dir = mkdtempSync(join(tmpdir(), 'vigil-e2e-state-'));
    const rules = join(dir, 'rules.yaml');
    writeFileSync(rules, RULES);
    const holder: { live?: LiveDetector } = {};
    const d = createDetector({
      rulesFiles: [rules],
      driver: 'ebpf',
      loaderPath: LOADER,
      ringbufMb: 64,
      keepCloseEvents: keepClose,
      onAlert: (a) => holder.live?.record(a),
    });
    live = new LiveDetector(d);
    holder.live = live;
    started = await d.start();
  }, 120_000);

  afterAll(async () => {
    if (live) await live.detector.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (tool) rmSync(join(tool, '..'), { recursive: true, force: true });
  });

  const byRule =
    (rule: string, pid: number, extra: (a: Alert) => boolean = () => true) =>
    (a: Alert): boolean =>
      a.rule === rule && Number(f(a, 'proc.pid')) === pid && extra(a);

  it('captures close only when asked to, and the fd-making and cwd syscalls always', () => {
    expect(started.driver).toBe('ebpf');
    if (keepClose) expect(started.syscalls).toContain('close');
    else expect(started.syscalls).not.toContain('close');
    for (const s of ['chdir', 'fchdir', 'pipe', 'pipe2', 'fcntl', 'eventfd2', 'epoll_create1'])
      expect(started.syscalls).toContain(s);
  });

  it('cd /etc && open shadow in the shell itself: fd.name=/etc/shadow, proc.cwd=/etc/', async () => {
    const m = live.mark();
    // `: < shadow` opens the file in the shell's own process, after its own chdir.
    const r = await run('/bin/sh', ['-c', 'cd /etc && : < shadow', MARK]);
    expect(r.status).toBe(0);
    const a = await live.waitFor(
      m,
      'the shell opening shadow',
      byRule('E2E state open', r.pid, (x) => f(x, 'fd.nameraw') === 'shadow'),
    );
    expect(f(a, 'fd.name')).toBe('/etc/shadow');
    expect(f(a, 'proc.cwd')).toBe('/etc/');
  });

  it('a relative chdir resolves against the old cwd', async () => {
    const m = live.mark();
    const r = await run(tool, ['chdir_open', '../etc', 'shadow', MARK], { cwd: '/usr' });
    expect(r.status, r.stderr).toBe(0);
    const a = await live.waitFor(
      m,
      'chdir_open ../etc shadow from /usr',
      byRule('E2E state open', r.pid, (x) => f(x, 'fd.nameraw') === 'shadow'),
    );
    expect(f(a, 'fd.name')).toBe('/etc/shadow');
    expect(f(a, 'proc.cwd')).toBe('/etc/');
  });

  it('fchdir takes the directory fd name as the new cwd', async () => {
    const m = live.mark();
    const r = await run(tool, ['fchdir_open', '/etc', 'shadow', MARK], { cwd: '/' });
    expect(r.status, r.stderr).toBe(0);
    const a = await live.waitFor(
      m,
      'fchdir_open /etc shadow',
      byRule('E2E state open', r.pid, (x) => f(x, 'fd.nameraw') === 'shadow'),
    );
    expect(f(a, 'fd.name')).toBe('/etc/shadow');
    expect(f(a, 'proc.cwd')).toBe('/etc/');
  });

  it('a closed file number reused by a pipe is the pipe, not the old file', async () => {
    const m = live.mark();
    const r = await run(tool, ['reuse_fd', '/etc/hostname', MARK]);
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    const a = await live.waitFor(m, 'the dup of the pipe', byRule('E2E state dup', r.pid));
    expect(f(a, 'fd.type')).toBe('pipe');
    expect(f(a, 'fd.name')).not.toBe('/etc/hostname');
  });

  it('an exec drops the close-on-exec fds and keeps the others', async () => {
    const m = live.mark();
    const r = await run(tool, ['cloexec_exec', '/etc/hostname', '/etc/passwd', MARK]);
    expect(r.status, r.stderr).toBe(0);
    // dup_fds dups the close-on-exec fd (fails: the kernel closed it) and the other one.
    expect(r.stdout).toMatch(/errno=9/);
    const ok = await live.waitFor(
      m,
      'the dup of the inherited fd',
      byRule('E2E state dup', r.pid, (x) => Number(f(x, 'evt.rawres')) >= 0),
    );
    expect(f(ok, 'fd.name')).toBe('/etc/passwd');
    const failed = await live.waitFor(
      m,
      'the failed dup of the close-on-exec fd',
      byRule('E2E state dup', r.pid, (x) => Number(f(x, 'evt.rawres')) < 0),
    );
    expect(f(failed, 'fd.name')).not.toBe('/etc/hostname');
  });

  it('a program run from a memfd has proc.exepath memfd:NAME, as Falco reports it', async () => {
    const m = live.mark();
    const r = await run(tool, ['memfd_exec', '/bin/true', 'true', MARK]);
    expect(r.status, r.stderr).toBe(0);
    const a = await live.waitFor(m, 'the memfd exec', byRule('E2E state memfd exec', r.pid));
    expect(f(a, 'proc.exepath')).toBe('memfd:vigil-e2e');
  });

  it('the state keeps working for a shell pipeline', async () => {
    const m = live.mark();
    const r = await hostSh(`cd /etc && cat hostname | cat > /dev/null && : < shadow # ${MARK}`);
    expect(r.status).toBe(0);
    const a = await live.waitFor(
      m,
      'the pipeline shell opening shadow',
      byRule('E2E state open', r.pid, (x) => f(x, 'fd.nameraw') === 'shadow'),
    );
    expect(f(a, 'fd.name')).toBe('/etc/shadow');
    expect(f(a, 'proc.cwd')).toBe('/etc/');
  });
});

import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  canLoadBpf,
  checkEbpf,
  checkPtrace,
  DriverSelectError,
  effectiveCapabilities,
  ensureTracingMounts,
  findOnPath,
  selectDriver,
} from './driver-select.js';

/** Honest fakes: small executables standing in for the loader, strace and mount(8). */
let dir: string;
let statusRoot: string;
let statusUser: string;
let btf: string;
let fakeStrace: string;
const script = (name: string, body: string): string => {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-driver-'));
  statusRoot = join(dir, 'status-root');
  writeFileSync(statusRoot, 'Name:\tvigil\nCapEff:\t000001ffffffffff\n');
  statusUser = join(dir, 'status-user');
  writeFileSync(statusUser, 'Name:\tvigil\nCapEff:\t0000000000000000\n');
  btf = join(dir, 'vmlinux');
  writeFileSync(btf, '');
  fakeStrace = script('strace', 'exit 0');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('capabilities', () => {
  it('reads CapEff and knows what loading BPF needs', () => {
    expect(effectiveCapabilities('Foo: 1\nCapEff:\t000001ffffffffff\n')).toBe(0x1ffffffffffn);
    expect(effectiveCapabilities('no caps here')).toBeUndefined();
    expect(canLoadBpf(1n << 21n)).toBe(true); // CAP_SYS_ADMIN
    expect(canLoadBpf((1n << 38n) | (1n << 39n))).toBe(true); // CAP_PERFMON + CAP_BPF
    expect(canLoadBpf(1n << 39n)).toBe(false); // CAP_BPF alone cannot attach tracing programs
    expect(canLoadBpf(0n)).toBe(false);
  });
});

describe('checkEbpf', () => {
  it('tells a user without privileges to run as root', async () => {
    const c = await checkEbpf({
      procStatusPath: statusUser,
      btfPath: btf,
      loaderPath: script('ok-loader', 'exit 0'),
    });
    expect(c.ok).toBe(false);
    expect(c.reason).toMatch(/not running as root/);
    expect(c.hint).toMatch(/sudo|CAP_BPF/);
  });

  it('names the missing BTF and the missing build', async () => {
    const noBtf = await checkEbpf({
      procStatusPath: statusRoot,
      btfPath: join(dir, 'absent'),
      loaderPath: script('l1', 'exit 0'),
    });
    expect(noBtf.reason).toMatch(/no BTF/);
    expect(noBtf.hint).toMatch(/CONFIG_DEBUG_INFO_BTF/);
    const unbuilt = await checkEbpf({
      procStatusPath: statusRoot,
      btfPath: btf,
      loaderPath: join(dir, 'nope'),
    });
    expect(unbuilt.reason).toMatch(/not built/);
    expect(unbuilt.hint).toMatch(/scripts\/build-bpf\.sh/);
  });

  it('passes when the loader attaches, and reports the kernel refusal it prints otherwise', async () => {
    const args = join(dir, 'loader-args');
    const ok = await checkEbpf({
      procStatusPath: statusRoot,
      btfPath: btf,
      loaderPath: script('l2', `echo "$@" > ${args}; exit 0`),
    });
    expect(ok).toEqual({ driver: 'ebpf', ok: true });
    expect(readFileSync(args, 'utf8').trim()).toBe('--check --syscalls openat,close');
    const refused = await checkEbpf({
      procStatusPath: statusRoot,
      btfPath: btf,
      loaderPath: script(
        'l3',
        `echo '{"type":"error","code":"permission-denied","errno":1,"message":"locked down"}' >&2; exit 2`,
      ),
    });
    expect(refused.ok).toBe(false);
    expect(refused.reason).toContain('locked down');
    expect(refused.hint).toMatch(/root/);
    const crashed = await checkEbpf({
      procStatusPath: statusRoot,
      btfPath: btf,
      loaderPath: script('l4', 'echo boom >&2; exit 139'),
    });
    expect(crashed.reason).toMatch(/exit 139.*boom/);
  });
});

describe('checkPtrace', () => {
  it('needs strace and ptrace', () => {
    expect(checkPtrace({ stracePath: fakeStrace, ptraceScopePath: join(dir, 'absent') })).toEqual({
      driver: 'ptrace',
      ok: true,
    });
    expect(checkPtrace({ stracePath: join(dir, 'no-strace') }).hint).toMatch(/apt-get install strace/);
    const scope = join(dir, 'scope3');
    writeFileSync(scope, '3\n');
    expect(checkPtrace({ stracePath: fakeStrace, ptraceScopePath: scope }).reason).toMatch(/ptrace_scope=3/);
  });

  it('finds executables on PATH', () => {
    expect(findOnPath('strace', `${join(dir, 'empty')}:${dir}`)).toBe(fakeStrace);
    expect(findOnPath('no-such-tool', dir)).toBeUndefined();
  });
});

describe('selectDriver', () => {
  const base = { mountTracing: false, procStatusPath: statusRoot, btfPath: btf };

  it('prefers eBPF when it works', async () => {
    const s = await selectDriver({ ...base, loaderPath: script('good', 'exit 0'), stracePath: fakeStrace });
    expect(s.driver).toBe('ebpf');
    expect(s.messages).toEqual([]);
  });

  it('falls back to ptrace with a message saying why and how to get eBPF', async () => {
    const s = await selectDriver({ ...base, loaderPath: join(dir, 'unbuilt'), stracePath: fakeStrace });
    expect(s.driver).toBe('ptrace');
    expect(s.checks.map((c) => [c.driver, c.ok])).toEqual([
      ['ebpf', false],
      ['ptrace', true],
    ]);
    expect(s.messages.join('\n')).toMatch(
      /eBPF capture unavailable .*not built.*falling back to ptrace.*build-bpf\.sh/s,
    );
  });

  it('fails with every reason when nothing can run, or when the preferred driver cannot', async () => {
    const none = await selectDriver({
      ...base,
      loaderPath: join(dir, 'unbuilt'),
      stracePath: join(dir, 'no-strace'),
    }).catch((e: unknown) => e);
    expect(none).toBeInstanceOf(DriverSelectError);
    expect((none as Error).message).toMatch(
      /no capture driver can run here:\n {2}- ebpf: .*build-bpf\.sh.*\n {2}- ptrace: strace is not installed/s,
    );
    const onlyEbpf = await selectDriver({
      ...base,
      prefer: 'ebpf',
      loaderPath: join(dir, 'unbuilt'),
      stracePath: fakeStrace,
    }).catch((e: unknown) => e);
    expect((onlyEbpf as Error).message).toMatch(/^the eBPF driver cannot run here/);
    const onlyPtrace = await selectDriver({
      ...base,
      prefer: 'ptrace',
      stracePath: join(dir, 'no-strace'),
    }).catch((e: unknown) => e);
    expect((onlyPtrace as DriverSelectError).checks).toHaveLength(1);
  });
});

describe('ensureTracingMounts', () => {
  it('mounts tracefs and debugfs where they are missing, and leaves mounted ones alone', async () => {
    const tracing = join(dir, 'tracing');
    const debug = join(dir, 'debug');
    mkdirSync(tracing);
    mkdirSync(debug);
    const mounts = join(dir, 'mounts');
    writeFileSync(mounts, `sysfs /sys sysfs rw 0 0\ndebugfs ${debug} debugfs rw 0 0\n`);
    const log = join(dir, 'mount-log');
    const mount = script('mount', `echo "$@" >> ${log}`);
    const msgs = await ensureTracingMounts({
      mountsPath: mounts,
      mountCommand: mount,
      tracefsDir: tracing,
      debugfsDir: debug,
    });
    expect(msgs).toEqual([`mounted tracefs at ${tracing}`]);
    expect(readFileSync(log, 'utf8')).toBe(`-t tracefs nodev ${tracing}\n`);
  });

  it('reports a failed mount with the command to run, and a missing mount point', async () => {
    const tracing = join(dir, 'tracing2');
    mkdirSync(tracing);
    const failing = script('mount-fails', 'echo "mount: permission denied" >&2; exit 32');
    const msgs = await ensureTracingMounts({
      mountsPath: join(dir, 'absent'),
      mountCommand: failing,
      tracefsDir: tracing,
      debugfsDir: join(dir, 'no-debug-dir'),
    });
    expect(msgs[0]).toBe(
      `could not mount tracefs at ${tracing} (mount: permission denied); as root: mount -t tracefs nodev ${tracing}`,
    );
    expect(msgs[1]).toMatch(/debugfs is not mounted and .*no-debug-dir does not exist/);
  });
});

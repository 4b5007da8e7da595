/**
 * The runc test harness (test/helpers/runc.ts) against the real runc: a container starts, runs
 * commands, shows its id in /proc/<pid>/cgroup the way the state engine reads it, and is removed
 * completely by delete(), by withRuncContainer when the callback throws, by the exit hook when a
 * test process ends without deleting, and by the sweep when a test process was killed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerFromCgroups } from '../../src/capture/state/container-id.js';
import { REPO_ROOT } from './fixtures.js';
import {
  CGROUP_PARENT,
  RUNC_ROOT,
  runcSkipReason,
  startRuncContainer,
  sweepStaleContainers,
  withRuncContainer,
  type RuncContainer,
} from './runc.js';

const SKIP = runcSkipReason();

function runcState(id: string): { status: number | null; stdout: string } {
  const r = spawnSync('runc', ['--root', RUNC_ROOT, 'state', id], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout };
}

/** Alive and not a zombie waiting for the host's init to reap it. */
function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The container's cgroup directories on every mounted hierarchy. */
function cgroupDirs(c: RuncContainer): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => {
      const sep = f.indexOf('-');
      return sep > 0 && (f[sep + 1] === 'cgroup' || f[sep + 1] === 'cgroup2');
    })
    .map((f) => join(f[4] ?? '', c.cgroupPath));
}

/** Gone: runc forgets it, its process is dead, bundle and cgroups are removed. */
function expectGone(c: { id: string; pid: number; bundle: string; cgroupPath: string }): void {
  expect(runcState(c.id).status).not.toBe(0);
  expect(pidAlive(c.pid)).toBe(false);
  expect(existsSync(c.bundle)).toBe(false);
  for (const d of cgroupDirs(c as RuncContainer)) expect(existsSync(d), d).toBe(false);
}

describe.skipIf(SKIP !== undefined)(`runc containers${SKIP ? ` (skipped: ${SKIP})` : ''}`, () => {
  it('runs a busybox container whose cgroup names the container id', async () => {
    const c = await startRuncContainer({ hostname: 'vigil-e2e' });
    try {
      expect(c.id).toMatch(/^[0-9a-f]{64}$/);
      expect(c.shortId).toBe(c.id.slice(0, 12));
      expect(runcState(c.id).stdout).toContain('"status": "running"');

      const r = await c.exec("sh -c 'cat /etc/hostname'");
      expect(r).toMatchObject({ status: 0, stdout: 'vigil-e2e\n', stderr: '' });

      // The first process, seen from the host.
      const cgroups = readFileSync(`/proc/${c.pid}/cgroup`, 'utf8').trim().split('\n');
      expect(cgroups.length).toBeGreaterThan(0);
      for (const line of cgroups) expect(line).toContain(`${CGROUP_PARENT}/cri-containerd-${c.id}.scope`);
      // The state engine's reading of it is the short id.
      expect(containerFromCgroups(cgroups)).toMatchObject({ id: c.shortId, fullId: c.id });

      // An exec'd process joins the same cgroup (no cgroup namespace: it sees the host path).
      const self = await c.exec(['cat', '/proc/self/cgroup']);
      expect(self.status).toBe(0);
      expect(containerFromCgroups(self.stdout.trim().split('\n'))?.id).toBe(c.shortId);

      // Its own PID namespace: the first process is PID 1 inside.
      const ps = await c.exec('echo $$; cat /proc/1/cmdline | tr "\\0" " "');
      expect(ps.stdout).toMatch(/^\d+\n\/bin\/sleep 86400 $/);
    } finally {
      await c.delete();
    }
    expectGone(c);
  });

  it('passes exit status, stdin, environment, working directory and user through exec', async () => {
    await withRuncContainer({ env: ['STAGE=test'], files: { '/srv/data.txt': 'hello\n' } }, async (c) => {
      expect((await c.exec('exit 3')).status).toBe(3);
      expect((await c.exec(['tr', 'a-z', 'A-Z'], { input: 'quiet\n' })).stdout).toBe('QUIET\n');
      expect((await c.exec('echo $STAGE $EXTRA', { env: ['EXTRA=1'] })).stdout).toBe('test 1\n');
      expect((await c.exec('pwd; cat data.txt', { cwd: '/srv' })).stdout).toBe('/srv\nhello\n');
      expect((await c.exec(['id', '-u'], { user: '65534:65534' })).stdout).toBe('65534\n');
      const missing = await c.exec(['/bin/no-such-program']);
      expect(missing.status).not.toBe(0);
    });
  });

  it('runs privileged containers with all capabilities and host namespaces on request', async () => {
    await withRuncContainer({ privileged: true, hostPid: true }, async (c) => {
      // Every capability the test process could pass on, CAP_SYS_ADMIN (bit 21) included.
      const caps = await c.exec("grep CapEff /proc/self/status | awk '{print $2}'");
      const bounding = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
      expect(BigInt(`0x${caps.stdout.trim()}`)).toBe(BigInt(`0x${bounding}`) & ((1n << 41n) - 1n));
      expect((BigInt(`0x${caps.stdout.trim()}`) >> 21n) & 1n).toBe(1n);
      // With the host's PID namespace, the container sees host processes: PID 1 is the host's init.
      const init = await c.exec(['cat', '/proc/1/comm']);
      expect(init.stdout).toBe(readFileSync('/proc/1/comm', 'utf8'));
    });
  });

  it('kill() stops the first process; delete() is idempotent', async () => {
    const c = await startRuncContainer();
    await c.kill();
    expect(pidAlive(c.pid)).toBe(false);
    await c.delete();
    await c.delete();
    expectGone(c);
    await expect(c.exec('true')).rejects.toThrow(/deleted/);
  });

  it('withRuncContainer deletes the container when the callback throws', async () => {
    let seen: RuncContainer | undefined;
    await expect(
      withRuncContainer({}, async (c) => {
        seen = c;
        await c.exec('true');
        throw new Error('test body failed');
      }),
    ).rejects.toThrow('test body failed');
    expect(seen).toBeDefined();
    expectGone(seen!);
  });

  it('a failed start reports runc’s error and leaves nothing behind', async () => {
    const err = await startRuncContainer({ args: ['/no/such/entrypoint'] }).then(
      () => new Error('the container started'),
      (e: unknown) => e as Error,
    );
    expect(err.message).toMatch(/^runc run failed for container [0-9a-f]{64} \(bundle .+, status 1\):/);
    expect(err.message).toMatch(/no such file or directory/);
    const [, id, bundle] = /container ([0-9a-f]{64}) \(bundle (.+?), status/.exec(err.message) ?? [];
    expect(runcState(id!).status).not.toBe(0);
    expect(existsSync(bundle!)).toBe(false);
  });

  describe('teardown when a test process does not delete its container', () => {
    let dir = '';
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'vigil-runc-owner-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    /** A separate test process that starts a container, prints its JSON description, then `then`s. */
    function ownerScript(then: 'exit' | 'hang'): string {
      const file = join(dir, `owner-${then}.ts`);
      writeFileSync(
        file,
        [
          `import { startRuncContainer } from ${JSON.stringify(join(REPO_ROOT, 'test', 'helpers', 'runc.ts'))};`,
          'const c = await startRuncContainer();',
          'console.log(JSON.stringify({ id: c.id, pid: c.pid, bundle: c.bundle, cgroupPath: c.cgroupPath }));',
          then === 'exit' ? 'process.exit(0);' : 'setInterval(() => {}, 1000);',
          '',
        ].join('\n'),
      );
      return file;
    }

    function runOwner(then: 'exit' | 'hang'): Promise<{
      info: { id: string; pid: number; bundle: string; cgroupPath: string };
      child: ReturnType<typeof spawn>;
    }> {
      const viteNode = join(REPO_ROOT, 'node_modules', 'vite-node', 'vite-node.mjs');
      const child = spawn(process.execPath, [viteNode, ownerScript(then)], {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      return new Promise((resolve, reject) => {
        let out = '';
        let err = '';
        child.stderr.on('data', (b: Buffer) => (err += b.toString()));
        child.stdout.on('data', (b: Buffer) => {
          out += b.toString();
          const line = out.split('\n').find((l) => l.startsWith('{'));
          if (line)
            resolve({
              info: JSON.parse(line) as { id: string; pid: number; bundle: string; cgroupPath: string },
              child,
            });
        });
        child.on('close', (code) => {
          if (!out.includes('{'))
            reject(new Error(`owner process exited (${code}) before starting a container: ${err}`));
        });
      });
    }

    function waitClose(child: ReturnType<typeof spawn>): Promise<void> {
      return new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once('close', () => resolve());
      });
    }

    it('the exit hook deletes it when the process exits', async () => {
      const { info, child } = await runOwner('exit');
      await waitClose(child);
      expectGone(info);
    });

    it('the next start sweeps it away when the process was killed', async () => {
      const { info, child } = await runOwner('hang');
      child.kill('SIGKILL');
      await waitClose(child);
      // Killed: no hook ran, the container is still there.
      expect(runcState(info.id).status).toBe(0);
      expect(sweepStaleContainers()).toContain(info.id);
      expectGone(info);
    });
  });
});

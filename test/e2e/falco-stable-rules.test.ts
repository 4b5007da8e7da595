/**
 * Falco's stable rules file (falcosecurity/rules `main`, falco_rules.yaml from the shared
 * fixtures) loaded instead of Vigil's own, live on the eBPF driver: the rules whose fields Vigil
 * supports fire on the real actions they describe, on the host and in runc containers.
 *
 * The file holds 25 rules. Exercised here (each a test below):
 *   Directory traversal monitored file read, Read sensitive file trusted after startup,
 *   Read sensitive file untrusted, Run shell untrusted, Terminal shell in container,
 *   Netcat Remote Code Execution in Container, Search Private Keys or Passwords,
 *   Clear Log Activities, Remove Bulk Data from Disk, Create Symlink Over Sensitive Files,
 *   Create Hardlink Over Sensitive Files, Packet socket created in container,
 *   Redirect STDOUT/STDIN to Network Connection in Container,
 *   Linux Kernel Module Injection Detected, Debugfs Launched in Privileged Container,
 *   Detect release_agent File Container Escapes, PTRACE attached to process,
 *   PTRACE anti-debug attempt, Find AWS Credentials, Execution from /dev/shm,
 *   Disallowed SSH Connection Non Standard Port, Fileless execution via memfd_create.
 * Not exercised (a test skips with the reason):
 *   - System user interactive: needs a login by a system account (login/sshd ancestry and a
 *     user such as www-data or nobody with a session); no login service runs here.
 *   - Contact K8S API Server From Container: needs fd.sip.name (a DNS name resolved by the
 *     agent) of kubernetes.default.svc.cluster.local; no cluster and no name resolution here.
 *   - Drop and execute new binary in container: needs proc.is_exe_upper_layer, which Vigil's probe
 *     does not report (the execve flags carry no overlayfs upper-layer bit), and an overlayfs
 *     container root (the runc test containers run on a plain directory).
 *
 * Falco rule names differ from Vigil's, so the same actions as default-rules.test.ts are checked
 * against the names and fields of this file. The default rule_matching (first) applies, as in Falco.
 * Falco itself adds the container fields to every syscall alert through `append_output` in
 * falco.yaml; the test does the same with a small overlay file (`override: output: append`) that
 * appends proc.pid and container.id/name/privileged, which the checks below use.
 */
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { Alert } from '../../src/engine/engine.js';
import { FIXTURES_SKIP_REASON, fixturePath, haveFixtures } from '../helpers/fixtures.js';
import { BUSYBOX_PATH, runcSkipReason, startRuncContainer, type RuncContainer } from '../helpers/runc.js';
import {
  buildTool,
  hostSh,
  liveSkipReason,
  ownComm,
  run,
  runcExecTty,
  startLive,
  type LiveDetector,
  type RunResult,
} from './live.js';

const LIVE_SKIP = haveFixtures ? ((await liveSkipReason()) ?? runcSkipReason()) : FIXTURES_SKIP_REASON;
if (LIVE_SKIP) console.warn(`[vigil tests] skipping Falco stable rules live tests: ${LIVE_SKIP}`);

const STABLE = haveFixtures ? fixturePath('rules', 'falcosecurity-rules', 'main', 'falco_rules.yaml') : '';
const PUBLIC_IP = '198.51.100.9';

function f(a: Alert, k: string): unknown {
  return a.outputFields[k];
}

describe.skipIf(LIVE_SKIP !== undefined)(
  'Falco stable rules on live actions (eBPF, host and runc)',
  { retry: 1, timeout: 120_000 },
  () => {
    let live: LiveDetector;
    let plain: RuncContainer;
    let priv: RuncContainer;
    let tool: string;
    let work: string;
    let parentComm: string;
    /** A shell renamed nginx that reads /etc/shadow 6 s after it started (started in beforeAll). */
    let lateReader: Promise<RunResult>;
    let lateReaderMark: number;

    beforeAll(async () => {
      tool = buildTool();
      work = mkdtempSync(join(tmpdir(), 'vigil-e2e-falco-'));
      parentComm = ownComm();
      // Falco's append_output for container fields, as an overlay on every rule of the file.
      const names = (parseYaml(readFileSync(STABLE, 'utf8')) as { rule?: unknown }[])
        .map((x) => x?.rule)
        .filter((n): n is string => typeof n === 'string');
      const overlay = join(work, 'append-output.yaml');
      writeFileSync(
        overlay,
        names
          .map(
            (n) =>
              `- rule: ${JSON.stringify(n)}\n  output: "pid=%proc.pid container_id=%container.id container_name=%container.name container_privileged=%container.privileged"\n  override:\n    output: append\n`,
          )
          .join(''),
      );
      live = await startLive([STABLE, overlay]);
      copyFileSync('/bin/dash', join(work, 'nginx'));
      chmodSync(join(work, 'nginx'), 0o755);
      lateReaderMark = live.mark();
      lateReader = run(join(work, 'nginx'), ['-c', 'sleep 6; exec 3</etc/shadow'], { timeoutMs: 30_000 });
      [plain, priv] = await Promise.all([
        startRuncContainer({ files: { '/etc/shadow': 'root:*:19000:0:99999:7:::\n' } }),
        startRuncContainer({ privileged: true }),
      ]);
      for (const c of [plain, priv]) {
        copyFileSync(tool, join(c.rootfs, 'usr', 'bin', 'e2e-tool'));
        chmodSync(join(c.rootfs, 'usr', 'bin', 'e2e-tool'), 0o755);
      }
      const up = await priv.exec('ip link set lo up');
      expect(up.stderr).toBe('');
    }, 120_000);

    afterAll(async () => {
      await lateReader?.catch(() => undefined);
      await Promise.allSettled([plain?.delete(), priv?.delete()]);
      if (live) await live.detector.stop();
      if (work) rmSync(work, { recursive: true, force: true });
      if (tool) rmSync(join(tool, '..'), { recursive: true, force: true });
    }, 60_000);

    const rule =
      (name: string, extra: (a: Alert) => boolean = () => true) =>
      (a: Alert): boolean =>
        a.rule === name && extra(a);

    it('Terminal shell in container: runc exec -t sh', async () => {
      const m = live.mark();
      expect((await runcExecTty(plain, ['/bin/sh'], 'exit\n')).status).toBe(0);
      const a = await live.waitFor(
        m,
        'terminal shell',
        rule('Terminal shell in container', (x) => f(x, 'container.id') === plain.shortId),
      );
      expect(f(a, 'proc.name')).toBe('sh');
      expect(f(a, 'container.name')).toBe(plain.id);
      expect(f(a, 'proc.tty')).not.toBe(0);
    });

    it('Read sensitive file untrusted: /etc/shadow on the host and in a container', async () => {
      const m = live.mark();
      const h = await run('head', ['-c1', '/etc/shadow']);
      await plain.exec(['cat', '/etc/shadow']);
      const name = 'Read sensitive file untrusted';
      const ha = await live.waitFor(
        m,
        'host',
        rule(name, (x) => f(x, 'proc.pid') === h.pid),
      );
      expect(ha.outputFields).toMatchObject({
        'fd.name': '/etc/shadow',
        'proc.name': 'head',
        'container.id': 'host',
      });
      expect(f(ha, 'proc.pname')).toBe(parentComm);
      const ca = await live.waitFor(
        m,
        'container',
        rule(name, (x) => f(x, 'container.id') === plain.shortId),
      );
      expect(ca.outputFields).toMatchObject({
        'fd.name': '/etc/shadow',
        'proc.name': 'cat',
        'container.name': plain.id,
      });
    });

    it('Read sensitive file trusted after startup: a server process (nginx) reads /etc/shadow 6 s after it started', async () => {
      const r = await lateReader;
      expect(r.status).toBe(0);
      const a = await live.waitFor(
        lateReaderMark,
        'late read',
        rule('Read sensitive file trusted after startup', (x) => f(x, 'proc.pid') === r.pid),
      );
      expect(a.outputFields).toMatchObject({
        'fd.name': '/etc/shadow',
        'proc.name': 'nginx',
        'container.id': 'host',
      });
    }, 30_000);

    it('Directory traversal monitored file read: cat /tmp/../etc/../etc/hostname', async () => {
      const m = live.mark();
      const r = await run('cat', ['/tmp/../etc/../etc/hostname']);
      expect(r.status).toBe(0);
      const a = await live.waitFor(
        m,
        'traversal',
        rule('Directory traversal monitored file read', (x) => f(x, 'proc.pid') === r.pid),
      );
      expect(a.outputFields).toMatchObject({
        'fd.name': '/etc/hostname',
        'fd.nameraw': '/tmp/../etc/../etc/hostname',
        'proc.name': 'cat',
      });
    });

    it('Run shell untrusted: a shell spawned by a web server process', async () => {
      const m = live.mark();
      const r = await run(join(work, 'nginx'), ['-c', '/bin/sh -c true; true']);
      expect(r.status).toBe(0);
      const a = await live.waitFor(
        m,
        'shell from nginx',
        rule('Run shell untrusted', (x) => f(x, 'proc.pname') === 'nginx'),
      );
      expect(a.outputFields).toMatchObject({
        'proc.name': 'sh',
        'proc.cmdline': 'sh -c true',
        'container.id': 'host',
      });
    });

    it('Netcat Remote Code Execution in Container and Redirect STDOUT/STDIN to Network Connection in Container: nc -e', async () => {
      const m = live.mark();
      await priv.exec(
        '(echo exit | /usr/bin/nc -l -p 9001 >/dev/null &) ; sleep 0.3; /usr/bin/nc 127.0.0.1 9001 -e /bin/sh',
        { timeoutMs: 20_000 },
      );
      const inPriv = (x: Alert): boolean => f(x, 'container.id') === priv.shortId;
      const nc = await live.waitFor(m, 'nc -e', rule('Netcat Remote Code Execution in Container', inPriv));
      expect(nc.outputFields).toMatchObject({
        'proc.name': 'nc',
        'proc.cmdline': 'nc 127.0.0.1 9001 -e /bin/sh',
      });
      const dup = await live.waitFor(
        m,
        'dup2',
        rule('Redirect STDOUT/STDIN to Network Connection in Container', inPriv),
      );
      expect(dup.outputFields).toMatchObject({ 'proc.name': 'nc', 'container.name': priv.id });
    });

    it('Search Private Keys or Passwords and Find AWS Credentials: grep for key material', async () => {
      const m = live.mark();
      const k = await run('grep', ['-r', 'BEGIN RSA PRIVATE', work]);
      const a = await run('grep', ['-r', 'aws_secret_access_key', work]);
      const key = await live.waitFor(
        m,
        'grep key',
        rule('Search Private Keys or Passwords', (x) => f(x, 'proc.pid') === k.pid),
      );
      expect(key.outputFields).toMatchObject({ 'proc.name': 'grep', 'container.id': 'host' });
      const aws = await live.waitFor(
        m,
        'grep aws',
        rule('Find AWS Credentials', (x) => f(x, 'proc.pid') === a.pid),
      );
      expect(aws.outputFields).toMatchObject({ 'proc.name': 'grep' });
    });

    it('Clear Log Activities: a log file below /var/log truncated', async () => {
      const log = `/var/log/vigil-test-falco-${process.pid}.log`;
      writeFileSync(log, 'x\n');
      const m = live.mark();
      try {
        await hostSh(`: > ${log}`);
        const a = await live.waitFor(
          m,
          'truncate',
          // node's own writeFileSync above truncates too (reported with proc.name node).
          rule('Clear Log Activities', (x) => f(x, 'fd.name') === log && f(x, 'proc.name') === 'sh'),
        );
        expect(a.outputFields).toMatchObject({ 'proc.name': 'sh', 'container.id': 'host' });
      } finally {
        rmSync(log, { force: true });
      }
    });

    it('Remove Bulk Data from Disk: shred', async () => {
      const victim = join(work, 'victim');
      writeFileSync(victim, 'data\n');
      const m = live.mark();
      const r = await run('shred', ['-n', '1', victim]);
      const a = await live.waitFor(
        m,
        'shred',
        rule('Remove Bulk Data from Disk', (x) => f(x, 'proc.pid') === r.pid),
      );
      expect(a.outputFields).toMatchObject({ 'proc.name': 'shred', 'proc.cmdline': `shred -n 1 ${victim}` });
    });

    it('Create Symlink Over Sensitive Files and Create Hardlink Over Sensitive Files: in a container', async () => {
      const m = live.mark();
      await plain.exec(['ln', '-s', '/etc/shadow', '/tmp/s']);
      await plain.exec(['ln', '/etc/shadow', '/tmp/h']);
      const inPlain = (x: Alert): boolean => f(x, 'container.id') === plain.shortId;
      const s = await live.waitFor(m, 'symlink', rule('Create Symlink Over Sensitive Files', inPlain));
      expect(s.outputFields).toMatchObject({
        'evt.arg.target': '/etc/shadow',
        'evt.arg.linkpath': '/tmp/s',
        'proc.name': 'ln',
      });
      const h = await live.waitFor(m, 'hardlink', rule('Create Hardlink Over Sensitive Files', inPlain));
      expect(h.outputFields).toMatchObject({
        'evt.arg.oldpath': '/etc/shadow',
        'evt.arg.newpath': '/tmp/h',
        'proc.name': 'ln',
      });
    });

    it('Packet socket created in container: busybox arping', async () => {
      const m = live.mark();
      await priv.exec(['arping', '-c', '1', '-w', '1', '-I', 'lo', '127.0.0.1']);
      const a = await live.waitFor(
        m,
        'AF_PACKET',
        rule('Packet socket created in container', (x) => f(x, 'container.id') === priv.shortId),
      );
      expect(a.outputFields).toMatchObject({ 'proc.name': 'arping' });
    });

    it('Linux Kernel Module Injection Detected: finit_module in a privileged container (refused)', async () => {
      writeFileSync(join(priv.rootfs, 'tmp', 'bogus.ko'), 'not a module\n');
      const m = live.mark();
      await priv.exec(['/usr/bin/e2e-tool', 'finit_module', '/tmp/bogus.ko']);
      const a = await live.waitFor(
        m,
        'module',
        rule('Linux Kernel Module Injection Detected', (x) => f(x, 'container.id') === priv.shortId),
      );
      expect(a.outputFields).toMatchObject({ 'proc.name': 'e2e-tool', 'container.name': priv.id });
    });

    it('Debugfs Launched in Privileged Container: a debugfs binary in a privileged container', async () => {
      copyFileSync(BUSYBOX_PATH, join(priv.rootfs, 'usr', 'sbin', 'debugfs'));
      chmodSync(join(priv.rootfs, 'usr', 'sbin', 'debugfs'), 0o755);
      const m = live.mark();
      await priv.exec(['/usr/sbin/debugfs', '/dev/sda1']);
      const a = await live.waitFor(
        m,
        'debugfs',
        rule('Debugfs Launched in Privileged Container', (x) => f(x, 'container.id') === priv.shortId),
      );
      expect(a.outputFields).toMatchObject({ 'proc.name': 'debugfs', 'container.privileged': true });
    });

    it('Detect release_agent File Container Escapes: a release_agent file written in a privileged container', async () => {
      const m = live.mark();
      await priv.exec(['touch', '/tmp/release_agent']);
      const a = await live.waitFor(
        m,
        'release_agent',
        rule('Detect release_agent File Container Escapes', (x) => f(x, 'container.id') === priv.shortId),
      );
      expect(a.outputFields).toMatchObject({ 'proc.name': 'touch', 'fd.name': '/tmp/release_agent' });
    });

    it('PTRACE attached to process and PTRACE anti-debug attempt', async () => {
      const m = live.mark();
      await hostSh(`sleep 30 & S=$!; ${tool} ptrace $S; kill $S`);
      const t = await run(tool, ['traceme']);
      const a = await live.waitFor(
        m,
        'attach',
        rule('PTRACE attached to process', (x) => f(x, 'proc.name') === 'e2e-tool'),
      );
      expect(f(a, 'container.id')).toBe('host');
      const d = await live.waitFor(
        m,
        'traceme',
        rule('PTRACE anti-debug attempt', (x) => f(x, 'proc.pid') === t.pid),
      );
      expect(f(d, 'proc.name')).toBe('e2e-tool');
    });

    it('Execution from /dev/shm and Fileless execution via memfd_create', async () => {
      const shm = `/dev/shm/vigil-e2e-falco-${process.pid}`;
      copyFileSync('/bin/true', shm);
      chmodSync(shm, 0o755);
      const m = live.mark();
      try {
        const s = await run(shm, []);
        await run(tool, ['memfd_exec', '/bin/true', 'true']);
        const a = await live.waitFor(
          m,
          '/dev/shm',
          rule('Execution from /dev/shm', (x) => f(x, 'proc.pid') === s.pid),
        );
        expect(f(a, 'proc.exepath')).toBe(shm);
        const mf = await live.waitFor(
          m,
          'memfd',
          rule('Fileless execution via memfd_create', (x) => f(x, 'proc.pname') === parentComm),
        );
        expect(f(mf, 'proc.exepath')).toBe('memfd:vigil-e2e');
      } finally {
        rmSync(shm, { force: true });
      }
    });

    it('Disallowed SSH Connection Non Standard Port: a program called ssh connects to a public address on 8080', async () => {
      const ssh = join(work, 'ssh');
      copyFileSync(tool, ssh);
      chmodSync(ssh, 0o755);
      const m = live.mark();
      const r = await run('unshare', [
        '-n',
        'sh',
        '-c',
        `ip link set lo up && ip addr add ${PUBLIC_IP}/32 dev lo && ${ssh} connect ${PUBLIC_IP} 8080`,
      ]);
      expect(r.stderr).toBe('');
      const a = await live.waitFor(
        m,
        'ssh',
        rule('Disallowed SSH Connection Non Standard Port', (x) => f(x, 'proc.name') === 'ssh'),
      );
      expect(a.outputFields).toMatchObject({ 'fd.rport': 8080, 'container.id': 'host' });
    });

    it.skip('System user interactive: needs a login session of a system account (no login service here)', () => {});
    it.skip('Contact K8S API Server From Container: needs fd.sip.name of kubernetes.default.svc.cluster.local (no cluster, no name resolution)', () => {});
    it.skip('Drop and execute new binary in container: needs proc.is_exe_upper_layer, which the probe does not report, and an overlayfs root (the runc test root is a plain directory)', () => {});
  },
);

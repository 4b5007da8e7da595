/**
 * Vigil's default rules (rules/vigil_rules.yaml) live: the detector runs on the eBPF driver while
 * each test performs the real action a rule targets, on the host and inside runc containers with
 * a busybox-static rootfs, and checks that the rule fires with the right proc.* and container.*
 * fields. A benign workload (a gcc/make build, package-free shell scripts, loopback HTTP with
 * node) raises nothing.
 *
 * How the actions are made safe and exact:
 * - Destructive writes (/bin, /etc, /proc/sys, mounts) happen in containers; on the host only
 *   temporary files that are removed again. /proc/sys is written through a network sysctl of the
 *   container's own network namespace; kernel hook files are opened for writing without writing.
 * - "Public" addresses: the outbound rules ignore private networks, so 198.51.100.9 (TEST-NET-2)
 *   is put on the loopback device of a private network namespace (`unshare -n` on the host, the
 *   privileged container's own) and the connection stays inside it.
 * - Kernel modules: finit_module on a bogus file; the kernel refuses it, the rule fires on the
 *   attempt (it does not test the result, so a refused attempt is reported too).
 * - busybox runs its applets from a shell as `/proc/self/exe` (comm `exe`), so actions whose
 *   proc.name matters are started directly (`runc exec <id> cat ...`) or by absolute path.
 *
 * Needs root, the built probe, gcc (static), script, unshare and ip; skips naming what is missing.
 */
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/engine/engine.js';
import { BUSYBOX_PATH, runcSkipReason, startRuncContainer, type RuncContainer } from '../helpers/runc.js';
import {
  DEFAULT_RULES,
  buildTool,
  hostSh,
  liveSkipReason,
  ownComm,
  run,
  runcExecTty,
  startLive,
  type LiveDetector,
} from './live.js';

const SKIP = (await liveSkipReason()) ?? runcSkipReason();
if (SKIP) console.warn(`[vigil tests] skipping end-to-end default-rules tests: ${SKIP}`);

/** An address outside every private range, reachable only inside our own network namespaces. */
const PUBLIC_IP = '198.51.100.9';

const F = {
  name: 'proc.name',
  cmdline: 'proc.cmdline',
  pname: 'proc.pname',
  exepath: 'proc.exepath',
  cid: 'container.id',
  cname: 'container.name',
} as const;

function field(a: Alert, k: string): unknown {
  return a.outputFields[k];
}

/** proc.* and container.* of an alert on the host. */
function expectHost(a: Alert, proc: Record<string, unknown>): void {
  expect(field(a, F.cid)).toBe('host');
  if (F.cname in a.outputFields) expect(field(a, F.cname)).toBe('host');
  for (const [k, v] of Object.entries(proc)) expect(field(a, k), k).toEqual(v);
}

/** proc.* and container.* of an alert in container `c`. */
function expectIn(c: RuncContainer, a: Alert, proc: Record<string, unknown>): void {
  expect(field(a, F.cid)).toBe(c.shortId);
  expect(field(a, F.cname)).toBe(c.id);
  for (const [k, v] of Object.entries(proc)) expect(field(a, k), k).toEqual(v);
}

const byRule =
  (rule: string, extra: (a: Alert) => boolean = () => true) =>
  (a: Alert): boolean =>
    a.rule === rule && extra(a);

describe.skipIf(SKIP !== undefined)(
  'default rules on live actions (eBPF, host and runc)',
  { retry: 1, timeout: 120_000 },
  () => {
    let live: LiveDetector;
    let plain: RuncContainer; // default capabilities, own namespaces
    let priv: RuncContainer; // privileged, own network namespace
    let tool: string;
    let work: string;
    let parentComm: string;

    beforeAll(async () => {
      tool = buildTool();
      work = mkdtempSync(join(tmpdir(), 'vigil-e2e-'));
      parentComm = ownComm();
      live = await startLive([DEFAULT_RULES]);
      [plain, priv] = await Promise.all([
        startRuncContainer({
          files: {
            '/etc/shadow': 'root:*:19000:0:99999:7:::\n',
            '/root/.ssh/id_rsa': '-----BEGIN OPENSSH PRIVATE KEY-----\n',
            '/root/.aws/credentials': '[default]\naws_access_key_id = AKIAEXAMPLE\n',
            '/var/run/secrets/kubernetes.io/serviceaccount/token': 'eyJhbGciOi.example\n',
            '/var/log/app.log': 'started\n',
            '/var/log/old.log': 'old\n',
          },
        }),
        startRuncContainer({ privileged: true }),
      ]);
      for (const c of [plain, priv]) {
        copyFileSync(tool, join(c.rootfs, 'usr', 'bin', 'e2e-tool'));
        chmodSync(join(c.rootfs, 'usr', 'bin', 'e2e-tool'), 0o755);
      }
      // The privileged container's network namespace: loopback up, the "public" address on it.
      const up = await priv.exec(`ip link set lo up && ip addr add ${PUBLIC_IP}/32 dev lo`);
      expect(up.stderr).toBe('');
    }, 120_000);

    afterAll(async () => {
      await Promise.allSettled([plain?.delete(), priv?.delete()]);
      if (live) await live.detector.stop();
      if (work) rmSync(work, { recursive: true, force: true });
      if (tool) rmSync(join(tool, '..'), { recursive: true, force: true });
    }, 60_000);

    // -------------------------------------------------------------------------------------------
    describe('Interactive Shell In Container', () => {
      it('fires for `runc exec -t <id> sh` (a shell with a terminal, parent not a shell)', async () => {
        const m = live.mark();
        const r = await runcExecTty(plain, ['/bin/sh'], 'exit\n');
        expect(r.status).toBe(0);
        const a = await live.waitFor(
          m,
          'interactive shell',
          byRule('Interactive Shell In Container', (x) => field(x, F.cid) === plain.shortId),
        );
        expectIn(plain, a, { [F.name]: 'sh', [F.cmdline]: 'sh' });
        expect(field(a, 'proc.tty')).not.toBe(0);
        expect(String(field(a, F.pname))).toMatch(/^runc/);
      });

      it('does not fire for a shell without a terminal in a container, nor a terminal shell on the host', async () => {
        const m = live.mark();
        expect((await plain.exec(['/bin/sh', '-c', 'true'])).status).toBe(0);
        const host = await run('script', ['-qec', '/bin/sh -c true', '/dev/null'], { input: '' });
        expect(host.status).toBe(0);
        await live.settle();
        expect(live.since(m).filter((a) => a.rule === 'Interactive Shell In Container')).toEqual([]);
      });
    });

    // -------------------------------------------------------------------------------------------
    describe('sensitive file reads', () => {
      it('Password Or Sudoers File Read By Untrusted Program: head /etc/shadow on the host', async () => {
        const m = live.mark();
        const r = await run('head', ['-c1', '/etc/shadow']);
        expect(r.status).toBe(0);
        const a = await live.waitFor(
          m,
          'shadow read on host',
          byRule('Password Or Sudoers File Read By Untrusted Program', (x) => field(x, 'proc.pid') === r.pid),
        );
        expectHost(a, {
          [F.name]: 'head',
          [F.cmdline]: 'head -c1 /etc/shadow',
          [F.pname]: parentComm,
          [F.exepath]: '/usr/bin/head',
          'fd.name': '/etc/shadow',
        });
      });

      it('Password Or Sudoers File Read By Untrusted Program: cat /etc/shadow in a container', async () => {
        const m = live.mark();
        expect((await plain.exec(['cat', '/etc/shadow'])).status).toBe(0);
        const a = await live.waitFor(
          m,
          'shadow read in container',
          byRule(
            'Password Or Sudoers File Read By Untrusted Program',
            (x) => field(x, F.cid) === plain.shortId,
          ),
        );
        expectIn(plain, a, {
          [F.name]: 'cat',
          [F.cmdline]: 'cat /etc/shadow',
          [F.exepath]: '/bin/busybox',
          'fd.name': '/etc/shadow',
        });
      });

      it('SSH Private Key Read By Untrusted Program: host and container', async () => {
        const key = join(work, 'home', '.ssh', 'id_ed25519');
        mkdirSync(join(key, '..'), { recursive: true });
        writeFileSync(key, 'key\n');
        const m = live.mark();
        expect((await run('cat', [key])).status).toBe(0);
        expect((await plain.exec(['cat', '/root/.ssh/id_rsa'])).status).toBe(0);
        const rule = 'SSH Private Key Read By Untrusted Program';
        const h = await live.waitFor(
          m,
          'ssh key on host',
          byRule(rule, (x) => field(x, 'fd.name') === key),
        );
        expectHost(h, { [F.name]: 'cat', [F.cmdline]: `cat ${key}`, [F.pname]: parentComm });
        const c = await live.waitFor(
          m,
          'ssh key in container',
          byRule(rule, (x) => field(x, F.cid) === plain.shortId),
        );
        expectIn(plain, c, {
          [F.name]: 'cat',
          'fd.name': '/root/.ssh/id_rsa',
          [F.cmdline]: 'cat /root/.ssh/id_rsa',
        });
      });

      it('Cloud Credentials Read By Untrusted Program: host and container', async () => {
        const creds = join(work, 'home', '.aws', 'credentials');
        mkdirSync(join(creds, '..'), { recursive: true });
        writeFileSync(creds, '[default]\n');
        const m = live.mark();
        expect((await run('cat', [creds])).status).toBe(0);
        expect((await plain.exec(['head', '/root/.aws/credentials'])).status).toBe(0);
        const rule = 'Cloud Credentials Read By Untrusted Program';
        const h = await live.waitFor(
          m,
          'aws creds on host',
          byRule(rule, (x) => field(x, 'fd.name') === creds),
        );
        expectHost(h, { [F.name]: 'cat', [F.exepath]: '/usr/bin/cat' });
        const c = await live.waitFor(
          m,
          'aws creds in container',
          byRule(rule, (x) => field(x, F.cid) === plain.shortId),
        );
        expectIn(plain, c, { [F.name]: 'head', 'fd.name': '/root/.aws/credentials' });
      });

      it('Kubernetes Credentials Read By Shell Tool: a service account token read with cat in a container', async () => {
        const m = live.mark();
        const token = '/var/run/secrets/kubernetes.io/serviceaccount/token';
        expect((await plain.exec(['cat', token])).status).toBe(0);
        const kubeconfig = join(work, 'home', '.kube', 'config');
        mkdirSync(join(kubeconfig, '..'), { recursive: true });
        writeFileSync(kubeconfig, 'apiVersion: v1\n');
        expect((await run('base64', [kubeconfig])).status).toBe(0);
        const rule = 'Kubernetes Credentials Read By Shell Tool';
        const c = await live.waitFor(
          m,
          'token in container',
          byRule(rule, (x) => field(x, F.cid) === plain.shortId),
        );
        expectIn(plain, c, { [F.name]: 'cat', 'fd.name': token });
        const h = await live.waitFor(
          m,
          'kubeconfig on host',
          byRule(rule, (x) => field(x, 'fd.name') === kubeconfig),
        );
        expectHost(h, { [F.name]: 'base64', [F.cmdline]: `base64 ${kubeconfig}` });
      });
    });

    // -------------------------------------------------------------------------------------------
    describe('writes below binary directories and /etc', () => {
      it('Write Below Binary Directory: touch and mv into /usr/bin, /bin in a container', async () => {
        const m = live.mark();
        expect((await plain.exec(['touch', '/usr/bin/implant'])).status).toBe(0);
        expect((await plain.exec(['touch', '/tmp/dropper'])).status).toBe(0);
        expect((await plain.exec(['mv', '/tmp/dropper', '/bin/dropper'])).status).toBe(0);
        const rule = 'Write Below Binary Directory';
        const t = await live.waitFor(
          m,
          'touch /usr/bin/implant',
          byRule(rule, (x) => field(x, 'fd.name') === '/usr/bin/implant'),
        );
        expectIn(plain, t, { [F.name]: 'touch', [F.cmdline]: 'touch /usr/bin/implant' });
        const mv = await live.waitFor(
          m,
          'mv to /bin/dropper',
          byRule(rule, (x) => field(x, 'fs.path.target') === '/bin/dropper'),
        );
        expectIn(plain, mv, { [F.name]: 'mv' });
      });

      it('Write Below Binary Directory and Write Below Etc on the host (temporary files, removed)', async () => {
        const bin = `/usr/local/bin/vigil-e2e-${process.pid}`;
        const etc = `/etc/vigil-e2e-${process.pid}.conf`;
        const m = live.mark();
        try {
          expect((await run('touch', [bin])).status).toBe(0);
          expect((await run('touch', [etc])).status).toBe(0);
          const b = await live.waitFor(
            m,
            'host bin write',
            byRule('Write Below Binary Directory', (x) => field(x, 'fd.name') === bin),
          );
          expectHost(b, { [F.name]: 'touch', [F.cmdline]: `touch ${bin}`, [F.exepath]: '/usr/bin/touch' });
          const e = await live.waitFor(
            m,
            'host etc write',
            byRule('Write Below Etc', (x) => field(x, 'fd.name') === etc),
          );
          expectHost(e, { [F.name]: 'touch', [F.pname]: parentComm });
        } finally {
          rmSync(bin, { force: true });
          rmSync(etc, { force: true });
        }
      });

      it('Write Below Etc: touch /etc/cron.evil in a container', async () => {
        const m = live.mark();
        expect((await plain.exec(['touch', '/etc/cron.evil'])).status).toBe(0);
        const a = await live.waitFor(
          m,
          'etc write in container',
          byRule('Write Below Etc', (x) => field(x, F.cid) === plain.shortId),
        );
        expectIn(plain, a, {
          [F.name]: 'touch',
          'fd.name': '/etc/cron.evil',
          [F.cmdline]: 'touch /etc/cron.evil',
        });
      });
    });

    // -------------------------------------------------------------------------------------------
    it('Package Manager Run In Container: dpkg (busybox applet) and an apk binary', async () => {
      copyFileSync(BUSYBOX_PATH, join(plain.rootfs, 'sbin', 'apk'));
      chmodSync(join(plain.rootfs, 'sbin', 'apk'), 0o755);
      const m = live.mark();
      await plain.exec(['dpkg', '-l']);
      await plain.exec(['/sbin/apk', 'add', 'curl']); // busybox has no apk applet: the start is what counts
      const rule = 'Package Manager Run In Container';
      const d = await live.waitFor(
        m,
        'dpkg',
        byRule(rule, (x) => field(x, F.name) === 'dpkg'),
      );
      expectIn(plain, d, { [F.cmdline]: 'dpkg -l' });
      const a = await live.waitFor(
        m,
        'apk',
        byRule(rule, (x) => field(x, F.name) === 'apk'),
      );
      expectIn(plain, a, { [F.cmdline]: 'apk add curl' });
      // The same programs on the host are not "in a container".
      const m2 = live.mark();
      await run(join(plain.rootfs, 'sbin', 'apk'), ['add', 'curl']);
      await live.settle();
      expect(live.since(m2).filter((x) => x.rule === rule)).toEqual([]);
    });

    // -------------------------------------------------------------------------------------------
    describe('crypto mining', () => {
      it('Crypto Miner Launched: a binary named xmrig (host and container) and stratum arguments', async () => {
        const xmrig = join(work, 'xmrig');
        copyFileSync(BUSYBOX_PATH, xmrig);
        chmodSync(xmrig, 0o755);
        copyFileSync(BUSYBOX_PATH, join(plain.rootfs, 'tmp', 'xmrig'));
        const m = live.mark();
        await run(xmrig, ['--threads=1']);
        await plain.exec(['/tmp/xmrig', '--threads=1']);
        const args = await run('/bin/true', [
          '-o',
          'stratum+tcp://pool.example.net:3333',
          '--donate-level',
          '1',
        ]);
        const rule = 'Crypto Miner Launched';
        const h = await live.waitFor(
          m,
          'xmrig on host',
          byRule(rule, (x) => field(x, F.name) === 'xmrig' && field(x, F.cid) === 'host'),
        );
        expectHost(h, { [F.exepath]: xmrig, [F.cmdline]: 'xmrig --threads=1', [F.pname]: parentComm });
        const c = await live.waitFor(
          m,
          'xmrig in container',
          byRule(rule, (x) => field(x, F.cid) === plain.shortId),
        );
        expectIn(plain, c, { [F.name]: 'xmrig', [F.exepath]: '/tmp/xmrig' });
        const s = await live.waitFor(
          m,
          'stratum args',
          byRule(rule, (x) => field(x, 'proc.pid') === args.pid),
        );
        expectHost(s, {
          [F.name]: 'true',
          [F.cmdline]: 'true -o stratum+tcp://pool.example.net:3333 --donate-level 1',
        });
      });

      it('Outbound Connection To Mining Pool Port: connect to a public address on 3333 (host netns and container)', async () => {
        const m = live.mark();
        const h = await run('unshare', [
          '-n',
          'sh',
          '-c',
          `ip link set lo up && ip addr add ${PUBLIC_IP}/32 dev lo && ${tool} connect ${PUBLIC_IP} 3333 && ${tool} connect 127.0.0.1 3334`,
        ]);
        expect(h.stderr).toBe('');
        const c = await priv.exec(['/usr/bin/e2e-tool', 'connect', PUBLIC_IP, '4444']);
        expect(c.status).toBe(0);
        const rule = 'Outbound Connection To Mining Pool Port';
        const ha = await live.waitFor(
          m,
          'pool port on host',
          byRule(rule, (x) => field(x, F.cid) === 'host' && field(x, 'fd.sport') === 3333),
        );
        expectHost(ha, {
          [F.name]: 'e2e-tool',
          [F.cmdline]: `e2e-tool connect ${PUBLIC_IP} 3333`,
          'fd.sip': PUBLIC_IP,
        });
        const ca = await live.waitFor(
          m,
          'pool port in container',
          byRule(rule, (x) => field(x, F.cid) === priv.shortId),
        );
        expectIn(priv, ca, { [F.name]: 'e2e-tool', 'fd.sport': 4444, 'fd.sip': PUBLIC_IP });
        // Loopback (private) destinations are not reported, even on a pool port.
        await live.settle();
        expect(live.since(m).filter((x) => x.rule === rule && field(x, 'fd.sport') === 3334)).toEqual([]);
      });
    });

    // -------------------------------------------------------------------------------------------
    describe('reverse shells', () => {
      const SOCK_DUP = 'Network Socket Duplicated Onto Standard Stream';
      const SHELL_SOCK = 'Shell Started With Network Socket As Stdin';
      const NETCAT = 'Netcat Or Socat Running A Program';

      it('busybox nc -e /bin/sh in a container: netcat rule, socket dup2 onto stdin/stdout, shell on a socket', async () => {
        const m = live.mark();
        const r = await priv.exec(
          '(echo exit | /usr/bin/nc -l -p 9001 >/dev/null &) ; sleep 0.3; /usr/bin/nc 127.0.0.1 9001 -e /bin/sh',
          { timeoutMs: 20_000 },
        );
        expect(r.stderr).toBe('');
        const inPriv = (x: Alert): boolean => field(x, F.cid) === priv.shortId;
        const nc = await live.waitFor(m, 'nc -e', byRule(NETCAT, inPriv));
        // busybox sh execs its last command in place: nc's parent is runc's process.
        expectIn(priv, nc, { [F.name]: 'nc', [F.cmdline]: 'nc 127.0.0.1 9001 -e /bin/sh' });
        expect(String(field(nc, F.pname))).toMatch(/^runc/);
        const dup = await live.waitFor(m, 'dup2 onto stdio', byRule(SOCK_DUP, inPriv));
        expectIn(priv, dup, { [F.name]: 'nc' });
        expect([0, 1, 2]).toContain(Number(field(dup, 'evt.rawres')));
        const sh = await live.waitFor(m, 'shell on socket', byRule(SHELL_SOCK, inPriv));
        expectIn(priv, sh, { [F.name]: 'sh', [F.cmdline]: 'sh' });
        expect(String(field(sh, F.pname))).toMatch(/^runc/);
        expect(String(field(sh, 'proc.stdin.name'))).toMatch(/^127\.0\.0\.1:\d+->127\.0\.0\.1:9001$/);
      });

      it('busybox nc -e /bin/sh on the host (private network namespace)', async () => {
        const m = live.mark();
        const r = await run('unshare', [
          '-n',
          'sh',
          '-c',
          `ip link set lo up; (echo exit | ${BUSYBOX_PATH} nc -l -p 9001 >/dev/null &); sleep 0.3; ${BUSYBOX_PATH} nc 127.0.0.1 9001 -e /bin/sh`,
        ]);
        expect(r.stderr).toBe('');
        const onHost = (x: Alert): boolean =>
          field(x, F.cid) === 'host' && String(field(x, F.cmdline)).includes('9001');
        const nc = await live.waitFor(m, 'busybox nc -e', byRule(NETCAT, onHost));
        expectHost(nc, {
          [F.name]: 'busybox',
          [F.cmdline]: `busybox nc 127.0.0.1 9001 -e /bin/sh`,
          [F.pname]: 'sh',
        });
        const dup = await live.waitFor(m, 'dup2 on host', byRule(SOCK_DUP, onHost));
        expectHost(dup, { [F.name]: 'busybox' });
        const sh = await live.waitFor(
          m,
          'shell on socket on host',
          byRule(
            SHELL_SOCK,
            (x) =>
              field(x, F.cid) === 'host' &&
              field(x, F.pname) === 'sh' &&
              String(field(x, 'proc.stdin.name')).endsWith(':9001'),
          ),
        );
        expectHost(sh, { [F.name]: 'sh' });
      });
    });

    // -------------------------------------------------------------------------------------------
    describe('process injection and kernel tampering', () => {
      it('Ptrace Attach To Process: PTRACE_ATTACH from a small program (host and container); strace is allowed', async () => {
        const m = live.mark();
        const target = await hostSh(`sleep 30 & ${tool} ptrace $! ; kill $!`);
        expect(target.status).toBe(0);
        const c = await priv.exec('/bin/sleep 30 & /usr/bin/e2e-tool ptrace $! ; kill $!');
        expect(c.status).toBe(0);
        const rule = 'Ptrace Attach To Process';
        const h = await live.waitFor(
          m,
          'ptrace on host',
          byRule(rule, (x) => field(x, F.cid) === 'host' && field(x, F.name) === 'e2e-tool'),
        );
        expectHost(h, { [F.pname]: 'sh', 'evt.arg.request': 'PTRACE_ATTACH' });
        expect(String(field(h, F.cmdline))).toMatch(/^e2e-tool ptrace \d+$/);
        const ca = await live.waitFor(
          m,
          'ptrace in container',
          byRule(rule, (x) => field(x, F.cid) === priv.shortId),
        );
        expectIn(priv, ca, { [F.name]: 'e2e-tool', 'evt.arg.request': 'PTRACE_ATTACH' });
        // strace -p is a debugger at work: allowed by the rule's list.
        const m2 = live.mark();
        await hostSh('sleep 30 & S=$!; strace -qq -e trace=none -p $S & T=$!; sleep 0.5; kill $T $S; wait');
        await live.settle();
        expect(live.since(m2).filter((x) => x.rule === rule && field(x, F.name) === 'strace')).toEqual([]);
      });

      it('Kernel Module Loaded: finit_module of a bogus file (refused by the kernel) on the host and in a container', async () => {
        const bogus = join(work, 'bogus.ko');
        writeFileSync(bogus, 'not an ELF module\n');
        writeFileSync(join(priv.rootfs, 'tmp', 'bogus.ko'), 'not an ELF module\n');
        const m = live.mark();
        const h = await run(tool, ['finit_module', bogus]);
        expect(h.stdout).toMatch(/finit_module=-1/);
        await priv.exec(['/usr/bin/e2e-tool', 'finit_module', '/tmp/bogus.ko']);
        const rule = 'Kernel Module Loaded';
        const ha = await live.waitFor(
          m,
          'finit_module on host',
          byRule(rule, (x) => field(x, 'proc.pid') === h.pid),
        );
        expectHost(ha, {
          [F.name]: 'e2e-tool',
          [F.cmdline]: `e2e-tool finit_module ${bogus}`,
          'evt.type': 'finit_module',
        });
        expect(field(ha, 'fd.name')).toBe(bogus);
        const ca = await live.waitFor(
          m,
          'finit_module in container',
          byRule(rule, (x) => field(x, F.cid) === priv.shortId),
        );
        expectIn(priv, ca, { [F.name]: 'e2e-tool', 'fd.name': '/tmp/bogus.ko' });
      });

      it('Kernel Module Tool Run In Container: insmod in a container', async () => {
        const m = live.mark();
        await plain.exec(['insmod', '/tmp/nothing.ko']);
        const a = await live.waitFor(
          m,
          'insmod in container',
          byRule('Kernel Module Tool Run In Container', (x) => field(x, F.cid) === plain.shortId),
        );
        expectIn(plain, a, { [F.name]: 'insmod', [F.cmdline]: 'insmod /tmp/nothing.ko' });
        expect(field(a, 'container.privileged')).toBe(false);
      });
    });

    // -------------------------------------------------------------------------------------------
    describe('container escape', () => {
      it('Container Escape Via Kernel Hook File: a release_agent file and core_pattern opened for writing (nothing written)', async () => {
        const m = live.mark();
        expect((await plain.exec(['touch', '/tmp/release_agent'])).status).toBe(0);
        // exec 3>> opens for writing without writing: the host's core_pattern is left alone.
        expect((await priv.exec('exec 3>>/proc/sys/kernel/core_pattern')).status).toBe(0);
        const rule = 'Container Escape Via Kernel Hook File';
        const ra = await live.waitFor(
          m,
          'release_agent',
          byRule(rule, (x) => field(x, F.cid) === plain.shortId),
        );
        expectIn(plain, ra, { [F.name]: 'touch', 'fd.name': '/tmp/release_agent' });
        const cp = await live.waitFor(
          m,
          'core_pattern',
          byRule(rule, (x) => field(x, F.cid) === priv.shortId),
        );
        expectIn(priv, cp, { [F.name]: 'sh', 'fd.name': '/proc/sys/kernel/core_pattern' });
        expect(field(cp, 'container.privileged')).toBe(true);
      });

      it('Proc Sys Written From Container: a network sysctl of the container network namespace', async () => {
        const m = live.mark();
        expect((await priv.exec('echo 1 > /proc/sys/net/ipv4/ip_forward')).status).toBe(0);
        const rule = 'Proc Sys Written From Container';
        const a = await live.waitFor(
          m,
          'echo > /proc/sys/...',
          byRule(
            rule,
            (x) => field(x, F.cid) === priv.shortId && String(field(x, F.cmdline)).includes('echo 1'),
          ),
        );
        expectIn(priv, a, {
          [F.name]: 'sh',
          [F.cmdline]: 'sh -c echo 1 > /proc/sys/net/ipv4/ip_forward',
          'fd.name': '/proc/sys/net/ipv4/ip_forward',
        });
        // busybox sysctl opens the path relative to /proc/sys after a chdir(): the probe's chdir
        // events keep proc.cwd, hence fd.name, right.
        // From a shell: what runc starts directly counts as the runtime's own (see docs/rules.md).
        const s = await priv.exec('sysctl -w net.ipv4.ip_forward=1');
        expect(s.status, s.stderr).toBe(0);
        const b = await live.waitFor(
          m,
          'busybox sysctl -w',
          byRule(
            rule,
            (x) => field(x, F.cid) === priv.shortId && String(field(x, F.cmdline)).includes('sysctl'),
          ),
        );
        expectIn(priv, b, { 'fd.name': '/proc/sys/net/ipv4/ip_forward' });
      });

      it('Mount Executed In Container: mount in an unprivileged container (refused) and a privileged one', async () => {
        const m = live.mark();
        await plain.exec(['mkdir', '-p', '/mnt']);
        await priv.exec(['mkdir', '-p', '/mnt']);
        await plain.exec(['mount', '-t', 'tmpfs', 'none', '/mnt']);
        await priv.exec(['mount', '-t', 'tmpfs', 'none', '/mnt']);
        const rule = 'Mount Executed In Container';
        const p = await live.waitFor(
          m,
          'mount (unprivileged)',
          byRule(rule, (x) => field(x, F.cid) === plain.shortId),
        );
        expectIn(plain, p, {
          [F.name]: 'mount',
          'evt.arg.dir': '/mnt',
          'evt.arg.type': 'tmpfs',
          'evt.res': 'EPERM',
        });
        const q = await live.waitFor(
          m,
          'mount (privileged)',
          byRule(rule, (x) => field(x, F.cid) === priv.shortId),
        );
        expectIn(priv, q, {
          [F.name]: 'mount',
          [F.cmdline]: 'mount -t tmpfs none /mnt',
          'evt.res': 'SUCCESS',
        });
      });

      it('Namespace Change In Container: nsenter (exec and setns)', async () => {
        const m = live.mark();
        await priv.exec(['nsenter', '-t', '1', '-n', '/bin/true']);
        const rule = 'Namespace Change In Container';
        const e = await live.waitFor(
          m,
          'nsenter exec',
          byRule(rule, (x) => field(x, F.cid) === priv.shortId && field(x, 'evt.type') === 'execve'),
        );
        expectIn(priv, e, { [F.name]: 'nsenter', [F.cmdline]: 'nsenter -t 1 -n /bin/true' });
        const s = await live.waitFor(
          m,
          'setns',
          byRule(rule, (x) => field(x, F.cid) === priv.shortId && field(x, 'evt.type') === 'setns'),
        );
        expectIn(priv, s, { [F.name]: 'nsenter' });
        expect(String(field(s, 'fd.name'))).toMatch(/net/);
      });
    });

    // -------------------------------------------------------------------------------------------
    describe('defense evasion', () => {
      it('Log File Cleared: truncation and deletion below /var/log (host and container)', async () => {
        const log = `/var/log/vigil-test-${process.pid}.log`;
        writeFileSync(log, 'line\n');
        const m = live.mark();
        try {
          expect((await hostSh(`: > ${log}`)).status).toBe(0);
          expect((await run('rm', [log])).status).toBe(0);
          await plain.exec(['sh', '-c', ': > /var/log/app.log']);
          await plain.exec(['rm', '/var/log/old.log']);
          const rule = 'Log File Cleared';
          const t = await live.waitFor(
            m,
            'truncate on host',
            byRule(rule, (x) => field(x, 'fs.path.name') === log && field(x, F.name) === 'sh'),
          );
          expectHost(t, { [F.cmdline]: `sh -c : > ${log}`, [F.pname]: parentComm });
          expect(String(field(t, 'evt.arg.flags'))).toContain('O_TRUNC');
          const d = await live.waitFor(
            m,
            'rm on host',
            byRule(rule, (x) => field(x, 'fs.path.name') === log && field(x, F.name) === 'rm'),
          );
          expectHost(d, { [F.cmdline]: `rm ${log}` });
          const ct = await live.waitFor(
            m,
            'truncate in container',
            byRule(
              rule,
              (x) => field(x, F.cid) === plain.shortId && field(x, 'fs.path.name') === '/var/log/app.log',
            ),
          );
          expectIn(plain, ct, { [F.name]: 'sh' });
          const cd = await live.waitFor(
            m,
            'rm in container',
            byRule(
              rule,
              (x) => field(x, F.cid) === plain.shortId && field(x, 'fs.path.name') === '/var/log/old.log',
            ),
          );
          expectIn(plain, cd, { [F.name]: 'rm', [F.cmdline]: 'rm /var/log/old.log' });
          // Creating a new log file (O_CREAT|O_TRUNC on a file that did not exist) empties nothing.
          const fresh = `/var/log/vigil-test-new-${process.pid}.log`;
          const m2 = live.mark();
          await hostSh(`: > ${fresh}`);
          rmSync(fresh, { force: true });
          await live.settle();
          expect(
            live
              .since(m2)
              .filter(
                (x) => x.rule === rule && field(x, 'fs.path.name') === fresh && field(x, F.name) === 'sh',
              ),
          ).toEqual([]);
        } finally {
          rmSync(log, { force: true });
        }
      });

      it('Execution From Dev Shm: a binary in /dev/shm on the host, a script from /dev/shm in a container', async () => {
        const shm = `/dev/shm/vigil-e2e-${process.pid}`;
        copyFileSync('/bin/true', shm);
        chmodSync(shm, 0o755);
        const m = live.mark();
        try {
          expect((await run(shm, [])).status).toBe(0);
          // The container's /dev/shm is noexec (as Docker mounts it): a shell runs a script from there.
          await plain.exec(['sh', '-c', 'echo "exit 0" > /dev/shm/x.sh']);
          expect((await plain.exec(['sh', '/dev/shm/x.sh'])).status).toBe(0);
          const rule = 'Execution From Dev Shm';
          const h = await live.waitFor(
            m,
            'exec from /dev/shm',
            byRule(rule, (x) => field(x, F.exepath) === shm),
          );
          expectHost(h, {
            [F.name]: `vigil-e2e-${process.pid}`.slice(0, 15),
            [F.cmdline]: `vigil-e2e-${process.pid}`.slice(0, 15),
          });
          const c = await live.waitFor(
            m,
            'script from /dev/shm',
            byRule(rule, (x) => field(x, F.cid) === plain.shortId),
          );
          expectIn(plain, c, { [F.name]: 'sh', [F.cmdline]: 'sh /dev/shm/x.sh' });
        } finally {
          rmSync(shm, { force: true });
        }
      });

      it('Fileless Execution From Memfd: fexecve of a memfd copy (host and container)', async () => {
        const m = live.mark();
        expect((await run(tool, ['memfd_exec', '/bin/true', 'true'])).status).toBe(0);
        // From a shell: what runc starts directly counts as the runtime's own (see docs/rules.md).
        expect((await plain.exec('/usr/bin/e2e-tool memfd_exec /bin/busybox true; exit $?')).status).toBe(0);
        const rule = 'Fileless Execution From Memfd';
        const h = await live.waitFor(
          m,
          'memfd on host',
          byRule(rule, (x) => field(x, F.cid) === 'host' && field(x, F.pname) === parentComm),
        );
        // Falco's BPF drivers report a memfd's path without a leading slash.
        expect(field(h, F.exepath)).toBe('memfd:vigil-e2e');
        expectHost(h, {});
        const c = await live.waitFor(
          m,
          'memfd in container',
          byRule(rule, (x) => field(x, F.cid) === plain.shortId),
        );
        expectIn(plain, c, { [F.pname]: 'sh' });
        expect(field(c, F.exepath)).toBe('memfd:vigil-e2e');
      });
    });

    // -------------------------------------------------------------------------------------------
    it('Outbound Connection From Server Process: a program named nginx connects to a public address', async () => {
      const nginx = join(work, 'nginx');
      copyFileSync(tool, nginx);
      chmodSync(nginx, 0o755);
      copyFileSync(tool, join(priv.rootfs, 'usr', 'sbin', 'nginx'));
      chmodSync(join(priv.rootfs, 'usr', 'sbin', 'nginx'), 0o755);
      const m = live.mark();
      const h = await run('unshare', [
        '-n',
        'sh',
        '-c',
        `ip link set lo up && ip addr add ${PUBLIC_IP}/32 dev lo && ${nginx} connect ${PUBLIC_IP} 8080 && ${nginx} connect 127.0.0.1 8081 && ${nginx} connect ${PUBLIC_IP} 53`,
      ]);
      expect(h.stderr).toBe('');
      await priv.exec(['/usr/sbin/nginx', 'connect', PUBLIC_IP, '8443']);
      const rule = 'Outbound Connection From Server Process';
      const ha = await live.waitFor(
        m,
        'nginx on host',
        byRule(rule, (x) => field(x, F.cid) === 'host' && field(x, 'fd.sport') === 8080),
      );
      expectHost(ha, {
        [F.name]: 'nginx',
        [F.cmdline]: `nginx connect ${PUBLIC_IP} 8080`,
        'fd.sip': PUBLIC_IP,
      });
      const ca = await live.waitFor(
        m,
        'nginx in container',
        byRule(rule, (x) => field(x, F.cid) === priv.shortId),
      );
      expectIn(priv, ca, { [F.name]: 'nginx', 'fd.sport': 8443 });
      await live.settle();
      // Loopback and DNS are allowed.
      expect(
        live.since(m).filter((x) => x.rule === rule && [8081, 53].includes(Number(field(x, 'fd.sport')))),
      ).toEqual([]);
    });

    // -------------------------------------------------------------------------------------------
    it('a benign workload (gcc/make build, shell scripts, loopback HTTP with node, container commands) raises nothing', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'vigil-e2e-benign-'));
      writeFileSync(
        join(dir, 'main.c'),
        '#include <stdio.h>\nint add(int,int);\nint main(void){printf("%d\\n",add(1,2));return 0;}\n',
      );
      writeFileSync(join(dir, 'add.c'), 'int add(int a,int b){return a+b;}\n');
      writeFileSync(
        join(dir, 'Makefile'),
        'app: main.o add.o\n\t$(CC) -o $@ $^\n%.o: %.c\n\t$(CC) -O1 -c -o $@ $<\nclean:\n\trm -f app *.o\n',
      );
      writeFileSync(
        join(dir, 'script.sh'),
        [
          'set -e',
          'mkdir -p out && cd out',
          'for i in 1 2 3; do echo "line $i" >> data.txt; done',
          'grep -c line data.txt > count.txt',
          'sort -r data.txt | head -n 2 > top.txt',
          'sed -e s/line/row/ data.txt > rows.txt',
          'tar cf ../out.tar . && cd .. && gzip -f out.tar',
          'cat /etc/hostname /etc/passwd > /dev/null',
          'ls -la /usr/bin > /dev/null; id; uname -a; date; ps ax > /dev/null',
          'rm -rf out out.tar.gz',
        ].join('\n'),
      );
      writeFileSync(
        join(dir, 'http.mjs'),
        [
          "import { createServer, get } from 'node:http';",
          "const s = createServer((q, r) => r.end('ok')).listen(0, '127.0.0.1', () => {",
          '  let n = 0;',
          '  const once = () => get(`http://127.0.0.1:${s.address().port}/`, (r) => { r.resume(); r.on("end", () => (++n < 20 ? once() : s.close())); });',
          '  once();',
          '});',
        ].join('\n'),
      );
      const m = live.mark();
      const wl = await run(
        '/bin/sh',
        ['-c', `make -s && ./app && make -s clean && sh ./script.sh && ${process.execPath} http.mjs`],
        { cwd: dir, timeoutMs: 60_000 },
      );
      expect(wl.stderr).toBe('');
      expect(wl.status).toBe(0);
      expect(wl.stdout).toContain('3');
      // Ordinary commands in a container: no shell with a terminal, no package manager, no writes to /etc.
      const c = await plain.exec(
        'ls / > /dev/null; cat /etc/passwd > /dev/null; echo hi > /tmp/note; ps > /dev/null; sleep 0.1; rm /tmp/note',
      );
      expect(c.status).toBe(0);
      await live.settle();
      rmSync(dir, { recursive: true, force: true });
      const fromWorkload = live.fromTree(wl.pid, m);
      expect(fromWorkload.map((a) => `${a.rule}: ${a.output}`)).toEqual([]);
      // Everything from the container after the mark came from the commands above (runc exec's own
      // set-up is allowed as a container runtime).
      const fromContainer = live.since(m).filter((a) => field(a, F.cid) === plain.shortId);
      expect(fromContainer.map((a) => `${a.rule}: ${a.output}`)).toEqual([]);
    }, 120_000);
  },
);

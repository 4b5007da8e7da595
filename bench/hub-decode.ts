/**
 * `npm run bench:hub-decode`: CPU time per alert of the hub's ingest thread on `POST /v1/alerts`
 * bodies of bench:store's alerts (bench/synthetic-alerts.ts: batches of 1000, `JSON.stringify` of their
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
 * bodies (default 40); the spread (min–max) is printed beside it. Records the table in
 * docs/benchmarks.md (its bench:hub-decode block) and ends with `BENCH` lines.
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
import { rowParams } from '../src/store/sqlite/sql.js';
import { makeAlerts } from './synthetic-alerts.js';
import { machineLine, writeDocBlock } from './bench-doc.js';

const BATCHES = Number(process.env.VIGIL_BENCH_HUB_BATCHES ?? 40);
const ROUNDS = Number(process.env.VIGIL_BENCH_HUB_ROUNDS ?? 9);
const BATCH = 1000;

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
    const alerts = makeAlerts(k * BATCH, BATCH, BATCHES * BATCH).map(alertToWire);
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
  const what: Record<string, string> = {
    general: 'general path (`decodeAlertBatch` + `rowParams`)',
    fast: 'fast path (`alert-params.ts`)',
    ingest: "fast path + parameters posted to another thread (the ingest thread's whole work)",
    pretty: 'pretty-printed bodies (every alert falls back to the general path)',
  };
  writeDocBlock(
    'hub-decode',
    [
      `Recorded ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC by \`npm run bench:hub-decode\` on ${machineLine()}; ` +
        `${BATCHES} bodies of ${BATCH} alerts, median of ${ROUNDS} rounds (min–max); load average ${load}.`,
      '',
      '| path | µs per alert | spread |',
      '| --- | ---: | ---: |',
      ...figures.map(
        (f) =>
          `| ${what[f.name] ?? f.name} | ${f.median.toFixed(2)} | ${f.min.toFixed(2)}–${f.max.toFixed(2)} |`,
      ),
    ].join('\n'),
  );
  for (const f of figures) console.log(`BENCH hub_decode_${f.name}_us_per_alert ${f.median.toFixed(2)} µs`);
}

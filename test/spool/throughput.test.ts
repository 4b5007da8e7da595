/**
 * Spool throughput: a benchmark, not a test (it asserts nothing about time and is skipped unless
 * VIGIL_SPOOL_BENCH=1). Prints BENCH lines:
 *
 *   VIGIL_SPOOL_BENCH=1 npx vitest run test/spool/throughput.test.ts
 *
 * 1. append only (JSON encode, frame, one write(2) per alert);
 * 2. append + ship to a receiver process that parses each body and answers 200 (the agent's side);
 * 3. append + ship to `vigil hub` over SQLite in its own process (end to end).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/engine/engine.js';
import { openSpool, startShipper, type Spool } from '../../src/spool/index.js';
import { freePort, haveHubCommand, Proc, startHubProcess, TOKEN } from './processes.js';

const N = Number(process.env['VIGIL_SPOOL_BENCH_ALERTS'] ?? 200_000);
const dir = mkdtempSync(join(tmpdir(), 'vigil-spool-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A realistic alert: Falco's "Terminal shell in container" with its output fields (~780 bytes spooled). */
function alert(i: number): Alert {
  const time = 1_700_000_000_000_000_000n + BigInt(i);
  return {
    rule: 'Terminal shell in container',
    priority: 'NOTICE',
    source: 'syscall',
    time,
    output:
      'A shell was spawned in a container with an attached terminal (evt_type=execve user=root user_uid=0 ' +
      `user_loginuid=-1 process=bash proc_exepath=/usr/bin/bash parent=runc command=bash -il terminal=34816 n=${i})`,
    outputFields: {
      'evt.time': time,
      'evt.type': 'execve',
      'user.name': 'root',
      'user.uid': 0,
      'user.loginuid': -1,
      'proc.name': 'bash',
      'proc.exepath': '/usr/bin/bash',
      'proc.pname': 'runc',
      'proc.cmdline': 'bash -il',
      'proc.tty': 34816,
      'container.id': '3ad7b26ded6d',
      'container.name': 'web',
      'k8s.ns.name': 'default',
    },
    tags: ['container', 'shell', 'mitre_execution', 'T1059'],
    hostname: 'node-1',
  };
}

const ALERTS = Array.from({ length: 1000 }, (_, i) => alert(i));

function report(name: string, seconds: number, cpuMicros: number): void {
  process.stdout.write(
    `BENCH spool_${name}_alerts_per_s=${Math.round(N / seconds)} agent_cpu_us_per_alert=${(cpuMicros / N).toFixed(2)} ` +
      `alerts=${N} seconds=${seconds.toFixed(2)}\n`,
  );
}

/** Appends N alerts in chunks per event-loop turn (so shipping runs alongside) and waits until shipped. */
async function appendAndShip(spool: Spool, hubUrl: string): Promise<{ seconds: number; cpu: number }> {
  const shipper = startShipper({ spool, hubUrl, token: TOKEN });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let i = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      for (const end = Math.min(N, i + 2000); i < end; i++) spool.append(ALERTS[i % 1000] as Alert);
      if (i < N) setImmediate(tick);
      else resolve();
    };
    tick();
  });
  while (shipper.stats().shipped < N) await new Promise((r) => setTimeout(r, 25));
  const seconds = (performance.now() - t0) / 1000;
  const cu = process.cpuUsage(c0);
  await shipper.close();
  expect(shipper.stats()).toMatchObject({ appended: N, pendingRecords: 0 });
  expect(shipper.stats().dropped).toEqual({});
  return { seconds, cpu: cu.user + cu.system };
}

const BENCH = process.env['VIGIL_SPOOL_BENCH'] === '1';

describe.skipIf(!BENCH)('spool throughput (skipped: a benchmark; set VIGIL_SPOOL_BENCH=1)', () => {
  it('append only', async () => {
    const spool = openSpool({ dir: join(dir, 'append') });
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < N; i++) spool.append(ALERTS[i % 1000] as Alert);
    const seconds = (performance.now() - t0) / 1000;
    const cu = process.cpuUsage(c0);
    process.stdout.write(`BENCH spool_bytes_per_alert=${Math.round(spool.stats().diskBytes / N)}\n`);
    report('append', seconds, cu.user + cu.system);
    await spool.close();
  }, 300_000);

  it('append + ship to a receiver that parses and answers 200', async () => {
    const script = join(dir, 'receiver.mjs');
    writeFileSync(
      script,
      `import http from 'node:http';
         http.createServer((req, res) => { const c = []; req.on('data', (d) => c.push(d)); req.on('end', () => {
           const n = JSON.parse(Buffer.concat(c).toString()).alerts.length;
           res.end(JSON.stringify({ inserted: n, duplicates: 0 })); }); })
           .listen(Number(process.argv[2]), '127.0.0.1', () => console.log('listening on'));`,
    );
    const port = await freePort();
    const receiver = new Proc(
      spawn(process.execPath, [script, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    await receiver.waitLine(/listening on/);
    const spool = openSpool({ dir: join(dir, 'null') });
    const r = await appendAndShip(spool, `http://127.0.0.1:${port}`);
    report('append_ship_receiver', r.seconds, r.cpu);
    await spool.close();
    await receiver.stop();
  }, 300_000);

  it.skipIf(BENCH && !haveHubCommand())(
    'append + ship to vigil hub (SQLite; skipped without `vigil hub` in dist)',
    async () => {
      const port = await freePort();
      const hub = await startHubProcess(join(dir, 'hub.db'), port);
      const spool = openSpool({ dir: join(dir, 'hub') });
      const r = await appendAndShip(spool, `http://127.0.0.1:${port}`);
      report('append_ship_hub_sqlite', r.seconds, r.cpu);
      await spool.close();
      await hub.stop();
    },
    300_000,
  );
});

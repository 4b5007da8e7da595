/**
 * A stand-in agent for the crash tests: appends alerts to a spool at a steady rate while a shipper
 * sends them to a hub. The test transpiles this file and runs it with node against dist/ (imports of
 * `../../src/` are pointed at `dist/src/`), then kills it with SIGKILL.
 *
 * Usage: agent-process <spoolDir> <hubUrl> <token> <alertsPerSecond> <count|forever>
 *
 * Prints to stdout (synchronous on a pipe, so a line printed is a line the test sees):
 * - `PREFIX <agentId>:<bootId>:` once;
 * - `A <firstSeq> <lastSeq>` after each tick, for the alerts `append` has returned (written to the
 *   spool file);
 * - `DRAINED <shipped>` once `count` alerts are appended and the hub has acknowledged everything.
 */
import type { Alert } from '../../src/engine/engine.js';
import { openSpool, startShipper } from '../../src/spool/index.js';

const [dir, hubUrl, token, rateArg, countArg] = process.argv.slice(2);
if (!dir || !hubUrl || !token || !rateArg || !countArg) {
  process.stderr.write(
    'usage: agent-process <spoolDir> <hubUrl> <token> <alertsPerSecond> <count|forever>\n',
  );
  process.exit(2);
}
const perTick = Math.max(1, Math.round(Number(rateArg) / 100));
const count = countArg === 'forever' ? Number.POSITIVE_INFINITY : Number(countArg);

const spool = openSpool({ dir });
const shipper = startShipper({
  spool,
  hubUrl,
  token,
  backoffInitialMs: 20,
  backoffMaxMs: 500,
  onLog: (m) => process.stderr.write(`${m}\n`),
});
process.stdout.write(`PREFIX ${spool.agentId}:${spool.bootId}:\n`);

function alert(i: number): Alert {
  return {
    rule: 'Read sensitive file untrusted',
    priority: 'WARNING',
    source: 'syscall',
    time: BigInt(Date.now()) * 1_000_000n + BigInt(i % 1_000_000),
    output: `Sensitive file opened for reading by non-trusted program (file=/etc/shadow n=${i})`,
    outputFields: { 'fd.name': '/etc/shadow', 'proc.name': 'cat', 'proc.pid': process.pid, n: i },
    tags: ['filesystem', 'mitre_credential_access'],
    hostname: 'agent-test',
  };
}

let appended = 0;
const timer = setInterval(() => {
  let first = -1;
  let last = -1;
  for (let k = 0; k < perTick && appended < count; k++) {
    const id = spool.append(alert(appended));
    if (id === undefined) continue;
    appended++;
    const seq = Number(id.slice(id.lastIndexOf(':') + 1));
    if (first < 0) first = seq;
    last = seq;
  }
  if (first >= 0) process.stdout.write(`A ${first} ${last}\n`);
  if (appended >= count) {
    clearInterval(timer);
    void drain();
  }
}, 10);

async function drain(): Promise<void> {
  while (spool.stats().pendingRecords > 0) await new Promise((r) => setTimeout(r, 10));
  await shipper.close();
  await spool.close();
  process.stdout.write(`DRAINED ${shipper.stats().shipped}\n`);
}

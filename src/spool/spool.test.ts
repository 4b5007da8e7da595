import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  appendFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Alert } from '../engine/engine.js';
import { alertFromWire } from '../hub/wire.js';
import { FRAME_HEADER_BYTES, scanFrames } from './frame.js';
import { openSpool, SpoolLockedError, type Spool, type SpoolOptions } from './spool.js';

const root = mkdtempSync(join(tmpdir(), 'vigil-spool-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = (): string => join(root, `s${n++}`);

function alert(i: number, extra: Partial<Alert> = {}): Alert {
  return {
    rule: 'Terminal shell in container',
    priority: 'WARNING',
    source: 'syscall',
    time: 1_700_000_000_000_000_000n + BigInt(i),
    output: `shell ${i}`,
    outputFields: { 'proc.pid': 1000 + i, 'container.id': 'abc', 'evt.num': 2n ** 70n },
    tags: ['shell'],
    hostname: 'node-1',
    ...extra,
  };
}

/** Reads (and optionally commits) everything unread, returning the payloads as parsed JSON. */
function drain(
  spool: Spool,
  commit = true,
  maxRecords = 1000,
  maxBytes = 1 << 20,
): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let b = spool.read(maxRecords, maxBytes); b; b = spool.read(maxRecords, maxBytes)) {
    for (const p of b.payloads) out.push(JSON.parse(p.toString('utf8')) as Record<string, unknown>);
    if (commit) spool.commit(b);
  }
  return out;
}

const segmentFiles = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.seg'))
    .sort();

function open(dir: string, o: Partial<SpoolOptions> = {}): Spool {
  return openSpool({ dir, bootId: 'b00t', fsync: 'never', ...o });
}

describe('spool', () => {
  it('gives each alert the id <agentId>:<bootId>:<seq> and stores it as a WireAlert', async () => {
    const dir = freshDir();
    const spool = open(dir);
    const ids = [1, 2, 3].map((i) => spool.append(alert(i)));
    const agentId = readFileSync(join(dir, 'agent-id'), 'utf8').trim();
    expect(agentId).toMatch(/^[0-9a-f]{16}$/);
    expect(spool.agentId).toBe(agentId);
    expect(ids).toEqual([1, 2, 3].map((s) => `${agentId}:b00t:${s}`));
    const read = drain(spool, false);
    expect(read.map((w, i) => alertFromWire(w, `r${i}`))).toEqual(
      [1, 2, 3].map((i) => ({
        ...alert(i),
        id: ids[i - 1],
        outputFields: { ...alert(i).outputFields, 'evt.num': (2n ** 70n).toString() },
      })),
    );
    expect(spool.stats()).toMatchObject({ appended: 3, pendingRecords: 3, segments: 1 });
    await spool.close();
    expect(existsSync(join(dir, 'lock'))).toBe(false);
  });

  it('uses the kernel boot id by default', async () => {
    const spool = openSpool({ dir: freshDir() });
    const kernel = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').replace(/-/g, '').slice(0, 16);
    expect(spool.bootId).toBe(kernel);
    expect(spool.append(alert(1))).toBe(`${spool.agentId}:${kernel}:1`);
    await spool.close();
  });

  it('resends what was not acknowledged after a reopen, with the same ids (at-least-once)', async () => {
    const dir = freshDir();
    let spool = open(dir);
    for (let i = 0; i < 10; i++) spool.append(alert(i));
    const first = spool.read(4, 1 << 20);
    if (!first) throw new Error('no batch');
    spool.commit(first);
    const inFlight = spool.read(4, 1 << 20);
    expect(inFlight?.firstSeq).toBe(5);
    await spool.close();

    spool = open(dir);
    expect(spool.stats()).toMatchObject({ pendingRecords: 6, appended: 0 });
    const again = drain(spool);
    expect(again.map((w) => w['id'])).toEqual([5, 6, 7, 8, 9, 10].map((s) => `${spool.agentId}:b00t:${s}`));
    expect(spool.stats()).toMatchObject({ pendingRecords: 0, pendingBytes: 0 });
    await spool.close();

    spool = open(dir);
    expect(spool.read(100, 1 << 20)).toBeUndefined();
    await spool.close();
  });

  it('continues the sequence after a reopen, and after a crash (no close)', async () => {
    const dir = freshDir();
    let spool = open(dir);
    spool.append(alert(1));
    spool.append(alert(2));
    drain(spool);
    await spool.close();
    spool = open(dir, { bootId: 'second' });
    expect(spool.append(alert(3))).toBe(`${spool.agentId}:second:3`);
    // Crash: the process dies without close (the lock names this live pid, which may reopen).
    spool = open(dir, { bootId: 'third' });
    expect(spool.append(alert(4))).toBe(`${spool.agentId}:third:4`);
    expect(drain(spool).map((w) => w['id'])).toEqual([
      `${spool.agentId}:second:3`,
      `${spool.agentId}:third:4`,
    ]);
    await spool.close();
  });

  it('recovers the sequence from the cursor when every segment was acknowledged and deleted', async () => {
    const dir = freshDir();
    let spool = open(dir, { segmentBytes: 300 });
    for (let i = 0; i < 5; i++) spool.append(alert(i));
    drain(spool);
    await spool.close();
    for (const f of segmentFiles(dir)) rmSync(join(dir, f));
    spool = open(dir);
    expect(spool.append(alert(6))).toBe(`${spool.agentId}:b00t:6`);
    await spool.close();
  });

  it('cuts off a torn last record and counts it', async () => {
    const dir = freshDir();
    let spool = open(dir);
    for (let i = 1; i <= 3; i++) spool.append(alert(i));
    await spool.close();
    const seg = join(dir, segmentFiles(dir)[0] as string);
    const size = statSync(seg).size;
    truncateSync(seg, size - 5);
    const logs: string[] = [];
    spool = open(dir, { onLog: (m) => logs.push(m) });
    const recordBytes = size / 3;
    expect(spool.stats()).toMatchObject({ tornRecords: 1, tornBytes: recordBytes - 5, pendingRecords: 2 });
    expect(statSync(seg).size).toBe(2 * recordBytes);
    expect(logs.join('\n')).toMatch(/torn record/);
    // The torn record never existed for anyone: its sequence number is given again.
    expect(spool.append(alert(9))).toBe(`${spool.agentId}:b00t:3`);
    expect(drain(spool).map((w) => w['output'])).toEqual(['shell 1', 'shell 2', 'shell 9']);
    await spool.close();
  });

  it('cuts off zeros and garbage after the last record', async () => {
    for (const tail of [Buffer.alloc(4096), Buffer.from('garbage that is not a frame at all')]) {
      const dir = freshDir();
      let spool = open(dir);
      spool.append(alert(1));
      await spool.close();
      appendFileSync(join(dir, segmentFiles(dir)[0] as string), tail);
      spool = open(dir);
      expect(spool.stats()).toMatchObject({ tornRecords: 1, tornBytes: tail.length, pendingRecords: 1 });
      expect(spool.append(alert(2))).toMatch(/:2$/);
      expect(drain(spool)).toHaveLength(2);
      await spool.close();
    }
  });

  it('rotates segments by size and deletes the ones wholly acknowledged', async () => {
    const dir = freshDir();
    const spool = open(dir, { segmentBytes: 2000 });
    for (let i = 0; i < 40; i++) spool.append(alert(i));
    const files = segmentFiles(dir);
    expect(files.length).toBeGreaterThan(4);
    for (const f of files) expect(statSync(join(dir, f)).size).toBeLessThanOrEqual(2000);
    expect(spool.stats().segments).toBe(files.length);
    const total = spool.stats().diskBytes;
    expect(total).toBe(files.reduce((s, f) => s + statSync(join(dir, f)).size, 0));

    // Batches never span segments; acknowledging the first segment's batch deletes its file.
    const b = spool.read(1000, 1 << 20);
    if (!b) throw new Error('no batch');
    expect(b.end).toEqual({ segment: 1, offset: statSync(join(dir, files[0] as string)).size });
    spool.commit(b);
    expect(segmentFiles(dir)).toEqual(files.slice(1));
    expect(JSON.parse(readFileSync(join(dir, 'cursor.json'), 'utf8'))).toEqual({ ...b.end, seq: b.lastSeq });
    expect(readdirSync(dir)).not.toContain('cursor.json.tmp');

    const rest = drain(spool);
    expect(rest).toHaveLength(40 - b.payloads.length);
    expect(segmentFiles(dir)).toEqual([files[files.length - 1]]);
    expect(spool.stats()).toMatchObject({ pendingRecords: 0, pendingBytes: 0, segments: 1 });
    await spool.close();
  });

  it('reads every record across segments in order, in bounded batches', async () => {
    const dir = freshDir();
    const spool = open(dir, { segmentBytes: 5000 });
    for (let i = 0; i < 200; i++) spool.append(alert(i));
    const seqs: number[] = [];
    for (let b = spool.read(7, 1500); b; b = spool.read(7, 1500)) {
      expect(b.payloads.length).toBeLessThanOrEqual(7);
      expect(b.bytes).toBeLessThanOrEqual(1500);
      expect(b.lastSeq - b.firstSeq + 1).toBe(b.payloads.length);
      for (const p of b.payloads)
        seqs.push(Number(String((JSON.parse(p.toString()) as { id: string }).id).split(':')[2]));
      spool.commit(b);
    }
    expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    await spool.close();
  });

  it('returns a record larger than the batch size alone', async () => {
    const spool = open(freshDir());
    spool.append(alert(1, { output: 'y'.repeat(10_000) }));
    spool.append(alert(2));
    const b = spool.read(100, 1000);
    expect(b?.payloads).toHaveLength(1);
    expect(b?.bytes).toBeGreaterThan(10_000);
    expect(spool.read(100, 1000)?.payloads).toHaveLength(1);
    await spool.close();
  });

  it('drops and counts alerts when full, and accepts again once space is freed', async () => {
    const dir = freshDir();
    const spool = open(dir, { maxBytes: 4000, segmentBytes: 1000 });
    let accepted = 0;
    for (let i = 0; i < 50; i++) if (spool.append(alert(i))) accepted++;
    const s = spool.stats();
    expect(accepted).toBeGreaterThan(0);
    expect(s.dropped['spool_full']).toBe(50 - accepted);
    expect(s.appended).toBe(accepted);
    expect(s.diskBytes).toBeLessThanOrEqual(4000);
    drain(spool);
    expect(spool.append(alert(99))).toBeDefined();
    // Drops consume no sequence number: ids stay contiguous.
    expect(spool.append(alert(100))).toMatch(new RegExp(`:${accepted + 2}$`));
    await spool.close();
  });

  it('frees a wholly acknowledged active segment when full (maxBytes below segmentBytes)', async () => {
    const spool = open(freshDir(), { maxBytes: 3000, segmentBytes: 1 << 20 });
    let accepted = 0;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 10; i++) if (spool.append(alert(i))) accepted++;
      drain(spool);
    }
    // Each round fills the spool; once acknowledged, the next round has room again.
    expect(accepted).toBeGreaterThan(5 * 2);
    expect(spool.stats().diskBytes).toBeLessThanOrEqual(3000);
    expect(spool.stats().segments).toBe(1);
    await spool.close();
  });

  it('drops and counts alerts larger than maxRecordBytes', async () => {
    const spool = open(freshDir(), { maxRecordBytes: 2000 });
    expect(spool.append(alert(1, { output: 'z'.repeat(3000) }))).toBeUndefined();
    expect(spool.append(alert(1, { output: 'é'.repeat(900) }))).toBeUndefined();
    expect(spool.append(alert(2))).toMatch(/:1$/);
    expect(spool.stats().dropped).toEqual({ too_large: 2 });
    await spool.close();
  });

  it('resends everything from the oldest segment when the cursor is unreadable', async () => {
    const dir = freshDir();
    let spool = open(dir);
    for (let i = 0; i < 5; i++) spool.append(alert(i));
    const b = spool.read(2, 1 << 20);
    if (b) spool.commit(b);
    await spool.close();
    writeFileSync(join(dir, 'cursor.json'), '');
    const logs: string[] = [];
    spool = open(dir, { onLog: (m) => logs.push(m) });
    expect(logs.join('\n')).toMatch(/cursor.json is unreadable/);
    expect(spool.stats().pendingRecords).toBe(5);
    expect(drain(spool)).toHaveLength(5);
    expect(spool.append(alert(6))).toMatch(/:6$/);
    await spool.close();
  });

  it('survives a cursor past the end of its segment (data lost by a power cut)', async () => {
    const dir = freshDir();
    let spool = open(dir);
    for (let i = 0; i < 4; i++) spool.append(alert(i));
    drain(spool);
    await spool.close();
    const seg = join(dir, segmentFiles(dir)[0] as string);
    truncateSync(seg, Math.floor(statSync(seg).size / 2));
    spool = open(dir);
    expect(spool.stats()).toMatchObject({ pendingRecords: 0, pendingBytes: 0 });
    expect(spool.read(10, 1 << 20)).toBeUndefined();
    // The cursor's sequence number is never given again.
    expect(spool.append(alert(5))).toMatch(/:5$/);
    expect(drain(spool)).toHaveLength(1);
    await spool.close();
  });

  it('skips and counts the rest of a closed segment that holds a bad frame', async () => {
    const dir = freshDir();
    let spool = open(dir, { segmentBytes: 1500 });
    for (let i = 0; i < 12; i++) spool.append(alert(i));
    await spool.close();
    const first = join(dir, segmentFiles(dir)[0] as string);
    const bytes = readFileSync(first);
    const inFirst = scanFrames(bytes, 0, bytes.length).records;
    bytes[FRAME_HEADER_BYTES + 3] = (bytes[FRAME_HEADER_BYTES + 3] as number) ^ 1;
    writeFileSync(first, bytes);
    spool = open(dir);
    const got = drain(spool);
    // The first segment's records are lost (from the bad frame on); every later one arrives.
    expect(inFirst).toBeGreaterThan(1);
    expect(got.map((w) => w['output'])).toEqual(
      Array.from({ length: 12 - inFirst }, (_, i) => `shell ${i + inFirst}`),
    );
    expect(spool.stats().dropped['corrupt']).toBe(1);
    expect(spool.stats().lastError).toMatch(/bad frame at offset 0/);
    await spool.close();
  });

  it('skips a bad frame in the active segment, and nothing stays pending', async () => {
    const dir = freshDir();
    let spool = open(dir);
    for (let i = 0; i < 3; i++) spool.append(alert(i));
    await spool.close();
    const seg = join(dir, segmentFiles(dir)[0] as string);
    const bytes = readFileSync(seg);
    const inFirst = scanFrames(bytes, 0, bytes.length, 1).end;
    // Corrupt the second record's payload (the CRC no longer matches) but keep the file's length.
    bytes[inFirst + FRAME_HEADER_BYTES + 2] = (bytes[inFirst + FRAME_HEADER_BYTES + 2] as number) ^ 1;
    writeFileSync(seg, bytes);
    spool = open(dir);
    // Opening cuts the tail from the bad frame on (it could be a torn write).
    expect(spool.stats()).toMatchObject({ tornRecords: 1, pendingRecords: 1 });
    spool.append(alert(9));
    // Now damage the live segment under the open spool (a disk fault): the reader skips and moves on.
    const live = readFileSync(seg);
    live[inFirst + FRAME_HEADER_BYTES + 2] = (live[inFirst + FRAME_HEADER_BYTES + 2] as number) ^ 1;
    writeFileSync(seg, live);
    expect(drain(spool).map((w) => w['output'])).toEqual(['shell 0']);
    expect(spool.stats()).toMatchObject({ pendingRecords: 0, pendingBytes: 0, dropped: { corrupt: 1 } });
    expect(spool.read(10, 1 << 20)).toBeUndefined();
    await spool.close();
  });

  it('refuses a folder held by another live process, and takes over a dead one’s lock', async () => {
    const dir = freshDir();
    const spool = open(dir);
    await spool.close();
    writeFileSync(join(dir, 'lock'), `${process.ppid}\n`);
    expect(() => open(dir)).toThrow(SpoolLockedError);
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(join(dir, 'lock'), `${dead}\n`);
    const again = open(dir);
    expect(readFileSync(join(dir, 'lock'), 'utf8').trim()).toBe(String(process.pid));
    await again.close();
  });

  it('works under each fsync policy and flushes on close', async () => {
    for (const fsync of ['always', 'interval', 'never'] as const) {
      const dir = freshDir();
      let spool = open(dir, { fsync, fsyncIntervalMs: 5 });
      for (let i = 0; i < 20; i++) spool.append(alert(i));
      await new Promise((r) => setTimeout(r, 20));
      for (let i = 20; i < 30; i++) spool.append(alert(i));
      await spool.flush();
      await spool.close();
      spool = open(dir);
      expect(drain(spool)).toHaveLength(30);
      await spool.close();
    }
  });

  it('rotates while a background fsync is running, losing nothing', async () => {
    const dir = freshDir();
    let spool = open(dir, { fsync: 'interval', fsyncIntervalMs: 1, segmentBytes: 1200 });
    for (let round = 0; round < 30; round++) {
      for (let i = 0; i < 5; i++) spool.append(alert(round * 5 + i));
      await new Promise((r) => setImmediate(r));
    }
    await spool.close();
    expect(segmentFiles(dir).length).toBeGreaterThan(10);
    spool = open(dir);
    expect(drain(spool).map((w) => w['output'])).toEqual(Array.from({ length: 150 }, (_, i) => `shell ${i}`));
    await spool.close();
  });

  it('wakes a waiting reader when a record is appended', async () => {
    const spool = open(freshDir());
    let woke = false;
    const waiting = spool.waitForData().then(() => (woke = true));
    await new Promise((r) => setTimeout(r, 5));
    expect(woke).toBe(false);
    spool.append(alert(1));
    await waiting;
    expect(woke).toBe(true);
    await spool.close();
    expect(() => spool.append(alert(2))).toThrow(/closed/);
  });
});

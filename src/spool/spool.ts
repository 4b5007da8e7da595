/**
 * The on-disk spool: alerts an agent has produced and the hub has not yet acknowledged.
 *
 * Layout of the spool folder:
 * - `<20-digit index>.seg`: append-only segment files of frames (see `frame.ts`); a new segment starts
 *   when the active one would grow past `segmentBytes`. Only the last (active) segment is written.
 * - `cursor.json`: the position up to which the hub has acknowledged, and that record's sequence
 *   number; replaced atomically (write a temp file, rename) after each acknowledged batch.
 * - `agent-id`: this agent's random id, created on first use and kept forever.
 * - `lock`: the pid of the process that has the spool open (one writer at a time).
 *
 * `append` assigns the alert its id `<agentId>:<bootId>:<seq>`, encodes it as WireAlert JSON and writes
 * the frame with one `write` system call before returning: once `append` has returned, the record is in
 * the kernel's page cache and survives the process being killed. `fsync` decides what survives a power
 * cut (see docs/spool.md). Reading (for the shipper) and acknowledging are separate, so a batch is only
 * forgotten once the hub has it; whole segments behind the acknowledged position are deleted.
 *
 * Everything here is synchronous file I/O on small buffers (one `write` per alert, one `read` per batch)
 * except the periodic fsync, which runs on the thread pool.
 */
import { randomBytes } from 'node:crypto';
import {
  constants as fsConstants,
  closeSync,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  writeSync,
  fsyncSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Alert } from '../engine/engine.js';
import { alertToWire } from '../hub/wire.js';
import {
  FRAME_HEADER_BYTES,
  MAX_FRAME_PAYLOAD,
  frameSeq,
  maxFrameBytes,
  scanFrames,
  type ScanStop,
  writeFrame,
} from './frame.js';

/** When segment data is forced to disk (see docs/spool.md for what each survives). */
export type FsyncPolicy = 'always' | 'interval' | 'never';

/** Options of {@link openSpool}. Sizes are bytes. */
export interface SpoolOptions {
  /** The spool folder (created when missing). */
  dir: string;
  /** Upper bound of the segment files on disk; appends that would pass it are dropped. Default 1 GiB. */
  maxBytes?: number;
  /** A segment is closed and a new one started when the next frame would pass this size. Default 32 MiB. */
  segmentBytes?: number;
  /** Alerts whose JSON is larger are dropped (`dropped.too_large`). Default 1 MiB. */
  maxRecordBytes?: number;
  /** Default 'interval': fdatasync at most every `fsyncIntervalMs` after a write, at rotation and at close. */
  fsync?: FsyncPolicy;
  /** Default 200 ms. */
  fsyncIntervalMs?: number;
  /** The boot part of ids. Default: the kernel's boot id (see docs/spool.md), else random per open. */
  bootId?: string;
  /** Where recovery notes and I/O errors are reported. */
  onLog?: (message: string) => void;
}

/** A place in the spool: a segment and a byte offset inside it. */
export interface SpoolPosition {
  segment: number;
  offset: number;
}

/** Unacknowledged records read by {@link Spool.read}, to be acknowledged with {@link Spool.commit}. */
export interface SpoolBatch {
  /** Each record's payload: one WireAlert as JSON (UTF-8). */
  payloads: Buffer[];
  /** Sum of the payload lengths. */
  bytes: number;
  firstSeq: number;
  lastSeq: number;
  /** Position just after the last record. */
  end: SpoolPosition;
}

/** Counters and gauges of a spool (see docs/spool.md for each). */
export interface SpoolStats {
  /** Alerts appended by this process. */
  appended: number;
  /** Records appended but not yet acknowledged (including ones read and in flight). */
  pendingRecords: number;
  /** Bytes of those records on disk (headers included). */
  pendingBytes: number;
  /** Bytes of segment files on disk: what `maxBytes` bounds. */
  diskBytes: number;
  /** Segment files on disk. */
  segments: number;
  /** Alerts not appended, by reason: `spool_full`, `too_large`, `io_error`; and records lost: `corrupt`. */
  dropped: Record<string, number>;
  /** Torn records found at the end of the last segment when the spool was opened (cut off and ignored). */
  tornRecords: number;
  tornBytes: number;
  /** Last I/O error, if any. */
  lastError?: string;
}

/** The spool folder is open in another live process. */
export class SpoolLockedError extends Error {
  override readonly name = 'SpoolLockedError';
}

const DEFAULTS = {
  maxBytes: 1024 * 1024 * 1024,
  segmentBytes: 32 * 1024 * 1024,
  maxRecordBytes: 1024 * 1024,
  fsyncIntervalMs: 200,
};

const SEGMENT_RE = /^(\d{20})\.seg$/;
const CURSOR_FILE = 'cursor.json';
const AGENT_ID_FILE = 'agent-id';
const LOCK_FILE = 'lock';
/** Read-write, created when missing; not O_APPEND, so writes land exactly at the valid end. */
const RW_CREATE = fsConstants.O_RDWR | fsConstants.O_CREAT;
/** Bytes read per scan chunk when recovering a segment. */
const SCAN_CHUNK = 4 * 1024 * 1024;

function segmentName(index: number): string {
  return `${String(index).padStart(20, '0')}.seg`;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Writes all of `buf` at `position` (a regular file write may be short only on errors like ENOSPC). */
function writeAll(fd: number, buf: Buffer, position: number): void {
  let done = 0;
  while (done < buf.length) {
    const n = writeSync(fd, buf, done, buf.length - done, position + done);
    if (n <= 0) throw new Error('write returned 0 bytes');
    done += n;
  }
}

/** Reads exactly `length` bytes at `position` (fewer only at end of file). */
function readAt(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done === length ? buf : buf.subarray(0, done);
}

/** First 16 hex digits of the kernel's boot id: changes at every boot, never within one. */
function kernelBootId(): string | undefined {
  try {
    const id = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replace(/-/g, '');
    return /^[0-9a-f]{16,}$/i.test(id) ? id.slice(0, 16).toLowerCase() : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a process with this pid exists (ours or another user's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface Cursor {
  segment: number;
  offset: number;
  seq: number;
}

function isCursor(v: unknown): v is Cursor {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Record<string, unknown>;
  return [c['segment'], c['offset'], c['seq']].every((n) => Number.isSafeInteger(n) && (n as number) >= 0);
}

/**
 * An open spool. One process at a time (a `lock` file holds its pid); not for concurrent use from
 * worker threads.
 */
export class Spool {
  readonly dir: string;
  /** This agent's id (persisted in the folder). */
  readonly agentId: string;
  readonly bootId: string;

  private readonly maxBytes: number;
  private readonly segmentBytes: number;
  private readonly maxRecordBytes: number;
  private readonly fsyncPolicy: FsyncPolicy;
  private readonly fsyncIntervalMs: number;
  private readonly log: (message: string) => void;
  private readonly idPrefix: string;

  /** Segment indexes on disk, ascending; the last is the active one. */
  private readonly segments: number[] = [];
  /** Size of each segment (the active one's is its valid end, where the next frame goes). */
  private readonly sizes = new Map<number, number>();
  private fd: number;
  private diskBytes = 0;
  private lastSeq: number;
  private ackedSeq: number;
  private ack: SpoolPosition;
  private readPos: SpoolPosition;
  private readFd: { segment: number; fd: number } | undefined;

  private appended = 0;
  private readonly dropped: Record<string, number> = {};
  private tornRecords = 0;
  private tornBytes = 0;
  private lastError: string | undefined;

  private fsyncTimer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  /** Segment fds closed by rotation while an async fdatasync might still use them. */
  private readonly closeAfterSync: number[] = [];
  private dirty = false;
  private closed = false;
  private waiters: (() => void)[] = [];
  /** Reused frame buffer: an append allocates nothing but the JSON string. */
  private scratch = Buffer.allocUnsafe(64 * 1024);

  /** Use {@link openSpool}. */
  constructor(options: SpoolOptions) {
    this.dir = options.dir;
    this.maxBytes = options.maxBytes ?? DEFAULTS.maxBytes;
    this.segmentBytes = options.segmentBytes ?? DEFAULTS.segmentBytes;
    this.maxRecordBytes = Math.min(options.maxRecordBytes ?? DEFAULTS.maxRecordBytes, MAX_FRAME_PAYLOAD);
    this.fsyncPolicy = options.fsync ?? 'interval';
    this.fsyncIntervalMs = options.fsyncIntervalMs ?? DEFAULTS.fsyncIntervalMs;
    this.log = options.onLog ?? (() => undefined);
    for (const [k, v] of [
      ['maxBytes', this.maxBytes],
      ['segmentBytes', this.segmentBytes],
      ['maxRecordBytes', this.maxRecordBytes],
    ] as const) {
      if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`spool ${k} must be a positive integer`);
    }

    mkdirSync(this.dir, { recursive: true });
    this.takeLock();
    try {
      this.agentId = this.loadAgentId();
      this.bootId = options.bootId ?? kernelBootId() ?? randomBytes(8).toString('hex');
      if (!/^[^:\s]+$/.test(this.bootId)) throw new RangeError('spool bootId must not contain ":" or spaces');
      this.idPrefix = `${this.agentId}:${this.bootId}:`;

      for (const name of readdirSync(this.dir)) {
        const m = SEGMENT_RE.exec(name);
        if (m) this.segments.push(Number(m[1]));
      }
      this.segments.sort((a, b) => a - b);
      const cursor = this.loadCursor();
      if (this.segments.length === 0) this.segments.push(cursor ? cursor.segment + 1 : 1);

      // Sizes of the closed segments as they are; the active one is scanned for a torn tail.
      const active = this.segments[this.segments.length - 1] as number;
      for (const s of this.segments) {
        if (s !== active) this.sizes.set(s, fstatOf(join(this.dir, segmentName(s))));
      }
      this.fd = openSync(join(this.dir, segmentName(active)), RW_CREATE);
      const recovered = this.recoverActive(active);
      this.sizes.set(active, recovered.end);
      for (const size of this.sizes.values()) this.diskBytes += size;

      let lastSeq = recovered.lastSeq;
      // The active segment may be empty (just rotated): the last record is then in an earlier one.
      for (let i = this.segments.length - 2; lastSeq < 0 && i >= 0; i--) {
        lastSeq = this.scanSegment(this.segments[i] as number).lastSeq;
      }
      this.lastSeq = Math.max(lastSeq, cursor?.seq ?? 0, 0);

      ({ ack: this.ack, ackedSeq: this.ackedSeq } = this.resolveAck(cursor));
      this.readPos = { ...this.ack };
      this.deleteAcknowledged();
    } catch (err) {
      this.releaseLock();
      throw err;
    }
  }

  /**
   * Appends one alert, giving it its id. Returns the id, or `undefined` when the alert was dropped
   * (counted in `stats().dropped`: spool full, too large, or a write error). Never blocks on the hub.
   */
  append(alert: Alert): string | undefined {
    if (this.closed) throw new Error('spool is closed');
    const seq = this.lastSeq + 1;
    const id = this.idPrefix + seq;
    const json = JSON.stringify(alertToWire({ ...alert, id }));
    // Byte length ≥ string length; the exact check happens on the frame.
    if (json.length > this.maxRecordBytes) return this.drop('too_large');
    const room = maxFrameBytes(json.length);
    if (this.scratch.length < room)
      this.scratch = Buffer.allocUnsafe(Math.max(room, 2 * this.scratch.length));
    const frameLength = writeFrame(this.scratch, 0, seq, json);
    if (frameLength - FRAME_HEADER_BYTES > this.maxRecordBytes) return this.drop('too_large');
    if (this.diskBytes + frameLength > this.maxBytes && !this.freeActive(frameLength)) {
      return this.drop('spool_full');
    }
    const frame = this.scratch.subarray(0, frameLength);

    let active = this.activeSegment();
    let size = this.sizes.get(active) as number;
    if (size > 0 && size + frame.length > this.segmentBytes) {
      try {
        this.rotate();
      } catch (err) {
        this.lastError = `cannot start a new segment: ${message(err)}`;
        this.log(`spool: ${this.lastError}`);
        return this.drop('io_error');
      }
      active = this.activeSegment();
      size = 0;
    }
    try {
      writeAll(this.fd, frame, size);
    } catch (err) {
      this.lastError = `cannot write to ${segmentName(active)}: ${message(err)}`;
      this.log(`spool: ${this.lastError}`);
      // Cut off whatever part of the frame reached the file, so the segment stays whole frames.
      try {
        ftruncateSync(this.fd, size);
      } catch {
        // Recovery at the next open cuts the torn frame off.
      }
      return this.drop('io_error');
    }
    this.sizes.set(active, size + frame.length);
    this.diskBytes += frame.length;
    this.lastSeq = seq;
    this.appended++;
    this.dirty = true;
    if (this.fsyncPolicy === 'always') this.syncNow();
    else if (this.fsyncPolicy === 'interval' && !this.fsyncTimer) {
      this.fsyncTimer = setTimeout(() => this.syncLater(), this.fsyncIntervalMs);
      this.fsyncTimer.unref();
    }
    if (this.waiters.length > 0) {
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    }
    return id;
  }

  /**
   * Reads the next unacknowledged records after those already read: at most `maxRecords` and about
   * `maxBytes` of payload (a first record is returned whatever its size). `undefined` when everything
   * appended has been read. A batch never spans two segments. A batch with no payloads stands for
   * unreadable bytes that were skipped (counted in `dropped.corrupt`): commit it like any other.
   */
  read(maxRecords: number, maxBytes: number): SpoolBatch | undefined {
    if (this.closed) return undefined;
    for (;;) {
      const pos = this.readPos;
      const active = this.activeSegment();
      const end = this.sizes.get(pos.segment) ?? 0;
      if (pos.offset >= end) {
        if (pos.segment === active) return undefined;
        this.readPos = { segment: this.nextSegment(pos.segment), offset: 0 };
        continue;
      }
      const fd = this.readFdFor(pos.segment);
      let chunk = readAt(
        fd,
        Math.min(end - pos.offset, maxBytes + FRAME_HEADER_BYTES * maxRecords),
        pos.offset,
      );
      const payloads: Buffer[] = [];
      let bytes = 0;
      const onFrame = (s: number, e: number): void => {
        payloads.push(chunk.subarray(s, e));
        bytes += e - s;
      };
      let scan = scanFrames(
        chunk,
        0,
        chunk.length,
        maxRecords,
        maxBytes + FRAME_HEADER_BYTES * maxRecords,
        onFrame,
      );
      if (scan.records === 0 && scan.stop === 'partial' && scan.nextLength > 0) {
        // One record larger than the batch size: read it alone.
        chunk = readAt(fd, FRAME_HEADER_BYTES + scan.nextLength, pos.offset);
        scan = scanFrames(chunk, 0, chunk.length, 1, Number.POSITIVE_INFINITY, onFrame);
      }
      if (scan.records === 0) {
        // Not a frame where one must be (the disk or someone else altered the file): skip the rest of
        // the segment rather than stall forever, and say so.
        this.count('corrupt');
        this.lastError = `${segmentName(pos.segment)}: bad frame at offset ${pos.offset}; skipped ${end - pos.offset} bytes`;
        this.log(`spool: ${this.lastError}`);
        // An empty batch: committing it moves the acknowledged position past the skipped bytes.
        this.readPos = { segment: pos.segment, offset: end };
        return { payloads: [], bytes: 0, firstSeq: -1, lastSeq: -1, end: { ...this.readPos } };
      }
      this.readPos = { segment: pos.segment, offset: pos.offset + scan.end };
      return { payloads, bytes, firstSeq: scan.firstSeq, lastSeq: scan.lastSeq, end: { ...this.readPos } };
    }
  }

  /** Forgets the batches read but not committed: the next `read` starts again after the acknowledged ones. */
  rewind(): void {
    this.readPos = { ...this.ack };
  }

  /**
   * Records that the hub acknowledged everything up to the end of `batch` (batches are committed in
   * the order they were read): updates the cursor file and deletes segments now wholly acknowledged.
   */
  commit(batch: SpoolBatch): void {
    if (this.closed) throw new Error('spool is closed');
    this.ack = { ...batch.end };
    this.ackedSeq = Math.max(this.ackedSeq, batch.lastSeq);
    this.writeCursor(false);
    this.deleteAcknowledged();
  }

  /** Resolves when records are appended after the ones read so far (at once if there are some). */
  waitForData(): Promise<void> {
    if (this.closed || this.hasUnread()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Whether {@link close} was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Whether appended records remain to be read. */
  hasUnread(): boolean {
    const end = this.sizes.get(this.readPos.segment) ?? 0;
    return this.readPos.offset < end || this.readPos.segment !== this.activeSegment();
  }

  stats(): SpoolStats {
    let pendingBytes = 0;
    for (const s of this.segments) {
      if (s >= this.ack.segment) pendingBytes += this.sizes.get(s) ?? 0;
    }
    pendingBytes -= this.ack.offset;
    const out: SpoolStats = {
      appended: this.appended,
      // Sequence numbers count records; bytes are exact (they also cover records lost to corruption).
      pendingRecords: pendingBytes <= 0 ? 0 : Math.max(0, this.lastSeq - this.ackedSeq),
      pendingBytes: Math.max(0, pendingBytes),
      diskBytes: this.diskBytes,
      segments: this.segments.length,
      dropped: { ...this.dropped },
      tornRecords: this.tornRecords,
      tornBytes: this.tornBytes,
    };
    if (this.lastError !== undefined) out.lastError = this.lastError;
    return out;
  }

  /** Forces written records to disk now (whatever the fsync policy). */
  async flush(): Promise<void> {
    if (this.closed) return;
    await this.syncing;
    if (!this.closed) this.syncNow();
  }

  /** Syncs the active segment and the cursor, closes the files and releases the lock. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.syncing;
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.fsyncTimer);
    this.fsyncTimer = undefined;
    try {
      if (this.fsyncPolicy !== 'never') fdatasyncSync(this.fd);
      this.writeCursor(this.fsyncPolicy !== 'never');
    } catch (err) {
      this.lastError = `close: ${message(err)}`;
      this.log(`spool: ${this.lastError}`);
    } finally {
      closeSync(this.fd);
      if (this.readFd) closeSync(this.readFd.fd);
      this.readFd = undefined;
      for (const fd of this.closeAfterSync.splice(0)) closeSync(fd);
      this.releaseLock();
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    }
  }

  // --- internals ---

  private activeSegment(): number {
    return this.segments[this.segments.length - 1] as number;
  }

  private nextSegment(segment: number): number {
    const next = this.segments.find((s) => s > segment);
    if (next === undefined) throw new Error(`spool: no segment after ${segment}`);
    return next;
  }

  private drop(reason: string): undefined {
    this.count(reason);
    return undefined;
  }

  private count(reason: string): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + 1;
  }

  private rotate(): void {
    const old = this.fd;
    const next = this.activeSegment() + 1;
    const fd = openSync(join(this.dir, segmentName(next)), RW_CREATE);
    if (this.fsyncPolicy !== 'never') {
      // The closed segment is never written again: make it durable once, and the new name too.
      fdatasyncSync(old);
      this.syncDir();
    }
    this.fd = fd;
    this.segments.push(next);
    this.sizes.set(next, 0);
    if (this.syncing) this.closeAfterSync.push(old);
    else closeSync(old);
  }

  /**
   * When full but the active segment is wholly acknowledged (possible when `maxBytes` is not much
   * larger than `segmentBytes`), starts a new segment so the old one can be deleted.
   */
  private freeActive(frameLength: number): boolean {
    const active = this.activeSegment();
    const size = this.sizes.get(active) ?? 0;
    if (size === 0 || this.ack.segment !== active || this.ack.offset < size) return false;
    try {
      this.rotate();
    } catch (err) {
      this.lastError = `cannot start a new segment: ${message(err)}`;
      this.log(`spool: ${this.lastError}`);
      return false;
    }
    this.deleteAcknowledged();
    return this.diskBytes + frameLength <= this.maxBytes;
  }

  private syncNow(): void {
    clearTimeout(this.fsyncTimer);
    this.fsyncTimer = undefined;
    if (!this.dirty) return;
    this.dirty = false;
    try {
      fdatasyncSync(this.fd);
    } catch (err) {
      this.lastError = `fdatasync: ${message(err)}`;
      this.log(`spool: ${this.lastError}`);
    }
  }

  /** The interval policy's fsync, on the thread pool so appends keep going meanwhile. */
  private syncLater(): void {
    this.fsyncTimer = undefined;
    if (this.closed || !this.dirty || this.syncing) return;
    this.dirty = false;
    const fd = this.fd;
    this.syncing = new Promise<void>((resolve) => {
      fdatasync(fd, (err) => {
        this.syncing = undefined;
        if (err) {
          this.lastError = `fdatasync: ${err.message}`;
          this.log(`spool: ${this.lastError}`);
        }
        for (const f of this.closeAfterSync.splice(0)) closeSync(f);
        // Writes that came in while syncing get their own turn.
        if (this.dirty && !this.closed && !this.fsyncTimer) {
          this.fsyncTimer = setTimeout(() => this.syncLater(), this.fsyncIntervalMs);
          this.fsyncTimer.unref();
        }
        resolve();
      });
    });
  }

  private syncDir(): void {
    let fd: number | undefined;
    try {
      fd = openSync(this.dir, 'r');
      fsyncSync(fd);
    } catch {
      // Some file systems refuse fsync on a folder; the rename is still atomic.
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  private readFdFor(segment: number): number {
    if (this.readFd?.segment === segment) return this.readFd.fd;
    if (this.readFd) closeSync(this.readFd.fd);
    this.readFd = undefined;
    const fd = openSync(join(this.dir, segmentName(segment)), 'r');
    this.readFd = { segment, fd };
    return fd;
  }

  private takeLock(): void {
    const path = join(this.dir, LOCK_FILE);
    for (let attempt = 0; ; attempt++) {
      try {
        // Exclusive create: of two processes opening at once, one wins.
        const fd = openSync(path, 'wx');
        try {
          writeSync(fd, `${process.pid}\n`);
        } finally {
          closeSync(fd);
        }
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      }
      let held: number;
      try {
        held = Number(readFileSync(path, 'utf8').trim());
      } catch {
        held = 0;
      }
      if (Number.isSafeInteger(held) && held > 0 && held !== process.pid && processAlive(held)) {
        throw new SpoolLockedError(`spool ${this.dir} is in use by process ${held}`);
      }
      // Left by a dead process (kill -9), or by this one (reopened after a simulated crash): take it over.
      unlinkSync(path);
    }
  }

  private releaseLock(): void {
    try {
      unlinkSync(join(this.dir, LOCK_FILE));
    } catch {
      // Already gone.
    }
  }

  private loadAgentId(): string {
    const path = join(this.dir, AGENT_ID_FILE);
    try {
      const id = readFileSync(path, 'utf8').trim();
      if (/^[^:\s]+$/.test(id)) return id;
      this.log(`spool: ${path} holds no valid id; writing a new one`);
    } catch {
      // First use.
    }
    const id = randomBytes(8).toString('hex');
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, `${id}\n`);
    const fd = openSync(tmp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    this.syncDir();
    return id;
  }

  private loadCursor(): Cursor | undefined {
    const path = join(this.dir, CURSOR_FILE);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
    try {
      const v: unknown = JSON.parse(text);
      if (isCursor(v)) return { segment: v.segment, offset: v.offset, seq: v.seq };
    } catch {
      // Reported below.
    }
    // Unreadable (e.g. empty after a power cut): resending from the oldest segment is safe, the hub
    // stores each id once.
    this.log(`spool: ${path} is unreadable; resending from the oldest segment`);
    return undefined;
  }

  private writeCursor(durable: boolean): void {
    const path = join(this.dir, CURSOR_FILE);
    const tmp = `${path}.tmp`;
    const text = JSON.stringify({ segment: this.ack.segment, offset: this.ack.offset, seq: this.ackedSeq });
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, text);
      if (durable) fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  }

  /** Where acknowledged data ends, from the cursor checked against what is on disk. */
  private resolveAck(cursor: Cursor | undefined): { ack: SpoolPosition; ackedSeq: number } {
    const first = this.segments[0] as number;
    if (!cursor) {
      // Everything on disk is unacknowledged.
      const firstSeq = this.firstSeqFrom(0);
      return { ack: { segment: first, offset: 0 }, ackedSeq: firstSeq < 0 ? this.lastSeq : firstSeq - 1 };
    }
    if (cursor.segment < first) {
      // Its segment was deleted once acknowledged: the oldest remaining one starts after it.
      return { ack: { segment: first, offset: 0 }, ackedSeq: cursor.seq };
    }
    if (!this.sizes.has(cursor.segment)) {
      // A gap (a segment deleted by hand?): continue with the next one, or at the very end.
      const next = this.segments.find((s) => s > cursor.segment);
      const ack =
        next !== undefined
          ? { segment: next, offset: 0 }
          : { segment: this.activeSegment(), offset: this.sizes.get(this.activeSegment()) ?? 0 };
      this.log(
        `spool: acknowledged segment ${cursor.segment} is missing; continuing at segment ${ack.segment}`,
      );
      return { ack, ackedSeq: cursor.seq };
    }
    const size = this.sizes.get(cursor.segment) as number;
    if (cursor.offset > size) {
      // The cursor reached disk but part of the data it covers did not (power cut with fsync 'never' or
      // inside an interval). Nothing after the valid end was acknowledged by the hub either way.
      this.log(`spool: cursor is past the end of segment ${cursor.segment}; continuing at its end`);
      return { ack: { segment: cursor.segment, offset: size }, ackedSeq: Math.min(cursor.seq, this.lastSeq) };
    }
    return { ack: { segment: cursor.segment, offset: cursor.offset }, ackedSeq: cursor.seq };
  }

  /** Sequence number of the first record at or after the acknowledged start (or -1). */
  private firstSeqFrom(index: number): number {
    for (let i = index; i < this.segments.length; i++) {
      const s = this.segments[i] as number;
      const size = this.sizes.get(s) ?? 0;
      if (size < FRAME_HEADER_BYTES) continue;
      const fd = openSync(join(this.dir, segmentName(s)), 'r');
      try {
        const head = readAt(fd, FRAME_HEADER_BYTES, 0);
        if (head.length === FRAME_HEADER_BYTES) return frameSeq(head, 0);
      } finally {
        closeSync(fd);
      }
    }
    return -1;
  }

  /** Scans the active segment, cuts off a torn or corrupt tail, and returns its valid end. */
  private recoverActive(active: number): { end: number; lastSeq: number } {
    const size = fstatSync(this.fd).size;
    const scan = this.scanFd(this.fd, size);
    if (scan.end < size) {
      const torn = size - scan.end;
      this.tornRecords++;
      this.tornBytes += torn;
      this.log(
        `spool: ${segmentName(active)} ends with ${torn} bytes of a torn record (${scan.stop}); cut off at offset ${scan.end}`,
      );
      ftruncateSync(this.fd, scan.end);
    }
    return { end: scan.end, lastSeq: scan.lastSeq };
  }

  private scanSegment(segment: number): { end: number; lastSeq: number } {
    const fd = openSync(join(this.dir, segmentName(segment)), 'r');
    try {
      return this.scanFd(fd, fstatSync(fd).size);
    } finally {
      closeSync(fd);
    }
  }

  /** Walks a segment in chunks; stops at the first frame that is incomplete or invalid. */
  private scanFd(fd: number, size: number): { end: number; lastSeq: number; stop: ScanStop } {
    let pos = 0;
    let lastSeq = -1;
    while (pos < size) {
      const chunk = readAt(fd, Math.min(SCAN_CHUNK, size - pos), pos);
      const scan = scanFrames(chunk, 0, chunk.length);
      if (scan.records > 0) lastSeq = scan.lastSeq;
      pos += scan.end;
      if (scan.stop === 'corrupt') return { end: pos, lastSeq, stop: 'corrupt' };
      // A frame cut by the chunk boundary is read again at the start of the next chunk.
      if (scan.stop === 'end' || scan.records > 0) continue;
      // No whole frame in the chunk: one frame larger than a chunk, or a torn one at the end of the file.
      if (scan.nextLength === 0 || pos + FRAME_HEADER_BYTES + scan.nextLength > size) {
        return { end: pos, lastSeq, stop: 'partial' };
      }
      const whole = readAt(fd, FRAME_HEADER_BYTES + scan.nextLength, pos);
      const one = scanFrames(whole, 0, whole.length, 1);
      if (one.records === 0) return { end: pos, lastSeq, stop: 'corrupt' };
      lastSeq = one.lastSeq;
      pos += one.end;
    }
    return { end: pos, lastSeq, stop: 'end' };
  }

  /** Deletes segments that are wholly acknowledged (never the active one). */
  private deleteAcknowledged(): void {
    const active = this.activeSegment();
    while (this.segments.length > 1) {
      const s = this.segments[0] as number;
      const done =
        s < this.ack.segment || (s === this.ack.segment && this.ack.offset >= (this.sizes.get(s) ?? 0));
      if (!done || s === active) break;
      if (this.readFd?.segment === s) {
        closeSync(this.readFd.fd);
        this.readFd = undefined;
      }
      try {
        unlinkSync(join(this.dir, segmentName(s)));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
          this.lastError = `cannot delete ${segmentName(s)}: ${message(err)}`;
          this.log(`spool: ${this.lastError}`);
          break;
        }
      }
      this.diskBytes -= this.sizes.get(s) ?? 0;
      this.sizes.delete(s);
      this.segments.shift();
      if (this.ack.segment === s) this.ack = { segment: this.segments[0] as number, offset: 0 };
      if (this.readPos.segment === s) this.readPos = { segment: this.segments[0] as number, offset: 0 };
    }
  }
}

function fstatOf(path: string): number {
  const fd = openSync(path, 'r');
  try {
    return fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
}

/** Opens (creating when missing) the spool in `options.dir`, recovering from a crash if there was one. */
export function openSpool(options: SpoolOptions): Spool {
  return new Spool(options);
}

/**
 * Record framing of spool segment files.
 *
 * A segment is a sequence of frames, each a 16-byte header followed by the payload (one WireAlert as
 * UTF-8 JSON):
 *
 * ```
 * offset 0   u32 LE  payload length (1 … MAX_FRAME_PAYLOAD)
 * offset 4   u32 LE  CRC-32 (IEEE, zlib's) of bytes 8 … end of payload: the sequence number and payload
 * offset 8   u32 LE  sequence number, low 32 bits
 * offset 12  u32 LE  sequence number, high 21 bits (sequence numbers are safe integers)
 * offset 16  payload
 * ```
 *
 * The sequence number sits in the header (it is also the last part of the alert id inside the payload)
 * so recovery and pending counts never parse JSON. A zero length is invalid on purpose: a file whose
 * tail was extended with zeros by a power cut reads as a bad frame, not as empty records.
 */
import { crc32 } from 'node:zlib';

/** Bytes of a frame header. */
export const FRAME_HEADER_BYTES = 16;
/** Largest payload a frame can declare; anything longer is corruption (the spool's own limit is lower). */
export const MAX_FRAME_PAYLOAD = 64 * 1024 * 1024;

const TWO_32 = 2 ** 32;

/** Worst-case UTF-8 bytes of a string of `length` UTF-16 code units. */
export function maxFrameBytes(length: number): number {
  return FRAME_HEADER_BYTES + 3 * length;
}

/**
 * Encodes one record into `buf` at `offset` and returns the frame's length. `buf` must have
 * {@link maxFrameBytes} of room (so the appender reuses one scratch buffer instead of allocating).
 */
export function writeFrame(buf: Buffer, offset: number, seq: number, payload: string): number {
  const len = buf.write(payload, offset + FRAME_HEADER_BYTES, 'utf8');
  buf.writeUInt32LE(len, offset);
  buf.writeUInt32LE(seq % TWO_32, offset + 8);
  buf.writeUInt32LE(Math.floor(seq / TWO_32), offset + 12);
  const end = offset + FRAME_HEADER_BYTES + len;
  buf.writeUInt32LE(crc32(buf.subarray(offset + 8, end)), offset + 4);
  return end - offset;
}

/** Encodes one record: header and payload in one new buffer. */
export function encodeFrame(seq: number, payload: string): Buffer {
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + Buffer.byteLength(payload));
  writeFrame(buf, 0, seq, payload);
  return buf;
}

/** The sequence number in the header at `offset`. */
export function frameSeq(buf: Buffer, offset: number): number {
  return buf.readUInt32LE(offset + 8) + buf.readUInt32LE(offset + 12) * TWO_32;
}

/** Why a scan stopped before its end. */
export type ScanStop =
  /** Every byte up to `end` is whole frames. */
  | 'end'
  /** The last frame runs past `end`: more data may follow, or (at a file's end) a torn write. */
  | 'partial'
  /** A header declares an impossible length, or the CRC does not match: the bytes are not a frame. */
  | 'corrupt';

/** What {@link scanFrames} found. */
export interface ScanResult {
  /** Offset just after the last whole, valid frame (the start offset when there is none). */
  end: number;
  /** Whole, valid frames between the start and `end`. */
  records: number;
  /** Sequence number of the first and last of those frames (-1 when there is none). */
  firstSeq: number;
  lastSeq: number;
  stop: ScanStop;
  /** Header-declared payload length of the frame at `end` when `stop` is 'partial' (else 0). */
  nextLength: number;
}

/**
 * Walks the frames of `buf` from `start` to `limit`, checking each CRC, and stops at the first frame
 * that is incomplete or invalid, or after `maxRecords` frames, or before a frame that would end past
 * `start + maxBytes` (a first frame is always taken when whole, however large).
 *
 * @param onFrame - called with the payload bounds of each valid frame, in order.
 */
export function scanFrames(
  buf: Buffer,
  start: number,
  limit: number,
  maxRecords = Number.POSITIVE_INFINITY,
  maxBytes = Number.POSITIVE_INFINITY,
  onFrame?: (payloadStart: number, payloadEnd: number, seq: number) => void,
): ScanResult {
  let pos = start;
  let records = 0;
  let firstSeq = -1;
  let lastSeq = -1;
  let stop: ScanStop = 'end';
  let nextLength = 0;
  while (records < maxRecords) {
    if (pos === limit) break;
    if (limit - pos < FRAME_HEADER_BYTES) {
      stop = 'partial';
      break;
    }
    const len = buf.readUInt32LE(pos);
    if (len === 0 || len > MAX_FRAME_PAYLOAD) {
      stop = 'corrupt';
      break;
    }
    const frameEnd = pos + FRAME_HEADER_BYTES + len;
    if (frameEnd > limit) {
      stop = 'partial';
      nextLength = len;
      break;
    }
    if (records > 0 && frameEnd - start > maxBytes) break;
    if (crc32(buf.subarray(pos + 8, frameEnd)) !== buf.readUInt32LE(pos + 4)) {
      stop = 'corrupt';
      break;
    }
    const seq = frameSeq(buf, pos);
    if (records === 0) firstSeq = seq;
    lastSeq = seq;
    records++;
    onFrame?.(pos + FRAME_HEADER_BYTES, frameEnd, seq);
    pos = frameEnd;
  }
  return { end: pos, records, firstSeq, lastSeq, stop, nextLength };
}

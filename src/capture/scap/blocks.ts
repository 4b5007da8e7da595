/**
 * Block layer of the scap capture format: a pcapng-like sequence of
 * `u32 type, u32 total_length, body, u32 total_length` blocks, little-endian, usually gzip-compressed.
 *
 * `readBlocks` turns a byte stream into blocks without holding the file in memory. A truncated or
 * corrupt stream ends with a {@link ScapFormatError} that names the byte offset (in the
 * decompressed stream) where reading stopped; it never throws anything else for bad input.
 */
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';

/** Block types (scap_savefile.h). `_INT` variants are the pre-release numbers still accepted. */
export const BLOCK = {
  SHB: 0x0a0d0d0a,
  MI: 0x201,
  MI_INT: 0x8002abcd,
  PL_V1: 0x202,
  PL_V1_INT: 0x8000abcd,
  PL_V2: 0x207,
  PL_V2_INT: 0x8013abcd,
  PL_V3: 0x209,
  PL_V3_INT: 0x8014abcd,
  PL_V4: 0x210,
  PL_V5: 0x211,
  PL_V6: 0x212,
  PL_V7: 0x213,
  PL_V8: 0x214,
  PL_V9: 0x215,
  FDL: 0x203,
  FDL_INT: 0x8001abcd,
  FDL_V2: 0x218,
  EV: 0x204,
  EV_INT: 0x8010abcd,
  EV_V2: 0x216,
  EV_V2_LARGE: 0x221,
  EVF: 0x208,
  EVF_V2: 0x217,
  EVF_V2_LARGE: 0x222,
  IL: 0x205,
  IL_INT: 0x8011abcd,
  IL_V2: 0x219,
  UL: 0x206,
  UL_INT: 0x8012abcd,
  UL_V2: 0x220,
} as const;

/** Magic of the section header, in host (little-endian) order. */
export const SHB_MAGIC = 0x1a2b3c4d;

/** Blocks larger than this are treated as corruption rather than allocated. */
export const MAX_BLOCK_LENGTH = 256 * 1024 * 1024;

/** A malformed or truncated capture. `offset` is the byte offset in the (decompressed) stream. */
export class ScapFormatError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number, options?: { cause?: unknown }) {
    super(`${message} (at byte offset ${offset})`, options);
    this.name = 'ScapFormatError';
    this.offset = offset;
  }
}

/** One block. `body` excludes the 8-byte header and the 4-byte trailer. */
export interface ScapBlock {
  type: number;
  /** Offset of the block header in the decompressed stream. */
  offset: number;
  /**
   * The block body. It is a view into the reader's buffer and is only valid until the next block
   * is requested: decode it (or copy it) before pulling again.
   */
  body: Uint8Array;
}

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;

/**
 * Bytes of a capture file, transparently gunzipped when the file starts with the gzip magic.
 * Decompression errors (a cut gzip stream) surface as {@link ScapFormatError}.
 */
export async function* openCaptureBytes(path: string): AsyncGenerator<Uint8Array> {
  const raw = createReadStream(path, { highWaterMark: 256 * 1024 });
  const it = raw[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const first = await it.next();
  if (first.done) return;
  const head = first.value;
  const gz = head.length >= 2 && head[0] === GZIP_MAGIC_0 && head[1] === GZIP_MAGIC_1;
  if (!gz) {
    yield head;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    return;
  }
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  // Feed the compressed file in the background; back-pressure comes from write() returning false.
  const feed = (async (): Promise<void> => {
    try {
      let chunk: Buffer | undefined = head;
      while (chunk) {
        if (!gunzip.write(chunk)) await new Promise<void>((res) => gunzip.once('drain', () => res()));
        const r = await it.next();
        chunk = r.done ? undefined : r.value;
      }
      gunzip.end();
    } catch (err) {
      gunzip.destroy(err as Error);
    }
  })();
  let produced = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      produced += chunk.length;
      yield chunk;
    }
  } catch (err) {
    throw new ScapFormatError(`gzip stream is corrupt or truncated: ${(err as Error).message}`, produced, {
      cause: err,
    });
  } finally {
    raw.destroy();
    await feed.catch(() => undefined);
  }
}

/**
 * Splits a byte stream into scap blocks. Checks the section header (magic, major version 1), each
 * block's length and trailer, and reports truncation with the offset where the block started.
 */
export async function* readBlocks(source: AsyncIterable<Uint8Array>): AsyncGenerator<ScapBlock> {
  let buf = new Uint8Array(0);
  let view = new DataView(buf.buffer);
  let start = 0; // read position in buf
  let end = 0; // bytes valid in buf
  let base = 0; // stream offset of buf[0]
  let sawHeader = false;
  const it = source[Symbol.asyncIterator]();
  let exhausted = false;

  /** Makes at least `need` bytes available from `start`; false at end of stream. */
  const fill = async (need: number): Promise<boolean> => {
    while (end - start < need) {
      if (exhausted) return false;
      const r = await it.next();
      if (r.done) {
        exhausted = true;
        return false;
      }
      const chunk = r.value;
      if (chunk.length === 0) continue;
      if (end + chunk.length > buf.length) {
        // Move the live bytes to the front, growing when they do not fit; blocks already handed
        // out are finished by now (their views are documented as short-lived).
        const live = end - start;
        const needed = live + chunk.length;
        if (needed <= buf.length) {
          buf.copyWithin(0, start, end);
        } else {
          const next = new Uint8Array(Math.max(needed, buf.length * 2, 64 * 1024));
          next.set(buf.subarray(start, end), 0);
          buf = next;
          view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
        }
        base += start;
        start = 0;
        end = live;
      }
      buf.set(chunk, end);
      end += chunk.length;
    }
    return true;
  };

  for (;;) {
    const offset = base + start;
    if (!(await fill(8))) {
      if (end - start === 0) break;
      throw new ScapFormatError(`truncated block header: ${end - start} of 8 bytes`, offset);
    }
    const type = view.getUint32(start, true);
    const total = view.getUint32(start + 4, true);
    if (!sawHeader) {
      if (type !== BLOCK.SHB) {
        throw new ScapFormatError(
          `not a scap capture: first block type 0x${type.toString(16)} is not a section header`,
          offset,
        );
      }
      sawHeader = true;
    }
    if (total < 12)
      throw new ScapFormatError(`corrupt block: length ${total} is shorter than a block header`, offset);
    if (total > MAX_BLOCK_LENGTH) {
      throw new ScapFormatError(
        `corrupt block: implausible length ${total} for block type 0x${type.toString(16)}`,
        offset,
      );
    }
    if (!(await fill(total))) {
      throw new ScapFormatError(
        `truncated block of type 0x${type.toString(16)}: ${total} bytes declared, ${end - start} present`,
        offset,
      );
    }
    const trailer = view.getUint32(start + total - 4, true);
    if (trailer !== total) {
      throw new ScapFormatError(
        `corrupt block: trailer length ${trailer} differs from header length ${total}`,
        offset,
      );
    }
    const body = buf.subarray(start + 8, start + total - 4);
    if (type === BLOCK.SHB) checkSectionHeader(body, offset);
    start += total;
    yield { type, offset, body };
  }
}

function checkSectionHeader(body: Uint8Array, offset: number): void {
  if (body.length < 16)
    throw new ScapFormatError('corrupt section header: body shorter than 16 bytes', offset);
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const magic = dv.getUint32(0, true);
  if (magic !== SHB_MAGIC) {
    const swapped = dv.getUint32(0, false) === SHB_MAGIC;
    throw new ScapFormatError(
      swapped
        ? 'big-endian scap captures are not supported'
        : `bad section header magic 0x${magic.toString(16)}`,
      offset,
    );
  }
  const major = dv.getUint16(4, true);
  if (major !== 1)
    throw new ScapFormatError(`unsupported scap major version ${major} (1 is supported)`, offset);
}

/** Major/minor version of a section header body (already checked by `readBlocks`). */
export function sectionVersion(body: Uint8Array): { major: number; minor: number } {
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  return { major: dv.getUint16(4, true), minor: dv.getUint16(6, true) };
}

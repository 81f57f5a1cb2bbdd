import { Transform, type TransformCallback } from 'node:stream';
import { createInflateRaw } from 'node:zlib';
import { FatalError, RetriableError } from '../errors.js';
import type { PrefixReader } from './prefix-reader.js';

/**
 * Streams the first file out of a zip archive without seeing the whole archive.
 *
 * A zip's directory sits at its end, so a streaming reader works from the local file header that
 * precedes each entry instead. When the writer streamed too (general-purpose bit 3), that header has
 * no sizes; the deflate stream then tells where the entry ends, and everything after it (data
 * descriptor, further entries, central directory) is ignored. An export is one CSV, so only the first
 * entry is read.
 */

const LOCAL_HEADER_SIGNATURE = 0x04034b50;
const LOCAL_HEADER_LENGTH = 30;
const FLAG_ENCRYPTED = 0x0001;
const FLAG_DATA_DESCRIPTOR = 0x0008;
const METHOD_STORED = 0;
const METHOD_DEFLATE = 8;
const ZIP64_EXTRA_ID = 0x0001;

export interface LocalFileHeader {
  flags: number;
  method: number;
  compressedSize: number;
  uncompressedSize: number;
  fileName: string;
  /** Bytes from the start of the header to the start of the entry data. */
  headerLength: number;
}

/**
 * Parses the local file header at the reader's position, skips it, and returns the stages that turn
 * the rest of the archive into the entry's bytes.
 */
export async function openFirstZipEntry(prefix: PrefixReader): Promise<Transform[]> {
  const fixed = await prefix.peek(LOCAL_HEADER_LENGTH);
  if (fixed.length < LOCAL_HEADER_LENGTH) throw truncated('local file header');
  const nameLength = fixed.readUInt16LE(26);
  const extraLength = fixed.readUInt16LE(28);
  const full = await prefix.peek(LOCAL_HEADER_LENGTH + nameLength + extraLength);
  const header = parseLocalHeader(full);
  prefix.skip(header.headerLength);

  if (header.flags & FLAG_ENCRYPTED) {
    throw new FatalError(`The export download is an encrypted zip entry (${header.fileName}); cannot read it`);
  }
  if (header.method === METHOD_STORED) {
    if (header.flags & FLAG_DATA_DESCRIPTOR && header.compressedSize === 0) {
      // Without a size or a compressed stream there is no way to find the end while streaming.
      throw new FatalError('The export download is a zip whose stored entry has no size (data descriptor)');
    }
    return [new TakeBytes(header.compressedSize)];
  }
  if (header.method === METHOD_DEFLATE) {
    const gate = new ForwardUntilStopped();
    const inflater = createInflateRaw();
    // The inflater ends itself at the end of the deflate stream; what follows is zip metadata.
    inflater.once('end', () => gate.stop());
    return [gate, inflater];
  }
  throw new FatalError(`The export download is a zip with unsupported compression method ${header.method}`);
}

/** Reads the fixed header plus file name and extra field from `buf` (which must hold them all). */
export function parseLocalHeader(buf: Buffer): LocalFileHeader {
  if (buf.length < LOCAL_HEADER_LENGTH || buf.readUInt32LE(0) !== LOCAL_HEADER_SIGNATURE) {
    throw new RetriableError('The export download is not a valid zip: no local file header at the start');
  }
  const nameLength = buf.readUInt16LE(26);
  const extraLength = buf.readUInt16LE(28);
  const headerLength = LOCAL_HEADER_LENGTH + nameLength + extraLength;
  if (buf.length < headerLength) throw truncated('local file header');
  const header: LocalFileHeader = {
    flags: buf.readUInt16LE(6),
    method: buf.readUInt16LE(8),
    compressedSize: buf.readUInt32LE(18),
    uncompressedSize: buf.readUInt32LE(22),
    fileName: buf.subarray(30, 30 + nameLength).toString('utf8'),
    headerLength,
  };
  applyZip64Sizes(header, buf.subarray(30 + nameLength, headerLength));
  return header;
}

/** Zip64 writers put 0xFFFFFFFF in the header and the real 8-byte sizes in extra field 0x0001. */
function applyZip64Sizes(header: LocalFileHeader, extra: Buffer): void {
  const needUncompressed = header.uncompressedSize === 0xffffffff;
  const needCompressed = header.compressedSize === 0xffffffff;
  if (!needUncompressed && !needCompressed) return;
  for (let at = 0; at + 4 <= extra.length;) {
    const id = extra.readUInt16LE(at);
    const size = extra.readUInt16LE(at + 2);
    const data = extra.subarray(at + 4, at + 4 + size);
    at += 4 + size;
    if (id !== ZIP64_EXTRA_ID) continue;
    let pos = 0;
    // The spec's order: uncompressed size, then compressed size, each only when flagged in the header.
    if (needUncompressed && pos + 8 <= data.length) {
      header.uncompressedSize = Number(data.readBigUInt64LE(pos));
      pos += 8;
    }
    if (needCompressed && pos + 8 <= data.length) header.compressedSize = Number(data.readBigUInt64LE(pos));
    return;
  }
}

/** Forwards exactly `size` bytes (a stored entry) and drops the rest of the archive. */
class TakeBytes extends Transform {
  #remaining: number;

  constructor(size: number) {
    super();
    this.#remaining = size;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    if (this.#remaining <= 0) return callback();
    const take = chunk.subarray(0, this.#remaining);
    this.#remaining -= take.length;
    callback(null, take);
  }

  override _flush(callback: TransformCallback): void {
    callback(this.#remaining > 0 ? truncated('stored entry') : null);
  }
}

/** Passes bytes through until told to stop; afterwards swallows them (zip metadata after the entry). */
class ForwardUntilStopped extends Transform {
  #stopped = false;

  stop(): void {
    this.#stopped = true;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    callback(null, this.#stopped ? undefined : chunk);
  }
}

function truncated(what: string): RetriableError {
  return new RetriableError(`The export download is a truncated zip: it ends inside the ${what}`);
}

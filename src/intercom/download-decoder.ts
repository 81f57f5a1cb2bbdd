import { PassThrough, pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { isEtlError, RetriableError } from '../errors.js';
import { PrefixReader } from './prefix-reader.js';
import { openFirstZipEntry } from './zip-entry.js';

/**
 * Decodes a reporting export download into plain CSV bytes.
 *
 * Intercom does not document the file format (brief §3.9): clients have seen plain CSV, gzip and zip,
 * so we sniff the magic bytes instead of trusting headers. A UTF-8 BOM would otherwise end up in the
 * first column name, so it is removed too. Everything streams: memory stays flat whatever the size.
 */

export type DownloadEncoding = 'plain' | 'gzip' | 'zip';

export interface DecodedDownload {
  /**
   * Decoded bytes: decompressed, without a leading BOM. Fails (is destroyed) on any error; an error
   * that happens before anyone reads is thrown to the first reader, never emitted into the void.
   */
  stream: Readable;
  /** Resolves once the first bytes were seen; rejects if the source failed before that. */
  encoding: Promise<DownloadEncoding>;
}

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** Sniffs `source` and pipes it through the matching decoder. Errors in `source` reach `stream`. */
export function decodeDownload(source: Readable): DecodedDownload {
  const out = new PassThrough();
  // The decoder starts reading at once, so a corrupt or dropped download can fail before anyone
  // consumes `out`, and an 'error' nobody listens to kills the process. The error is kept on the
  // destroyed stream instead (`out.errored`): any later read, pipeline or iterator throws it.
  out.on('error', () => {});
  const prefix = new PrefixReader(source);
  let last: Transform | null = null;
  let settled = false;

  // When the consumer stops early (or the entry ended before the archive did), stop the source too.
  out.once('close', () => {
    settled = true;
    if (last !== null) last.destroy();
    if (!source.readableEnded) source.destroy();
  });

  const encoding = (async (): Promise<DownloadEncoding> => {
    // Four bytes tell gzip (1f 8b) and zip (PK\3\4) apart from text; fewer only in a tiny file.
    const head = await prefix.peek(4);
    const kind = sniff(head);
    const stages: Transform[] = kind === 'gzip' ? [createGunzip()] : kind === 'zip' ? await zipStages(prefix, head) : [];
    if (settled) return kind;

    const bom = new BomStripper();
    last = bom;
    pipeline([prefix.rest(), ...stages, bom], (err) => {
      if (err && !out.destroyed) out.destroy(asDecodeError(err, kind));
    });
    // Piped by hand so that `out` gets the translated error rather than the raw zlib one.
    bom.pipe(out);
    return kind;
  })();
  encoding.catch((err: unknown) => {
    if (!out.destroyed) out.destroy(asDecodeError(err, 'plain'));
  });
  return { stream: out, encoding };
}

function sniff(head: Buffer): DownloadEncoding {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b) {
    if ((head[2] === 0x03 && head[3] === 0x04) || (head[2] === 0x05 && head[3] === 0x06)) return 'zip';
  }
  return 'plain';
}

async function zipStages(prefix: PrefixReader, head: Buffer): Promise<Transform[]> {
  // PK\5\6 opens an archive with no entries at all (just the end-of-directory record): an empty file.
  if (head[2] === 0x05) return [new Discard()];
  return openFirstZipEntry(prefix);
}

/** zlib errors say "incorrect header check"; say what was being decoded and that a retry may help. */
function asDecodeError(err: unknown, kind: DownloadEncoding): Error {
  if (isEtlError(err)) return err;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('Z_')) {
    const what = kind === 'zip' ? 'zip (deflate)' : kind;
    return new RetriableError(`The export download is not valid ${what}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** Drops a leading UTF-8 BOM, also when its three bytes arrive in separate chunks. */
export class BomStripper extends Transform {
  /** Bytes held back while they could still be the start of a BOM; null once decided. */
  #pending: Buffer | null = Buffer.alloc(0);

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    if (this.#pending === null) return callback(null, chunk);
    const buf = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const n = Math.min(buf.length, UTF8_BOM.length);
    if (buf.length < UTF8_BOM.length && buf.subarray(0, n).equals(UTF8_BOM.subarray(0, n))) {
      this.#pending = buf;
      return callback();
    }
    this.#pending = null;
    const body = buf.subarray(0, UTF8_BOM.length).equals(UTF8_BOM) ? buf.subarray(UTF8_BOM.length) : buf;
    callback(null, body.length > 0 ? body : undefined);
  }

  override _flush(callback: TransformCallback): void {
    // A file shorter than a BOM that merely starts like one is data, not a BOM.
    const rest = this.#pending;
    this.#pending = null;
    callback(null, rest !== null && rest.length > 0 ? rest : undefined);
  }
}

/** Swallows everything (the metadata of an empty zip). */
class Discard extends Transform {
  override _transform(_chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    callback();
  }
}

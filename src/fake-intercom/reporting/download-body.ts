import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, gzipSync } from 'node:zlib';
import type { DownloadEncoding } from '../options.js';
import { zipSingleFile } from './zip.js';

/** UTF-8 byte order mark; some Intercom exports are suspected to start with one (brief §3.9). */
export const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * Write a download body in the chosen encoding. Plain and gzip stream with backpressure (chunks are
 * generated only as the socket drains), so a huge window never sits in memory; zip needs sizes and
 * CRC up front and is built in memory (meant for small sniffing tests, not benchmarks).
 */
export async function writeDownloadBody(
  res: ServerResponse,
  chunks: Iterable<Buffer> | AsyncIterable<Buffer>,
  options: { encoding: DownloadEncoding; baseName: string },
): Promise<void> {
  const { encoding, baseName } = options;
  const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream' };
  if (encoding === 'zip') {
    const parts: Buffer[] = [];
    for await (const chunk of chunks) parts.push(chunk);
    const archive = zipSingleFile(`${baseName}.csv`, Buffer.concat(parts));
    res.writeHead(200, {
      ...headers,
      'Content-Disposition': `attachment; filename="${baseName}.zip"`,
      'Content-Length': String(archive.length),
    });
    res.end(archive);
    return;
  }
  if (encoding === 'gzip-content-encoding') headers['Content-Encoding'] = 'gzip';
  const fileName = encoding === 'gzip' ? `${baseName}.csv.gz` : `${baseName}.csv`;
  res.writeHead(200, { ...headers, 'Content-Disposition': `attachment; filename="${fileName}"` });
  const source = Readable.from(chunks, { objectMode: false });
  if (encoding === 'plain') await pipeline(source, res);
  else await pipeline(source, createGzip(), res);
}

/** A body served instead of a job's rows (test control `overrideNextDownload`). */
export interface DownloadOverride {
  /** CSV text (sent as UTF-8) or raw bytes. */
  body: string | Buffer;
  /** How the body goes on the wire: `as-is` sends exactly these bytes; default: the fake's encoding. */
  encoding?: DownloadEncoding | 'as-is';
  /** Send only this many bytes of the encoded body, then reset the connection (a dropped download). */
  resetAfterBytes?: number;
}

export async function writeDownloadOverride(
  res: ServerResponse,
  override: DownloadOverride,
  options: { encoding: DownloadEncoding; baseName: string },
): Promise<void> {
  const bytes = typeof override.body === 'string' ? Buffer.from(override.body, 'utf8') : override.body;
  const encoding = override.encoding ?? options.encoding;
  if (override.resetAfterBytes === undefined) {
    if (encoding !== 'as-is') return writeDownloadBody(res, [bytes], { encoding, baseName: options.baseName });
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    res.end(bytes);
    return;
  }
  const wire =
    encoding === 'gzip' || encoding === 'gzip-content-encoding'
      ? gzipSync(bytes)
      : encoding === 'zip'
        ? zipSingleFile(`${options.baseName}.csv`, bytes)
        : bytes;
  const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream' };
  if (encoding === 'gzip-content-encoding') headers['Content-Encoding'] = 'gzip';
  res.writeHead(200, headers);
  // Chunked, so the client cannot tell the body is short until the socket drops.
  const sent = wire.subarray(0, override.resetAfterBytes);
  await new Promise<void>((resolve) => res.write(sent, () => resolve()));
  res.destroy();
}

import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
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

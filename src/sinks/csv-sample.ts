import type { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { replayAfterHead } from './csv-header.js';

export interface SampledCsv {
  /** Data records (the header excluded) wholly inside the first `maxBytes` of the file. */
  rows: string[][];
  /** The whole input again, from its first byte, for `COPY … HEADER`. */
  stream: Readable;
}

/**
 * Reads about the first `maxBytes` of a CSV (header first) and parses the complete records in them,
 * then replays everything. Used once per dataset, on its first load, to guess column types from
 * values; every other load passes the file through to COPY unparsed.
 */
export async function sampleCsv(source: Readable, maxBytes: number): Promise<SampledCsv> {
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunks: Buffer[] = [];
  let size = 0;
  while (size < maxBytes) {
    const next = await iterator.next();
    if (next.done) break;
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
    chunks.push(chunk);
    size += chunk.length;
  }
  const head = Buffer.concat(chunks);
  const end = lastRecordEnd(head);
  let rows: string[][] = [];
  if (end > 0) {
    try {
      const records = parse(head.subarray(0, end).toString('utf8'), { relax_column_count: true }) as string[][];
      rows = records.slice(1);
    } catch {
      rows = []; // a malformed start is COPY's to report, with its line; no guess from it
    }
  }
  return { rows, stream: replayAfterHead(source, iterator, head) };
}

/** Offset just after the last line end that is outside double quotes (0 when there is none). */
function lastRecordEnd(buf: Buffer): number {
  let inQuotes = false;
  let end = 0;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (c === 0x22) inQuotes = !inQuotes;
    else if (c === 0x0a && !inQuotes) end = i + 1;
  }
  return end;
}

/**
 * CSV as the reporting download is observed to be (brief §3.9): comma delimiter, RFC-4180 quoting
 * (a field containing a comma, double quote, CR or LF is quoted and its quotes doubled), an empty
 * unquoted field for null, and `\n` line ends — the default row separator of Ruby's CSV library,
 * which Intercom's Rails export controller most plausibly uses (ASSUMPTION; clients skip `\r` anyway).
 */

const NEEDS_QUOTES = /[",\r\n]/;

export const LINE_END = '\n';

export function csvField(value: string | null): string {
  if (value === null) return '';
  return NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export function csvLine(values: ReadonlyArray<string | null>): string {
  return values.map(csvField).join(',') + LINE_END;
}

/** Buffers of roughly `targetBytes` each: a header line, then rows, generated only as they are pulled. */
export function* csvChunks(
  header: readonly string[],
  rows: Iterable<ReadonlyArray<string | null>>,
  targetBytes = 64 * 1024,
): Generator<Buffer> {
  let pending = csvLine(header);
  for (const row of rows) {
    pending += csvLine(row);
    if (pending.length >= targetBytes) {
      yield Buffer.from(pending, 'utf8');
      pending = '';
    }
  }
  if (pending !== '') yield Buffer.from(pending, 'utf8');
}

import { FatalError, isEtlError, RetriableError } from '../errors.js';
import type { ReportColumn, ReportDataset } from './report-catalogue.js';

/** What a load failure is about, to name it in the message. */
export interface LoadSubject {
  dataset: ReportDataset;
  columns: ReportColumn[];
  intercomJobId: string | null;
}

/** SQLSTATEs of a server that went away: failover, restart, `pg_terminate_backend`. */
const CONNECTION_LOST_CODES = new Set(['57P01', '57P02', '57P03']);
const CONNECTION_LOST_MESSAGE = /Connection terminated|not queryable|ECONNRESET|EPIPE|socket hang up/i;

/**
 * Turns a failed window load into the error taxonomy:
 * - Postgres rejecting the data (SQLSTATE class 22: invalid UTF-8, NUL bytes, a value that does not
 *   fit; 22P04: ragged rows, unterminated quotes, mixed line ends; class 54: a field or row too big)
 *   is permanent: the same file fails the same way every time, so it is a FatalError naming the
 *   line and column, not a retry.
 * - A lost Postgres connection is a RetriableError: the transaction never committed, a new attempt
 *   starts clean.
 * Errors already in the taxonomy (download failures, header mismatch) and anything unknown pass
 * through unchanged (unknown errors are retried by the job layer).
 */
export function loadFailure(err: unknown, subject: LoadSubject): unknown {
  if (isEtlError(err)) return err;
  const e = err as { code?: unknown; message?: unknown; where?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : String(err);
  const what = describeSubject(subject);
  const where = typeof e.where === 'string' ? e.where : '';
  // Only errors raised while COPY read the file are about the file (`where` names the COPY).
  if (/^(22|54)[0-9A-Z]{3}$/.test(code) && where.startsWith('COPY ')) {
    const at = copyPosition(where, subject.columns);
    return new FatalError(
      `Postgres rejected the CSV of ${what} ${at}: ${message} (SQLSTATE ${code}). ${hintFor(code)} ` +
        `Retrying cannot fix the same file, so the window failed at once; nothing was loaded and the window keeps its previous rows.`,
      { code: 'bad_csv_data', cause: err },
    );
  }
  if (CONNECTION_LOST_CODES.has(code) || code.startsWith('08') || CONNECTION_LOST_MESSAGE.test(message) || isSocketError(code)) {
    const failed = code === 'ECONNREFUSED' ? 'could not be opened' : 'was lost';
    return new RetriableError(
      `The Postgres connection (DATABASE_URL) ${failed} while loading ${what}: ${message}. Nothing was committed; the window is retried.`,
      { code: 'postgres_connection_lost', cause: err },
    );
  }
  return err;
}

function describeSubject(s: LoadSubject): string {
  return `dataset ${s.dataset.datasetId} (Intercom export ${s.intercomJobId ?? 'unknown'})`;
}

/**
 * "at line 3, column note (attribute note)" from a COPY error's `where`, e.g.
 * `COPY report_x, line 3, column note: "abc"` or `COPY report_x, line 5`. Lines are lines of the
 * CSV file, the header being line 1 (a quoted field with newlines spans several).
 */
export function copyPosition(where: string, columns: ReportColumn[]): string {
  const line = /\bline (\d+)/.exec(where)?.[1];
  const columnName = /\bline \d+, column (.+?): /.exec(where)?.[1] ?? /\bline \d+, column (.+)$/.exec(where)?.[1];
  if (line === undefined) return '(Postgres did not say where)';
  if (columnName === undefined) return `at line ${line}`; // format and encoding errors name no column
  const column = columns.find((c) => c.loadColumn === columnName);
  const attribute = column && column.attributeId !== columnName ? ` (attribute ${column.attributeId})` : '';
  return `at line ${line}, column ${columnName}${attribute}`;
}

function hintFor(code: string): string {
  if (code === '22021') return 'The file is not valid UTF-8, or contains a NUL byte.';
  if (code === '22P04')
    return 'The CSV is malformed: a row with too many or too few fields, an unterminated quoted field, or mixed line ends.';
  if (code.startsWith('54')) return 'A field or row is larger than Postgres accepts.';
  return 'A value does not fit its column.';
}

function isSocketError(code: string): boolean {
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNREFUSED' || code === 'ETIMEDOUT';
}

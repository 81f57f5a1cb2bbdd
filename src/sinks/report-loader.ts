import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { FatalError, RetriableError } from '../errors.js';
import { quoteIdent, quoteLiteral, withClient } from '../db/pool.js';
import type { TimeWindow } from '../pipeline/time-windows.js';
import { loadFailure } from './copy-errors.js';
import { dropRollupView } from './daily-rollups.js';
import { peekCsvHeader } from './csv-header.js';
import { columnsInHeaderOrder } from './header-order.js';
import type { ColumnType } from './column-naming.js';
import { reportTableLockKey, type ReportColumn, type ReportDataset } from './report-catalogue.js';
import { syncReportComments } from './report-comments.js';
import { timeColumn } from './timestamp-zone.js';
import { refreshColumnTypes, typeColumnsFromValues } from './value-typing.js';
import { withDependentViewsDetached } from './view-keeper.js';

export interface LoadWindowRequest {
  dataset: ReportDataset;
  /** Columns in the order they were requested, i.e. the order of the CSV's columns. */
  columns: ReportColumn[];
  window: TimeWindow;
  intercomJobId: string | null;
  /**
   * Zone that timestamp strings without offset are read in; a function is asked inside the load
   * transaction, once the table's lock is held (so it sees what the previous load decided).
   */
  timestampTimezone: string | ((client: pg.PoolClient) => Promise<string>);
  /** Opens the (decoded) CSV. Called again after a column had to be widened. Null: no data. */
  openCsv: (() => Promise<Readable>) | null;
  /**
   * Runs inside the load transaction, after the rows are in (read in `timestampZone`): checks and
   * ledger updates commit with them, and a throw rolls the whole window back.
   */
  onLoaded?: (client: pg.PoolClient, rows: number, timestampZone: string) => Promise<void>;
}

export interface LoadWindowResult {
  rows: number;
  /** Columns widened to text during this load. */
  widened: string[];
}

const TYPE_ERROR_CODES = new Set(['22P02', '22007', '22008', '22003', '22009', '22015']);

/**
 * Replaces exactly the rows of `window` in the dataset's table with the CSV's rows, in one
 * transaction: delete the window's rows, COPY the CSV straight into the table (metadata columns
 * fill from transaction settings; list columns are generated from their text columns), run `onLoaded`,
 * commit. A failure anywhere rolls everything back, so a failed window loads nothing. When a value
 * does not fit a column's guessed type the column is widened (integer → numeric or text, else text)
 * and the load starts again from a fresh download: no row is lost to a guess.
 */
export async function loadReportWindow(pool: pg.Pool, schema: string, req: LoadWindowRequest): Promise<LoadWindowResult> {
  const widened: string[] = [];
  // Each widening moves a column strictly towards text (at most integer → numeric → text), so at
  // most two per column; the bound only guards against a mistake turning this into a busy loop.
  for (let attempt = 0; ; attempt++) {
    try {
      const rows = await loadOnce(pool, schema, req);
      return { rows, widened };
    } catch (err) {
      const column = typeErrorColumn(err, req);
      if (!column || attempt > 2 * req.columns.length) throw loadFailure(err, req);
      if (column.attributeId === req.dataset.defaultTimeAttributeId) throw unparseableTime(err, req, column);
      column.columnType = await widenColumn(pool, schema, req.dataset, column, widerType(column.columnType, err));
      column.widened = true;
      if (!widened.includes(column.columnName)) widened.push(column.columnName);
    }
  }
}

async function loadOnce(pool: pg.Pool, schema: string, req: LoadWindowRequest): Promise<number> {
  const { dataset, window } = req;
  return withClient(pool, async (client) => {
    // The download is opened only once we hold a connection, and read at once: a download that
    // fails while we wait for Postgres would have nobody to tell.
    let source: Readable | null = null;
    await client.query('BEGIN');
    try {
      let body: Readable | null = null;
      let copyColumns = req.columns;
      if (req.openCsv) {
        source = await req.openCsv();
        const peeked = await peekCsvHeader(source);
        if (!peeked.header) {
          peeked.stream.destroy();
          throw emptyDownloadError(req);
        }
        copyColumns = columnsInHeaderOrder(peeked.header, req.columns) ?? failOnHeader(peeked.header, req);
        body = peeked.stream;
      }
      await client.query(
        `SELECT set_config('intercom_etl.window_start', $1, true), set_config('intercom_etl.window_end', $2, true),
                set_config('intercom_etl.intercom_job_id', $3, true)`,
        [new Date(window.start).toISOString(), new Date(window.end).toISOString(), req.intercomJobId ?? ''],
      );
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [reportTableLockKey(schema, dataset.tableName)]);
      const zone = typeof req.timestampTimezone === 'string' ? req.timestampTimezone : await req.timestampTimezone(client);
      await client.query(`SET LOCAL TimeZone = ${quoteLiteral(zone)}`);
      await refreshColumnTypes(client, dataset, req.columns);
      if (body) body = await typeColumnsFromValues(client, dataset, copyColumns, body);
      await deleteWindowRows(client, dataset, window);
      let rows = 0;
      if (body) {
        // A quoted empty field is NULL for a typed column (it is no boolean, number or time); text keeps ''.
        const typed = req.columns
          .filter((c) => c.loadColumn === c.columnName && c.columnType !== 'text')
          .map((c) => quoteIdent(c.columnName));
        const forceNull = typed.length > 0 ? `, FORCE_NULL (${typed.join(', ')})` : '';
        const sql = `COPY ${quoteIdent(dataset.tableName)} (${copyColumns.map((c) => quoteIdent(c.loadColumn)).join(', ')})
                     FROM STDIN WITH (FORMAT csv, HEADER true${forceNull})`;
        const copy = client.query(copyFrom(sql));
        await pipeline(body, copy);
        rows = copy.rowCount;
      }
      await req.onLoaded?.(client, rows, zone);
      await client.query('COMMIT');
      return rows;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      source?.destroy();
      throw err;
    }
  });
}

/**
 * The rows a re-export of `window` brings back, and so replaces:
 * - every row loaded by a window lying inside it (whatever its time value, even none);
 * - a row loaded by a window that only partly overlaps it (the window layout changed) when its time
 *   value — a true instant, read in the detected zone — falls inside it.
 * A row loaded by a window that does not overlap this one is never deleted, even when its time value
 * says otherwise: that value may have been read in the wrong zone, and this export will not bring
 * the row back. (The planner widens a range to whole loaded windows, so a partly overlapped window
 * is always re-exported completely.)
 */
async function deleteWindowRows(client: pg.PoolClient, dataset: ReportDataset, window: TimeWindow): Promise<void> {
  const col = timeColumn(dataset);
  const t = col ? quoteIdent(col.columnName) : null;
  const partly = t ? ` OR (_window_start < $2 AND _window_end > $1 AND ${t} >= $1 AND ${t} < $2)` : '';
  await client.query(`DELETE FROM ${quoteIdent(dataset.tableName)} WHERE (_window_start >= $1 AND _window_end <= $2)${partly}`, [
    new Date(window.start),
    new Date(window.end),
  ]);
}

/** The time attribute is never widened to text: a value that is not a timestamp fails the window. */
function unparseableTime(err: unknown, req: LoadWindowRequest, column: ReportColumn): FatalError {
  const where = (err as { where?: string }).where ?? '';
  const line = /line (\d+)/.exec(where)?.[1];
  const value = /column [^:]+: (.*)$/m.exec(where)?.[1] ?? '(unknown)';
  return new FatalError(
    `Dataset ${req.dataset.datasetId}: the time attribute ${column.attributeId} (column ${column.columnName}) has a value that is not a ` +
      `timestamp${line ? ` at line ${line} of the CSV` : ''}: ${value}. Nothing was loaded for this window; rows are assigned to windows ` +
      `by this attribute, so it is never loaded as text. Re-run the window; if Intercom keeps sending this value, report it.`,
    { code: 'bad_time_value', cause: err },
  );
}

/**
 * A `complete` export always has at least its header line; an empty body is a broken download
 * (or a broken export), never "no rows", which Intercom reports as `no_data`. Loading it would
 * replace the window's rows with nothing, so the attempt fails and is retried.
 */
function emptyDownloadError(req: LoadWindowRequest): RetriableError {
  return new RetriableError(
    `The download of Intercom export ${req.intercomJobId ?? '(unknown)'} for dataset ${req.dataset.datasetId} is empty (not even a header line), ` +
      `although the export is complete. Nothing was loaded and the window keeps its previous rows; the window is retried.`,
    { code: 'empty_download' },
  );
}

/**
 * Header fields must be the requested attributes' plain ids (a `prefix.id` form is accepted too), in
 * order or unambiguously reordered (`columnsInHeaderOrder`). Anything else fails the window.
 */
function failOnHeader(header: string[], req: LoadWindowRequest): never {
  const expected = req.columns.map((c) => c.attributeId);
  const firstDiff = expected.findIndex((e, i) => header[i] !== e);
  const at = firstDiff >= 0 ? firstDiff : expected.length;
  throw new FatalError(
    `The CSV header of dataset ${req.dataset.datasetId} does not match the requested attributes, so nothing was loaded for this window. ` +
      `Expected ${expected.length} columns, got ${header.length}; column ${at + 1} is ${JSON.stringify(header[at] ?? '(missing)')}, ` +
      `expected ${JSON.stringify(expected[at] ?? '(none)')}. If Intercom changed the dataset, run \`intercom-etl datasets\` and re-run the range.`,
    { code: 'header_mismatch' },
  );
}

/** The column a COPY type error is about (`COPY t, line 3, column first_response_time: "abc"`), if typed. */
function typeErrorColumn(err: unknown, req: LoadWindowRequest): ReportColumn | null {
  const e = err as { code?: string; where?: string };
  if (!e.code || !TYPE_ERROR_CODES.has(e.code) || !e.where) return null;
  const m = /column ([^:]+):/.exec(e.where);
  const col = m ? req.columns.find((c) => c.loadColumn === m[1]) : undefined;
  return col && col.loadColumn === col.columnName && col.columnType !== 'text' ? col : null;
}

/**
 * What a column becomes when a value does not fit it: an integer column receiving a number with
 * decimals (`4.5`) becomes numeric, anything else becomes text (which every value fits).
 */
function widerType(type: ColumnType, err: unknown): 'numeric' | 'text' {
  const value = /column [^:]+: "(.*)"$/m.exec((err as { where?: string }).where ?? '')?.[1];
  return type === 'integer' && value !== undefined && /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(value) ? 'numeric' : 'text';
}

async function widenColumn(
  pool: pg.Pool,
  schema: string,
  dataset: ReportDataset,
  column: ReportColumn,
  to: 'numeric' | 'text',
): Promise<ColumnType> {
  return withClient(pool, async (client) => {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [reportTableLockKey(schema, dataset.tableName)]);
      await client.query(`SET LOCAL TimeZone = 'UTC'`);
      // Another load may have widened it since this one read the catalogue: never narrow it back.
      const now = await client.query<{ column_type: ColumnType }>(
        'SELECT column_type FROM etl_attributes WHERE dataset_id = $1 AND column_name = $2',
        [dataset.datasetId, column.columnName],
      );
      const current = now.rows[0]?.column_type;
      const type = current === 'text' || current === to ? current : to;
      if (type !== current) {
        // A view on the column would block the type change; the next ensure makes it again without it.
        await dropRollupView(client, dataset.datasetId);
        // Other views on the table (the BI views, an analyst's) would forbid it too: detached, put back.
        await withDependentViewsDetached(client, dataset.tableName, () =>
          client.query(
            `ALTER TABLE ${quoteIdent(dataset.tableName)} ALTER COLUMN ${quoteIdent(column.columnName)} TYPE ${to} USING ${quoteIdent(column.columnName)}::${to}`,
          ),
        );
      }
      // Recorded even when the type was already wide enough (a guess from values that was rolled
      // back with its load): a column that once did not fit is never guessed again.
      await client.query(`UPDATE etl_attributes SET column_type = $3, widened_at = now() WHERE dataset_id = $1 AND column_name = $2`, [
        dataset.datasetId,
        column.columnName,
        type,
      ]);
      await syncReportComments(client, schema, dataset.datasetId);
      await client.query('COMMIT');
      return type;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    }
  });
}

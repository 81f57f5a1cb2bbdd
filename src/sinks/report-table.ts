import type pg from 'pg';
import { quoteIdent } from '../db/pool.js';
import type { ColumnType } from './column-naming.js';

/** An attribute column as `etl_attributes` records it. */
export interface StoredColumn {
  columnName: string;
  columnType: ColumnType;
  /** For a text[] column: the text column COPY fills with the field as exported. */
  loadColumn: string | null;
}

/**
 * Metadata columns, filled from the load transaction's settings (so COPY need not send them).
 * They come after the data columns in tables created from now on; tables created by older
 * versions keep them first.
 */
const METADATA_DEFINITIONS = [
  `_window_start    timestamptz NOT NULL DEFAULT current_setting('intercom_etl.window_start', true)::timestamptz`,
  `_window_end      timestamptz NOT NULL DEFAULT current_setting('intercom_etl.window_end', true)::timestamptz`,
  `_intercom_job_id text DEFAULT current_setting('intercom_etl.intercom_job_id', true)`,
  `_loaded_at       timestamptz NOT NULL DEFAULT now()`,
];

/** The dataset's attribute columns in catalogue order. */
export async function storedColumns(client: pg.PoolClient, datasetId: string): Promise<StoredColumn[]> {
  const { rows } = await client.query<{ column_name: string; column_type: ColumnType; load_column: string | null }>(
    'SELECT column_name, column_type, load_column FROM etl_attributes WHERE dataset_id = $1 ORDER BY position',
    [datasetId],
  );
  return rows.map((r) => ({ columnName: r.column_name, columnType: r.column_type, loadColumn: r.load_column }));
}

/**
 * A new report table: the attribute columns in catalogue order (what an analyst reads), then the
 * text columns that list columns are generated from, then the metadata columns.
 */
export async function createReportTable(client: pg.PoolClient, schema: string, tableName: string, columns: StoredColumn[]): Promise<void> {
  const data = columns.map((c) => `${quoteIdent(c.columnName)} ${columnDefinition(schema, c)}`);
  const sources = columns.flatMap((c) => (c.loadColumn ? [`${quoteIdent(c.loadColumn)} text`] : []));
  await client.query(`CREATE TABLE ${quoteIdent(tableName)} (\n  ${[...data, ...sources, ...METADATA_DEFINITIONS].join(',\n  ')}\n)`);
}

/** Columns for attributes new to an existing table (appended, so after its metadata columns). */
export async function addReportColumns(client: pg.PoolClient, schema: string, tableName: string, columns: StoredColumn[]): Promise<void> {
  for (const c of columns) {
    if (c.loadColumn) await client.query(`ALTER TABLE ${quoteIdent(tableName)} ADD COLUMN IF NOT EXISTS ${quoteIdent(c.loadColumn)} text`);
    await client.query(
      `ALTER TABLE ${quoteIdent(tableName)} ADD COLUMN IF NOT EXISTS ${quoteIdent(c.columnName)} ${columnDefinition(schema, c)}`,
    );
  }
}

/**
 * A list column is generated from its text column by `etl_split_list` (migration 0009): COPY cannot
 * turn a CSV field into an array, and a stored generated column costs one function call per row
 * while the raw CSV still streams straight into COPY. The function is schema-qualified so the
 * column does not depend on anyone's search_path.
 */
function columnDefinition(schema: string, c: StoredColumn): string {
  if (c.columnType === 'text[]' && c.loadColumn) {
    return `text[] GENERATED ALWAYS AS (${quoteIdent(schema)}.etl_split_list(${quoteIdent(c.loadColumn)})) STORED`;
  }
  return c.columnType === 'text[]' ? 'text' : c.columnType;
}

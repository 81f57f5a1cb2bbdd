import type { Readable } from 'node:stream';
import type pg from 'pg';
import { quoteIdent } from '../db/pool.js';
import { guessTypeFromValues, type ColumnType } from './column-naming.js';
import { sampleCsv } from './csv-sample.js';
import { dropRollupView } from './daily-rollups.js';
import { withDependentViewsDetached } from './view-keeper.js';
import type { ReportColumn, ReportDataset } from './report-catalogue.js';

/** How much of the first download is read to guess types from values. */
const SAMPLE_BYTES = 256 * 1024;

/**
 * The catalogue's current types of `columns` (read under the table's lock, so a type another load
 * just changed is seen: COPY's FORCE_NULL list must match the table).
 */
export async function refreshColumnTypes(client: pg.PoolClient, dataset: ReportDataset, columns: ReportColumn[]): Promise<void> {
  const { rows } = await client.query<{ column_name: string; column_type: ColumnType; widened: boolean }>(
    'SELECT column_name, column_type, widened_at IS NOT NULL AS widened FROM etl_attributes WHERE dataset_id = $1',
    [dataset.datasetId],
  );
  const byName = new Map(rows.map((r) => [r.column_name, r]));
  for (const c of columns) {
    const r = byName.get(c.columnName);
    if (r) {
      c.columnType = r.column_type;
      c.widened = r.widened;
    }
  }
}

/**
 * The second half of the type guess (the first is from ids and names): on a dataset's first load,
 * while its table is still empty, a text column whose id says nothing (a workspace custom attribute
 * such as `Csat score`) takes the type its first values fit — boolean, integer or numeric — read
 * from the first 256 KiB of the download. Retyping an empty table is instant. A later value that
 * does not fit widens the column as usual (and a widened column is never guessed again), so no row
 * is lost. Ids (`…_id`), lists and the time attribute are never retyped. Returns the stream to COPY.
 */
export async function typeColumnsFromValues(
  client: pg.PoolClient,
  dataset: ReportDataset,
  copyColumns: ReportColumn[],
  body: Readable,
): Promise<Readable> {
  const candidates = copyColumns.filter(
    (c) =>
      c.columnType === 'text' &&
      !c.widened &&
      c.loadColumn === c.columnName &&
      c.attributeId !== dataset.defaultTimeAttributeId &&
      !/_ids?$/i.test(c.attributeId),
  );
  if (candidates.length === 0) return body;
  const table = quoteIdent(dataset.tableName);
  const empty = await client.query<{ empty: boolean }>(`SELECT NOT EXISTS (SELECT 1 FROM ${table}) AS empty`);
  if (!empty.rows[0]!.empty) return body;
  const sample = await sampleCsv(body, SAMPLE_BYTES);
  for (const c of candidates) {
    const index = copyColumns.indexOf(c);
    const type = guessTypeFromValues(sample.rows.map((r) => r[index] ?? ''));
    if (!type) continue;
    const col = quoteIdent(c.columnName);
    // Views on the column would block the type change: the rollup is dropped (the next ensure makes
    // it again), the others detached and put back.
    await dropRollupView(client, dataset.datasetId);
    await withDependentViewsDetached(client, dataset.tableName, () =>
      client.query(`ALTER TABLE ${table} ALTER COLUMN ${col} TYPE ${type} USING ${col}::${type}`),
    );
    await client.query(`UPDATE etl_attributes SET column_type = $3 WHERE dataset_id = $1 AND column_name = $2`, [
      dataset.datasetId,
      c.columnName,
      type,
    ]);
    c.columnType = type;
  }
  return sample.stream;
}

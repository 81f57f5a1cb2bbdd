import type pg from 'pg';
import { withTransaction, quoteIdent } from '../db/pool.js';
import type { Dataset } from '../intercom/types.js';
import { dropRollupView } from './daily-rollups.js';
import { withDependentViewsDetached } from './view-keeper.js';
import { guessColumnType, listSourceName, METADATA_COLUMNS, reportTableName, uniqueName, type ColumnType } from './column-naming.js';
import { syncReportComments } from './report-comments.js';
import { addReportColumns, createReportTable, storedColumns, type StoredColumn } from './report-table.js';

/** One attribute column of a report table. */
export interface ReportColumn {
  columnName: string;
  attributeId: string;
  qualifiedId: string | null;
  name: string;
  columnType: ColumnType;
  /**
   * The column COPY fills: `columnName`, except for a text[] column, which is generated from the
   * text column holding the field as exported (`<columnName>_text`).
   */
  loadColumn: string;
  /** Whether a value once did not fit its guessed type (it is then never guessed again). */
  widened: boolean;
  /** Whether the latest get_datasets listed it. */
  current: boolean;
}

/** A dataset as the loader sees it: its table, time column and columns in catalogue order. */
export interface ReportDataset {
  datasetId: string;
  name: string;
  tableName: string;
  defaultTimeAttributeId: string;
  /** Zone the export's timestamps are read in, once detected (or configured); null before. */
  timestampZone: string | null;
  timestampZoneSource: 'detected' | 'configured' | null;
  columns: ReportColumn[];
}

/** Lock key shared by every statement that changes a report table's shape or rows. */
export function reportTableLockKey(schema: string, tableName: string): string {
  return `intercom-etl:report-table:${schema}.${tableName}`;
}

/**
 * Records `datasets` (from get_datasets) in the catalogue: new datasets get a report table, new
 * attributes get a column, everything seen gets `last_seen_at = now()`. Idempotent.
 */
export async function syncCatalogue(pool: pg.Pool, schema: string, datasets: Dataset[]): Promise<ReportDataset[]> {
  const out: ReportDataset[] = [];
  for (const ds of datasets) out.push(await syncDataset(pool, schema, ds));
  return out;
}

async function syncDataset(pool: pg.Pool, schema: string, ds: Dataset): Promise<ReportDataset> {
  return withTransaction(pool, async (client) => {
    // Serialise catalogue changes for the workspace: table names are assigned against each other.
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`intercom-etl:catalogue:${schema}`]);
    const existing = await client.query<{ table_name: string }>('SELECT table_name FROM etl_datasets WHERE dataset_id = $1', [ds.id]);
    let tableName = existing.rows[0]?.table_name;
    if (!tableName) {
      const taken = await client.query<{ table_name: string }>('SELECT table_name FROM etl_datasets');
      tableName = reportTableName(ds.id, new Set(taken.rows.map((r) => r.table_name)));
    }
    await client.query(
      `INSERT INTO etl_datasets (dataset_id, name, description, default_time_attribute_id, table_name)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (dataset_id) DO UPDATE SET name = EXCLUDED.name, description = EXCLUDED.description,
         default_time_attribute_id = EXCLUDED.default_time_attribute_id, last_seen_at = now()`,
      [ds.id, ds.name, ds.description, ds.defaultTimeAttributeId, tableName],
    );
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [reportTableLockKey(schema, tableName)]);
    const table = `${quoteIdent(schema)}.${quoteIdent(tableName)}`;
    const exists = await client.query<{ e: boolean }>('SELECT to_regclass($1) IS NOT NULL AS e', [table]);

    const { rows } = await client.query<{
      column_name: string;
      attribute_id: string;
      qualified_id: string | null;
      position: number;
      load_column: string | null;
    }>(
      'SELECT column_name, attribute_id, qualified_id, position, load_column FROM etl_attributes WHERE dataset_id = $1 ORDER BY position',
      [ds.id],
    );
    const taken = new Set<string>([
      ...METADATA_COLUMNS,
      ...rows.flatMap((r) => [r.column_name, ...(r.load_column ? [r.load_column] : [])]),
    ]);
    const unmatched = [...rows];
    const added: StoredColumn[] = [];
    let nextPosition = rows.reduce((m, r) => Math.max(m, r.position + 1), 0);
    for (const attr of ds.attributes) {
      // Match on the qualified id when both sides know it; otherwise on the plain id, in order,
      // so an ambiguous plain id seen twice maps to two columns consistently.
      let idx = attr.qualifiedId ? unmatched.findIndex((r) => r.qualified_id === attr.qualifiedId) : -1;
      if (idx < 0) idx = unmatched.findIndex((r) => r.attribute_id === attr.id && (!r.qualified_id || !attr.qualifiedId));
      if (idx >= 0) {
        const row = unmatched.splice(idx, 1)[0]!;
        await client.query(
          `UPDATE etl_attributes SET name = $3, qualified_id = COALESCE($4, qualified_id), last_seen_at = now()
           WHERE dataset_id = $1 AND column_name = $2`,
          [ds.id, row.column_name, attr.name, attr.qualifiedId ?? null],
        );
        continue;
      }
      const columnName = uniqueName(attr.id, taken);
      taken.add(columnName);
      // The time attribute decides which window a row belongs to: it is a timestamp, never a guess.
      const type = attr.id === ds.defaultTimeAttributeId ? 'timestamptz' : guessColumnType(attr.id, attr.qualifiedId, attr.name);
      const loadColumn = type === 'text[]' ? listSourceName(columnName, taken) : null;
      if (loadColumn) taken.add(loadColumn);
      added.push({ columnName, columnType: type, loadColumn });
      await client.query(
        `INSERT INTO etl_attributes (dataset_id, column_name, attribute_id, qualified_id, name, column_type, position, load_column)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [ds.id, columnName, attr.id, attr.qualifiedId ?? null, attr.name, type, nextPosition++, loadColumn],
      );
    }
    if (exists.rows[0]!.e) await addReportColumns(client, schema, tableName, added);
    else await createReportTable(client, schema, tableName, await storedColumns(client, ds.id));
    await client.query(
      `CREATE INDEX IF NOT EXISTS ${quoteIdent(`${tableName.slice(0, 50)}_window`)} ON ${quoteIdent(tableName)} (_window_start, _window_end)`,
    );
    const timeCol = await client.query<{ column_name: string; column_type: string }>(
      `SELECT column_name, column_type FROM etl_attributes WHERE dataset_id = $1 AND attribute_id = $2 ORDER BY position LIMIT 1`,
      [ds.id, ds.defaultTimeAttributeId],
    );
    const tc = timeCol.rows[0];
    if (tc && tc.column_type !== 'timestamptz') await makeTimestamp(client, ds.id, tableName, tc.column_name);
    if (tc) {
      await client.query(
        `CREATE INDEX IF NOT EXISTS ${quoteIdent(`${tableName.slice(0, 50)}_time`)} ON ${quoteIdent(tableName)} (${quoteIdent(tc.column_name)})`,
      );
    }
    await syncReportComments(client, schema, ds.id);
    return (await loadReportDataset(client, ds.id))!;
  });
}

/**
 * Tables made before the time attribute was always a timestamp may hold it as numeric or text (a
 * wrong guess, then widened). Convert it when every value reads as a timestamp; otherwise leave it
 * (the loader then fails such windows with the offending value) — never lose a value.
 */
async function makeTimestamp(client: pg.PoolClient, datasetId: string, tableName: string, columnName: string): Promise<void> {
  const col = quoteIdent(columnName);
  await client.query('SAVEPOINT make_timestamp');
  try {
    await client.query(`SET LOCAL TimeZone = 'UTC'`);
    await dropRollupView(client, datasetId); // it would block the type change; made again by the next ensure
    await withDependentViewsDetached(client, tableName, () =>
      client.query(`ALTER TABLE ${quoteIdent(tableName)} ALTER COLUMN ${col} TYPE timestamptz USING NULLIF(${col}::text, '')::timestamptz`),
    );
    await client.query(`UPDATE etl_attributes SET column_type = 'timestamptz' WHERE dataset_id = $1 AND column_name = $2`, [
      datasetId,
      columnName,
    ]);
    await client.query('RELEASE SAVEPOINT make_timestamp');
  } catch {
    await client.query('ROLLBACK TO SAVEPOINT make_timestamp');
  }
}

/** Records the zone a dataset's timestamps are in (inside the load transaction that found it). */
export async function recordTimestampZone(
  db: pg.Pool | pg.PoolClient,
  datasetId: string,
  zone: string,
  source: 'detected' | 'configured',
): Promise<void> {
  await db.query(
    `UPDATE etl_datasets SET timestamp_zone = $2, timestamp_zone_source = $3, timestamp_zone_at = now() WHERE dataset_id = $1`,
    [datasetId, zone, source],
  );
}

/** Records that Intercom sent rows at exactly `end_time` for this dataset; true the first time. */
export async function recordInclusiveEnd(db: pg.Pool | pg.PoolClient, datasetId: string): Promise<boolean> {
  const res = await db.query(
    `UPDATE etl_datasets SET end_time_inclusive_seen_at = now() WHERE dataset_id = $1 AND end_time_inclusive_seen_at IS NULL`,
    [datasetId],
  );
  return (res.rowCount ?? 0) > 0;
}

/** The catalogue entry of one dataset, or null when it was never seen. */
export async function loadReportDataset(db: pg.Pool | pg.PoolClient, datasetId: string): Promise<ReportDataset | null> {
  const ds = await db.query<{
    dataset_id: string;
    name: string;
    table_name: string;
    default_time_attribute_id: string;
    timestamp_zone: string | null;
    timestamp_zone_source: 'detected' | 'configured' | null;
  }>(
    `SELECT dataset_id, name, table_name, default_time_attribute_id, timestamp_zone, timestamp_zone_source
       FROM etl_datasets WHERE dataset_id = $1`,
    [datasetId],
  );
  const d = ds.rows[0];
  if (!d) return null;
  const cols = await db.query<{
    column_name: string;
    attribute_id: string;
    qualified_id: string | null;
    name: string;
    column_type: ColumnType;
    load_column: string | null;
    widened: boolean;
    current: boolean;
  }>(
    `SELECT a.column_name, a.attribute_id, a.qualified_id, a.name, a.column_type, a.load_column, a.widened_at IS NOT NULL AS widened, a.last_seen_at >= d.last_seen_at AS current
       FROM etl_attributes a JOIN etl_datasets d USING (dataset_id)
      WHERE a.dataset_id = $1 ORDER BY a.position`,
    [datasetId],
  );
  return {
    datasetId: d.dataset_id,
    name: d.name,
    tableName: d.table_name,
    defaultTimeAttributeId: d.default_time_attribute_id,
    timestampZone: d.timestamp_zone,
    timestampZoneSource: d.timestamp_zone_source,
    columns: cols.rows.map((r) => ({
      columnName: r.column_name,
      attributeId: r.attribute_id,
      qualifiedId: r.qualified_id,
      name: r.name,
      columnType: r.column_type,
      loadColumn: r.load_column ?? r.column_name,
      widened: r.widened,
      current: r.current,
    })),
  };
}

/** The id to send Intercom for a column: its qualified id when known, else its plain id. */
export function requestIdOf(col: ReportColumn): string {
  return col.qualifiedId ?? col.attributeId;
}

/** Resolves requested ids (as stored in the ledger) to columns, in request order. */
export function columnsForRequest(ds: ReportDataset, requestedIds: string[]): ReportColumn[] {
  const remaining = [...ds.columns];
  return requestedIds.map((id) => {
    let idx = remaining.findIndex((c) => c.qualifiedId === id);
    if (idx < 0) idx = remaining.findIndex((c) => c.attributeId === id);
    if (idx < 0)
      throw new Error(
        `Attribute ${JSON.stringify(id)} of dataset ${ds.datasetId} is not in the catalogue; run \`intercom-etl datasets\` to refresh it.`,
      );
    return remaining.splice(idx, 1)[0]!;
  });
}

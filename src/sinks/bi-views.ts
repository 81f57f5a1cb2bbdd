import { createHash } from 'node:crypto';
import type pg from 'pg';
import { migrate, migrationLockKey, MIGRATIONS_DIR, type MigrationResult } from '../db/migrate.js';
import { quoteIdent as q, withClient } from '../db/pool.js';
import type { SourceColumn } from './bi-naming.js';
import { grantsOf } from './view-keeper.js';
import { buildViewDefs, commentStatements, type BiSource, type ReportTable, type ViewDef } from './bi-view-sql.js';

/**
 * The analysts' schema (ETL_BI_SCHEMA, default `<PG_SCHEMA>_bi`; issue 9 §3): one view per dataset
 * with friendly column names, the conversations joined to companies and tickets, and the entity
 * tables with ticket states and types resolved. Rebuilt from the catalogue and information_schema
 * (only tables and columns that exist), so a dataset or attribute that disappears drops out of the
 * views instead of breaking them. Runs after the migrations and after every catalogue refresh, under
 * the migration advisory lock, in one transaction: analysts never see a half-built schema.
 */

export interface BiSchemaConfig {
  pgSchema: string;
  /** null: no views (programmatic use; the configuration always names a schema). */
  biSchema: string | null;
}

export interface BiRefreshResult {
  /** Views created or rebuilt because their definition changed. */
  rebuilt: string[];
  /** Views dropped because their dataset is gone. */
  dropped: string[];
  unchanged: number;
  /**
   * Views that should have been rebuilt or dropped but were kept as they are, because objects of
   * someone else depend on them; tried again on every refresh. One sentence each.
   */
  blocked: string[];
}

const ENTITY_TABLES = ['companies', 'tickets', 'ticket_states', 'ticket_types'];

/** `migrate`, then the BI views on the same locked client: what every command that migrates runs. */
export async function migrateWarehouse(pool: pg.Pool, config: BiSchemaConfig): Promise<MigrationResult & { bi: BiRefreshResult }> {
  let bi: BiRefreshResult = NOTHING();
  const result = await migrate(pool, config.pgSchema, MIGRATIONS_DIR, [
    async (client) => {
      bi = await refreshBiSchema(client, config);
    },
  ]);
  return { ...result, bi };
}

const NOTHING = (): BiRefreshResult => ({ rebuilt: [], dropped: [], unchanged: 0, blocked: [] });

/**
 * Brings the BI views up to date. Given a pool it takes a client of its own; given a client (the
 * migration's, which holds the migration lock) it uses that one. Idempotent and cheap when nothing
 * changed (one fingerprint per view).
 */
export async function refreshBiSchema(db: pg.Pool | pg.PoolClient, config: BiSchemaConfig): Promise<BiRefreshResult> {
  const biSchema = config.biSchema;
  if (biSchema === null) return NOTHING();
  const run = async (client: pg.PoolClient): Promise<BiRefreshResult> => {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [migrationLockKey(config.pgSchema)]);
      const result = await refreshIn(client, config.pgSchema, biSchema);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    }
  };
  return 'release' in db ? run(db) : withClient(db, run);
}

async function refreshIn(client: pg.PoolClient, rawSchema: string, biSchema: string): Promise<BiRefreshResult> {
  const ledger = await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [`${q(rawSchema)}.etl_bi_views`]);
  if (ledger.rows[0]?.t == null) return NOTHING(); // migrations not applied yet
  const defs = buildViewDefs(await readSource(client, rawSchema));
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${q(biSchema)}`);
  const built = new Map(
    (
      await client.query<{ view_name: string; fingerprint: string }>(
        `SELECT view_name, fingerprint FROM ${q(rawSchema)}.etl_bi_views WHERE bi_schema = $1`,
        [biSchema],
      )
    ).rows.map((r) => [r.view_name, r.fingerprint]),
  );
  const present = new Set(
    (
      await client.query<{ relname: string }>(
        `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'v'`,
        [biSchema],
      )
    ).rows.map((r) => r.relname),
  );
  const result = NOTHING();
  for (const view of defs) {
    const fingerprint = createHash('sha256').update(JSON.stringify(view)).digest('hex');
    if (present.has(view.name) && built.get(view.name) === fingerprint) {
      result.unchanged++;
      continue;
    }
    const blocked = await replaceView(client, biSchema, view);
    if (blocked !== null) {
      result.blocked.push(blocked);
      continue;
    }
    await client.query(
      `INSERT INTO ${q(rawSchema)}.etl_bi_views (bi_schema, view_name, fingerprint) VALUES ($1, $2, $3)
       ON CONFLICT (bi_schema, view_name) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, built_at = now()`,
      [biSchema, view.name, fingerprint],
    );
    result.rebuilt.push(view.name);
  }
  const wanted = new Set(defs.map((d) => d.name));
  for (const name of built.keys()) {
    if (wanted.has(name)) continue;
    const blocked = await dropView(client, biSchema, name);
    if (blocked !== null) {
      result.blocked.push(blocked);
      continue;
    }
    await client.query(`DELETE FROM ${q(rawSchema)}.etl_bi_views WHERE bi_schema = $1 AND view_name = $2`, [biSchema, name]);
    result.dropped.push(name);
  }
  return result;
}

/**
 * CREATE OR REPLACE keeps grants and dependent objects but only works when the new column list
 * extends the old one with the same names and types; otherwise the view is dropped and created
 * again (in the same transaction), and its grants given again. Null when done; else why not.
 */
async function replaceView(client: pg.PoolClient, biSchema: string, view: ViewDef): Promise<string | null> {
  const name = `${q(biSchema)}.${q(view.name)}`;
  await client.query('SAVEPOINT bi_view');
  try {
    await client.query(`CREATE OR REPLACE VIEW ${name} AS\n${view.sql}`);
    await client.query('RELEASE SAVEPOINT bi_view');
  } catch {
    await client.query('ROLLBACK TO SAVEPOINT bi_view');
    const grants = await grantsOf(client, name);
    const blocked = await dropView(client, biSchema, view.name);
    if (blocked !== null) return blocked;
    await client.query(`CREATE VIEW ${name} AS\n${view.sql}`);
    for (const grant of grants) await client.query(grant);
  }
  for (const sql of commentStatements(biSchema, view)) await client.query(sql);
  return null;
}

/**
 * Drops a view of ours; when objects of someone else depend on it, keeps it (an analyst's view must
 * not stop `migrate`, and so every worker, from starting) and says why.
 */
async function dropView(client: pg.PoolClient, biSchema: string, viewName: string): Promise<string | null> {
  await client.query('SAVEPOINT bi_drop');
  try {
    await client.query(`DROP VIEW IF EXISTS ${q(biSchema)}.${q(viewName)}`);
    await client.query('RELEASE SAVEPOINT bi_drop');
    return null;
  } catch (err) {
    await client.query('ROLLBACK TO SAVEPOINT bi_drop');
    return (
      `View ${biSchema}.${viewName} was kept as it is instead of rebuilt: ${(err as Error).message} ` +
      '(keep your own views in another schema, or drop them, and it is rebuilt on the next refresh).'
    );
  }
}

/** The report tables and entity tables that exist, with their existing columns. */
async function readSource(client: pg.PoolClient, rawSchema: string): Promise<BiSource> {
  const { rows: datasets } = await client.query<{ dataset_id: string; name: string; description: string | null; table_name: string }>(
    `SELECT dataset_id, name, description, table_name FROM ${q(rawSchema)}.etl_datasets ORDER BY dataset_id`,
  );
  const { rows } = await client.query<{
    table_name: string;
    column_name: string;
    data_type: string;
    attribute_id: string | null;
    label: string | null;
    position: number | null;
  }>(
    `SELECT c.table_name, c.column_name, c.data_type, a.attribute_id, a.name AS label, a.position
       FROM information_schema.columns c
       LEFT JOIN ${q(rawSchema)}.etl_datasets d ON d.table_name = c.table_name
       LEFT JOIN ${q(rawSchema)}.etl_attributes a ON a.dataset_id = d.dataset_id AND a.column_name = c.column_name
      WHERE c.table_schema = $1 AND c.table_name = ANY($2)
      ORDER BY c.table_name, a.position NULLS LAST, c.ordinal_position`,
    [rawSchema, [...datasets.map((d) => d.table_name), ...ENTITY_TABLES]],
  );
  const byTable = new Map<string, typeof rows>();
  for (const r of rows) byTable.set(r.table_name, [...(byTable.get(r.table_name) ?? []), r]);
  const reports: ReportTable[] = [];
  for (const d of datasets) {
    const cols = byTable.get(d.table_name);
    if (cols === undefined) continue; // the table does not exist (yet, or any more)
    const columns: SourceColumn[] = cols
      .filter((c) => c.attribute_id !== null || c.column_name === '_loaded_at')
      .map((c) => ({ columnName: c.column_name, attributeId: c.attribute_id, label: c.label, dataType: c.data_type }));
    if (columns.some((c) => c.attributeId !== null)) {
      reports.push({ datasetId: d.dataset_id, name: d.name, description: d.description, tableName: d.table_name, columns });
    }
  }
  const entities = new Map(ENTITY_TABLES.filter((t) => byTable.has(t)).map((t) => [t, byTable.get(t)!.map((c) => c.column_name)]));
  return { rawSchema, reports, entities };
}

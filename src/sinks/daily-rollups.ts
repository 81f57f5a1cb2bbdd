import type pg from 'pg';
import { quoteIdent, quoteLiteral, withClient, withTransaction } from '../db/pool.js';
import { rollupRefreshDuration, rollupRefreshes } from '../metrics.js';
import { redactSecrets } from '../redact.js';
import { reportTableLockKey } from './report-catalogue.js';
import { rollupDefinitions, type RollupDefinition } from './rollup-definition.js';

/** Where the rollups go and how their days are cut. */
export interface RollupSettings {
  /** PG_SCHEMA: the report tables and the bookkeeping (etl_rollups). */
  schema: string;
  /** ETL_BI_SCHEMA: the materialized views. */
  biSchema: string;
  /** ETL_ROLLUP_TIMEZONE: `workspace` (the recorded `/me` zone, UTC before one is known) or an IANA zone. */
  timezone: 'workspace' | string;
}

export interface EnsureResult {
  created: string[];
  kept: number;
  dropped: string[];
  /** One sentence per dataset whose view could not be made (the others are made all the same). */
  errors: string[];
}

export interface RefreshResult {
  datasetId: string;
  view: string;
  ms: number;
  concurrently: boolean;
  error: string | null;
}

/** Serialises the creation and refreshes of one dataset's rollup, across processes. */
function rollupLockKey(schema: string, datasetId: string): string {
  return `intercom-etl:rollup:${schema}:${datasetId}`;
}

/**
 * Called in every window's load transaction: the dataset has rows its rollup does not hold yet.
 * One small row update per window; the refresh itself is batched elsewhere.
 */
export async function markRollupDirty(client: pg.PoolClient, datasetId: string): Promise<void> {
  await client.query(
    `INSERT INTO etl_rollups (dataset_id, load_seq, dirty_since) VALUES ($1, 1, now())
     ON CONFLICT (dataset_id) DO UPDATE SET load_seq = etl_rollups.load_seq + 1,
       dirty_since = COALESCE(etl_rollups.dirty_since, now())`,
    [datasetId],
  );
}

/** Records the workspace's zone (from `/me`) so that commands without a token cut days the same way. */
export async function recordWorkspaceZone(db: pg.Pool, workspaceId: string, timezone: string): Promise<void> {
  await db.query(
    `INSERT INTO etl_workspace (workspace_id, timezone) VALUES ($1, $2)
     ON CONFLICT (singleton) DO UPDATE SET workspace_id = EXCLUDED.workspace_id, timezone = EXCLUDED.timezone, updated_at = now()
       WHERE (etl_workspace.workspace_id, etl_workspace.timezone) IS DISTINCT FROM (EXCLUDED.workspace_id, EXCLUDED.timezone)`,
    [workspaceId, timezone],
  );
}

/** The zone rollup days are cut in, as configured and recorded. */
export async function rollupDayZone(db: pg.Pool | pg.PoolClient, settings: RollupSettings): Promise<string> {
  if (settings.timezone !== 'workspace') return settings.timezone;
  const { rows } = await db.query<{ timezone: string }>('SELECT timezone FROM etl_workspace');
  return rows[0]?.timezone ?? 'UTC';
}

/**
 * Creates the BI schema and one materialized view per dataset, and keeps them matching the
 * catalogue: a view whose definition changed (a new duration attribute, a column widened to text,
 * another zone) is dropped and created again, with its data; a dataset that lost its table or
 * time column loses its view. Cheap when nothing changed (one catalogue query): the table locks
 * are only taken for views that must be (re)made. A failure on one dataset does not stop the others.
 */
export async function ensureDailyRollups(pool: pg.Pool, settings: RollupSettings): Promise<EnsureResult> {
  const zone = await rollupDayZone(pool, settings);
  const defs = await rollupDefinitions(pool, settings.schema, zone);
  const state = await pool.query<{ dataset_id: string; view_schema: string; definition_hash: string | null; exists: boolean }>(
    `SELECT dataset_id, view_schema, definition_hash,
            to_regclass(quote_ident(view_schema) || '.' || quote_ident(view_name)) IS NOT NULL AS exists
       FROM etl_rollups WHERE view_name IS NOT NULL`,
  );
  const current = new Map(state.rows.map((r) => [r.dataset_id, r]));
  const result: EnsureResult = { created: [], kept: 0, dropped: [], errors: [] };
  const todo = defs.filter(({ datasetId, definition }) => {
    const s = current.get(datasetId);
    // Another ETL_BI_SCHEMA moves the view: made in the new schema, dropped from the old.
    const upToDate = definition ? s?.exists && s.definition_hash === definition.hash && s.view_schema === settings.biSchema : !s;
    if (upToDate) result.kept++;
    return !upToDate;
  });
  if (todo.length === 0) return result;
  await withTransaction(pool, async (client) => {
    // Two processes creating the schema at once would collide.
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`intercom-etl:bi-schema:${settings.biSchema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(settings.biSchema)}`);
  });
  for (const { datasetId } of todo) {
    try {
      const outcome = await remakeRollup(pool, settings, zone, datasetId);
      if (outcome === 'created') result.created.push(datasetId);
      else if (outcome === 'dropped') result.dropped.push(datasetId);
      else result.kept++;
    } catch (err) {
      result.errors.push(`daily rollup of dataset ${datasetId}: ${redactSecrets((err as Error).message)}`);
    }
  }
  return result;
}

/** (Re)creates one dataset's view under its table's lock (no load, no widening meanwhile). */
async function remakeRollup(
  pool: pg.Pool,
  settings: RollupSettings,
  zone: string,
  datasetId: string,
): Promise<'created' | 'dropped' | 'kept'> {
  return withTransaction(pool, async (client) => {
    const table = await client.query<{ table_name: string }>('SELECT table_name FROM etl_datasets WHERE dataset_id = $1', [datasetId]);
    if (table.rows[0]) {
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
        reportTableLockKey(settings.schema, table.rows[0].table_name),
      ]);
    }
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [rollupLockKey(settings.schema, datasetId)]);
    // Read again under the locks: another process may have done it, or a column changed.
    const def = (await rollupDefinitions(client, settings.schema, zone)).find((d) => d.datasetId === datasetId)?.definition ?? null;
    const prior = await client.query<{ view_schema: string; definition_hash: string | null; exists: boolean }>(
      `SELECT view_schema, definition_hash, to_regclass(quote_ident(view_schema) || '.' || quote_ident(view_name)) IS NOT NULL AS exists
         FROM etl_rollups WHERE dataset_id = $1 AND view_name IS NOT NULL`,
      [datasetId],
    );
    const p = prior.rows[0];
    if (def && p?.exists && p.definition_hash === def.hash && p.view_schema === settings.biSchema) return 'kept';
    await dropRollupView(client, datasetId);
    if (!def) return p ? 'dropped' : 'kept';
    await createView(client, settings.biSchema, def);
    return 'created';
  });
}

async function createView(client: pg.PoolClient, biSchema: string, def: RollupDefinition): Promise<void> {
  const view = `${quoteIdent(biSchema)}.${quoteIdent(def.viewName)}`;
  const started = Date.now();
  await client.query(`DROP MATERIALIZED VIEW IF EXISTS ${view}`);
  await client.query(`CREATE MATERIALIZED VIEW ${view} AS\n${def.select}\nWITH DATA`);
  // REFRESH … CONCURRENTLY needs a unique index on plain columns covering every row; this one
  // also serves the dashboards' lookups (one breakdown, one value, a range of days).
  await client.query(`CREATE UNIQUE INDEX ${quoteIdent(`${def.viewName.slice(0, 55)}_key`)} ON ${view} (dimension, value, day)`);
  const dims = def.dimensions.map((d) => `${d.dimension} (${d.column})`).join(', ') || 'none';
  await client.query(
    `COMMENT ON MATERIALIZED VIEW ${view} IS ${quoteLiteral(
      `Daily rollup of ${def.tableName} by day (${def.timeColumn} in ${def.dayZone}). One row per day with dimension = 'all', ` +
        `and one per day and value of each breakdown: ${dims}. Durations in seconds. Refreshed by intercom-etl after loads.`,
    )}`,
  );
  // Loads are held off by the table lock: the view holds every loaded row.
  await client.query(
    `INSERT INTO etl_rollups (dataset_id, view_schema, view_name, definition_hash, created_at, refreshed_at, refresh_ms)
     VALUES ($1, $2, $3, $4, now(), now(), $5)
     ON CONFLICT (dataset_id) DO UPDATE SET view_schema = EXCLUDED.view_schema, view_name = EXCLUDED.view_name,
       definition_hash = EXCLUDED.definition_hash, created_at = now(), refreshed_at = now(), refresh_ms = EXCLUDED.refresh_ms,
       refreshed_seq = etl_rollups.load_seq, dirty_since = NULL, last_error = NULL`,
    [def.datasetId, biSchema, def.viewName, def.hash, Date.now() - started],
  );
}

/**
 * Drops a dataset's view, if it has one. Called before a report column changes type (a view
 * depending on a column blocks ALTER COLUMN … TYPE); the next ensure makes it again.
 */
export async function dropRollupView(client: pg.PoolClient, datasetId: string): Promise<void> {
  const { rows } = await client.query<{ view_schema: string; view_name: string }>(
    'SELECT view_schema, view_name FROM etl_rollups WHERE dataset_id = $1 AND view_name IS NOT NULL',
    [datasetId],
  );
  const v = rows[0];
  if (!v) return;
  await client.query(`DROP MATERIALIZED VIEW IF EXISTS ${quoteIdent(v.view_schema)}.${quoteIdent(v.view_name)}`);
  await client.query(`UPDATE etl_rollups SET view_schema = NULL, view_name = NULL, definition_hash = NULL WHERE dataset_id = $1`, [
    datasetId,
  ]);
}

/**
 * Refreshes the views of datasets loaded since their last refresh (or every view with `all`),
 * one dataset at a time, each `REFRESH MATERIALIZED VIEW CONCURRENTLY` (dashboards keep reading the
 * old rows meanwhile; loads go on). Safe from any number of processes: a per-dataset advisory lock
 * serialises refreshes, and a dataset refreshed while waiting for the lock is skipped. A load that
 * commits during a refresh leaves the dataset dirty for the next one (at least once).
 */
export async function refreshDailyRollups(
  pool: pg.Pool,
  settings: RollupSettings,
  options: { datasetIds?: string[]; all?: boolean; signal?: AbortSignal } = {},
): Promise<RefreshResult[]> {
  const { rows } = await pool.query<{ dataset_id: string }>(
    `SELECT dataset_id FROM etl_rollups
      WHERE view_name IS NOT NULL AND ($1 OR load_seq > refreshed_seq) AND ($2::text[] IS NULL OR dataset_id = ANY ($2))
      ORDER BY dataset_id`,
    [options.all ?? false, options.datasetIds ?? null],
  );
  const results: RefreshResult[] = [];
  for (const { dataset_id: datasetId } of rows) {
    // A shutting-down worker stops between views; the ones left stay dirty for the next refresh.
    if (options.signal?.aborted) break;
    const r = await refreshOne(pool, settings, datasetId, options.all ?? false);
    if (r) results.push(r);
  }
  return results;
}

async function refreshOne(pool: pg.Pool, settings: RollupSettings, datasetId: string, all: boolean): Promise<RefreshResult | null> {
  return withClient(pool, async (client) => {
    const key = rollupLockKey(settings.schema, datasetId);
    await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [key]);
    let view = '';
    const started = Date.now();
    let concurrently = true;
    try {
      // Read after taking the lock and before the refresh's snapshot: every load counted in
      // `seq` has committed, so the refresh sees its rows.
      const { rows } = await client.query<{ seq: string; dirty: boolean; view_schema: string | null; view_name: string | null }>(
        `SELECT load_seq AS seq, load_seq > refreshed_seq AS dirty, view_schema, view_name FROM etl_rollups WHERE dataset_id = $1`,
        [datasetId],
      );
      const s = rows[0];
      if (!s?.view_name || !s.view_schema || (!s.dirty && !all)) return null;
      view = `${quoteIdent(s.view_schema)}.${quoteIdent(s.view_name)}`;
      const populated = await client.query<{ ispopulated: boolean }>(
        'SELECT ispopulated FROM pg_matviews WHERE schemaname = $1 AND matviewname = $2',
        [s.view_schema, s.view_name],
      );
      // CONCURRENTLY needs a populated view (a view restored WITH NO DATA is not).
      concurrently = populated.rows[0]?.ispopulated ?? true;
      await client.query(`REFRESH MATERIALIZED VIEW ${concurrently ? 'CONCURRENTLY ' : ''}${view}`);
      const ms = Date.now() - started;
      await client.query(
        `UPDATE etl_rollups SET refreshed_seq = GREATEST(refreshed_seq, $2), refreshed_at = now(), refresh_ms = $3,
                refresh_count = refresh_count + 1, last_error = NULL,
                dirty_since = CASE WHEN load_seq > GREATEST(refreshed_seq, $2) THEN dirty_since ELSE NULL END
          WHERE dataset_id = $1`,
        [datasetId, s.seq, ms],
      );
      rollupRefreshes.inc({ dataset: datasetId, outcome: 'refreshed' });
      rollupRefreshDuration.observe({ dataset: datasetId }, ms / 1000);
      return { datasetId, view: `${s.view_schema}.${s.view_name}`, ms, concurrently, error: null };
    } catch (err) {
      const error = redactSecrets((err as Error).message);
      rollupRefreshes.inc({ dataset: datasetId, outcome: 'failed' });
      await client.query('UPDATE etl_rollups SET last_error = $2 WHERE dataset_id = $1', [datasetId, error]).catch(() => {});
      return { datasetId, view, ms: Date.now() - started, concurrently, error };
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key]).catch(() => {});
    }
  });
}

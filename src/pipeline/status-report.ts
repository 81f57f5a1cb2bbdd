import type pg from 'pg';

export interface DatasetStatus {
  datasetId: string;
  tableName: string;
  windowsLoaded: number;
  windowsPending: number;
  windowsFailed: number;
  lastLoadedAt: Date | null;
  /** Latest end of a loaded window: data is complete up to here (if no gaps). */
  loadedThrough: Date | null;
  /**
   * Rows in its table, without scanning it: Postgres's estimate (`pg_class.reltuples`, kept by
   * ANALYZE/autovacuum), or — before the table was ever analyzed — the sum of the ledger's
   * `rows_loaded` over loaded windows. `rowsSource` says which.
   */
  rows: number;
  rowsSource: 'estimate' | 'ledger';
  lastError: string | null;
  /** Zone the CSV timestamps were found in (or configured); null while not yet detected. */
  timestampZone: string | null;
  timestampZoneSource: 'detected' | 'configured' | null;
  /** Loaded windows whose rows fit no candidate zone, and the latest such flag. */
  windowsFlagged: number;
  lastFlag: string | null;
  /** Its daily rollup (ETL_BI_SCHEMA); null while it has none. */
  rollup: RollupStatus | null;
}

export interface RollupStatus {
  /** `schema.view`. */
  view: string;
  refreshedAt: Date | null;
  /** Window loads committed since the data the view holds (0: current). */
  loadsSinceRefresh: number;
  /** Why the last refresh failed; null when it did not. */
  lastError: string | null;
}

/** Per dataset: windows loaded / pending / failed, last load, rows in its table (estimated). */
export async function reportStatus(pool: pg.Pool, configuredZone = 'auto'): Promise<DatasetStatus[]> {
  const { rows } = await pool.query<{
    dataset_id: string;
    table_name: string;
    loaded: string;
    pending: string;
    failed: string;
    last_loaded_at: Date | null;
    loaded_through: Date | null;
    last_error: string | null;
    timestamp_zone: string | null;
    timestamp_zone_source: 'detected' | 'configured' | null;
    flagged: string;
    last_flag: string | null;
    reltuples: number | null;
    ledger_rows: string | null;
    view_schema: string | null;
    view_name: string | null;
    refreshed_at: Date | null;
    behind: string | null;
    rollup_error: string | null;
  }>(
    `SELECT d.dataset_id, d.table_name, d.timestamp_zone, d.timestamp_zone_source, r.view_schema, r.view_name, r.refreshed_at,
            r.load_seq - r.refreshed_seq AS behind, r.last_error AS rollup_error,
            count(*) FILTER (WHERE w.status = 'loaded' AND w.timestamp_check = 'no_fit') AS flagged,
            (array_agg(w.window_start::text || ': ' || w.timestamp_flag ORDER BY w.window_start DESC)
               FILTER (WHERE w.status = 'loaded' AND w.timestamp_check = 'no_fit'))[1] AS last_flag,
            count(*) FILTER (WHERE w.status = 'loaded') AS loaded,
            count(*) FILTER (WHERE w.status IN ('queued', 'exporting', 'loading')) AS pending,
            count(*) FILTER (WHERE w.status = 'failed') AS failed,
            max(w.loaded_at) AS last_loaded_at,
            max(w.window_end) FILTER (WHERE w.status = 'loaded') AS loaded_through,
            (array_agg(w.error ORDER BY w.updated_at DESC) FILTER (WHERE w.status = 'failed'))[1] AS last_error,
            sum(w.rows_loaded) FILTER (WHERE w.status = 'loaded') AS ledger_rows,
            (SELECT c.reltuples FROM pg_class c WHERE c.oid = to_regclass(quote_ident(d.table_name))) AS reltuples
       FROM etl_datasets d LEFT JOIN etl_rollups r USING (dataset_id) LEFT JOIN etl_export_windows w USING (dataset_id)
      GROUP BY d.dataset_id, d.table_name, d.timestamp_zone, d.timestamp_zone_source,
               r.view_schema, r.view_name, r.refreshed_at, r.load_seq, r.refreshed_seq, r.last_error
      ORDER BY d.dataset_id`,
  );
  const out: DatasetStatus[] = [];
  for (const r of rows) {
    // reltuples is -1 until the table was first analyzed (Postgres 14+).
    const estimated = r.reltuples !== null && r.reltuples >= 0;
    out.push({
      datasetId: r.dataset_id,
      tableName: r.table_name,
      windowsLoaded: Number(r.loaded),
      windowsPending: Number(r.pending),
      windowsFailed: Number(r.failed),
      lastLoadedAt: r.last_loaded_at,
      loadedThrough: r.loaded_through,
      rows: estimated ? Math.round(r.reltuples!) : Number(r.ledger_rows ?? 0),
      rowsSource: estimated ? 'estimate' : 'ledger',
      lastError: r.last_error,
      ...(configuredZone === 'auto'
        ? { timestampZone: r.timestamp_zone, timestampZoneSource: r.timestamp_zone_source }
        : { timestampZone: configuredZone, timestampZoneSource: 'configured' as const }),
      windowsFlagged: Number(r.flagged),
      lastFlag: r.last_flag,
      rollup:
        r.view_name && r.view_schema
          ? {
              view: `${r.view_schema}.${r.view_name}`,
              refreshedAt: r.refreshed_at,
              loadsSinceRefresh: Number(r.behind ?? 0),
              lastError: r.rollup_error,
            }
          : null,
    });
  }
  return out;
}

export interface EntityStatus {
  stream: 'companies' | 'tickets';
  lastCompletedAt: Date | null;
  lastRunRows: number | null;
  /** running, completed, failed, refused (too many deletions: nothing changed) or interrupted (shutdown). */
  lastRunStatus: string | null;
  /** Why the latest run that did not complete ended (failed, refused or interrupted). */
  lastError: string | null;
  /** Rows in the table (companies: live and deleted), Postgres's estimate (`pg_class.reltuples`); null before its first ANALYZE. */
  rows: number | null;
  /** Companies marked deleted by the last completed run (tickets: null). */
  deleted: number | null;
  /** Tickets: updated_at watermark of the last completed run. */
  watermark: Date | null;
}

/** Per entity stream: last completed run, rows (estimated), deleted count, watermark. */
export async function entityStatus(pool: pg.Pool): Promise<EntityStatus[]> {
  const { rows } = await pool.query<{
    stream: 'companies' | 'tickets';
    last_completed_at: Date | null;
    last_rows: string | null;
    last_status: string | null;
    last_error: string | null;
    watermark: Date | null;
    reltuples: number | null;
    last_deleted: string | null;
  }>(
    `SELECT s.stream,
            (SELECT c.reltuples FROM pg_class c WHERE c.oid = to_regclass(s.stream)) AS reltuples,
            (SELECT rows_deleted FROM etl_sync_runs r WHERE r.stream = s.stream AND r.status = 'completed' ORDER BY finished_at DESC LIMIT 1) AS last_deleted,
            (SELECT max(finished_at) FROM etl_sync_runs r WHERE r.stream = s.stream AND r.status = 'completed') AS last_completed_at,
            (SELECT rows_fetched FROM etl_sync_runs r WHERE r.stream = s.stream AND r.status = 'completed' ORDER BY finished_at DESC LIMIT 1) AS last_rows,
            (SELECT status FROM etl_sync_runs r WHERE r.stream = s.stream ORDER BY started_at DESC LIMIT 1) AS last_status,
            (SELECT error FROM etl_sync_runs r WHERE r.stream = s.stream AND r.status IN ('failed', 'refused', 'interrupted')
              ORDER BY started_at DESC LIMIT 1) AS last_error,
            (SELECT watermark FROM etl_sync_state w WHERE w.stream = s.stream) AS watermark
       FROM (VALUES ('companies'), ('tickets')) AS s(stream)`,
  );
  return rows.map((r) => ({
    stream: r.stream,
    lastCompletedAt: r.last_completed_at,
    lastRunRows: r.last_rows === null ? null : Number(r.last_rows),
    lastRunStatus: r.last_status,
    lastError: r.last_error,
    rows: r.reltuples !== null && r.reltuples >= 0 ? Math.round(r.reltuples) : null,
    deleted: r.stream === 'companies' && r.last_deleted !== null ? Number(r.last_deleted) : null,
    watermark: r.stream === 'tickets' ? r.watermark : null,
  }));
}

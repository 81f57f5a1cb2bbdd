import type pg from 'pg';
import { quoteIdent } from '../db/pool.js';

export interface DatasetStatus {
  datasetId: string;
  tableName: string;
  windowsLoaded: number;
  windowsPending: number;
  windowsFailed: number;
  lastLoadedAt: Date | null;
  /** Latest end of a loaded window: data is complete up to here (if no gaps). */
  loadedThrough: Date | null;
  rows: number;
  lastError: string | null;
  /** Zone the CSV timestamps were found in (or configured); null while not yet detected. */
  timestampZone: string | null;
  timestampZoneSource: 'detected' | 'configured' | null;
  /** Loaded windows whose rows fit no candidate zone, and the latest such flag. */
  windowsFlagged: number;
  lastFlag: string | null;
}

/** Per dataset: windows loaded / pending / failed, last load, rows in its table. */
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
  }>(
    `SELECT d.dataset_id, d.table_name, d.timestamp_zone, d.timestamp_zone_source,
            count(*) FILTER (WHERE w.status = 'loaded' AND w.timestamp_check = 'no_fit') AS flagged,
            (array_agg(w.window_start::text || ': ' || w.timestamp_flag ORDER BY w.window_start DESC)
               FILTER (WHERE w.status = 'loaded' AND w.timestamp_check = 'no_fit'))[1] AS last_flag,
            count(*) FILTER (WHERE w.status = 'loaded') AS loaded,
            count(*) FILTER (WHERE w.status IN ('queued', 'exporting', 'loading')) AS pending,
            count(*) FILTER (WHERE w.status = 'failed') AS failed,
            max(w.loaded_at) AS last_loaded_at,
            max(w.window_end) FILTER (WHERE w.status = 'loaded') AS loaded_through,
            (array_agg(w.error ORDER BY w.updated_at DESC) FILTER (WHERE w.status = 'failed'))[1] AS last_error
       FROM etl_datasets d LEFT JOIN etl_export_windows w USING (dataset_id)
      GROUP BY d.dataset_id, d.table_name, d.timestamp_zone, d.timestamp_zone_source ORDER BY d.dataset_id`,
  );
  const out: DatasetStatus[] = [];
  for (const r of rows) {
    const count = await pool
      .query<{ n: string }>(`SELECT count(*) AS n FROM ${quoteIdent(r.table_name)}`)
      .catch(() => ({ rows: [{ n: '0' }] }));
    out.push({
      datasetId: r.dataset_id,
      tableName: r.table_name,
      windowsLoaded: Number(r.loaded),
      windowsPending: Number(r.pending),
      windowsFailed: Number(r.failed),
      lastLoadedAt: r.last_loaded_at,
      loadedThrough: r.loaded_through,
      rows: Number(count.rows[0]?.n ?? 0),
      lastError: r.last_error,
      ...(configuredZone === 'auto'
        ? { timestampZone: r.timestamp_zone, timestampZoneSource: r.timestamp_zone_source }
        : { timestampZone: configuredZone, timestampZoneSource: 'configured' as const }),
      windowsFlagged: Number(r.flagged),
      lastFlag: r.last_flag,
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
  /** Rows in the table (companies: live ones). */
  rows: number;
  /** Companies marked deleted. */
  deleted: number | null;
  /** Tickets: updated_at watermark of the last completed run. */
  watermark: Date | null;
}

/** Per entity stream: last completed run, rows, deleted count, watermark. */
export async function entityStatus(pool: pg.Pool): Promise<EntityStatus[]> {
  const { rows } = await pool.query<{
    stream: 'companies' | 'tickets';
    last_completed_at: Date | null;
    last_rows: string | null;
    last_status: string | null;
    last_error: string | null;
    watermark: Date | null;
  }>(
    `SELECT s.stream,
            (SELECT max(finished_at) FROM etl_sync_runs r WHERE r.stream = s.stream AND r.status = 'completed') AS last_completed_at,
            (SELECT rows_fetched FROM etl_sync_runs r WHERE r.stream = s.stream AND r.status = 'completed' ORDER BY finished_at DESC LIMIT 1) AS last_rows,
            (SELECT status FROM etl_sync_runs r WHERE r.stream = s.stream ORDER BY started_at DESC LIMIT 1) AS last_status,
            (SELECT error FROM etl_sync_runs r WHERE r.stream = s.stream AND r.status IN ('failed', 'refused', 'interrupted')
              ORDER BY started_at DESC LIMIT 1) AS last_error,
            (SELECT watermark FROM etl_sync_state w WHERE w.stream = s.stream) AS watermark
       FROM (VALUES ('companies'), ('tickets')) AS s(stream)`,
  );
  const counts = await pool.query<{ companies: string; deleted: string; tickets: string }>(
    `SELECT (SELECT count(*) FROM companies WHERE _deleted_at IS NULL) AS companies,
            (SELECT count(*) FROM companies WHERE _deleted_at IS NOT NULL) AS deleted,
            (SELECT count(*) FROM tickets) AS tickets`,
  );
  const c = counts.rows[0]!;
  return rows.map((r) => ({
    stream: r.stream,
    lastCompletedAt: r.last_completed_at,
    lastRunRows: r.last_rows === null ? null : Number(r.last_rows),
    lastRunStatus: r.last_status,
    lastError: r.last_error,
    rows: Number(r.stream === 'companies' ? c.companies : c.tickets),
    deleted: r.stream === 'companies' ? Number(c.deleted) : null,
    watermark: r.stream === 'tickets' ? r.watermark : null,
  }));
}

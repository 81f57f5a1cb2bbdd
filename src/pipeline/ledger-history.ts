import type pg from 'pg';
import type { TimeWindow } from './time-windows.js';
import type { KnownWindow } from './window-coverage.js';
import type { WindowStatus } from './export-ledger.js';

/**
 * What the export ledger says about a dataset's past — which windows hold rows, how dense the data
 * is, how long exports took — read by the planner, `--dry-run` and the poll timing. Read-only; the
 * ledger's writes stay in export-ledger.ts (which re-exports these).
 */

type Db = pg.Pool | pg.PoolClient;

/**
 * The span of the windows overlapping `range` that were loaded (their rows may be in the table)
 * without their rows' zone being confirmed (`timestamp_check` not `fits`/`empty`: ambiguous, no
 * fit, or loaded before zones were checked); null if none.
 */
export async function untrustedLoadedWindowsSpan(db: Db, datasetId: string, range: TimeWindow): Promise<TimeWindow | null> {
  const { rows } = await db.query<{ start: Date | null; end: Date | null }>(
    `SELECT min(window_start) AS start, max(window_end) AS end FROM etl_export_windows
      WHERE dataset_id = $1 AND loaded_at IS NOT NULL AND window_start < $3 AND window_end > $2
        AND timestamp_check IS DISTINCT FROM 'fits' AND timestamp_check IS DISTINCT FROM 'empty'`,
    [datasetId, new Date(range.start), new Date(range.end)],
  );
  const r = rows[0];
  return r?.start && r.end ? { start: r.start.getTime(), end: r.end.getTime() } : null;
}

/** Every window of the dataset overlapping `range`, whatever its layout, with what coverage needs. */
export async function windowsOverlapping(db: Db, datasetId: string, range: TimeWindow): Promise<KnownWindow[]> {
  const { rows } = await db.query<{ window_start: Date; window_end: Date; status: WindowStatus; ever_loaded: boolean }>(
    `SELECT window_start, window_end, status, loaded_at IS NOT NULL AS ever_loaded FROM etl_export_windows
      WHERE dataset_id = $1 AND window_start < $3 AND window_end > $2`,
    [datasetId, new Date(range.start), new Date(range.end)],
  );
  return rows.map((r) => ({
    window: { start: r.window_start.getTime(), end: r.window_end.getTime() },
    status: r.status,
    everLoaded: r.ever_loaded,
  }));
}

/** Rows per day the dataset's latest loaded windows held (up to 100 of them); null with no history. */
export async function observedRowsPerDay(db: Db, datasetId: string): Promise<number | null> {
  const { rows } = await db.query<{ per_day: number | null }>(
    `SELECT sum(rows_loaded)::float8 / nullif(sum(extract(epoch FROM window_end - window_start)) / 86400, 0) AS per_day
       FROM (SELECT rows_loaded, window_start, window_end FROM etl_export_windows
              WHERE dataset_id = $1 AND status = 'loaded' AND rows_loaded IS NOT NULL
              ORDER BY window_end DESC LIMIT 100) AS latest`,
    [datasetId],
  );
  return rows[0]?.per_day ?? null;
}

/** How long the dataset's exports took, enqueue to loaded, over its latest loaded windows (up to 200). */
export interface ExportTimings {
  samples: number;
  meanMs: number;
}

export async function exportTimings(db: Db, datasetId: string): Promise<ExportTimings> {
  const { rows } = await db.query<{ samples: string; mean_ms: number | null }>(
    `SELECT count(*) AS samples, avg(extract(epoch FROM loaded_at - enqueued_at) * 1000)::float8 AS mean_ms
       FROM (SELECT enqueued_at, loaded_at FROM etl_export_windows
              WHERE dataset_id = $1 AND status = 'loaded' AND enqueued_at IS NOT NULL AND loaded_at >= enqueued_at
              ORDER BY loaded_at DESC LIMIT 200) AS latest`,
    [datasetId],
  );
  return { samples: Number(rows[0]?.samples ?? 0), meanMs: rows[0]?.mean_ms ?? 0 };
}

/** End of the latest window ever loaded; null when none was. */
export async function lastLoadedEnd(db: Db, datasetId: string): Promise<number | null> {
  const { rows } = await db.query<{ last_end: Date | null }>(
    `SELECT max(window_end) AS last_end FROM etl_export_windows WHERE dataset_id = $1 AND loaded_at IS NOT NULL`,
    [datasetId],
  );
  return rows[0]?.last_end?.getTime() ?? null;
}

/**
 * How long exports of a dataset took lately (enqueued_at → exported_at of its last loaded windows,
 * per day of window, ms), for polling near the expected finish; null without history.
 */
export async function recentExportDurations(db: Db, datasetId: string, limit = 20): Promise<Array<{ ms: number; windowMs: number }>> {
  const { rows } = await db.query<{ ms: number; window_ms: number }>(
    `SELECT extract(epoch FROM exported_at - enqueued_at) * 1000 AS ms, extract(epoch FROM window_end - window_start) * 1000 AS window_ms
       FROM etl_export_windows
      WHERE dataset_id = $1 AND exported_at IS NOT NULL AND enqueued_at IS NOT NULL AND exported_at >= enqueued_at
      ORDER BY exported_at DESC LIMIT $2`,
    [datasetId, limit],
  );
  return rows.map((r) => ({ ms: Number(r.ms), windowMs: Number(r.window_ms) }));
}

/**
 * The quickest recent export of any other dataset (ms per ms of window, among the last `limit`
 * exports of this ledger), or null: where a dataset without history starts polling its first exports.
 */
export async function quickestOtherExport(db: Db, datasetId: string, limit = 50): Promise<number | null> {
  const { rows } = await db.query<{ per: number | null }>(
    `SELECT min(per) AS per FROM (
       SELECT extract(epoch FROM exported_at - enqueued_at) / nullif(extract(epoch FROM window_end - window_start), 0) AS per
         FROM etl_export_windows
        WHERE dataset_id <> $1 AND exported_at IS NOT NULL AND enqueued_at IS NOT NULL AND exported_at >= enqueued_at
        ORDER BY exported_at DESC LIMIT $2) recent`,
    [datasetId, limit],
  );
  const per = rows[0]?.per;
  return per === null || per === undefined ? null : Number(per);
}

import type pg from 'pg';
import { redactSecrets } from '../redact.js';
import { windowsFinished } from '../metrics.js';
import { compactIso, type TimeWindow } from './time-windows.js';
import type { KnownWindow } from './window-coverage.js';

/**
 * The export ledger (`etl_export_windows`): one row per (dataset, window). BullMQ jobs carry only
 * the key; everything a re-run or a restarted worker needs to resume (the Intercom job id above
 * all) lives here, written before it is acted on.
 */

export type WindowStatus = 'queued' | 'exporting' | 'loading' | 'loaded' | 'failed';
export const TERMINAL_STATUSES: readonly WindowStatus[] = ['loaded', 'failed'];

/** How a window's rows fit it in the zone they were read in (see src/pipeline/timestamp-zones.ts). */
export type TimestampCheck = 'fits' | 'ambiguous' | 'no_fit' | 'empty';

export interface WindowKey {
  datasetId: string;
  window: TimeWindow;
}

export interface LedgerRow extends WindowKey {
  status: WindowStatus;
  attributeIds: string[];
  intercomJobId: string | null;
  intercomStatus: string | null;
  enqueueCount: number;
  exportFailures: number;
  attempts: number;
  /** Times the reconciler queued the window again after its job was lost. */
  requeues: number;
  rowsLoaded: number | null;
  bytesDownloaded: number | null;
  requestedAt: Date;
  enqueuedAt: Date | null;
  loadedAt: Date | null;
  error: string | null;
}

type Db = pg.Pool | pg.PoolClient;

/**
 * The BullMQ job id of a window: deterministic, so a window is never queued twice at once, and
 * one-to-one, so two datasets never share one. BullMQ ids cannot contain ':'; percent-encoding
 * (reversible, so injective) turns `a:b` into `a%3Ab` and leaves `a_b` (and every plain id) as it is.
 */
export function windowJobId(key: WindowKey): string {
  return `export-${encodeURIComponent(key.datasetId)}-${compactIso(key.window.start)}-${compactIso(key.window.end)}`;
}

const KEY_WHERE = 'dataset_id = $1 AND window_start = $2 AND window_end = $3';
const keyParams = (k: WindowKey): unknown[] => [k.datasetId, new Date(k.window.start), new Date(k.window.end)];

interface DbRow {
  dataset_id: string;
  window_start: Date;
  window_end: Date;
  status: WindowStatus;
  attribute_ids: string[] | null;
  intercom_job_id: string | null;
  intercom_status: string | null;
  enqueue_count: number;
  export_failures: number;
  attempts: number;
  requeues: number;
  rows_loaded: string | null;
  bytes_downloaded: string | null;
  requested_at: Date;
  enqueued_at: Date | null;
  loaded_at: Date | null;
  error: string | null;
}

function fromDb(r: DbRow): LedgerRow {
  return {
    datasetId: r.dataset_id,
    window: { start: r.window_start.getTime(), end: r.window_end.getTime() },
    status: r.status,
    attributeIds: r.attribute_ids ?? [],
    intercomJobId: r.intercom_job_id,
    intercomStatus: r.intercom_status,
    enqueueCount: r.enqueue_count,
    exportFailures: r.export_failures,
    attempts: r.attempts,
    requeues: r.requeues,
    rowsLoaded: r.rows_loaded === null ? null : Number(r.rows_loaded),
    bytesDownloaded: r.bytes_downloaded === null ? null : Number(r.bytes_downloaded),
    requestedAt: r.requested_at,
    enqueuedAt: r.enqueued_at,
    loadedAt: r.loaded_at,
    error: r.error,
  };
}

/**
 * Records windows to export. A window that is finished (`loaded`, or `failed`) is reset to `queued`
 * with the new attribute set; with `onlyMissing`, loaded windows are left alone. A window already
 * in flight is left as it is (its BullMQ job is still running). Returns every window's row.
 */
export async function planWindows(
  db: Db,
  datasetId: string,
  windows: TimeWindow[],
  attributeIds: string[],
  attributeSetHash: string,
  onlyMissing: boolean,
): Promise<LedgerRow[]> {
  if (windows.length === 0) return [];
  const resettable = onlyMissing ? `('failed')` : `('loaded', 'failed')`;
  const { rows } = await db.query<DbRow>(
    `INSERT INTO etl_export_windows AS w (dataset_id, window_start, window_end, status, attribute_ids, attribute_set_hash)
     SELECT $1, s, e, 'queued', $4, $5 FROM unnest($2::timestamptz[], $3::timestamptz[]) AS t(s, e)
     ON CONFLICT (dataset_id, window_start, window_end) DO UPDATE
       SET status = 'queued', attribute_ids = EXCLUDED.attribute_ids, attribute_set_hash = EXCLUDED.attribute_set_hash,
           intercom_job_id = NULL, intercom_status = NULL, export_failures = 0, requeues = 0, error = NULL,
           requested_at = now(), updated_at = now()
       WHERE w.status IN ${resettable}
     RETURNING *`,
    [datasetId, windows.map((w) => new Date(w.start)), windows.map((w) => new Date(w.end)), attributeIds, attributeSetHash],
  );
  const touched = new Map(rows.map((r) => [r.window_start.getTime(), fromDb(r)]));
  const untouched = windows.filter((w) => !touched.has(w.start));
  if (untouched.length > 0) {
    const rest = await db.query<DbRow>(
      `SELECT * FROM etl_export_windows WHERE dataset_id = $1 AND (window_start, window_end) IN (SELECT * FROM unnest($2::timestamptz[], $3::timestamptz[]))`,
      [datasetId, untouched.map((w) => new Date(w.start)), untouched.map((w) => new Date(w.end))],
    );
    for (const r of rest.rows) touched.set(r.window_start.getTime(), fromDb(r));
  }
  return windows.map((w) => touched.get(w.start)).filter((r): r is LedgerRow => r !== undefined);
}

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

export async function getWindow(db: Db, key: WindowKey): Promise<LedgerRow | null> {
  const { rows } = await db.query<DbRow>(`SELECT * FROM etl_export_windows WHERE ${KEY_WHERE}`, keyParams(key));
  return rows[0] ? fromDb(rows[0]) : null;
}

export async function getWindows(db: Db, keys: WindowKey[]): Promise<LedgerRow[]> {
  if (keys.length === 0) return [];
  const { rows } = await db.query<DbRow>(
    `SELECT w.* FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) AS k(d, s, e)
       JOIN etl_export_windows w ON w.dataset_id = k.d AND w.window_start = k.s AND w.window_end = k.e`,
    [keys.map((k) => k.datasetId), keys.map((k) => new Date(k.window.start)), keys.map((k) => new Date(k.window.end))],
  );
  return rows.map(fromDb);
}

/** Counts a processor run (an attempt) and returns the row as it is now. */
export async function startAttempt(db: Db, key: WindowKey): Promise<LedgerRow | null> {
  const { rows } = await db.query<DbRow>(
    `UPDATE etl_export_windows SET attempts = attempts + 1, updated_at = now() WHERE ${KEY_WHERE} RETURNING *`,
    keyParams(key),
  );
  return rows[0] ? fromDb(rows[0]) : null;
}

export async function recordEnqueued(db: Db, key: WindowKey, intercomJobId: string, intercomStatus: string): Promise<void> {
  await db.query(
    `UPDATE etl_export_windows SET status = 'exporting', intercom_job_id = $4, intercom_status = $5, enqueue_count = enqueue_count + 1,
            enqueued_at = now(), error = NULL, updated_at = now() WHERE ${KEY_WHERE}`,
    [...keyParams(key), intercomJobId, intercomStatus],
  );
}

export async function recordIntercomStatus(db: Db, key: WindowKey, intercomStatus: string, status?: WindowStatus): Promise<void> {
  await db.query(
    `UPDATE etl_export_windows SET intercom_status = $4, status = COALESCE($5, status),
            exported_at = CASE WHEN $5 = 'loading' THEN now() ELSE exported_at END, updated_at = now() WHERE ${KEY_WHERE}`,
    [...keyParams(key), intercomStatus, status ?? null],
  );
}

/** Forgets the Intercom job so the next step enqueues a new one (failed export, expired download). */
export async function forgetIntercomJob(db: Db, key: WindowKey, reason: string, countAsFailure: boolean): Promise<LedgerRow | null> {
  const { rows } = await db.query<DbRow>(
    `UPDATE etl_export_windows SET intercom_job_id = NULL, status = 'queued', error = $4,
            export_failures = export_failures + $5, updated_at = now() WHERE ${KEY_WHERE} RETURNING *`,
    [...keyParams(key), redactSecrets(reason), countAsFailure ? 1 : 0],
  );
  return rows[0] ? fromDb(rows[0]) : null;
}

export interface LoadedWindow {
  rows: number;
  bytes: number | null;
  loadMs: number;
  /** Zone the rows' timestamps were read in, and how they fit the window there. */
  timestampZone: string;
  timestampCheck: TimestampCheck;
  /** Why the rows fit no candidate zone; null when they fit. */
  timestampFlag: string | null;
}

export async function recordLoaded(db: Db, key: WindowKey, w: LoadedWindow): Promise<void> {
  await db.query(
    `UPDATE etl_export_windows SET status = 'loaded', rows_loaded = $4, bytes_downloaded = $5, load_ms = $6, loaded_at = now(),
            timestamp_zone = $7, timestamp_check = $8, timestamp_flag = $9, error = NULL, updated_at = now() WHERE ${KEY_WHERE}`,
    [...keyParams(key), w.rows, w.bytes, w.loadMs, w.timestampZone, w.timestampCheck, w.timestampFlag],
  );
}

/** Loaded windows whose rows fitted several zones and were read in another zone than `zone`. */
export async function ambiguousZoneWindows(db: Db, datasetId: string, zone: string): Promise<Array<WindowKey & { timestampZone: string }>> {
  const { rows } = await db.query<{ window_start: Date; window_end: Date; timestamp_zone: string }>(
    `SELECT window_start, window_end, timestamp_zone FROM etl_export_windows
      WHERE dataset_id = $1 AND status = 'loaded' AND timestamp_check = 'ambiguous' AND timestamp_zone <> $2`,
    [datasetId, zone],
  );
  return rows.map((r) => ({
    datasetId,
    window: { start: r.window_start.getTime(), end: r.window_end.getTime() },
    timestampZone: r.timestamp_zone,
  }));
}

/** Once a dataset's zone is known, its ambiguous windows are read in it (after re-reading their rows). */
export async function settleAmbiguousZones(db: Db, datasetId: string, zone: string): Promise<void> {
  await db.query(
    `UPDATE etl_export_windows SET timestamp_zone = $2, timestamp_check = 'fits', updated_at = now()
      WHERE dataset_id = $1 AND status = 'loaded' AND timestamp_check = 'ambiguous'`,
    [datasetId, zone],
  );
}

export async function recordFailed(db: Db, key: WindowKey, error: string): Promise<void> {
  await db.query(`UPDATE etl_export_windows SET status = 'failed', error = $4, updated_at = now() WHERE ${KEY_WHERE}`, [
    ...keyParams(key),
    redactSecrets(error).slice(0, 4000),
  ]);
  windowsFinished.inc({ dataset: key.datasetId, outcome: 'failed' });
}

/**
 * Windows not finished yet (queued, exporting, loading) and untouched for `idleMs`: each should
 * have a job in the queue. The idle time keeps a planner that is still adding jobs out of it.
 */
export async function unfinishedWindows(db: Db, idleMs: number): Promise<LedgerRow[]> {
  const { rows } = await db.query<DbRow>(
    `SELECT * FROM etl_export_windows
      WHERE status IN ('queued', 'exporting', 'loading') AND updated_at < now() - make_interval(secs => $1)
      ORDER BY window_start, dataset_id`,
    [idleMs / 1000],
  );
  return rows.map(fromDb);
}

/** Counts one re-queue by the reconciler. */
export async function recordRequeued(db: Db, key: WindowKey): Promise<void> {
  await db.query(`UPDATE etl_export_windows SET requeues = requeues + 1, updated_at = now() WHERE ${KEY_WHERE}`, keyParams(key));
}

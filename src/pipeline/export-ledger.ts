import type pg from 'pg';
import { redactSecrets } from '../redact.js';
import { windowsFinished } from '../metrics.js';
import { compactIso, type TimeWindow } from './time-windows.js';

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
  /** The plan (backfill or nightly run) that last reset the window; null before migration 0008. */
  planId: string | null;
  /** Set while the window holds a queue job; null for a `queued` window waiting for a slot in the ledger. */
  dispatchedAt: Date | null;
}

/**
 * Which windows the dispatcher starts first (`plan_order`, lowest first): the most recent days
 * (dashboards are useful early) or the oldest.
 */
export type PlanOrder = 'newest-first' | 'oldest-first';

export interface PlanWindowsOptions {
  /** Tags the windows this call inserts or resets (see LedgerRow.planId). */
  planId?: string;
  /** Default newest-first. */
  order?: PlanOrder;
}

/** `plan_order` of a window: seconds since the epoch of its start, negated for newest-first. */
export function planOrderOf(window: TimeWindow, order: PlanOrder = 'newest-first'): number {
  const seconds = Math.floor(window.start / 1000);
  return order === 'newest-first' ? -seconds : seconds;
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
  plan_id: string | null;
  dispatched_at: Date | null;
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
    planId: r.plan_id ?? null,
    dispatchedAt: r.dispatched_at ?? null,
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
  options: PlanWindowsOptions = {},
): Promise<LedgerRow[]> {
  if (windows.length === 0) return [];
  const resettable = onlyMissing ? `('failed')` : `('loaded', 'failed')`;
  // Reset windows wait in the ledger (dispatched_at NULL) until the dispatcher gives them a slot.
  const { rows } = await db.query<DbRow>(
    `INSERT INTO etl_export_windows AS w (dataset_id, window_start, window_end, status, attribute_ids, attribute_set_hash, plan_order, plan_id)
     SELECT $1, s, e, 'queued', $4, $5, o, $6 FROM unnest($2::timestamptz[], $3::timestamptz[], $7::bigint[]) AS t(s, e, o)
     ON CONFLICT (dataset_id, window_start, window_end) DO UPDATE
       SET status = 'queued', attribute_ids = EXCLUDED.attribute_ids, attribute_set_hash = EXCLUDED.attribute_set_hash,
           intercom_job_id = NULL, intercom_status = NULL, export_failures = 0, requeues = 0, error = NULL,
           plan_order = EXCLUDED.plan_order, plan_id = EXCLUDED.plan_id, dispatched_at = NULL,
           requested_at = now(), updated_at = now()
       WHERE w.status IN ${resettable}
     RETURNING *`,
    [
      datasetId,
      windows.map((w) => new Date(w.start)),
      windows.map((w) => new Date(w.end)),
      attributeIds,
      attributeSetHash,
      options.planId ?? null,
      windows.map((w) => planOrderOf(w, options.order)),
    ],
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

/** Counts a processor run (an attempt), marks the window as having a job, and returns the row as it is now. */
export async function startAttempt(db: Db, key: WindowKey): Promise<LedgerRow | null> {
  const { rows } = await db.query<DbRow>(
    `UPDATE etl_export_windows SET attempts = attempts + 1, dispatched_at = COALESCE(dispatched_at, now()), updated_at = now()
      WHERE ${KEY_WHERE} RETURNING *`,
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

/**
 * `exportedAt` (with `loading`): when the export finished at Intercom, as far as the polls tell;
 * default now. Kept when the window was `loading` already (a load resumed after a crash or shutdown
 * polls the finished export again, maybe hours later: that is not when it finished).
 */
export async function recordIntercomStatus(
  db: Db,
  key: WindowKey,
  intercomStatus: string,
  status?: WindowStatus,
  exportedAt?: Date,
): Promise<void> {
  await db.query(
    `UPDATE etl_export_windows SET intercom_status = $4, status = COALESCE($5, status),
            exported_at = CASE WHEN $5 = 'loading' AND status <> 'loading' THEN COALESCE($6, now()) ELSE exported_at END,
            updated_at = now() WHERE ${KEY_WHERE}`,
    [...keyParams(key), intercomStatus, status ?? null, exportedAt ?? null],
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
 * Windows not finished yet (queued, exporting, loading) that hold a job (dispatched; a `queued`
 * window not dispatched waits in the ledger without one) and untouched for `idleMs`: each should
 * have a job in the queue. The idle time keeps a dispatcher that is still adding jobs out of it.
 */
export async function unfinishedWindows(db: Db, idleMs: number): Promise<LedgerRow[]> {
  const { rows } = await db.query<DbRow>(
    `SELECT * FROM etl_export_windows
      WHERE status IN ('queued', 'exporting', 'loading') AND NOT (status = 'queued' AND dispatched_at IS NULL)
        AND updated_at < now() - make_interval(secs => $1)
      ORDER BY window_start, dataset_id`,
    [idleMs / 1000],
  );
  return rows.map(fromDb);
}

/** Counts one re-queue by the reconciler. */
export async function recordRequeued(db: Db, key: WindowKey): Promise<void> {
  await db.query(`UPDATE etl_export_windows SET requeues = requeues + 1, updated_at = now() WHERE ${KEY_WHERE}`, keyParams(key));
}

export interface StatusCount {
  datasetId: string;
  status: WindowStatus;
  windows: number;
  rows: number;
  bytes: number;
}

/** Per dataset and status: windows, rows and bytes of a plan's windows (one aggregate query). */
export async function countPlanWindows(db: Db, planId: string): Promise<StatusCount[]> {
  const { rows } = await db.query<{ dataset_id: string; status: WindowStatus; n: string; rows: string | null; bytes: string | null }>(
    `SELECT dataset_id, status, count(*) AS n, sum(rows_loaded) AS rows, sum(bytes_downloaded) AS bytes
       FROM etl_export_windows WHERE plan_id = $1 GROUP BY dataset_id, status`,
    [planId],
  );
  return rows.map(toStatusCount);
}

/** The same for windows named one by one (windows another plan had started). */
export async function countWindows(db: Db, keys: WindowKey[]): Promise<StatusCount[]> {
  if (keys.length === 0) return [];
  const { rows } = await db.query<{ dataset_id: string; status: WindowStatus; n: string; rows: string | null; bytes: string | null }>(
    `SELECT w.dataset_id, w.status, count(*) AS n, sum(w.rows_loaded) AS rows, sum(w.bytes_downloaded) AS bytes
       FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) AS k(d, s, e)
       JOIN etl_export_windows w ON w.dataset_id = k.d AND w.window_start = k.s AND w.window_end = k.e
      GROUP BY w.dataset_id, w.status`,
    [keys.map((k) => k.datasetId), keys.map((k) => new Date(k.window.start)), keys.map((k) => new Date(k.window.end))],
  );
  return rows.map(toStatusCount);
}

function toStatusCount(r: { dataset_id: string; status: WindowStatus; n: string; rows: string | null; bytes: string | null }): StatusCount {
  return { datasetId: r.dataset_id, status: r.status, windows: Number(r.n), rows: Number(r.rows ?? 0), bytes: Number(r.bytes ?? 0) };
}

/** Failed windows of a plan (or of the given windows), with why. */
export async function failedWindows(
  db: Db,
  planId: string | null,
  keys: WindowKey[],
): Promise<Array<WindowKey & { error: string | null }>> {
  const { rows } = await db.query<{ dataset_id: string; window_start: Date; window_end: Date; error: string | null }>(
    `SELECT dataset_id, window_start, window_end, error FROM etl_export_windows w
      WHERE status = 'failed' AND (plan_id = $1 OR (dataset_id, window_start, window_end) IN
            (SELECT * FROM unnest($2::text[], $3::timestamptz[], $4::timestamptz[])))
      ORDER BY dataset_id, window_start`,
    [planId, keys.map((k) => k.datasetId), keys.map((k) => new Date(k.window.start)), keys.map((k) => new Date(k.window.end))],
  );
  return rows.map((r) => ({
    datasetId: r.dataset_id,
    window: { start: r.window_start.getTime(), end: r.window_end.getTime() },
    error: r.error,
  }));
}

// What the ledger says about a dataset's past, for planning and estimates.
export * from './ledger-history.js';
export * from './dispatch-ledger.js';

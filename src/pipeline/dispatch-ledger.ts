import type pg from 'pg';
import type { WindowKey } from './export-ledger.js';

/**
 * The dispatcher's side of the export ledger: claiming the windows that wait for an export slot and
 * putting them back. Re-exported by export-ledger.ts.
 */

type Db = pg.Pool | pg.PoolClient;

/**
 * Claims up to `n` windows waiting in the ledger (queued, no queue job), lowest `plan_order` first,
 * and marks them dispatched. SKIP LOCKED: dispatchers in several processes never claim the same
 * window, and none waits for another (as pg-boss fetches work).
 *
 * When `tailWindows` or fewer are left waiting, the longest expected export goes first instead (the
 * median of the dataset's last 40 exports per second of window × the window's length; a dataset
 * without history first): the last exports of a backfill then finish close together instead of leaving slots idle
 * behind one long export. Only the order of those last windows bends; until then the index on
 * `plan_order` serves the claim without reading the rest of the queue.
 */
export async function claimQueuedWindows(db: Db, n: number, tailWindows = 0): Promise<WindowKey[]> {
  if (n <= 0) return [];
  const { rows } = await db.query<{ dataset_id: string; window_start: Date; window_end: Date }>(
    `WITH waiting AS (
       SELECT count(*) <= $2 AS in_tail FROM (SELECT 1 FROM etl_export_windows
              WHERE status = 'queued' AND dispatched_at IS NULL LIMIT $2 + 1) w),
     head AS (
       SELECT dataset_id, window_start, window_end, plan_order, 0::float8 AS first_by FROM etl_export_windows
        WHERE status = 'queued' AND dispatched_at IS NULL AND NOT (SELECT in_tail FROM waiting)
        ORDER BY plan_order, dataset_id LIMIT $1 FOR UPDATE SKIP LOCKED),
     -- In the tail: the few waiting windows (all of them, at most $2)…
     tail_windows AS (
       SELECT dataset_id, window_start, window_end, plan_order FROM etl_export_windows
        WHERE status = 'queued' AND dispatched_at IS NULL AND (SELECT in_tail FROM waiting)
        ORDER BY plan_order, dataset_id LIMIT $2),
     -- …and their datasets' usual export per second of window: the median of the last 40, as the
     -- poll timing learns it (ledger-history.ts); read once per dataset, newest first by index.
     usual AS MATERIALIZED (
       SELECT d.dataset_id, m.per_second
         FROM (SELECT DISTINCT dataset_id FROM tail_windows) d,
              LATERAL (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY (extract(epoch FROM h.exported_at - h.enqueued_at)
                                / nullif(extract(epoch FROM h.window_end - h.window_start), 0))::float8) AS per_second
                         FROM (SELECT exported_at, enqueued_at, window_start, window_end FROM etl_export_windows
                                WHERE dataset_id = d.dataset_id AND exported_at IS NOT NULL AND exported_at >= enqueued_at
                                ORDER BY exported_at DESC LIMIT 40) h) m),
     tail AS (
       SELECT t.dataset_id, t.window_start, t.window_end, c.plan_order,
              -coalesce(extract(epoch FROM c.window_end - c.window_start)::float8 * u.per_second, 'infinity') AS first_by
         FROM etl_export_windows t
         JOIN tail_windows c USING (dataset_id, window_start, window_end)
         LEFT JOIN usual u USING (dataset_id)
        WHERE t.status = 'queued' AND t.dispatched_at IS NULL
        ORDER BY first_by, c.plan_order, t.dataset_id LIMIT $1 FOR UPDATE OF t SKIP LOCKED),
     claimed AS (
       UPDATE etl_export_windows w SET dispatched_at = now(), updated_at = now()
         FROM (SELECT * FROM head UNION ALL SELECT * FROM tail) c
        WHERE w.dataset_id = c.dataset_id AND w.window_start = c.window_start AND w.window_end = c.window_end
        RETURNING w.dataset_id, w.window_start, w.window_end, c.plan_order, c.first_by)
     SELECT dataset_id, window_start, window_end FROM claimed ORDER BY first_by, plan_order, dataset_id`,
    [n, tailWindows],
  );
  return rows.map((r) => ({ datasetId: r.dataset_id, window: { start: r.window_start.getTime(), end: r.window_end.getTime() } }));
}

/** Puts dispatched windows back to wait in the ledger (no slot for them after all); keeps their place. */
export async function returnToLedger(db: Db, keys: WindowKey[]): Promise<void> {
  if (keys.length === 0) return;
  await db.query(
    `UPDATE etl_export_windows w SET dispatched_at = NULL, updated_at = now()
       FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) AS k(d, s, e)
      WHERE w.dataset_id = k.d AND w.window_start = k.s AND w.window_end = k.e AND w.status = 'queued'`,
    [keys.map((k) => k.datasetId), keys.map((k) => new Date(k.window.start)), keys.map((k) => new Date(k.window.end))],
  );
}

/** Is any window waiting in the ledger for a slot? (One index probe.) */
export async function hasQueuedWindows(db: Db): Promise<boolean> {
  const { rows } = await db.query(`SELECT 1 FROM etl_export_windows WHERE status = 'queued' AND dispatched_at IS NULL LIMIT 1`);
  return rows.length > 0;
}

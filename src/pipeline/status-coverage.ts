import type pg from 'pg';
import type { TimeWindow } from './time-windows.js';
import { DAY_MS, startOfUtcDay } from './time-windows.js';
import { subtractWindows } from './window-coverage.js';

/**
 * What `status` shows per dataset: where its data is complete, where it is not, and why. A time is
 * loaded when windows that ever loaded (`loaded_at IS NOT NULL`, whatever their layout: 1d, 12h,
 * 7d, auto-sized) cover it, as on the partition map and in the freshness metric.
 */
export interface DatasetCoverage {
  datasetId: string;
  /** From the first loaded window to the first gap (null: nothing loaded). */
  contiguous: TimeWindow | null;
  /** Parts of the expected range no loaded window covers, in order. */
  gaps: TimeWindow[];
  /** Failed windows whose time no loaded window covers (what `retry` re-runs), newest first. */
  failed: Array<TimeWindow & { error: string | null; failedAt: number }>;
  /** Windows queued, exporting or loading now, oldest first. */
  inFlight: Array<TimeWindow & { status: string }>;
}

export interface CoverageBounds {
  /** ETL_START_DATE (ms). */
  startDate: number;
  retentionDays: number;
  now: number;
}

/**
 * Coverage of every dataset in the catalogue. The expected range of a dataset runs from the earlier
 * of ETL_START_DATE and its first window (not before Intercom's retention) to the end of yesterday
 * (UTC), or to its last window's end when later — the partition map's bounds. Loaded ranges are
 * merged in Postgres (`range_agg`), so this reads a few rows per dataset, never every window.
 */
export async function datasetCoverage(pool: pg.Pool, bounds: CoverageBounds): Promise<DatasetCoverage[]> {
  const [spans, failed, inFlight] = await Promise.all([
    pool.query<{ dataset_id: string; first: Date | null; last: Date | null; lo: Date[] | null; hi: Date[] | null }>(
      `SELECT d.dataset_id, s.first, s.last,
              (SELECT array_agg(lower(r) ORDER BY lower(r)) FROM unnest(s.loaded) r) AS lo,
              (SELECT array_agg(upper(r) ORDER BY lower(r)) FROM unnest(s.loaded) r) AS hi
         FROM etl_datasets d
         LEFT JOIN (SELECT dataset_id, min(window_start) AS first, max(window_end) AS last,
                           range_agg(tstzrange(window_start, window_end)) FILTER (WHERE loaded_at IS NOT NULL) AS loaded
                      FROM etl_export_windows GROUP BY dataset_id) s USING (dataset_id)
        ORDER BY d.dataset_id`,
    ),
    pool.query<{ dataset_id: string; window_start: Date; window_end: Date; error: string | null; updated_at: Date }>(
      `SELECT dataset_id, window_start, window_end, error, updated_at FROM etl_export_windows
        WHERE status = 'failed' ORDER BY dataset_id, window_start DESC`,
    ),
    pool.query<{ dataset_id: string; window_start: Date; window_end: Date; status: string }>(
      `SELECT dataset_id, window_start, window_end, status FROM etl_export_windows
        WHERE status IN ('queued', 'exporting', 'loading') ORDER BY dataset_id, window_start`,
    ),
  ]);
  const today = startOfUtcDay(bounds.now);
  const oldest = today - bounds.retentionDays * DAY_MS;
  return spans.rows.map((s) => {
    const loaded: TimeWindow[] = (s.lo ?? []).map((lo, i) => ({ start: lo.getTime(), end: s.hi![i]!.getTime() }));
    const start = Math.max(oldest, Math.min(bounds.startDate, s.first?.getTime() ?? bounds.startDate));
    const end = Math.max(today, s.last?.getTime() ?? today);
    const covered = (w: TimeWindow) => subtractWindows(w, loaded).length === 0;
    return {
      datasetId: s.dataset_id,
      contiguous: loaded[0] ?? null,
      gaps: end > start ? subtractWindows({ start, end }, loaded) : [],
      failed: failed.rows
        .filter((f) => f.dataset_id === s.dataset_id)
        .map((f) => ({ start: f.window_start.getTime(), end: f.window_end.getTime(), error: f.error, failedAt: f.updated_at.getTime() }))
        .filter((f) => !covered(f)),
      inFlight: inFlight.rows
        .filter((f) => f.dataset_id === s.dataset_id)
        .map((f) => ({ start: f.window_start.getTime(), end: f.window_end.getTime(), status: f.status })),
    };
  });
}

/** Per dataset with failed windows (of `datasetIds`, or all): the span from its first failed window's start to its last one's end. */
export async function failedWindowSpans(
  pool: pg.Pool,
  datasetIds: string[],
): Promise<Array<{ datasetId: string; span: TimeWindow; windows: number }>> {
  const { rows } = await pool.query<{ dataset_id: string; lo: Date; hi: Date; n: string }>(
    `SELECT dataset_id, min(window_start) AS lo, max(window_end) AS hi, count(*) AS n FROM etl_export_windows
      WHERE status = 'failed' AND (cardinality($1::text[]) = 0 OR dataset_id = ANY($1)) GROUP BY dataset_id ORDER BY dataset_id`,
    [datasetIds],
  );
  return rows.map((r) => ({ datasetId: r.dataset_id, span: { start: r.lo.getTime(), end: r.hi.getTime() }, windows: Number(r.n) }));
}

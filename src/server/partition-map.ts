import type pg from 'pg';
import type { Config } from '../config.js';

export const DAY_MS = 86_400_000;

/** What a day of a dataset looks like, in the order the page's legend lists them. */
export type DayState = 'loaded' | 'exporting' | 'queued' | 'failed' | 'missing';

export interface DayCell {
  state: DayState;
  /** The latest failed window's error, for failed days. */
  error: string | null;
}

export interface PartitionMap {
  /** First day shown (UTC midnight, ms) and the day after the last one. */
  from: number;
  to: number;
  /** Datasets in id order; `days` holds only days that are not missing (absent = missing). */
  datasets: Array<{ datasetId: string; days: Map<number, DayCell> }>;
}

/**
 * The ledger folded into one state per dataset and UTC day, in ONE aggregate query (the page stays
 * fast with two years × 20 datasets: each window is expanded into the few days it touches, never
 * compared with every day).
 *
 * Windows may overlap and differ in size (the layout changed from 7d to 1d, a backfill used 12h), so
 * a day is `loaded` only when the union of its loaded windows covers it (`range_agg`, Postgres 14+).
 * Work in flight wins over what was loaded before (a re-export in progress shows as exporting or
 * queued); a day not covered by loaded windows and touched by a failed one is `failed`; any other
 * day is `missing`. Shown: from the earliest of ETL_START_DATE and the first window (but not beyond
 * the retention) to yesterday, or to the last window's day when later.
 */
export async function loadPartitionMap(pool: pg.Pool, config: Config, now = Date.now()): Promise<PartitionMap> {
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  const oldest = today - config.reports.retentionDays * DAY_MS;
  const { rows } = await pool.query<{
    lo: Date;
    hi: Date;
    dataset_id: string | null;
    day: Date | null;
    state: DayState | null;
    error: string | null;
  }>(
    `WITH bounds AS (
       SELECT greatest($1::timestamptz, least($2::timestamptz, coalesce(date_trunc('day', min(window_start), 'UTC'), $2::timestamptz))) AS lo,
              greatest($3::timestamptz, coalesce(date_trunc('day', max(window_end) - interval '1 microsecond', 'UTC') + interval '24 hours', $3::timestamptz)) AS hi
         FROM etl_export_windows
     ),
     cells AS (
       SELECT w.dataset_id, d.day,
              range_agg(tstzrange(w.window_start, w.window_end)) FILTER (WHERE w.status = 'loaded') AS loaded,
              bool_or(w.status IN ('exporting', 'loading')) AS exporting,
              bool_or(w.status = 'queued') AS queued,
              bool_or(w.status = 'failed') AS failed,
              (array_agg(w.error ORDER BY w.updated_at DESC) FILTER (WHERE w.status = 'failed'))[1] AS error
         FROM bounds b
         JOIN etl_export_windows w ON w.window_end > b.lo AND w.window_start < b.hi
         CROSS JOIN LATERAL generate_series(greatest(date_trunc('day', w.window_start, 'UTC'), b.lo),
                                            least(w.window_end, b.hi) - interval '1 microsecond', interval '24 hours') AS d(day)
        GROUP BY w.dataset_id, d.day
     ),
     shown AS (
       SELECT dataset_id FROM etl_datasets WHERE (cardinality($4::text[]) = 0 OR dataset_id = ANY($4)) AND NOT dataset_id = ANY($5)
       UNION SELECT DISTINCT dataset_id FROM cells
     )
     SELECT b.lo, b.hi, s.dataset_id, c.day, c.error,
            CASE WHEN c.exporting THEN 'exporting'
                 WHEN c.queued THEN 'queued'
                 WHEN coalesce(c.loaded @> tstzrange(c.day, c.day + interval '24 hours'), false) THEN 'loaded'
                 WHEN c.failed THEN 'failed'
                 ELSE 'missing' END AS state
       FROM bounds b
       LEFT JOIN shown s ON true
       LEFT JOIN cells c ON c.dataset_id = s.dataset_id
      ORDER BY s.dataset_id, c.day`,
    [new Date(oldest), new Date(config.reports.startDate), new Date(today), config.reports.includeDatasets, config.reports.excludeDatasets],
  );
  const first = rows[0];
  const map: PartitionMap = { from: first ? first.lo.getTime() : today, to: first ? first.hi.getTime() : today, datasets: [] };
  for (const r of rows) {
    if (r.dataset_id === null) continue;
    let ds = map.datasets.at(-1);
    if (ds?.datasetId !== r.dataset_id) map.datasets.push((ds = { datasetId: r.dataset_id, days: new Map() }));
    if (r.day && r.state && r.state !== 'missing') {
      ds.days.set(r.day.getTime(), { state: r.state, error: r.state === 'failed' ? r.error : null });
    }
  }
  return map;
}

export interface StreamRun {
  stream: 'companies' | 'tickets';
  status: string;
  startedAt: Date;
  finishedAt: Date | null;
  rows: number;
  error: string | null;
}

/** The latest run of companies and of tickets, and the latest completed one when that is another. */
export async function lastStreamRuns(pool: pg.Pool): Promise<{ latest: StreamRun[]; lastCompleted: StreamRun[] }> {
  const { rows } = await pool.query<{
    kind: 'latest' | 'completed';
    stream: 'companies' | 'tickets';
    status: string;
    started_at: Date;
    finished_at: Date | null;
    rows_fetched: string;
    error: string | null;
  }>(
    `SELECT * FROM (
       (SELECT DISTINCT ON (stream) 'latest' AS kind, stream, status, started_at, finished_at, rows_fetched, error
          FROM etl_sync_runs ORDER BY stream, started_at DESC)
       UNION ALL
       (SELECT DISTINCT ON (stream) 'completed', stream, status, started_at, finished_at, rows_fetched, error
          FROM etl_sync_runs WHERE status = 'completed' ORDER BY stream, finished_at DESC)
     ) r ORDER BY stream`,
  );
  const toRun = (r: (typeof rows)[number]): StreamRun => ({
    stream: r.stream,
    status: r.status,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    rows: Number(r.rows_fetched),
    error: r.error,
  });
  return {
    latest: rows.filter((r) => r.kind === 'latest').map(toRun),
    lastCompleted: rows.filter((r) => r.kind === 'completed').map(toRun),
  };
}

import type pg from 'pg';
import type { Config } from '../config.js';
import { withClient } from '../db/pool.js';

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

interface DatasetRow {
  lo: Date;
  hi: Date;
  dataset_id: string | null;
  /** Days (Unix seconds), states and errors of the days that have windows, in day order. */
  days: string[] | null;
  states: DayState[] | null;
  errors: Array<string | null> | null;
}

/**
 * $1 oldest day allowed, $2 ETL_START_DATE, $3 today, $4 ETL_DATASETS, $5 ETL_EXCLUDE_DATASETS.
 * generate_series sits in the select list: as a per-row function scan it costs ten times more.
 */
const PARTITION_SQL = `WITH bounds AS (
       SELECT greatest($1::timestamptz, least($2::timestamptz, coalesce(date_trunc('day', min(window_start), 'UTC'), $2::timestamptz))) AS lo,
              greatest($3::timestamptz, coalesce(date_trunc('day', max(window_end) - interval '1 microsecond', 'UTC') + interval '24 hours', $3::timestamptz)) AS hi
         FROM etl_export_windows
     ),
     window_days AS (
       SELECT w.dataset_id, w.window_start, w.window_end, w.status, w.error, w.updated_at,
              generate_series(greatest(date_trunc('day', w.window_start, 'UTC'), b.lo),
                              least(w.window_end, b.hi) - interval '1 microsecond', interval '24 hours') AS day
         FROM bounds b JOIN etl_export_windows w ON w.window_end > b.lo AND w.window_start < b.hi
     ),
     cells AS (
       SELECT dataset_id, day, error,
              CASE WHEN exporting THEN 'exporting'
                   WHEN queued THEN 'queued'
                   WHEN coalesce(loaded @> tstzrange(day, day + interval '24 hours'), false) THEN 'loaded'
                   WHEN failed THEN 'failed'
                   ELSE 'missing' END AS state
         FROM (SELECT dataset_id, day,
                      range_agg(tstzrange(window_start, window_end)) FILTER (WHERE status = 'loaded') AS loaded,
                      bool_or(status IN ('exporting', 'loading')) AS exporting,
                      bool_or(status = 'queued') AS queued,
                      bool_or(status = 'failed') AS failed,
                      (array_agg(error ORDER BY updated_at DESC) FILTER (WHERE status = 'failed'))[1] AS error
                 FROM window_days GROUP BY dataset_id, day) per_day
     ),
     shown AS (
       SELECT dataset_id FROM etl_datasets WHERE (cardinality($4::text[]) = 0 OR dataset_id = ANY($4)) AND NOT dataset_id = ANY($5)
       UNION SELECT DISTINCT dataset_id FROM cells
     )
     SELECT b.lo, b.hi, s.dataset_id,
            array_agg(extract(epoch FROM c.day)::bigint ORDER BY c.day) FILTER (WHERE c.state <> 'missing') AS days,
            array_agg(c.state ORDER BY c.day) FILTER (WHERE c.state <> 'missing') AS states,
            array_agg(CASE WHEN c.state = 'failed' THEN c.error END ORDER BY c.day) FILTER (WHERE c.state <> 'missing') AS errors
       FROM bounds b
       LEFT JOIN shown s ON true
       LEFT JOIN cells c ON c.dataset_id = s.dataset_id
      GROUP BY b.lo, b.hi, s.dataset_id
      ORDER BY s.dataset_id`;

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
  const params = [
    new Date(oldest),
    new Date(config.reports.startDate),
    new Date(today),
    config.reports.includeDatasets,
    config.reports.excludeDatasets,
  ];
  const rows = await withClient(pool, async (client) => {
    // The planner guesses 1000 days per window for generate_series and JIT-compiles the query,
    // which costs a second; the query itself takes tens of milliseconds.
    await client.query('BEGIN READ ONLY');
    try {
      await client.query('SET LOCAL jit = off');
      return (await client.query<DatasetRow>(PARTITION_SQL, params)).rows;
    } finally {
      await client.query('COMMIT');
    }
  });
  const first = rows[0];
  const map: PartitionMap = { from: first ? first.lo.getTime() : today, to: first ? first.hi.getTime() : today, datasets: [] };
  for (const r of rows) {
    if (r.dataset_id === null) continue;
    const days = new Map<number, DayCell>();
    (r.days ?? []).forEach((day, i) => days.set(Number(day) * 1000, { state: r.states![i]!, error: r.errors![i] ?? null }));
    map.datasets.push({ datasetId: r.dataset_id, days });
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

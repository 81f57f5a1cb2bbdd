import type pg from 'pg';
import { quoteIdent } from '../db/pool.js';
import type { TimeWindow } from '../pipeline/time-windows.js';
import type { ReportColumn, ReportDataset } from './report-catalogue.js';

/**
 * Reading the export's zone-less timestamps (`2026-05-29 14:03:11`) in the right zone.
 *
 * Intercom selects a window's rows by the true instant of the dataset's time attribute, so once its
 * text is read in the right zone every row of a window lies inside `[start, end)`. That makes the
 * zone observable: a window whose rows do not all fit when read as UTC, but do when read in the
 * workspace's zone, tells which zone Intercom writes. These are the SQL pieces; the policy (which
 * zone to read in, what to record) is `src/pipeline/timestamp-zones.ts`.
 */

/** First and last time value of a window's rows as wall-clock text in the zone they were read in. */
export interface TimeSpan {
  first: string;
  last: string;
}

/** The dataset's default time column, when it is a timestamptz column (it always is for new tables). */
export function timeColumn(dataset: ReportDataset): ReportColumn | undefined {
  return dataset.columns.find((c) => c.attributeId === dataset.defaultTimeAttributeId && c.columnType === 'timestamptz');
}

/** Span of the time values of the rows loaded by exactly `window`, read back as wall clock in `zone`. */
export async function windowTimeSpan(
  client: pg.PoolClient,
  dataset: ReportDataset,
  window: TimeWindow,
  zone: string,
): Promise<TimeSpan | null> {
  const col = timeColumn(dataset);
  if (!col) return null;
  const c = quoteIdent(col.columnName);
  const { rows } = await client.query<{ first: string | null; last: string | null }>(
    `SELECT to_char(min(${c}) AT TIME ZONE $3, 'YYYY-MM-DD HH24:MI:SS') AS first,
            to_char(max(${c}) AT TIME ZONE $3, 'YYYY-MM-DD HH24:MI:SS') AS last
       FROM ${quoteIdent(dataset.tableName)} WHERE _window_start = $1 AND _window_end = $2`,
    [new Date(window.start), new Date(window.end), zone],
  );
  const r = rows[0];
  return r?.first && r.last ? { first: r.first, last: r.last } : null;
}

/**
 * The candidate zones (in the given order) in which every value of `span` lies inside `window` —
 * its end included: an Intercom that reads `end_time` inclusively also sends the rows at exactly
 * `end` (see `trimAfterEnd`).
 */
export async function zonesThatFit(client: pg.PoolClient, span: TimeSpan, window: TimeWindow, candidates: string[]): Promise<string[]> {
  // A wall-clock time in the hour repeated when DST ends has two instants, and Postgres picks one;
  // the span fits when some reading fits: the latest reading of the first value, the earliest of the
  // last. The other reading is found through the zone's offset three hours before and after.
  const { rows } = await client.query<{ zone: string }>(
    `SELECT z AS zone
       FROM unnest($3::text[]) WITH ORDINALITY AS c(z, i),
       LATERAL (
         SELECT max(t) FILTER (WHERE which = 'first') AS first_latest, min(t) FILTER (WHERE which = 'last') AS last_earliest
           FROM (VALUES ('first', $1::timestamp), ('last', $2::timestamp)) AS v(which, wall),
           LATERAL (SELECT wall AT TIME ZONE z AS t0) AS picked,
           LATERAL (VALUES (t0),
                           ((wall - ((t0 - interval '3 hours') AT TIME ZONE z - (t0 - interval '3 hours') AT TIME ZONE 'UTC')) AT TIME ZONE 'UTC'),
                           ((wall - ((t0 + interval '3 hours') AT TIME ZONE z - (t0 + interval '3 hours') AT TIME ZONE 'UTC')) AT TIME ZONE 'UTC')
                   ) AS reading(t)
          WHERE t AT TIME ZONE z = wall
       ) AS readings
      WHERE first_latest >= $4 AND last_earliest <= $5
      ORDER BY i`,
    [span.first, span.last, candidates, new Date(window.start), new Date(window.end)],
  );
  return rows.map((r) => r.zone);
}

/**
 * Re-reads every timestamp column of the rows loaded by `windows` as if their text had been read in
 * `to` instead of `from` (the wall-clock text is what the CSV held; only its zone changes).
 */
export async function rereadTimestamps(
  client: pg.PoolClient,
  dataset: ReportDataset,
  windows: TimeWindow[],
  from: string,
  to: string,
): Promise<number> {
  const cols = dataset.columns.filter((c) => c.columnType === 'timestamptz').map((c) => quoteIdent(c.columnName));
  if (cols.length === 0 || windows.length === 0 || from === to) return 0;
  const sets = cols.map((c) => `${c} = (${c} AT TIME ZONE $3) AT TIME ZONE $4`).join(', ');
  const res = await client.query(
    `UPDATE ${quoteIdent(dataset.tableName)} SET ${sets}
      WHERE (_window_start, _window_end) IN (SELECT * FROM unnest($1::timestamptz[], $2::timestamptz[]))`,
    [windows.map((w) => new Date(w.start)), windows.map((w) => new Date(w.end)), from, to],
  );
  return res.rowCount ?? 0;
}

/**
 * Deletes the rows of `windows` whose time is at or after their window's end: the export asks for
 * `[start, end]` because Intercom may read `end_time` exclusively, so an Intercom that reads it
 * inclusively sends the rows at exactly `end`, which belong to the next window. Only for rows whose
 * zone is known (a row at `end` in another zone may be a row inside the window).
 */
export async function trimAfterEnd(client: pg.PoolClient, dataset: ReportDataset, windows: TimeWindow[]): Promise<number> {
  const col = timeColumn(dataset);
  if (!col || windows.length === 0) return 0;
  const res = await client.query(
    `DELETE FROM ${quoteIdent(dataset.tableName)}
      WHERE (_window_start, _window_end) IN (SELECT * FROM unnest($1::timestamptz[], $2::timestamptz[]))
        AND ${quoteIdent(col.columnName)} >= _window_end`,
    [windows.map((w) => new Date(w.start)), windows.map((w) => new Date(w.end))],
  );
  return res.rowCount ?? 0;
}

/**
 * Why a window's rows fit no candidate zone, with the offset from UTC that would have fitted them
 * (`+01:40 to +02:10`), for the ledger and `status`.
 */
export function describeMisfit(span: TimeSpan, zone: string, window: TimeWindow, candidates: string[]): string {
  // Wall-clock text read as if it were UTC: the offset o fits when first − o ≥ start and last − o ≤ end.
  const first = Date.parse(`${span.first.replace(' ', 'T')}Z`);
  const last = Date.parse(`${span.last.replace(' ', 'T')}Z`);
  const lo = last - window.end; // smallest offset (ms) keeping the last row at or before the end
  const hi = first - window.start; // largest offset keeping the first row at or after the start
  const fitting =
    lo <= hi ? `an offset from UTC of ${formatOffset(lo)} to ${formatOffset(hi)} would fit them` : 'they span more than the window';
  return (
    `rows of this window have times from ${span.first} to ${span.last} (read as ${zone}), ` +
    `which do not fit the window in any candidate zone (${candidates.join(', ')}); ${fitting}. ` +
    `The rows are loaded (a row at exactly the window's end may then also be in the next window); ` +
    `set ETL_TIMESTAMP_TIMEZONE if you know the zone.`
  );
}

function formatOffset(ms: number): string {
  const sign = ms < 0 ? '-' : '+';
  const minutes = Math.round(Math.abs(ms) / 60_000);
  return `${sign}${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

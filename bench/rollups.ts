/**
 * Daily rollups benchmark: three typical dashboard queries on a 1.2M-row, two-year `conversation`
 * table (made by the product's catalogue code, filled by a generate_series INSERT) and on its daily
 * rollup (made and refreshed by the product's own code), with EXPLAIN (ANALYZE, BUFFERS): time,
 * rows read by the scans, buffers. Also the rollup's build and refresh times.
 * Run with `npm run bench:rollups`; numbers in the README ("Rollups benchmark").
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { migrate } from '../src/db/migrate.js';
import { createPool, withClient } from '../src/db/pool.js';
import { ensureDailyRollups, markRollupDirty, refreshDailyRollups, type RollupSettings } from '../src/sinks/daily-rollups.js';
import { syncCatalogue } from '../src/sinks/report-catalogue.js';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SCHEMA = 'bench_rollups';
const ROWS = Number(process.env.BENCH_ROWS ?? 1_200_000);
const DAYS = 730;
const ZONE = 'Europe/Berlin';
const END = Date.UTC(2026, 10, 1); // data ends 2026-11-01, starts two years earlier
const settings: RollupSettings = { schema: SCHEMA, biSchema: `${SCHEMA}_bi`, timezone: ZONE };
const log = (line: string): void => console.log(line);
const secs = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

const ATTRIBUTES = [
  ['standard.conversation_id', 'Conversation ID'],
  ['timestamp.conversation_started_at', 'Conversation started at'],
  ['standard.channel', 'Channel'],
  ['standard.current_conversation_state', 'Current conversation state'],
  ['team.currently_assigned_team_id', 'Team currently assigned'],
  ['team.currently_assigned_team_raw_id', 'Team currently assigned (raw id)'],
  ['teammate.currently_assigned_teammate_id', 'Teammate currently assigned'],
  ['duration.conversation_first_response_time', 'First response time'],
  ['duration.conversation_time_to_close', 'Time to close'],
  ['standard.teammate_replies_count', 'Teammate replies'],
].map(([qualifiedId, name]) => ({ id: qualifiedId!.split('.')[1]!, qualifiedId: qualifiedId!, name: name! }));

/** 1.2M conversations over two years, shaped like the fake's: 6 channels, 9 teams, 40 teammates, skewed durations. */
async function fill(pool: pg.Pool): Promise<void> {
  const start = new Date(END - DAYS * 86_400_000).toISOString();
  await pool.query(`SELECT setseed(0.42)`);
  await pool.query(
    `INSERT INTO ${SCHEMA}.report_conversation
       (_window_start, _window_end, _intercom_job_id, conversation_id, conversation_started_at, channel,
        current_conversation_state, currently_assigned_team_id, currently_assigned_team_raw_id, currently_assigned_teammate_id,
        conversation_first_response_time, conversation_time_to_close, teammate_replies_count)
     SELECT date_trunc('day', t, 'UTC'), date_trunc('day', t, 'UTC') + interval '1 day', 'bench', i::text, t,
            (ARRAY['Chat','Chat','Email','Email','Phone call','SMS','WhatsApp'])[1 + floor(random() * 7)::int],
            (ARRAY['Open','Closed','Closed','Snoozed'])[1 + floor(random() * 4)::int],
            team, NULLIF(abs(hashtext(team)) % 100000, abs(hashtext('Unassigned')) % 100000)::text,
            CASE WHEN random() < 0.15 THEN NULL ELSE 'Teammate ' || (1 + floor(random() * 40)::int) END,
            CASE WHEN random() < 0.2 THEN NULL ELSE round((-ln(1 - random()) * 1800)::numeric) END,
            CASE WHEN random() < 0.3 THEN NULL ELSE round((-ln(1 - random()) * 86400)::numeric) END,
            floor(random() * 12)::int
       FROM (SELECT i, $1::timestamptz + (i::float8 / $2) * interval '${DAYS} days' AS t,
                    (ARRAY['Billing','Support','Sales','Onboarding','Enterprise','VIP','Tier 2','EMEA','Unassigned'])
                      [1 + floor(random() * 9)::int] AS team
               FROM generate_series(0, $2 - 1) i) g`,
    [start, ROWS],
  );
  await pool.query(`ANALYZE ${SCHEMA}.report_conversation`);
}

interface Plan {
  'Node Type': string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: Plan[];
}

/**
 * Rows the scans read: returned plus removed by filters, times loops, over every scan node (a
 * bitmap index scan's rows are counted once, by the heap scan that reads them).
 */
function rowsRead(p: Plan): number {
  const own =
    /Scan$/.test(p['Node Type']) && p['Node Type'] !== 'Bitmap Index Scan'
      ? ((p['Actual Rows'] ?? 0) + (p['Rows Removed by Filter'] ?? 0) + (p['Rows Removed by Index Recheck'] ?? 0)) *
        (p['Actual Loops'] ?? 1)
      : 0;
  return own + (p.Plans ?? []).reduce((s, c) => s + rowsRead(c), 0);
}

interface Measured {
  ms: number;
  rowsRead: number;
  buffers: number;
  rowsOut: number;
}

/** Median of 3 EXPLAIN (ANALYZE, BUFFERS) runs after one warm-up. */
async function explain(pool: pg.Pool, sql: string): Promise<Measured> {
  const runs: Measured[] = [];
  for (let i = 0; i < 4; i++) {
    const { rows } = await pool.query<{ 'QUERY PLAN': Array<{ Plan: Plan & Record<string, number>; 'Execution Time': number }> }>(
      `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${sql}`,
    );
    const top = rows[0]!['QUERY PLAN'][0]!;
    const plan = top.Plan;
    if (i > 0) {
      runs.push({
        ms: top['Execution Time'],
        rowsRead: rowsRead(plan),
        buffers: (plan['Shared Hit Blocks'] ?? 0) + (plan['Shared Read Blocks'] ?? 0),
        rowsOut: plan['Actual Rows'] ?? 0,
      });
    }
  }
  return runs.sort((a, b) => a.ms - b.ms)[1]!;
}

const DAY = `(conversation_started_at AT TIME ZONE '${ZONE}')::date`;
const RAW = `${SCHEMA}.report_conversation`;
const ROLLUP = `${SCHEMA}_bi.daily_conversation`;
const since90 = `'2026-08-03'`; // 90 days before the end of the data

const QUERIES: Array<{ name: string; raw: string; rollup: string }> = [
  {
    name: 'daily volume by channel, two years',
    raw: `SELECT ${DAY} AS day, COALESCE(NULLIF(channel, ''), '(none)') AS channel, count(*) FROM ${RAW} GROUP BY 1, 2`,
    rollup: `SELECT day, value AS channel, row_count FROM ${ROLLUP} WHERE dimension = 'channel'`,
  },
  {
    name: 'first response time p50/p90 per week by team, two years',
    raw: `SELECT date_trunc('week', ${DAY})::date AS week, COALESCE(NULLIF(currently_assigned_team_id, ''), '(none)') AS team,
                 percentile_cont(0.5) WITHIN GROUP (ORDER BY conversation_first_response_time) AS p50,
                 percentile_cont(0.9) WITHIN GROUP (ORDER BY conversation_first_response_time) AS p90
            FROM ${RAW} GROUP BY 1, 2`,
    rollup: `SELECT date_trunc('week', day)::date AS week, value AS team,
                    sum(conversation_first_response_time_p50 * conversation_first_response_time_count)
                      / NULLIF(sum(conversation_first_response_time_count), 0) AS p50,
                    sum(conversation_first_response_time_p90 * conversation_first_response_time_count)
                      / NULLIF(sum(conversation_first_response_time_count), 0) AS p90
               FROM ${ROLLUP} WHERE dimension = 'team' GROUP BY 1, 2`,
  },
  {
    name: 'daily conversations of one teammate, last 90 days',
    raw: `SELECT ${DAY} AS day, count(*) FROM ${RAW}
           WHERE currently_assigned_teammate_id = 'Teammate 7' AND conversation_started_at >= ${since90}::date AT TIME ZONE '${ZONE}'
           GROUP BY 1`,
    rollup: `SELECT day, row_count FROM ${ROLLUP} WHERE dimension = 'teammate' AND value = 'Teammate 7' AND day >= ${since90}`,
  },
];

/** How far the weekly percentiles from daily rollups (count-weighted mean of daily p50/p90) are from the exact ones. */
async function percentileError(pool: pg.Pool): Promise<{ p50: number; p90: number }> {
  const q = QUERIES[1]!;
  const { rows } = await pool.query<{ p50: number; p90: number }>(
    `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(r.p50 - x.p50) / x.p50) AS p50,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(r.p90 - x.p90) / x.p90) AS p90
       FROM (${q.raw}) x JOIN (${q.rollup}) r USING (week, team) WHERE x.p50 > 0 AND x.p90 > 0`,
  );
  return rows[0]!;
}

async function main(): Promise<void> {
  const pool = createPool(DATABASE_URL, SCHEMA, 4);
  try {
    await pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA}_bi CASCADE`);
    await pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await migrate(pool, SCHEMA);
    await syncCatalogue(pool, SCHEMA, [
      {
        id: 'conversation',
        name: 'Conversation',
        description: 'bench',
        defaultTimeAttributeId: 'conversation_started_at',
        attributes: ATTRIBUTES,
      },
    ]);
    log(
      `load average before: ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} (${os.cpus().length} cores)`,
    );
    let t0 = performance.now();
    await fill(pool);
    log(`generated ${ROWS.toLocaleString('en-US')} raw rows over ${DAYS} days in ${secs(performance.now() - t0)}`);

    t0 = performance.now();
    const ensured = await ensureDailyRollups(pool, settings);
    if (ensured.errors.length) throw new Error(ensured.errors.join('; '));
    log(`built the rollup (CREATE MATERIALIZED VIEW … WITH DATA + unique index) in ${secs(performance.now() - t0)}`);
    await pool.query(`ANALYZE ${ROLLUP}`);
    const size = await pool.query<{ n: string; by: string }>(
      `SELECT sum(c) AS n, string_agg(dimension || ': ' || c, ', ' ORDER BY dimension) AS by
         FROM (SELECT dimension, count(*) AS c FROM ${ROLLUP} GROUP BY 1) d`,
    );
    log(`rollup rows: ${size.rows[0]!.n} (${size.rows[0]!.by})`);

    log('');
    log(`| query | raw: ms | raw: rows read | raw: buffers | rollup: ms | rollup: rows read | rollup: buffers | rows out |`);
    log(`|---|---|---|---|---|---|---|---|`);
    for (const q of QUERIES) {
      const raw = await explain(pool, q.raw);
      const rollup = await explain(pool, q.rollup);
      log(
        `| ${q.name} | ${raw.ms.toFixed(0)} | ${raw.rowsRead.toLocaleString('en-US')} | ${raw.buffers.toLocaleString('en-US')} | ` +
          `${rollup.ms.toFixed(1)} | ${rollup.rowsRead.toLocaleString('en-US')} | ${rollup.buffers.toLocaleString('en-US')} | ${raw.rowsOut} / ${rollup.rowsOut} |`,
      );
    }
    const err = await percentileError(pool);
    log('');
    log(
      `weekly percentiles from daily rollups vs exact: median relative difference p50 ${(err.p50 * 100).toFixed(1)} %, p90 ${(err.p90 * 100).toFixed(1)} %`,
    );

    // Refreshes: a plain one (the whole view rebuilt, readers blocked), and the product's
    // concurrent one after a window (one day) was reloaded.
    t0 = performance.now();
    await pool.query(`REFRESH MATERIALIZED VIEW ${ROLLUP}`);
    log(`REFRESH MATERIALIZED VIEW (full, plain): ${secs(performance.now() - t0)}`);
    await withClient(pool, async (client) => {
      await client.query('BEGIN');
      await client.query(
        `UPDATE ${RAW} SET conversation_first_response_time = conversation_first_response_time + 1
          WHERE conversation_started_at >= '2026-10-30' AND conversation_started_at < '2026-10-31'`,
      );
      await markRollupDirty(client, 'conversation');
      await client.query('COMMIT');
    });
    t0 = performance.now();
    const refreshed = await refreshDailyRollups(pool, settings);
    log(
      `REFRESH MATERIALIZED VIEW CONCURRENTLY after one day reloaded (the product's refresh): ${secs(performance.now() - t0)} ` +
        `(${refreshed.map((r) => `${r.view}${r.error ? ` FAILED ${r.error}` : ''}`).join(', ')})`,
    );
    log(
      `load average after: ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA}_bi CASCADE`).catch(() => {});
    await pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`).catch(() => {});
    await pool.end();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

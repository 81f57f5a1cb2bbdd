import { beforeEach, describe, expect, it } from 'vitest';
import { runReports } from '../src/cli/run-reports.js';
import { migrate } from '../src/db/migrate.js';
import type { PlanRequest } from '../src/pipeline/plan-exports.js';
import { refreshRollups } from '../src/jobs/refresh-rollups.js';
import { rollupDefinitions } from '../src/sinks/rollup-definition.js';
import { reportStatus } from '../src/pipeline/status-report.js';
import { ensureRollups, updateDailyRollups } from '../src/pipeline/update-rollups.js';
import { runCli } from './helpers/cli-process.js';
import { useTestEnv, type TestEnv } from './helpers/test-env.js';

const DAY = 86_400_000;
const D0 = Math.floor(Date.now() / DAY) * DAY - 20 * DAY;
const ZONE = 'America/New_York';
const quiet = { progress: () => {} };

// Days are cut in the workspace's zone: one that is not UTC, so a wrong cut shows.
const getEnv = useTestEnv({ fake: { workspace: { timezone: ZONE } } });
let env: TestEnv;
beforeEach(() => {
  env = getEnv();
});

const backfill = (days: [number, number], extra: Partial<PlanRequest> = {}) =>
  runReports(
    env.ctx,
    { mode: 'backfill', range: { start: D0 + days[0] * DAY, end: D0 + days[1] * DAY }, datasetIds: ['conversation'], ...extra },
    quiet,
  );

const view = () => `"${env.config.biSchema}".daily_conversation`;

interface DayAggregate {
  day: string;
  row_count: string;
  frt_count: string;
  frt_avg: number | null;
  frt_p50: number | null;
  frt_p90: number | null;
}

/** The same aggregates computed from the raw table, per day in the workspace zone. */
const rawByDay = () =>
  env.query<DayAggregate>(
    `SELECT to_char((conversation_started_at AT TIME ZONE '${ZONE}')::date, 'YYYY-MM-DD') AS day, count(*) AS row_count,
            count(conversation_first_response_time) AS frt_count, avg(conversation_first_response_time)::float8 AS frt_avg,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY conversation_first_response_time) AS frt_p50,
            percentile_cont(0.9) WITHIN GROUP (ORDER BY conversation_first_response_time) AS frt_p90
       FROM report_conversation GROUP BY 1 ORDER BY 1`,
  );
const rollupByDay = () =>
  env.query<DayAggregate>(
    `SELECT to_char(day, 'YYYY-MM-DD') AS day, row_count, conversation_first_response_time_count AS frt_count,
            conversation_first_response_time_avg AS frt_avg, conversation_first_response_time_p50 AS frt_p50,
            conversation_first_response_time_p90 AS frt_p90
       FROM ${view()} WHERE dimension = 'all' ORDER BY day`,
  );

function expectSameAggregates(got: DayAggregate[], want: DayAggregate[]): void {
  expect(got.map((r) => [r.day, r.row_count, r.frt_count])).toEqual(want.map((r) => [r.day, r.row_count, r.frt_count]));
  for (const [i, w] of want.entries()) {
    for (const k of ['frt_avg', 'frt_p50', 'frt_p90'] as const) {
      if (w[k] === null) expect(got[i]![k]).toBeNull();
      else expect(got[i]![k]).toBeCloseTo(w[k], 6);
    }
  }
}

const rollupState = async () =>
  (
    await env.query<{ load_seq: string; refreshed_seq: string; refresh_count: string; view_name: string | null }>(
      `SELECT load_seq, refreshed_seq, refresh_count, view_name FROM etl_rollups WHERE dataset_id = 'conversation'`,
    )
  )[0]!;

describe('daily rollups', () => {
  it('are made after a backfill, equal the raw aggregates per workspace day, and are refreshed once per run', async () => {
    await backfill([0, 4]);
    const want = await rawByDay();
    expect(want.length).toBeGreaterThanOrEqual(4); // 4 UTC days straddle 5 New York days
    expectSameAggregates(await rollupByDay(), want);
    // Every breakdown adds up to the day's rows; channel counts equal the raw table's.
    const breakdowns = await env.query<{ dimension: string; total: string }>(
      `SELECT dimension, sum(row_count) AS total FROM ${view()} GROUP BY dimension ORDER BY dimension`,
    );
    const total = String(want.reduce((s, r) => s + Number(r.row_count), 0));
    expect(breakdowns).toEqual(
      ['all', 'channel', 'current_conversation_state', 'team', 'teammate'].map((dimension) => ({ dimension, total })),
    );
    const byChannel = await env.query<{ day: string; value: string; n: string }>(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, value, row_count AS n FROM ${view()} WHERE dimension = 'channel' ORDER BY 1, 2`,
    );
    const rawChannel = await env.query<{ day: string; value: string; n: string }>(
      `SELECT to_char((conversation_started_at AT TIME ZONE '${ZONE}')::date, 'YYYY-MM-DD') AS day,
              coalesce(nullif(channel, ''), '(none)') AS value, count(*) AS n FROM report_conversation GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    expect(byChannel).toEqual(rawChannel);
    const first = await rollupState();
    expect(first).toMatchObject({ load_seq: '4', refreshed_seq: '4', view_name: 'daily_conversation' });

    // A re-run with changed data: 3 windows reloaded, the rollup refreshed once, and equal to the raw table again.
    env.fake.setDataRevision(1);
    await backfill([1, 4]);
    const after = await rawByDay();
    expect(after).not.toEqual(want);
    expectSameAggregates(await rollupByDay(), after);
    const second = await rollupState();
    expect(second).toMatchObject({ load_seq: '7', refreshed_seq: '7' });
    expect(Number(second.refresh_count) - Number(first.refresh_count)).toBe(1);

    // Nothing loaded since: nothing to refresh.
    expect((await updateDailyRollups(env.ctx)).refreshed).toEqual([]);
  }, 120_000);

  it('a load committed after the last refresh leaves the dataset dirty, and the next refresh takes it', async () => {
    await backfill([0, 1]);
    // A window loaded by a process whose run did not refresh (the workers' schedule does it later).
    await env.query(`UPDATE etl_rollups SET load_seq = load_seq + 1 WHERE dataset_id = 'conversation'`);
    await env.query(`DELETE FROM report_conversation WHERE conversation_id IN (SELECT conversation_id FROM report_conversation LIMIT 2)`);
    const statusOf = async () => (await reportStatus(env.ctx.pool)).find((d) => d.datasetId === 'conversation')!.rollup;
    expect(await statusOf()).toMatchObject({ view: `${env.config.biSchema}.daily_conversation`, loadsSinceRefresh: 1, lastError: null });
    const r = await updateDailyRollups(env.ctx);
    expect(r.refreshed.map((x) => [x.datasetId, x.concurrently, x.error])).toEqual([['conversation', true, null]]);
    expectSameAggregates(await rollupByDay(), await rawByDay());
    const s = await rollupState();
    expect(s.load_seq).toBe(s.refreshed_seq);
    expect(await statusOf()).toMatchObject({ loadsSinceRefresh: 0 });
  }, 60_000);

  it('a measure column widened to text, or a column dropped, never breaks a load or migrate: the view is remade without it', async () => {
    await backfill([0, 1]);
    const t = (s: number) => new Date(D0 + s * 1000).toISOString().replace('T', ' ').slice(0, 19);
    // A value that is not a number: the loader widens the column to text (the view on it must not block that).
    env.fake.setRows('conversation', [
      { conversation_id: '1', conversation_started_at: t(3600), channel: 'Chat', conversation_first_response_time: '60' },
      { conversation_id: '2', conversation_started_at: t(7200), channel: 'Email', conversation_first_response_time: 'n/a' },
    ]);
    const summary = await backfill([0, 1]);
    expect(summary.progress).toMatchObject({ loaded: 1, failed: 0 });
    // Materialized views are not in information_schema.
    const cols = await env.query<{ column_name: string }>(
      `SELECT attname AS column_name FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped`,
      [view()],
    );
    const names = cols.map((c) => c.column_name);
    expect(names).not.toContain('conversation_first_response_time_p50');
    expect(names).toContain('conversation_time_to_close_p50');
    expect(await env.query(`SELECT value, row_count FROM ${view()} WHERE dimension = 'channel' ORDER BY value`)).toEqual([
      { value: 'Chat', row_count: '1' },
      { value: 'Email', row_count: '1' },
    ]);

    // A column dropped by hand (CASCADE drops the view with it): migrate remakes the view without it.
    await env.query(`ALTER TABLE report_conversation DROP COLUMN channel CASCADE`);
    await migrate(env.ctx.pool, env.schema);
    const ensured = await ensureRollups(env.ctx);
    expect(ensured).toMatchObject({ created: ['conversation'], errors: [] });
    const dims = await env.query<{ dimension: string }>(`SELECT DISTINCT dimension FROM ${view()} ORDER BY 1`);
    expect(dims.map((d) => d.dimension)).toEqual(['all', 'current_conversation_state', 'team', 'teammate']);
    // Ensuring again changes nothing.
    expect(await ensureRollups(env.ctx)).toMatchObject({ created: [], dropped: [], errors: [] });
  }, 120_000);

  it("concurrent refreshes of a dirty dataset refresh it once; the workers' job refreshes only dirty datasets", async () => {
    await backfill([0, 1]);
    const before = Number((await rollupState()).refresh_count);
    await env.query(`UPDATE etl_rollups SET load_seq = load_seq + 1 WHERE dataset_id = 'conversation'`);
    const other = env.newContext();
    const [a, b] = await Promise.all([refreshRollups(env.ctx), refreshRollups(other)]);
    expect([...a.refreshed, ...b.refreshed].map((r) => [r.datasetId, r.error])).toEqual([['conversation', null]]);
    expect(Number((await rollupState()).refresh_count)).toBe(before + 1);
    expect((await refreshRollups(env.ctx)).refreshed).toEqual([]);
  }, 60_000);

  it('another ETL_ROLLUP_TIMEZONE remakes the view with days cut in that zone', async () => {
    await backfill([0, 2]);
    const utc = env.newContext({ ETL_ROLLUP_TIMEZONE: 'UTC' });
    const ensured = await ensureRollups(utc);
    expect(ensured.errors).toEqual([]);
    expect(ensured.created).toContain('conversation'); // every dataset's view: the zone is in each
    const got = await env.query<{ day: string; n: string }>(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, row_count AS n FROM ${view()} WHERE dimension = 'all' ORDER BY day`,
    );
    const want = await env.query<{ day: string; n: string }>(
      `SELECT to_char((conversation_started_at AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD') AS day, count(*) AS n
         FROM report_conversation GROUP BY 1 ORDER BY 1`,
    );
    expect(got).toEqual(want);
    expect(got.length).toBe(2); // two UTC days, where New York days were three

    // Another ETL_BI_SCHEMA moves the views there.
    const moved = env.newContext({ ETL_ROLLUP_TIMEZONE: 'UTC', ETL_BI_SCHEMA: `${env.schema}_bi2` });
    try {
      expect((await ensureRollups(moved)).created).toContain('conversation');
      const where = await env.query<{ old: string | null; now: string | null }>(
        `SELECT to_regclass($1)::text AS old, to_regclass($2)::text AS now`,
        [view(), `"${env.schema}_bi2".daily_conversation`],
      );
      expect(where).toEqual([{ old: null, now: `${env.schema}_bi2.daily_conversation` }]);
    } finally {
      await env.query(`DROP SCHEMA IF EXISTS "${env.schema}_bi2" CASCADE`);
    }
  }, 60_000);

  it('migrate and refresh-rollups (CLI) make and refresh the views', async () => {
    await backfill([0, 1]);
    await env.query(`DROP MATERIALIZED VIEW ${view()}`);
    const migrated = await runCli(['migrate'], env.childEnv);
    expect(migrated.code, migrated.output).toBe(0);
    expect(migrated.output).toMatch(new RegExp(`Daily rollups in "${env.config.biSchema}": 1 created, \\d+ up to date, 0 dropped`));
    const refreshed = await runCli(['refresh-rollups', '--all', '--dataset', 'conversation'], env.childEnv);
    expect(refreshed.code, refreshed.output).toBe(0);
    expect(refreshed.output).toMatch(/0 created, 1 refreshed/);
    expect(refreshed.output).toMatch(new RegExp(`${env.config.biSchema}\\.daily_conversation: [\\d.]+ s \\(concurrently\\)`));
    expect(Number((await rollupState()).refresh_count)).toBe(1);
    const unknown = await runCli(['refresh-rollups', '--dataset', 'nope'], env.childEnv);
    expect(unknown.code).toBe(2);
    expect(unknown.output).toMatch(/no dataset nope in the catalogue \(known: .*conversation/);
  }, 120_000);

  it('breakdowns and durations of every dataset of the fake, as the README lists them', async () => {
    await backfill([0, 1], { datasetIds: [] });
    const defs = await rollupDefinitions(env.ctx.pool, env.schema, 'UTC');
    const got = Object.fromEntries(
      defs.map(({ datasetId, definition: d }) => [
        datasetId,
        { dimensions: d!.dimensions.map((x) => `${x.dimension}=${x.column}`), measures: d!.measures.map((m) => m.column) },
      ]),
    );
    expect(got).toEqual({
      admin_status_change: { dimensions: ['teammate=teammate_id', 'teammate_status=teammate_status'], measures: ['time_on_status'] },
      call_team_stats: {
        dimensions: ['team=call_team_id', 'call_direction=call_direction'],
        measures: ['call_answer_time', 'call_queue_time', 'call_talk_time'],
      },
      consolidated_conversation_part: {
        dimensions: [
          'channel=channel',
          'team=action_team_assignee_id',
          'teammate=action_performed_by_teammate_id',
          'action_type=action_type',
        ],
        measures: ['response_time', 'response_time_in_office_hours', 'teammate_first_response_time', 'team_time_to_close'],
      },
      conversation: {
        dimensions: [
          'channel=channel',
          'team=currently_assigned_team_id',
          'teammate=currently_assigned_teammate_id',
          'current_conversation_state=current_conversation_state',
        ],
        measures: ['conversation_first_response_time', 'first_response_time_excluding_bot_inbox', 'conversation_time_to_close'],
      },
      conversation_rating_sent: {
        dimensions: ['channel=channel', 'teammate=rated_teammate_id', 'rated_agent_type=rated_agent_type'],
        measures: [],
      },
      conversation_state: {
        dimensions: [
          'channel=channel',
          'team=currently_assigned_team_id',
          'teammate=currently_assigned_teammate_id',
          'conversation_state=conversation_state',
        ],
        measures: [],
      },
      tickets: {
        dimensions: ['teammate=ticket_created_by_teammate_id', 'current_ticket_state_category=current_ticket_state_category'],
        measures: ['ticket_time_to_resolve'],
      },
    });
  }, 120_000);
});

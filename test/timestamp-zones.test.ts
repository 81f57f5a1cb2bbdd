import { afterEach, describe, expect, it } from 'vitest';
import { runReports } from '../src/cli/run-reports.js';
import type { PlanRequest } from '../src/pipeline/plan-exports.js';
import { createTestEnv, type TestEnv } from './helpers/test-env.js';

/**
 * Intercom does not say which zone the export's `YYYY-MM-DD HH:MM:SS` timestamps are in (brief §10).
 * Whatever the fake writes (UTC, a positive or a negative offset, across a DST change), the tables
 * must equal its truth exactly after any sequence of re-exports with changing window layouts.
 */

const DAY = 86_400_000;
const HOUR = 3_600_000;
// Fixed dates around 2026's autumn DST changes (Europe 25 Oct, US 1 Nov); the fake's retention is
// widened so that they stay exportable whenever the suite runs.
const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`);
const RETENTION = { ETL_RETENTION_DAYS: '3650' };
const quiet = { progress: () => {} };

const DATASETS = [
  { id: 'conversation', table: 'report_conversation', key: 'conversation_id', time: 'conversation_started_at' },
  { id: 'consolidated_conversation_part', table: 'report_consolidated_conversation_part', key: 'action_id', time: 'action_time' },
] as const;

let env: TestEnv | undefined;
afterEach(async () => {
  await env?.cleanup();
  env = undefined;
});

/** Whether the fake reads `end_time` inclusively (Intercom's default in the fake) in the current test. */
let endInclusive = true;

async function start(workspaceZone: string, csvZone: string, extraEnv: Record<string, string> = {}, inclusive = true): Promise<TestEnv> {
  endInclusive = inclusive;
  env = await createTestEnv(`tz ${csvZone}`, {
    fake: {
      workspace: { timezone: workspaceZone },
      export: { timestampZone: csvZone, retentionDays: 3650, rowsPerDay: 24, endInclusive: inclusive, latencyMs: 50 },
    },
    env: { ...RETENTION, ...extraEnv },
  });
  return env;
}

function backfill(e: TestEnv, from: string, to: string, windowMs: number, extra: Partial<PlanRequest> = {}) {
  return runReports(
    e.ctx,
    { mode: 'backfill', range: { start: day(from), end: day(to) }, datasetIds: DATASETS.map((d) => d.id), windowMs, ...extra },
    quiet,
  );
}

/** Table rows as (id, wall-clock text in the CSV's zone), sorted: exactly what the CSV said. */
async function tableRows(e: TestEnv, ds: (typeof DATASETS)[number], zone: string): Promise<string[]> {
  const rows = await e.query<{ k: string; t: string }>(
    `SELECT ${ds.key}::text AS k, to_char(${ds.time} AT TIME ZONE $1, 'YYYY-MM-DD HH24:MI:SS') AS t FROM ${ds.table}`,
    [zone],
  );
  return rows.map((r) => `${r.k} ${r.t}`).sort();
}

/** What the fake holds for [from, to): asked as `[from, to − 1 s]` of an inclusive fake, `[from, to)` of an exclusive one. */
function truth(e: TestEnv, ds: (typeof DATASETS)[number], from: string, to: string): string[] {
  return e.fake
    .expectedRows(ds.id, day(from) / 1000, day(to) / 1000 - (endInclusive ? 1 : 0))
    .map((r) => `${r[ds.key]} ${r[ds.time]}`)
    .sort();
}

async function expectTablesEqualTruth(e: TestEnv, zone: string, from: string, to: string): Promise<void> {
  for (const ds of DATASETS) {
    const got = await tableRows(e, ds, zone);
    const want = truth(e, ds, from, to);
    expect(new Set(got).size, `${ds.id}: no duplicate`).toBe(got.length);
    expect(got, `${ds.id}: rows equal the fake's`).toEqual(want);
  }
}

describe('CSV timestamps in an unknown zone', () => {
  for (const { name, workspaceZone, csvZone } of [
    { name: 'UTC (workspace in Berlin)', workspaceZone: 'Europe/Berlin', csvZone: 'UTC' },
    { name: 'the workspace zone, positive offset (Europe/Berlin)', workspaceZone: 'Europe/Berlin', csvZone: 'workspace' },
    { name: 'the workspace zone, negative offset (America/New_York)', workspaceZone: 'America/New_York', csvZone: 'workspace' },
  ]) {
    it(`loads every row exactly once through changing window layouts: CSV in ${name}`, { timeout: 180_000 }, async () => {
      const e = await start(workspaceZone, csvZone);
      const zone = csvZone === 'workspace' ? workspaceZone : csvZone;

      // 1 d windows over both DST changes.
      expect((await backfill(e, '2026-10-22', '2026-11-05', DAY)).progress.failed).toBe(0);
      await expectTablesEqualTruth(e, zone, '2026-10-22', '2026-11-05');
      const detected = await e.query<{ dataset_id: string; timestamp_zone: string; timestamp_zone_source: string }>(
        'SELECT dataset_id, timestamp_zone, timestamp_zone_source FROM etl_datasets WHERE dataset_id = ANY($1) ORDER BY dataset_id',
        [DATASETS.map((d) => d.id)],
      );
      expect(detected.map((d) => [d.timestamp_zone, d.timestamp_zone_source])).toEqual([
        [zone, 'detected'],
        [zone, 'detected'],
      ]);

      // 12 h windows inside the 1 d ones (the European DST day included): rows move to the new windows.
      await backfill(e, '2026-10-24', '2026-10-27', 12 * HOUR);
      await expectTablesEqualTruth(e, zone, '2026-10-22', '2026-11-05');
      const provenance = await e.query<{ hours: number }>(
        `SELECT DISTINCT extract(epoch FROM _window_end - _window_start) / 3600 AS hours FROM report_conversation
          WHERE conversation_started_at >= '2026-10-24T00:00:00Z' AND conversation_started_at < '2026-10-27T00:00:00Z'`,
      );
      expect(provenance.map((p) => Number(p.hours))).toEqual([12]);

      // 7 d windows over 12 h and 1 d ones.
      await backfill(e, '2026-10-26', '2026-11-02', 7 * DAY);
      await expectTablesEqualTruth(e, zone, '2026-10-22', '2026-11-05');

      // 1 d windows inside the 7 d one: its rows (zone confirmed) are replaced by their time value.
      const plan = await backfill(e, '2026-10-28', '2026-10-30', DAY);
      expect(plan.progress.total).toBe(2 * 2);
      await expectTablesEqualTruth(e, zone, '2026-10-22', '2026-11-05');

      const checks = await e.query<{ timestamp_check: string; timestamp_zone: string }>(
        `SELECT DISTINCT timestamp_check, timestamp_zone FROM etl_export_windows WHERE status = 'loaded'`,
      );
      expect(checks).toEqual([{ timestamp_check: 'fits', timestamp_zone: zone }]);
      // Every day has a row at exactly 00:00:00 UTC: an inclusive end_time sent it to two windows.
      const seen = await e.query(`SELECT 1 FROM etl_datasets WHERE end_time_inclusive_seen_at IS NOT NULL`);
      expect(seen.length).toBe(2);
    });
  }

  it('loses no row in the last second of a window when Intercom reads end_time exclusively', async () => {
    // The fake's rows include one at 23:59:59 UTC every day: an export asking for end − 1 s would miss it.
    const e = await start('Europe/Berlin', 'workspace', {}, false);
    await backfill(e, '2026-10-22', '2026-10-26', DAY);
    await expectTablesEqualTruth(e, 'Europe/Berlin', '2026-10-22', '2026-10-26');
    await backfill(e, '2026-10-24', '2026-10-26', 12 * HOUR);
    await expectTablesEqualTruth(e, 'Europe/Berlin', '2026-10-22', '2026-10-26');
    const lastSecond = await e.query(
      `SELECT 1 FROM report_conversation WHERE to_char(conversation_started_at AT TIME ZONE 'UTC', 'HH24:MI:SS') = '23:59:59'`,
    );
    expect(lastSecond.length).toBe(4);
    expect(await e.query(`SELECT 1 FROM etl_datasets WHERE end_time_inclusive_seen_at IS NOT NULL`)).toEqual([]);
  });

  it('a nightly run re-exports its lookback days without touching the day before them (CSV in Berlin)', async () => {
    const e = await start('Europe/Berlin', 'workspace', { ETL_LOOKBACK_DAYS: '2' });
    const today = Math.floor(Date.now() / DAY) * DAY;
    const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    await backfill(e, iso(today - 5 * DAY), iso(today), DAY);
    const nightly = await runReports(e.ctx, { mode: 'nightly', datasetIds: DATASETS.map((d) => d.id) }, quiet);
    expect(nightly.progress).toMatchObject({ total: 4, loaded: 4 });
    await expectTablesEqualTruth(e, 'Europe/Berlin', iso(today - 5 * DAY), iso(today));
  });

  it('loads rows that fit no candidate zone, and flags their windows with the offset that would fit', async () => {
    // The CSV is in Tokyo time (+09:00); the candidates are UTC and the workspace's Europe/Berlin.
    const e = await start('Europe/Berlin', 'Asia/Tokyo');
    await backfill(e, '2026-10-22', '2026-10-24', DAY);
    // Nothing is lost (the zone is unknown, so a row at exactly a window's end may be loaded twice);
    // read as UTC, the stored values show the CSV's text as it was.
    for (const ds of DATASETS) {
      const got = new Set(await tableRows(e, ds, 'UTC'));
      expect(truth(e, ds, '2026-10-22', '2026-10-24').filter((r) => !got.has(r))).toEqual([]);
    }
    const flagged = await e.query<{ timestamp_check: string; timestamp_flag: string }>(
      `SELECT timestamp_check, timestamp_flag FROM etl_export_windows WHERE dataset_id = 'conversation' ORDER BY window_start`,
    );
    expect(flagged.map((f) => f.timestamp_check)).toEqual(['no_fit', 'no_fit']);
    expect(flagged[0]!.timestamp_flag).toContain('+09:00 to +09:00');
    const ds = await e.query<{ timestamp_zone: string | null }>(
      `SELECT timestamp_zone FROM etl_datasets WHERE dataset_id = 'conversation'`,
    );
    expect(ds[0]!.timestamp_zone).toBeNull();
  });

  it('uses an explicit ETL_TIMESTAMP_TIMEZONE as it is', async () => {
    const e = await start('UTC', 'America/New_York', { ETL_TIMESTAMP_TIMEZONE: 'America/New_York' });
    await backfill(e, '2026-10-31', '2026-11-03', DAY);
    await expectTablesEqualTruth(e, 'America/New_York', '2026-10-31', '2026-11-03');
    const checks = await e.query<{ timestamp_check: string; timestamp_zone: string }>(
      `SELECT DISTINCT timestamp_check, timestamp_zone FROM etl_export_windows`,
    );
    expect(checks).toEqual([{ timestamp_check: 'fits', timestamp_zone: 'America/New_York' }]);
  });

  it('keeps the time attribute a timestamp, and fails a window whose time value does not parse, naming it', async () => {
    const e = await start('UTC', 'UTC');
    await backfill(e, '2026-10-22', '2026-10-23', DAY);
    const types = await e.query<{ column_name: string; data_type: string }>(
      `SELECT column_name, data_type FROM information_schema.columns
        WHERE table_schema = $1 AND column_name IN ('action_time', 'conversation_started_at') ORDER BY column_name`,
      [e.schema],
    );
    expect(types.map((t) => t.data_type)).toEqual(['timestamp with time zone', 'timestamp with time zone']);

    const before = await tableRows(e, DATASETS[1], 'UTC');
    e.fake.overrideNextDownload('consolidated_conversation_part', 'action_id,action_time\n1,2026-10-22 10:00:00\n2,around noon\n');
    const twoColumns = e.newContext({
      ETL_DATASET_ATTRIBUTES: JSON.stringify({ consolidated_conversation_part: ['action_id', 'action_time'] }),
    });
    const summary = await runReports(
      twoColumns,
      {
        mode: 'backfill',
        range: { start: day('2026-10-22'), end: day('2026-10-23') },
        datasetIds: ['consolidated_conversation_part'],
        windowMs: DAY,
      },
      quiet,
    );
    expect(summary.progress.failed).toBe(1);
    expect(summary.failures[0]!.error).toMatch(/action_time.*line 3.*around noon/);
    expect(await tableRows(e, DATASETS[1], 'UTC')).toEqual(before); // nothing half-written
  });
});

import { beforeEach, describe, expect, it } from 'vitest';
import { runReports } from '../src/cli/run-reports.js';
import { planReportExports } from '../src/pipeline/plan-exports.js';
import { syncSchedules } from '../src/schedules/index.js';
import { connectIntercom } from '../src/context.js';
import { startWorkers } from '../src/jobs/workers.js';
import { waitFor } from './helpers/cli-process.js';
import { useTestEnv, type TestEnv } from './helpers/test-env.js';

const DAY = 86_400_000;
const TODAY = Math.floor(Date.now() / DAY) * DAY;
const D0 = TODAY - 10 * DAY;
const quiet = { progress: () => {} };

const getEnv = useTestEnv({ env: { ETL_START_DATE: new Date(TODAY - 5 * DAY).toISOString().slice(0, 10) } });
let env: TestEnv;
beforeEach(() => {
  env = getEnv();
});

const conversationOnly = { datasetIds: ['conversation'] };

describe('reporting pipeline: resilience', () => {
  it('backs off on 429s and 5xx without failing the window', async () => {
    env.fake.injectFailure({ method: 'POST', path: '/export/reporting_data/enqueue', status: 429, count: 2 });
    env.fake.injectFailure({ method: 'GET', path: '/export/reporting_data/get_datasets', status: 503, count: 1 });
    env.fake.injectFailure({ method: 'GET', path: /^\/export\/reporting_data\/(?!get_datasets)/, status: 500, count: 1 });
    env.fake.injectFailure({ path: '/download/reporting_data/', status: 502, count: 1 });
    const summary = await runReports(env.ctx, { mode: 'backfill', range: { start: D0, end: D0 + DAY }, ...conversationOnly }, quiet);
    expect(summary.progress).toMatchObject({ loaded: 1, failed: 0 });
    const codes = env.fake.stats().requests.map((r) => r.status);
    expect(codes.filter((c) => c === 429).length).toBe(2);
    expect(codes).toContain(503);
    expect(codes).toContain(500);
    expect(codes).toContain(502);
  });

  it('exports again when the download has expired (404)', async () => {
    env.fake.injectFailure({ path: '/download/reporting_data/', status: 404, count: 1 });
    const summary = await runReports(env.ctx, { mode: 'backfill', range: { start: D0, end: D0 + DAY }, ...conversationOnly }, quiet);
    expect(summary.progress.loaded).toBe(1);
    const [w] = await env.query<{ enqueue_count: number; export_failures: number }>(
      'SELECT enqueue_count, export_failures FROM etl_export_windows',
    );
    // An expired download counts towards ETL_MAX_EXPORT_FAILURES (a download that is always 404 must not loop).
    expect(w).toEqual({ enqueue_count: 2, export_failures: 1 });
  });

  it('gives up on a window after ETL_MAX_EXPORT_FAILURES failed exports, and says so', async () => {
    const ctx = env.newContext({ ETL_MAX_EXPORT_FAILURES: '1' });
    env.fake.failNextExports(2);
    const summary = await runReports(ctx, { mode: 'backfill', range: { start: D0, end: D0 + DAY }, ...conversationOnly }, quiet);
    expect(summary.progress.failed).toBe(1);
    expect(summary.failures[0]!.error).toMatch(/ended failed; gave up after 2 failed exports/);
    expect(await env.query('SELECT 1 FROM report_conversation')).toEqual([]);
  });

  it('a new attribute in get_datasets adds a column and is exported from then on', async () => {
    await runReports(env.ctx, { mode: 'backfill', range: { start: D0, end: D0 + DAY }, ...conversationOnly }, quiet);
    env.fake.addAttribute('conversation', {
      id: 'Escalation Reason',
      name: 'Escalation Reason',
      qualifiedId: 'conversation.Escalation Reason',
    });
    await runReports(env.ctx, { mode: 'backfill', range: { start: D0 + DAY, end: D0 + 2 * DAY }, ...conversationOnly }, quiet);
    const [attr] = await env.query<{ column_name: string; first_seen_at: Date }>(
      `SELECT column_name, first_seen_at FROM etl_attributes WHERE attribute_id = 'Escalation Reason'`,
    );
    expect(attr!.column_name).toBe('escalation_reason');
    const [w] = await env.query<{ attribute_ids: string[] }>(
      'SELECT attribute_ids FROM etl_export_windows ORDER BY window_start DESC LIMIT 1',
    );
    expect(w!.attribute_ids).toContain('Escalation Reason');
  });
});

describe('nightly schedule', () => {
  it('registers the nightly Job Scheduler with the configured cron and zone', async () => {
    const ctx = env.newContext({ ETL_SCHEDULE_CRON: '15 4 * * *', ETL_SCHEDULE_TIMEZONE: 'Europe/Berlin' });
    await syncSchedules(ctx);
    await syncSchedules(ctx); // idempotent
    const schedulers = await ctx.queues.control.getJobSchedulers();
    expect(schedulers.length).toBe(3); // and the reconciler, and the rollups refresh
    expect(schedulers.find((s) => s.key === 'nightly-sync')).toMatchObject({
      key: 'nightly-sync',
      pattern: '15 4 * * *',
      tz: 'Europe/Berlin',
      name: 'nightly-sync',
    });
  });

  it('first run starts at ETL_START_DATE; later runs re-export the last N days up to the end of yesterday', async () => {
    const first = await planReportExports(env.ctx, { mode: 'nightly', ...conversationOnly });
    // Queued newest first (dashboards are useful early).
    expect(first.windows.map((w) => w.window.start)).toEqual([1, 2, 3, 4, 5].map((d) => TODAY - d * DAY));
    await runReports(env.ctx, { mode: 'backfill', range: { start: TODAY - 5 * DAY, end: TODAY }, ...conversationOnly }, quiet);
    const second = await planReportExports(env.ctx, { mode: 'nightly', ...conversationOnly });
    expect(second.windows.map((w) => w.window.start)).toEqual([1, 2, 3].map((d) => TODAY - d * DAY));
    // A worker down for a week catches up from its last loaded window.
    const later = await planReportExports(env.ctx, { mode: 'nightly', now: TODAY + 7 * DAY, ...conversationOnly });
    expect(Math.min(...later.windows.map((w) => w.window.start))).toBe(TODAY);
    expect(Math.max(...later.windows.map((w) => w.window.end))).toBe(TODAY + 7 * DAY);
  });

  it('the nightly job syncs all three streams: reporting windows, a companies scroll and a tickets run', { timeout: 180_000 }, async () => {
    const workers = startWorkers(env.ctx);
    try {
      await connectIntercom(env.ctx);
      await env.ctx.queues.control.add('nightly-sync', {});
      await waitFor(
        async () => {
          const runs = await env.query<{ stream: string }>(`SELECT stream FROM etl_sync_runs WHERE status = 'completed'`);
          const windows = await env.query<{ status: string }>('SELECT status FROM etl_export_windows');
          return runs.length === 2 && windows.length > 0 && windows.every((w) => w.status === 'loaded');
        },
        150_000, // 210 windows of 7 datasets (30 days each) and two entity runs; slow on a loaded machine
        'the nightly work to finish',
      );
    } finally {
      await workers.close();
    }
    const windows = await env.query<{ dataset_id: string }>('SELECT DISTINCT dataset_id FROM etl_export_windows');
    expect(windows.length).toBeGreaterThan(3); // every dataset of the catalogue
    expect(Number((await env.query<{ n: string }>('SELECT count(*) AS n FROM companies'))[0]!.n)).toBe(env.fake.companies().length);
    expect(Number((await env.query<{ n: string }>('SELECT count(*) AS n FROM tickets'))[0]!.n)).toBe(env.fake.tickets().length);
  });

  it('clamps starts before the retention period, with a warning', async () => {
    const ctx = env.newContext({ ETL_RETENTION_DAYS: '3' });
    const plan = await planReportExports(ctx, { mode: 'backfill', range: { start: TODAY - 10 * DAY, end: TODAY }, ...conversationOnly });
    expect(plan.warnings[0]).toMatch(/before Intercom's 3-day reporting retention; starting at/);
    // Retention counts back from now; the first whole day inside it is the day before yesterday.
    expect(plan.windows.map((w) => w.window.start)).toEqual([TODAY - DAY, TODAY - 2 * DAY]);
  });
});

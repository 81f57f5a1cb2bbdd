import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectStatus, type StatusReport } from '../src/cli/status-command.js';
import { runCli } from './helpers/cli-process.js';
import { createTestEnv, type TestEnv } from './helpers/test-env.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const TODAY = Math.floor(Date.now() / DAY) * DAY;
const at = (days: number) => new Date(TODAY + days * DAY);
const iso = (days: number) => `${at(days).toISOString().slice(0, 19)}Z`;
const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

let env: TestEnv;
let failed = false;
beforeAll(async () => {
  env = await createTestEnv('status');
});
afterAll(async () => env.cleanup(failed));

/**
 * A ledger with overlapping windows of different layouts (7d, 1d, 12h), a window being re-exported
 * after it loaded once, a gap, a failed window, a failed window a loaded one covers since, a queued
 * window; a failed night; no companies or tickets run.
 */
async function seedLedger(): Promise<void> {
  await env.query(`TRUNCATE etl_export_windows, etl_nightly_runs, etl_sync_runs`);
  await env.query(
    `INSERT INTO etl_datasets (dataset_id, name, default_time_attribute_id, table_name)
     VALUES ('conversation', 'Conversation', 'created_at', 'report_conversation') ON CONFLICT DO NOTHING`,
  );
  const w = (from: number, to: number, status: string, loaded: boolean, rows: number | null, error: string | null = null) =>
    env.query(
      `INSERT INTO etl_export_windows (dataset_id, window_start, window_end, status, loaded_at, rows_loaded, error)
       VALUES ('conversation', $1, $2, $3, CASE WHEN $4 THEN now() END, $5, $6)`,
      [at(from), at(to), status, loaded, rows, error],
    );
  await w(-20, -13, 'loaded', true, 70);
  await w(-19, -18, 'failed', false, null, 'old failure, covered since');
  await w(-13, -12, 'loaded', true, 10);
  await w(-12, -11.5, 'exporting', true, 5); // loaded once, being re-exported now
  await w(-10, -9, 'failed', false, null, 'boom: export job failed');
  await w(-5, -4, 'queued', false, null);
  await w(-3, -1, 'loaded', true, 20);
  await env.query(
    `INSERT INTO etl_nightly_runs (run_id, status, attempts, started_at, finished_at, error)
     VALUES ('nightly-x', 'failed', 3, $1, $1, 'Intercom answered 503')`,
    [at(-1)],
  );
}

describe('status', () => {
  it('reports coverage: contiguous range, gaps, failed and in-flight windows, across window layouts', async (context) => {
    context.onTestFailed(() => void (failed = true));
    await seedLedger();
    const now = TODAY + 6 * HOUR;
    const s: StatusReport = JSON.parse(JSON.stringify(await collectStatus(env.ctx, 36 * HOUR, now)));
    const conv = s.reports.find((r) => r.datasetId === 'conversation')!;
    const start = `${new Date(env.config.reports.startDate).toISOString().slice(0, 19)}Z`;
    expect(conv.contiguous).toEqual({ from: iso(-20), to: iso(-11.5) });
    expect(conv.freshnessSeconds).toBe((now - at(-11.5).getTime()) / 1000);
    expect(env.config.reports.startDate).toBeLessThan(at(-20).getTime());
    expect(conv.gaps).toEqual([
      { from: start, to: iso(-20) },
      { from: iso(-11.5), to: iso(-3) },
      { from: iso(-1), to: iso(0) },
    ]);
    expect(conv.failedWindows).toEqual([
      { from: iso(-10), to: iso(-9), error: 'boom: export job failed', failedAt: expect.stringMatching(ISO_UTC) },
    ]);
    expect(conv.windowsFailed).toBe(1);
    expect(conv.inFlightWindows).toEqual([
      { from: iso(-12), to: iso(-11.5), status: 'exporting' },
      { from: iso(-5), to: iso(-4), status: 'queued' },
    ]);
    // The report table does not exist and was never analyzed: the ledger's rows_loaded, said so.
    expect(conv).toMatchObject({ rows: 100, rowsSource: 'ledger' });
    expect(s.generatedAt).toMatch(ISO_UTC);
    expect(s.nightly.last).toMatchObject({ status: 'failed', startedAt: iso(-1) });
    expect(s.queues.map((q) => Object.keys(q).sort())).toEqual(
      s.queues.map(() => ['active', 'delayed', 'failed', 'name', 'prioritized', 'waiting', 'workers']),
    );
    expect(s.queues.map((q) => q.workers)).toEqual([0, 0, 0]);
  });

  it('does not scan report tables: it answers while one is locked exclusively', async (context) => {
    context.onTestFailed(() => void (failed = true));
    await seedLedger();
    await env.query(`CREATE TABLE IF NOT EXISTS report_conversation (x int)`);
    await env.query(`ANALYZE report_conversation`);
    const locker = await env.ctx.pool.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE report_conversation IN ACCESS EXCLUSIVE MODE');
      const blocked = new Promise<'blocked'>((resolve) => setTimeout(() => resolve('blocked'), 10_000).unref());
      const result = await Promise.race([collectStatus(env.ctx, 36 * HOUR), blocked]);
      expect(result).not.toBe('blocked');
      const conv = (result as StatusReport).reports.find((r) => r.datasetId === 'conversation')!;
      expect(conv).toMatchObject({ rows: 0, rowsSource: 'estimate' });
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
      await env.query(`DROP TABLE report_conversation`);
    }
  });

  it('status --check: one line per problem and exit 1; one OK line and exit 0 when all is well', async (context) => {
    context.onTestFailed(() => void (failed = true));
    await seedLedger();
    const bad = await runCli(['status', '--check', '--max-age', '36h'], env.childEnv);
    expect(bad.code, bad.output).toBe(1);
    // The operator's lines are on stdout; stderr has the run's JSON log lines.
    const lines = bad.stdout.trim().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^STALE conversation: loaded contiguously only up to ${iso(-11.5)} .*max age 36\\.0h`));
    expect(lines[1]).toMatch(/^FAILED conversation: 1 failed window\(s\), latest .*: boom: export job failed/);
    expect(lines[2]).toMatch(/^STALE companies: no completed run yet/);
    expect(lines[3]).toMatch(/^STALE tickets: no completed run yet/);
    expect(lines[4]).toMatch(/^FAILED nightly run nightly-x .*Intercom answered 503/);
    expect(lines).toHaveLength(5);

    // A generous max age leaves only the failures.
    const lenient = await runCli(['status', '--check', '--max-age', '30d'], env.childEnv);
    expect(lenient.code).toBe(1);
    expect(lenient.output).not.toMatch(/STALE conversation/);
    expect(lenient.output).toMatch(/FAILED conversation/);

    // Everything loaded up to now, runs completed, the night completed: OK.
    await env.query(`DELETE FROM etl_export_windows`);
    await env.query(
      `INSERT INTO etl_export_windows (dataset_id, window_start, window_end, status, loaded_at, rows_loaded)
       VALUES ('conversation', $1, $2, 'loaded', now(), 5)`,
      [at(-40), at(0)],
    );
    await env.query(`UPDATE etl_nightly_runs SET status = 'completed', error = NULL`);
    await env.query(
      `INSERT INTO etl_sync_runs (run_id, stream, status, finished_at) VALUES ('c1', 'companies', 'completed', now()), ('t1', 'tickets', 'completed', now())`,
    );
    const ok = await runCli(['status', '--check'], env.childEnv);
    expect(ok.code, ok.output).toBe(0);
    expect(ok.stdout.trim()).toMatch(/^OK: [^\n]*$/);

    const bogus = await runCli(['status', '--check', '--max-age', 'soon'], env.childEnv);
    expect(bogus.code).toBe(2);
    expect(bogus.output).toMatch(/"soon" is not a duration/);
  });

  it('status --json prints the documented shape', async (context) => {
    context.onTestFailed(() => void (failed = true));
    await seedLedger();
    const run = await runCli(['status', '--json'], env.childEnv);
    expect(run.code, run.output).toBe(0);
    const s = JSON.parse(run.output) as StatusReport;
    expect(Object.keys(s).sort()).toEqual(
      ['entities', 'generatedAt', 'maxAgeSeconds', 'nextNightlyRun', 'nightly', 'problems', 'queues', 'reports', 'schema'].sort(),
    );
    expect(s.maxAgeSeconds).toBe(36 * 3600);
    expect(s.problems).toHaveLength(5);
    const conv = s.reports.find((r) => r.datasetId === 'conversation')!;
    expect(Object.keys(conv).sort()).toEqual(
      [
        'contiguous',
        'datasetId',
        'failedWindows',
        'freshnessSeconds',
        'gaps',
        'inFlightWindows',
        'lastFlag',
        'lastLoadedAt',
        'rollup',
        'rows',
        'rowsSource',
        'tableName',
        'timestampZone',
        'timestampZoneSource',
        'windowsFailed',
        'windowsFlagged',
        'windowsInFlight',
        'windowsLoaded',
      ].sort(),
    );
    expect(conv.lastLoadedAt).toMatch(ISO_UTC);
    expect(conv.gaps[1]).toEqual({ from: iso(-11.5), to: iso(-3) });
    expect(s.entities.map((e) => e.stream)).toEqual(['companies', 'tickets']);
    expect(s.nextNightlyRun).toBeNull();
  });

  it('text status lists gaps, failed and in-flight windows in one timestamp format', async (context) => {
    context.onTestFailed(() => void (failed = true));
    await seedLedger();
    const run = await runCli(['status'], env.childEnv);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain(`conversation: gap ${iso(-11.5)}/${iso(-3)}`);
    expect(run.output).toContain(`conversation: FAILED ${iso(-10)}/${iso(-9)} at `);
    expect(run.output).toContain(`conversation: queued ${iso(-5)}/${iso(-4)}`);
    expect(run.output).toMatch(/queues: reports 0 waiting, 0 active, 0 delayed, 0 failed, 0 worker\(s\)/);
    expect(run.output).toMatch(/nightly: not scheduled/);
    // Every timestamp printed is ISO 8601 UTC to the second.
    const stamps = run.output.match(/\d{4}-\d\d-\d\d[T ]\d\d:\d\d[:\d.]*Z?/g) ?? [];
    expect(stamps.length).toBeGreaterThan(5);
    for (const t of stamps) expect(t).toMatch(ISO_UTC);
  });

  it('never creates or migrates a schema: a missing one is a clear error, exit 1', async (context) => {
    context.onTestFailed(() => void (failed = true));
    const schema = `${env.schema}_absent`;
    const run = await runCli(['status'], { ...env.childEnv, PG_SCHEMA: schema });
    expect(run.code).toBe(1);
    expect(run.output).toMatch(
      new RegExp(`Schema "${schema}" \\(PG_SCHEMA\\) has no intercom-etl tables yet. Run \`intercom-etl migrate\``),
    );
    const exists = await env.query<{ n: string }>(`SELECT count(*) AS n FROM pg_namespace WHERE nspname = $1`, [schema]);
    expect(exists[0]!.n).toBe('0');
  });
});

describe('retry', () => {
  const day = (offset: number) => at(offset).toISOString().slice(0, 10);

  it('re-runs every failed window with its own bounds, then has nothing to retry', async (context) => {
    context.onTestFailed(() => void (failed = true));
    await env.query(`TRUNCATE etl_export_windows`);
    env.fake.overrideNextDownload('conversation', 'wrong_header\n1\n');
    const first = await runCli(
      ['backfill', '--from', day(-6), '--to', day(-6), '--dataset', 'conversation', '--window', '12h'],
      env.childEnv,
    );
    expect(first.code, first.output).toBe(1);
    const before = await env.query<{ window_start: Date; window_end: Date; status: string }>(
      `SELECT window_start, window_end, status FROM etl_export_windows WHERE dataset_id = 'conversation' ORDER BY window_start`,
    );
    expect(before.map((r) => r.status).sort()).toEqual(['failed', 'loaded']);
    const failedWindow = before.find((r) => r.status === 'failed')!;

    const retry = await runCli(['retry'], env.childEnv);
    expect(retry.code, retry.output).toBe(0);
    expect(retry.output).toMatch(/1 window\(s\) loaded, 0 failed/);
    const after = await env.query<{ window_start: Date; window_end: Date; status: string }>(
      `SELECT window_start, window_end, status FROM etl_export_windows WHERE dataset_id = 'conversation' ORDER BY window_start`,
    );
    expect(after).toHaveLength(2); // the same windows, no new layout
    expect(after.find((r) => r.window_start.getTime() === failedWindow.window_start.getTime())).toMatchObject({
      window_end: failedWindow.window_end,
      status: 'loaded',
    });

    const again = await runCli(['retry', '--dataset', 'conversation'], env.childEnv);
    expect(again.code).toBe(0);
    expect(again.output).toMatch(/No failed windows of conversation: nothing to retry/);
  });
});

import { beforeEach, describe, expect, it } from 'vitest';
import { planReportExports } from '../src/pipeline/plan-exports.js';
import { waitForWindows } from '../src/pipeline/wait-for-windows.js';
import { startCli, useCliProcesses, waitFor } from './helpers/cli-process.js';
import { useTestEnv, type TestEnv } from './helpers/test-env.js';

const DAY = 86_400_000;
const D0 = Math.floor(Date.now() / DAY) * DAY - 30 * DAY;

const getEnv = useTestEnv({ fake: { export: { latencyMs: 1200 } } });
const children = useCliProcesses();
let env: TestEnv;
beforeEach(() => {
  env = getEnv();
});

const workerEnv = (extra: Record<string, string> = {}) => ({ ...env.childEnv, ETL_SCHEDULE_ENABLED: 'false', LOG_LEVEL: 'info', ...extra });

describe('scale-out and crash safety (separate worker processes)', () => {
  it('two worker processes share the windows with no duplicate load and never more than 5 unfinished Intercom jobs', async () => {
    const datasets = ['conversation', 'admin_status_change'];
    const plan = await planReportExports(env.ctx, { mode: 'backfill', range: { start: D0, end: D0 + 8 * DAY }, datasetIds: datasets });
    expect(plan.windows.length).toBe(16);
    const a = startCli(['worker'], workerEnv({ ETL_CONCURRENCY: '8' }));
    const b = startCli(['worker'], workerEnv({ ETL_CONCURRENCY: '8' }));
    children.push(a, b);
    const summary = await waitForWindows(env.ctx, plan.windows, { pollMs: 200 });
    expect(summary.progress).toMatchObject({ loaded: 16, failed: 0 });

    const stats = env.fake.stats();
    expect(stats.maxUnfinishedSeen).toBeLessThanOrEqual(5);
    expect(stats.maxUnfinishedSeen).toBeGreaterThanOrEqual(2); // the work did run in parallel
    expect(stats.rejectedByJobLimit).toBe(0); // the shared slots kept us under Intercom's limit
    expect(stats.enqueued).toBe(16); // one export per window: no window was exported twice

    for (const ds of datasets) {
      const table = `report_${ds}`;
      const want = env.fake.expectedRows(ds, D0 / 1000, (D0 + 8 * DAY) / 1000 - 1).length;
      const [row] = await env.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
      expect(Number(row!.n)).toBe(want); // a duplicate load would double a window's rows
    }
    const [conv] = await env.query<{ d: string }>('SELECT count(DISTINCT conversation_id) AS d FROM report_conversation');
    expect(Number(conv!.d)).toBe(env.fake.expectedRows('conversation', D0 / 1000, (D0 + 8 * DAY) / 1000 - 1).length);
    // Both processes took part.
    const loadsA = (a.output().match(/window loaded/g) ?? []).length;
    const loadsB = (b.output().match(/window loaded/g) ?? []).length;
    expect(loadsA + loadsB).toBe(16);
    expect(loadsA).toBeGreaterThan(0);
    expect(loadsB).toBeGreaterThan(0);
    // Graceful stop on SIGTERM.
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect((await a.exited).code).toBe(0);
    expect((await b.exited).code).toBe(0);
  });

  it('a worker killed right after enqueueing is resumed by another from the ledger: same Intercom job, rows loaded once', async () => {
    env.fake.setExportLatency(2500);
    const plan = await planReportExports(env.ctx, { mode: 'backfill', range: { start: D0, end: D0 + DAY }, datasetIds: ['conversation'] });
    const fast = { ETL_LOCK_DURATION_MS: '1500' };
    const first = startCli(['worker'], workerEnv(fast));
    children.push(first);
    await waitFor(
      async () => {
        const rows = await env.query<{ intercom_job_id: string | null }>('SELECT intercom_job_id FROM etl_export_windows');
        return Boolean(rows[0]?.intercom_job_id);
      },
      30_000,
      'the first worker to enqueue the export',
    );
    first.child.kill('SIGKILL');
    await first.exited;
    const [before] = await env.query<{ intercom_job_id: string }>('SELECT intercom_job_id FROM etl_export_windows');
    expect(env.fake.stats().enqueued).toBe(1);

    const second = startCli(['worker'], workerEnv(fast));
    children.push(second);
    const summary = await waitForWindows(env.ctx, plan.windows, { pollMs: 200 });
    expect(summary.progress.loaded).toBe(1);
    expect(env.fake.stats().enqueued).toBe(1); // polled the job the ledger remembered; no second export
    const [after] = await env.query<{ intercom_job_id: string; status: string }>('SELECT intercom_job_id, status FROM etl_export_windows');
    expect(after).toEqual({ intercom_job_id: before!.intercom_job_id, status: 'loaded' });
    const want = env.fake.expectedRows('conversation', D0 / 1000, (D0 + DAY) / 1000 - 1).length;
    const [row] = await env.query<{ n: string; j: string }>('SELECT count(*) AS n, min(_intercom_job_id) AS j FROM report_conversation');
    expect(row).toEqual({ n: String(want), j: before!.intercom_job_id });
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  });
});

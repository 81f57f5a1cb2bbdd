import { beforeEach, describe, expect, it } from 'vitest';
import { connectIntercom } from '../src/context.js';
import { reconcileWindows } from '../src/jobs/reconcile-windows.js';
import { startWorkers } from '../src/jobs/workers.js';
import { getWindow, windowJobId } from '../src/pipeline/export-ledger.js';
import { planReportExports } from '../src/pipeline/plan-exports.js';
import { compactIso } from '../src/pipeline/time-windows.js';
import { waitForWindows } from '../src/pipeline/wait-for-windows.js';
import { syncSchedules } from '../src/schedules/index.js';
import { waitFor } from './helpers/cli-process.js';
import { useTestEnv, type TestEnv } from './helpers/test-env.js';

/** Intercom's 5 export slots per workspace: shared by every installation, never overbooked, never leaked. */

const DAY = 86_400_000;
const D0 = Math.floor(Date.now() / DAY) * DAY - 10 * DAY;
const oneWindow = { mode: 'backfill' as const, range: { start: D0, end: D0 + DAY }, datasetIds: ['conversation'] };

const getEnv = useTestEnv();
let env: TestEnv;
beforeEach(() => {
  env = getEnv();
});

describe('export window job ids', () => {
  it('are unique per dataset and never contain ":"', async () => {
    const window = { start: D0, end: D0 + DAY };
    const ids = ['a:b', 'a_b', 'a-b', 'a%3Ab', 'conversation'].map((datasetId) => windowJobId({ datasetId, window }));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).not.toContain(':');
    // Plain ids keep the id they always had (jobs already in Redis stay valid).
    expect(windowJobId({ datasetId: 'conversation', window })).toBe(`export-conversation-${compactIso(D0)}-${compactIso(D0 + DAY)}`);
    // BullMQ takes them as they are.
    const job = await env.ctx.queues.reports.add('x', {}, { jobId: ids[0]! });
    expect(job.id).toBe(ids[0]);
  });
});

describe('export slots', () => {
  it('are keyed by the Intercom workspace only: two installations (other prefix, other schema) share its 5', async () => {
    const other = env.newContext({ ETL_QUEUE_PREFIX: `${env.queuePrefix}-other`, PG_SCHEMA: `${env.schema}_other` });
    await connectIntercom(env.ctx);
    await connectIntercom(other);
    expect((await connectIntercom(other)).slots.key).toBe((await connectIntercom(env.ctx)).slots.key);
    expect((await connectIntercom(env.ctx)).slots.key).not.toContain(env.queuePrefix);
    for (let i = 0; i < 3; i++) expect(await (await connectIntercom(env.ctx)).slots.acquire(`mine-${i}`)).toBe(true);
    for (let i = 0; i < 2; i++) expect(await (await connectIntercom(other)).slots.acquire(`theirs-${i}`)).toBe(true);
    expect(await (await connectIntercom(other)).slots.acquire('theirs-2')).toBe(false);
    expect(await (await connectIntercom(env.ctx)).slots.acquire('mine-3')).toBe(false);
  });

  it('a window whose lease was lost does not poll without a slot: it sleeps until one frees, then finishes', async () => {
    env.fake.setExportLatency(3000);
    await connectIntercom(env.ctx);
    const slots = (await connectIntercom(env.ctx)).slots;
    const plan = await planReportExports(env.ctx, oneWindow);
    const key = plan.windows[0]!;
    const workers = startWorkers(env.ctx, ['reports']);
    try {
      await waitFor(async () => Boolean((await getWindow(env.ctx.pool, key))?.intercomJobId), 20_000, 'the window to enqueue its export');
      // The lease ran out while the worker was away, and five others took the slots.
      await env.ctx.redis.zrem(slots.key, slots.holderOf(key));
      const far = Date.now() + 3_600_000;
      for (let i = 0; i < 5; i++) await env.ctx.redis.zadd(slots.key, far, `someone-else-${i}`);
      const polls = env.fake.stats().statusCalls;
      // It sleeps (its export runs at Intercom, so it cannot go back to the ledger) for the slot wait.
      await waitFor(
        async () => {
          // BullMQ scores a delayed job by its due time in ms times 4096 (plus a counter).
          const score = await env.ctx.redis.zscore(env.ctx.queues.reports.toKey('delayed'), windowJobId(key));
          return score !== null && Number(score) / 4096 > Date.now() + 15_000;
        },
        20_000,
        'the window to sleep until a slot frees',
      );
      expect(env.fake.stats().statusCalls).toBeLessThanOrEqual(polls + 1); // at most one poll was already on its way
      // A slot frees; the window takes it when it looks again and goes on with the same Intercom job.
      await slots.release('someone-else-0');
      await (await env.ctx.queues.reports.getJob(windowJobId(key)))!.promote();
      const summary = await waitForWindows(env.ctx, plan.windows, { pollMs: 100 });
      expect(summary.progress).toMatchObject({ loaded: 1, failed: 0 });
    } finally {
      await workers.close();
    }
    expect(env.fake.stats().enqueued).toBe(1);
    expect(await slots.taken()).toEqual(['someone-else-1', 'someone-else-2', 'someone-else-3', 'someone-else-4']);
  });

  it('after an export timeout the slot stays taken until Intercom reports the old job finished: never overbooked', async () => {
    const ctx = env.newContext({ ETL_MAX_UNFINISHED_EXPORTS: '1', ETL_EXPORT_TIMEOUT_MS: '1000', ETL_RECONCILE_INTERVAL_MS: '1000' });
    env.fake.setExportLatency(4000);
    await connectIntercom(ctx);
    await syncSchedules(ctx);
    const plan = await planReportExports(ctx, oneWindow);
    const workers = startWorkers(ctx, ['reports', 'control']);
    try {
      await waitFor(() => env.fake.stats().enqueued === 1, 20_000, 'the first export');
      env.fake.setExportLatency(100); // the second export is quick
      const summary = await waitForWindows(ctx, plan.windows, { pollMs: 100 });
      expect(summary.progress).toMatchObject({ loaded: 1, failed: 0 });
    } finally {
      await workers.close();
    }
    const stats = env.fake.stats();
    expect(stats.enqueued).toBe(2);
    expect(stats.maxUnfinishedSeen).toBe(1); // the re-export waited for the timed-out job to finish at Intercom
    const [w] = await env.query<{ export_failures: number }>('SELECT export_failures FROM etl_export_windows');
    expect(w!.export_failures).toBe(1);
    expect(await (await connectIntercom(ctx)).slots.taken()).toEqual([]);
  });

  it('a window that fails for good mid-export keeps its slot only until Intercom reports that job finished', async () => {
    env.fake.setExportLatency(1500);
    env.fake.injectFailure({ method: 'GET', path: /^\/export\/reporting_data\/(?!get_datasets|enqueue)/, status: 403, count: 1 });
    await connectIntercom(env.ctx);
    const slots = (await connectIntercom(env.ctx)).slots;
    const plan = await planReportExports(env.ctx, oneWindow);
    const workers = startWorkers(env.ctx, ['reports']);
    try {
      const summary = await waitForWindows(env.ctx, plan.windows, { pollMs: 100 });
      expect(summary.progress).toMatchObject({ failed: 1 });
    } finally {
      await workers.close();
    }
    const [w] = await env.query<{ intercom_job_id: string }>('SELECT intercom_job_id FROM etl_export_windows');
    // Intercom still counts the job: the slot is kept, as an orphan of that job, not as the window's.
    expect(await slots.orphans()).toEqual([w!.intercom_job_id]);
    expect(await slots.taken()).toHaveLength(1);
    await waitFor(async () => (await reconcileWindows(env.ctx)).orphansReleased === 1, 20_000, 'the reconciler to free the orphan');
    expect(await slots.taken()).toEqual([]);
  });

  it('a window that fails for good with no Intercom job running gives its slot back', async () => {
    const ctx = env.newContext({ ETL_JOB_ATTEMPTS: '2' });
    env.fake.injectFailure({ method: 'POST', path: '/export/reporting_data/enqueue', status: 500, count: 100 });
    await connectIntercom(ctx);
    const plan = await planReportExports(ctx, oneWindow);
    const workers = startWorkers(ctx, ['reports']);
    try {
      const summary = await waitForWindows(ctx, plan.windows, { pollMs: 100 });
      expect(summary.progress).toMatchObject({ failed: 1 });
    } finally {
      await workers.close();
    }
    expect(await (await connectIntercom(ctx)).slots.taken()).toEqual([]);
  });
});

import { beforeEach, describe, expect, it } from 'vitest';
import { NotReadyError } from '../src/errors.js';
import { queueEntitySyncs } from '../src/jobs/sync-entity.js';
import { startWorkers } from '../src/jobs/workers.js';
import { entityStatus } from '../src/pipeline/status-report.js';
import { syncCompanies } from '../src/pipeline/sync-companies.js';
import { syncTickets } from '../src/pipeline/sync-tickets.js';
import { runCli, waitFor } from './helpers/cli-process.js';
import { useTestEnv, type TestEnv } from './helpers/test-env.js';

/** Issue 6, item 6: a companies run never marks companies deleted on a scroll it should not trust. */

const getEnv = useTestEnv({ fake: { companies: { count: 300 } }, env: { ETL_SCROLL_EXISTS_WAIT_MS: '300' } });
let env: TestEnv;
beforeEach(() => {
  env = getEnv();
});

const companyCount = async (where = 'true') =>
  Number((await env.query<{ n: string }>(`SELECT count(*) AS n FROM companies WHERE ${where}`))[0]!.n);
const runs = () =>
  env.query<{ run_id: string; status: string; error: string | null; rows_deleted: string | null; live_before: string | null }>(
    'SELECT run_id, status, error, rows_deleted, live_before FROM etl_sync_runs ORDER BY started_at',
  );
const stagedRows = async () => Number((await env.query<{ n: string }>('SELECT count(*) AS n FROM etl_company_stage'))[0]!.n);
const settle = <T>(p: Promise<T>): Promise<T | Error> => p.catch((err: Error) => err);
const lockKey = async () => {
  const keys = await env.ctx.redis.keys(`${env.queuePrefix}:companies-sync:*`);
  expect(keys).toHaveLength(1);
  return keys[0]!;
};

describe('companies deletions are safe', () => {
  it('an empty first page marks nothing deleted: the run is refused, says why, and status shows it', async () => {
    await syncCompanies(env.ctx);
    env.fake.injectScrollFailure({ afterPages: 0, kind: 'end_early' });
    const refused = await settle(syncCompanies(env.ctx));
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).toMatch(/Refused to mark 300 of 300 live companies deleted: the scroll returned 0 companies/);
    expect((refused as Error).message).toMatch(/--allow-mass-delete/);
    expect(await companyCount('_deleted_at IS NULL')).toBe(300);
    expect(await stagedRows()).toBe(0);
    const last = (await runs()).at(-1)!;
    expect(last).toMatchObject({ status: 'refused', rows_deleted: '300', live_before: '300' });
    expect(last.error).toMatch(/Refused to mark 300 of 300/);

    const companies = (await entityStatus(env.ctx.pool)).find((e) => e.stream === 'companies')!;
    expect(companies).toMatchObject({ lastRunStatus: 'refused', deleted: 0 });
    const status = await runCli(['status'], env.childEnv);
    expect(status.code, status.output).toBe(0);
    expect(status.output).toMatch(/companies: last run refused: Refused to mark 300 of 300 live companies deleted/);
  });

  it('`sync companies` exits 1 on a truncated scroll, and --allow-mass-delete forces it', async () => {
    await syncCompanies(env.ctx);
    env.fake.injectScrollFailure({ afterPages: 1, kind: 'end_early' }); // 100 of 300 come back
    const refused = await runCli(['sync', 'companies'], env.childEnv);
    expect(refused.code, refused.output).toBe(1);
    expect(refused.output).toMatch(/companies: FAILED: Refused to mark 200 of 300 live companies deleted/);
    expect(await companyCount('_deleted_at IS NULL')).toBe(300);

    env.fake.injectScrollFailure({ afterPages: 1, kind: 'end_early' });
    const forced = await runCli(['sync', 'companies', '--allow-mass-delete'], env.childEnv);
    expect(forced.code, forced.output).toBe(0);
    expect(forced.output).toMatch(/200 marked deleted/);
    expect(await companyCount('_deleted_at IS NULL')).toBe(100);
  });

  it('the threshold is configurable, and workers can be told to allow mass deletes', async () => {
    await syncCompanies(env.ctx);
    env.fake.injectScrollFailure({ afterPages: 1, kind: 'end_early' }); // keeps 1/3 of the live companies
    expect(await settle(syncCompanies(env.newContext({ ETL_COMPANIES_MIN_LIVE_RATIO: '0.4' })))).toBeInstanceOf(Error);
    env.fake.injectScrollFailure({ afterPages: 2, kind: 'end_early' }); // keeps 2/3
    expect(await syncCompanies(env.newContext({ ETL_COMPANIES_MIN_LIVE_RATIO: '0.6' }))).toMatchObject({ deleted: 100 });
    env.fake.injectScrollFailure({ afterPages: 0, kind: 'end_early' }); // keeps none of the 200 live ones
    expect(await syncCompanies(env.newContext({ ETL_COMPANIES_ALLOW_MASS_DELETE: 'true' }))).toMatchObject({ deleted: 200 });
    expect(await companyCount('_deleted_at IS NULL')).toBe(0);
    // An empty workspace on a first run is no mass deletion.
    await env.query('DELETE FROM companies');
    expect(await syncCompanies(env.ctx)).toMatchObject({ upserted: 300, deleted: 0 });
  });

  it('a run that lost its Redis lock cannot merge', async () => {
    await syncCompanies(env.ctx);
    const gone = String(env.fake.companies()[5]!.id);
    env.fake.removeCompany(gone);
    const release = env.fake.holdScroll(3); // the request for the end page waits
    const running = settle(syncCompanies(env.ctx));
    try {
      await waitFor(() => env.fake.scrollStats().heldRequests === 1, 10_000, 'the scroll to reach its end page');
      // Its lease on the Redis lock ran out (Redis unreachable, a long pause) and another process took it.
      await env.ctx.redis.set(await lockKey(), 'another-process', 'PX', 30_000);
    } finally {
      release();
    }
    const outcome = await running;
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as Error).message).toMatch(/no longer owns the stream: it lost its Redis lock.*merged nothing/);
    expect(await companyCount('_deleted_at IS NULL')).toBe(300); // the removal was not merged
    expect((await runs()).at(-1)).toMatchObject({ status: 'failed' });
    expect(await stagedRows()).toBe(0);
  });

  it('a run whose Postgres lease was taken over cannot merge, even with its Redis lock', async () => {
    await syncCompanies(env.ctx);
    env.fake.removeCompany(String(env.fake.companies()[5]!.id));
    const release = env.fake.holdScroll(3);
    const running = settle(syncCompanies(env.ctx));
    try {
      await waitFor(() => env.fake.scrollStats().heldRequests === 1, 10_000, 'the scroll to reach its end page');
      // Its lease expired while it stalled, and another run took the stream over.
      await env.query(`UPDATE etl_sync_leases SET run_id = 'companies-other', expires_at = now() + interval '1 minute'`);
    } finally {
      release();
    }
    const outcome = await running;
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as Error).message).toMatch(/no longer owns the stream: run companies-other has taken the companies stream over/);
    expect(await companyCount('_deleted_at IS NULL')).toBe(300);
  });

  it("a second run cannot drop a live run's staged rows, even after the first lost its Redis lock", async () => {
    const release = env.fake.holdScroll(3);
    const first = settle(syncCompanies(env.ctx));
    try {
      await waitFor(() => env.fake.scrollStats().heldRequests === 1, 10_000, 'the scroll to reach its end page');
      await waitFor(async () => (await stagedRows()) === 300, 10_000, 'the first run to stage its pages');
      await env.ctx.redis.del(await lockKey()); // the first run's Redis lock expired; it is still alive
      const second = await settle(syncCompanies(env.newContext({ ETL_SCROLL_EXISTS_RETRIES: '0' })));
      expect(second).toBeInstanceOf(NotReadyError); // delayed, not failed: the job tries again later
      expect((second as Error).message).toMatch(/still holds the stream/);
      expect(await stagedRows()).toBe(300);
      expect((await runs()).map((r) => r.status)).toEqual(['running']);
    } finally {
      release();
    }
    expect(await first).toBeInstanceOf(Error); // it lost its Redis lock: it may not merge either
    expect(await companyCount()).toBe(0);
    expect(await syncCompanies(env.ctx)).toMatchObject({ upserted: 300, deleted: 0 });
  });

  it('a shutting-down worker aborts the companies scroll in flight: run interrupted, nothing merged, job back in the queue', async () => {
    const release = env.fake.holdScroll(2);
    const workers = startWorkers(env.ctx, ['entities']);
    try {
      const [job] = await queueEntitySyncs(env.ctx, ['companies']);
      await waitFor(() => env.fake.scrollStats().heldRequests === 1, 10_000, 'a page request in flight');
      await workers.close(5_000);
      expect((await runs()).map((r) => [r.status, r.error])).toEqual([
        ['interrupted', 'interrupted: the worker shut down (nothing was merged; the job is retried)'],
      ]);
      expect(await companyCount()).toBe(0);
      expect(await stagedRows()).toBe(0);
      const after = (await env.ctx.queues.entities.getJob(job!.jobId))!;
      expect(await after.getState()).toBe('delayed');
      expect(after.attemptsMade).toBe(0);
    } finally {
      release();
      await workers.close(1_000);
    }
  });

  it('sync-tickets takes the cancellation signal too', async () => {
    const controller = new AbortController();
    controller.abort();
    expect(await settle(syncTickets(env.ctx, Date.now, controller.signal))).toBeInstanceOf(Error);
    const [run] = await env.query<{ stream: string; status: string }>('SELECT stream, status FROM etl_sync_runs');
    expect(run).toEqual({ stream: 'tickets', status: 'interrupted' });
    expect(Number((await env.query<{ n: string }>('SELECT count(*) AS n FROM tickets'))[0]!.n)).toBe(0);
  });
});

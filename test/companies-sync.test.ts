import { beforeEach, describe, expect, it } from 'vitest';
import { queueEntitySyncs } from '../src/jobs/sync-entity.js';
import { syncJobs } from '../src/jobs/sync-jobs.js';
import { runSync, type SyncJobs } from '../src/pipeline/run-sync.js';
import { syncCompanies } from '../src/pipeline/sync-companies.js';
import type { EntityStage } from '../src/sinks/entity-stage.js';
import { runCli, waitFor } from './helpers/cli-process.js';
import pg from 'pg';
import { TEST_DATABASE_URL, useTestEnv, type TestEnv } from './helpers/test-env.js';

const getEnv = useTestEnv({ fake: { companies: { count: 2600 } }, env: { ETL_SCROLL_EXISTS_WAIT_MS: '300' } });
let env: TestEnv;
beforeEach(() => {
  env = getEnv();
});

const companyCount = async (where = 'true') =>
  Number((await env.query<{ n: string }>(`SELECT count(*) AS n FROM companies WHERE ${where}`))[0]!.n);

describe('companies sync (scroll)', () => {
  it('loads 2,600 companies over 26 pages with every column, as one snapshot', async () => {
    const result = await syncCompanies(env.ctx);
    expect(result).toMatchObject({ pages: 26, fetched: 2600, upserted: 2600, deleted: 0, restarts: 0 });
    expect(await companyCount('_deleted_at IS NULL')).toBe(2600);
    const source = env.fake.companies()[7] as Record<string, any>;
    const [row] = await env.query<Record<string, any>>('SELECT * FROM companies WHERE id = $1', [source.id]);
    expect(row).toMatchObject({ company_id: source.company_id ?? null, name: source.name ?? null, website: source.website ?? null });
    expect(row!.custom_attributes).toEqual(source.custom_attributes ?? {});
    expect(row!.tags).toEqual(source.tags?.tags ?? []);
    expect(row!.plan_id).toBe(source.plan?.id ?? null);
    if (source.created_at) expect(row!.created_at.getTime()).toBe(source.created_at * 1000);
    expect(env.fake.scrollStats().scrollsOpened).toBe(1);
    const [run] = await env.query<{ status: string; rows_fetched: string }>('SELECT status, rows_fetched FROM etl_sync_runs');
    expect(run).toEqual({ status: 'completed', rows_fetched: '2600' });
  });

  /** Blocks every write to the staging table until the returned function is called. */
  async function lockStagingTable(): Promise<() => Promise<void>> {
    const blocker = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await blocker.connect();
    await blocker.query(`SET search_path TO "${env.schema}"`);
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE etl_company_stage IN ACCESS EXCLUSIVE MODE');
    return async () => {
      await blocker.query('COMMIT');
      await blocker.end();
    };
  }

  it('holds a bounded number of pages while Postgres is stuck, then finishes', async () => {
    const unlock = await lockStagingTable();
    let stage: EntityStage | undefined;
    const running = syncCompanies(env.newContext(), { stage: { maxBufferedPages: 4 }, onStage: (s) => (stage = s) });
    try {
      // The scroll stops fetching once 4 pages are held (2 in the blocked COPY, 2 waiting).
      await waitFor(() => stage?.waitingForRoom === true, 10_000, 'the scroll to wait for room in the stage');
      expect(stage!.bufferedPages).toBe(4);
      expect(env.fake.scrollStats().pagesServed).toBe(4);
    } finally {
      await unlock();
    }
    const result = await running;
    expect(result).toMatchObject({ fetched: 2600, restarts: 0 });
    expect(stage!.counters.peakBufferedPages).toBeLessThanOrEqual(4);
    expect(stage!.counters.waitsForRoom).toBeGreaterThanOrEqual(1);
    expect(await companyCount()).toBe(2600);
  });

  /** Nothing can make room while the table is locked: a wait that ended is one that gave up. */
  const gaveUp = (stage: EntityStage | undefined) => stage !== undefined && stage.counters.waitsForRoom >= 1 && !stage.waitingForRoom;

  it('gives the scroll up before it expires when Postgres stays stuck, and starts again (bounded)', async () => {
    const unlock = await lockStagingTable();
    let stage: EntityStage | undefined;
    const running = syncCompanies(env.newContext(), { stage: { maxBufferedPages: 2, stallLimitMs: 300 }, onStage: (s) => (stage = s) });
    try {
      await waitFor(() => gaveUp(stage), 10_000, 'the scroll to give up waiting for Postgres');
      expect(env.fake.scrollStats().pagesServed).toBe(2);
    } finally {
      await unlock();
    }
    // The abandoned scroll is still open at Intercom until it idles out: the restart waits for it.
    await waitFor(() => env.fake.scrollStats().scrollExistsRejections >= 1, 10_000, 'the restarted scroll to meet the abandoned one');
    env.fake.advanceClock(61_000);
    const result = await running;
    expect(result).toMatchObject({ fetched: 2600, restarts: 1 });
    expect(await companyCount()).toBe(2600);

    // With no restart allowed, a stall fails the run (retried by its job) and changes nothing.
    env.fake.removeCompany(String(env.fake.companies()[0]!.id));
    const unlockAgain = await lockStagingTable();
    let stalled: EntityStage | undefined;
    const failing = syncCompanies(env.newContext({ ETL_SCROLL_MAX_RESTARTS: '0' }), {
      stage: { maxBufferedPages: 2, stallLimitMs: 200 },
      onStage: (s) => (stalled = s),
    }).then(
      () => 'completed',
      (err: Error) => err.message,
    );
    await waitFor(() => gaveUp(stalled), 10_000, 'the scroll to give up waiting for Postgres');
    await unlockAgain();
    expect(await failing).toMatch(/restart 1 times \(Postgres took no staged page/);
    expect(await companyCount('_deleted_at IS NULL')).toBe(2600);
    expect(await env.query('SELECT 1 FROM etl_company_stage')).toEqual([]);
  });

  it('waits on scroll_exists while another scroll is open, then succeeds', async () => {
    env.fake.openScrollAsOtherClient();
    const running = syncCompanies(env.ctx);
    await waitFor(() => env.fake.scrollStats().scrollExistsRejections >= 1, 10_000, 'a scroll_exists answer');
    env.fake.advanceClock(61_000); // the other client's scroll idles out
    const result = await running;
    expect(result.fetched).toBe(2600);
    expect(env.fake.scrollStats().scrollExistsRejections).toBeGreaterThanOrEqual(1);
  });

  it('restarts from the beginning when the scroll_param expires mid-scroll', async () => {
    env.fake.injectScrollFailure({ afterPages: 3, kind: 'expire' });
    const result = await syncCompanies(env.ctx);
    expect(result).toMatchObject({ fetched: 2600, restarts: 1 });
    expect(await companyCount()).toBe(2600);
  });

  it('restarts from the beginning when Intercom answers 500 (the scroll is dead)', async () => {
    env.fake.injectScrollFailure({ afterPages: 10, kind: 'server_error' });
    const result = await syncCompanies(env.ctx);
    expect(result).toMatchObject({ fetched: 2600, restarts: 1 });
    expect(await companyCount()).toBe(2600);
  });

  it('marks companies missing from a completed scroll as deleted, and an interrupted scroll changes nothing', async () => {
    await syncCompanies(env.ctx);
    const gone = String(env.fake.companies()[42]!.id);
    env.fake.removeCompany(gone);
    const second = await syncCompanies(env.ctx);
    expect(second.deleted).toBe(1);
    expect((await env.query<{ d: Date | null }>('SELECT _deleted_at AS d FROM companies WHERE id = $1', [gone]))[0]!.d).toBeInstanceOf(
      Date,
    );
    expect(await companyCount('_deleted_at IS NULL')).toBe(2599);

    // A scroll that never completes (2 pages staged, then the scroll dies and no restart is allowed).
    env.fake.removeCompany(String(env.fake.companies()[0]!.id));
    const ctx = env.newContext({ ETL_SCROLL_MAX_RESTARTS: '0' });
    env.fake.injectScrollFailure({ afterPages: 2, kind: 'server_error' });
    await expect(syncCompanies(ctx)).rejects.toThrow(/restart/);
    expect(await companyCount('_deleted_at IS NULL')).toBe(2599); // nothing marked deleted by the failed run
    expect(await env.query('SELECT 1 FROM etl_company_stage')).toEqual([]);
  });

  it("a backfill that ends on its own lets another process's companies run, picked up by its workers, finish", async () => {
    // The flaky form of this was the test below under load: process A's backfill ended, closed its
    // workers and cancelled B's companies run that one of them had picked up, leaving its scroll open.
    env.fake.setCompanyCount(500);
    const releaseScroll = env.fake.holdScroll(2); // the run stalls mid-scroll until released
    const [other] = await queueEntitySyncs(env.ctx, ['companies']); // "process B" queued it
    let closing!: () => void;
    const closeCalled = new Promise<void>((resolve) => (closing = resolve));
    const jobs = syncJobs(env.ctx);
    const watched: SyncJobs = {
      ...jobs,
      startWorkers() {
        const workers = jobs.startWorkers();
        return { close: (options) => (closing(), workers.close(options)) };
      },
    };
    const day = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 10 * 86_400_000;
    const backfill = runSync(
      env.ctx,
      { reports: { mode: 'backfill', range: { start: day, end: day + 86_400_000 }, datasetIds: ['conversation'] }, entities: [] },
      watched,
    );
    await waitFor(() => env.fake.scrollStats().heldRequests > 0, 30_000, 'the companies run to be mid-scroll in this process');
    await closeCalled; // the backfill's own window is in: it closes its workers while the companies run is held
    releaseScroll();
    const summary = await backfill;
    expect(summary.reports?.progress).toMatchObject({ loaded: 1, failed: 0 });
    const job = (await env.ctx.queues.entities.getJob(other!.jobId))!;
    expect(await job.getState()).toBe('completed'); // had close() cancelled it, it would be delayed, waiting for a worker
    expect(job.attemptsMade).toBe(1);
    const stats = env.fake.scrollStats();
    expect(stats.sessions.every((s) => s.closedAt !== null)).toBe(true); // no scroll left open at Intercom
    expect(await companyCount('_deleted_at IS NULL')).toBe(500);
  }, 60_000);

  it('two `sync companies` processes at once never overlap their scrolls', async () => {
    env.fake.setCompanyCount(1200);
    const [a, b] = await Promise.all([runCli(['sync', 'companies'], env.childEnv), runCli(['sync', 'companies'], env.childEnv)]);
    expect(a.code, a.output).toBe(0);
    expect(b.code, b.output).toBe(0);
    const stats = env.fake.scrollStats();
    expect(stats.scrollExistsRejections).toBe(0); // the Redis lock kept the second one from even trying
    const sessions = stats.sessions.filter((s) => s.pages > 0);
    expect(sessions.length).toBe(2);
    const [first, second] = [...sessions].sort((x, y) => x.openedAt - y.openedAt);
    expect(first!.closedAt).not.toBeNull();
    expect(second!.openedAt).toBeGreaterThanOrEqual(first!.closedAt!);
    expect(await companyCount()).toBe(1200);
  }, 150_000); // two CLI processes, one after the other: slow on a loaded 2-core machine
});

import pg from 'pg';
import { beforeEach, describe, expect, it } from 'vitest';
import { syncTickets } from '../src/pipeline/sync-tickets.js';
import { EntityStage } from '../src/sinks/entity-stage.js';
import { waitFor } from './helpers/cli-process.js';
import { TEST_DATABASE_URL, useTestEnv, type TestEnv } from './helpers/test-env.js';

/**
 * Issue 7, item 5: staging memory stays bounded while Postgres stalls. Bounded is asserted on what
 * was fetched while the stage table was locked (pages, bytes of JSON), never on time or RSS;
 * bench/entity-memory.ts measures the RSS.
 */
const getEnv = useTestEnv({ fake: { tickets: { count: 3000 } } });
let env: TestEnv;
beforeEach(() => {
  env = getEnv();
});

/** Blocks every write to `table` until the returned function is called. */
async function lockTable(table: string): Promise<() => Promise<void>> {
  const blocker = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await blocker.connect();
  await blocker.query(`SET search_path TO "${env.schema}"`);
  await blocker.query('BEGIN');
  await blocker.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
  return async () => {
    await blocker.query('COMMIT');
    await blocker.end();
  };
}

const searchPages = () => env.fake.stats().requests.filter((r) => r.method === 'POST' && r.path === '/tickets/search').length;

describe('staging under a locked stage table', () => {
  it('a fetcher holds at most the byte allowance (plus one page), however many pages it may hold', async () => {
    const unlock = await lockTable('etl_ticket_stage');
    const stage = new EntityStage(env.ctx.pool, 'tickets', 'run-bounded', { maxBufferedPages: 100, maxBufferedBytes: 20_000 });
    const page = (p: number) =>
      Array.from({ length: 10 }, (_, i) => ({ id: `t${p}-${i}`, updated_at: 1_700_000_000, ticket_attributes: { body: 'x'.repeat(150) } }));
    const pageBytes = JSON.stringify(page(10)).length;
    let fetched = 0;
    const fetcher = (async () => {
      for (let p = 0; p < 40; p++) {
        await stage.waitForRoom();
        stage.push(page(p));
        fetched += 1;
      }
    })();
    try {
      await waitFor(() => stage.waitingForRoom, 10_000, 'the fetcher to wait for room in the stage');
      // 20,000 bytes is about 9 pages of ~2,200: the fetcher stops there, not at 100 pages.
      expect(fetched).toBeLessThanOrEqual(Math.ceil(20_000 / pageBytes) + 1);
      expect(fetched).toBeGreaterThanOrEqual(Math.floor(20_000 / pageBytes));
      expect(stage.bufferedPages).toBe(fetched); // every page fetched is held, none dropped
    } finally {
      await unlock();
    }
    await fetcher;
    expect(await stage.drain()).toBe(400);
    expect(stage.counters.peakBufferedPages).toBeLessThanOrEqual(Math.ceil(20_000 / pageBytes) + 1);
    const [{ n }] = (await env.query<{ n: string }>(`SELECT count(*) AS n FROM etl_ticket_stage WHERE run_id = 'run-bounded'`)) as [
      { n: string },
    ];
    expect(Number(n)).toBe(400);
  });

  it('a tickets run stops fetching while its stage table is locked, then loads every ticket', async () => {
    const unlock = await lockTable('etl_ticket_stage');
    let stage: EntityStage | undefined;
    const running = syncTickets(env.newContext(), Date.now, undefined, { onStage: (s) => (stage = s) });
    let pagesWhileLocked: number;
    try {
      await waitFor(() => stage?.waitingForRoom === true, 20_000, 'the tickets search to wait for room in the stage');
      pagesWhileLocked = searchPages();
      // 20 pages of 150 tickets exist; the default allowance (4 MiB of JSON, ~5 kB a ticket) holds ~6.
      expect(pagesWhileLocked).toBeLessThan(20);
      expect(stage!.bufferedPages).toBe(pagesWhileLocked);
      // Nothing is fetched while the fetcher waits (no timer, no retry loop behind it).
      await new Promise((r) => setTimeout(r, 300));
      expect(searchPages()).toBe(pagesWhileLocked);
    } finally {
      await unlock();
    }
    const result = await running;
    expect(result).toMatchObject({ fetched: 3000, upserted: 3000, pages: 20 });
    expect(stage!.counters.peakBufferedPages).toBeLessThan(20);
    expect(await env.query('SELECT 1 FROM etl_ticket_stage')).toEqual([]);
  });
});

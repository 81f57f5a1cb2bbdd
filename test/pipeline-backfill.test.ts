import { beforeEach, describe, expect, it } from 'vitest';
import { runReports } from '../src/cli/run-reports.js';
import { FatalError } from '../src/errors.js';
import type { PlanRequest } from '../src/pipeline/plan-exports.js';
import { useTestEnv, type TestEnv } from './helpers/test-env.js';

const DAY = 86_400_000;
// Inside the fake's 2-year retention whatever the date the suite runs on.
const D0 = Math.floor(Date.now() / DAY) * DAY - 20 * DAY;
const quiet = { progress: () => {} };

const getEnv = useTestEnv();
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

/** Rows the fake serves for [fromDay, toDay) as Intercom would: end_time inclusive, so end − 1 s. */
const expected = (fromDay: number, toDay: number) =>
  env.fake.expectedRows('conversation', (D0 + fromDay * DAY) / 1000, (D0 + toDay * DAY) / 1000 - 1);

async function tableRows() {
  return env.query<{ conversation_id: string; conversation_started_at: Date; channel: string | null; language: string | null }>(
    'SELECT conversation_id, conversation_started_at, channel, language FROM report_conversation ORDER BY conversation_started_at, conversation_id',
  );
}

describe('reporting pipeline: backfill', () => {
  it('loads every row of the range exactly once, including rows at midnight', async () => {
    const summary = await backfill([0, 3]);
    expect(summary.progress).toMatchObject({ total: 3, loaded: 3, failed: 0 });
    const want = expected(0, 3);
    const got = await tableRows();
    expect(got.length).toBe(want.length);
    expect(got.map((r) => r.conversation_id).sort()).toEqual(want.map((r) => r.conversation_id!).sort());
    // Each day's first row is at exactly 00:00:00: it belongs to the window starting then, once.
    for (const day of [1, 2]) {
      const midnight = got.filter((r) => r.conversation_started_at.getTime() === D0 + day * DAY);
      expect(midnight.length).toBe(1);
    }
    // Values survive the trip: compare a text column for every row.
    const byId = new Map(want.map((r) => [r.conversation_id, r]));
    for (const r of got) {
      expect(r.channel).toBe(byId.get(r.conversation_id)!.channel ?? null);
      expect(r.conversation_started_at.toISOString().replace('T', ' ').slice(0, 19)).toBe(
        byId.get(r.conversation_id)!.conversation_started_at,
      );
    }
    const ledger = await env.query<{ status: string; rows_loaded: string; intercom_job_id: string; enqueue_count: number }>(
      'SELECT status, rows_loaded, intercom_job_id, enqueue_count FROM etl_export_windows ORDER BY window_start',
    );
    expect(ledger.map((l) => l.status)).toEqual(['loaded', 'loaded', 'loaded']);
    expect(ledger.reduce((s, l) => s + Number(l.rows_loaded), 0)).toBe(want.length);
    expect(ledger.every((l) => l.enqueue_count === 1 && l.intercom_job_id)).toBe(true);
  });

  it('re-running a range with changed data replaces exactly that range, whatever the window sizes', async () => {
    await backfill([0, 4]);
    env.fake.setDataRevision(1);
    await backfill([1, 3], { windowMs: 2 * DAY });
    const got = await tableRows();
    const inside = expected(1, 3); // revision 1, days 1–2
    env.fake.setDataRevision(0);
    const outside = [...expected(0, 1), ...expected(3, 4)]; // revision 0, untouched days
    const before = expected(1, 3); // revision 0 of the re-exported days
    env.fake.setDataRevision(1);
    expect(inside.map((r) => r.conversation_id).sort()).not.toEqual(before.map((r) => r.conversation_id).sort());
    const ids = got.map((r) => r.conversation_id).sort();
    expect(ids).toEqual([...outside, ...inside].map((r) => r.conversation_id!).sort());
    expect(new Set(ids).size).toBe(ids.length); // no duplicates
    // Running the same re-export again changes nothing.
    await backfill([1, 3], { windowMs: 2 * DAY });
    expect((await tableRows()).map((r) => r.conversation_id).sort()).toEqual(ids);
  });

  it('re-enqueues a window whose Intercom job failed, and counts it', async () => {
    env.fake.failNextExports(1);
    const summary = await backfill([0, 1]);
    expect(summary.progress.loaded).toBe(1);
    const [w] = await env.query<{ export_failures: number; enqueue_count: number; status: string }>('SELECT * FROM etl_export_windows');
    expect(w).toMatchObject({ export_failures: 1, enqueue_count: 2, status: 'loaded' });
    expect((await tableRows()).length).toBe(expected(0, 1).length);
  });

  it('fails a window whose CSV header does not match, loading nothing for it', async () => {
    env.fake.overrideNextDownload('conversation', 'conversation_id,something_else\n1,2\n');
    const summary = await backfill([0, 1]);
    expect(summary.progress).toMatchObject({ loaded: 0, failed: 1 });
    expect(summary.failures[0]!.error).toMatch(/CSV header of dataset conversation does not match/);
    expect(await tableRows()).toEqual([]);
    const [w] = await env.query<{ status: string; error: string }>('SELECT status, error FROM etl_export_windows');
    expect(w!.status).toBe('failed');
  });

  it('fails at once with a clear message when the token is invalid', async () => {
    const ctx = env.newContext({ INTERCOM_ACCESS_TOKEN: 'not-a-valid-token' });
    const started = Date.now();
    const err = await runReports(ctx, { mode: 'backfill', range: { start: D0, end: D0 + DAY } }, quiet).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FatalError);
    expect((err as Error).message).toMatch(/rejected the access token.*401/);
    expect(String((err as Error).stack) + JSON.stringify(err)).not.toContain('not-a-valid-token');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(env.fake.stats().requests.filter((r) => r.status === 401).length).toBe(1);
  });

  it('loads tricky CSV values exactly: quotes, newlines, commas, emoji, nulls, BOM, zip', async () => {
    const t = (s: number) => new Date(D0 + s * 1000).toISOString().replace('T', ' ').slice(0, 19);
    env.fake.setRows('conversation', [
      {
        conversation_id: '1',
        conversation_started_at: t(0),
        channel: 'Chat',
        last_teammate_rating_remark: 'She said "thanks, great"\nand left 🎉',
        language: null,
      },
      {
        conversation_id: '2',
        conversation_started_at: t(60),
        channel: 'E-mail, "quoted"',
        last_teammate_rating_remark: '',
        language: 'pt-BR',
      },
      {
        conversation_id: '3',
        conversation_started_at: t(86_399),
        channel: null,
        last_teammate_rating_remark: 'ünïcødé\r\nCRLF',
        language: '日本語',
      },
      { conversation_id: '4', conversation_started_at: t(86_400), channel: 'next day' },
    ]);
    env.fake.setBom(true);
    env.fake.setEncoding('zip');
    await backfill([0, 1]);
    const rows = await env.query<{
      conversation_id: string;
      channel: string | null;
      last_teammate_rating_remark: string | null;
      language: string | null;
    }>('SELECT conversation_id, channel, last_teammate_rating_remark, language FROM report_conversation ORDER BY conversation_id');
    expect(rows).toEqual([
      { conversation_id: '1', channel: 'Chat', last_teammate_rating_remark: 'She said "thanks, great"\nand left 🎉', language: null },
      { conversation_id: '2', channel: 'E-mail, "quoted"', last_teammate_rating_remark: null, language: 'pt-BR' },
      { conversation_id: '3', channel: null, last_teammate_rating_remark: 'ünïcødé\r\nCRLF', language: '日本語' },
    ]);
  });
});

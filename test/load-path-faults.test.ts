import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runReports } from '../src/cli/run-reports.js';
import { connectIntercom } from '../src/context.js';
import { createPool, quoteIdent } from '../src/db/pool.js';
import { FatalError, NotReadyError, RetriableError } from '../src/errors.js';
import { decodeDownload } from '../src/intercom/download-decoder.js';
import { advanceExportWindow } from '../src/pipeline/advance-export.js';
import { getWindow, type WindowKey } from '../src/pipeline/export-ledger.js';
import { planReportExports } from '../src/pipeline/plan-exports.js';
import { columnsForRequest, loadReportDataset } from '../src/sinks/report-catalogue.js';
import { loadReportWindow, type LoadWindowRequest } from '../src/sinks/report-loader.js';
import { TEST_DATABASE_URL, useTestEnv, type TestEnv } from './helpers/test-env.js';

/**
 * Faults around the load path that used to kill the whole process with an unhandled 'error' event:
 * a download failing before anyone reads it, and a Postgres connection dropped mid-COPY. Each must
 * fail only that window's attempt (retriable), leave its previous rows, and let a retry load it.
 */

const DAY = 86_400_000;
const TODAY = Math.floor(Date.now() / DAY) * DAY;
const W = { start: TODAY - 3 * DAY, end: TODAY - 2 * DAY };
const DATASET = 'admin_status_change';
const KEY: WindowKey = { datasetId: DATASET, window: W };
const day = new Date(W.start).toISOString().slice(0, 10);
const HEADER =
  'teammate_status_id,teammate_status_period_started_at,teammate_status_period_ended_at,teammate_id,teammate_raw_id,teammate_status,teammate_away_reason,time_on_status\n';
const line = (id: number) => `${id},${day} 01:00:00,${day} 02:00:00,Ann,7,Away,,${id}\n`;
const corruptGzip = gzipSync(Buffer.from(HEADER + line(1)));
corruptGzip[10] = 0xff; // an invalid deflate block type

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const getEnv = useTestEnv({ env: { ETL_START_DATE: day } });
let env: TestEnv;
/** Errors nobody handled (an 'error' event without listener): each would have killed a worker process. */
let uncaught: unknown[];
const onUncaught = (err: unknown) => uncaught.push(err);

beforeEach(() => {
  uncaught = [];
  process.on('uncaughtException', onUncaught);
  return () => {
    process.off('uncaughtException', onUncaught);
  };
});

afterEach(() => {
  expect(uncaught).toEqual([]);
});

beforeEach(async () => {
  env = getEnv();
  env.fake.setExportLatency(0);
  env.fake.setEncoding('plain');
  env.fake.overrideNextDownload(DATASET, HEADER + line(90) + line(91));
  await planReportExports(env.ctx, { mode: 'backfill', range: W, datasetIds: [DATASET], windowMs: DAY });
  for (;;) {
    try {
      expect(await advanceExportWindow(env.ctx, KEY)).toEqual({ outcome: 'loaded', rows: 2 });
      break;
    } catch (err) {
      if (!(err instanceof NotReadyError)) throw err;
      await sleep(50);
    }
  }
});

async function ids(): Promise<string[]> {
  const rows = await env.query<{ id: string }>('SELECT teammate_status_id AS id FROM report_admin_status_change ORDER BY 1');
  return rows.map((r) => r.id);
}

/** A load request for the window, as the pipeline builds it. */
async function request(openCsv: LoadWindowRequest['openCsv']): Promise<LoadWindowRequest> {
  const dataset = (await loadReportDataset(env.ctx.pool, DATASET))!;
  const ledger = (await getWindow(env.ctx.pool, KEY))!;
  return {
    dataset,
    columns: columnsForRequest(dataset, ledger.attributeIds),
    window: W,
    intercomJobId: ledger.intercomJobId,
    timestampTimezone: 'UTC',
    openCsv,
  };
}

describe('load path faults: no crash, the attempt fails and is retried', () => {
  it('a decoded download that fails before anyone reads it keeps the error for its first reader', async () => {
    const decoded = decodeDownload(Readable.from([corruptGzip]));
    await sleep(100); // the decoder has read and failed by now, with nobody listening
    expect(decoded.stream.destroyed).toBe(true);
    const sink = new Writable({ write: (_c, _e, cb) => cb() });
    await expect(pipeline(decoded.stream, sink)).rejects.toThrow(/export download is not valid gzip/);
  });

  it('a download failing while the loader waits for a Postgres connection fails the load, not the process', async () => {
    const { workspace: me } = await connectIntercom(env.ctx);
    const { intercomJobId } = (await getWindow(env.ctx.pool, KEY))!;
    env.fake.overrideNextDownload(DATASET, { body: corruptGzip, encoding: 'as-is' });
    const pool = createPool(TEST_DATABASE_URL, env.schema, 1);
    const held = await pool.connect(); // the pool's only connection: the loader has to wait
    try {
      const req = await request(
        async () => (await env.ctx.intercom.downloadExport({ jobIdentifier: intercomJobId! }, { appId: me.workspaceId })).stream,
      );
      const loading = loadReportWindow(pool, env.schema, req);
      loading.catch(() => {});
      await sleep(300);
      held.release();
      const err = await loading.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RetriableError);
      expect((err as Error).message).toMatch(/export download is not valid gzip/);
      expect(await ids()).toEqual(['90', '91']);
      // The retry (a fresh download) loads the window.
      env.fake.overrideNextDownload(DATASET, HEADER + line(1));
      expect(await loadReportWindow(pool, env.schema, req)).toEqual({ rows: 1, widened: [] });
      expect(await ids()).toEqual(['1']);
    } finally {
      await pool.end();
    }
  });

  it('a Postgres connection terminated mid-COPY fails the attempt as retriable; the retry loads the window', async () => {
    const appName = `etl-test-${randomBytes(4).toString('hex')}`;
    const pool = new pg.Pool({
      connectionString: TEST_DATABASE_URL,
      options: `-c search_path=${quoteIdent(env.schema)}`,
      application_name: appName,
      max: 2,
    });
    pool.on('error', () => {});
    let resume!: () => void;
    const gate = new Promise<void>((r) => (resume = r));
    const stalled = async () =>
      Readable.from(
        (async function* () {
          yield Buffer.from(HEADER + line(1));
          await gate; // COPY is in progress now, waiting for more data
          yield Buffer.from(line(2));
        })(),
      );
    try {
      const loading = loadReportWindow(pool, env.schema, await request(stalled));
      loading.catch(() => {});
      let pid: number | undefined;
      for (let i = 0; i < 200 && pid === undefined; i++) {
        const rows = await env.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'COPY %' AND state = 'active'`,
          [appName],
        );
        pid = rows[0]?.pid;
        if (pid === undefined) await sleep(25);
      }
      expect(pid).toBeDefined();
      await env.query('SELECT pg_terminate_backend($1)', [pid]);
      const err = await loading.catch((e: unknown) => e);
      resume();
      expect(err).toBeInstanceOf(RetriableError);
      expect(err).not.toBeInstanceOf(FatalError);
      expect((err as Error).message).toMatch(/Postgres connection \(DATABASE_URL\) was lost while loading dataset admin_status_change/);
      expect(await ids()).toEqual(['90', '91']);
      // The pool threw the dead connection away: the retry gets a working one and loads the window.
      const retry = await request(async () => Readable.from([Buffer.from(HEADER + line(1) + line(2))]));
      expect(await loadReportWindow(pool, env.schema, retry)).toEqual({ rows: 2, widened: [] });
      expect(await ids()).toEqual(['1', '2']);
    } finally {
      resume();
      await pool.end();
    }
  });

  it('through the worker: a window whose complete download was empty is retried, and the retry loads it', async () => {
    env.fake.overrideNextDownload(DATASET, '');
    env.fake.overrideNextDownload(DATASET, HEADER + line(1));
    const summary = await runReports(env.ctx, { mode: 'backfill', range: W, datasetIds: [DATASET], windowMs: DAY }, { progress: () => {} });
    expect(summary.progress).toMatchObject({ loaded: 1, failed: 0 });
    expect(await ids()).toEqual(['1']);
    expect(env.fake.stats().downloads).toBe(3); // the first load, the empty one, the retry
  });
});

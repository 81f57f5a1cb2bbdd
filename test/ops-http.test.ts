import { beforeEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { RateLimitedError } from '../src/errors.js';
import { endpointLabel, intercomRateLimited, registry } from '../src/metrics.js';
import { syncSchedules } from '../src/schedules/index.js';
import { buildApp, startHttpServer } from '../src/server/http-server.js';
import { loadPartitionMap } from '../src/server/partition-map.js';
import { renderPartitionPage } from '../src/server/partition-page.js';
import { runCli } from './helpers/cli-process.js';
import { backfillWithGaps as backfillGaps, D0, DAY, isoDay, TODAY } from './helpers/ops-fixtures.js';
import { createTestEnv, TEST_DATABASE_URL, useTestEnv, type TestEnv } from './helpers/test-env.js';

const getEnv = useTestEnv({ env: { ETL_START_DATE: isoDay(D0) } });
let env: TestEnv;
beforeEach(() => {
  env = getEnv();
});
const iso = isoDay;
const backfillWithGaps = () => backfillGaps(env);

const get = (app: ReturnType<typeof buildApp>, path: string, headers: Record<string, string> = {}) =>
  app.request(`http://localhost${path}`, { headers });

/** The value of one sample in Prometheus text, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_:]+)(\{(.*)\})? (.+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[4]);
  }
  return undefined;
}

describe('worker HTTP surface', () => {
  it('serves metrics, the partition map and the dashboard after a backfill with a failed window and a missing day', async () => {
    await backfillWithGaps();
    await syncSchedules(env.ctx);
    const app = buildApp(env.ctx, { workersRunning: () => true });

    const metrics = await (await get(app, '/metrics')).text();
    expect(sample(metrics, 'intercom_etl_windows', { dataset: 'conversation', status: 'loaded' })).toBe(3);
    expect(sample(metrics, 'intercom_etl_windows', { dataset: 'conversation', status: 'failed' })).toBe(1);
    expect(sample(metrics, 'intercom_etl_state_up')).toBe(1);
    expect(sample(metrics, 'intercom_etl_rows_loaded_total', { dataset: 'conversation' })).toBeGreaterThan(0);
    expect(sample(metrics, 'intercom_etl_windows_finished_total', { dataset: 'conversation', outcome: 'failed' })).toBeGreaterThanOrEqual(
      1,
    );
    expect(sample(metrics, 'intercom_etl_window_load_duration_seconds_count', { dataset: 'conversation' })).toBeGreaterThanOrEqual(3);
    expect(sample(metrics, 'intercom_etl_export_wait_duration_seconds_count', { dataset: 'conversation' })).toBeGreaterThanOrEqual(3);
    expect(
      sample(metrics, 'intercom_etl_intercom_requests_total', { endpoint: 'POST /export/reporting_data/enqueue', status: '200' }),
    ).toBeGreaterThan(0);
    expect(sample(metrics, 'intercom_etl_queue_jobs', { queue: 'reports', state: 'waiting' })).toBe(0);
    expect(sample(metrics, 'intercom_etl_export_slots_in_use')).toBe(0);
    expect(sample(metrics, 'intercom_etl_process_cpu_seconds_total')).toBeGreaterThan(0);
    // Coverage stops at the gap left by failed day 0, before any loaded day: freshness counts from
    // the end of day 2, the end of the first contiguous loaded run (days 1–2).
    const freshness = sample(metrics, 'intercom_etl_freshness_seconds', { dataset: 'conversation' })!;
    expect(freshness).toBeGreaterThanOrEqual((Date.now() - (D0 + 3 * DAY)) / 1000 - 60);
    expect(freshness).toBeLessThan((Date.now() - (D0 + 5 * DAY)) / 1000 + 7 * DAY);
    expect(freshness).toBeLessThanOrEqual((Date.now() - (D0 + 3 * DAY)) / 1000 + 60);

    const page = await (await get(app, '/')).text();
    const row = /<tr data-dataset="conversation">.*<\/tr>/.exec(page)![0];
    const cell = (day: number) => new RegExp(`<td class="(\\w+)" title="${iso(D0 + day * DAY)} [^"]*"`).exec(row)?.[1];
    expect([0, 1, 2, 3, 4].map(cell)).toEqual(['failed', 'loaded', 'loaded', 'missing', 'loaded']);
    expect(page).toMatch(new RegExp(`title="${iso(D0)} failed: [^"]*CSV header of dataset conversation does not match`));
    expect(page).toMatch(new RegExp(`<tr><td>conversation</td><td>${iso(D0)}</td><td>The CSV header of dataset conversation`));
    expect(page).toContain('data-stream="companies"');
    expect(page).toMatch(/id="next-run">\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/);

    const board = await get(app, '/queues');
    expect(board.status).toBe(200);
    expect(await board.text()).toContain('intercom-etl');
    const api = (await (await get(app, '/queues/api/queues')).json()) as { queues: Array<{ name: string; readOnlyMode: boolean }> };
    expect(api.queues.map((q) => q.name).sort()).toEqual(['control', 'entities', 'reports']);
    expect(api.queues.every((q) => q.readOnlyMode)).toBe(true);
  });

  it('answers /healthz always and /readyz only while Postgres, Redis and the workers answer', async () => {
    let running = true;
    const app = buildApp(env.ctx, { workersRunning: () => running });
    expect((await get(app, '/healthz')).status).toBe(200);
    const ready = await get(app, '/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.text()).toBe('postgres: ok\nredis: ok\nworkers: ok\n');
    running = false;
    const notReady = await get(app, '/readyz');
    expect(notReady.status).toBe(503);
    expect(await notReady.text()).toContain('workers: FAIL not running');
  });

  it('asks for basic auth on everything but the probes when ETL_HTTP_AUTH is set, and lets the dashboard write only when allowed', async () => {
    const ctx = env.newContext({ ETL_HTTP_AUTH: 'ops:s3cret', ETL_DASHBOARD_WRITE: 'true' });
    const app = buildApp(ctx, { workersRunning: () => true });
    const basic = `Basic ${Buffer.from('ops:s3cret').toString('base64')}`;
    for (const path of ['/', '/metrics', '/queues', '/queues/api/queues']) {
      expect((await get(app, path)).status, path).toBe(401);
      expect((await get(app, path, { Authorization: `Basic ${Buffer.from('ops:wrong').toString('base64')}` })).status, path).toBe(401);
    }
    expect((await get(app, '/metrics', { Authorization: basic })).status).toBe(200);
    expect((await get(app, '/healthz')).status).toBe(200);
    const api = (await (await get(app, '/queues/api/queues', { Authorization: basic })).json()) as {
      queues: Array<{ readOnlyMode: boolean }>;
    };
    expect(api.queues.every((q) => !q.readOnlyMode)).toBe(true);
  });

  it('refuses to listen beyond loopback without ETL_HTTP_AUTH, and listens with it', async () => {
    const open = env.newContext({ ETL_HTTP_HOST: '0.0.0.0' });
    const err = await startHttpServer(open, { workersRunning: () => true, listenPort: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/ETL_HTTP_HOST=0\.0\.0\.0 .*set ETL_HTTP_AUTH=user:password/);
    expect(() => loadConfig({}, { ETL_HTTP_AUTH: 'nopassword' })).toThrow(/ETL_HTTP_AUTH must be user:password/);
    expect(loadConfig({}, {}).http).toMatchObject({ port: 9464, host: '127.0.0.1', auth: null, dashboardWrite: false });

    const guarded = env.newContext({ ETL_HTTP_HOST: '0.0.0.0', ETL_HTTP_AUTH: 'a:b' });
    const server = (await startHttpServer(guarded, { workersRunning: () => true, listenPort: 0 }))!;
    try {
      const port = new URL(server.url).port;
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(401);
    } finally {
      await server.close();
    }
    expect(await startHttpServer(env.newContext({ ETL_HTTP_PORT: '0' }), { workersRunning: () => true })).toBeNull();
    // The worker command refuses before doing anything, with a usage exit code.
    const refused = await runCli(['worker'], { ...env.childEnv, ETL_HTTP_PORT: '9464', ETL_HTTP_HOST: '0.0.0.0' });
    expect(refused.code, refused.output).toBe(2);
    expect(refused.output).toMatch(/ETL_HTTP_HOST=0\.0\.0\.0 is reachable from other hosts: set ETL_HTTP_AUTH=user:password/);
    // A second worker on the same host and port keeps working without HTTP instead of crashing.
    const first = (await startHttpServer(env.ctx, { workersRunning: () => true, listenPort: 0 }))!;
    try {
      const second = await startHttpServer(env.newContext(), { workersRunning: () => true, listenPort: Number(new URL(first.url).port) });
      expect(second).toBeNull();
    } finally {
      await first.close();
    }
  });

  it('serves a scrape within its timeout while Postgres is blocked, flagging the state gauges stale', async () => {
    const app = buildApp(env.ctx, { workersRunning: () => true });
    const blocker = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(`LOCK TABLE "${env.schema}".etl_export_windows IN ACCESS EXCLUSIVE MODE`);
      const text = await (await get(app, '/metrics')).text();
      expect(sample(text, 'intercom_etl_state_up')).toBe(0);
      // Process metrics are still served.
      expect(sample(text, 'intercom_etl_process_cpu_seconds_total')).toBeGreaterThan(0);
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
    await new Promise((r) => setTimeout(r, 100));
    // Once Postgres answers again the next scrape reads it.
    const text = await (await get(app, '/metrics')).text();
    expect(sample(text, 'intercom_etl_state_up')).toBe(1);
  });
});

describe('partition map', () => {
  const insert = (rows: Array<[string, number, number, string, string?]>) =>
    env.query(
      `INSERT INTO etl_export_windows (dataset_id, window_start, window_end, status, error)
       SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::text[], $5::text[])`,
      [
        rows.map((r) => r[0]),
        rows.map((r) => new Date(r[1])),
        rows.map((r) => new Date(r[2])),
        rows.map((r) => r[3]),
        rows.map((r) => r[4] ?? null),
      ],
    );

  it('folds overlapping windows of different sizes into one state per day', async () => {
    const h = 3_600_000;
    await insert([
      // Day 0: two loaded halves cover it.
      ['ds', D0, D0 + 12 * h, 'loaded'],
      ['ds', D0 + 12 * h, D0 + DAY, 'loaded'],
      // Day 1: only the first half loaded: not covered.
      ['ds', D0 + DAY, D0 + DAY + 12 * h, 'loaded'],
      // Days 2–8: an old 7-day window failed; days 2 and 3 were later loaded as 1-day windows.
      ['ds', D0 + 2 * DAY, D0 + 9 * DAY, 'failed', 'old layout <failed>'],
      ['ds', D0 + 2 * DAY, D0 + 3 * DAY, 'loaded'],
      ['ds', D0 + 3 * DAY, D0 + 4 * DAY, 'loaded'],
      // Day 4 is being re-exported; day 5 is queued.
      ['ds', D0 + 4 * DAY, D0 + 5 * DAY, 'exporting'],
      ['ds', D0 + 5 * DAY, D0 + 6 * DAY, 'queued'],
    ]);
    const map = await loadPartitionMap(env.ctx.pool, env.config);
    expect(map.from).toBe(D0);
    expect(map.to).toBe(TODAY);
    const days = map.datasets.find((d) => d.datasetId === 'ds')!.days;
    const state = (i: number) => days.get(D0 + i * DAY)?.state ?? 'missing';
    expect([0, 1, 2, 3, 4, 5, 6, 8, 9].map(state)).toEqual([
      'loaded',
      'missing',
      'loaded',
      'loaded',
      'exporting',
      'queued',
      'failed',
      'failed',
      'missing',
    ]);
    expect(days.get(D0 + 6 * DAY)?.error).toBe('old layout <failed>');
    const html = renderPartitionPage({ map, runs: { latest: [], lastCompleted: [] }, nextRun: null, generatedAt: Date.now() });
    expect(html).toContain(`title="${iso(D0 + 6 * DAY)} failed: old layout &lt;failed&gt;"`);
  });

  it('renders two years of 20 datasets from one query', async () => {
    const rows: Array<[string, number, number, string]> = [];
    const start = TODAY - 730 * DAY;
    for (let d = 0; d < 20; d++)
      for (let i = 0; i < 730; i++) rows.push([`ds${d}`, start + i * DAY, start + (i + 1) * DAY, i % 97 === 5 ? 'failed' : 'loaded']);
    await insert(rows);
    // Count the statements the render sends (BEGIN, SET LOCAL and COMMIT aside).
    const queries: string[] = [];
    const pool = env.ctx.pool;
    const connect = pool.connect.bind(pool);
    (pool as unknown as { connect: () => Promise<pg.PoolClient> }).connect = async () => {
      const client = await connect();
      const query = client.query.bind(client) as (...a: unknown[]) => unknown;
      (client as unknown as { query: (...a: unknown[]) => unknown }).query = (...args: unknown[]) => {
        if (!/^(BEGIN|SET|COMMIT)/.test(String(args[0]))) queries.push(String(args[0]));
        return query(...args);
      };
      return client;
    };
    const started = performance.now();
    const map = await loadPartitionMap(pool, env.config);
    const html = renderPartitionPage({ map, runs: { latest: [], lastCompleted: [] }, nextRun: null, generatedAt: Date.now() });
    const ms = performance.now() - started;
    (pool as unknown as { connect: typeof connect }).connect = connect;
    process.stderr.write(`partition map: 20 datasets × 730 days in ${ms.toFixed(0)} ms, ${(html.length / 1024).toFixed(0)} KiB of HTML\n`);
    expect(queries).toHaveLength(1);
    expect(map.datasets).toHaveLength(20);
    expect(html.match(/<td class="loaded"/g)).toHaveLength(20 * (730 - 8));
    expect(html.match(/<td class="failed"/g)).toHaveLength(20 * 8);
  });
});

describe('Intercom metrics', () => {
  it('counts 429s by scope when another client used up the budget', async () => {
    const own = await createTestEnv('ops 429', { fake: { rateLimit: { perAppPer10s: 2 } } });
    try {
      const before = (await intercomRateLimited.get()).values.find((v) => v.labels.scope === 'requests')?.value ?? 0;
      const other = own.newContext();
      await own.ctx.intercom.me();
      await own.ctx.intercom.me();
      // The other client has not seen the budget run out: it asks, and Intercom answers 429.
      const err = await other.intercom.me().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RateLimitedError);
      const after = (await intercomRateLimited.get()).values.find((v) => v.labels.scope === 'requests')?.value ?? 0;
      expect(after - before).toBe(1);
      const text = await registry.metrics();
      expect(text).toMatch(/intercom_etl_intercom_requests_total\{endpoint="GET \/me",status="429"\} [1-9]/);
      expect(text).toMatch(/intercom_etl_intercom_rate_limit_remaining 0/);
    } finally {
      await own.cleanup();
    }
  });
});

describe('metric labels', () => {
  it('keeps the endpoint label to a few values whatever the ids', () => {
    expect(endpointLabel('GET', '/export/reporting_data/abc123')).toBe('GET /export/reporting_data/:job');
    expect(endpointLabel('POST', '/export/reporting_data/enqueue')).toBe('POST /export/reporting_data/enqueue');
    expect(endpointLabel('GET', '/prefix/download/reporting_data/xyz')).toBe('GET /download/reporting_data/:job');
    expect(endpointLabel('GET', '/companies/scroll')).toBe('GET /companies/scroll');
    expect(endpointLabel('GET', '/contacts/123')).toBe('GET other');
  });
});

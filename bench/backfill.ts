/**
 * Backfill benchmark (issue 7 §6): runs the product's own `intercom-etl backfill` as a child
 * process against the fake Intercom (in this process), a Redis it starts on a spare port and a
 * Postgres database of its own, and prints per window: Redis commands (INFO commandstats), Postgres
 * commits (pg_stat_database), job runs (the ledger's attempts), HTTP calls by endpoint (the fake's
 * request log) and CPU ms; plus makespan, the share of it with every export slot busy at the fake
 * (from the fake's job timeline), and peak RSS. See bench/README.md.
 *
 *   npm run bench:backfill -- [--days 30] [--datasets 7] [--latency 200 | --latency 10000-60000] [--rows-per-day 20]
 *                             [--window 1d] [--concurrency n (default: the product's)] [--poll-interval ms (default: the product's)]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { migrate } from '../src/db/migrate.js';
import { createPool } from '../src/db/pool.js';
import { FakeIntercom } from '../src/fake-intercom/index.js';
import { exited, startBenchRedis, waitForRedis } from './bench-processes.js';

const PG_ADMIN_URL = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
// A database per label: pg_stat_database counts per database, so two runs at once need two.
const DATABASE = `bench_backfill_${(process.env.BENCH_LABEL ?? 'main').replace(/\W/g, '_')}`;
const SCHEMA = 'bench';
const TOKEN = 'bench-token';
const DAY_MS = 86_400_000;
const SLOTS = 5;

const { values: args } = parseArgs({
  options: {
    days: { type: 'string', default: '30' },
    datasets: { type: 'string', default: '7' },
    latency: { type: 'string', default: '200' },
    'rows-per-day': { type: 'string', default: '20' },
    window: { type: 'string', default: '1d' },
    concurrency: { type: 'string' },
    'poll-interval': { type: 'string' },
  },
});
const days = Number(args.days);
const datasetCount = Number(args.datasets);
const latency = String(args.latency);
const rowsPerDay = Number(args['rows-per-day']);

async function main(): Promise<void> {
  const root = path.resolve(import.meta.dirname, '..');
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'bench-backfill-'));
  const benchRedis = await startBenchRedis(tmp);
  const { port, redis } = benchRedis;
  const fake = await FakeIntercom.start({
    tokens: [TOKEN],
    rateLimit: { perAppPer10s: 1_000_000, perWorkspacePer10s: 1_000_000 },
    export: { rowsPerDay, ...latencyOption(latency) },
  });
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await waitForRedis(redis);
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${DATABASE}`);
    const databaseUrl = new URL(PG_ADMIN_URL);
    databaseUrl.pathname = `/${DATABASE}`;
    const pool = createPool(databaseUrl.toString(), SCHEMA);
    await pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await migrate(pool, SCHEMA);

    const datasets = (await fetchDatasets(fake.url)).slice(0, datasetCount);
    const end = Math.floor(Date.now() / DAY_MS) * DAY_MS - DAY_MS; // the last whole day
    const start = end - (days - 1) * DAY_MS;
    const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);

    await redis.config('RESETSTAT');
    const commitsBefore = await commits(admin);
    const usageFile = path.join(tmp, 'usage.json');
    const env = {
      ...process.env,
      INTERCOM_ACCESS_TOKEN: TOKEN,
      INTERCOM_BASE_URL: fake.url,
      DATABASE_URL: databaseUrl.toString(),
      REDIS_URL: `redis://127.0.0.1:${port}`,
      PG_SCHEMA: SCHEMA,
      ETL_QUEUE_PREFIX: 'bench',
      ...(args['poll-interval'] ? { ETL_POLL_INTERVAL_MS: String(args['poll-interval']) } : {}),
      ETL_WINDOW: String(args.window),
      ...(args.concurrency ? { ETL_CONCURRENCY: String(args.concurrency) } : {}),
      LOG_LEVEL: 'warn',
      BENCH_USAGE_FILE: usageFile,
    };
    const cli = [
      '--import',
      'tsx',
      '--import',
      path.join(root, 'bench/usage-at-exit.mjs'),
      path.join(root, 'src/cli/main.ts'),
      'backfill',
      '--from',
      iso(start),
      '--to',
      iso(end),
      ...datasets.flatMap((d) => ['--dataset', d]),
    ];
    // Start-up CPU (loading the modules, through tsx) is a fixed cost: measured once with `--help`
    // and shown apart, so that a short run's cost per window is not dominated by it.
    const startupFile = path.join(tmp, 'startup.json');
    await exited(
      spawn(process.execPath, [...cli.slice(0, 5), '--help'], {
        env: { ...env, BENCH_USAGE_FILE: startupFile },
        cwd: root,
        stdio: 'ignore',
      }),
    );
    const startup = JSON.parse(await readFile(startupFile, 'utf8')) as { userMs: number; systemMs: number };
    const startupMs = startup.userMs + startup.systemMs;
    const started = Date.now();
    const child = spawn(process.execPath, cli, { env, cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (output = (output + b.toString()).slice(-20_000)));
    const code = await exited(child);
    const makespanMs = Date.now() - started;
    if (code !== 0) throw new Error(`backfill exited ${code}:\n${output.slice(-4000)}`);

    const { total: redisCommands, top: topCommands } = await commandCount(redis);
    const pgCommits = (await commits(admin)) - commitsBefore;
    const ledger = await pool.query<{ n: string; attempts: string; loaded: string }>(
      `SELECT count(*) AS n, sum(attempts) AS attempts, count(*) FILTER (WHERE status = 'loaded') AS loaded FROM etl_export_windows`,
    );
    await pool.end();
    const windows = Number(ledger.rows[0]!.n);
    const usage = JSON.parse(await readFile(usageFile, 'utf8')) as {
      userMs: number;
      systemMs: number;
      maxRssKb: number;
      memory: MemorySample[];
    };
    const stats = fake.stats();
    const byEndpoint = new Map<string, number>();
    for (const r of stats.requests) {
      if (r.at < started) continue;
      const key = `${r.method} ${r.path.replace(/\/export\/reporting_data\/(?!enqueue|get_datasets)[^/?]+/, '/export/reporting_data/{job}').replace(/\/download\/.*/, '/download/…')}`;
      byEndpoint.set(key, (byEndpoint.get(key) ?? 0) + 1);
    }
    const per = (n: number) => (n / windows).toFixed(2);
    const lines = [
      `backfill bench: ${datasets.length} datasets × ${days} days in ${String(args.window)} windows = ${windows} windows (${ledger.rows[0]!.loaded} loaded), export latency ${latency} ms, ${rowsPerDay} rows/day`,
      `makespan                    ${(makespanMs / 1000).toFixed(1)} s`,
      `slots busy (${SLOTS} unfinished)  ${(100 * fullSlotShare(stats.exportJobs, started, started + makespanMs)).toFixed(1)} % of the makespan`,
      ...slotLossLines(stats.exportJobs, stats.requests, started, started + makespanMs),
      `peak RSS                    ${(usage.maxRssKb / 1024).toFixed(0)} MB`,
      ...memoryLines(usage.memory),
      `per window:`,
      `  Redis commands            ${per(redisCommands)}`,
      `  Postgres commits          ${per(pgCommits)}`,
      `  job runs                  ${per(Number(ledger.rows[0]!.attempts))}`,
      `  CPU ms                    ${per(usage.userMs + usage.systemMs)} (${per(usage.userMs + usage.systemMs - startupMs)} without the ${Math.round(startupMs)} ms of start-up)`,
      ...[...byEndpoint.entries()].sort().map(([k, n]) => `  HTTP ${k.padEnd(40)} ${per(n)}`),
      `  Redis, top commands:      ${topCommands.map(([c, n]) => `${c} ${per(n)}`).join(', ')}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await fake.close();
    await admin.end();
    await benchRedis.stop();
    await rm(tmp, { recursive: true, force: true });
  }
}

function latencyOption(spec: string): { latencyMs: number } | { latencyRangeMs: [number, number] } {
  const m = /^(\d+)(?:-(\d+))?$/.exec(spec);
  if (!m) throw new Error(`--latency takes ms or a range min-max in ms, got ${JSON.stringify(spec)}`);
  return m[2] ? { latencyRangeMs: [Number(m[1]), Number(m[2])] } : { latencyMs: Number(m[1]) };
}

/** Share of [from, to] during which every slot held an unfinished export, by a sweep over the timeline. */
function fullSlotShare(jobs: Array<{ enqueuedAtMs: number; finishedAtMs: number }>, from: number, to: number): number {
  const events: Array<[number, number]> = [];
  for (const j of jobs) events.push([j.enqueuedAtMs, 1], [j.finishedAtMs, -1]);
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let last = from;
  let full = 0;
  for (const [t, d] of events) {
    const at = Math.min(Math.max(t, from), to);
    if (open >= SLOTS) full += at - last;
    last = at;
    open += d;
  }
  if (open >= SLOTS) full += to - last;
  return full / (to - from);
}

interface MemorySample {
  at: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

/** The child's memory at the start, each quarter of the run and the end: what grows with the number of windows. */
function memoryLines(samples: MemorySample[] | undefined): string[] {
  if (!samples || samples.length < 2) return [];
  const mb = (n: number) => (n / 1048576).toFixed(0).padStart(4);
  const picks = [0, 0.25, 0.5, 0.75, 1].map((q) => samples[Math.min(samples.length - 1, Math.round(q * (samples.length - 1)))]!);
  const max = (k: keyof MemorySample) => Math.max(...samples.map((s) => s[k]));
  return [
    `  memory (MB)                    rss heapUsed heapTotal external`,
    ...picks.map(
      (s, i) =>
        `    ${['start', '25 %', '50 %', '75 %', 'end'][i]!.padEnd(28)}${mb(s.rss)}     ${mb(s.heapUsed)}      ${mb(s.heapTotal)}     ${mb(s.external)}`,
    ),
    `    ${'max (2 s samples)'.padEnd(28)}${mb(max('rss'))}     ${mb(max('heapUsed'))}      ${mb(max('heapTotal'))}     ${mb(max('external'))}`,
  ];
}

/**
 * Where slot time goes, from the fake's side: before the 5th first export (start-up, plan), after
 * the last moment with 5 unfinished (the tail: fewer windows than slots left), and per export
 * between its finish and the status call that saw it (poll lateness) and from that call to the
 * next enqueue (the refill: release, dispatch, job pick-up, enqueue).
 */
function slotLossLines(
  jobs: Array<{ id: string; datasetId: string; enqueuedAtMs: number; finishedAtMs: number }>,
  requests: Array<{ method: string; path: string; at: number }>,
  from: number,
  to: number,
): string[] {
  if (jobs.length < SLOTS) return [];
  const firstStatusAfter = new Map<string, number>();
  const finishOf = new Map(jobs.map((j) => [j.id, j.finishedAtMs]));
  for (const r of requests) {
    const m = /\/export\/reporting_data\/([^/?]+)/.exec(r.path);
    if (r.method !== 'GET' || !m || m[1] === 'get_datasets') continue;
    const fin = finishOf.get(m[1]!);
    if (fin !== undefined && r.at >= fin && !firstStatusAfter.has(m[1]!)) firstStatusAfter.set(m[1]!, r.at);
  }
  const statusCalls = new Map<string, number>();
  for (const r of requests) {
    const m = /\/export\/reporting_data\/([^/?]+)/.exec(r.path);
    if (r.method === 'GET' && m && finishOf.has(m[1]!)) statusCalls.set(m[1]!, (statusCalls.get(m[1]!) ?? 0) + 1);
  }
  const byEnqueue = [...jobs].sort((a, b) => a.enqueuedAtMs - b.enqueuedAtMs).map((j) => statusCalls.get(j.id) ?? 0);
  const fifth = Math.ceil(byEnqueue.length / 5);
  const meanOf = (xs: number[]) => (xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length);
  const enqueues = jobs.map((j) => j.enqueuedAtMs).sort((a, b) => a - b);
  const seen = jobs.filter((j) => firstStatusAfter.has(j.id)).map((j) => ({ finish: j.finishedAtMs, seen: firstStatusAfter.get(j.id)! }));
  seen.sort((a, b) => a.seen - b.seen);
  const late = seen.map((s) => s.seen - s.finish);
  // The i-th export seen finished frees the slot the (SLOTS + i)-th enqueue takes.
  const refill: number[] = [];
  for (let i = 0; i + SLOTS < enqueues.length && i < seen.length; i++) refill.push(enqueues[i + SLOTS]! - seen[i]!.seen);
  let lastFull: number | null = null;
  const events = jobs
    .flatMap((j) => [[j.enqueuedAtMs, 1] as const, [j.finishedAtMs, -1] as const])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  for (const [t, d] of events) {
    if (open >= SLOTS) lastFull = t;
    open += d;
  }
  const stat = (xs: number[]) => {
    if (xs.length === 0) return 'n/a';
    const sorted = [...xs].sort((a, b) => a - b);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    return `mean ${Math.round(mean)} ms, p50 ${sorted[Math.floor(sorted.length / 2)]} ms, p90 ${sorted[Math.floor(sorted.length * 0.9)]} ms`;
  };
  // By the export's rank within its dataset (by enqueue): the first ones are polled with little or no history.
  const rankOf = new Map<string, number>();
  const perDataset = new Map<string, number>();
  for (const j of [...jobs].sort((a, b) => a.enqueuedAtMs - b.enqueuedAtMs)) {
    const n = (perDataset.get(j.datasetId) ?? 0) + 1;
    perDataset.set(j.datasetId, n);
    rankOf.set(j.id, n);
  }
  const byRank = (lo: number, hi: number) => {
    const sel = jobs.filter((j) => rankOf.get(j.id)! >= lo && rankOf.get(j.id)! <= hi && firstStatusAfter.has(j.id));
    if (sel.length === 0) return 'n/a';
    const lateMs = meanOf(sel.map((j) => firstStatusAfter.get(j.id)! - j.finishedAtMs));
    const share = meanOf(sel.map((j) => (firstStatusAfter.get(j.id)! - j.finishedAtMs) / (j.finishedAtMs - j.enqueuedAtMs)));
    return `${sel.length} exports, ${meanOf(sel.map((j) => statusCalls.get(j.id) ?? 0)).toFixed(2)} status calls, late ${Math.round(lateMs)} ms (${(100 * share).toFixed(1)} % of the export), ${(sel.reduce((s, j) => s + firstStatusAfter.get(j.id)! - j.finishedAtMs, 0) / 1000).toFixed(1)} s in all`;
  };
  return [
    `  by rank in its dataset     1st: ${byRank(1, 1)}`,
    `                             2nd–4th: ${byRank(2, 4)}`,
    `                             5th on: ${byRank(5, Infinity)}`,
    `  before 5 unfinished        ${((enqueues[SLOTS - 1]! - from) / 1000).toFixed(1)} s (start-up, plan, first enqueues)`,
    lastFull === null
      ? `  tail after last 5          (never ${SLOTS} unfinished at once)`
      : `  tail after last 5          ${((to - lastFull) / 1000).toFixed(1)} s (fewer windows left than slots, last loads, exit), of which ${((to - Math.max(...jobs.map((j) => j.finishedAtMs))) / 1000).toFixed(1)} s after the last export finished`,
    `  finish → seen by a poll    ${stat(late)}`,
    `  status calls per export    ${meanOf(byEnqueue.slice(0, fifth)).toFixed(2)} for the first fifth enqueued, ${meanOf(byEnqueue.slice(fifth)).toFixed(2)} for the rest`,
    `  seen → next enqueue        ${stat(refill)}`,
  ];
}

async function fetchDatasets(baseUrl: string): Promise<string[]> {
  const res = await fetch(`${baseUrl}/export/reporting_data/get_datasets`, {
    headers: { Authorization: `Bearer ${TOKEN}`, 'Intercom-Version': '2.14' },
  });
  const body = (await res.json()) as { data: Array<{ id: string }> };
  return body.data.map((d) => d.id);
}

/** Commands run since RESETSTAT (those inside Lua scripts included), without the bench's own. */
async function commandCount(redis: Redis): Promise<{ total: number; top: Array<[string, number]> }> {
  const info = await redis.info('commandstats');
  const all: Array<[string, number]> = [];
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
    if (m[1] !== 'info' && m[1] !== 'config') all.push([m[1]!, Number(m[2])]);
  all.sort((a, b) => b[1] - a[1]);
  return { total: all.reduce((s, [, n]) => s + n, 0), top: all.slice(0, Number(process.env.BENCH_TOP_COMMANDS ?? 8)) };
}

async function commits(admin: pg.Client): Promise<number> {
  // Statistics are sent at the end of each transaction, possibly delayed; take a fresh snapshot.
  await admin.query('SELECT pg_stat_clear_snapshot()');
  const { rows } = await admin.query<{ n: string }>('SELECT xact_commit AS n FROM pg_stat_database WHERE datname = $1', [DATABASE]);
  return Number(rows[0]?.n ?? 0);
}

await main();

/**
 * `npm run bench:entities` (second half; the first is bench/entity-merge.ts): the memory of a
 * companies or tickets run at scale, also while Postgres stalls.
 *
 * Runs the product's own `intercom-etl sync companies` / `sync tickets` as a child process against
 * the fake Intercom (in this process, so the fake's own memory — it holds every company and ticket —
 * is not counted), a Redis it starts on a spare port and a throw-away schema. Each stream runs twice:
 * as it is, then with its stage table locked (`LOCK TABLE … IN ACCESS EXCLUSIVE MODE`, from another
 * connection) for BENCH_LOCK_MS once BENCH_LOCK_AFTER_PAGES pages have been served, while the fake
 * keeps answering. Prints per run the child's peak RSS (`process.resourceUsage().maxRSS`, written at
 * exit by bench/usage-at-exit.mjs), its peak RSS while the table was locked (/proc/<pid>/status,
 * every 100 ms), the pages the fake served while the lock was held, and the wall time.
 * The product runs as it ships, from `dist/` (built first); BENCH_FROM_SOURCE=1 runs `src` through tsx.
 * Options: BENCH_COMPANIES (300000), BENCH_TICKETS (100000), BENCH_LOCK_MS (20000),
 * BENCH_LOCK_AFTER_PAGES (200), BENCH_STREAMS (companies,tickets), DATABASE_URL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { migrate } from '../src/db/migrate.js';
import { createPool } from '../src/db/pool.js';
import { FakeIntercom } from '../src/fake-intercom/index.js';
import { exited, startBenchRedis, waitForRedis } from './bench-processes.js';

const SCHEMA = process.env.BENCH_SCHEMA ?? 'bench_entities_sync';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const COMPANIES = Number(process.env.BENCH_COMPANIES ?? 300_000);
const TICKETS = Number(process.env.BENCH_TICKETS ?? 100_000);
const LOCK_MS = Number(process.env.BENCH_LOCK_MS ?? 20_000);
const LOCK_AFTER_PAGES = Number(process.env.BENCH_LOCK_AFTER_PAGES ?? 200);
const TOKEN = 'bench-token';
const FROM_SOURCE = process.env.BENCH_FROM_SOURCE === '1';
const STAGE_TABLE = { companies: 'etl_company_stage', tickets: 'etl_ticket_stage' } as const;
type Stream = keyof typeof STAGE_TABLE;

const mb = (bytes: number) => `${Math.round(bytes / 1e6)} MB`;
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

/** RSS of a process now, from /proc (bytes; 0 once it is gone). */
async function rssOf(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** Pages with data the fake has served for a stream so far. */
function pagesServed(fake: FakeIntercom, stream: Stream): number {
  if (stream === 'companies') return fake.scrollStats().pagesServed;
  return fake.stats().requests.filter((r) => r.method === 'POST' && r.path === '/tickets/search' && r.status === 200).length;
}

interface LockReport {
  pagesWhileLocked: number;
  peakRssWhileLocked: number;
}

/** Waits until the run has fetched `LOCK_AFTER_PAGES` pages, then holds the stage table locked for LOCK_MS. */
async function lockStageDuringRun(fake: FakeIntercom, stream: Stream, child: ChildProcess, startPages: number): Promise<LockReport | null> {
  while (pagesServed(fake, stream) - startPages < LOCK_AFTER_PAGES) {
    if (child.exitCode !== null) return null;
    await sleep(50);
  }
  const blocker = new pg.Client({ connectionString: DATABASE_URL });
  blocker.on('error', () => {});
  await blocker.connect();
  try {
    await blocker.query(`SET search_path TO ${SCHEMA}`);
    await blocker.query('BEGIN');
    await blocker.query(`LOCK TABLE ${STAGE_TABLE[stream]} IN ACCESS EXCLUSIVE MODE`); // waits for the batch being staged
    const before = pagesServed(fake, stream);
    let peak = 0;
    const until = Date.now() + LOCK_MS;
    while (Date.now() < until) {
      peak = Math.max(peak, await rssOf(child.pid!));
      await sleep(100);
    }
    const pagesWhileLocked = pagesServed(fake, stream) - before;
    await blocker.query('COMMIT');
    return { pagesWhileLocked, peakRssWhileLocked: peak };
  } finally {
    await blocker.end();
  }
}

async function runSync(
  root: string,
  env: NodeJS.ProcessEnv,
  fake: FakeIntercom,
  stream: Stream,
  locked: boolean,
  tmp: string,
): Promise<string> {
  const usageFile = path.join(tmp, `usage-${stream}-${locked}.json`);
  const startPages = pagesServed(fake, stream);
  const started = Date.now();
  const child = spawn(process.execPath, [...productCommand(root), 'sync', stream], {
    env: { ...env, BENCH_USAGE_FILE: usageFile },
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (b: Buffer) => (output = (output + b.toString()).slice(-20_000)));
  child.stderr!.on('data', (b: Buffer) => (output = (output + b.toString()).slice(-20_000)));
  const lock = locked ? lockStageDuringRun(fake, stream, child, startPages) : Promise.resolve(null);
  const code = await exited(child);
  const held = await lock;
  const wallS = (Date.now() - started) / 1000;
  if (code !== 0) throw new Error(`sync ${stream} exited ${code}:\n${output.slice(-4000)}`);
  const usage = JSON.parse(await readFile(usageFile, 'utf8')) as {
    maxRssKb: number;
    peakHeapTotalBytes: number;
    peakHeapUsedBytes: number;
    peakExternalBytes: number;
  };
  const pages = pagesServed(fake, stream) - startPages;
  const lockText = held
    ? `; stage locked ${LOCK_MS / 1000} s: ${held.pagesWhileLocked} pages fetched meanwhile, peak RSS then ${mb(held.peakRssWhileLocked)}`
    : '';
  return `sync ${stream.padEnd(9)} ${locked ? 'locked' : 'free  '} ${wallS.toFixed(1).padStart(6)} s, ${pages} pages, peak RSS ${mb(usage.maxRssKb * 1024)} (V8 heap ${mb(usage.peakHeapTotalBytes)}, of it used ${mb(usage.peakHeapUsedBytes)}; outside it ${mb(usage.peakExternalBytes)})${lockText}`;
}

async function main(): Promise<void> {
  const root = path.resolve(import.meta.dirname, '..');
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'bench-entities-'));
  const benchRedis = await startBenchRedis(tmp);
  const { port, redis } = benchRedis;
  const fake = await FakeIntercom.start({
    tokens: [TOKEN],
    rateLimit: { perAppPer10s: 1_000_000, perWorkspacePer10s: 1_000_000 },
    companies: { count: COMPANIES },
    tickets: { count: TICKETS },
  });
  const pool = createPool(DATABASE_URL, SCHEMA, 1);
  try {
    if (!FROM_SOURCE) {
      console.log('building dist/ (npm run build)…');
      if (process.env.BENCH_SKIP_BUILD !== '1' && (await exited(spawn('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' }))) !== 0)
        throw new Error('npm run build failed');
    }
    await waitForRedis(redis);
    // The product's `sync` also makes the BI schema (views, rollups) beside it.
    await pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA}_bi CASCADE`);
    await pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await migrate(pool, SCHEMA);
    const env = {
      ...process.env,
      INTERCOM_ACCESS_TOKEN: TOKEN,
      INTERCOM_BASE_URL: fake.url,
      DATABASE_URL,
      REDIS_URL: `redis://127.0.0.1:${port}`,
      PG_SCHEMA: SCHEMA,
      ETL_QUEUE_PREFIX: 'bench',
      LOG_LEVEL: 'warn',
      ...(process.env.BENCH_CHILD_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_CHILD_NODE_OPTIONS } : {}),
    };
    const baseline = path.join(tmp, 'baseline.json');
    await exited(
      spawn(process.execPath, [...productCommand(root), '--help'], {
        env: { ...env, BENCH_USAGE_FILE: baseline },
        cwd: root,
        stdio: 'ignore',
      }),
    );
    const baseRss = (JSON.parse(await readFile(baseline, 'utf8')) as { maxRssKb: number }).maxRssKb * 1024;
    console.log(`${COMPANIES.toLocaleString('en')} companies, ${TICKETS.toLocaleString('en')} tickets; load average ${load()}`);
    const how = FROM_SOURCE ? 'node + tsx from src' : 'node dist/cli/main.js';
    console.log(`peak RSS of \`intercom-etl --help\` (${how}, the product's modules loaded): ${mb(baseRss)}\n`);
    for (const stream of (process.env.BENCH_STREAMS ?? 'companies,tickets').split(',') as Stream[]) {
      for (const locked of [false, true]) {
        // Every tickets run fetches everything again: forget the watermark.
        if (stream === 'tickets') await pool.query(`DELETE FROM etl_sync_state WHERE stream = 'tickets'`);
        console.log(await runSync(root, env, fake, stream, locked, tmp));
      }
    }
    console.log(`\nload average at the end ${load()}`);
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA}_bi CASCADE`).catch(() => {});
    await pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`).catch(() => {});
    await pool.end();
    await fake.close();
    await benchRedis.stop();
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * The product as it ships (`node dist/cli/main.js`, built first by `npm run build`), or through tsx
 * from `src` with BENCH_FROM_SOURCE=1 (tsx's compiler adds ~40 MB to every process).
 */
function productCommand(root: string): string[] {
  const usage = ['--import', path.join(root, 'bench/usage-at-exit.mjs')];
  if (FROM_SOURCE) return ['--import', 'tsx', ...usage, path.join(root, 'src/cli/main.ts')];
  return [...usage, path.join(root, 'dist/cli/main.js')];
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

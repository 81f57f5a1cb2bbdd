/**
 * Load-path throughput benchmark: the product's window loader (decodeDownload → loadReportWindow,
 * i.e. BEGIN, delete the window, COPY … FROM STDIN, COMMIT) against psql's `\copy … FROM PROGRAM
 * 'gunzip -c …'` into a table of the same shape, on a generated 1,000,000-row gzipped CSV.
 * Run with `npm run bench`; see bench/README.md.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { migrate } from '../src/db/migrate.js';
import { createPool, quoteIdent } from '../src/db/pool.js';
import { decodeDownload } from '../src/intercom/download-decoder.js';
import type { DatasetAttribute } from '../src/intercom/types.js';
import { columnsForRequest, loadReportDataset, syncCatalogue, type ReportColumn } from '../src/sinks/report-catalogue.js';
import { peekCsvHeader } from '../src/sinks/csv-header.js';
import { loadReportWindow } from '../src/sinks/report-loader.js';
import { CONVERSATION_HEADER, generateConversationCsv, type GeneratedFile } from './generate-csv.js';
import { runPsqlCopy } from './psql-copy.js';
import { RssSampler } from './rss-sampler.js';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SCHEMA = 'bench_load';
const ROWS = 1_000_000;
const RUNS = 3;
const WINDOW_START = Date.UTC(2026, 4, 1); // 2026-05-01
const WINDOW_END = Date.UTC(2026, 5, 1); // 2026-06-01: the window covers the whole month
const DATA_SPAN_MS = 30 * 86_400_000; // rows fall in 2026-05-01 .. 2026-05-31
const JOB_ID = 'bench';

const QUALIFIED: Record<string, string> = {
  conversation_started_at: 'timestamp.conversation_started_at',
  first_response_time_excluding_bot_inbox: 'duration.first_response_time_excluding_bot_inbox',
};

const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
const secs = (ms: number): string => (ms / 1000).toFixed(2);
const rate = (rows: number, ms: number): string => Math.round(rows / (ms / 1000)).toLocaleString('en-US');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const log = (line: string): void => console.log(line);

interface TableStats {
  rows: string;
  distinctIds: string;
  repliesSum: string;
  multilineRemarks: string;
  metadataOk: string;
}

async function tableStats(pool: pg.Pool, table: string): Promise<TableStats> {
  const { rows } = await pool.query<TableStats>(
    `SELECT count(*)::text AS "rows", count(DISTINCT conversation_id)::text AS "distinctIds",
            sum(teammate_replies_count)::text AS "repliesSum",
            count(*) FILTER (WHERE last_teammate_rating_remark LIKE E'%\\n%')::text AS "multilineRemarks",
            count(*) FILTER (WHERE _intercom_job_id = $1 AND _window_start = $2 AND _window_end = $3)::text AS "metadataOk"
       FROM ${SCHEMA}.${quoteIdent(table)}`,
    [JOB_ID, new Date(WINDOW_START), new Date(WINDOW_END)],
  );
  return rows[0]!;
}

/** The product's decode path alone (read → decodeDownload → peekCsvHeader → drain), no database. */
async function decodeOnlyMs(gzPath: string): Promise<number> {
  const t0 = performance.now();
  const { stream } = decodeDownload(createReadStream(gzPath));
  const peeked = await peekCsvHeader(stream);
  await pipeline(peeked.stream, new Writable({ write: (_c, _e, cb) => cb() }));
  return performance.now() - t0;
}

interface Results {
  file: GeneratedFile;
  productMs: number[];
  psqlMs: number[];
  noListMs: number[];
  listColumns: string[];
  decodeMs: number;
  deleteMs: number;
  replaceMs: number;
  rssBefore: number;
  peakRss: number;
  rssSamples: number;
  stats: { product: TableStats; psql: TableStats };
}

async function run(tmp: string, pool: pg.Pool): Promise<Results> {
  const gzPath = path.join(tmp, 'conversation.csv.gz');
  log(`Generating ${ROWS.toLocaleString('en-US')} rows into ${gzPath} …`);
  let t0 = performance.now();
  const file = await generateConversationCsv(gzPath, { rows: ROWS, windowStart: WINDOW_START, spanMs: DATA_SPAN_MS });
  log(
    `  done in ${secs(performance.now() - t0)} s: ${mb(file.gzBytes)} MB gzipped, ${mb(file.rawBytes)} MB raw, ` +
      `${file.trickyRows.toLocaleString('en-US')} rows with quoted commas/quotes/newlines`,
  );

  await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(SCHEMA)} CASCADE`);
  await migrate(pool, SCHEMA);
  const attributes: DatasetAttribute[] = CONVERSATION_HEADER.map((id) => ({
    id,
    name: id.replace(/_/g, ' '),
    ...(QUALIFIED[id] ? { qualifiedId: QUALIFIED[id] } : {}),
  }));
  await syncCatalogue(pool, SCHEMA, [
    { id: 'conversation', name: 'Conversation', description: 'bench', defaultTimeAttributeId: 'conversation_started_at', attributes },
  ]);
  const ds = await loadReportDataset(pool, 'conversation');
  if (!ds) throw new Error('The conversation dataset is not in the catalogue after syncCatalogue.');
  const columns: ReportColumn[] = columnsForRequest(
    ds,
    attributes.map((a) => a.qualifiedId ?? a.id),
  );
  const table = `${quoteIdent(SCHEMA)}.${quoteIdent(ds.tableName)}`;
  await pool.query(`CREATE TABLE ${SCHEMA}.psql_copy (LIKE ${table} INCLUDING ALL)`);
  // The same table without the lists' generated text[] columns: what a list column costs a load.
  const lists = columns.filter((c) => c.loadColumn !== c.columnName);
  await pool.query(`CREATE TABLE ${SCHEMA}.psql_nolist (LIKE ${table} INCLUDING ALL)`);
  for (const c of lists) await pool.query(`ALTER TABLE ${SCHEMA}.psql_nolist DROP COLUMN ${quoteIdent(c.columnName)}`);
  log(
    `Schema ${SCHEMA}: ${ds.tableName} (${columns.map((c) => `${c.columnName} ${c.columnType}`).join(', ')}) and psql_copy (LIKE … INCLUDING ALL)`,
  );

  const decodeMs = await decodeOnlyMs(gzPath);
  log(`Decode only (read → gunzip → BOM strip → header peek → drain, no DB): ${secs(decodeMs)} s, ${rate(ROWS, decodeMs)} rows/s`);

  const rssBefore = process.memoryUsage().rss;
  const sampler = new RssSampler(50);
  const productMs: number[] = [];
  const psqlMs: number[] = [];
  const noListMs: number[] = [];
  const loadProduct = () =>
    loadReportWindow(pool, SCHEMA, {
      dataset: ds,
      columns,
      window: { start: WINDOW_START, end: WINDOW_END },
      intercomJobId: JOB_ID,
      timestampTimezone: 'UTC',
      openCsv: async () => decodeDownload(createReadStream(gzPath)).stream,
    });
  for (let i = 1; i <= RUNS; i++) {
    // Like psql's runs, each product run loads into an empty table (untimed TRUNCATE): the same work.
    await pool.query(`TRUNCATE ${table}`);
    sampler.start();
    t0 = performance.now();
    let res: Awaited<ReturnType<typeof loadReportWindow>>;
    try {
      res = await loadProduct();
    } finally {
      sampler.stop();
    }
    const ms = performance.now() - t0;
    if (res.rows !== ROWS) throw new Error(`Product load ${i} loaded ${res.rows} rows, expected ${ROWS}.`);
    if (res.widened.length > 0) throw new Error(`Product load ${i} widened ${res.widened.join(', ')}: the typed columns did not fit.`);
    productMs.push(ms);
    log(`  run ${i} product load path: ${secs(ms)} s, ${rate(res.rows, ms)} rows/s`);

    await pool.query(`TRUNCATE ${SCHEMA}.psql_copy`);
    const p = await runPsqlCopy({
      databaseUrl: DATABASE_URL,
      table: `${quoteIdent(SCHEMA)}.psql_copy`,
      // The same columns the product's COPY fills: a list's text column (its array is generated).
      columns: columns.map((c) => quoteIdent(c.loadColumn)),
      forceNull: columns.filter((c) => c.loadColumn === c.columnName && c.columnType !== 'text').map((c) => quoteIdent(c.columnName)),
      gzPath,
      windowStartIso: new Date(WINDOW_START).toISOString(),
      windowEndIso: new Date(WINDOW_END).toISOString(),
      jobId: JOB_ID,
      scriptPath: path.join(tmp, 'copy.psql'),
    });
    if (p.rows !== ROWS) throw new Error(`psql \\copy ${i} loaded ${p.rows} rows, expected ${ROWS}.`);
    psqlMs.push(p.ms);
    log(`  run ${i} psql \\copy:          ${secs(p.ms)} s, ${rate(p.rows, p.ms)} rows/s`);

    await pool.query(`TRUNCATE ${SCHEMA}.psql_nolist`);
    const q = await runPsqlCopy({
      databaseUrl: DATABASE_URL,
      table: `${quoteIdent(SCHEMA)}.psql_nolist`,
      columns: columns.map((c) => quoteIdent(c.loadColumn)),
      forceNull: columns.filter((c) => c.loadColumn === c.columnName && c.columnType !== 'text').map((c) => quoteIdent(c.columnName)),
      gzPath,
      windowStartIso: new Date(WINDOW_START).toISOString(),
      windowEndIso: new Date(WINDOW_END).toISOString(),
      jobId: JOB_ID,
      scriptPath: path.join(tmp, 'copy-nolist.psql'),
    });
    if (q.rows !== ROWS) throw new Error(`psql \\copy (no list column) ${i} loaded ${q.rows} rows, expected ${ROWS}.`);
    noListMs.push(q.ms);
    log(`  run ${i} psql \\copy, no list column: ${secs(q.ms)} s, ${rate(q.rows, q.ms)} rows/s`);
  }

  const product = await tableStats(pool, ds.tableName);
  const psql = await tableStats(pool, 'psql_copy');
  const expected: TableStats = {
    rows: String(ROWS),
    distinctIds: String(ROWS),
    repliesSum: String(file.repliesSum),
    multilineRemarks: String(file.trickyRows),
    metadataOk: String(ROWS),
  };
  for (const key of Object.keys(expected) as (keyof TableStats)[]) {
    if (product[key] !== expected[key] || psql[key] !== expected[key]) {
      throw new Error(`Check ${key} failed: product table ${product[key]}, psql_copy ${psql[key]}, expected ${expected[key]}.`);
    }
  }
  // Diagnostic: a re-export of the same window over its 1M loaded rows (delete + COPY).
  t0 = performance.now();
  await loadProduct();
  const replaceMs = performance.now() - t0;
  log(`Re-export of the loaded window (DELETE 1M rows + COPY 1M rows, one transaction): ${secs(replaceMs)} s`);
  const deleteMs = await windowDeleteMs(pool, 'psql_copy', columns);
  log(`Window DELETE alone (the loader's statement on psql_copy's 1M rows, rolled back): ${secs(deleteMs)} s`);
  return {
    file,
    productMs,
    psqlMs,
    noListMs,
    listColumns: lists.map((c) => c.columnName),
    decodeMs,
    deleteMs,
    replaceMs,
    rssBefore,
    peakRss: sampler.peakBytes,
    rssSamples: sampler.samples,
    stats: { product, psql },
  };
}

/**
 * Diagnostic: what re-runs of the product path pay before their COPY. Times the loader's own
 * window DELETE (same predicate) on a loaded table, inside a transaction that is rolled back.
 */
async function windowDeleteMs(pool: pg.Pool, table: string, columns: ReportColumn[]): Promise<number> {
  const timeCol = columns.find((c) => c.attributeId === 'conversation_started_at')!;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL TimeZone = 'UTC'`);
    const t0 = performance.now();
    const t = quoteIdent(timeCol.columnName);
    await client.query(
      `DELETE FROM ${SCHEMA}.${quoteIdent(table)} WHERE (${t} >= $1 AND ${t} < $2) OR (_window_start >= $1 AND _window_end <= $2)`,
      [new Date(WINDOW_START), new Date(WINDOW_END)],
    );
    const ms = performance.now() - t0;
    await client.query('ROLLBACK');
    return ms;
  } finally {
    client.release();
  }
}

async function main(): Promise<void> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'intercom-etl-bench-'));
  const pool = createPool(DATABASE_URL, SCHEMA, 2);
  let r: Results;
  try {
    r = await run(tmp, pool);
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(SCHEMA)} CASCADE`).catch((err: unknown) => {
      console.error(`Could not drop schema ${SCHEMA}: ${(err as Error).message}`);
    });
    await pool.end().catch(() => {});
    await rm(tmp, { recursive: true, force: true });
  }

  const productMedian = median(r.productMs);
  const psqlMedian = median(r.psqlMs);
  const productRate = ROWS / (productMedian / 1000);
  const psqlRate = ROWS / (psqlMedian / 1000);
  const s = r.stats.product;
  log('');
  log('=== Load throughput: product load path vs psql \\copy ===');
  log(`file:              ${ROWS.toLocaleString('en-US')} rows, ${mb(r.file.gzBytes)} MB gzipped, ${mb(r.file.rawBytes)} MB raw CSV`);
  log(
    `verified:          both tables ${s.rows} rows, ${s.distinctIds} distinct ids, sum(teammate_replies_count) ${s.repliesSum}, ` +
      `${s.multilineRemarks} multi-line remarks, metadata columns set on every row`,
  );
  log(`product runs (s):  ${r.productMs.map(secs).join(', ')}   (table truncated before each run, untimed)`);
  log(`psql runs (s):     ${r.psqlMs.map(secs).join(', ')}   (table truncated before each run, untimed)`);
  log(`decode only:       ${secs(r.decodeMs)} s, ${rate(ROWS, r.decodeMs)} rows/s (no database)`);
  log(`window DELETE:     ${secs(r.deleteMs)} s for 1M rows (diagnostic)`);
  log(`re-export:         ${secs(r.replaceMs)} s to replace the loaded 1M-row window (diagnostic: delete + COPY; not in the ratio)`);
  log(`product load path: median ${secs(productMedian)} s, ${Math.round(productRate).toLocaleString('en-US')} rows/s`);
  log(`psql \\copy:        median ${secs(psqlMedian)} s, ${Math.round(psqlRate).toLocaleString('en-US')} rows/s`);
  log(
    `peak RSS (product loads, ${r.rssSamples} samples every 50 ms): ${mb(r.peakRss)} MB (target < 200 MB; RSS just before the first load ${mb(r.rssBefore)} MB)`,
  );
  log(`maxRSS (whole process, OS high-water mark incl. generation): ${process.resourceUsage().maxRSS} KB`);
  const noListMedian = median(r.noListMs);
  log(
    `list columns:      ${r.listColumns.join(', ')} (text[] generated by etl_split_list): psql \\copy median ${secs(psqlMedian)} s with, ` +
      `${secs(noListMedian)} s without them (runs ${r.noListMs.map(secs).join(', ')}): ${secs(psqlMedian - noListMedian)} s per 1M rows`,
  );
  log(`load-path/psql-copy throughput ratio: ${(productRate / psqlRate).toFixed(2)}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
});

/**
 * `npm run bench:entities`: how long the final merge of a companies or tickets run takes at scale.
 *
 * Stages N companies and M tickets (the fake's fixtures, as Intercom's 2.14 JSON) into
 * `etl_entity_stage` of a throw-away schema, then times `mergeCompanies` and `mergeTickets` inside a
 * transaction, twice each (an insert into empty tables, then an update of every row). Prints
 * seconds and rows per second, and the process's peak RSS. Options: BENCH_COMPANIES (300000),
 * BENCH_TICKETS (100000), DATABASE_URL; BENCH_KEEP=1 keeps the schema `bench_entities` to inspect.
 */
import pg from 'pg';
import { migrate } from '../src/db/migrate.js';
import { createPool, withClient } from '../src/db/pool.js';
import { EntityStage } from '../src/sinks/entity-stage.js';
import { generateCompany } from '../src/fake-intercom/companies/company-fixtures.js';
import { generateTicket } from '../src/fake-intercom/tickets/ticket-fixtures.js';
import { renderTicket } from '../src/fake-intercom/tickets/ticket-versions.js';
import { mergeCompanies, mergeTickets } from '../src/sinks/entity-merge.js';

const SCHEMA = 'bench_entities';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const COMPANIES = Number(process.env.BENCH_COMPANIES ?? 300_000);
const TICKETS = Number(process.env.BENCH_TICKETS ?? 100_000);

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);

/** Stages through the product's own EntityStage (COPY in the background, bounded memory). */
async function stage(pool: pg.Pool, runId: string, count: number, make: (i: number) => Record<string, unknown>): Promise<void> {
  const stager = new EntityStage(pool, runId);
  for (let i = 0; i < count; i += 100) {
    await stager.waitForRoom();
    stager.push(Array.from({ length: Math.min(100, count - i) }, (_, j) => make(i + j)));
  }
  await stager.drain();
}

async function timeMerge(pool: pg.Pool, what: string, n: number, merge: (c: pg.PoolClient) => Promise<unknown>): Promise<number> {
  return withClient(pool, async (client) => {
    await client.query('BEGIN');
    const started = process.hrtime.bigint();
    await merge(client);
    await client.query('COMMIT');
    const s = Number(process.hrtime.bigint() - started) / 1e9;
    console.log(
      `${what.padEnd(34)} ${s.toFixed(2).padStart(7)} s  ${Math.round(n / s)
        .toLocaleString('en')
        .padStart(9)} rows/s`,
    );
    return s;
  });
}

async function main(): Promise<void> {
  const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
  await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  const pool = createPool(DATABASE_URL, SCHEMA, 2);
  try {
    await migrate(pool, SCHEMA);
    const fixture = { seed: 42, workspaceId: 'benchws', anchorS: Math.floor(Date.now() / 86_400_000) * 86_400 };
    console.log(`Staging ${COMPANIES.toLocaleString('en')} companies and ${TICKETS.toLocaleString('en')} tickets…`);
    await stage(pool, 'companies-run', COMPANIES, (i) => generateCompany(fixture, i));
    await stage(pool, 'tickets-run', TICKETS, (i) => renderTicket(generateTicket(fixture, i), '2.14'));
    await pool.query('VACUUM ANALYZE etl_entity_stage');
    const docBytes = await pool.query<{ b: string }>(
      `SELECT avg(pg_column_size(doc))::int AS b FROM etl_entity_stage WHERE run_id = 'tickets-run'`,
    );
    console.log(`average staged ticket document: ${docBytes.rows[0]!.b} bytes (TOASTed and compressed above ~2 kB)\n`);
    for (const pass of ['insert', 'update']) {
      await timeMerge(pool, `companies merge (${pass}, ${COMPANIES})`, COMPANIES, (c) => mergeCompanies(c, 'companies-run'));
      await timeMerge(pool, `tickets merge (${pass}, ${TICKETS})`, TICKETS, (c) => mergeTickets(c, 'tickets-run'));
    }
    console.log(`\npeak RSS of this process: ${Math.round(peakRss / 1e6)} MB`);
  } finally {
    clearInterval(sampler);
    await pool.end();
    if (process.env.BENCH_KEEP !== '1') await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await admin.end();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

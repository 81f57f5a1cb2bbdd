/**
 * `npm run bench:entities` (first half; the second is bench/entity-memory.ts): how long the final
 * merge of a companies or tickets run takes at scale.
 *
 * Stages N companies and M tickets (the fake's fixtures, as Intercom's 2.14 JSON) through the
 * product's EntityStage into the typed stage tables of a throw-away schema (timed apart: in a run
 * this happens while the scroll or search fetches pages), then times each merge transaction exactly
 * as the sync runs it — companies: the deletion check, the upsert, the anti join marking missing
 * companies deleted, dropping the staged rows; tickets: the upsert, dropping the staged rows — twice
 * each: an insert into empty tables, then an update of every row (staged again).
 * Options: BENCH_COMPANIES (300000), BENCH_TICKETS (100000), DATABASE_URL; BENCH_KEEP=1 keeps the
 * schema `bench_entities` to inspect.
 */
import os from 'node:os';
import pg from 'pg';
import { migrate } from '../src/db/migrate.js';
import { createPool, withClient } from '../src/db/pool.js';
import { deleteStagedRows, EntityStage } from '../src/sinks/entity-stage.js';
import type { EntityStream } from '../src/sinks/entity-columns.js';
import { generateCompany } from '../src/fake-intercom/companies/company-fixtures.js';
import { generateTicket } from '../src/fake-intercom/tickets/ticket-fixtures.js';
import { renderTicket } from '../src/fake-intercom/tickets/ticket-versions.js';
import { countCompanyDeletions, mergeCompanies, mergeTickets } from '../src/sinks/entity-merge.js';

const SCHEMA = 'bench_entities';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const COMPANIES = Number(process.env.BENCH_COMPANIES ?? 300_000);
const TICKETS = Number(process.env.BENCH_TICKETS ?? 100_000);

const fmt = (n: number) => Math.round(n).toLocaleString('en');
const line = (what: string, s: number, n: number) =>
  console.log(`${what.padEnd(40)} ${s.toFixed(2).padStart(7)} s  ${fmt(n / s).padStart(9)} rows/s`);
const seconds = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e9;

/** Stages through the product's own EntityStage (unpacked in Postgres batch by batch, bounded memory). */
async function stage(
  pool: pg.Pool,
  stream: EntityStream,
  runId: string,
  count: number,
  make: (i: number) => Record<string, unknown>,
): Promise<{ s: number; waitedS: number }> {
  const started = process.hrtime.bigint();
  let waited = 0n;
  const perPage = stream === 'companies' ? 100 : 150;
  const stager = new EntityStage(pool, stream, runId);
  for (let i = 0; i < count; i += perPage) {
    const t = process.hrtime.bigint();
    await stager.waitForRoom();
    waited += process.hrtime.bigint() - t;
    stager.push(Array.from({ length: Math.min(perPage, count - i) }, (_, j) => make(i + j)));
  }
  const t = process.hrtime.bigint();
  await stager.drain();
  waited += process.hrtime.bigint() - t;
  return { s: seconds(started), waitedS: Number(waited) / 1e9 };
}

/** Staging is timed whole; the share spent waiting for Postgres (the rest is generating the fixtures here, fetching in a run). */
async function timeStaging(what: string, n: number, staging: Promise<{ s: number; waitedS: number }>): Promise<void> {
  const { s, waitedS } = await staging;
  console.log(
    `${what.padEnd(40)} ${s.toFixed(2).padStart(7)} s  ${fmt(n / s).padStart(9)} rows/s  (${waitedS.toFixed(2)} s of it waiting for Postgres)`,
  );
}

/** One merge transaction, as sync-companies.ts / sync-tickets.ts run it (minus their bookkeeping rows). */
async function timeMerge(pool: pg.Pool, stream: EntityStream, runId: string): Promise<number> {
  return withClient(pool, async (client) => {
    const started = process.hrtime.bigint();
    await client.query('BEGIN');
    if (stream === 'companies') {
      await countCompanyDeletions(client, runId);
      await mergeCompanies(client, runId);
    } else {
      await mergeTickets(client, runId);
    }
    await deleteStagedRows(client, stream, [runId]);
    await client.query('COMMIT');
    return seconds(started);
  });
}

async function main(): Promise<void> {
  const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
  await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  const pool = createPool(DATABASE_URL, SCHEMA, 2);
  try {
    await migrate(pool, SCHEMA);
    const fixture = { seed: 42, workspaceId: 'benchws', anchorS: Math.floor(Date.now() / 86_400_000) * 86_400 };
    const company = (i: number) => generateCompany(fixture, i);
    const ticket = (i: number) => renderTicket(generateTicket(fixture, i), '2.14');
    console.log(
      `${fmt(COMPANIES)} companies and ${fmt(TICKETS)} tickets; load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}\n`,
    );
    for (const pass of ['insert', 'update']) {
      const runC = `companies-${pass}`;
      const runT = `tickets-${pass}`;
      await timeStaging(`companies staging (${pass}, ${COMPANIES})`, COMPANIES, stage(pool, 'companies', runC, COMPANIES, company));
      await timeStaging(`tickets staging (${pass}, ${TICKETS})`, TICKETS, stage(pool, 'tickets', runT, TICKETS, ticket));
      line(`companies merge (${pass}, ${COMPANIES})`, await timeMerge(pool, 'companies', runC), COMPANIES);
      line(`tickets merge (${pass}, ${TICKETS})`, await timeMerge(pool, 'tickets', runT), TICKETS);
    }
    console.log(
      `\nload average at the end ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
  } finally {
    await pool.end();
    if (process.env.BENCH_KEEP !== '1') await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await admin.end();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

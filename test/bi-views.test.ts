import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSyncCommand } from '../src/cli/run-sync.js';
import { loadConfig } from '../src/config.js';
import { migrate } from '../src/db/migrate.js';
import { friendlyColumnNames } from '../src/sinks/bi-naming.js';
import { migrateWarehouse, refreshBiSchema } from '../src/sinks/bi-views.js';
import { createTestEnv, TEST_DATABASE_URL, type TestEnv } from './helpers/test-env.js';

// Issue 9 §2, §3, §5: the views for analysts, their join keys on the fake's data, and the example
// queries of docs/queries, on the demo data (the 3 days before today: every fake ticket has its row).
const DAY = 86_400_000;
const TODAY = Math.floor(Date.now() / DAY) * DAY;
const QUERIES_DIR = path.resolve(import.meta.dirname, '../docs/queries');

let env: TestEnv;
let bi: string;
let admin: pg.Pool;
let failed = false;

const q = async <T extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]> => {
  const client = await admin.connect();
  try {
    await client.query(`SET search_path TO "${bi}"`);
    return (await client.query<T>(sql, params)).rows;
  } finally {
    client.release();
  }
};
const columnsOf = async (view: string) =>
  (
    await q<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
      [bi, view],
    )
  ).map((r) => r.column_name);
const views = async () =>
  (await q<{ table_name: string }>(`SELECT table_name FROM information_schema.views WHERE table_schema = $1 ORDER BY 1`, [bi])).map(
    (r) => r.table_name,
  );

beforeAll(async () => {
  env = await createTestEnv('bi_views', { fake: { companies: { count: 120 } } });
  bi = `${env.schema}_bi`;
  admin = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
  const summary = await runSyncCommand(
    env.ctx,
    { reports: { mode: 'backfill', range: { start: TODAY - 3 * DAY, end: TODAY } }, entities: ['companies', 'tickets'] },
    { say: () => {} },
  );
  expect(summary.reports?.progress.failed).toBe(0);
}, 240_000);

afterAll(async () => {
  await admin?.end();
  await env?.cleanup(failed);
});

const track = (fn: () => Promise<void>) => async () => {
  try {
    await fn();
  } catch (err) {
    failed = true;
    throw err;
  }
};

describe('BI views on the demo data', () => {
  it(
    'has a view per dataset and per entity table, with friendly column names and no load metadata but loaded_at',
    track(async () => {
      expect(env.config.biSchema).toBe(bi);
      expect(await views()).toEqual([
        'call_team_stats',
        'companies',
        'conversation_actions',
        'conversation_ratings',
        'conversation_states',
        'conversations',
        'teammate_status_periods',
        'ticket_reports',
        'ticket_states',
        'ticket_types',
        'tickets',
      ]);
      const conversations = await columnsOf('conversations');
      for (const name of [
        'conversation_id',
        'conversation_started_at',
        'currently_assigned_team_name', // Intercom's "id" holds the team's name…
        'currently_assigned_team_id', // …and the raw id the number
        'conversation_first_response_time_seconds',
        'company_id',
        'company_intercom_id',
        'company_name',
        'ticket_id',
        'ticket_state_name',
        'loaded_at',
      ]) {
        expect(conversations).toContain(name);
      }
      expect(conversations.at(-1)).toBe('loaded_at');
      expect(conversations.filter((c) => c.startsWith('_') || c.endsWith('_raw_id'))).toEqual([]);
      expect(await columnsOf('tickets')).toEqual(
        expect.arrayContaining(['ticket_id', 'ticket_number', 'ticket_state_name', 'ticket_type_name']),
      );
      const [typed] = await q<{ team: string; n: string }>(
        `SELECT currently_assigned_team_name AS team, currently_assigned_team_id AS n FROM conversations WHERE currently_assigned_team_id IS NOT NULL LIMIT 1`,
      );
      expect(typed!.n).toMatch(/^\d+$/);
      expect(typed!.team).not.toMatch(/^\d+$/);
      const comments = await q<{ c: string | null }>(`SELECT obj_description($1::regclass, 'pg_class') AS c`, [`"${bi}".conversations`]);
      expect(comments[0]!.c).toContain('dataset conversation');
    }),
  );

  it(
    'joins report rows to the companies and tickets they name (§2)',
    track(async () => {
      const [c] = await q<{ n: number; with_company: number; matched: number; with_ticket: number; ticket_matched: number }>(
        `SELECT count(*)::int AS n, count(company_id)::int AS with_company, count(company_intercom_id)::int AS matched,
                count(ticket_id)::int AS with_ticket, count(ticket_number)::int AS ticket_matched FROM conversations`,
      );
      expect(c!.with_company).toBeGreaterThan(c!.n / 2);
      expect(c!.matched).toBe(c!.with_company); // every company_id of the export is a loaded company
      expect(c!.ticket_matched).toBeGreaterThan(0);
      const [t] = await q<{ tickets: number; rows_matched: number; company: number; company_matched: number }>(
        `SELECT (SELECT count(*)::int FROM tickets) AS tickets, count(DISTINCT ticket_number)::int AS rows_matched,
                count(company_id)::int AS company, count(company_intercom_id)::int AS company_matched FROM ticket_reports`,
      );
      expect(t!.rows_matched).toBe(t!.tickets); // the fake's 60 tickets all have their report row
      expect(t!.company_matched).toBe(t!.company);
      // The report's type and state agree with the ticket's; names, not ids.
      const disagree = await q(
        `SELECT 1 FROM ticket_reports r JOIN tickets t ON t.ticket_id = r.ticket_id
          WHERE r.ticket_type_id IS DISTINCT FROM t.ticket_type_name OR r.current_ticket_custom_state_id IS DISTINCT FROM t.ticket_state_name`,
      );
      expect(disagree).toEqual([]);
      // A ticket's assignee ids are the teams' and teammates' raw ids of the reports.
      const [a] = await q<{ team: number; admin: number }>(
        `SELECT count(*) FILTER (WHERE team_assignee_id IN (SELECT currently_assigned_team_id FROM conversations))::int AS team,
                count(*) FILTER (WHERE admin_assignee_id IN (SELECT currently_assigned_teammate_id FROM conversations))::int AS admin
           FROM tickets`,
      );
      expect(a!.team).toBeGreaterThan(0);
      expect(a!.admin).toBeGreaterThan(0);
      const unresolved = await q(`SELECT 1 FROM tickets WHERE ticket_state_name IS NULL OR ticket_type_name IS NULL`);
      expect(unresolved).toEqual([]);
    }),
  );

  it(
    'runs every example query of docs/queries and each returns rows (§5)',
    track(async () => {
      const files = (await readdir(QUERIES_DIR)).filter((f) => f.endsWith('.sql')).sort();
      expect(files.length).toBeGreaterThanOrEqual(6);
      for (const file of files) {
        const rows = await q(await readFile(path.join(QUERIES_DIR, file), 'utf8'));
        expect(rows.length, file).toBeGreaterThan(0);
      }
      const top = await q<{ company: string | null }>(
        await readFile(path.join(QUERIES_DIR, '07_companies_with_most_conversations.sql'), 'utf8'),
      );
      expect(top.every((r) => r.company !== null)).toBe(true);
    }),
  );

  it(
    'refreshing again changes nothing; ETL_BI_SCHEMA is checked',
    track(async () => {
      const again = await refreshBiSchema(env.ctx.pool, env.config);
      expect(again).toEqual({ rebuilt: [], dropped: [], unchanged: 11, blocked: [] });
      const other = loadConfig({}, { PG_SCHEMA: env.schema, ETL_BI_SCHEMA: 'x' });
      expect(other.biSchema).toBe('x');
      expect(() => loadConfig({}, { PG_SCHEMA: env.schema, ETL_BI_SCHEMA: env.schema })).toThrow(
        /ETL_BI_SCHEMA must differ from PG_SCHEMA/,
      );
      // Without a BI schema (programmatic use) nothing is built.
      expect(await refreshBiSchema(env.ctx.pool, { pgSchema: env.schema, biSchema: null })).toEqual({
        rebuilt: [],
        dropped: [],
        unchanged: 0,
        blocked: [],
      });
    }),
  );

  it(
    'keeps the views when a report column is widened to text, and shows a new attribute after the next catalogue refresh',
    track(async () => {
      // Grants on the views survive every rebuild (PUBLIC stands in for a BI role).
      await q(`GRANT SELECT ON conversations, ticket_reports TO PUBLIC`);
      env.fake.addAttribute('conversation', { id: 'Escalation Reason', name: 'Escalation Reason' });
      // A count that is not a number: the loader widens the column to text and loads the window again.
      const start = TODAY - DAY;
      env.fake.setRows('conversation', [
        {
          conversation_id: 1,
          conversation_started_at: new Date(start + 3600_000).toISOString().slice(0, 19).replace('T', ' '),
          teammate_replies_count: 'many',
        },
      ]);
      const summary = await runSyncCommand(
        env.ctx,
        { reports: { mode: 'backfill', range: { start, end: TODAY }, datasetIds: ['conversation'] }, entities: [] },
        { say: () => {} },
      );
      expect(summary.reports?.progress.failed).toBe(0);
      const types = await q<{ data_type: string }>(
        `SELECT data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'conversations' AND column_name = 'teammate_replies_count'`,
        [bi],
      );
      expect(types.map((t) => t.data_type)).toEqual(['text']);
      expect(await columnsOf('conversations')).toContain('escalation_reason');
      expect(await q(`SELECT 1 FROM conversations WHERE teammate_replies_count = 'many'`)).toHaveLength(1);
      const granted = await q<{ table_name: string }>(
        `SELECT DISTINCT table_name FROM information_schema.role_table_grants WHERE table_schema = $1 AND grantee = 'PUBLIC' ORDER BY 1`,
        [bi],
      );
      expect(granted.map((g) => g.table_name)).toEqual(['conversations', 'ticket_reports']);
      env.fake.clearRows();
    }),
  );

  it(
    'keeps a view that an analyst built on, instead of failing migrate, and rebuilds it once that is gone',
    track(async () => {
      await env.query(`CREATE VIEW my_conversations AS SELECT conversation_id FROM "${bi}".conversations`);
      env.fake.addAttribute('conversation', { id: 'Escalation Team', name: 'Escalation Team' });
      await runSyncCommand(
        env.ctx,
        { reports: { mode: 'backfill', range: { start: TODAY - DAY, end: TODAY }, datasetIds: ['conversation'] }, entities: [] },
        { say: () => {} },
      );
      const kept = await migrateWarehouse(env.ctx.pool, env.config); // the refresh is still blocked: says so
      expect(kept.bi.blocked).toEqual([expect.stringContaining(`View ${bi}.conversations was kept as it is`)]);
      expect(await columnsOf('conversations')).not.toContain('escalation_team');
      await env.query(`DROP VIEW my_conversations`);
      const rebuilt = await refreshBiSchema(env.ctx.pool, env.config);
      expect(rebuilt).toMatchObject({ rebuilt: ['conversations'], blocked: [] });
      expect(await columnsOf('conversations')).toContain('escalation_team');
    }),
  );

  it(
    'survives an attribute and a dataset disappearing: migrate rebuilds the views from what exists',
    track(async () => {
      const raw = (sql: string) => env.query(sql);
      // An attribute gone from the table and the catalogue (e.g. dropped by hand).
      await raw(`ALTER TABLE report_conversation DROP COLUMN language CASCADE`);
      await raw(`DELETE FROM etl_attributes WHERE dataset_id = 'conversation' AND column_name = 'language'`);
      // A dataset whose table is gone but whose catalogue row stays, and one gone from both.
      await raw(`DROP TABLE report_call_team_stats CASCADE`);
      await raw(`DROP TABLE report_conversation_state CASCADE`);
      await raw(`DELETE FROM etl_attributes WHERE dataset_id = 'conversation_state'`);
      await raw(`DELETE FROM etl_datasets WHERE dataset_id = 'conversation_state'`);
      await migrateWarehouse(env.ctx.pool, env.config);
      const now = await views();
      expect(now).not.toContain('call_team_stats');
      expect(now).not.toContain('conversation_states');
      expect(now).toContain('conversations');
      const cols = await columnsOf('conversations');
      expect(cols).not.toContain('language');
      expect(cols).toContain('company_intercom_id');
      expect((await q(`SELECT count(*) FROM conversations`)).length).toBe(1);
    }),
  );
});

describe('BI views before any data', () => {
  it('migrate alone builds the entity views and no dataset view (no report table exists yet)', async () => {
    const fresh = await createTestEnv('bi_views_fresh', { migrate: false });
    let ok = false;
    try {
      await migrate(fresh.ctx.pool, fresh.schema); // a schema migrated before this version…
      await migrateWarehouse(fresh.ctx.pool, fresh.config); // …then by this one
      const rows = await fresh.query<{ table_name: string }>(
        `SELECT table_name FROM information_schema.views WHERE table_schema = $1 ORDER BY 1`,
        [`${fresh.schema}_bi`],
      );
      expect(rows.map((r) => r.table_name)).toEqual(['companies', 'ticket_states', 'ticket_types', 'tickets']);
      ok = true;
    } finally {
      await fresh.cleanup(!ok);
    }
  });
});

describe('BI view column names', () => {
  const col = (columnName: string, dataType = 'text', attributeId: string | null = columnName) => ({ columnName, attributeId, dataType });
  it('names ids, display names and seconds by the documented rules, never colliding', () => {
    const names = friendlyColumnNames([
      col('conversation_id'),
      col('currently_assigned_team_id'),
      col('currently_assigned_team_raw_id'),
      col('teammate_status_id'), // a row id, not a teammate: kept
      col('teammate_id'),
      col('reply_participant_teammate_ids'),
      col('action_team_assignee_id'),
      col('conversation_first_response_time', 'numeric'),
      col('teammate_assignee_at_action_time'), // text: not seconds
      col('action_time', 'timestamp with time zone'),
      col('brand_2'),
      col('_window_start', 'timestamp with time zone', null),
      col('_loaded_at', 'timestamp with time zone', null),
    ]);
    expect(names).toEqual([
      'conversation_id',
      'currently_assigned_team_name',
      'currently_assigned_team_id',
      'teammate_status_id',
      'teammate_name',
      'reply_participant_teammate_names',
      'action_team_assignee_name',
      'conversation_first_response_time_seconds',
      'teammate_assignee_at_action_time',
      'action_time',
      'brand_2',
      null,
      'loaded_at',
    ]);
    // A friendly name already taken keeps the raw name.
    expect(friendlyColumnNames([col('team_name'), col('team_id')])).toEqual(['team_name', 'team_id']);
  });
});

import type pg from 'pg';
import { ENTITY_COLUMNS, type EntityColumns } from './entity-columns.js';

/**
 * Merges a run's staged rows into the `companies` and `tickets` tables. The rows were unpacked from
 * Intercom's JSON and deduplicated (one per entity, the newest copy) as they were staged
 * (entity-stage.ts, entity-columns.ts), so each merge is one INSERT … SELECT … ON CONFLICT over
 * narrow typed rows: nothing is parsed, sorted or deduplicated inside the merge transaction.
 */

/**
 * Planner settings for the merge statements, local to the transaction. They read every staged row
 * and every live company, so hash joins are always right; but with autovacuum off or behind, the
 * statistics of a table a previous merge just filled say it is nearly empty, and the planner then
 * picks a nested loop of 300,000 index probes (measured 3.1 s against 0.5 s for the anti join that
 * marks companies deleted). work_mem lets the hash of 300,000 ids stay in memory.
 */
const MERGE_SETTINGS: Array<[string, string]> = [
  ['work_mem', '64MB'],
  ['enable_nestloop', 'off'],
  ['enable_mergejoin', 'off'],
];

/**
 * Runs `fn` with MERGE_SETTINGS, then puts the transaction's previous values back. Not after a
 * failure: the transaction is then aborted (another statement would only replace the error with
 * "current transaction is aborted"), and its rollback undoes SET LOCAL anyway.
 */
async function withMergeSettings<T>(client: pg.PoolClient, fn: () => Promise<T>): Promise<T> {
  const names = MERGE_SETTINGS.map(([name]) => name);
  const { rows } = await client.query<{ previous: string[] }>(
    `SELECT array_agg(current_setting(n) ORDER BY i) AS previous FROM unnest($1::text[]) WITH ORDINALITY AS t(n, i)`,
    [names],
  );
  await setLocal(
    client,
    MERGE_SETTINGS.map(([, value]) => value),
  );
  const result = await fn();
  await setLocal(client, rows[0]!.previous);
  return result;
}

async function setLocal(client: pg.PoolClient, values: string[]): Promise<void> {
  await client.query(`SELECT set_config(n, v, true) FROM unnest($1::text[], $2::text[]) AS t(n, v)`, [
    MERGE_SETTINGS.map(([name]) => name),
    values,
  ]);
}

/** `INSERT INTO <table> … SELECT … FROM <stage> WHERE run_id = $1 ON CONFLICT (id) DO UPDATE SET <every column>, <extra>`. */
function mergeStatement(spec: EntityColumns, extra: Array<[column: string, value: string, onConflict: string]>, where = ''): string {
  const columns = spec.columns.map(([c]) => c);
  const updates = columns.filter((c) => c !== 'id').map((c) => `${c} = EXCLUDED.${c}`);
  return `INSERT INTO ${spec.table} AS t (${[...columns, ...extra.map(([c]) => c)].join(', ')})
    SELECT ${[...columns, ...extra.map(([, v]) => v)].join(', ')} FROM ${spec.stageTable} WHERE run_id = $1
    ON CONFLICT (id) DO UPDATE SET ${[...updates, ...extra.map(([c, , u]) => `${c} = ${u}`)].join(', ')}${where}`;
}

const MERGE_COMPANIES = mergeStatement(ENTITY_COLUMNS.companies, [
  ['_synced_at', 'now()', 'EXCLUDED._synced_at'],
  ['_deleted_at', 'NULL::timestamptz', 'NULL'], // a company that comes back is live again
]);

const MERGE_TICKETS = mergeStatement(
  ENTITY_COLUMNS.tickets,
  [['_synced_at', 'now()', 'EXCLUDED._synced_at']],
  // Never replace a newer version with an older one (an overlapping run can fetch a stale copy).
  '\n    WHERE t.updated_at IS NULL OR EXCLUDED.updated_at IS NULL OR t.updated_at <= EXCLUDED.updated_at',
);

/**
 * What merging a run would do to the live companies: how many are live now, how many of them the
 * run's scroll returned (the rest would be marked deleted), and how many distinct companies it
 * returned. Read inside the merge transaction, before merging.
 */
export async function countCompanyDeletions(
  client: pg.PoolClient,
  runId: string,
): Promise<{ live: number; kept: number; returned: number }> {
  const { rows } = await withMergeSettings(client, () =>
    client.query<{ live: string; kept: string; returned: string }>(
      `SELECT (SELECT count(*) FROM companies WHERE _deleted_at IS NULL) AS live,
              (SELECT count(*) FROM companies c JOIN etl_company_stage s ON s.run_id = $1 AND s.id = c.id
                WHERE c._deleted_at IS NULL) AS kept,
              (SELECT count(*) FROM etl_company_stage WHERE run_id = $1) AS returned`,
      [runId],
    ),
  );
  const r = rows[0]!;
  return { live: Number(r.live), kept: Number(r.kept), returned: Number(r.returned) };
}

/**
 * A completed scroll is a snapshot: upsert every company it returned (reviving any marked deleted)
 * and mark deleted every live company it did not return. Returns [upserted, newly deleted].
 */
export async function mergeCompanies(client: pg.PoolClient, runId: string): Promise<{ upserted: number; deleted: number }> {
  return withMergeSettings(client, async () => {
    const up = await client.query(MERGE_COMPANIES, [runId]);
    const del = await client.query(
      `UPDATE companies c SET _deleted_at = now()
        WHERE c._deleted_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM etl_company_stage s WHERE s.run_id = $1 AND s.id = c.id)`,
      [runId],
    );
    return { upserted: up.rowCount ?? 0, deleted: del.rowCount ?? 0 };
  });
}

/** Upserts the staged tickets (each the newest version staged in the run). */
export async function mergeTickets(client: pg.PoolClient, runId: string): Promise<number> {
  const res = await withMergeSettings(client, () => client.query(MERGE_TICKETS, [runId]));
  return res.rowCount ?? 0;
}

/** Refreshes the ticket_types and ticket_states reference tables from their list endpoints. */
export async function replaceTicketReferences(
  client: pg.PoolClient,
  types: Record<string, unknown>[],
  states: Record<string, unknown>[] | null,
): Promise<void> {
  await client.query(
    `INSERT INTO ticket_types (id, name, description, category, icon, archived, is_internal, attributes, created_at, updated_at, _synced_at)
     SELECT etl_text(t->'id'), etl_text(t->'name'), etl_text(t->'description'), etl_text(t->'category'), etl_text(t->'icon'),
            etl_boolean(t->'archived'), etl_boolean(t->'is_internal'), COALESCE(t->'ticket_type_attributes'->'data', '[]'::jsonb),
            etl_unix_time(t->'created_at'), etl_unix_time(t->'updated_at'), now()
       FROM jsonb_array_elements($1::jsonb) t WHERE etl_text(t->'id') IS NOT NULL
     ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, description = EXCLUDED.description, category = EXCLUDED.category,
       icon = EXCLUDED.icon, archived = EXCLUDED.archived, is_internal = EXCLUDED.is_internal, attributes = EXCLUDED.attributes,
       created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at, _synced_at = EXCLUDED._synced_at`,
    [JSON.stringify(types)],
  );
  if (!states) return; // /ticket_states exists from API 2.12
  await client.query(
    `INSERT INTO ticket_states (id, category, internal_label, external_label, archived, ticket_type_ids, _synced_at)
     SELECT etl_text(s->'id'), etl_text(s->'category'), etl_text(s->'internal_label'), etl_text(s->'external_label'),
            etl_boolean(s->'archived'),
            ARRAY(SELECT etl_text(tt->'id') FROM jsonb_array_elements(
                    CASE WHEN jsonb_typeof(s->'ticket_types'->'data') = 'array' THEN s->'ticket_types'->'data' ELSE '[]'::jsonb END) tt),
            now()
       FROM jsonb_array_elements($1::jsonb) s WHERE etl_text(s->'id') IS NOT NULL
     ON CONFLICT (id) DO UPDATE SET category = EXCLUDED.category, internal_label = EXCLUDED.internal_label,
       external_label = EXCLUDED.external_label, archived = EXCLUDED.archived, ticket_type_ids = EXCLUDED.ticket_type_ids,
       _synced_at = EXCLUDED._synced_at`,
    [JSON.stringify(states)],
  );
}

import type pg from 'pg';

/**
 * Merges a run's staged JSON documents into the `companies` and `tickets` tables. Each statement
 * maps Intercom's JSON to columns with the lenient casts of migration 0002 (a value of an odd
 * shape becomes NULL instead of failing the merge); the documents are kept whole in jsonb columns
 * where the issue asks for them.
 */

/**
 * A staged document is unpacked once per row (jsonb_to_record) into the fields the merge reads, each
 * its own small jsonb value. Reading them as `doc->'field'` instead would decompress a large
 * (TOAST-compressed) document again for every field and every lenient cast: measured 6× slower
 * for tickets (see bench/entity-merge.ts).
 */
const COMPANY_FIELDS = `company_id jsonb, name jsonb, plan jsonb, size jsonb, website jsonb, industry jsonb, monthly_spend jsonb,
  session_count jsonb, user_count jsonb, created_at jsonb, updated_at jsonb, remote_created_at jsonb, last_request_at jsonb,
  custom_attributes jsonb, tags jsonb, segments jsonb`;

/**
 * The staged row that wins for each entity of a run, chosen over narrow rows (ids and sequence
 * numbers) so that the whole documents are never sorted: a company fetched twice (a restarted
 * scroll) keeps its latest copy, a ticket its newest version.
 */
const LATEST_STAGED_VERSION = `SELECT DISTINCT ON (entity_id) seq FROM etl_entity_stage
  WHERE run_id = $1 AND entity_id <> '' ORDER BY entity_id, seq DESC`;
const NEWEST_STAGED_TICKET = `SELECT DISTINCT ON (entity_id) seq FROM etl_entity_stage
  WHERE run_id = $1 AND entity_id <> '' ORDER BY entity_id, updated_at DESC NULLS LAST, seq DESC`;

const COMPANY_COLUMNS = `id, company_id, name, plan_id, plan_name, size, website, industry, monthly_spend, session_count,
  user_count, created_at, updated_at, remote_created_at, last_request_at, custom_attributes, tags, segments, _synced_at, _deleted_at`;

/**
 * What merging a run would do to the live companies: how many are live now, how many of them the
 * run's scroll returned (the rest would be marked deleted), and how many distinct companies it
 * returned. Read inside the merge transaction, before merging.
 */
export async function countCompanyDeletions(
  client: pg.PoolClient,
  runId: string,
): Promise<{ live: number; kept: number; returned: number }> {
  const { rows } = await client.query<{ live: string; kept: string; returned: string }>(
    `SELECT (SELECT count(*) FROM companies WHERE _deleted_at IS NULL) AS live,
            (SELECT count(*) FROM companies c WHERE c._deleted_at IS NULL
                AND EXISTS (SELECT 1 FROM etl_entity_stage s WHERE s.run_id = $1 AND s.entity_id = c.id)) AS kept,
            (SELECT count(DISTINCT entity_id) FROM etl_entity_stage WHERE run_id = $1 AND entity_id <> '') AS returned`,
    [runId],
  );
  const r = rows[0]!;
  return { live: Number(r.live), kept: Number(r.kept), returned: Number(r.returned) };
}

/**
 * A completed scroll is a snapshot: upsert every company it returned (reviving any marked deleted)
 * and mark deleted every live company it did not return. Returns [upserted, newly deleted].
 */
export async function mergeCompanies(client: pg.PoolClient, runId: string): Promise<{ upserted: number; deleted: number }> {
  const up = await client.query(
    `WITH winners AS (${LATEST_STAGED_VERSION})
     INSERT INTO companies (${COMPANY_COLUMNS})
     SELECT s.entity_id, etl_text(d.company_id), etl_text(d.name), etl_text(d.plan->'id'), etl_text(d.plan->'name'),
            etl_numeric(d.size), etl_text(d.website), etl_text(d.industry), etl_numeric(d.monthly_spend),
            etl_numeric(d.session_count), etl_numeric(d.user_count),
            etl_unix_time(d.created_at), etl_unix_time(d.updated_at), etl_unix_time(d.remote_created_at),
            etl_unix_time(d.last_request_at),
            COALESCE(d.custom_attributes, '{}'::jsonb), COALESCE(d.tags->'tags', '[]'::jsonb),
            COALESCE(d.segments->'segments', '[]'::jsonb), now(), NULL
       FROM etl_entity_stage s, LATERAL jsonb_to_record(s.doc) AS d(${COMPANY_FIELDS})
      WHERE s.run_id = $1 AND s.seq IN (SELECT seq FROM winners)
     ON CONFLICT (id) DO UPDATE SET
       company_id = EXCLUDED.company_id, name = EXCLUDED.name, plan_id = EXCLUDED.plan_id, plan_name = EXCLUDED.plan_name,
       size = EXCLUDED.size, website = EXCLUDED.website, industry = EXCLUDED.industry, monthly_spend = EXCLUDED.monthly_spend,
       session_count = EXCLUDED.session_count, user_count = EXCLUDED.user_count, created_at = EXCLUDED.created_at,
       updated_at = EXCLUDED.updated_at, remote_created_at = EXCLUDED.remote_created_at, last_request_at = EXCLUDED.last_request_at,
       custom_attributes = EXCLUDED.custom_attributes, tags = EXCLUDED.tags, segments = EXCLUDED.segments,
       _synced_at = EXCLUDED._synced_at, _deleted_at = NULL`,
    [runId],
  );
  const del = await client.query(
    `UPDATE companies c SET _deleted_at = now()
      WHERE c._deleted_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM etl_entity_stage s WHERE s.run_id = $1 AND s.entity_id = c.id)`,
    [runId],
  );
  return { upserted: up.rowCount ?? 0, deleted: del.rowCount ?? 0 };
}

const TICKET_FIELDS = `ticket_id jsonb, category jsonb, ticket_attributes jsonb, ticket_state jsonb, ticket_state_internal_label jsonb,
  ticket_state_external_label jsonb, ticket_type jsonb, open jsonb, admin_assignee_id jsonb, team_assignee_id jsonb, contacts jsonb,
  linked_objects jsonb, is_shared jsonb, snoozed_until jsonb, created_at jsonb, updated_at jsonb`;

const TICKET_COLUMNS = `id, ticket_id, category, title, description, ticket_attributes, ticket_state_id, ticket_state_category,
  ticket_state_internal_label, ticket_state_external_label, ticket_type_id, ticket_type_name, open, admin_assignee_id,
  team_assignee_id, contact_ids, linked_objects, is_shared, snoozed_until, created_at, updated_at, _synced_at`;

/**
 * Upserts the staged tickets. `ticket_state` is an object from API 2.12 and a string (the category,
 * labels beside it) before; assignee ids are strings up to 2.15 and integers from 2.16: both stored
 * as text. A ticket fetched twice in one run keeps its latest version.
 */
export async function mergeTickets(client: pg.PoolClient, runId: string): Promise<number> {
  const res = await client.query(
    `WITH winners AS (${NEWEST_STAGED_TICKET})
     INSERT INTO tickets (${TICKET_COLUMNS})
     SELECT s.entity_id, etl_text(d.ticket_id), etl_text(d.category),
            etl_text(d.ticket_attributes->'_default_title_'), etl_text(d.ticket_attributes->'_default_description_'),
            COALESCE(d.ticket_attributes, '{}'::jsonb),
            CASE WHEN jsonb_typeof(d.ticket_state) = 'object' THEN etl_text(d.ticket_state->'id') END,
            CASE WHEN jsonb_typeof(d.ticket_state) = 'object' THEN etl_text(d.ticket_state->'category') ELSE etl_text(d.ticket_state) END,
            COALESCE(etl_text(d.ticket_state->'internal_label'), etl_text(d.ticket_state_internal_label)),
            COALESCE(etl_text(d.ticket_state->'external_label'), etl_text(d.ticket_state_external_label)),
            etl_text(d.ticket_type->'id'), etl_text(d.ticket_type->'name'), etl_boolean(d.open),
            etl_text(d.admin_assignee_id), etl_text(d.team_assignee_id),
            ARRAY(SELECT etl_text(c->'id') FROM jsonb_array_elements(
                    CASE WHEN jsonb_typeof(d.contacts->'contacts') = 'array' THEN d.contacts->'contacts' ELSE '[]'::jsonb END) c),
            d.linked_objects, etl_boolean(d.is_shared), etl_unix_time(d.snoozed_until),
            etl_unix_time(d.created_at), etl_unix_time(d.updated_at), now()
       FROM etl_entity_stage s, LATERAL jsonb_to_record(s.doc) AS d(${TICKET_FIELDS})
      WHERE s.run_id = $1 AND s.seq IN (SELECT seq FROM winners)
     ON CONFLICT (id) DO UPDATE SET
       ticket_id = EXCLUDED.ticket_id, category = EXCLUDED.category, title = EXCLUDED.title, description = EXCLUDED.description,
       ticket_attributes = EXCLUDED.ticket_attributes, ticket_state_id = EXCLUDED.ticket_state_id,
       ticket_state_category = EXCLUDED.ticket_state_category, ticket_state_internal_label = EXCLUDED.ticket_state_internal_label,
       ticket_state_external_label = EXCLUDED.ticket_state_external_label, ticket_type_id = EXCLUDED.ticket_type_id,
       ticket_type_name = EXCLUDED.ticket_type_name, open = EXCLUDED.open, admin_assignee_id = EXCLUDED.admin_assignee_id,
       team_assignee_id = EXCLUDED.team_assignee_id, contact_ids = EXCLUDED.contact_ids, linked_objects = EXCLUDED.linked_objects,
       is_shared = EXCLUDED.is_shared, snoozed_until = EXCLUDED.snoozed_until, created_at = EXCLUDED.created_at,
       updated_at = EXCLUDED.updated_at, _synced_at = EXCLUDED._synced_at
     -- Never replace a newer version with an older one (an overlapping run can fetch a stale copy).
     WHERE tickets.updated_at IS NULL OR EXCLUDED.updated_at IS NULL OR tickets.updated_at <= EXCLUDED.updated_at`,
    [runId],
  );
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

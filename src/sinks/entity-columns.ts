/** The streams staged and merged as typed rows. */
export type EntityStream = 'companies' | 'tickets';

/**
 * How Intercom's JSON maps to the columns of `companies` and `tickets`, as SQL over `d`, one staged
 * document unpacked once by jsonb_to_record into the top-level fields listed in `fields` (each its
 * own small jsonb value). The lenient casts of migration 0002 turn a value of an odd shape into
 * NULL instead of failing the run. The staging statement (entity-stage.ts) evaluates these while
 * the scroll or search goes on and stores typed rows; the merge (entity-merge.ts) copies them over.
 */
export interface EntityColumns {
  /** The typed stage table (migration 0011). */
  stageTable: string;
  /** The target table. */
  table: string;
  /** The top-level fields jsonb_to_record unpacks, with their types. */
  fields: string;
  /** Target column → SQL expression over `d`. `id` is the entity's key; a document without one is skipped. */
  columns: Array<[column: string, expression: string]>;
  /**
   * Stage-only columns (not in the target table), e.g. the ticket's `version` used to pick the
   * newest copy; target column → expression.
   */
  stageOnly: Array<[column: string, expression: string]>;
  /**
   * Which of two staged copies of one entity wins, as the ORDER BY after `id` inside one page batch
   * (`u` the unpacked rows, `ord` their position), and as the condition under which a later batch's
   * copy (`EXCLUDED`) replaces the staged one (`s`).
   */
  newestFirst: string;
  replaceWhen: string | null;
}

const COMPANIES: EntityColumns = {
  stageTable: 'etl_company_stage',
  table: 'companies',
  fields: `id jsonb, company_id jsonb, name jsonb, plan jsonb, size jsonb, website jsonb, industry jsonb, monthly_spend jsonb,
    session_count jsonb, user_count jsonb, created_at jsonb, updated_at jsonb, remote_created_at jsonb, last_request_at jsonb,
    custom_attributes jsonb, tags jsonb, segments jsonb`,
  columns: [
    ['id', `NULLIF(etl_text(d.id), '')`],
    ['company_id', 'etl_text(d.company_id)'],
    ['name', 'etl_text(d.name)'],
    ['plan_id', `etl_text(d.plan->'id')`],
    ['plan_name', `etl_text(d.plan->'name')`],
    ['size', 'etl_numeric(d.size)'],
    ['website', 'etl_text(d.website)'],
    ['industry', 'etl_text(d.industry)'],
    ['monthly_spend', 'etl_numeric(d.monthly_spend)'],
    ['session_count', 'etl_numeric(d.session_count)'],
    ['user_count', 'etl_numeric(d.user_count)'],
    ['created_at', 'etl_unix_time(d.created_at)'],
    ['updated_at', 'etl_unix_time(d.updated_at)'],
    ['remote_created_at', 'etl_unix_time(d.remote_created_at)'],
    ['last_request_at', 'etl_unix_time(d.last_request_at)'],
    ['custom_attributes', `COALESCE(d.custom_attributes, '{}'::jsonb)`],
    ['tags', `COALESCE(d.tags->'tags', '[]'::jsonb)`],
    ['segments', `COALESCE(d.segments->'segments', '[]'::jsonb)`],
  ],
  stageOnly: [],
  // A company fetched twice in one run (a scroll that returned it again) keeps its latest copy.
  newestFirst: 'u.ord DESC',
  replaceWhen: null,
};

const TICKETS: EntityColumns = {
  stageTable: 'etl_ticket_stage',
  table: 'tickets',
  fields: `id jsonb, ticket_id jsonb, category jsonb, ticket_attributes jsonb, ticket_state jsonb, ticket_state_internal_label jsonb,
    ticket_state_external_label jsonb, ticket_type jsonb, open jsonb, admin_assignee_id jsonb, team_assignee_id jsonb, contacts jsonb,
    linked_objects jsonb, is_shared jsonb, snoozed_until jsonb, created_at jsonb, updated_at jsonb`,
  // `ticket_state` is an object from API 2.12 and a string (the category, labels beside it) before;
  // assignee ids are strings up to 2.15 and integers from 2.16: both stored as text.
  columns: [
    ['id', `NULLIF(etl_text(d.id), '')`],
    ['ticket_id', 'etl_text(d.ticket_id)'],
    ['category', 'etl_text(d.category)'],
    ['title', `etl_text(d.ticket_attributes->'_default_title_')`],
    ['description', `etl_text(d.ticket_attributes->'_default_description_')`],
    ['ticket_attributes', `COALESCE(d.ticket_attributes, '{}'::jsonb)`],
    ['ticket_state_id', `CASE WHEN jsonb_typeof(d.ticket_state) = 'object' THEN etl_text(d.ticket_state->'id') END`],
    [
      'ticket_state_category',
      `CASE WHEN jsonb_typeof(d.ticket_state) = 'object' THEN etl_text(d.ticket_state->'category') ELSE etl_text(d.ticket_state) END`,
    ],
    ['ticket_state_internal_label', `COALESCE(etl_text(d.ticket_state->'internal_label'), etl_text(d.ticket_state_internal_label))`],
    ['ticket_state_external_label', `COALESCE(etl_text(d.ticket_state->'external_label'), etl_text(d.ticket_state_external_label))`],
    ['ticket_type_id', `etl_text(d.ticket_type->'id')`],
    ['ticket_type_name', `etl_text(d.ticket_type->'name')`],
    ['open', 'etl_boolean(d.open)'],
    ['admin_assignee_id', 'etl_text(d.admin_assignee_id)'],
    ['team_assignee_id', 'etl_text(d.team_assignee_id)'],
    [
      'contact_ids',
      `ARRAY(SELECT etl_text(c->'id') FROM jsonb_array_elements(
         CASE WHEN jsonb_typeof(d.contacts->'contacts') = 'array' THEN d.contacts->'contacts' ELSE '[]'::jsonb END) c)`,
    ],
    ['linked_objects', 'd.linked_objects'],
    ['is_shared', 'etl_boolean(d.is_shared)'],
    ['snoozed_until', 'etl_unix_time(d.snoozed_until)'],
    ['created_at', 'etl_unix_time(d.created_at)'],
    ['updated_at', 'etl_unix_time(d.updated_at)'],
  ],
  // The raw updated_at (numeric, as etl_numeric reads it; a time ≤ 0 still orders) decides which copy is newest.
  stageOnly: [['version', 'etl_numeric(d.updated_at)']],
  // A ticket fetched twice in one run (updated while the search paged) keeps its newest version;
  // between equal versions, the later copy. Mirrors `ORDER BY version DESC NULLS LAST, ord DESC`.
  newestFirst: 'u.version DESC NULLS LAST, u.ord DESC',
  replaceWhen: 's.version IS NULL OR EXCLUDED.version >= s.version',
};

export const ENTITY_COLUMNS: Record<EntityStream, EntityColumns> = { companies: COMPANIES, tickets: TICKETS };

/**
 * Unpacks a page batch ($2: a JSON array of documents) into typed rows of run $1 in the stage
 * table; one row per entity (the newest copy within the batch, then against what is staged).
 */
export function stagingStatement(spec: EntityColumns): string {
  const all = [...spec.columns, ...spec.stageOnly];
  const names = all.map(([c]) => c);
  const updates = names.filter((c) => c !== 'id').map((c) => `${c} = EXCLUDED.${c}`);
  return `INSERT INTO ${spec.stageTable} AS s (run_id, ${names.join(', ')})
    SELECT DISTINCT ON (u.id) $1, ${names.map((c) => `u.${c}`).join(', ')}
      FROM (SELECT e.ord, ${all.map(([c, expr]) => `${expr} AS ${c}`).join(',\n              ')}
              FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS e(doc, ord),
                   LATERAL jsonb_to_record(e.doc) AS d(${spec.fields})) u
     WHERE u.id IS NOT NULL
     ORDER BY u.id, ${spec.newestFirst}
    ON CONFLICT (run_id, id) DO UPDATE SET ${updates.join(', ')}${spec.replaceWhen ? `\n    WHERE ${spec.replaceWhen}` : ''}`;
}

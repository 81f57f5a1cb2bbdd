/**
 * Names of the analysts' views and of their columns (issue 9 §3). Pure functions: the same catalogue
 * always gives the same names, so dashboards keep working across refreshes.
 */

/** Views named after what a dataset's rows are; other datasets keep their table name minus `report_`. */
const DATASET_VIEW_NAMES: Readonly<Record<string, string>> = {
  conversation: 'conversations',
  consolidated_conversation_part: 'conversation_actions',
  conversation_rating_sent: 'conversation_ratings',
  conversation_state: 'conversation_states',
  conversation_sla_status_log: 'sla_events',
  teammate_handling_conversation: 'teammate_handling',
  admin_status_change: 'teammate_status_periods',
  tickets: 'ticket_reports',
  ticket_time_in_state: 'ticket_time_in_state',
  call: 'calls',
  call_team_stats: 'call_team_stats',
  call_teammate_stats: 'call_teammate_stats',
};

/** Views that are not a dataset's: a dataset never takes these names. */
export const ENTITY_VIEW_NAMES = ['companies', 'tickets', 'ticket_states', 'ticket_types'] as const;

export function datasetViewName(datasetId: string, tableName: string, taken: ReadonlySet<string>): string {
  const base = DATASET_VIEW_NAMES[datasetId] ?? tableName.replace(/^report_/, '');
  if (!taken.has(base) && !(ENTITY_VIEW_NAMES as readonly string[]).includes(base)) return base;
  for (let n = 2; ; n++) if (!taken.has(`${base}_report${n === 2 ? '' : n}`)) return `${base}_report${n === 2 ? '' : n}`;
}

export interface SourceColumn {
  columnName: string;
  /** Plain attribute id; null for a metadata column. */
  attributeId: string | null;
  /** The attribute's Intercom name, for the view column's comment. */
  label?: string | null;
  /** Postgres type as information_schema names it (`numeric`, `text`, `boolean`, `ARRAY`, …). */
  dataType: string;
}

const NUMERIC_TYPES = new Set(['numeric', 'integer', 'bigint', 'smallint', 'double precision', 'real']);
/** Team/teammate attributes whose "id" Intercom fills with a display name (brief §3.9). */
const NAMED_ID = /(^|_)(team|teammate)(_assignee|_mentioned)?_ids?$/;

/**
 * The friendly name of a report column, given its siblings:
 * - `…_raw_id` (the numeric id) → `…_id`, and the team/teammate `…_id` (a display name) → `…_name`
 *   (`…_ids` → `…_names`): a `_id` column then always holds an id;
 * - a duration or other time in seconds (numeric, a `time` word, not ending in `_at`) gets `_seconds`;
 * - `_loaded_at` → `loaded_at`; other metadata columns are left out (null).
 * Only the plain ids decide (qualified ids are known from API 2.16 only): names do not change with
 * the API version.
 */
export function friendlyColumnName(col: SourceColumn, siblings: ReadonlySet<string>): string | null {
  if (col.attributeId === null) return col.columnName === '_loaded_at' ? 'loaded_at' : null;
  const name = col.columnName;
  if (name.endsWith('_raw_id')) return `${name.slice(0, -'_raw_id'.length)}_id`;
  if (NAMED_ID.test(name) || siblings.has(`${name.replace(/_id$/, '')}_raw_id`)) {
    if (name.endsWith('_ids')) return `${name.slice(0, -4)}_names`;
    if (name.endsWith('_id')) return `${name.slice(0, -3)}_name`;
  }
  if (NUMERIC_TYPES.has(col.dataType) && /(^|_)time(_|$)/.test(name) && !/_seconds$/.test(name)) return `${name}_seconds`;
  return name;
}

/**
 * Friendly names for all columns of a table, in order; a friendly name that would collide with an
 * earlier one keeps the raw column name instead. Null entries are left out of the view.
 */
export function friendlyColumnNames(cols: readonly SourceColumn[]): Array<string | null> {
  const siblings = new Set(cols.map((c) => c.columnName));
  const used = new Set<string>();
  return cols.map((col) => {
    let name = friendlyColumnName(col, siblings);
    if (name === null) return null;
    if (used.has(name) || name.length > 63) name = col.columnName;
    if (used.has(name)) return null;
    used.add(name);
    return name;
  });
}

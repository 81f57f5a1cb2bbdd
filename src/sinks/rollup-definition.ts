import { createHash } from 'node:crypto';
import type pg from 'pg';
import { quoteIdent, quoteLiteral } from '../db/pool.js';

/** A breakdown of the rollup: `dimension` is its name in the view, `column` the report column it reads. */
export interface RollupDimension {
  dimension: string;
  column: string;
}

/** A duration attribute (seconds): the view has `<prefix>_count`, `_avg`, `_p50`, `_p90`. */
export interface RollupMeasure {
  prefix: string;
  column: string;
}

/** The daily rollup of one dataset, derived from the catalogue and the table's actual columns. */
export interface RollupDefinition {
  datasetId: string;
  tableName: string;
  viewName: string;
  timeColumn: string;
  /** Zone the days are cut in (IANA). */
  dayZone: string;
  dimensions: RollupDimension[];
  measures: RollupMeasure[];
  /** The view's query. */
  select: string;
  /** sha256 of `select` (schemas, zone and columns included): another hash means drop and recreate. */
  hash: string;
}

/** A catalogue attribute with the type its column really has (null: no such column in the table). */
interface AttributeColumn {
  columnName: string;
  attributeId: string;
  qualifiedId: string | null;
  dataType: string | null;
}

const NUMERIC_TYPES = new Set(['numeric', 'integer', 'bigint', 'smallint', 'double precision', 'real']);
const MAX_MEASURES = 8;

/** Word tests on plain ids (`currently_assigned_team_id`), which every API version sends. */
const word = (w: string) => new RegExp(`(^|_)${w}(_|$)`);
const CATEGORY = /(^|_)(state|status|type|direction)(_category)?$/;

/**
 * The breakdowns, at most four, from the text columns' ids: `channel`; the first team (an id
 * ending `team_id` or `team_assignee_id` as words), the first teammate (`teammate_id`,
 * `teammate_assignee_id`: not `teammate_status_id`, a row id) — display names, never `_raw_id`
 * numbers or `_ids` lists — and the first state-like label (an id ending `_state`,
 * `_status`, `_type`, `_direction`, or `_state_category`), named after its column. All are labels
 * with few values, so the rollup stays small; free text, ids and lists are never used.
 */
export function pickDimensions(columns: AttributeColumn[]): RollupDimension[] {
  const labels = columns.filter((c) => c.dataType === 'text' && !/(_raw_id|_ids)$/.test(c.attributeId.toLowerCase()));
  const first = (test: (id: string) => boolean) => labels.find((c) => test(c.attributeId.toLowerCase()));
  const picks: Array<[string, AttributeColumn | undefined]> = [
    ['channel', first((id) => id === 'channel')],
    ['team', first((id) => /(^|_)team(_assignee)?_id$/.test(id))],
    ['teammate', first((id) => /(^|_)teammate(_assignee)?_id$/.test(id))],
  ];
  const category = first((id) => CATEGORY.test(id));
  if (category) picks.push([category.columnName, category]);
  return picks
    .filter((p): p is [string, AttributeColumn] => p[1] !== undefined)
    .map(([dimension, c]) => ({ dimension, column: c.columnName }));
}

/**
 * Duration measures: numeric columns whose attribute is qualified `duration.` or has the word
 * `time` in its plain id (`first_response_time`, `time_to_close`, `call_talk_time`), not counts.
 * Intercom's durations are seconds.
 */
export function pickMeasures(columns: AttributeColumn[]): RollupMeasure[] {
  return columns
    .filter((c) => c.dataType !== null && NUMERIC_TYPES.has(c.dataType))
    .filter((c) => {
      const id = c.attributeId.toLowerCase();
      return (c.qualifiedId?.startsWith('duration.') || word('time').test(id)) && !id.endsWith('_count');
    })
    .slice(0, MAX_MEASURES)
    .map((c) => ({ prefix: c.columnName.slice(0, 57), column: c.columnName }));
}

/** `report_conversation` → `daily_conversation`. */
export function rollupViewName(tableName: string): string {
  return `daily_${tableName.replace(/^report_/, '')}`.slice(0, 63);
}

/**
 * Every dataset's rollup as the catalogue and the tables stand now: only columns that exist, with
 * their real types (a column widened to text is no longer a measure). Null for a dataset whose
 * table or time column is missing: it gets no rollup.
 */
export async function rollupDefinitions(
  db: pg.Pool | pg.PoolClient,
  schema: string,
  dayZone: string,
): Promise<Array<{ datasetId: string; definition: RollupDefinition | null }>> {
  const { rows } = await db.query<{
    dataset_id: string;
    table_name: string;
    default_time_attribute_id: string;
    column_name: string;
    attribute_id: string;
    qualified_id: string | null;
    data_type: string | null;
  }>(
    `SELECT d.dataset_id, d.table_name, d.default_time_attribute_id, a.column_name, a.attribute_id, a.qualified_id, c.data_type
       FROM etl_datasets d
       JOIN etl_attributes a USING (dataset_id)
       LEFT JOIN information_schema.columns c
              ON c.table_schema = $1 AND c.table_name = d.table_name AND c.column_name = a.column_name
      ORDER BY d.dataset_id, a.position`,
    [schema],
  );
  const byDataset = new Map<string, typeof rows>();
  for (const r of rows) byDataset.set(r.dataset_id, [...(byDataset.get(r.dataset_id) ?? []), r]);
  return [...byDataset.entries()].map(([datasetId, attrs]) => {
    const { table_name: tableName, default_time_attribute_id: timeId } = attrs[0]!;
    const columns: AttributeColumn[] = attrs.map((a) => ({
      columnName: a.column_name,
      attributeId: a.attribute_id,
      qualifiedId: a.qualified_id,
      dataType: a.data_type,
    }));
    const time = columns.find((c) => c.attributeId === timeId && c.dataType === 'timestamp with time zone');
    if (!time) return { datasetId, definition: null };
    return { datasetId, definition: buildDefinition(schema, datasetId, tableName, time.columnName, dayZone, columns) };
  });
}

function buildDefinition(
  schema: string,
  datasetId: string,
  tableName: string,
  timeColumn: string,
  dayZone: string,
  columns: AttributeColumn[],
): RollupDefinition {
  const dimensions = pickDimensions(columns.filter((c) => c.columnName !== timeColumn));
  const measures = pickMeasures(columns);
  const q = quoteIdent;
  const inner = [
    `(${q(timeColumn)} AT TIME ZONE ${quoteLiteral(dayZone)})::date AS day`,
    ...dimensions.map((d, i) => `COALESCE(NULLIF(${q(d.column)}, ''), '(none)') AS d${i}`),
    ...measures.map((m, i) => `${q(m.column)}::double precision AS m${i}`),
  ];
  // One scan, one row per day for the whole dataset (`all`) and one per day and value of each
  // breakdown. GROUPING() tells which breakdown a row belongs to.
  const dimensionCase = dimensions.map((d, i) => `WHEN GROUPING(d${i}) = 0 THEN ${quoteLiteral(d.dimension)}`).join(' ');
  const valueCase = dimensions.map((_, i) => `WHEN GROUPING(d${i}) = 0 THEN d${i}`).join(' ');
  const outer = [
    'day',
    dimensions.length ? `CASE ${dimensionCase} ELSE 'all' END AS dimension` : `'all'::text AS dimension`,
    dimensions.length ? `CASE ${valueCase} ELSE '(all)' END AS value` : `'(all)'::text AS value`,
    'count(*) AS row_count',
    ...measures.flatMap((m, i) => [
      `count(m${i}) AS ${q(`${m.prefix}_count`)}`,
      `avg(m${i}) AS ${q(`${m.prefix}_avg`)}`,
      `percentile_cont(0.5) WITHIN GROUP (ORDER BY m${i}) AS ${q(`${m.prefix}_p50`)}`,
      `percentile_cont(0.9) WITHIN GROUP (ORDER BY m${i}) AS ${q(`${m.prefix}_p90`)}`,
    ]),
  ];
  const sets = ['(day)', ...dimensions.map((_, i) => `(day, d${i})`)].join(', ');
  const select =
    `SELECT ${outer.join(',\n       ')}\n` +
    `  FROM (SELECT ${inner.join(', ')}\n` +
    `          FROM ${q(schema)}.${q(tableName)} WHERE ${q(timeColumn)} IS NOT NULL) r\n` +
    ` GROUP BY GROUPING SETS (${sets})`;
  return {
    datasetId,
    tableName,
    viewName: rollupViewName(tableName),
    timeColumn,
    dayZone,
    dimensions,
    measures,
    select,
    hash: createHash('sha256').update(select).digest('hex'),
  };
}

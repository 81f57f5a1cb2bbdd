import type pg from 'pg';
import { quoteIdent, quoteLiteral } from '../db/pool.js';

/**
 * Table and column comments (`COMMENT ON`) of a report table, from the catalogue, so BI tools
 * (Metabase, Superset, Looker, dbt docs) show what each column is. Intercom's get_datasets gives a
 * dataset a name and a description but an attribute only a name (brief §3.2), so a column's comment
 * is the attribute's Intercom name and id, plus what we know of its form (unit, list, widened).
 * Written on every catalogue refresh, but only the comments that changed.
 */
const METADATA_COMMENTS: Record<string, string> = {
  _window_start: 'Start (inclusive, UTC) of the export window that loaded this row. Added by intercom-etl.',
  _window_end: 'End (exclusive, UTC) of the export window that loaded this row. Added by intercom-etl.',
  _intercom_job_id: 'Intercom reporting export job that produced this row. Added by intercom-etl.',
  _loaded_at: 'When intercom-etl loaded this row.',
};

interface AttributeRow {
  column_name: string;
  attribute_id: string;
  qualified_id: string | null;
  name: string;
  column_type: string;
  load_column: string | null;
  widened: boolean;
}

export async function syncReportComments(client: pg.PoolClient, schema: string, datasetId: string): Promise<void> {
  const ds = await client.query<{ name: string; description: string | null; default_time_attribute_id: string; table_name: string }>(
    'SELECT name, description, default_time_attribute_id, table_name FROM etl_datasets WHERE dataset_id = $1',
    [datasetId],
  );
  const d = ds.rows[0];
  if (!d) return;
  const attrs = await client.query<AttributeRow>(
    `SELECT column_name, attribute_id, qualified_id, name, column_type, load_column, widened_at IS NOT NULL AS widened
       FROM etl_attributes WHERE dataset_id = $1 ORDER BY position`,
    [datasetId],
  );
  const wanted = new Map<string, string>(Object.entries(METADATA_COMMENTS));
  for (const a of attrs.rows) {
    wanted.set(a.column_name, columnComment(a));
    if (a.load_column) {
      wanted.set(
        a.load_column,
        `${a.name} as exported (Intercom attribute ${a.qualified_id ?? a.attribute_id}): the field's text, from which the list column ${a.column_name} is split.`,
      );
    }
  }
  const table = `${quoteIdent(schema)}.${quoteIdent(d.table_name)}`;
  const tableComment =
    `${d.name}${d.description ? `: ${d.description}` : ''} ` +
    `(Intercom reporting dataset ${datasetId}; rows are assigned to export windows by ${d.default_time_attribute_id}. Loaded by intercom-etl.)`;
  const current = await client.query<{ column_name: string | null; comment: string | null }>(
    `SELECT NULL AS column_name, obj_description($1::regclass, 'pg_class') AS comment
     UNION ALL
     SELECT attname, col_description(attrelid, attnum) FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`,
    [table],
  );
  const have = new Map(current.rows.map((r) => [r.column_name, r.comment]));
  if (have.get(null) !== tableComment) await client.query(`COMMENT ON TABLE ${table} IS ${quoteLiteral(tableComment)}`);
  for (const [column, comment] of wanted) {
    if (!have.has(column) || have.get(column) === comment) continue; // a column the table lacks is not ours to create here
    await client.query(`COMMENT ON COLUMN ${table}.${quoteIdent(column)} IS ${quoteLiteral(comment)}`);
  }
}

function columnComment(a: AttributeRow): string {
  const base = `${a.name} (Intercom attribute ${a.qualified_id ?? a.attribute_id})`;
  if (a.widened) return `${base}. Loaded as text: a value did not fit the type guessed for it.`;
  switch (a.column_type) {
    case 'timestamptz':
      return `${base}. A point in time.`;
    case 'numeric':
      return isDuration(a) ? `${base}. Seconds.` : `${base}.`;
    case 'text[]':
      return `${base}. A list: the exported field split at commas outside double quotes; as exported in ${a.load_column}.`;
    default:
      return `${base}.`;
  }
}

function isDuration(a: AttributeRow): boolean {
  return (a.qualified_id ?? '').startsWith('duration.') || /(^|_)time(_|$)/.test(a.attribute_id.toLowerCase());
}

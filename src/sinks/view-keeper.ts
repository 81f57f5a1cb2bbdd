import type pg from 'pg';
import { migrationLockKey } from '../db/migrate.js';
import { quoteIdent as q } from '../db/pool.js';

/**
 * Postgres refuses `ALTER COLUMN … TYPE` on a column a view uses. Report columns change type (a
 * wrong guess widened to text), and the BI views (and whatever an analyst or a rollup built on a
 * report table) use them: so such a change detaches the dependent views, alters, and puts them back
 * from their saved definitions — with their comments and grants — in the caller's transaction.
 */

interface SavedView {
  schema: string;
  name: string;
  kind: 'v' | 'm';
  depth: number;
  def: string;
  comment: string | null;
  columnComments: Array<{ col: string; comment: string }> | null;
  /** `GRANT …` statements re-applying the view's privileges. */
  grants: string[];
  /** Matviews: their indexes. */
  indexes: string[];
}

const SAVED_VIEWS_SQL = `
  WITH RECURSIVE deps(oid, depth) AS (
    SELECT r.ev_class, 1 FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
     WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
       AND d.refobjid = $1::oid AND r.ev_class <> $1::oid
    UNION
    SELECT r.ev_class, deps.depth + 1 FROM deps
      JOIN pg_depend d ON d.refobjid = deps.oid AND d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
      JOIN pg_rewrite r ON r.oid = d.objid
     WHERE r.ev_class <> deps.oid AND deps.depth < 20)
  SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind, max(deps.depth)::int AS depth,
         pg_get_viewdef(c.oid) AS def, obj_description(c.oid, 'pg_class') AS comment,
         (SELECT json_agg(json_build_object('col', a.attname, 'comment', col_description(c.oid, a.attnum)))
            FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND col_description(c.oid, a.attnum) IS NOT NULL) AS "columnComments",
         COALESCE((SELECT array_agg(format('GRANT %s ON %I.%I TO %s', x.privilege_type, n.nspname, c.relname,
                            CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(x.grantee)) END))
                     FROM aclexplode(c.relacl) x WHERE x.grantee <> c.relowner), '{}') AS grants,
         COALESCE((SELECT array_agg(pg_get_indexdef(i.indexrelid)) FROM pg_index i WHERE i.indrelid = c.oid), '{}') AS indexes
    FROM deps JOIN pg_class c ON c.oid = deps.oid JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('v', 'm')
   GROUP BY c.oid, n.nspname, c.relname, c.relkind`;

/** Runs `alter` (a type change of `table`'s columns) with the views that depend on `table` detached. */
export async function withDependentViewsDetached<T>(client: pg.PoolClient, table: string, alter: () => Promise<T>): Promise<T> {
  const { rows } = await client.query<{ oid: number | null; p: string; schema: string | null }>(
    `SELECT c.oid, current_setting('search_path') AS p, n.nspname AS schema
       FROM (SELECT to_regclass($1) AS r) x LEFT JOIN pg_class c ON c.oid = x.r LEFT JOIN pg_namespace n ON n.oid = c.relnamespace`,
    [q(table)],
  );
  const { oid, p: path, schema } = rows[0]!;
  if (oid === null || schema === null) return alter();
  // The BI refresh (bi-views.ts) changes these views under the migration lock: taking it too, before
  // any view lock, means the two never wait for each other in a cycle.
  await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [migrationLockKey(schema)]);
  // With an empty search_path, pg_get_viewdef qualifies every name: the definitions replay anywhere.
  await client.query(`SELECT set_config('search_path', '', true)`);
  let saved: SavedView[];
  try {
    saved = (await client.query<SavedView>(SAVED_VIEWS_SQL, [oid])).rows;
  } finally {
    await client.query(`SELECT set_config('search_path', $1, true)`, [path]);
  }
  for (const v of [...saved].sort((a, b) => b.depth - a.depth)) {
    await client.query(`DROP ${v.kind === 'm' ? 'MATERIALIZED VIEW' : 'VIEW'} IF EXISTS ${q(v.schema)}.${q(v.name)}`);
  }
  const result = await alter();
  for (const v of [...saved].sort((a, b) => a.depth - b.depth)) await restoreView(client, v);
  return result;
}

async function restoreView(client: pg.PoolClient, v: SavedView): Promise<void> {
  const name = `${q(v.schema)}.${q(v.name)}`;
  const def = v.def.trim().replace(/;$/, '');
  await client.query(v.kind === 'm' ? `CREATE MATERIALIZED VIEW ${name} AS ${def}` : `CREATE VIEW ${name} AS ${def}`);
  for (const index of v.indexes) await client.query(index);
  if (v.comment !== null)
    await client.query(`COMMENT ON ${v.kind === 'm' ? 'MATERIALIZED VIEW' : 'VIEW'} ${name} IS ${literal(v.comment)}`);
  for (const c of v.columnComments ?? []) await client.query(`COMMENT ON COLUMN ${name}.${q(c.col)} IS ${literal(c.comment)}`);
  for (const grant of v.grants) await client.query(grant);
}

/** The grants of an existing relation, as statements (to re-apply after dropping and creating it). */
export async function grantsOf(client: pg.PoolClient, qualifiedName: string): Promise<string[]> {
  const { rows } = await client.query<{ g: string }>(
    `SELECT format('GRANT %s ON %s TO %s', x.privilege_type, $1::text,
              CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(x.grantee)) END) AS g
       FROM pg_class c, aclexplode(c.relacl) x WHERE c.oid = to_regclass($1) AND x.grantee <> c.relowner`,
    [qualifiedName],
  );
  return rows.map((r) => r.g);
}

const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;

import { describe, expect, it } from 'vitest';
import { withTransaction } from '../src/db/pool.js';
import { withDependentViewsDetached } from '../src/sinks/view-keeper.js';
import { useTestEnv } from './helpers/test-env.js';

const getEnv = useTestEnv();

describe('view keeper', () => {
  it('changes a column type under views of several levels and schemas, a matview with its index, and keeps comments and grants', async () => {
    const env = getEnv();
    const other = `${env.schema}_bi`;
    await env.query(`CREATE TABLE t (id integer, n numeric)`);
    await env.query(`INSERT INTO t VALUES (1, 2), (2, 3)`);
    await env.query(`CREATE SCHEMA "${other}"`);
    await env.query(`CREATE VIEW "${other}".v1 AS SELECT id, n FROM t`);
    await env.query(`COMMENT ON VIEW "${other}".v1 IS 'level one'`);
    await env.query(`COMMENT ON COLUMN "${other}".v1.n IS 'the n'`);
    await env.query(`GRANT SELECT ON "${other}".v1 TO PUBLIC`);
    await env.query(`CREATE VIEW v2 AS SELECT n FROM "${other}".v1 WHERE id > 0`);
    await env.query(`CREATE MATERIALIZED VIEW m AS SELECT id, n FROM t`);
    await env.query(`CREATE UNIQUE INDEX m_id ON m (id)`);
    // Without the keeper Postgres refuses the change.
    await expect(env.query(`ALTER TABLE t ALTER COLUMN n TYPE text`)).rejects.toThrow(/used by a view/);
    await withTransaction(env.ctx.pool, (client) =>
      withDependentViewsDetached(client, 't', () => client.query(`ALTER TABLE t ALTER COLUMN n TYPE text USING n::text`)),
    );
    const types = await env.query<{ table_schema: string; table_name: string; data_type: string }>(
      `SELECT table_schema, table_name, data_type FROM information_schema.columns
        WHERE column_name = 'n' AND table_schema IN ($1, $2) ORDER BY 1, 2`,
      [env.schema, other],
    );
    expect(types.map((t) => `${t.table_name}:${t.data_type}`).sort()).toEqual(['t:text', 'v1:text', 'v2:text']);
    expect(await env.query(`SELECT n FROM v2 ORDER BY n`)).toEqual([{ n: '2' }, { n: '3' }]);
    expect(await env.query(`SELECT n FROM m ORDER BY id`)).toEqual([{ n: '2' }, { n: '3' }]);
    expect(await env.query(`SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'm'`, [env.schema])).toEqual([
      { indexname: 'm_id' },
    ]);
    const [meta] = await env.query<{ view: string; col: string; granted: boolean }>(
      `SELECT obj_description('"${other}".v1'::regclass, 'pg_class') AS view,
              col_description('"${other}".v1'::regclass, 2) AS col,
              has_table_privilege('public', '"${other}".v1', 'SELECT') AS granted`,
    );
    expect(meta).toEqual({ view: 'level one', col: 'the n', granted: true });
  });
});

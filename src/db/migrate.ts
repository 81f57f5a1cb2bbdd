import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { FatalError } from '../errors.js';
import { listenForConnectionLoss, quoteIdent } from './pool.js';

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

/**
 * Runs after the migrations, on the client that holds the migration lock (search_path = PG_SCHEMA),
 * outside any transaction: schema objects derived from the tables (the BI views) are kept current here.
 */
export type AfterMigrationsHook = (client: pg.PoolClient) => Promise<void>;

/** The advisory lock under which the schema changes shape (migrations, derived views). */
export function migrationLockKey(schema: string): string {
  return `intercom-etl:migrate:${schema}`;
}

export interface MigrationResult {
  applied: string[];
  alreadyApplied: number;
}

interface MigrationFile {
  id: number;
  name: string;
  sql: string;
  checksum: string;
}

async function readMigrations(dir: string): Promise<MigrationFile[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (name) => {
      const sql = await readFile(path.join(dir, name), 'utf8');
      return { id: Number(name.slice(0, 4)), name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

/**
 * Applies the numbered plain-SQL files of `migrations/` to `schema`, each in its own transaction,
 * under a *waiting* advisory lock: several workers starting together apply them once, in order.
 * A file changed after it was applied is an error (migrations are forward-only).
 */
export async function migrate(
  pool: pg.Pool,
  schema: string,
  dir = MIGRATIONS_DIR,
  afterMigrations: readonly AfterMigrationsHook[] = [],
): Promise<MigrationResult> {
  const migrations = await readMigrations(dir);
  const client = await pool.connect();
  const broken = listenForConnectionLoss(client);
  const lockKey = migrationLockKey(schema);
  try {
    await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [lockKey]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${quoteIdent(schema)}.etl_schema_migrations (
         id integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await client.query<{ id: number; name: string; checksum: string }>(
      `SELECT id, name, checksum FROM ${quoteIdent(schema)}.etl_schema_migrations`,
    );
    const done = new Map(rows.map((r) => [r.id, r]));
    const applied: string[] = [];
    for (const m of migrations) {
      const prior = done.get(m.id);
      if (prior) {
        if (prior.checksum !== m.checksum) {
          throw new FatalError(
            `Migration ${m.name} was changed after it was applied to schema "${schema}". Migrations are forward-only: restore the file and add a new numbered migration instead.`,
          );
        }
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(`SET LOCAL search_path TO ${quoteIdent(schema)}, public`);
        await client.query(m.sql);
        await client.query(`INSERT INTO ${quoteIdent(schema)}.etl_schema_migrations (id, name, checksum) VALUES ($1, $2, $3)`, [
          m.id,
          m.name,
          m.checksum,
        ]);
        await client.query('COMMIT');
        applied.push(m.name);
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw new FatalError(`Migration ${m.name} failed on schema "${schema}": ${(err as Error).message}`, { cause: err });
      }
    }
    for (const hook of afterMigrations) await hook(client);
    return { applied, alreadyApplied: migrations.length - applied.length };
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [lockKey]).catch(() => {});
    broken.stop();
    client.release(broken.error ?? undefined);
  }
}

/**
 * Why `schema` cannot be read yet, without changing anything: a sentence naming PG_SCHEMA and
 * `intercom-etl migrate`, or null when every migration is applied. For read-only commands (status).
 */
export async function unmigratedSchemaProblem(pool: pg.Pool, schema: string, dir = MIGRATIONS_DIR): Promise<string | null> {
  const { rows } = await pool.query<{ ledger: string | null }>(`SELECT to_regclass($1)::text AS ledger`, [
    `${quoteIdent(schema)}.etl_schema_migrations`,
  ]);
  if (rows[0]?.ledger == null) {
    return `Schema "${schema}" (PG_SCHEMA) has no intercom-etl tables yet. Run \`intercom-etl migrate\` (or start a worker), then try again.`;
  }
  const applied = await pool.query<{ id: number }>(`SELECT id FROM ${quoteIdent(schema)}.etl_schema_migrations`);
  const done = new Set(applied.rows.map((r) => r.id));
  const pending = (await readMigrations(dir)).filter((m) => !done.has(m.id)).map((m) => m.name);
  if (pending.length === 0) return null;
  return `Schema "${schema}" (PG_SCHEMA) is missing ${pending.length} migration(s) (${pending.join(', ')}). Run \`intercom-etl migrate\`, then try again.`;
}

import pg from 'pg';

/**
 * A pool whose connections have `search_path` set to the product's schema, so SQL names tables
 * without qualifying them. (Advisory locks and session settings need session pooling: do not put
 * PgBouncer in transaction mode in front of this.)
 */
export function createPool(databaseUrl: string, schema: string, max = 10): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max,
    options: `-c search_path=${quoteIdent(schema)},public`,
    application_name: 'intercom-etl',
    connectionTimeoutMillis: 10_000,
  });
  // An idle client's error (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  return pool;
}

/** Quotes an SQL identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes an SQL string literal (for DDL, where parameters are not allowed). */
export function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * Runs `fn` on a checked-out client. While checked out, a client's 'error' event (the server closed
 * the connection: failover, `pg_terminate_backend`) has no listener from the pool, and an unheard
 * 'error' kills the process; so we listen, and `fn`'s pending query fails instead. A client that
 * errored is destroyed on release rather than returned to the pool.
 */
export async function withClient<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  const broken = listenForConnectionLoss(client);
  try {
    return await fn(client);
  } finally {
    broken.stop();
    client.release(broken.error ?? undefined);
  }
}

/** Keeps a checked-out client's 'error' event from crashing the process; remembers the error. */
export function listenForConnectionLoss(client: pg.PoolClient): { readonly error: Error | null; stop(): void } {
  let error: Error | null = null;
  const onError = (err: Error): void => {
    error ??= err;
  };
  client.on('error', onError);
  return {
    get error() {
      return error;
    },
    stop: () => client.off('error', onError),
  };
}

/** Runs `fn` in a transaction on a dedicated client; rolls back on any error. */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return withClient(pool, async (client) => {
    await client.query('BEGIN');
    try {
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    }
  });
}

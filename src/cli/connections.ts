import type { Redis } from 'ioredis';
import pg from 'pg';
import type { AppContext } from '../context.js';
import { FatalError } from '../errors.js';
import { withoutPassword } from '../redact.js';

/**
 * The first contact with Postgres and Redis, bounded in time, with failures that name the service
 * and the variable to fix — instead of a raw stack trace, or a command that waits forever for a
 * Redis that is not there (BullMQ's connection retries without end, by design, for workers).
 */

export type Service = 'postgres' | 'redis';

/** Reaches each service a command needs, in order; throws the first failure. */
export async function connectServices(ctx: AppContext, services: readonly Service[]): Promise<void> {
  if (services.includes('postgres')) await connectPostgres(ctx);
  if (services.includes('redis')) await connectRedis(ctx);
}

/** One query on the pool; returns the server version. Connecting is bounded by the pool's timeout. */
export async function connectPostgres(ctx: AppContext): Promise<string> {
  try {
    const { rows } = await ctx.pool.query<{ v: string }>(`SELECT current_setting('server_version') AS v`);
    return rows[0]?.v ?? '?';
  } catch (err) {
    throw new FatalError(postgresProblem(err, ctx.config.databaseUrl), { cause: err });
  }
}

/**
 * Waits for the shared Redis connection to be ready (at most REDIS_CONNECT_TIMEOUT_MS), then checks
 * that it uses the db index of REDIS_URL: ioredis carries on in db 0 when `SELECT` fails.
 */
export async function connectRedis(ctx: AppContext): Promise<{ version: string; db: number }> {
  const { redisUrl, redisConnectTimeoutMs } = ctx.config;
  const where = `Redis at ${withoutPassword(redisUrl)} (REDIS_URL)`;
  const lastError = await waitUntilReady(ctx.redis, redisConnectTimeoutMs);
  if (lastError !== null) {
    throw new FatalError(
      `Cannot reach ${where} within ${redisConnectTimeoutMs / 1000} s${lastError ? `: ${lastError}` : ''}. ` +
        'Check that Redis is running and REDIS_URL is right (REDIS_CONNECT_TIMEOUT_MS sets the wait).',
    );
  }
  const wanted = ctx.redis.options.db ?? 0;
  const info = await ctx.redis.info('server');
  const version = /redis_version:([\d.]+)/.exec(info)?.[1] ?? '?';
  const clientInfo = String(await ctx.redis.call('CLIENT', 'INFO').catch(() => ''));
  const db = Number(/\bdb=(\d+)/.exec(clientInfo)?.[1] ?? wanted);
  if (db !== wanted) {
    const count = ((await ctx.redis.config('GET', 'databases').catch(() => [])) as string[])[1];
    throw new FatalError(
      `${where} refused db index ${wanted}${count ? ` (this server has databases 0 to ${Number(count) - 1})` : ''}. Fix the /N at the end of REDIS_URL.`,
    );
  }
  return { version, db };
}

/** null when ready; otherwise the last connection error seen ('' if none) once the time is up. */
async function waitUntilReady(redis: Redis, timeoutMs: number): Promise<string | null> {
  if (redis.status === 'ready') return null;
  let lastError = '';
  const onError = (err: Error) => {
    lastError = err.message;
  };
  let onReady = () => {};
  let timer: NodeJS.Timeout | undefined;
  redis.on('error', onError);
  try {
    return await new Promise<string | null>((resolve) => {
      onReady = () => resolve(null);
      redis.once('ready', onReady);
      timer = setTimeout(() => resolve(lastError), timeoutMs);
    });
  } finally {
    clearTimeout(timer);
    redis.off('error', onError);
    redis.off('ready', onReady);
  }
}

/** What went wrong with Postgres, naming DATABASE_URL and what to do. */
export function postgresProblem(err: unknown, databaseUrl: string): string {
  const where = `Postgres at ${withoutPassword(databaseUrl)} (DATABASE_URL)`;
  // A host name with several addresses fails with an AggregateError whose own message is empty.
  const inner = err instanceof AggregateError && err.errors[0] instanceof Error ? err.errors[0] : err;
  const message = inner instanceof Error ? inner.message : String(inner);
  const code = (err as { code?: unknown } | null)?.code;
  if (code === '28P01' || code === '28000')
    return `${where} rejected the credentials: ${message}. Fix the user or password in DATABASE_URL.`;
  if (code === '3D000') return `${where}: ${message}. Create the database or fix its name in DATABASE_URL.`;
  if (err instanceof pg.DatabaseError) return `${where} failed: ${message} (SQLSTATE ${String(code)}).`;
  return `Cannot reach ${where}: ${message || String(code ?? 'connection failed')}. Check that PostgreSQL is running and DATABASE_URL is right.`;
}

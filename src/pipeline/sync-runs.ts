import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { connectIntercom, type AppContext } from '../context.js';
import { withTransaction } from '../db/pool.js';
import { describeError, NotReadyError, RetriableError } from '../errors.js';
import { RedisLock } from './redis-lock.js';
import { StreamLease } from './stream-lease.js';
import { deleteStagedRows } from '../sinks/entity-stage.js';

/** Bookkeeping of companies/tickets runs (`etl_sync_runs`) and incremental watermarks (`etl_sync_state`). */

export type { EntityStream } from '../sinks/entity-columns.js';
import type { EntityStream } from '../sinks/entity-columns.js';
type Db = pg.Pool | pg.PoolClient;

export interface SyncRunResult {
  runId: string;
  stream: EntityStream;
  pages: number;
  fetched: number;
  upserted: number;
  deleted: number;
  restarts: number;
  /** Tickets: the watermark the run advanced to (ISO). */
  watermark?: string;
}

/**
 * A run's result as log fields: its id as `syncRunId` (`runId` is the id of the command or nightly
 * run the line belongs to) and without `stream`, which the stream's logger binds already.
 */
export function runLogFields(r: SyncRunResult): Omit<SyncRunResult, 'runId' | 'stream'> & { syncRunId: string } {
  const { runId, stream: _stream, ...rest } = r;
  return { syncRunId: runId, ...rest };
}

export function newRunId(stream: EntityStream): string {
  return `${stream}-${new Date().toISOString().replace(/[-:.]/g, '')}-${randomBytes(3).toString('hex')}`;
}

/**
 * Called in the transaction that took the stream's lease over: any run still marked running had let
 * its lease expire (its process died or stalled); mark it failed and drop its staged pages (an
 * interrupted run changes nothing). A run whose lease is alive is never touched.
 */
export async function abandonStaleRuns(db: Db, stream: EntityStream): Promise<void> {
  const { rows } = await db.query<{ run_id: string }>(
    `UPDATE etl_sync_runs SET status = 'failed', finished_at = now(), error = 'interrupted (the process running it stopped)'
      WHERE stream = $1 AND status = 'running' RETURNING run_id`,
    [stream],
  );
  const abandoned = rows.map((r) => r.run_id);
  if (abandoned.length > 0) await deleteStagedRows(db, stream, abandoned);
}

export async function startRun(db: Db, runId: string, stream: EntityStream, range?: { from: Date | null; to: Date }): Promise<void> {
  await db.query(`INSERT INTO etl_sync_runs (run_id, stream, status, range_from, range_to) VALUES ($1, $2, 'running', $3, $4)`, [
    runId,
    stream,
    range?.from ?? null,
    range?.to ?? null,
  ]);
}

export async function recordProgress(db: Db, runId: string, p: { pages: number; fetched: number; restarts: number }): Promise<void> {
  await db.query('UPDATE etl_sync_runs SET pages = $2, rows_fetched = $3, restarts = $4 WHERE run_id = $1', [
    runId,
    p.pages,
    p.fetched,
    p.restarts,
  ]);
}

export async function completeRun(db: Db, r: SyncRunResult): Promise<void> {
  await db.query(
    `UPDATE etl_sync_runs SET status = 'completed', finished_at = now(), pages = $2, rows_fetched = $3, rows_upserted = $4,
            rows_deleted = $5, restarts = $6, error = NULL WHERE run_id = $1`,
    [r.runId, r.pages, r.fetched, r.upserted, r.deleted, r.restarts],
  );
}

/** Ends a run that changed nothing: `failed`, or `interrupted` (shutdown), or `refused` (see recordRefusal). */
export async function failRun(db: Db, runId: string, error: string, status: 'failed' | 'interrupted' = 'failed'): Promise<void> {
  await db.query(`UPDATE etl_sync_runs SET status = $3, finished_at = now(), error = $2 WHERE run_id = $1 AND status = 'running'`, [
    runId,
    error.slice(0, 4000),
    status,
  ]);
}

/** A companies run that would have marked too many companies deleted, and so changed nothing. */
export async function recordRefusal(
  db: Db,
  r: { runId: string; pages: number; fetched: number; restarts: number; wouldDelete: number; liveBefore: number; reason: string },
): Promise<void> {
  await db.query(
    `UPDATE etl_sync_runs SET status = 'refused', finished_at = now(), pages = $2, rows_fetched = $3, restarts = $4,
            rows_upserted = 0, rows_deleted = $5, live_before = $6, error = $7 WHERE run_id = $1`,
    [r.runId, r.pages, r.fetched, r.restarts, r.wouldDelete, r.liveBefore, r.reason.slice(0, 4000)],
  );
}

export async function getWatermark(db: Db, stream: EntityStream): Promise<Date | null> {
  const { rows } = await db.query<{ watermark: Date | null }>('SELECT watermark FROM etl_sync_state WHERE stream = $1', [stream]);
  return rows[0]?.watermark ?? null;
}

export async function setWatermark(db: Db, stream: EntityStream, watermark: Date, runId: string): Promise<void> {
  await db.query(
    `INSERT INTO etl_sync_state (stream, watermark, last_run_id) VALUES ($1, $2, $3)
     ON CONFLICT (stream) DO UPDATE SET watermark = EXCLUDED.watermark, last_run_id = EXCLUDED.last_run_id, updated_at = now()`,
    [stream, watermark, runId],
  );
}

/** What a run's body gets from withStreamRun. */
export interface StreamRun {
  runId: string;
  lock: RedisLock;
  /** Aborts when the worker shuts down: the run stops and is recorded as interrupted. */
  signal: AbortSignal | undefined;
  /** Throws if the run no longer owns the stream (lost its Redis lock or its Postgres lease). */
  assertOwned(): void;
  /**
   * The run's final transaction, fenced: it locks the stream's lease row, and commits only if the
   * lease and the Redis lock are still this run's and the worker is not shutting down.
   */
  mergeTransaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T>;
}

/**
 * The frame every companies/tickets run shares: one run per stream at a time across all processes
 * (a renewed Redis lock, plus a lease in Postgres that fences the merge; a second caller is delayed,
 * not failed), the previous run abandoned only once its lease expired, and the run marked failed —
 * or interrupted, on shutdown — if `body` throws.
 */
export async function withStreamRun(
  ctx: AppContext,
  stream: EntityStream,
  signal: AbortSignal | undefined,
  body: (run: StreamRun) => Promise<SyncRunResult>,
): Promise<SyncRunResult> {
  const { workspace: me } = await connectIntercom(ctx);
  // Leased like the job itself: a killed holder's run is picked up again after about
  // ETL_LOCK_DURATION_MS, and then finds the lock free instead of waiting out a fixed 30 s. At least
  // 3 s, as the lock renews every third of its lease but not more often than once a second.
  const leaseMs = Math.max(3_000, ctx.config.worker.lockDurationMs);
  const lock = new RedisLock(ctx.redis, `${ctx.config.queuePrefix}:${stream}-sync:${me.workspaceId}`, leaseMs);
  if (!(await lock.acquire())) throw new NotReadyError(`another process is syncing ${stream}`, 5_000);
  const runId = newRunId(stream);
  const lease = new StreamLease(ctx.pool, stream, runId);
  try {
    const holder = await withTransaction(ctx.pool, async (client) => {
      const live = await lease.acquire(client);
      if (!live) await abandonStaleRuns(client, stream);
      return live;
    });
    if (holder) {
      throw new NotReadyError(
        `${stream} run ${holder.holder} still holds the stream (its lease runs until ${holder.expiresAt.toISOString()}; it lost its Redis lock, or runs under another ETL_QUEUE_PREFIX); waiting for it to end`,
        5_000,
      );
    }
  } catch (err) {
    await lock.release();
    throw err;
  }
  const lost = (): string | null => lease.lost ?? (lock.isLost ? 'it lost its Redis lock (Redis unreachable past the lock lease?)' : null);
  const run: StreamRun = {
    runId,
    lock,
    signal,
    assertOwned() {
      const why = lost();
      if (why) throw new RetriableError(`This ${stream} run no longer owns the stream: ${why}. It merged nothing; the run starts again.`);
    },
    mergeTransaction: (fn) =>
      withTransaction(ctx.pool, async (client) => {
        signal?.throwIfAborted();
        const why = (await lease.verify(client)) ?? ((await lock.confirm().catch(() => false)) ? null : 'it lost its Redis lock');
        if (why) throw new RetriableError(`This ${stream} run no longer owns the stream: ${why}. It merged nothing; the run starts again.`);
        const result = await fn(client);
        signal?.throwIfAborted();
        return result;
      }),
  };
  try {
    return await body(run);
  } catch (err) {
    const interrupted = signal?.aborted === true;
    const message = interrupted ? 'interrupted: the worker shut down (nothing was merged; the job is retried)' : describeError(err);
    await failRun(ctx.pool, runId, message, interrupted ? 'interrupted' : 'failed').catch(() => {});
    throw err;
  } finally {
    await lease.release();
    await lock.release();
  }
}

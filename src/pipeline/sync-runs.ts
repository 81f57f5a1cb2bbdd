import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { connectIntercom, type AppContext } from '../context.js';
import { describeError, NotReadyError } from '../errors.js';
import { RedisLock } from './redis-lock.js';

/** Bookkeeping of companies/tickets runs (`etl_sync_runs`) and incremental watermarks (`etl_sync_state`). */

export type EntityStream = 'companies' | 'tickets';
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

export function newRunId(stream: EntityStream): string {
  return `${stream}-${new Date().toISOString().replace(/[-:.]/g, '')}-${randomBytes(3).toString('hex')}`;
}

/**
 * Called under the stream's lock: any run still marked running is from a process that died; mark it
 * failed and drop its staged pages (an interrupted run changes nothing).
 */
export async function abandonStaleRuns(db: Db, stream: EntityStream): Promise<void> {
  const { rows } = await db.query<{ run_id: string }>(
    `UPDATE etl_sync_runs SET status = 'failed', finished_at = now(), error = 'interrupted (the process running it stopped)'
      WHERE stream = $1 AND status = 'running' RETURNING run_id`,
    [stream],
  );
  if (rows.length > 0) await db.query('DELETE FROM etl_entity_stage WHERE run_id = ANY($1)', [rows.map((r) => r.run_id)]);
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

export async function failRun(db: Db, runId: string, error: string): Promise<void> {
  await db.query(`UPDATE etl_sync_runs SET status = 'failed', finished_at = now(), error = $2 WHERE run_id = $1 AND status = 'running'`, [
    runId,
    error.slice(0, 4000),
  ]);
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

/**
 * The frame every companies/tickets run shares: one run per stream at a time across all processes
 * (a renewed Redis lock; a second caller is delayed, not failed), stale runs of dead processes
 * abandoned, and the run marked failed if `body` throws.
 */
export async function withStreamRun(
  ctx: AppContext,
  stream: EntityStream,
  body: (runId: string, lock: RedisLock) => Promise<SyncRunResult>,
): Promise<SyncRunResult> {
  const me = await connectIntercom(ctx);
  // Leased like the job itself: a killed holder's run is picked up again after about
  // ETL_LOCK_DURATION_MS, and then finds the lock free instead of waiting out a fixed 30 s. At least
  // 3 s, as the lock renews every third of its lease but not more often than once a second.
  const leaseMs = Math.max(3_000, ctx.config.worker.lockDurationMs);
  const lock = new RedisLock(ctx.redis, `${ctx.config.queuePrefix}:${stream}-sync:${me.workspaceId}`, leaseMs);
  if (!(await lock.acquire())) throw new NotReadyError(`another process is syncing ${stream}`, 5_000);
  const runId = newRunId(stream);
  try {
    await abandonStaleRuns(ctx.pool, stream);
    return await body(runId, lock);
  } catch (err) {
    await failRun(ctx.pool, runId, describeError(err)).catch(() => {});
    throw err;
  } finally {
    await lock.release();
  }
}

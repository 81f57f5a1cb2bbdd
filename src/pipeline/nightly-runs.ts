import type pg from 'pg';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';

/**
 * Bookkeeping of nightly runs (`etl_nightly_runs`): every attempt is recorded, so a night that
 * failed — or is still being retried — is visible in `status`, not only in the logs.
 */

export type NightlyStatus = 'running' | 'retrying' | 'completed' | 'failed';

export interface NightlyRun {
  runId: string;
  status: NightlyStatus;
  attempts: number;
  startedAt: Date;
  finishedAt: Date | null;
  windowsQueued: number | null;
  entityJobs: number | null;
  error: string | null;
}

export async function startNightlyAttempt(pool: pg.Pool, runId: string): Promise<void> {
  await pool.query(
    `INSERT INTO etl_nightly_runs (run_id, status, attempts) VALUES ($1, 'running', 1)
     ON CONFLICT (run_id) DO UPDATE SET status = 'running', attempts = etl_nightly_runs.attempts + 1`,
    [runId],
  );
}

export async function finishNightlyRun(
  pool: pg.Pool,
  runId: string,
  result: { status: 'completed'; windowsQueued: number; entityJobs: number } | { status: 'retrying' | 'failed'; error: string },
): Promise<void> {
  if (result.status === 'completed') {
    await pool.query(
      `UPDATE etl_nightly_runs SET status = 'completed', finished_at = now(), windows_queued = $2, entity_jobs = $3 WHERE run_id = $1`,
      [runId, result.windowsQueued, result.entityJobs],
    );
    return;
  }
  await pool.query(
    `INSERT INTO etl_nightly_runs (run_id, status, attempts, error, finished_at) VALUES ($1, $2, 1, $3, CASE WHEN $2 = 'failed' THEN now() END)
     ON CONFLICT (run_id) DO UPDATE SET status = $2, error = $3, finished_at = CASE WHEN $2 = 'failed' THEN now() END`,
    [runId, result.status, result.error.slice(0, 4000)],
  );
}

/**
 * The same bookkeeping when Postgres itself is what failed: the record is best effort, the log
 * line is not lost.
 */
export async function recordNightlyQuietly(log: Logger, what: () => Promise<void>): Promise<void> {
  try {
    await what();
  } catch (err) {
    log.warn({ err: describeError(err) }, 'could not record the nightly run in Postgres');
  }
}

/** The latest run and the latest failed run (null when none). */
export async function nightlyStatus(pool: pg.Pool): Promise<{ last: NightlyRun | null; lastFailed: NightlyRun | null }> {
  const { rows } = await pool.query<{
    run_id: string;
    status: NightlyStatus;
    attempts: number;
    started_at: Date;
    finished_at: Date | null;
    windows_queued: number | null;
    entity_jobs: number | null;
    error: string | null;
    kind: 'last' | 'failed';
  }>(
    `(SELECT *, 'last' AS kind FROM etl_nightly_runs ORDER BY started_at DESC LIMIT 1)
     UNION ALL
     (SELECT *, 'failed' AS kind FROM etl_nightly_runs WHERE status = 'failed' ORDER BY started_at DESC LIMIT 1)`,
  );
  const toRun = (r: (typeof rows)[number]): NightlyRun => ({
    runId: r.run_id,
    status: r.status,
    attempts: r.attempts,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    windowsQueued: r.windows_queued,
    entityJobs: r.entity_jobs,
    error: r.error,
  });
  const last = rows.find((r) => r.kind === 'last');
  const failed = rows.find((r) => r.kind === 'failed');
  return { last: last ? toRun(last) : null, lastFailed: failed ? toRun(failed) : null };
}

import type { AppContext } from '../context.js';
import { connectIntercom } from '../context.js';
import { describeError } from '../errors.js';
import * as ledger from '../pipeline/export-ledger.js';
import { failExportWindow, releaseFinishedOrphans } from '../pipeline/advance-export.js';
import { dispatchWindows } from '../pipeline/dispatch-windows.js';
import { windowLauncher } from './export-window.js';
import { formatWindow } from '../pipeline/time-windows.js';
import { windowLogFields } from '../pipeline/window-log.js';
import type { JobDefinition } from './job-definition.js';
import { runJob } from './job-outcome.js';

/** Re-queues of one window before it fails: a window that keeps killing its worker must not loop. */
const MAX_REQUEUES = 5;

export interface ReconcileResult {
  unfinished: number;
  requeued: number;
  /** Windows failed because they had lost their job MAX_REQUEUES times already. */
  gaveUp: number;
  orphansReleased: number;
  /** Windows waiting in the ledger that it started into free slots. */
  dispatched: number;
}

/**
 * The fleet's self-healing, run by a Job Scheduler on the control queue every
 * ETL_RECONCILE_INTERVAL_MS by whichever worker is up: every window the ledger says is unfinished
 * must have a live job in the queue. One that has none — removed from Redis, failed as stalled
 * more often than BullMQ allows (its `removeOnFail` then deletes it), or finished while the ledger
 * says otherwise — gets its job back; the window resumes from the ledger (its Intercom job id is
 * kept, so a window whose process died mid-load downloads the same export again). Jobs that are
 * merely stalled are BullMQ's: its stalled check (in every worker) returns them to the queue.
 * Windows waiting in the ledger for a slot (queued, not dispatched) need no job and are left to
 * the dispatcher, which it runs too. It also frees orphaned export slots whose Intercom job has finished.
 */
export async function reconcileWindows(ctx: AppContext): Promise<ReconcileResult> {
  const session = ctx.config.intercom.token ? await connectIntercom(ctx) : null; // the slots need the workspace id
  const launcher = windowLauncher(ctx);
  // Untouched for one interval: a window the planner is queueing right now is not "lost".
  const rows = await ledger.unfinishedWindows(ctx.pool, ctx.config.worker.reconcileIntervalMs);
  const queue = ctx.queues.reports;
  const lost: ledger.LedgerRow[] = [];
  for (let i = 0; i < rows.length; i += 500) {
    const batch = rows.slice(i, i + 500);
    const pipeline = ctx.redis.pipeline();
    for (const r of batch) pipeline.hmget(queue.toKey(ledger.windowJobId(r)), 'timestamp', 'finishedOn');
    const results = (await pipeline.exec()) ?? [];
    for (const [j, r] of batch.entries()) {
      const [err, fields] = results[j] ?? [null, null];
      if (err) throw err;
      const [timestamp, finishedOn] = (fields as Array<string | null> | null) ?? [null, null];
      if (timestamp !== null && finishedOn === null) continue; // a live job: waiting, delayed or active
      if (timestamp !== null) await queue.remove(ledger.windowJobId(r)); // a finished leftover would block its id
      lost.push(r);
    }
  }
  const requeue: ledger.LedgerRow[] = [];
  for (const r of lost) {
    if (r.requeues < MAX_REQUEUES) {
      await ledger.recordRequeued(ctx.pool, r);
      requeue.push(r);
      continue;
    }
    const message = `${r.datasetId} ${formatWindow(r.window)} lost its queue job ${r.requeues + 1} times (stalled out, removed from Redis, or its worker died mid-${r.status}); failing it instead of queueing it again. Look for crashed or killed workers (out of memory?) in their logs, then run backfill for this range.`;
    ctx.log.error(windowLogFields(r, r.intercomJobId), message);
    await failExportWindow(ctx, r, message, launcher);
  }
  if (requeue.length > 0) {
    await launcher.start(requeue);
    ctx.log.warn(
      {
        requeued: requeue.length,
        windows: requeue.slice(0, 10).map((r) => `${r.datasetId} ${formatWindow(r.window)} (${r.status})`),
      },
      'reconciler: windows had no job in the queue; queued them again',
    );
  }
  let orphansReleased = 0;
  let dispatched = 0;
  if (session) {
    try {
      orphansReleased = await releaseFinishedOrphans(ctx, launcher);
    } catch (err) {
      ctx.log.warn({ err: describeError(err) }, 'reconciler: could not check orphaned export slots; their leases still expire');
    }
    dispatched = await dispatchWindows(ctx, session, launcher);
  }
  return { unfinished: rows.length, requeued: requeue.length, gaveUp: lost.length - requeue.length, orphansReleased, dispatched };
}

export const reconcileWindowsJob: JobDefinition<Record<string, never>> = {
  name: 'reconcile-windows',
  queue: 'control',
  parse: () => ({}),
  async process(ctx, job, token) {
    return runJob(
      job,
      token,
      ctx.queues.control,
      () => reconcileWindows(ctx),
      async (message) => {
        ctx.log.error({ err: message }, 'reconciler run failed');
      },
    );
  },
};

import type { JobsOptions } from 'bullmq';
import type { AppContext } from '../context.js';
import { nightlySyncJob, nightlySyncJobOptions } from '../jobs/nightly-sync.js';
import { reconcileWindowsJob } from '../jobs/reconcile-windows.js';
import { refreshRollupsJob } from '../jobs/refresh-rollups.js';

/** A schedule, declared as data. Ids never change: a renamed id would run twice. */
export interface ScheduleDefinition {
  id: string;
  queue: 'control';
  jobName: string;
  /** A cron pattern (with `tz`), or `every` ms. */
  pattern?: string;
  tz?: string;
  every?: number;
  opts: JobsOptions;
}

/**
 * The nightly sync (when ETL_SCHEDULE_ENABLED), the reconciler (always: it is what heals a
 * fleet of workers that nobody watches) and the daily rollups' refresh (always).
 */
export function scheduleDefinitions(ctx: AppContext): ScheduleDefinition[] {
  const { cron, timezone, enabled } = ctx.config.schedule;
  const defs: ScheduleDefinition[] = [
    {
      id: 'reconcile-windows',
      queue: 'control',
      jobName: reconcileWindowsJob.name,
      every: ctx.config.worker.reconcileIntervalMs,
      // A failed run is simply the next one's work; keep a few for inspection.
      opts: { removeOnComplete: 10, removeOnFail: 10 },
    },
    {
      // Batches the daily rollups' refreshes: once per interval for all windows loaded meanwhile.
      id: 'refresh-rollups',
      queue: 'control',
      jobName: refreshRollupsJob.name,
      every: ctx.config.rollups.refreshIntervalMs,
      opts: { removeOnComplete: 10, removeOnFail: 10 },
    },
  ];
  if (enabled) {
    defs.push({
      id: 'nightly-sync',
      queue: 'control',
      jobName: nightlySyncJob.name,
      pattern: cron,
      tz: timezone,
      opts: nightlySyncJobOptions(ctx.config.worker.attempts),
    });
  }
  return defs;
}

/**
 * Upserts every declared schedule (BullMQ Job Schedulers) and removes schedulers no longer
 * declared. Idempotent; every worker process may call it at start-up.
 */
export async function syncSchedules(ctx: AppContext): Promise<ScheduleDefinition[]> {
  const defs = scheduleDefinitions(ctx);
  const queue = ctx.queues.control;
  for (const d of defs) {
    const repeat = d.every !== undefined ? { every: d.every } : { pattern: d.pattern!, tz: d.tz! };
    await queue.upsertJobScheduler(d.id, repeat, { name: d.jobName, data: {}, opts: d.opts });
  }
  const wanted = new Set(defs.map((d) => d.id));
  for (const s of await queue.getJobSchedulers()) {
    const id = s.key ?? (s as { id?: string }).id;
    if (id && !wanted.has(id)) await queue.removeJobScheduler(id);
  }
  return defs;
}

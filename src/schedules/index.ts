import type { AppContext } from '../context.js';
import { nightlySyncJob } from '../jobs/nightly-sync.js';

/** A schedule, declared as data. Ids never change: a renamed id would run twice. */
export interface ScheduleDefinition {
  id: string;
  queue: 'control';
  jobName: string;
  pattern: string;
  tz: string;
}

export function scheduleDefinitions(ctx: AppContext): ScheduleDefinition[] {
  const { cron, timezone, enabled } = ctx.config.schedule;
  if (!enabled) return [];
  return [{ id: 'nightly-sync', queue: 'control', jobName: nightlySyncJob.name, pattern: cron, tz: timezone }];
}

/**
 * Upserts every declared schedule (BullMQ Job Schedulers) and removes schedulers no longer
 * declared. Idempotent; every worker process may call it at start-up.
 */
export async function syncSchedules(ctx: AppContext): Promise<ScheduleDefinition[]> {
  const defs = scheduleDefinitions(ctx);
  const queue = ctx.queues.control;
  for (const d of defs) {
    await queue.upsertJobScheduler(
      d.id,
      { pattern: d.pattern, tz: d.tz },
      { name: d.jobName, data: {}, opts: { removeOnComplete: 100, removeOnFail: 100 } },
    );
  }
  const wanted = new Set(defs.map((d) => d.id));
  for (const s of await queue.getJobSchedulers()) {
    const id = s.key ?? (s as { id?: string }).id;
    if (id && !wanted.has(id)) await queue.removeJobScheduler(id);
  }
  return defs;
}

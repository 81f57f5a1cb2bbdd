import { connectIntercom, type AppContext } from '../context.js';
import { migrate } from '../db/migrate.js';
import { startWorkers } from '../jobs/workers.js';
import { syncSchedules } from '../schedules/index.js';
import { EXIT_OK, onShutdownSignal } from './command-runner.js';

/**
 * `worker`: long-running workers plus the schedules. Start as many as you like, on as many hosts
 * as you like, against the same Redis and Postgres. SIGTERM/SIGINT: stop taking jobs, let running
 * ones finish (up to 30 s; a forced job is retried by another worker), then exit.
 */
export async function workerCommand(ctx: AppContext): Promise<number> {
  const { stopped } = onShutdownSignal();
  await migrate(ctx.pool, ctx.config.pgSchema);
  const { workspace: me } = await connectIntercom(ctx);
  const schedules = await syncSchedules(ctx);
  const workers = startWorkers(ctx);
  ctx.log.info(
    {
      workspace: me.workspaceId,
      concurrency: ctx.config.worker.concurrency,
      schedules: schedules.map((s) => `${s.id}: ${s.every !== undefined ? `every ${s.every} ms` : `${s.pattern} ${s.tz}`}`),
      queuePrefix: ctx.config.queuePrefix,
    },
    'worker started',
  );
  const signal = await stopped;
  ctx.log.info({ signal }, 'shutting down');
  await workers.close();
  return EXIT_OK;
}

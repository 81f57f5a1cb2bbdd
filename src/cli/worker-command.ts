import { requireHttpAuth } from '../config.js';
import { connectIntercom, type AppContext } from '../context.js';
import { migrateWarehouse } from '../sinks/bi-views.js';
import { startWorkers } from '../jobs/workers.js';
import { jobsFinished } from '../metrics.js';
import { syncSchedules } from '../schedules/index.js';
import { EXIT_OK, onShutdownSignal } from './command-runner.js';

/**
 * `worker`: long-running workers plus the schedules. Start as many as you like, on as many hosts
 * as you like, against the same Redis and Postgres. SIGTERM/SIGINT: stop taking jobs, let running
 * ones finish (up to ETL_SHUTDOWN_TIMEOUT_MS, 30 s by default; a forced job is retried by another
 * worker), then exit — runCommand exits anyway shortly after that time, even if Redis is down.
 */
export async function workerCommand(ctx: AppContext): Promise<number> {
  // Refuse an unprotected non-loopback HTTP surface before touching anything.
  if (ctx.config.http.port !== 0) requireHttpAuth(ctx.config);
  const { stopped } = onShutdownSignal();
  await migrateWarehouse(ctx.pool, ctx.config);
  const { workspace: me } = await connectIntercom(ctx);
  const schedules = await syncSchedules(ctx);
  const workers = startWorkers(ctx);
  for (const w of workers.workers) {
    w.on('completed', (job) => jobsFinished.inc({ queue: w.name, job_name: job.name, outcome: 'completed' }));
    // 'failed' fires on every failed attempt; count the job once, when it will not be retried
    // (BullMQ sets finishedOn only then, also for an unrecoverable error before the last attempt).
    w.on('failed', (job) => {
      if (job?.finishedOn) jobsFinished.inc({ queue: w.name, job_name: job.name, outcome: 'failed' });
    });
  }
  // Started after the workers so that /readyz never says ready before they run; stopped last so
  // that /healthz keeps answering while the workers drain.
  // Loaded only here: the other commands need neither the HTTP framework nor bull-board.
  const { startHttpServer } = await import('../server/http-server.js');
  const http = await startHttpServer(ctx, { workersRunning: () => workers.workers.every((w) => w.isRunning() && !w.closing) }).catch(
    async (err: unknown) => {
      await workers.close();
      throw err;
    },
  );
  ctx.log.info(
    {
      workspace: me.workspaceId,
      concurrency: ctx.config.worker.concurrency,
      schedules: schedules.map((s) => `${s.id}: ${s.every !== undefined ? `every ${s.every} ms` : `${s.pattern} ${s.tz}`}`),
      queuePrefix: ctx.config.queuePrefix,
      http: http?.url ?? 'disabled',
    },
    'worker started',
  );
  const signal = await stopped;
  ctx.log.info({ signal, drainMs: ctx.config.worker.shutdownTimeoutMs }, 'shutting down');
  await workers.close();
  await http?.close();
  return EXIT_OK;
}

import { connectIntercom, type AppContext } from '../context.js';
import { migrate } from '../db/migrate.js';
import { startWorkers } from '../jobs/workers.js';
import { planReportExports, type PlanRequest } from '../pipeline/plan-exports.js';
import { waitForWindows, type RunSummary, type WindowProgress } from '../pipeline/wait-for-windows.js';

export interface RunReportsOptions {
  /** Where progress lines go; default stderr. */
  progress?: (line: string) => void;
  /** Run workers in this process (default true). False: only queue and wait for other workers. */
  inProcessWorkers?: boolean;
  signal?: AbortSignal;
}

/**
 * backfill and `sync reports`: migrate, check the token, plan and queue the windows, run workers
 * in-process until every window is loaded or failed, and return the summary. Other worker
 * processes on the same Redis share the work.
 */
export async function runReports(ctx: AppContext, request: PlanRequest, options: RunReportsOptions = {}): Promise<RunSummary> {
  const say = options.progress ?? ((line: string) => process.stderr.write(`${line}\n`));
  await migrate(ctx.pool, ctx.config.pgSchema);
  const me = await connectIntercom(ctx);
  say(`Workspace ${me.workspaceId} (${me.workspaceName}, region ${me.region}); schema "${ctx.config.pgSchema}".`);
  const plan = await planReportExports(ctx, request);
  for (const w of plan.warnings) say(`warning: ${w}`);
  const datasetCount = new Set(plan.windows.map((w) => w.datasetId)).size;
  say(
    `Queued ${plan.windows.length} window(s) of ${datasetCount} dataset(s)${plan.skipped ? `; ${plan.skipped} already loaded, skipped` : ''}.`,
  );
  const workers = options.inProcessWorkers === false ? null : startWorkers(ctx);
  try {
    return await waitForWindows(ctx, plan.windows, {
      onProgress: (p) => say(formatProgress(p)),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } finally {
    await workers?.close();
  }
}

export function formatProgress(p: WindowProgress): string {
  return `reports: ${p.loaded}/${p.total} loaded, ${p.failed} failed, ${p.exporting} exporting, ${p.loading} loading, ${p.queued} queued`;
}

export function formatSummary(s: RunSummary): string {
  const lines = [`Done in ${(s.ms / 1000).toFixed(1)} s: ${s.progress.loaded} window(s) loaded, ${s.progress.failed} failed.`];
  if (s.datasets.length > 0) {
    lines.push('', pad('dataset', 34) + pad('loaded', 8) + pad('failed', 8) + pad('rows', 12) + 'bytes');
    for (const d of s.datasets) {
      lines.push(
        pad(d.datasetId, 34) +
          pad(String(d.windowsLoaded), 8) +
          pad(String(d.windowsFailed), 8) +
          pad(String(d.rows), 12) +
          String(d.bytes),
      );
    }
  }
  if (s.failures.length > 0) {
    lines.push('', 'Failed windows:');
    for (const f of s.failures.slice(0, 20)) lines.push(`  ${f.datasetId} ${f.window}: ${f.error}`);
    if (s.failures.length > 20) lines.push(`  … and ${s.failures.length - 20} more (see \`intercom-etl status\`).`);
  }
  return lines.join('\n');
}

export function pad(s: string, n: number): string {
  return s.length >= n ? `${s} ` : s + ' '.repeat(n - s.length);
}

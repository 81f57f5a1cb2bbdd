import type { AppContext } from '../context.js';
import { unmigratedSchemaProblem } from '../db/migrate.js';
import { FatalError } from '../errors.js';
import { failedWindowSpans } from '../pipeline/status-coverage.js';
import { runSummaryFields } from '../pipeline/run-sync.js';
import { EXIT_FAILED, EXIT_OK, onShutdownSignal, type CommandResult } from './command-runner.js';
import { formatSummary } from './format.js';
import { runReports } from './run-reports.js';

/**
 * `retry [--dataset ID]`: re-runs every failed window of every (or the given) dataset, whatever its
 * dates, with its own bounds — `backfill --failed-only` over the span of the failed windows, so the
 * planner decides exactly as it would there (a failed window that loaded windows cover since is
 * left alone).
 */
export async function retryCommand(ctx: AppContext, opts: { dataset: string[] }): Promise<number | CommandResult> {
  const problem = await unmigratedSchemaProblem(ctx.pool, ctx.config.pgSchema);
  if (problem) throw new FatalError(problem);
  const spans = await failedWindowSpans(ctx.pool, opts.dataset);
  if (spans.length === 0) {
    process.stdout.write(`No failed windows${opts.dataset.length > 0 ? ` of ${opts.dataset.join(', ')}` : ''}: nothing to retry.\n`);
    return EXIT_OK;
  }
  for (const s of spans) process.stdout.write(`retry: ${s.datasetId}: ${s.windows} failed window(s)\n`);
  const { signal } = onShutdownSignal();
  const summary = await runReports(
    ctx,
    {
      mode: 'backfill',
      range: { start: Math.min(...spans.map((s) => s.span.start)), end: Math.max(...spans.map((s) => s.span.end)) },
      datasetIds: spans.map((s) => s.datasetId),
      failedOnly: true,
    },
    { signal },
  );
  process.stdout.write(`${formatSummary(summary)}\n`);
  return { code: summary.progress.failed === 0 ? EXIT_OK : EXIT_FAILED, summary: runSummaryFields({ reports: summary, entities: [] }) };
}

import type { AppContext } from '../context.js';
import type { PlanRequest } from '../pipeline/plan-exports.js';
import type { RunSummary } from '../pipeline/wait-for-windows.js';
import { runSync } from './run-sync.js';

export interface RunReportsOptions {
  /** Where progress lines go; default stderr. */
  progress?: (line: string) => void;
  signal?: AbortSignal;
}

/**
 * backfill: plan and queue the windows of `request`, run workers in-process until every window is
 * loaded or failed (other worker processes on the same Redis share the work), return the summary.
 */
export async function runReports(ctx: AppContext, request: PlanRequest, options: RunReportsOptions = {}): Promise<RunSummary> {
  const say = options.progress ?? ((line: string) => process.stderr.write(`${line}\n`));
  const summary = await runSync(
    ctx,
    { reports: request, entities: [] },
    say,
    options.signal,
    options.progress ? undefined : process.stderr,
  );
  return summary.reports!;
}

import type { AppContext } from '../context.js';
import type { PlanRequest } from '../pipeline/plan-exports.js';
import type { RunSummary } from '../pipeline/wait-for-windows.js';
import { runSyncCommand } from './run-sync.js';

export interface RunReportsOptions {
  /** Where the operator's lines go, one per progress change; default stdout, with the progress line redrawn on a terminal. */
  progress?: (line: string) => void;
  signal?: AbortSignal;
}

/**
 * backfill: plan and queue the windows of `request`, run workers in-process until every window is
 * loaded or failed (other worker processes on the same Redis share the work), return the summary.
 */
export async function runReports(ctx: AppContext, request: PlanRequest, options: RunReportsOptions = {}): Promise<RunSummary> {
  const summary = await runSyncCommand(
    ctx,
    { reports: request, entities: [] },
    {
      ...(options.progress ? { say: options.progress } : { progressStream: process.stdout }),
      ...(options.signal ? { signal: options.signal } : {}),
    },
  );
  return summary.reports!;
}

import type { AppContext } from '../context.js';
import { syncJobs } from '../jobs/sync-jobs.js';
import type { PlanRequest } from '../pipeline/plan-exports.js';
import { runSync, type SyncEvents, type SyncRequest, type SyncSummary } from '../pipeline/run-sync.js';
import { isoDay } from '../pipeline/time-windows.js';
import { formatRollupUpdate } from '../pipeline/update-rollups.js';
import type { WindowKey } from '../pipeline/export-ledger.js';
import { describeSizing, formatProgress, formatSummary } from './format.js';
import { progressPrinter } from './progress-printer.js';

export interface RunSyncOptions {
  /** Where the lines for the operator go; default stdout. */
  say?: (line: string) => void;
  signal?: AbortSignal;
  /** Where the progress line goes (redrawn on a terminal, every 10 s otherwise); default: `say`, a line per change. */
  progressStream?: NodeJS.WritableStream & { isTTY?: boolean };
}

/** Writes a line to stdout: the operator's output (logs are JSON lines on stderr). */
export const sayOnStdout = (line: string): void => void process.stdout.write(`${line}\n`);

/**
 * sync, backfill, retry and the demo: the pipeline's run (src/pipeline/run-sync.ts) on the job
 * layer's BullMQ jobs and workers, printing what it does for the operator.
 */
export async function runSyncCommand(ctx: AppContext, request: SyncRequest, options: RunSyncOptions = {}): Promise<SyncSummary> {
  const say = options.say ?? sayOnStdout;
  // A terminal or log stream gets the redrawn/periodic progress line; a caller's `say` gets a line per change.
  const printer = options.progressStream
    ? progressPrinter({ stream: options.progressStream, slots: ctx.config.reports.maxUnfinishedExports })
    : null;
  const events: SyncEvents = {
    connected: (me) => say(`Workspace ${me.workspaceId} (${me.workspaceName}, region ${me.region}); schema "${ctx.config.pgSchema}".`),
    planned: (plan, request, probeOf) => {
      if (probeOf !== null) {
        for (const d of plan.perDataset) say(`  ${describeSizing(d)}`);
        say(`Queued ${plan.windows.length} more window(s) of ${probeOf}, sized from its probe window.`);
        return;
      }
      for (const w of plan.warnings) say(`warning: ${w}`);
      for (const w of plan.widened) say(`note: ${w}`);
      const datasetCount = new Set(plan.windows.map((w) => w.datasetId)).size;
      say(resolvedRange(request, plan.windows));
      say(
        `Queued ${plan.windows.length} window(s) of ${datasetCount} dataset(s)${plan.skipped ? `; ${plan.skipped} already loaded, skipped` : ''}.`,
      );
      for (const d of plan.perDataset) say(`  ${describeSizing(d)}`);
    },
    progress: (p) => (printer ? printer.update(p) : say(formatProgress(p))),
    entityProgress: (_stream, line) => say(line),
    rollupsUpdated: (u) => say(formatRollupUpdate(u, ctx.config.biSchema)),
  };
  try {
    return await runSync(ctx, request, syncJobs(ctx), events, options.signal);
  } finally {
    printer?.done();
  }
}

/**
 * The days the run covers, as resolved (a nightly run's range depends on what each dataset has
 * loaded, a backfill's on --from/--to): what the operator should check before trusting a summary.
 */
function resolvedRange(request: PlanRequest, windows: WindowKey[]): string {
  const range =
    request.mode === 'backfill' && request.range
      ? request.range
      : windows.length > 0
        ? windows.reduce((r, w) => ({ start: Math.min(r.start, w.window.start), end: Math.max(r.end, w.window.end) }), windows[0]!.window)
        : null;
  if (!range) return 'Range: nothing to export (every dataset is loaded up to the end of yesterday, UTC).';
  const days = Math.round((range.end - range.start) / 86_400_000);
  return `Range: ${isoDay(range.start)} .. ${isoDay(range.end - 1)} (UTC, both days inclusive; ${days} day(s)).`;
}

export function formatSyncSummary(s: SyncSummary): string {
  const parts: string[] = [];
  if (s.reports) parts.push(formatSummary(s.reports));
  for (const e of s.entities) {
    if (e.result) {
      const r = e.result;
      const extra = r.stream === 'companies' ? `, ${r.deleted} marked deleted` : `, watermark now ${r.watermark}`;
      parts.push(
        `${e.stream}: ${r.fetched} fetched in ${r.pages} page(s), ${r.upserted} upserted${extra}${r.restarts ? `, ${r.restarts} restart(s)` : ''}.`,
      );
    } else {
      parts.push(`${e.stream}: FAILED: ${e.error}`);
    }
  }
  return parts.join('\n');
}

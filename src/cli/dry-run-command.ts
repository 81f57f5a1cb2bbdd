import type { AppContext } from '../context.js';
import { migrateWarehouse } from '../sinks/bi-views.js';
import type { PlanRequest } from '../pipeline/plan-exports.js';
import { previewReportExports } from '../pipeline/plan-preview.js';
import { isoDay } from '../pipeline/time-windows.js';
import { EXIT_OK } from './command-runner.js';
import { formatDuration, pad } from './format.js';

/**
 * `backfill --dry-run`: prints what the backfill would do and changes nothing (it creates the
 * schema if it is missing, so that the ledger can be read; no row, catalogue entry or job).
 */
export async function dryRunCommand(ctx: AppContext, request: PlanRequest): Promise<number> {
  await migrateWarehouse(ctx.pool, ctx.config);
  const preview = await previewReportExports(ctx, request);
  const out: string[] = ['Plan (dry run: nothing is queued or changed).'];
  if (request.range) {
    const days = Math.round((request.range.end - request.range.start) / 86_400_000);
    out.push(
      `Range: ${isoDay(request.range.start)} .. ${isoDay(request.range.end - 1)} (UTC, both days inclusive; ${days} day(s)); order: ${preview.order}.`,
    );
  }
  for (const w of preview.warnings) out.push(`warning: ${w}`);
  for (const n of preview.notes) out.push(`note: ${n}`);
  out.push(
    `${pad('dataset', 34)}${pad('window', 26)}${pad('layout', 8)}${pad('loaded', 8)}${pad('failed', 8)}${pad('running', 9)}${pad('missing', 9)}exports`,
  );
  for (const d of preview.perDataset) {
    const size =
      d.sizing === 'failed windows'
        ? 'the failed windows'
        : d.sizing === 'probe'
          ? '1 d probe, then auto'
          : d.sizing === 'auto'
            ? `${formatDuration(d.windowMs!)} (auto, ${Math.round(d.rowsPerDay ?? 0).toLocaleString('en')}/day)`
            : `${formatDuration(d.windowMs!)} (${d.sizing})`;
    const c = d.coverage;
    out.push(
      `${pad(d.datasetId, 34)}${pad(size, 26)}${pad(String(c.total), 8)}${pad(String(c.loaded), 8)}${pad(String(c.failed), 8)}${pad(String(c.inFlight), 9)}${pad(String(c.missing), 9)}${d.windows.length}${d.probeRest ? ' + the rest after the probe' : ''}`,
    );
  }
  const estimate =
    preview.estimateMs === null
      ? 'no export has finished yet, so there is no history to estimate the duration from'
      : `about ${formatHours(preview.estimateMs)} at ${ctx.config.reports.maxUnfinishedExports} exports at a time (from ${preview.estimateFrom} past exports)`;
  out.push(
    `Exports: ${preview.exports}${preview.probing > 0 ? ` (+ the rest of ${preview.probing} dataset(s), sized after their probe)` : ''}; ${estimate}.`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
  return EXIT_OK;
}

function formatHours(ms: number): string {
  const minutes = Math.max(1, Math.round(ms / 60_000));
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

import type { AppContext } from '../context.js';
import * as ledger from './export-ledger.js';
import { selectDatasets, windowSelection, type PlanRequest } from './plan-exports.js';
import { retryTransient } from './retry-transient.js';
import { planDatasetWindows, type DatasetWindowPlan } from './window-plan.js';

/**
 * `backfill --dry-run`: the plan a run would make, and how long it should take, without queueing
 * or changing anything (no catalogue refresh, no ledger rows, no jobs).
 */
export interface PlanPreview {
  perDataset: Array<DatasetWindowPlan & { timing: ledger.ExportTimings }>;
  warnings: string[];
  notes: string[];
  /** Exports of the planned windows (a probing dataset adds the rest of its range, sized after the probe). */
  exports: number;
  /** Datasets that would export a probe window first (no history to size windows from). */
  probing: number;
  /** Estimated duration in ms at the workspace's export concurrency; null without any history. */
  estimateMs: number | null;
  /** How many past exports the estimate comes from. */
  estimateFrom: number;
  order: 'newest-first' | 'oldest-first';
}

export async function previewReportExports(ctx: AppContext, req: PlanRequest): Promise<PlanPreview> {
  const cfg = ctx.config.reports;
  const listed = (await retryTransient(() => ctx.intercom.getDatasets())).map((d) => ({ datasetId: d.id }));
  const selectionWarnings: string[] = [];
  const datasets = selectDatasets(listed, req.datasetIds, cfg.includeDatasets, cfg.excludeDatasets, (w) => selectionWarnings.push(w));
  const now = req.now ?? Date.now();
  const perDataset: PlanPreview['perDataset'] = [];
  for (const ds of datasets) {
    const planned = await planDatasetWindows(ctx.pool, cfg, ds.datasetId, {
      mode: req.mode,
      ...(req.range ? { range: req.range } : {}),
      ...(req.windowMs !== undefined ? { windowMs: req.windowMs } : {}),
      selection: windowSelection(req),
      now,
    });
    perDataset.push({ ...planned, timing: await ledger.exportTimings(ctx.pool, ds.datasetId) });
  }
  // Datasets without history are estimated from the others' average.
  const known = perDataset.filter((d) => d.timing.samples > 0);
  const samples = known.reduce((n, d) => n + d.timing.samples, 0);
  const meanMs = samples > 0 ? known.reduce((sum, d) => sum + d.timing.meanMs * d.timing.samples, 0) / samples : null;
  let totalMs = 0;
  let exports = 0;
  for (const d of perDataset) {
    exports += d.windows.length;
    totalMs += d.windows.length * (d.timing.samples > 0 ? d.timing.meanMs : (meanMs ?? 0));
  }
  return {
    perDataset,
    warnings: [...selectionWarnings, ...perDataset.flatMap((d) => d.warnings)],
    notes: perDataset.flatMap((d) => d.notes),
    exports,
    probing: perDataset.filter((d) => d.probeRest !== null).length,
    estimateMs: meanMs === null ? null : totalMs / cfg.maxUnfinishedExports,
    estimateFrom: samples,
    order: req.order ?? 'newest-first',
  };
}

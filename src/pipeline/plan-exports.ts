import { createHash, randomUUID } from 'node:crypto';
import type { AppContext } from '../context.js';
import { ConfigError } from '../errors.js';
import { refreshBiSchema } from '../sinks/bi-views.js';
import { columnsForRequest, requestIdOf, syncCatalogue, type ReportDataset } from '../sinks/report-catalogue.js';
import { closeMatches } from './close-matches.js';
import * as ledger from './export-ledger.js';
import { retryTransient } from './retry-transient.js';
import type { TimeWindow } from './time-windows.js';
import { planDatasetWindows, type DatasetWindowPlan, type WindowPlanRequest, type WindowSelection } from './window-plan.js';

export interface PlanRequest {
  /** Datasets to export; empty or absent: every dataset allowed by ETL_DATASETS / ETL_EXCLUDE_DATASETS. */
  datasetIds?: string[];
  /** `backfill`: exactly `range`. `nightly`: the lookback days up to the end of yesterday (UTC), catching up from the last load. */
  mode: 'backfill' | 'nightly';
  range?: TimeWindow;
  /** Window size, or `auto`; default ETL_WINDOW. */
  windowMs?: number | 'auto';
  /** Only the parts of the range no loaded window covers (default: re-export everything, replacing rows). */
  onlyMissing?: boolean;
  /** Only the failed windows of the range, with their own bounds. */
  failedOnly?: boolean;
  /** Which windows go first: the newest (default; dashboards are useful early) or the oldest. */
  order?: 'newest-first' | 'oldest-first';
  /** Clock, for tests. */
  now?: number;
}

export interface Plan {
  /** Tags the ledger rows this plan reset (their progress is counted by it; see wait-for-windows.ts). */
  planId: string;
  /** The windows planned, newest first unless asked otherwise; they wait in the ledger for the dispatcher. */
  windows: ledger.WindowKey[];
  /** Windows of `windows` another plan had started and this one left running as they were. */
  inFlight: ledger.WindowKey[];
  /** Windows of the planned layouts that loaded windows already cover (left alone with onlyMissing). */
  skipped: number;
  warnings: string[];
  /** Ranges widened to whole previously loaded windows, one sentence each (for the summary). */
  widened: string[];
  /** Datasets exporting a probe window first (auto sizing without history): plan `rest` once it is loaded. */
  probes: Array<{ datasetId: string; rest: TimeWindow }>;
  /** What was decided per dataset. */
  perDataset: DatasetWindowPlan[];
  datasets: ReportDataset[];
}

/**
 * Fetches get_datasets and records it in the catalogue (new tables, new columns), then brings the
 * BI views up to date with them (a no-op when nothing changed).
 */
export async function refreshCatalogue(ctx: AppContext): Promise<ReportDataset[]> {
  const datasets = await retryTransient(() => ctx.intercom.getDatasets());
  const catalogue = await syncCatalogue(ctx.pool, ctx.config.pgSchema, datasets);
  await refreshBiSchema(ctx.pool, ctx.config);
  return catalogue;
}

/** How a plan request selects windows. */
export function windowSelection(req: PlanRequest): WindowSelection {
  return req.failedOnly ? 'failed' : req.onlyMissing ? 'missing' : 'all';
}

/**
 * Decides the windows to export (see window-plan.ts) and records them in the ledger, where they wait
 * (`queued`) for the dispatcher (dispatch-windows.ts) to start them into free export slots, in
 * plan_order (newest first unless asked otherwise). Running it twice queues nothing twice: in-flight
 * windows are kept as they are.
 */
export async function planReportExports(ctx: AppContext, req: PlanRequest): Promise<Plan> {
  const now = req.now ?? Date.now();
  const cfg = ctx.config.reports;
  const catalogue = await refreshCatalogue(ctx);
  const warnings: string[] = [];
  const datasets = selectDatasets(catalogue, req.datasetIds, cfg.includeDatasets, cfg.excludeDatasets, (w) => warnings.push(w));
  const planId = randomUUID();
  const plan: Plan = { planId, windows: [], inFlight: [], skipped: 0, warnings, widened: [], probes: [], perDataset: [], datasets };
  const request: WindowPlanRequest = {
    mode: req.mode,
    ...(req.range ? { range: req.range } : {}),
    ...(req.windowMs !== undefined ? { windowMs: req.windowMs } : {}),
    selection: windowSelection(req),
    now,
  };
  for (const ds of datasets) {
    const decided = await planDatasetWindows(ctx.pool, cfg, ds.datasetId, request);
    plan.perDataset.push(decided);
    plan.warnings.push(...decided.warnings);
    plan.widened.push(...decided.notes);
    if (decided.probeRest) plan.probes.push({ datasetId: ds.datasetId, rest: decided.probeRest });
    if (request.selection === 'missing') plan.skipped += decided.coverage.loaded;
    if (decided.windows.length === 0) continue;
    const requestIds = attributesToRequest(ds, cfg.attributeOverrides[ds.datasetId]);
    const hash = createHash('sha256').update(requestIds.join('\n')).digest('hex').slice(0, 16);
    const rows = await ledger.planWindows(ctx.pool, ds.datasetId, decided.windows, requestIds, hash, false, {
      planId,
      order: req.order ?? 'newest-first',
    });
    plan.windows.push(...rows.map((r) => ({ datasetId: r.datasetId, window: r.window })));
    plan.inFlight.push(...rows.filter((r) => r.planId !== planId).map((r) => ({ datasetId: r.datasetId, window: r.window })));
  }
  const newestFirst = (req.order ?? 'newest-first') === 'newest-first';
  plan.windows.sort((a, b) => (newestFirst ? b.window.start - a.window.start : a.window.start - b.window.start));
  for (const w of plan.warnings) ctx.log.warn(w);
  return plan;
}

/** The datasets a run exports: `--dataset`, else ETL_DATASETS minus ETL_EXCLUDE_DATASETS; unknown names are errors. */
export function selectDatasets<D extends { datasetId: string }>(
  all: D[],
  requested: string[] | undefined,
  include: string[],
  exclude: string[],
  warn: (message: string) => void = () => {},
): D[] {
  const known = new Map(all.map((d) => [d.datasetId, d]));
  // A dataset name Intercom does not list is a typo or a dataset that went away: say so, never run nothing.
  const checkKnown = (ids: string[], source: string): void => {
    const unknown = ids.filter((id) => !known.has(id));
    if (unknown.length === 0) return;
    throw new ConfigError(
      unknown.map((u) => {
        const close = closeMatches(u, [...known.keys()]);
        return `${source} names ${JSON.stringify(u)}, which is not a dataset Intercom lists${close.length > 0 ? ` (did you mean ${close.join(', ')}?)` : ''}. Intercom lists: ${[...known.keys()].join(', ')}.`;
      }),
    );
  };
  if (requested && requested.length > 0) {
    checkKnown(requested, '--dataset');
    return requested.map((id) => known.get(id)!);
  }
  checkKnown(include, 'ETL_DATASETS');
  // Excluding a dataset Intercom does not list changes nothing, but a typo there is worth a word.
  for (const id of exclude.filter((e) => !known.has(e))) {
    const close = closeMatches(id, [...known.keys()]);
    warn(
      `ETL_EXCLUDE_DATASETS names ${JSON.stringify(id)}, which Intercom does not list${close.length > 0 ? ` (did you mean ${close.join(', ')}?)` : ''}.`,
    );
  }
  return all.filter((d) => (include.length === 0 || include.includes(d.datasetId)) && !exclude.includes(d.datasetId));
}

/**
 * Every current attribute (or the configured list), always with the dataset's default time
 * attribute, as qualified ids where Intercom gave them.
 */
function attributesToRequest(ds: ReportDataset, override: string[] | undefined): string[] {
  const cols = override ? columnsForRequest(ds, override) : ds.columns.filter((c) => c.current);
  if (!cols.some((c) => c.attributeId === ds.defaultTimeAttributeId)) {
    const timeCol = ds.columns.find((c) => c.attributeId === ds.defaultTimeAttributeId);
    if (timeCol) cols.unshift(timeCol);
  }
  return cols.map(requestIdOf);
}

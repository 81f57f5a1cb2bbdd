import { createHash, randomUUID } from 'node:crypto';
import type { AppContext } from '../context.js';
import { FatalError } from '../errors.js';
import { columnsForRequest, requestIdOf, syncCatalogue, type ReportDataset } from '../sinks/report-catalogue.js';
import * as ledger from './export-ledger.js';
import { retryTransient } from './retry-transient.js';
import { DAY_MS, formatWindow, isoDay, splitIntoWindows, startOfUtcDay, type TimeWindow } from './time-windows.js';

export interface PlanRequest {
  /** Datasets to export; empty or absent: every dataset allowed by ETL_DATASETS / ETL_EXCLUDE_DATASETS. */
  datasetIds?: string[];
  /** `backfill`: exactly `range`. `nightly`: the lookback days up to the end of yesterday (UTC), catching up from the last load. */
  mode: 'backfill' | 'nightly';
  range?: TimeWindow;
  windowMs?: number;
  /** Skip windows that are already loaded (default: re-export them, replacing their rows). */
  onlyMissing?: boolean;
  /** Clock, for tests. */
  now?: number;
}

export interface Plan {
  /** Tags the ledger rows this plan reset (their progress is counted by it; see wait-for-windows.ts). */
  planId: string;
  windows: ledger.WindowKey[];
  /** Windows of `windows` another plan had started and this one left running as they were. */
  inFlight: ledger.WindowKey[];
  /** Windows left alone because they were loaded (onlyMissing). */
  skipped: number;
  warnings: string[];
  /** Ranges widened to whole previously loaded windows, one sentence each (for the summary). */
  widened: string[];
  datasets: ReportDataset[];
}

/** Fetches get_datasets and records it in the catalogue (new tables, new columns). */
export async function refreshCatalogue(ctx: AppContext): Promise<ReportDataset[]> {
  const datasets = await retryTransient(() => ctx.intercom.getDatasets());
  return syncCatalogue(ctx.pool, ctx.config.pgSchema, datasets);
}

/**
 * Decides the windows to export and records them in the ledger, where they wait (`queued`) for the
 * dispatcher (dispatch-windows.ts) to start them into free export slots, in plan_order. Running it
 * twice queues nothing twice: in-flight windows are kept as they are.
 */
export async function planReportExports(ctx: AppContext, req: PlanRequest): Promise<Plan> {
  const now = req.now ?? Date.now();
  const cfg = ctx.config.reports;
  const windowMs = req.windowMs ?? cfg.windowMs;
  const catalogue = await refreshCatalogue(ctx);
  const datasets = selectDatasets(catalogue, req.datasetIds, cfg.includeDatasets, cfg.excludeDatasets);
  const retentionStart = startOfUtcDay(now) - (cfg.retentionDays - 1) * DAY_MS;
  const warnings: string[] = [];
  const windows: ledger.WindowKey[] = [];
  const widened: string[] = [];
  const inFlight: ledger.WindowKey[] = [];
  const planId = randomUUID();
  let skipped = 0;

  for (const ds of datasets) {
    let range = req.mode === 'backfill' ? req.range! : await nightlyRange(ctx, ds.datasetId, now);
    const whole = await widenToLoadedWindows(ctx, ds.datasetId, range);
    if (whole.start !== range.start || whole.end !== range.end) {
      widened.push(
        `${ds.datasetId}: re-exporting ${formatWindow(whole)} instead of ${formatWindow(range)}, so that windows loaded before with another layout, whose timestamps' zone was not confirmed, are replaced whole.`,
      );
      range = whole;
    }
    if (range.start < retentionStart) {
      warnings.push(
        `${ds.datasetId}: start ${isoDay(range.start)} is before Intercom's ${cfg.retentionDays}-day reporting retention; starting at ${isoDay(retentionStart)} instead.`,
      );
      range = { start: retentionStart, end: range.end };
    }
    const planned = splitIntoWindows(range, windowMs);
    if (planned.length === 0) continue;
    const requestIds = attributesToRequest(ds, cfg.attributeOverrides[ds.datasetId]);
    const hash = createHash('sha256').update(requestIds.join('\n')).digest('hex').slice(0, 16);
    const rows = await ledger.planWindows(ctx.pool, ds.datasetId, planned, requestIds, hash, req.onlyMissing ?? false, { planId });
    const toRun = rows.filter((r) => r.status !== 'loaded');
    skipped += rows.length - toRun.length;
    windows.push(...toRun.map((r) => ({ datasetId: r.datasetId, window: r.window })));
    inFlight.push(...toRun.filter((r) => r.planId !== planId).map((r) => ({ datasetId: r.datasetId, window: r.window })));
  }
  for (const w of warnings) ctx.log.warn(w);
  return { planId, windows, inFlight, skipped, warnings, widened, datasets };
}

/** Widening steps at most; each step takes in the loaded windows sticking out of the range so far. */
const MAX_WIDENING_STEPS = 20;

/**
 * The range grown to whole previously loaded windows where needed. The loader replaces the rows of
 * a window that the range only partly overlaps (the layout changed) by their time value, which is
 * exact when the window's rows were read in a confirmed zone. A window whose zone was not confirmed
 * (ambiguous, fitting no candidate, or loaded before zones were checked) may hold values off by an
 * offset, so it is re-exported entirely: no row can then be removed that the plan does not bring back.
 */
async function widenToLoadedWindows(ctx: AppContext, datasetId: string, range: TimeWindow): Promise<TimeWindow> {
  let current = range;
  for (let step = 0; step < MAX_WIDENING_STEPS; step++) {
    const next = await ledger.untrustedLoadedWindowsSpan(ctx.pool, datasetId, current);
    if (!next || (next.start >= current.start && next.end <= current.end)) return current;
    current = { start: Math.min(current.start, next.start), end: Math.max(current.end, next.end) };
  }
  return current;
}

function selectDatasets(all: ReportDataset[], requested: string[] | undefined, include: string[], exclude: string[]): ReportDataset[] {
  const known = new Map(all.map((d) => [d.datasetId, d]));
  if (requested && requested.length > 0) {
    const unknown = requested.filter((id) => !known.has(id));
    if (unknown.length > 0) {
      throw new FatalError(
        `Unknown dataset ${unknown.map((u) => JSON.stringify(u)).join(', ')}. Intercom lists: ${[...known.keys()].join(', ')}.`,
      );
    }
    return requested.map((id) => known.get(id)!);
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

/**
 * The nightly range of one dataset: the last `lookbackDays` days up to the end of yesterday (UTC).
 * A dataset never loaded starts at ETL_START_DATE; one whose last loaded window ended earlier (the
 * worker was down) starts there, so missed nights are caught up.
 */
async function nightlyRange(ctx: AppContext, datasetId: string, now: number): Promise<TimeWindow> {
  const end = startOfUtcDay(now);
  const { rows } = await ctx.pool.query<{ last_end: Date | null }>(
    `SELECT max(window_end) AS last_end FROM etl_export_windows WHERE dataset_id = $1 AND loaded_at IS NOT NULL`,
    [datasetId],
  );
  const lastEnd = rows[0]?.last_end?.getTime() ?? null;
  const lookbackStart = end - ctx.config.reports.lookbackDays * DAY_MS;
  const start = lastEnd === null ? ctx.config.reports.startDate : Math.min(lookbackStart, startOfUtcDay(lastEnd));
  return { start: Math.min(start, end), end };
}

import type pg from 'pg';
import type { Config } from '../config.js';
import * as ledger from './export-ledger.js';
import { DAY_MS, formatWindow, isoDay, splitIntoWindows, startOfUtcDay, type TimeWindow } from './time-windows.js';
import { describeCoverage, subtractWindows, type Coverage, type KnownWindow } from './window-coverage.js';
import { windowForDensity } from './window-sizing.js';

/**
 * Which windows of one dataset a run exports, decided without writing anything (so `backfill
 * --dry-run` shows exactly what a run would do): the range (nightly lookback or the backfill's),
 * grown over loaded windows whose zone was not confirmed and clamped to the retention, the window
 * size (given, configured, or sized from the dataset's observed rows per day), and the selection
 * (every window, only the missing ones, or only the failed ones).
 */

export type WindowSelection = 'all' | 'missing' | 'failed';

export interface WindowPlanRequest {
  mode: 'backfill' | 'nightly';
  /** The backfill's range (ignored for nightly). */
  range?: TimeWindow;
  /** Window size for this run (`--window`, or `auto`); default ETL_WINDOW. */
  windowMs?: number | 'auto';
  selection: WindowSelection;
  now: number;
}

export type WindowSizing = 'requested' | 'configured' | 'nightly' | 'auto' | 'probe' | 'failed windows';

export interface DatasetWindowPlan {
  datasetId: string;
  /** The range after widening and clamping. */
  range: TimeWindow;
  /** Size of the planned layout (null for failed-only: the failed windows keep their own bounds). */
  windowMs: number | null;
  sizing: WindowSizing;
  /** Observed density the auto size came from (null: no history, or not auto). */
  rowsPerDay: number | null;
  /** The windows to export, oldest first. */
  windows: TimeWindow[];
  /**
   * Auto sizing without any history: only the newest day is exported first (the probe), and this
   * rest of the range is planned once the probe told how dense the dataset is.
   */
  probeRest: TimeWindow | null;
  /** The planned layout against what the ledger holds. */
  coverage: Coverage;
  notes: string[];
  warnings: string[];
}

/** Widening steps at most; each step takes in the loaded windows sticking out of the range so far. */
const MAX_WIDENING_STEPS = 20;

export async function planDatasetWindows(
  db: pg.Pool,
  cfg: Config['reports'],
  datasetId: string,
  req: WindowPlanRequest,
): Promise<DatasetWindowPlan> {
  const notes: string[] = [];
  const warnings: string[] = [];
  let range = req.mode === 'backfill' ? req.range! : await nightlyRange(db, cfg, datasetId, req.now);
  const whole = await widenToUntrustedWindows(db, datasetId, range);
  if (whole.start !== range.start || whole.end !== range.end) {
    notes.push(
      `${datasetId}: re-exporting ${formatWindow(whole)} instead of ${formatWindow(range)}, so that windows loaded before with another layout, whose timestamps' zone was not confirmed, are replaced whole.`,
    );
    range = whole;
  }
  const retentionStart = startOfUtcDay(req.now) - (cfg.retentionDays - 1) * DAY_MS;
  if (range.start < retentionStart) {
    warnings.push(
      `${datasetId}: start ${isoDay(range.start)} is before Intercom's ${cfg.retentionDays}-day reporting retention; starting at ${isoDay(retentionStart)} instead.`,
    );
    range = { start: retentionStart, end: Math.max(range.end, retentionStart) };
  }

  const known = range.end > range.start ? await ledger.windowsOverlapping(db, datasetId, range) : [];
  let sizing: WindowSizing;
  let windowMs: number;
  let rowsPerDay: number | null = null;
  const wanted = req.windowMs ?? cfg.windowMs;
  if (wanted !== 'auto') [sizing, windowMs] = [req.windowMs !== undefined ? 'requested' : 'configured', wanted];
  else if (req.mode === 'nightly' && req.windowMs === undefined) [sizing, windowMs] = ['nightly', DAY_MS];
  else {
    rowsPerDay = await ledger.observedRowsPerDay(db, datasetId);
    [sizing, windowMs] = rowsPerDay === null ? ['probe', DAY_MS] : ['auto', windowForDensity(rowsPerDay, cfg.targetRowsPerExport)];
  }
  const layout = splitIntoWindows(range, windowMs);
  const coverage = describeCoverage(layout, known);

  if (req.selection === 'failed') {
    const loaded = known.filter((k) => k.everLoaded).map((k) => k.window);
    const failed = known.filter((k) => k.status === 'failed' && subtractWindows(k.window, loaded).length > 0).map((k) => k.window);
    return {
      datasetId,
      range,
      windowMs: null,
      sizing: 'failed windows',
      rowsPerDay,
      windows: failed,
      probeRest: null,
      coverage,
      notes,
      warnings,
    };
  }
  let windows = req.selection === 'missing' ? missingWindows(range, known, windowMs) : layout;
  let probeRest: TimeWindow | null = null;
  if (sizing === 'probe' && windows.length > 1) {
    // The newest day first: once loaded, the ledger knows the dataset's rows per day.
    const newest = windows.at(-1)!;
    const probe = { start: Math.max(newest.start, newest.end - DAY_MS), end: newest.end };
    probeRest = { start: range.start, end: probe.start };
    windows = [probe];
  }
  return { datasetId, range, windowMs, sizing, rowsPerDay, windows, probeRest, coverage, notes, warnings };
}

/**
 * `--missing-only`: the parts of the range that no loaded window covers, in windows of `windowMs`,
 * plus the windows under way (queued, exporting, loading — a killed run's too), with their own
 * bounds, so that the run finishes them rather than leaving them behind.
 */
function missingWindows(range: TimeWindow, known: KnownWindow[], windowMs: number): TimeWindow[] {
  const underWay = known.filter((k) => k.status === 'queued' || k.status === 'exporting' || k.status === 'loading').map((k) => k.window);
  const covered = [...known.filter((k) => k.everLoaded).map((k) => k.window), ...underWay];
  const gaps = subtractWindows(range, covered).flatMap((gap) => splitIntoWindows(gap, windowMs));
  return [...gaps, ...underWay].sort((a, b) => a.start - b.start || a.end - b.end);
}

/**
 * The range grown to whole previously loaded windows where needed. The loader replaces the rows of
 * a window that the range only partly overlaps (the layout changed) by their time value, which is
 * exact when the window's rows were read in a confirmed zone. A window whose zone was not confirmed
 * (ambiguous, fitting no candidate, or loaded before zones were checked) may hold values off by an
 * offset, so it is re-exported entirely: no row can then be removed that the plan does not bring back.
 */
async function widenToUntrustedWindows(db: pg.Pool, datasetId: string, range: TimeWindow): Promise<TimeWindow> {
  let current = range;
  for (let step = 0; step < MAX_WIDENING_STEPS; step++) {
    const next = await ledger.untrustedLoadedWindowsSpan(db, datasetId, current);
    if (!next || (next.start >= current.start && next.end <= current.end)) return current;
    current = { start: Math.min(current.start, next.start), end: Math.max(current.end, next.end) };
  }
  return current;
}

/**
 * The nightly range of one dataset: the last `lookbackDays` days up to the end of yesterday (UTC).
 * A dataset never loaded starts at ETL_START_DATE; one whose last loaded window ended earlier (the
 * worker was down) starts there, so missed nights are caught up.
 */
async function nightlyRange(db: pg.Pool, cfg: Config['reports'], datasetId: string, now: number): Promise<TimeWindow> {
  const end = startOfUtcDay(now);
  const lastEnd = await ledger.lastLoadedEnd(db, datasetId);
  const lookbackStart = end - cfg.lookbackDays * DAY_MS;
  const start = lastEnd === null ? cfg.startDate : Math.min(lookbackStart, startOfUtcDay(lastEnd));
  return { start: Math.min(start, end), end };
}

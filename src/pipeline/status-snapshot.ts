import type pg from 'pg';
import type { Config } from '../config.js';
import { nightlyStatus, type NightlyRun } from './nightly-runs.js';
import { datasetCoverage } from './status-coverage.js';
import { entityStatus, reportStatus } from './status-report.js';
import type { TimeWindow } from './time-windows.js';

/**
 * What `status` knows, as the JSON `status --json` prints (README: "`status --json`"). Every time
 * is ISO 8601 UTC to the second (`2026-11-30T02:30:00Z`); every window is half-open: `from`
 * inclusive, `to` exclusive. Ages are seconds.
 */

/** `2026-11-30T02:30:00Z`: the one timestamp format of `status`, text and JSON. */
export function isoUtc(ms: number | Date): string;
export function isoUtc(ms: number | Date | null): string | null;
export function isoUtc(ms: number | Date | null): string | null {
  if (ms === null) return null;
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

export interface Span {
  from: string;
  to: string;
}

export interface DatasetReport {
  datasetId: string;
  tableName: string;
  windowsLoaded: number;
  windowsInFlight: number;
  windowsFailed: number;
  /** From the first loaded window to the first gap; null when nothing is loaded. */
  contiguous: Span | null;
  /** Now minus `contiguous.to`, seconds; null when nothing is loaded. */
  freshnessSeconds: number | null;
  gaps: Span[];
  failedWindows: Array<Span & { error: string | null; failedAt: string }>;
  inFlightWindows: Array<Span & { status: string }>;
  lastLoadedAt: string | null;
  rows: number;
  rowsSource: 'estimate' | 'ledger';
  timestampZone: string | null;
  timestampZoneSource: 'detected' | 'configured' | null;
  windowsFlagged: number;
  lastFlag: string | null;
  /** The dataset's daily rollup; null while it has none. */
  rollup: { view: string; refreshedAt: string | null; loadsSinceRefresh: number; lastError: string | null } | null;
}

export interface EntityReport {
  stream: 'companies' | 'tickets';
  lastCompletedAt: string | null;
  lastRunStatus: string | null;
  lastRunRows: number | null;
  lastError: string | null;
  rows: number | null;
  deleted: number | null;
  watermark: string | null;
}

export interface NightlyReport {
  runId: string;
  status: string;
  attempts: number;
  startedAt: string;
  finishedAt: string | null;
  windowsQueued: number | null;
  entityJobs: number | null;
  error: string | null;
}

export interface StoredStatus {
  generatedAt: string;
  schema: string;
  reports: DatasetReport[];
  entities: EntityReport[];
  nightly: { last: NightlyReport | null; lastFailed: NightlyReport | null };
}

const span = (w: TimeWindow): Span => ({ from: isoUtc(w.start), to: isoUtc(w.end) });

const nightlyReport = (r: NightlyRun | null): NightlyReport | null =>
  r && {
    runId: r.runId,
    status: r.status,
    attempts: r.attempts,
    startedAt: isoUtc(r.startedAt),
    finishedAt: isoUtc(r.finishedAt),
    windowsQueued: r.windowsQueued,
    entityJobs: r.entityJobs,
    error: r.error,
  };

/** Everything `status` reads from Postgres (the ledger, run tables, catalogue estimates); no table scans. */
export async function collectStoredStatus(pool: pg.Pool, config: Config, now = Date.now()): Promise<StoredStatus> {
  const cfg = config.reports;
  const [reports, coverage, entities, nightly] = await Promise.all([
    reportStatus(pool, cfg.timestampTimezone),
    datasetCoverage(pool, { startDate: cfg.startDate, retentionDays: cfg.retentionDays, now }),
    entityStatus(pool),
    nightlyStatus(pool),
  ]);
  const byId = new Map(coverage.map((c) => [c.datasetId, c]));
  return {
    generatedAt: isoUtc(now),
    schema: config.pgSchema,
    reports: reports.map((r) => {
      const c = byId.get(r.datasetId);
      return {
        datasetId: r.datasetId,
        tableName: r.tableName,
        windowsLoaded: r.windowsLoaded,
        windowsInFlight: r.windowsPending,
        windowsFailed: c?.failed.length ?? 0,
        contiguous: c?.contiguous ? span(c.contiguous) : null,
        freshnessSeconds: c?.contiguous ? Math.round((now - c.contiguous.end) / 1000) : null,
        gaps: (c?.gaps ?? []).map(span),
        failedWindows: (c?.failed ?? []).map((f) => ({ ...span(f), error: f.error, failedAt: isoUtc(f.failedAt) })),
        inFlightWindows: (c?.inFlight ?? []).map((f) => ({ ...span(f), status: f.status })),
        lastLoadedAt: isoUtc(r.lastLoadedAt),
        rows: r.rows,
        rowsSource: r.rowsSource,
        timestampZone: r.timestampZone,
        timestampZoneSource: r.timestampZoneSource,
        windowsFlagged: r.windowsFlagged,
        lastFlag: r.lastFlag,
        rollup: r.rollup ? { ...r.rollup, refreshedAt: isoUtc(r.rollup.refreshedAt) } : null,
      };
    }),
    entities: entities.map((e) => ({
      stream: e.stream,
      lastCompletedAt: isoUtc(e.lastCompletedAt),
      lastRunStatus: e.lastRunStatus,
      lastRunRows: e.lastRunRows,
      lastError: e.lastError,
      rows: e.rows,
      deleted: e.deleted,
      watermark: isoUtc(e.watermark),
    })),
    nightly: { last: nightlyReport(nightly.last), lastFailed: nightlyReport(nightly.lastFailed) },
  };
}

/**
 * What `status --check` fails on, one sentence per problem (empty: all is well). A dataset is
 * stale when now minus the end of its contiguous loaded range exceeds `maxAgeMs` (or nothing is
 * loaded); companies and tickets when their last completed run is older (or there is none). Only
 * the datasets ETL_DATASETS / ETL_EXCLUDE_DATASETS select are checked.
 */
export function statusProblems(s: StoredStatus, config: Config, maxAgeMs: number, now: number): string[] {
  const { includeDatasets: include, excludeDatasets: exclude } = config.reports;
  const age = (ms: number) => `${(ms / 3_600_000).toFixed(1)}h`;
  const limit = age(maxAgeMs);
  const problems: string[] = [];
  const checked = s.reports.filter((r) => (include.length === 0 || include.includes(r.datasetId)) && !exclude.includes(r.datasetId));
  if (checked.length === 0) problems.push('STALE reports: no reporting dataset is known yet (no run has loaded anything).');
  for (const r of checked) {
    if (!r.contiguous) problems.push(`STALE ${r.datasetId}: nothing loaded.`);
    else if (now - Date.parse(r.contiguous.to) > maxAgeMs) {
      problems.push(
        `STALE ${r.datasetId}: loaded contiguously only up to ${r.contiguous.to} (${age(now - Date.parse(r.contiguous.to))} ago; max age ${limit}).`,
      );
    }
    const latest = r.failedWindows[0];
    if (latest) {
      problems.push(
        `FAILED ${r.datasetId}: ${r.failedWindows.length} failed window(s), latest ${latest.from}/${latest.to}: ${latest.error ?? 'unknown error'} (run \`intercom-etl retry --dataset ${r.datasetId}\`).`,
      );
    }
  }
  for (const e of s.entities) {
    if (!e.lastCompletedAt) problems.push(`STALE ${e.stream}: no completed run yet.`);
    else if (now - Date.parse(e.lastCompletedAt) > maxAgeMs) {
      problems.push(
        `STALE ${e.stream}: last completed run ${e.lastCompletedAt} (${age(now - Date.parse(e.lastCompletedAt))} ago; max age ${limit}).`,
      );
    }
  }
  const night = s.nightly.last;
  if (night?.status === 'failed') {
    problems.push(
      `FAILED nightly run ${night.runId} started ${night.startedAt}, after ${night.attempts} attempt(s): ${night.error ?? 'unknown error'}`,
    );
  }
  return problems;
}

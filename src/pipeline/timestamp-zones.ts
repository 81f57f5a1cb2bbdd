import type pg from 'pg';
import type { Logger } from '../log.js';
import { loadReportDataset, recordInclusiveEnd, recordTimestampZone, type ReportDataset } from '../sinks/report-catalogue.js';
import { describeMisfit, rereadTimestamps, trimAfterEnd, windowTimeSpan, zonesThatFit } from '../sinks/timestamp-zone.js';
import * as ledger from './export-ledger.js';
import { formatWindow } from './time-windows.js';

/**
 * Which zone the export's zone-less timestamps are in (brief §10: UTC or the workspace's zone;
 * Intercom does not say), decided from the data instead of assumed:
 *
 * - `ETL_TIMESTAMP_TIMEZONE=auto` (default): a dataset's windows are read in its detected zone, or
 *   UTC until one is detected. After each window's COPY, inside its transaction, the rows' time span
 *   is checked against the window in each candidate zone (UTC and the workspace's `/me` zone). A
 *   window that only one candidate fits decides the dataset's zone: if the rows were read in another
 *   zone they are re-read in place, and so are earlier windows that could not tell the zones apart.
 *   Rows that fit no candidate are loaded all the same, and the window is flagged with the offset
 *   that would have fitted them.
 * - An explicit zone is always used; a window that does not fit it is flagged the same way.
 *
 * Table loads of one dataset run one at a time (the loader's table lock), so these decisions never
 * race: each load sees what the previous one recorded.
 */

export interface ZoneSettings {
  /** `auto` or an IANA zone (ETL_TIMESTAMP_TIMEZONE). */
  configured: string;
  /** The workspace's zone from `/me`. */
  workspaceZone: string;
}

export interface WindowZoneResult {
  zone: string;
  check: ledger.TimestampCheck;
  flag: string | null;
  /** Rows at exactly the window's end (an inclusive `end_time`) removed: they belong to the next window. */
  trimmed: number;
}

/** Candidates in order of preference: UTC first (the brief's assumption), then the workspace zone. */
export function candidateZones(settings: ZoneSettings): string[] {
  return [...new Set(['UTC', settings.workspaceZone].filter((z) => z !== ''))];
}

/** The zone to read a window in (asked once the table's lock is held). */
export async function zoneToRead(client: pg.PoolClient, settings: ZoneSettings, datasetId: string): Promise<string> {
  if (settings.configured !== 'auto') return settings.configured;
  const ds = await loadReportDataset(client, datasetId);
  return ds?.timestampZoneSource === 'detected' && ds.timestampZone ? ds.timestampZone : candidateZones(settings)[0]!;
}

/**
 * Checks the window just copied (rows read in `readZone`), re-reads rows where the evidence says
 * so, and records what was found. Runs inside the load transaction.
 */
export async function settleWindowZone(
  client: pg.PoolClient,
  settings: ZoneSettings,
  dataset: ReportDataset,
  key: ledger.WindowKey,
  readZone: string,
  log: Logger,
): Promise<WindowZoneResult> {
  const span = await windowTimeSpan(client, dataset, key.window, readZone);
  if (!span) return { zone: readZone, check: 'empty', flag: null, trimmed: 0 };
  const candidates = settings.configured === 'auto' ? candidateZones(settings) : [settings.configured];
  const fit = await zonesThatFit(client, span, key.window, [...new Set([readZone, ...candidates])]);
  if (fit.length === 0) {
    const flag = describeMisfit(span, readZone, key.window, candidates);
    log.warn({ timestampZone: readZone, flag }, 'window rows do not fit the window in any candidate zone');
    return { zone: readZone, check: 'no_fit', flag, trimmed: 0 };
  }
  if (settings.configured !== 'auto') {
    return { zone: readZone, check: 'fits', flag: null, trimmed: await trimEnd(client, dataset, [key.window], log) };
  }

  const current = await loadReportDataset(client, dataset.datasetId);
  const known = current?.timestampZoneSource === 'detected' ? current.timestampZone : null;
  // Keep the zone read in when it fits; otherwise re-read the rows in the first zone that does.
  const zone = fit.includes(readZone) ? readZone : fit[0]!;
  if (zone !== readZone) await rereadTimestamps(client, dataset, [key.window], readZone, zone);
  const decisive = fit.length === 1;
  if (decisive && known !== zone) {
    await recordTimestampZone(client, dataset.datasetId, zone, 'detected');
    const reread = await rereadAmbiguousWindows(client, dataset, zone, log);
    const how = known ? `changed from ${known}` : 'detected';
    log.warn(
      { timestampZone: zone, previous: known, window: formatWindow(key.window), windowsReread: reread },
      `CSV timestamps of dataset ${dataset.datasetId} are in ${zone} (${how}: only ${zone} puts this window's rows inside it)`,
    );
  }
  if (!decisive && known !== zone) return { zone, check: 'ambiguous', flag: null, trimmed: 0 };
  return { zone, check: 'fits', flag: null, trimmed: await trimEnd(client, dataset, [key.window], log) };
}

/** Drops rows at exactly their window's end (once the zone is known), and says so once per dataset. */
async function trimEnd(client: pg.PoolClient, dataset: ReportDataset, windows: ledger.WindowKey['window'][], log: Logger): Promise<number> {
  const trimmed = await trimAfterEnd(client, dataset, windows);
  if (trimmed > 0 && (await recordInclusiveEnd(client, dataset.datasetId))) {
    log.info(
      { dataset: dataset.datasetId },
      `Intercom's end_time is inclusive for dataset ${dataset.datasetId}: rows at exactly a window's end come back, and are kept only in the next window`,
    );
  }
  return trimmed;
}

/** Windows loaded before the zone was known, whose rows fitted several zones: re-read them in `zone`. */
async function rereadAmbiguousWindows(client: pg.PoolClient, dataset: ReportDataset, zone: string, log: Logger): Promise<number> {
  const windows = await ledger.ambiguousZoneWindows(client, dataset.datasetId, zone);
  const byZone = new Map<string, ledger.WindowKey['window'][]>();
  for (const w of windows) byZone.set(w.timestampZone, [...(byZone.get(w.timestampZone) ?? []), w.window]);
  for (const [from, list] of byZone) await rereadTimestamps(client, dataset, list, from, zone);
  await ledger.settleAmbiguousZones(client, dataset.datasetId, zone);
  await trimEnd(
    client,
    dataset,
    windows.map((w) => w.window),
    log,
  );
  return windows.length;
}

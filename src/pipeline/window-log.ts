import type { WindowKey } from './export-ledger.js';

/** What every log line about a reporting window carries (README, Logs). */
export interface WindowLogFields {
  datasetId: string;
  /** ISO 8601 UTC; the window is [windowStart, windowEnd). */
  windowStart: string;
  windowEnd: string;
  /** Intercom's export job, once the window has one. */
  intercomJobId?: string;
}

/**
 * The fields of a window's log lines, the same names as the export-window job's payload, so one
 * grep (or one log query) finds a window in the logs of every process that touched it.
 */
export function windowLogFields(key: WindowKey, intercomJobId?: string | null): WindowLogFields {
  return {
    datasetId: key.datasetId,
    windowStart: new Date(key.window.start).toISOString(),
    windowEnd: new Date(key.window.end).toISOString(),
    ...(intercomJobId ? { intercomJobId } : {}),
  };
}

import { DAY_MS } from './time-windows.js';

/**
 * Window sizes for `ETL_WINDOW=auto`. Every export has a fixed cost at Intercom and only 5 run at
 * once per workspace, so the number of exports is what a backfill waits on: a window should hold
 * about `targetRows` rows. Whole days from 1 to MAX_AUTO_WINDOW_DAYS; for a dataset denser than
 * that per day, the largest number of hours dividing a day that stays under the target.
 */

export const MAX_AUTO_WINDOW_DAYS = 30;
const HOUR_MS = 3_600_000;
const HOURS_DIVIDING_A_DAY = [12, 8, 6, 4, 3, 2, 1];

export function windowForDensity(rowsPerDay: number, targetRows: number): number {
  if (rowsPerDay <= targetRows) {
    const days = rowsPerDay <= 0 ? MAX_AUTO_WINDOW_DAYS : Math.floor(targetRows / rowsPerDay);
    return Math.min(MAX_AUTO_WINDOW_DAYS, Math.max(1, days)) * DAY_MS;
  }
  const hours = HOURS_DIVIDING_A_DAY.find((h) => (rowsPerDay * h) / 24 <= targetRows) ?? 1;
  return hours * HOUR_MS;
}

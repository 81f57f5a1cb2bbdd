/** Reporting CSVs carry timestamps as `YYYY-MM-DD HH:MM:SS` text; the fake writes them in UTC. */

export const SECONDS_PER_DAY = 86_400;

/** `YYYY-MM-DD` per day number: saves a Date per value (exports format millions of timestamps). */
const datePartCache = new Map<number, string>();

export function formatTimestamp(unixSeconds: number): string {
  const day = Math.floor(unixSeconds / SECONDS_PER_DAY);
  let datePart = datePartCache.get(day);
  if (datePart === undefined) {
    if (datePartCache.size > 10_000) datePartCache.clear();
    datePart = new Date(day * SECONDS_PER_DAY * 1000).toISOString().slice(0, 10);
    datePartCache.set(day, datePart);
  }
  const secondOfDay = Math.floor(unixSeconds) - day * SECONDS_PER_DAY;
  const hh = Math.floor(secondOfDay / 3600);
  const mm = Math.floor((secondOfDay % 3600) / 60);
  const ss = secondOfDay % 60;
  return `${datePart} ${hh < 10 ? '0' : ''}${hh}:${mm < 10 ? '0' : ''}${mm}:${ss < 10 ? '0' : ''}${ss}`;
}

/** Parses `YYYY-MM-DD HH:MM[:SS]` (or with a `T`) as UTC; null when it is not such a timestamp. */
export function parseTimestamp(text: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?Z?$/.exec(text.trim());
  if (!m) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0));
  return Number.isNaN(ms) ? null : ms / 1000;
}

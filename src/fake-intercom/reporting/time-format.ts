/**
 * Reporting CSVs carry timestamps as `YYYY-MM-DD HH:MM:SS` text with no zone. Intercom does not say
 * which zone (brief §10): the fake writes them in UTC by default, or in any IANA zone
 * (`export.timestampZone`, e.g. the workspace's), so clients can be tested against each behaviour.
 */

export const SECONDS_PER_DAY = 86_400;

/** `YYYY-MM-DD` per day number: saves a Date per value (exports format millions of timestamps). */
const datePartCache = new Map<number, string>();

/** `unixSeconds` as wall-clock text in `zone` (default UTC). */
export function formatTimestamp(unixSeconds: number, zone = 'UTC'): string {
  const local = zone === 'UTC' ? Math.floor(unixSeconds) : Math.floor(unixSeconds) + zoneOffsetSeconds(unixSeconds, zone);
  const day = Math.floor(local / SECONDS_PER_DAY);
  let datePart = datePartCache.get(day);
  if (datePart === undefined) {
    if (datePartCache.size > 10_000) datePartCache.clear();
    datePart = new Date(day * SECONDS_PER_DAY * 1000).toISOString().slice(0, 10);
    datePartCache.set(day, datePart);
  }
  const secondOfDay = local - day * SECONDS_PER_DAY;
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

const formatters = new Map<string, Intl.DateTimeFormat>();
/** Offsets change on quarter hours at the finest (every zone's DST rules do): cache per quarter hour. */
const offsetCache = new Map<string, number>();

/** Seconds to add to UTC to get the wall clock of `zone` at `unixSeconds`. */
export function zoneOffsetSeconds(unixSeconds: number, zone: string): number {
  const bucket = Math.floor(unixSeconds / 900);
  const key = `${zone}|${bucket}`;
  const cached = offsetCache.get(key);
  if (cached !== undefined) return cached;
  let fmt = formatters.get(zone);
  if (fmt === undefined) {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, fmt);
  }
  const at = bucket * 900;
  const parts = Object.fromEntries(fmt.formatToParts(new Date(at * 1000)).map((p) => [p.type, p.value]));
  const wall =
    Date.UTC(
      Number(parts.year),
      Number(parts.month) - 1,
      Number(parts.day),
      Number(parts.hour),
      Number(parts.minute),
      Number(parts.second),
    ) / 1000;
  const offset = wall - at;
  if (offsetCache.size > 100_000) offsetCache.clear();
  offsetCache.set(key, offset);
  return offset;
}

/**
 * Time windows are half-open UTC intervals `[start, end)` in ms. Intercom does not say whether its
 * `end_time` is inclusive (brief §3.8), so a window's export asks for `[start, end]` — right under
 * either reading — and the loader drops the rows at exactly `end` that an inclusive Intercom sends
 * (they belong to the next window): a row at exactly midnight is loaded once, by the window that
 * starts then, and a row in the last second before midnight is never lost.
 */
export interface TimeWindow {
  start: number;
  end: number;
}

export const DAY_MS = 86_400_000;
const UNIT_MS: Record<string, number> = { '': 1000, s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS, w: 7 * DAY_MS };

/**
 * The one duration parser: `0`, `30s`, `30m`, `36h`, `2d`, `2w` → ms (a bare number is seconds).
 * ETL_TICKETS_OVERLAP, `status --max-age`, and — through `parseWindowLength` — window lengths.
 */
export function parseDuration(text: string): number {
  const m = /^(\d+)\s*([smhdw]?)$/.exec(text.trim());
  if (!m) throw new Error(`${JSON.stringify(text)} is not a duration like 30m, 6h, 1d or 7d.`);
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

/** A window length (`6h`, `1d`, `7d`, `2w`) → ms. Windows must divide a day or be whole days. */
export function parseWindowLength(text: string): number {
  const ms = parseDuration(text);
  if (ms < 3_600_000) throw new Error(`${JSON.stringify(text)} is shorter than the smallest window, 1h.`);
  if (ms < DAY_MS ? DAY_MS % ms !== 0 : ms % DAY_MS !== 0) {
    throw new Error(`${JSON.stringify(text)} must divide a day (1h, 2h, 3h, 4h, 6h, 8h, 12h) or be whole days.`);
  }
  return ms;
}

/**
 * `YYYY-MM-DD` → UTC midnight in ms; throws a clear error otherwise. An impossible day
 * (`2026-02-30`) is rejected: `Date.parse` would silently roll it over to March 2nd.
 */
export function parseDay(text: string, what: string): number {
  const t = /^\d{4}-\d{2}-\d{2}$/.test(text) ? Date.parse(`${text}T00:00:00Z`) : NaN;
  if (Number.isNaN(t)) throw new Error(`${what} ${JSON.stringify(text)} must be a date YYYY-MM-DD.`);
  if (new Date(t).toISOString().slice(0, 10) !== text) throw new Error(`${what} ${JSON.stringify(text)} is not a day of the calendar.`);
  return t;
}

export function startOfUtcDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/**
 * Splits `[from, to)` into consecutive windows of `windowMs`, aligned to `from`; the last window
 * is cut at `to`. Every instant of the range lies in exactly one window.
 */
export function splitIntoWindows(range: TimeWindow, windowMs: number): TimeWindow[] {
  if (!(range.end > range.start)) return [];
  const windows: TimeWindow[] = [];
  for (let s = range.start; s < range.end; s += windowMs) {
    windows.push({ start: s, end: Math.min(s + windowMs, range.end) });
  }
  return windows;
}

/** `[start, end)` in ms → the Unix-second bounds sent to Intercom: `end` itself (see above). */
export function toIntercomBounds(w: TimeWindow): { startTime: number; endTime: number } {
  return { startTime: Math.floor(w.start / 1000), endTime: Math.ceil(w.end / 1000) };
}

/** `20260101T000000Z`: sortable, and safe in BullMQ job ids (no `:`). */
export function compactIso(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

export function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function formatWindow(w: TimeWindow): string {
  const fmt = (ms: number): string =>
    new Date(ms)
      .toISOString()
      .replace('T', ' ')
      .replace(/:00\.000Z$/, '')
      .replace(/\.000Z$/, '');
  return `[${fmt(w.start)}, ${fmt(w.end)})`;
}

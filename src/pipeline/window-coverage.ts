import type { WindowStatus } from './export-ledger.js';
import type { TimeWindow } from './time-windows.js';

/** A window the ledger holds, as coverage sees it. */
export interface KnownWindow {
  window: TimeWindow;
  status: WindowStatus;
  /** Loaded at least once: its rows are in the table (even if it is being re-exported now). */
  everLoaded: boolean;
}

/** How many windows of a planned layout the ledger already covers, and how. */
export interface Coverage {
  total: number;
  /** Covered entirely by windows loaded before (whatever their size). */
  loaded: number;
  /** Not covered, and overlapping a failed window. */
  failed: number;
  /** Not covered, and overlapping a window being exported or queued now. */
  inFlight: number;
  /** Never tried. */
  missing: number;
}

/** The parts of `range` that no window of `covers` covers, in order. */
export function subtractWindows(range: TimeWindow, covers: TimeWindow[]): TimeWindow[] {
  const sorted = covers.filter((c) => c.end > range.start && c.start < range.end).sort((a, b) => a.start - b.start);
  const gaps: TimeWindow[] = [];
  let at = range.start;
  for (const c of sorted) {
    if (c.start > at) gaps.push({ start: at, end: Math.min(c.start, range.end) });
    at = Math.max(at, c.end);
    if (at >= range.end) break;
  }
  if (at < range.end) gaps.push({ start: at, end: range.end });
  return gaps;
}

/** Classifies each window of `layout` against what the ledger knows (windows of any layout). */
export function describeCoverage(layout: TimeWindow[], known: KnownWindow[]): Coverage {
  const loaded = known.filter((k) => k.everLoaded).map((k) => k.window);
  const overlaps = (a: TimeWindow, b: TimeWindow) => a.start < b.end && b.start < a.end;
  const c: Coverage = { total: layout.length, loaded: 0, failed: 0, inFlight: 0, missing: 0 };
  for (const w of layout) {
    if (subtractWindows(w, loaded).length === 0) c.loaded += 1;
    else if (known.some((k) => k.status === 'failed' && overlaps(k.window, w))) c.failed += 1;
    else if (known.some((k) => !k.everLoaded && k.status !== 'failed' && overlaps(k.window, w))) c.inFlight += 1;
    else c.missing += 1;
  }
  return c;
}

import type { AppContext } from '../context.js';
import * as ledger from './export-ledger.js';

/** Longest pause between two status polls of one export. */
const MAX_POLL_DELAY_MS = 60_000;
/** A dataset's learned durations are read from the ledger again after this long (per process). */
const REFRESH_MS = 30_000;
/** …and this soon while it has too little history (its first exports are finishing). */
const REFRESH_EMPTY_MS = 2_000;
/** Shortest step between two polls (a 10 s export with ±5 % spread has a 1 s range: its steps are 90–310 ms). */
const MIN_STEP_MS = 100;
/** Recent exports of a dataset its expectation is learned from (more: a steadier median and MAD, slower to follow a change). */
const SAMPLES = 40;
/** Samples needed before the spread of a dataset's durations is trusted (fewer: one expectation). */
const MIN_SAMPLES_FOR_SPREAD = 4;
/** The usual earliest/latest finish lie this many median absolute deviations from the median (the ends of an even spread). */
const MAD_TO_EDGE = 2;
/** The usual range is taken as at least this share of the median either side (steps never collapse to 0). */
const MIN_HALF_RANGE_SHARE = 0.01;
/**
 * Where the polls fall across the usual range (0 = its earliest finish, 1 = its latest). The later a
 * poll, the less likely it is needed at all, so the steps shrink, each ~0.067 of the range shorter
 * than the one before: on an even spread whose range is known, 2.33 polls per export and a finish
 * seen 12.3 % of the range late on average (equal quarters: 2.5 polls for 12.5 %). Points a little
 * denser (2.45 polls, 11.5 %) kept the slots busier by ~0.4 % but cost ~0.14 status calls per window
 * more than the 3 a backfill may spend (simulated, `npm run bench:poll-sim`).
 */
const POLL_POINTS = [0.335, 0.603, 0.802, 0.935, 1];
/** The next poll comes at least half its step after the last (the expectation may move between polls). */
const MIN_GAP_SHARE = 0.5;
/** Past the usual range, steps of this share of the range, growing by half the time past it. */
const PAST_RANGE_STEP_SHARE = 0.25;
/**
 * Without history, the step between polls is this share of the time waited so far (a geometric
 * schedule): a dataset's first export is seen at most 15 % of its time late, and its finish is
 * bracketed finely enough for the next exports' schedule. A quarter (~3 fewer polls) left the next
 * exports guessing from a coarse first sample.
 */
const COLD_STEP_SHARE = 0.15;
/** …and the first poll comes no earlier than this share of the quickest recent export of another dataset. */
const COLD_FLOOR_SHARE = 0.8;
/** Exports of this process last seen running, by Intercom job id (see `noteRunning`); bounded. */
const MAX_RUNNING_NOTES = 1_000;

/**
 * What is known of a dataset's export durations for one window: the usual earliest (`lowMs`) and
 * latest (`highMs`) finish, the median ∓ 2 median absolute deviations (±5 % around the smallest of
 * fewer than 4 samples).
 */
export interface ExpectedDuration {
  lowMs: number;
  highMs: number;
}

interface Learned {
  readAt: number;
  /** Recent export durations of the dataset, ms per ms of window, sorted ascending. */
  perWindowMs: number[];
}

/** Per context: learned durations of each dataset (a cache of the ledger, not state). */
const cache = new WeakMap<AppContext, Map<string, Learned>>();
/** Per context: the quickest recent export of another dataset, by dataset (ms per ms of window). */
const quickestCache = new WeakMap<AppContext, Map<string, { readAt: number; perWindowMs: number | null }>>();
/** Per context: when this process last saw an export still running (a hint for `finishedAtEstimate`). */
const lastSeenRunning = new WeakMap<AppContext, Map<string, number>>();

/**
 * How long an export of `window` of `datasetId` will likely take at Intercom; null without
 * history. Learned from the ledger (enqueued_at → exported_at of the dataset's recent loaded
 * windows, where `exported_at` is the finish as bracketed by the polls: see `finishedAtEstimate`),
 * scaled by window length.
 */
export async function expectedExportMs(ctx: AppContext, datasetId: string, windowMs: number): Promise<ExpectedDuration | null> {
  let perDataset = cache.get(ctx);
  if (!perDataset) cache.set(ctx, (perDataset = new Map()));
  let learned = perDataset.get(datasetId);
  const refreshMs = (learned?.perWindowMs.length ?? 0) < MIN_SAMPLES_FOR_SPREAD ? REFRESH_EMPTY_MS : REFRESH_MS;
  if (!learned || Date.now() - learned.readAt > refreshMs) {
    const samples = await ledger.recentExportDurations(ctx.pool, datasetId, SAMPLES);
    learned = { readAt: Date.now(), perWindowMs: samples.map((s) => s.ms / s.windowMs).sort((a, b) => a - b) };
    perDataset.set(datasetId, learned);
  }
  return durationFromSamples(learned.perWindowMs, windowMs);
}

/**
 * For a dataset without history: how long its export of `window` takes at the least, as far as the
 * ledger tells — the quickest recent export of any other dataset, scaled to the window — or null.
 * Datasets differ (a bigger one is slower), so this only keeps the first polls from coming too early.
 */
export async function coldFloorMs(ctx: AppContext, datasetId: string, windowMs: number): Promise<number | null> {
  let perDataset = quickestCache.get(ctx);
  if (!perDataset) quickestCache.set(ctx, (perDataset = new Map()));
  let known = perDataset.get(datasetId);
  if (!known || Date.now() - known.readAt > REFRESH_EMPTY_MS) {
    known = { readAt: Date.now(), perWindowMs: await ledger.quickestOtherExport(ctx.pool, datasetId) };
    perDataset.set(datasetId, known);
  }
  return known.perWindowMs === null ? null : known.perWindowMs * windowMs;
}

/** The expectation from sorted samples (ms per ms of window); exported for tests. */
export function durationFromSamples(sorted: number[], windowMs: number): ExpectedDuration | null {
  const n = sorted.length;
  if (n === 0) return null;
  if (n < MIN_SAMPLES_FOR_SPREAD) {
    // Few samples: around the smallest (the others may carry the lateness of polls made without history).
    const ms = sorted[0]! * windowMs;
    return { lowMs: ms * 0.95, highMs: ms * 1.05 };
  }
  // Median ∓ 2 median absolute deviations: the ends of an even spread (such as the fake's ±5 %). A
  // few samples bracketed coarsely (polls made with little history, or a first poll that already saw
  // the finish) lie in the outer quarters, where moving them changes neither the median nor the MAD:
  // they do not stretch the range, as they did the plain percentiles.
  const median = medianOf(sorted);
  const mad = medianOf(sorted.map((x) => Math.abs(x - median)).sort((a, b) => a - b));
  const half = Math.max(MAD_TO_EDGE * mad, median * MIN_HALF_RANGE_SHARE);
  return { lowMs: (median - half) * windowMs, highMs: (median + half) * windowMs };
}

function medianOf(sorted: number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * When to look at an export again, `runningForMs` after its enqueue. Without history: at the poll
 * interval, then in steps of 15 % of the time waited so far (capped at 60 s), no earlier than 0.8 ×
 * the quickest export of the other datasets. With history: at the 5 points of `POLL_POINTS` across
 * the usual range (the first a third into it, the last at its end), then in steps of a quarter
 * of the range growing by half the time past it. A poll that finds the export finished brackets its
 * finish with the poll before (see `finishedAtEstimate`), so the learned durations do not carry the
 * polls' lateness and the schedule does not drift later.
 */
export function nextPollDelay(
  runningForMs: number,
  expected: ExpectedDuration | null,
  baseMs: number,
  coldFloor: number | null = null,
): number {
  if (expected === null) {
    const firstAt = coldFloor === null ? 0 : coldFloor * COLD_FLOOR_SHARE;
    if (runningForMs < firstAt - baseMs) return jitter(Math.round(firstAt - runningForMs));
    return jitter(Math.min(MAX_POLL_DELAY_MS, Math.max(baseMs, runningForMs * COLD_STEP_SHARE)));
  }
  const { lowMs, highMs } = expected;
  const range = highMs - lowMs;
  for (let i = 0; i < POLL_POINTS.length; i++) {
    const at = lowMs + POLL_POINTS[i]! * range;
    const step = (POLL_POINTS[i]! - (i === 0 ? 0 : POLL_POINTS[i - 1]!)) * range;
    if (at >= runningForMs + step * MIN_GAP_SHARE) return Math.round(Math.max(MIN_STEP_MS, at - runningForMs));
  }
  const late = Math.max(0, runningForMs - highMs);
  return Math.round(Math.min(MAX_POLL_DELAY_MS, Math.max(MIN_STEP_MS, range * PAST_RANGE_STEP_SHARE + late * 0.5)));
}

/** Records that a poll just saw Intercom job `intercomJobId` still running (for `finishedAtEstimate`). */
export function noteRunning(ctx: AppContext, intercomJobId: string, at = Date.now()): void {
  let notes = lastSeenRunning.get(ctx);
  if (!notes) lastSeenRunning.set(ctx, (notes = new Map()));
  notes.delete(intercomJobId); // re-inserted last: the oldest notes (finished elsewhere, failed) go first
  notes.set(intercomJobId, at);
  if (notes.size > MAX_RUNNING_NOTES) notes.delete(notes.keys().next().value!);
}

/**
 * When Intercom job `intercomJobId`, seen finished at `seenAt`, most likely finished: midway since the
 * last poll of this process that saw it running. Without one (the first poll saw it finished, or
 * another process polled it before): midway since the usual range's width before `seenAt` (not before
 * the enqueue), as if a poll had seen it running there — a finish earlier than usual then lowers
 * the learned durations at once; `seenAt` itself with no history.
 */
export function finishedAtEstimate(
  ctx: AppContext,
  intercomJobId: string,
  seenAt: number,
  known: { enqueuedAt: number; expected: ExpectedDuration | null } | null = null,
): number {
  const notes = lastSeenRunning.get(ctx);
  const running = notes?.get(intercomJobId);
  notes?.delete(intercomJobId);
  if (running !== undefined && running <= seenAt) return Math.round((running + seenAt) / 2);
  if (!known?.expected) return seenAt;
  const assumedRunning = Math.max(known.enqueuedAt, seenAt - (known.expected.highMs - known.expected.lowMs));
  return Math.round((assumedRunning + seenAt) / 2);
}

export function jitter(ms: number): number {
  return Math.round(ms * (0.9 + Math.random() * 0.2));
}

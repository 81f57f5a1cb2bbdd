import type { AppContext, IntercomSession } from '../context.js';
import * as ledger from './export-ledger.js';

/**
 * What the pipeline asks of the queue: give these windows a job each (they hold a slot already).
 * Implemented by the jobs layer (src/jobs/export-window.ts); the pipeline never touches BullMQ.
 * Starting a window that already has a live job must change nothing.
 */
export interface WindowLauncher {
  start(keys: ledger.WindowKey[]): Promise<void>;
}

/** Does nothing: for callers that run one step by hand (tests, tools) and dispatch no one. */
export const NO_LAUNCHER: WindowLauncher = { start: async () => {} };

/** Claim rounds of one dispatch: a round ends early when the ledger or the slots run out. */
const MAX_ROUNDS = 3;
/**
 * The last this-many-slots' worth of waiting windows start longest expected export first (see
 * `claimQueuedWindows`): twice the slots, so the last round of exports is balanced.
 */
const TAIL_SLOT_ROUNDS = 2;

/**
 * Starts as many waiting windows as there are free export slots, and no more: claims the next
 * `queued` windows of the ledger (plan_order first, the last few longest first; SKIP LOCKED, so several processes never claim
 * the same one), takes a slot for each (the slots are the arbiter: a window that lost the race for
 * a slot goes back to the ledger, keeping its place), and has the jobs layer start them.
 *
 * Called by every job that frees a slot (so a freed slot is used at once), by each worker process
 * on a short tick (a backstop: a crash between claim and start, another installation's release) and
 * by the reconciler. When every slot is taken it costs one Redis call and no Postgres query.
 * A process that dies after claiming leaves its windows `dispatched` without a job: the reconciler
 * gives them one, and their slot lease lets them keep the slot meanwhile (or expires).
 */
export async function dispatchWindows(
  ctx: AppContext,
  session: IntercomSession,
  launcher: WindowLauncher,
  /** Free slots, when the caller just learned it (a release): saves asking Redis again. */
  knownFree?: number,
): Promise<number> {
  const { slots } = session;
  let started = 0;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const free = round === 0 && knownFree !== undefined ? knownFree : await slots.free();
    if (free === 0) break;
    const claimed = await ledger.claimQueuedWindows(ctx.pool, free, TAIL_SLOT_ROUNDS * slots.capacity);
    if (claimed.length === 0) break;
    const got = await slots.acquireMany(claimed.map((k) => slots.holderOf(k)));
    const toStart = claimed.filter((_, i) => got[i]);
    const lost = claimed.filter((_, i) => !got[i]);
    if (lost.length > 0) await ledger.returnToLedger(ctx.pool, lost);
    if (toStart.length > 0) await launcher.start(toStart);
    started += toStart.length;
    if (lost.length > 0 || claimed.length < free) break;
  }
  return started;
}

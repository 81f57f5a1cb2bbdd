import type { AppContext } from '../context.js';
import { NotFoundError, RetriableError } from '../errors.js';
import { deleteStagedRows, EntityStage, type StageLimits } from '../sinks/entity-stage.js';
import { mergeTickets, replaceTicketReferences } from '../sinks/entity-merge.js';
import { retryTransient } from './retry-transient.js';
import * as runs from './sync-runs.js';

/** A cursor Intercom could not use (500) is retried this often before the run starts again. */
const PAGE_RETRIES = 3;

class SearchRestart extends Error {}

export interface SyncTicketsOptions {
  /** Staging limits (tests make them small). */
  stage?: Partial<StageLimits>;
  /** Called with each attempt's stage (tests read its counters). */
  onStage?: (stage: EntityStage) => void;
}

/**
 * One incremental tickets run: every ticket with `updated_at >= watermark − overlap` and
 * `< run start`, ascending, 150 per page, the cursor sent back in the body until `pages.next` is
 * absent. Pages are staged and merged at the end in one transaction, which also advances the
 * watermark to the run's start — never to a later wall-clock time, so a ticket updated while the
 * run was paging is fetched by the next run. The overlap re-fetches the edge; upserts make that
 * harmless. ticket_types and ticket_states are refreshed on every run. `signal` (the job's
 * cancellation) aborts in-flight requests; the run then ends as interrupted, having merged nothing.
 */
export async function syncTickets(
  ctx: AppContext,
  now: () => number = Date.now,
  signal?: AbortSignal,
  options: SyncTicketsOptions = {},
): Promise<runs.SyncRunResult> {
  const cfg = ctx.config.entities;
  const log = ctx.log.child({ stream: 'tickets' });
  return runs.withStreamRun(ctx, 'tickets', signal, async (run) => {
    const { runId } = run;
    const watermark = await runs.getWatermark(ctx.pool, 'tickets');
    const runStartSec = Math.floor(now() / 1000);
    const fromSec = watermark ? Math.max(0, Math.floor(watermark.getTime() / 1000) - Math.floor(cfg.ticketsOverlapMs / 1000)) : null;
    await runs.startRun(ctx.pool, runId, 'tickets', {
      from: fromSec === null ? null : new Date(fromSec * 1000),
      to: new Date(runStartSec * 1000),
    });
    const [types, states] = await Promise.all([ctx.intercom.listTicketTypes(signal), listStates(ctx, signal)]);
    let restarts = 0;
    for (;;) {
      const stage = new EntityStage(ctx.pool, 'tickets', runId, options.stage);
      options.onStage?.(stage);
      try {
        const pages = await searchAll(ctx, run, stage, ticketQuery(fromSec, runStartSec));
        const fetched = await stage.drain();
        const result = await run.mergeTransaction(async (client) => {
          const upserted = await mergeTickets(client, runId);
          await replaceTicketReferences(client, types, states);
          await deleteStagedRows(client, 'tickets', [runId]);
          await runs.setWatermark(client, 'tickets', new Date(runStartSec * 1000), runId);
          const watermarkIso = new Date(runStartSec * 1000).toISOString();
          const r: runs.SyncRunResult = {
            runId,
            stream: 'tickets',
            pages,
            fetched,
            upserted,
            deleted: 0,
            restarts,
            watermark: watermarkIso,
          };
          await runs.completeRun(client, r);
          return r;
        });
        log.info(runs.runLogFields(result), 'tickets merged; watermark advanced');
        return result;
      } catch (err) {
        await stage.clear();
        if (!(err instanceof SearchRestart)) throw err;
        if (++restarts > cfg.ticketsMaxRestarts)
          throw new RetriableError(`Tickets search kept failing (${err.message}); giving up on this run.`);
        log.warn({ restarts, reason: err.message }, 'restarting the tickets run from the watermark');
      }
    }
  });
}

/** `updated_at >= from AND updated_at < runStart` (only the upper bound on the first run). */
export function ticketQuery(fromSec: number | null, runStartSec: number): Record<string, unknown> {
  const upper = { field: 'updated_at', operator: '<', value: runStartSec };
  if (fromSec === null) return upper;
  return { operator: 'AND', value: [{ field: 'updated_at', operator: '>=', value: fromSec }, upper] };
}

async function searchAll(ctx: AppContext, run: runs.StreamRun, stage: EntityStage, query: Record<string, unknown>): Promise<number> {
  let cursor: string | null = null;
  let pages = 0;
  for (;;) {
    run.assertOwned();
    await stage.waitForRoom(Infinity, run.signal); // bounded memory; a search cursor does not expire
    const page = await fetchPage(ctx, query, cursor, run.signal);
    stage.push(page.tickets);
    pages += 1;
    if (!page.nextCursor) return pages;
    cursor = page.nextCursor;
  }
}

/** A 500 on a page (Intercom's answer to a cursor it cannot use) is retried, then the run restarts. */
async function fetchPage(ctx: AppContext, query: Record<string, unknown>, cursor: string | null, signal: AbortSignal | undefined) {
  const perPage = ctx.config.entities.ticketsPageSize;
  try {
    return await retryTransient(() => ctx.intercom.searchTickets(query, { perPage, startingAfter: cursor }, signal), {
      attempts: PAGE_RETRIES + 1,
      delayMs: (failures) => 300 * 2 ** (failures - 1),
      transient: (err) => err instanceof RetriableError,
      rateLimitGraceMs: 30_000,
      ...(signal ? { signal } : {}),
    });
  } catch (err) {
    if (!signal?.aborted && err instanceof RetriableError && err.status === 500) {
      throw new SearchRestart(`page failed ${PAGE_RETRIES + 1} times with 500`);
    }
    throw err;
  }
}

/** `/ticket_states` exists from API 2.12; on older versions the table is left as it is. */
async function listStates(ctx: AppContext, signal: AbortSignal | undefined): Promise<Record<string, unknown>[] | null> {
  try {
    return await ctx.intercom.listTicketStates(signal);
  } catch (err) {
    if (err instanceof NotFoundError) return null;
    throw err;
  }
}

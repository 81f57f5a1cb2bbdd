import { setTimeout as sleep } from 'node:timers/promises';
import type { AppContext } from '../context.js';
import { FatalError, NotFoundError, RateLimitedError, RetriableError } from '../errors.js';
import { withTransaction } from '../db/pool.js';
import { EntityStage } from '../sinks/entity-stage.js';
import { mergeCompanies } from '../sinks/entity-merge.js';
import * as runs from './sync-runs.js';

/** Intercom's scroll pages hold 100 companies; a shorter page is the last one. */
const SCROLL_PAGE_SIZE = 100;
/** Retries of one page after a network error or 502/503/504, before the scroll is restarted. */
const PAGE_RETRIES = 2;

/** Thrown inside a scroll attempt when the scroll cannot continue and must start again from zero. */
class ScrollRestart extends Error {
  constructor(
    message: string,
    /** Where a scroll that 404'd after a full page stopped (see scrollOnce). */
    readonly end: { pages: number; fetched: number } | null = null,
  ) {
    super(message);
  }
}

/**
 * One full companies scroll, as a snapshot: every company upserted by `id`, companies missing from
 * a completed scroll marked `_deleted_at`, and nothing changed at all if the scroll does not
 * complete. Only one scroll runs per workspace across all processes and hosts (withStreamRun's
 * lock; Intercom allows one open scroll). Pages are fetched back to back and staged in Postgres in
 * the background, so a slow database never lets the scroll idle into expiry.
 */
export async function syncCompanies(ctx: AppContext): Promise<runs.SyncRunResult> {
  const cfg = ctx.config.entities;
  const log = ctx.log.child({ stream: 'companies' });
  return runs.withStreamRun(ctx, 'companies', async (runId, lock) => {
    await runs.startRun(ctx.pool, runId, 'companies');
    let restarts = 0;
    let previousEnd: { pages: number; fetched: number } | null = null;
    for (;;) {
      const stage = new EntityStage(ctx.pool, runId);
      try {
        const scrolled = await scrollOnce(ctx, stage, previousEnd);
        const staged = await stage.drain();
        const result = await withTransaction(ctx.pool, async (client) => {
          const merged = await mergeCompanies(client, runId);
          await client.query('DELETE FROM etl_entity_stage WHERE run_id = $1', [runId]);
          const r: runs.SyncRunResult = { runId, stream: 'companies', pages: scrolled.pages, fetched: staged, ...merged, restarts };
          await runs.completeRun(client, r);
          return r;
        });
        log.info(result, 'companies scroll merged');
        return result;
      } catch (err) {
        await stage.clear();
        if (!(err instanceof ScrollRestart)) throw err;
        if (lock.isLost) throw new RetriableError('Lost the companies scroll lock (Redis unreachable?); the run starts again.');
        restarts += 1;
        previousEnd = err.end;
        await runs.recordProgress(ctx.pool, runId, { pages: 0, fetched: 0, restarts });
        if (restarts > cfg.scrollMaxRestarts) {
          throw new RetriableError(`The companies scroll had to restart ${restarts} times (${err.message}); giving up on this run.`);
        }
        log.warn({ restarts, reason: err.message }, 'restarting the companies scroll from the beginning');
      }
    }
  });
}

/**
 * Scrolls from the first page to the end, pushing pages to `stage`. Throws ScrollRestart when the
 * scroll died (500) or expired (404 after a full page). A 404 after a full page is ambiguous — the
 * end of a scroll whose size is a multiple of 100 looks the same — so it restarts once, and accepts
 * the end if the new scroll ends in the same place (`previousEnd`).
 */
async function scrollOnce(ctx: AppContext, stage: EntityStage, previousEnd: { pages: number; fetched: number } | null) {
  const cfg = ctx.config.entities;
  let scrollParam: string | null = null;
  let pages = 0;
  let fetched = 0;
  let lastPageSize = SCROLL_PAGE_SIZE;
  let scrollExistsWaits = 0;
  for (;;) {
    let page;
    try {
      page = await fetchPage(ctx, scrollParam);
    } catch (err) {
      if (err instanceof FatalError && err.code === 'scroll_exists' && pages === 0) {
        // Another scroll (a crashed run of ours, or another client) is open; it expires after 60 s idle.
        if (++scrollExistsWaits > cfg.scrollExistsRetries) {
          throw new RetriableError(
            `Intercom kept answering scroll_exists for ${scrollExistsWaits - 1} waits; another client holds the companies scroll.`,
          );
        }
        ctx.log.info({ waitMs: cfg.scrollExistsWaitMs }, 'a companies scroll is already open for this workspace; waiting');
        await sleep(cfg.scrollExistsWaitMs);
        continue;
      }
      if (err instanceof NotFoundError && pages > 0) {
        if (lastPageSize < SCROLL_PAGE_SIZE) break; // 404 after a partial page: the end
        if (previousEnd && previousEnd.pages === pages && previousEnd.fetched === fetched) break; // same end twice
        throw new ScrollRestart('scroll_param expired (404)', { pages, fetched });
      }
      if (err instanceof RetriableError && err.status === 500) throw new ScrollRestart('Intercom ended the scroll with a 500');
      throw err;
    }
    if (page.companies.length === 0) break;
    stage.push(page.companies);
    pages += 1;
    fetched += page.companies.length;
    lastPageSize = page.companies.length;
    scrollParam = page.scrollParam ?? scrollParam;
    if (pages % 20 === 0) ctx.log.debug({ pages, fetched }, 'companies scroll progress');
  }
  return { pages, fetched };
}

/**
 * One page; a network blip or 502/503/504 is retried quickly, and a 429 waits out its short window
 * here (the scroll stays valid for 60 s; giving the job back would leave it open and expiring).
 */
async function fetchPage(ctx: AppContext, scrollParam: string | null) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await ctx.intercom.scrollCompanies(scrollParam);
    } catch (err) {
      if (err instanceof RateLimitedError && err.retryAfterMs <= 30_000) {
        await sleep(err.retryAfterMs);
        continue;
      }
      const transient = err instanceof RetriableError && err.status !== 500;
      if (!transient || attempt >= PAGE_RETRIES) throw err;
      await sleep(500 * (attempt + 1));
    }
  }
}

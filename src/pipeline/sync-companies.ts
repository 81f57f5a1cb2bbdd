import { setTimeout as sleep } from 'node:timers/promises';
import type { AppContext } from '../context.js';
import { FatalError, NotFoundError, RetriableError } from '../errors.js';
import { deleteStagedRows, EntityStage, type StageLimits } from '../sinks/entity-stage.js';
import { countCompanyDeletions, mergeCompanies } from '../sinks/entity-merge.js';
import { retryTransient } from './retry-transient.js';
import * as runs from './sync-runs.js';

/** Intercom's scroll pages hold 100 companies; a shorter page is the last one. */
const SCROLL_PAGE_SIZE = 100;
/** Retries of one page after a network error or 502/503/504, before the scroll is restarted. */
const PAGE_RETRIES = 2;
/**
 * How long the scroll waits for Postgres to take staged pages before giving the scroll up (and
 * starting again, which counts as a restart): Intercom forgets a scroll idle for 60 s, and the
 * next page request must still reach it in time.
 */
const STAGE_STALL_LIMIT_MS = 45_000;

export interface SyncCompaniesOptions {
  /** Mark companies deleted even when the scroll returned fewer than ETL_COMPANIES_MIN_LIVE_RATIO of the live ones. */
  allowMassDelete?: boolean;
  /** The job's cancellation signal: aborts in-flight requests; the run ends as interrupted. */
  signal?: AbortSignal;
  /** Staging limits (tests make them small). */
  stage?: Partial<StageLimits> & { stallLimitMs?: number };
  /** Called with each scroll attempt's stage (tests read its counters). */
  onStage?: (stage: EntityStage) => void;
}

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
 * complete — or if it would mark too many live companies deleted (a truncated scroll looks like
 * a mass deletion; the run is refused unless allowed). Only one scroll runs per workspace across
 * all processes and hosts (withStreamRun's lock; Intercom allows one open scroll). Pages are
 * fetched back to back and staged in Postgres in the background, a bounded number ahead.
 */
export async function syncCompanies(ctx: AppContext, options: SyncCompaniesOptions = {}): Promise<runs.SyncRunResult> {
  const cfg = ctx.config.entities;
  const log = ctx.log.child({ stream: 'companies' });
  const allowMassDelete = options.allowMassDelete === true || cfg.companiesAllowMassDelete;
  return runs.withStreamRun(ctx, 'companies', options.signal, async (run) => {
    const { runId } = run;
    await runs.startRun(ctx.pool, runId, 'companies');
    let restarts = 0;
    let previousEnd: { pages: number; fetched: number } | null = null;
    for (;;) {
      const stage = new EntityStage(ctx.pool, 'companies', runId, options.stage);
      options.onStage?.(stage);
      try {
        const scrolled = await scrollOnce(ctx, run, stage, previousEnd, options.stage?.stallLimitMs ?? STAGE_STALL_LIMIT_MS);
        const staged = await stage.drain();
        const done = { runId, pages: scrolled.pages, fetched: staged, restarts };
        const outcome = await run.mergeTransaction<{ refused: string } | { refused?: undefined; result: runs.SyncRunResult }>(
          async (client) => {
            const check = await countCompanyDeletions(client, runId);
            const minKept = Math.ceil(cfg.companiesMinLiveRatio * check.live);
            if (!allowMassDelete && check.live > 0 && check.kept < minKept) {
              const reason = refusalMessage(check, cfg.companiesMinLiveRatio);
              await runs.recordRefusal(client, { ...done, wouldDelete: check.live - check.kept, liveBefore: check.live, reason });
              return { refused: reason };
            }
            const merged = await mergeCompanies(client, runId);
            await deleteStagedRows(client, 'companies', [runId]);
            const r: runs.SyncRunResult = { ...done, stream: 'companies', ...merged };
            await runs.completeRun(client, r);
            return { result: r };
          },
        );
        if (outcome.refused !== undefined) {
          log.error({ syncRunId: runId, reason: outcome.refused }, 'companies scroll refused');
          throw new FatalError(outcome.refused);
        }
        log.info({ ...runs.runLogFields(outcome.result), peakBufferedPages: stage.counters.peakBufferedPages }, 'companies scroll merged');
        return outcome.result;
      } catch (err) {
        await stage.clear();
        if (!(err instanceof ScrollRestart)) throw err;
        run.assertOwned();
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

function refusalMessage(check: { live: number; kept: number; returned: number }, minRatio: number): string {
  return (
    `Refused to mark ${check.live - check.kept} of ${check.live} live companies deleted: the scroll returned ${check.returned} ` +
    `companies (${check.kept} of them live ones), and at least ${Math.round(minRatio * 100)} % of the live companies must come back ` +
    `(ETL_COMPANIES_MIN_LIVE_RATIO=${minRatio}). Nothing was changed. If Intercom really lost them, run ` +
    '`sync companies --allow-mass-delete` once (workers: ETL_COMPANIES_ALLOW_MASS_DELETE=true).'
  );
}

/**
 * Scrolls from the first page to the end, pushing pages to `stage`. Throws ScrollRestart when the
 * scroll died (500) or expired (404 after a full page), or when Postgres took no staged page for
 * `stallLimitMs` (fetching on would hold unbounded memory; waiting longer would let it expire). A 404 after a full page is ambiguous — the
 * end of a scroll whose size is a multiple of 100 looks the same — so it restarts once, and accepts
 * the end if the new scroll ends in the same place (`previousEnd`).
 */
async function scrollOnce(
  ctx: AppContext,
  run: runs.StreamRun,
  stage: EntityStage,
  previousEnd: { pages: number; fetched: number } | null,
  stallLimitMs: number,
) {
  const cfg = ctx.config.entities;
  const { signal } = run;
  let scrollParam: string | null = null;
  let pages = 0;
  let fetched = 0;
  let lastPageSize = SCROLL_PAGE_SIZE;
  let scrollExistsWaits = 0;
  for (;;) {
    run.assertOwned();
    // Bounded memory: wait for Postgres to take staged pages, but not until the scroll expires.
    if (!(await stage.waitForRoom(stallLimitMs, signal))) {
      throw new ScrollRestart(
        `Postgres took no staged page for ${Math.round(stallLimitMs / 1000)} s; gave the scroll up before it expired`,
      );
    }
    let page;
    try {
      page = await fetchPage(ctx, scrollParam, signal);
    } catch (err) {
      if (err instanceof FatalError && err.code === 'scroll_exists' && pages === 0) {
        // Another scroll (a crashed run of ours, or another client) is open; it expires after 60 s idle.
        if (++scrollExistsWaits > cfg.scrollExistsRetries) {
          throw new RetriableError(
            `Intercom kept answering scroll_exists for ${scrollExistsWaits - 1} waits; another client holds the companies scroll.`,
          );
        }
        ctx.log.info({ waitMs: cfg.scrollExistsWaitMs }, 'a companies scroll is already open for this workspace; waiting');
        await sleep(cfg.scrollExistsWaitMs, undefined, { signal });
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
async function fetchPage(ctx: AppContext, scrollParam: string | null, signal: AbortSignal | undefined) {
  return retryTransient(() => ctx.intercom.scrollCompanies(scrollParam, signal), {
    attempts: PAGE_RETRIES + 1,
    delayMs: (failures) => 500 * failures,
    transient: (err) => err instanceof RetriableError && err.status !== 500,
    rateLimitGraceMs: 30_000,
    ...(signal ? { signal } : {}),
  });
}

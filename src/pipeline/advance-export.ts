import { setTimeout as sleep } from 'node:timers/promises';
import { connectIntercom, currentSession, type AppContext, type IntercomSession } from '../context.js';
import { FatalError, NotFoundError, NotReadyError, RateLimitedError } from '../errors.js';
import { IntercomClient } from '../intercom/index.js';
import type { ExportJob } from '../intercom/types.js';
import { columnsForRequest, loadReportDataset } from '../sinks/report-catalogue.js';
import { loadReportWindow } from '../sinks/report-loader.js';
import { markRollupDirty } from '../sinks/daily-rollups.js';
import { exportWaitDuration, recordWindowLoaded } from '../metrics.js';
import { dispatchWindows, NO_LAUNCHER, type WindowLauncher } from './dispatch-windows.js';
import * as ledger from './export-ledger.js';
import { coldFloorMs, expectedExportMs, finishedAtEstimate, jitter, nextPollDelay, noteRunning } from './export-timing.js';
import { formatWindow, toIntercomBounds } from './time-windows.js';
import { settleWindowZone, zoneToRead, type ZoneSettings } from './timestamp-zones.js';
import { windowLogFields } from './window-log.js';

export type AdvanceResult = { outcome: 'loaded'; rows: number } | { outcome: 'skipped'; reason: string };

/** Longest first-poll wait spent inside the job run (longer ones sleep in the delayed set). */
const MAX_IN_RUN_WAIT_MS = 2_000;
/** Sleep of a job whose Intercom export runs but whose slot lease was lost and all slots are taken. */
const SLOT_WAIT_MS = 30_000;
/** Longest pause before exporting a window again after a failed, lost or expired export. */
const MAX_REEXPORT_DELAY_MS = 5 * 60_000;
/** A window interrupted by shutdown is looked at again this soon (by whichever worker is left). */
const AFTER_SHUTDOWN_MS = 1_000;

/**
 * Moves one window one step, from whatever state the ledger says it is in: enqueue at Intercom
 * (taking one of the workspace's export slots), or poll it, or download it into the table. Every
 * step that has to wait — for Intercom, for a slot, before exporting again — throws NotReadyError,
 * so the job sleeps in BullMQ's delayed set instead of looping here; there is no loop in this
 * function. Safe to run twice: every step re-reads the ledger first. `signal` (BullMQ's, aborted on
 * shutdown) cancels in-flight requests and downloads; the window then comes back from the ledger.
 */
export interface AdvanceOptions {
  /** BullMQ's cancellation of the job (shutdown). */
  signal?: AbortSignal;
  /** Starts the windows a freed slot lets go (the jobs layer's); default: nobody is started. */
  launcher?: WindowLauncher;
}

export async function advanceExportWindow(ctx: AppContext, key: ledger.WindowKey, options: AdvanceOptions = {}): Promise<AdvanceResult> {
  const { signal } = options;
  try {
    const session = await connectIntercom(ctx);
    return await advance(ctx, session, key, signal, options.launcher ?? NO_LAUNCHER);
  } catch (err) {
    if (signal?.aborted) {
      // Not a failure of the window: it resumes from the ledger (its Intercom job id is kept).
      throw new NotReadyError(`${describeWindow(key)}: interrupted by shutdown; resumes from the ledger`, AFTER_SHUTDOWN_MS);
    }
    throw err;
  }
}

async function advance(
  ctx: AppContext,
  session: IntercomSession,
  key: ledger.WindowKey,
  signal: AbortSignal | undefined,
  launcher: WindowLauncher,
): Promise<AdvanceResult> {
  const { workspace: me, slots } = session;
  const cfg = ctx.config.reports;
  const holder = slots.holderOf(key);
  const release = () => releaseAndDispatch(ctx, session, holder, launcher);
  // The window's lines carry its fields once each (bound here; never passed again in a line).
  let log = ctx.log.child(windowLogFields(key));

  let row = await ledger.startAttempt(ctx.pool, key);
  if (!row) throw new FatalError(`Window ${describeWindow(key)} is not in the export ledger; plan it with backfill or sync.`);
  if (row.intercomJobId) log = log.child({ intercomJobId: row.intercomJobId });
  if (row.status === 'loaded' || row.status === 'failed') return { outcome: 'skipped', reason: `already ${row.status}` };
  let slotFresh = false; // taken or renewed in this run: no renewal needed before the first poll

  if (!row.intercomJobId) {
    // The dispatcher took this slot before starting the job (this renews it). No slot: the lease ran
    // out while the job slept (a re-export back-off), or the job predates the dispatcher.
    if (!(await slots.acquire(holder))) {
      await ledger.returnToLedger(ctx.pool, [key]);
      return { outcome: 'skipped', reason: 'no free export slot; waits in the ledger for the dispatcher' };
    }
    slotFresh = true;
    let job: ExportJob;
    try {
      job = await ctx.intercom.enqueueExport(
        { datasetId: key.datasetId, attributeIds: row.attributeIds, ...toIntercomBounds(key.window) },
        signal,
      );
    } catch (err) {
      if (err instanceof RateLimitedError && err.scope === 'export_jobs') {
        // Someone else (another app) uses the workspace's exports: keep our slot and try again, so
        // the dispatcher does not start more windows into the same wall.
        log.info('Intercom has 5 unfinished export jobs for this workspace; waiting');
      } else {
        await release();
      }
      throw err;
    }
    try {
      await ledger.recordEnqueued(ctx.pool, key, job.jobIdentifier, job.status);
    } catch (err) {
      // Intercom runs a job the ledger does not know: its slot stays taken (rule 4) until it finishes.
      await slots.orphan(holder, job.jobIdentifier);
      throw err;
    }
    log = log.child({ intercomJobId: job.jobIdentifier });
    log.info('export enqueued');
    // Intercom needs time: look at the status when it is likely done (learned), not in the same instant.
    const windowMs = key.window.end - key.window.start;
    const expected = await expectedExportMs(ctx, key.datasetId, windowMs);
    const firstPollMs = nextPollDelay(
      0,
      expected,
      cfg.pollIntervalMs,
      expected === null ? await coldFloorMs(ctx, key.datasetId, windowMs) : null,
    );
    // A long export sleeps in BullMQ's delayed set; a short one is waited for here, once, so that
    // a quick export costs one job run instead of two (the worker is held for at most this long).
    if (firstPollMs > MAX_IN_RUN_WAIT_MS) throw new NotReadyError(`export ${job.jobIdentifier} enqueued`, firstPollMs);
    const enqueuedAt = new Date();
    await sleep(firstPollMs, undefined, signal ? { signal } : {});
    row = { ...row, status: 'exporting', intercomJobId: job.jobIdentifier, intercomStatus: job.status, enqueuedAt };
  }

  const intercomJobId: string = row.intercomJobId!;
  // A `loading` window's job already finished at Intercom (a load was cut short): no slot needed.
  if (row.status !== 'loading' && !slotFresh && !(await slots.renew(holder))) {
    // The lease ran out (this window was away longer than it lasts) and the slot may be someone
    // else's now: get one again before talking to Intercom (its export runs: it cannot go back to the ledger).
    if (!(await slots.acquire(holder)))
      throw new NotReadyError('lost its export slot lease; all export slots are taken', jitter(SLOT_WAIT_MS));
    log.warn('export slot lease had expired; took a slot again');
  }
  let status: ExportJob;
  try {
    status = await ctx.intercom.getExportStatus(intercomJobId, { appId: me.workspaceId }, signal);
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err; // the slot stays ours: the retry polls again
    await release();
    return exportAgainOrGiveUp(ctx, key, intercomJobId, `Intercom export job ${intercomJobId} was not found when polling its status (404)`);
  }
  const phase = IntercomClient.exportPhase(status);
  const seenAt = Date.now();
  const runningForMs: number = seenAt - (row.enqueuedAt?.getTime() ?? seenAt);

  if (phase === 'running' && runningForMs <= cfg.exportTimeoutMs) {
    noteRunning(ctx, intercomJobId, seenAt);
    if (status.status !== row.intercomStatus) await ledger.recordIntercomStatus(ctx.pool, key, status.status);
    const windowMs = key.window.end - key.window.start;
    const expected = await expectedExportMs(ctx, key.datasetId, windowMs);
    const floor = expected === null ? await coldFloorMs(ctx, key.datasetId, windowMs) : null;
    throw new NotReadyError(
      `export ${intercomJobId} is ${status.status}`,
      nextPollDelay(runningForMs, expected, cfg.pollIntervalMs, floor),
    );
  }
  if (phase === 'running') {
    // Intercom still counts the job against the workspace's 5: keep its slot until the lease expires
    // or the reconciler sees it finish, and export the window again with a new slot.
    await slots.orphan(holder, intercomJobId);
    return exportAgainOrGiveUp(
      ctx,
      key,
      intercomJobId,
      `Intercom export job ${intercomJobId} still ${status.status} after ${Math.round(runningForMs / 1000)} s`,
    );
  }
  await release();
  if (phase === 'failed')
    return exportAgainOrGiveUp(ctx, key, intercomJobId, `Intercom export job ${intercomJobId} ended ${status.status}`);

  // exported_at: the finish as the polls bracket it (what the next exports' poll times are learned from).
  const enqueuedAt = row.enqueuedAt?.getTime() ?? seenAt;
  const expected = await expectedExportMs(ctx, key.datasetId, key.window.end - key.window.start);
  const finishedAt = finishedAtEstimate(ctx, intercomJobId, seenAt, { enqueuedAt, expected });
  await ledger.recordIntercomStatus(ctx.pool, key, status.status, 'loading', new Date(finishedAt));
  exportWaitDuration.observe({ dataset: key.datasetId }, runningForMs / 1000);
  // Read only for the load: the enqueue and the polls need nothing from the catalogue.
  const dataset = await loadReportDataset(ctx.pool, key.datasetId);
  if (!dataset) throw new FatalError(`Dataset ${key.datasetId} is not in the catalogue; run \`intercom-etl datasets\` first.`);
  const columns = columnsForRequest(dataset, row.attributeIds);
  const started = Date.now();
  const zones: ZoneSettings = { configured: cfg.timestampTimezone, workspaceZone: me.timezone };
  let compressedBytes: () => number = () => 0;
  try {
    const result = await loadReportWindow(ctx.pool, ctx.config.pgSchema, {
      dataset,
      columns,
      window: key.window,
      intercomJobId,
      timestampTimezone: (client) => zoneToRead(client, zones, key.datasetId),
      openCsv:
        phase === 'no_data'
          ? null
          : async () => {
              const download = await ctx.intercom.downloadExport(status, { appId: me.workspaceId }, signal);
              compressedBytes = download.compressedBytes;
              return download.stream;
            },
      onLoaded: async (client, rows, readZone) => {
        const ts = await settleWindowZone(client, zones, dataset, key, readZone, log);
        await ledger.recordLoaded(client, key, {
          rows: rows - ts.trimmed,
          bytes: compressedBytes(),
          loadMs: Date.now() - started,
          timestampZone: ts.zone,
          timestampCheck: ts.check,
          timestampFlag: ts.flag,
        });
        // Committed with the rows: the dataset's daily rollup is behind until the next (batched) refresh.
        await markRollupDirty(client, key.datasetId);
      },
    });
    log.info({ rows: result.rows, bytes: compressedBytes(), ms: Date.now() - started, widened: result.widened }, 'window loaded');
    recordWindowLoaded(key.datasetId, result.rows, compressedBytes(), (Date.now() - started) / 1000);
    return { outcome: 'loaded', rows: result.rows };
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
    return exportAgainOrGiveUp(
      ctx,
      key,
      intercomJobId,
      `the download of Intercom export job ${intercomJobId} was not found (404; expired?)`,
    );
  }
}

/**
 * Forgets the Intercom job and counts a failed export. Within ETL_MAX_EXPORT_FAILURES the window is
 * exported again after a back-off that doubles with each failure (the job sleeps in BullMQ, it does
 * not loop); past it, the window fails with what happened, each time the same way.
 */
async function exportAgainOrGiveUp(ctx: AppContext, key: ledger.WindowKey, intercomJobId: string, reason: string): Promise<never> {
  const max = ctx.config.reports.maxExportFailures;
  const row = (await ledger.forgetIntercomJob(ctx.pool, key, reason, true))!;
  if (row.exportFailures > max) {
    throw new FatalError(
      `${reason}; gave up after ${row.exportFailures} failed exports of ${describeWindow(key)} (ETL_MAX_EXPORT_FAILURES=${max}).`,
    );
  }
  const delayMs = jitter(Math.min(MAX_REEXPORT_DELAY_MS, ctx.config.reports.pollIntervalMs * 2 ** row.exportFailures));
  ctx.log.warn(
    { ...windowLogFields(key, intercomJobId), failures: row.exportFailures, max, delayMs },
    `${reason}; exporting the window again`,
  );
  throw new NotReadyError(`${reason}; exporting again in ${delayMs} ms`, delayMs);
}

/**
 * Called when a window fails for good (fatal error, attempts exhausted): records why, and lets go of
 * its export slot — released when no Intercom job runs for it, kept as an orphan until its lease
 * expires when one may still be running (Intercom counts it until it finishes).
 */
export async function failExportWindow(
  ctx: AppContext,
  key: ledger.WindowKey,
  message: string,
  launcher: WindowLauncher = NO_LAUNCHER,
): Promise<void> {
  const row = await ledger.getWindow(ctx.pool, key);
  await ledger.recordFailed(ctx.pool, key, message);
  const session = await currentSession(ctx);
  if (!session) return; // never reached Intercom: no slot taken
  const holder = session.slots.holderOf(key);
  if (row?.intercomJobId && row.status === 'exporting' && (await session.slots.orphan(holder, row.intercomJobId))) return;
  await releaseAndDispatch(ctx, session, holder, launcher); // the release is a no-op when the slot was not taken
}

/**
 * For the reconciler: frees the orphaned slots (rule 4 of export-slots.ts) whose Intercom job has
 * finished, sooner than their leases would. A job Intercom does not know (404: expired, or another
 * app's) is left to its lease. Returns how many were freed.
 */
export async function releaseFinishedOrphans(ctx: AppContext, launcher: WindowLauncher = NO_LAUNCHER): Promise<number> {
  const session = await connectIntercom(ctx);
  const { workspace: me, slots } = session;
  let freed = 0;
  for (const intercomJobId of await slots.orphans()) {
    let status: ExportJob;
    try {
      status = await ctx.intercom.getExportStatus(intercomJobId, { appId: me.workspaceId });
    } catch (err) {
      if (err instanceof NotFoundError) continue;
      throw err;
    }
    if (IntercomClient.exportPhase(status) === 'running') continue;
    await session.slots.releaseOrphan(intercomJobId);
    freed += 1;
  }
  if (freed > 0) await dispatchQuietly(ctx, session, launcher);
  return freed;
}

/** Frees our export slot and starts the next waiting window(s) in it at once. */
async function releaseAndDispatch(ctx: AppContext, session: IntercomSession, holder: string, launcher: WindowLauncher): Promise<void> {
  const free = await session.slots.releaseCountingFree(holder);
  await dispatchQuietly(ctx, session, launcher, free);
}

/** A dispatch that fails (Redis or Postgres away) only delays the next windows: the tick starts them. */
async function dispatchQuietly(ctx: AppContext, session: IntercomSession, launcher: WindowLauncher, free?: number): Promise<void> {
  try {
    await dispatchWindows(ctx, session, launcher, free);
  } catch (err) {
    ctx.log.warn({ err: (err as Error).message }, 'could not dispatch the next windows; the dispatcher tick will');
  }
}

function describeWindow(key: ledger.WindowKey): string {
  return `${key.datasetId} ${formatWindow(key.window)}`;
}

import { connectIntercom, type AppContext } from '../context.js';
import { FatalError, NotFoundError, NotReadyError, RateLimitedError } from '../errors.js';
import { IntercomClient } from '../intercom/index.js';
import type { ExportJob } from '../intercom/types.js';
import { exportWaitDuration, recordWindowLoaded } from '../metrics.js';
import { columnsForRequest, loadReportDataset } from '../sinks/report-catalogue.js';
import { loadReportWindow } from '../sinks/report-loader.js';
import * as ledger from './export-ledger.js';
import { windowJobId as jobId } from './export-ledger.js';
import { formatWindow, toIntercomBounds } from './time-windows.js';
import { settleWindowZone, zoneToRead, type ZoneSettings } from './timestamp-zones.js';

export type AdvanceResult = { outcome: 'loaded'; rows: number } | { outcome: 'skipped'; reason: string };

/** Longest pause between two status polls of one export. */
const MAX_POLL_DELAY_MS = 60_000;
/** Longest sleep of a job waiting for an export slot; a released slot wakes the oldest waiter sooner. */
const SLOT_WAIT_MS = 30_000;

/**
 * Moves one window as far as it can go right now, from whatever state the ledger says it is in:
 * enqueue at Intercom (taking one of the workspace's export slots) → poll → download into the
 * table. Throws NotReadyError while Intercom works, so the job sleeps in BullMQ's delayed set
 * instead of holding a worker. Safe to run twice: every step re-reads the ledger first.
 */
export async function advanceExportWindow(ctx: AppContext, key: ledger.WindowKey): Promise<AdvanceResult> {
  const me = await connectIntercom(ctx);
  const slots = ctx.slots!;
  const cfg = ctx.config.reports;
  const holder = `${key.datasetId}|${key.window.start}|${key.window.end}`;
  const log = ctx.log.child({ dataset: key.datasetId, window: formatWindow(key.window) });

  let row = await ledger.startAttempt(ctx.pool, key);
  if (!row)
    throw new FatalError(`Window ${key.datasetId} ${formatWindow(key.window)} is not in the export ledger; plan it with backfill or sync.`);
  if (row.status === 'loaded' || row.status === 'failed') return { outcome: 'skipped', reason: `already ${row.status}` };

  const dataset = await loadReportDataset(ctx.pool, key.datasetId);
  if (!dataset) throw new FatalError(`Dataset ${key.datasetId} is not in the catalogue; run \`intercom-etl datasets\` first.`);
  const columns = columnsForRequest(dataset, row.attributeIds);

  for (;;) {
    if (!row.intercomJobId) {
      if (!(await slots.acquire(holder))) {
        await slots.addWaiter(jobId(key));
        // A slot may have been released between the two calls, before we were a waiter.
        if (!(await slots.acquire(holder))) throw new NotReadyError('all export slots are taken', jitter(SLOT_WAIT_MS));
      }
      await slots.removeWaiter(jobId(key));
      try {
        const job = await ctx.intercom.enqueueExport({
          datasetId: key.datasetId,
          attributeIds: row.attributeIds,
          ...toIntercomBounds(key.window),
        });
        await ledger.recordEnqueued(ctx.pool, key, job.jobIdentifier, job.status);
        row = { ...row, intercomJobId: job.jobIdentifier, enqueuedAt: new Date(), status: 'exporting' };
        log.info({ intercomJobId: job.jobIdentifier }, 'export enqueued');
      } catch (err) {
        await releaseSlot(ctx, holder);
        if (err instanceof RateLimitedError && err.scope === 'export_jobs') {
          log.info('Intercom has 5 unfinished export jobs for this workspace; waiting');
        }
        throw err;
      }
    }
    const intercomJobId: string = row.intercomJobId!;
    let status: ExportJob;
    try {
      status = await ctx.intercom.getExportStatus(intercomJobId, { appId: me.workspaceId });
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      // Intercom no longer knows the job the ledger remembers: start a new one.
      await releaseSlot(ctx, holder);
      row = (await ledger.forgetIntercomJob(ctx.pool, key, `Intercom export job ${intercomJobId} not found`, false))!;
      continue;
    }
    const phase = IntercomClient.exportPhase(status);
    const runningForMs: number = Date.now() - (row.enqueuedAt?.getTime() ?? Date.now());

    if (phase === 'running' && runningForMs <= cfg.exportTimeoutMs) {
      await slots.acquire(holder); // renews our lease (or re-takes it after a restart)
      await ledger.recordIntercomStatus(ctx.pool, key, status.status);
      throw new NotReadyError(`export ${intercomJobId} is ${status.status}`, pollDelay(runningForMs, cfg.pollIntervalMs));
    }
    await releaseSlot(ctx, holder);

    if (phase === 'running' || phase === 'failed') {
      const reason: string =
        phase === 'failed'
          ? `Intercom export job ${intercomJobId} ended ${status.status}`
          : `Intercom export job ${intercomJobId} still ${status.status} after ${Math.round(runningForMs / 1000)} s`;
      row = (await ledger.forgetIntercomJob(ctx.pool, key, reason, true))!;
      if (row.exportFailures > cfg.maxExportFailures) {
        throw new FatalError(
          `${reason}; gave up after ${row.exportFailures} failed exports of ${key.datasetId} ${formatWindow(key.window)}.`,
        );
      }
      log.warn({ failures: row.exportFailures }, `${reason}; enqueueing again`);
      continue;
    }

    await ledger.recordIntercomStatus(ctx.pool, key, status.status, 'loading');
    exportWaitDuration.observe({ dataset: key.datasetId }, runningForMs / 1000);
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
                const download = await ctx.intercom.downloadExport(status, { appId: me.workspaceId });
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
        },
      });
      log.info({ rows: result.rows, bytes: compressedBytes(), ms: Date.now() - started, widened: result.widened }, 'window loaded');
      recordWindowLoaded(key.datasetId, result.rows, compressedBytes(), (Date.now() - started) / 1000);
      return { outcome: 'loaded', rows: result.rows };
    } catch (err) {
      if (err instanceof NotFoundError) {
        // The download expired (or vanished) before we got it: export the window again.
        row = (await ledger.forgetIntercomJob(ctx.pool, key, `download of ${intercomJobId} not found (expired?)`, false))!;
        log.warn({ intercomJobId }, 'download not found; enqueueing the export again');
        continue;
      }
      throw err;
    }
  }
}

/** Frees our export slot and wakes the jobs that waited longest for one. */
async function releaseSlot(ctx: AppContext, holder: string): Promise<void> {
  for (const waiter of await ctx.slots!.release(holder)) {
    const job = await ctx.queues.reports.getJob(waiter);
    // Not delayed (already running, or gone): nothing to wake; it re-checks the slots itself.
    await job?.promote().catch(() => {});
  }
}

/** Poll quickly at first, then back off: a quarter of the time waited so far, capped at 60 s. */
function pollDelay(runningForMs: number, baseMs: number): number {
  return jitter(Math.min(MAX_POLL_DELAY_MS, Math.max(baseMs, runningForMs / 4)));
}

function jitter(ms: number): number {
  return Math.round(ms * (0.9 + Math.random() * 0.2));
}

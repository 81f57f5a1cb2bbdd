import { connectIntercom, type AppContext } from '../context.js';
import { migrate } from '../db/migrate.js';
import { refreshCatalogue } from '../pipeline/plan-exports.js';
import { nightlyStatus } from '../pipeline/nightly-runs.js';
import { entityStatus, reportStatus } from '../pipeline/status-report.js';
import { EXIT_OK } from './command-runner.js';
import { pad } from './format.js';

/** `datasets`: refresh the catalogue from get_datasets and list datasets, attributes and columns. */
export async function datasetsCommand(ctx: AppContext, opts: { json?: boolean }): Promise<number> {
  await migrate(ctx.pool, ctx.config.pgSchema);
  await connectIntercom(ctx);
  const datasets = await refreshCatalogue(ctx);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(datasets, null, 2)}\n`);
    return EXIT_OK;
  }
  for (const ds of datasets) {
    process.stdout.write(
      `\n${ds.datasetId} — ${ds.name} → table ${ctx.config.pgSchema}.${ds.tableName} (rows selected by ${ds.defaultTimeAttributeId})\n`,
    );
    for (const c of ds.columns) {
      const flags = [c.attributeId === ds.defaultTimeAttributeId ? 'time attribute' : '', c.current ? '' : 'no longer listed']
        .filter(Boolean)
        .join(', ');
      process.stdout.write(`  ${pad(c.qualifiedId ?? c.attributeId, 48)}${pad(c.columnName, 40)}${pad(c.columnType, 12)}${flags}\n`);
    }
  }
  return EXIT_OK;
}

/** `Europe/Berlin (detected)`, `UTC (configured)`, or `not yet detected`. */
function zoneLabel(s: { timestampZone: string | null; timestampZoneSource: string | null }): string {
  return s.timestampZone ? `${s.timestampZone} (${s.timestampZoneSource})` : 'not yet detected';
}

/** `status`: reporting windows per dataset, then companies and tickets. */
export async function statusCommand(ctx: AppContext, opts: { json?: boolean }): Promise<number> {
  await migrate(ctx.pool, ctx.config.pgSchema);
  const [reports, entities, nightly] = await Promise.all([
    reportStatus(ctx.pool, ctx.config.reports.timestampTimezone),
    entityStatus(ctx.pool),
    nightlyStatus(ctx.pool),
  ]);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ reports, entities, nightly }, null, 2)}\n`);
    return EXIT_OK;
  }
  const day = (d: Date | null): string => (d ? d.toISOString().replace('T', ' ').slice(0, 16) : '-');
  const out: string[] = [];
  if (reports.length === 0) out.push(`No reporting data loaded yet in schema "${ctx.config.pgSchema}".`);
  else {
    out.push(
      `${pad('dataset', 34)}${pad('table', 38)}${pad('loaded', 8)}${pad('pending', 9)}${pad('failed', 8)}${pad('loaded through', 18)}${pad('last load', 18)}${pad('rows', 10)}timestamps`,
    );
    for (const s of reports) {
      out.push(
        `${pad(s.datasetId, 34)}${pad(s.tableName, 38)}${pad(String(s.windowsLoaded), 8)}${pad(String(s.windowsPending), 9)}${pad(String(s.windowsFailed), 8)}${pad(day(s.loadedThrough), 18)}${pad(day(s.lastLoadedAt), 18)}${pad(String(s.rows), 10)}${zoneLabel(s)}`,
      );
    }
    for (const s of reports.filter((r) => r.windowsFlagged > 0)) {
      out.push(`  ${s.datasetId}: ${s.windowsFlagged} window(s) whose timestamps fit no candidate zone; latest ${s.lastFlag}`);
    }
    for (const s of reports.filter((r) => r.lastError)) out.push(`  ${s.datasetId}: last failure: ${s.lastError}`);
  }
  out.push(
    '',
    `${pad('stream', 12)}${pad('last completed run', 20)}${pad('last run', 11)}${pad('fetched', 9)}${pad('rows', 9)}${pad('deleted', 9)}watermark`,
  );
  for (const e of entities) {
    out.push(
      `${pad(e.stream, 12)}${pad(day(e.lastCompletedAt), 20)}${pad(e.lastRunStatus ?? '-', 11)}${pad(e.lastRunRows === null ? '-' : String(e.lastRunRows), 9)}${pad(String(e.rows), 9)}${pad(e.deleted === null ? '-' : String(e.deleted), 9)}${e.watermark ? e.watermark.toISOString() : '-'}`,
    );
    const unfinished = e.lastRunStatus === 'failed' || e.lastRunStatus === 'refused' || e.lastRunStatus === 'interrupted';
    if (unfinished && e.lastError) out.push(`  ${e.stream}: last run ${e.lastRunStatus}: ${e.lastError}`);
  }
  out.push('', ...nightlyLines(nightly, day));
  process.stdout.write(`${out.join('\n')}\n`);
  return EXIT_OK;
}

function nightlyLines(n: Awaited<ReturnType<typeof nightlyStatus>>, day: (d: Date | null) => string): string[] {
  const { last, lastFailed } = n;
  if (!last) return ['nightly: no run yet'];
  const outcome =
    last.status === 'completed'
      ? `completed (${last.windowsQueued ?? 0} windows queued)`
      : last.status === 'failed'
        ? `FAILED after ${last.attempts} attempts: ${last.error ?? 'unknown error'}`
        : last.status === 'retrying'
          ? `retrying (attempt ${last.attempts} failed: ${last.error ?? 'unknown error'})`
          : 'running';
  const lines = [`nightly: last run ${day(last.startedAt)} ${outcome}`];
  if (lastFailed && lastFailed.runId !== last.runId) {
    lines.push(`nightly: last failed run ${day(lastFailed.startedAt)}: ${lastFailed.error ?? 'unknown error'}`);
  }
  return lines;
}

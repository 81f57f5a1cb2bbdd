import type { AppContext } from '../context.js';
import { unmigratedSchemaProblem } from '../db/migrate.js';
import { FatalError } from '../errors.js';
import { collectStoredStatus, isoUtc, statusProblems, type StoredStatus } from '../pipeline/status-snapshot.js';
import { EXIT_FAILED, EXIT_OK } from './command-runner.js';
import { pad } from './format.js';

export interface StatusOptions {
  json?: boolean;
  check?: boolean;
  /** --max-age, ms (default 36 h). */
  maxAgeMs: number;
}

export interface QueueReport {
  name: string;
  waiting: number;
  active: number;
  delayed: number;
  prioritized: number;
  failed: number;
  /** Workers connected to this queue now, in any process (BullMQ `getWorkersCount`). */
  workers: number;
}

/** The shape `status --json` prints (README: "`status --json`"). */
export interface StatusReport extends StoredStatus {
  queues: QueueReport[];
  /** The `nightly-sync` Job Scheduler: next run, its cron pattern and zone; null when no worker registered it. */
  nextNightlyRun: { at: string | null; pattern: string | null; tz: string | null } | null;
  /** What `status --check` reports (empty: OK), with --max-age. */
  maxAgeSeconds: number;
  problems: string[];
}

/** Queue depth, live workers and the next scheduled run, from BullMQ. */
async function queueReports(ctx: AppContext): Promise<Pick<StatusReport, 'queues' | 'nextNightlyRun'>> {
  const queues = await Promise.all(
    Object.values(ctx.queues).map(async (q) => {
      const [counts, workers] = await Promise.all([
        q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed'),
        q.getWorkersCount(),
      ]);
      return {
        name: q.name,
        waiting: counts.waiting ?? 0,
        active: counts.active ?? 0,
        delayed: counts.delayed ?? 0,
        prioritized: counts.prioritized ?? 0,
        failed: counts.failed ?? 0,
        workers,
      };
    }),
  );
  const scheduler = await ctx.queues.control.getJobScheduler('nightly-sync');
  return {
    queues,
    nextNightlyRun: scheduler
      ? { at: scheduler.next ? isoUtc(scheduler.next) : null, pattern: scheduler.pattern ?? null, tz: scheduler.tz ?? null }
      : null,
  };
}

/** Everything `status` shows. Reads only: a schema not migrated is an error, never created. */
export async function collectStatus(ctx: AppContext, maxAgeMs: number, now = Date.now()): Promise<StatusReport> {
  const problem = await unmigratedSchemaProblem(ctx.pool, ctx.config.pgSchema);
  if (problem) throw new FatalError(problem);
  const [stored, queues] = await Promise.all([collectStoredStatus(ctx.pool, ctx.config, now), queueReports(ctx)]);
  return { ...stored, ...queues, maxAgeSeconds: Math.round(maxAgeMs / 1000), problems: statusProblems(stored, ctx.config, maxAgeMs, now) };
}

/** `status [--json] [--check [--max-age 36h]]`. */
export async function statusCommand(ctx: AppContext, opts: StatusOptions): Promise<number> {
  const s = await collectStatus(ctx, opts.maxAgeMs);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
    return opts.check && s.problems.length > 0 ? EXIT_FAILED : EXIT_OK;
  }
  if (opts.check) {
    const lines =
      s.problems.length > 0
        ? s.problems
        : [
            `OK: every stream loaded within ${formatAge(opts.maxAgeMs)}, no failed window, last nightly run ${s.nightly.last?.status ?? 'none yet'}.`,
          ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return s.problems.length > 0 ? EXIT_FAILED : EXIT_OK;
  }
  process.stdout.write(`${renderStatus(s).join('\n')}\n`);
  return EXIT_OK;
}

const formatAge = (ms: number) => `${(ms / 3_600_000).toFixed(ms % 3_600_000 === 0 ? 0 : 1)}h`;
const interval = (w: { from: string; to: string }) => `${w.from}/${w.to}`;
/** At most this many gaps or failed windows per dataset in the text; --json has them all. */
const LIST_LIMIT = 10;

function listed<T>(items: T[], show: (t: T) => string): string[] {
  const lines = items.slice(0, LIST_LIMIT).map(show);
  if (items.length > LIST_LIMIT) lines.push(`… and ${items.length - LIST_LIMIT} more (status --json lists them all)`);
  return lines;
}

export function renderStatus(s: StatusReport): string[] {
  const out = [`Schema "${s.schema}" at ${s.generatedAt}. Times are UTC; windows are from/to, the end excluded.`, ''];
  if (s.reports.length === 0) out.push(`No reporting data loaded yet in schema "${s.schema}".`);
  else {
    out.push(
      `${pad('dataset', 34)}${pad('table', 38)}${pad('loaded', 8)}${pad('in flight', 11)}${pad('failed', 8)}${pad('contiguous loaded range', 44)}${pad('last load', 22)}${pad('rows', 12)}timestamps`,
    );
    for (const r of s.reports) {
      const zone = r.timestampZone ? `${r.timestampZone} (${r.timestampZoneSource})` : 'not yet detected';
      const rows = `${r.rowsSource === 'estimate' ? '~' : ''}${r.rows}`;
      out.push(
        `${pad(r.datasetId, 34)}${pad(r.tableName, 38)}${pad(String(r.windowsLoaded), 8)}${pad(String(r.windowsInFlight), 11)}${pad(String(r.windowsFailed), 8)}${pad(r.contiguous ? interval(r.contiguous) : '-', 44)}${pad(r.lastLoadedAt ?? '-', 22)}${pad(rows, 12)}${zone}`,
      );
    }
    out.push("  (rows: ~ is Postgres's estimate, pg_class.reltuples; otherwise the sum of the ledger's rows_loaded)");
    for (const r of s.reports) {
      out.push(...listed(r.gaps, (g) => `  ${r.datasetId}: gap ${interval(g)}`));
      out.push(
        ...listed(r.failedWindows, (f) => `  ${r.datasetId}: FAILED ${interval(f)} at ${f.failedAt}: ${f.error ?? 'unknown error'}`),
      );
      out.push(...listed(r.inFlightWindows, (f) => `  ${r.datasetId}: ${f.status} ${interval(f)}`));
      if (r.windowsFlagged > 0)
        out.push(`  ${r.datasetId}: ${r.windowsFlagged} window(s) whose timestamps fit no candidate zone; latest ${r.lastFlag}`);
      if (r.rollup && (r.rollup.loadsSinceRefresh > 0 || r.rollup.lastError))
        out.push(
          `  ${r.datasetId}: daily rollup ${r.rollup.view} refreshed ${r.rollup.refreshedAt ?? 'never'}, ${r.rollup.loadsSinceRefresh} window load(s) since` +
            (r.rollup.lastError ? `; last refresh FAILED: ${r.rollup.lastError}` : ''),
        );
    }
    if (s.reports.some((r) => r.failedWindows.length > 0))
      out.push('  Re-run the failed windows with `intercom-etl retry [--dataset ID]`.');
  }
  out.push(
    '',
    `${pad('stream', 12)}${pad('last completed run', 22)}${pad('last run', 12)}${pad('fetched', 9)}${pad('rows', 10)}${pad('deleted', 9)}watermark`,
  );
  for (const e of s.entities) {
    out.push(
      `${pad(e.stream, 12)}${pad(e.lastCompletedAt ?? '-', 22)}${pad(e.lastRunStatus ?? '-', 12)}${pad(e.lastRunRows === null ? '-' : String(e.lastRunRows), 9)}${pad(e.rows === null ? '-' : `~${e.rows}`, 10)}${pad(e.deleted === null ? '-' : String(e.deleted), 9)}${e.watermark ?? '-'}`,
    );
    const unfinished = e.lastRunStatus === 'failed' || e.lastRunStatus === 'refused' || e.lastRunStatus === 'interrupted';
    if (unfinished && e.lastError) out.push(`  ${e.stream}: last run ${e.lastRunStatus}: ${e.lastError}`);
  }
  out.push('', ...nightlyLines(s));
  out.push(
    `queues: ${s.queues.map((q) => `${q.name} ${q.waiting + q.prioritized} waiting, ${q.active} active, ${q.delayed} delayed, ${q.failed} failed, ${q.workers} worker(s)`).join('; ')}`,
  );
  if (s.problems.length > 0)
    out.push('', `Problems (status --check, max age ${formatAge(s.maxAgeSeconds * 1000)}):`, ...s.problems.map((p) => `  ${p}`));
  return out;
}

function nightlyLines(s: StatusReport): string[] {
  const { last, lastFailed } = s.nightly;
  const next = s.nextNightlyRun
    ? `nightly: next run ${s.nextNightlyRun.at ?? '-'} (${s.nextNightlyRun.pattern ?? '?'} ${s.nextNightlyRun.tz ?? 'UTC'})`
    : 'nightly: not scheduled (no worker has registered the nightly-sync schedule)';
  if (!last) return ['nightly: no run yet', next];
  const outcome =
    last.status === 'completed'
      ? `completed (${last.windowsQueued ?? 0} windows queued)`
      : last.status === 'failed'
        ? `FAILED after ${last.attempts} attempts: ${last.error ?? 'unknown error'}`
        : last.status === 'retrying'
          ? `retrying (attempt ${last.attempts} failed: ${last.error ?? 'unknown error'})`
          : 'running';
  const lines = [`nightly: last run ${last.startedAt} ${outcome}`];
  if (lastFailed && lastFailed.runId !== last.runId)
    lines.push(`nightly: last failed run ${lastFailed.startedAt}: ${lastFailed.error ?? 'unknown error'}`);
  lines.push(next);
  return lines;
}

import { currentSession, type AppContext } from '../context.js';
import {
  ensureDailyRollups,
  recordWorkspaceZone,
  refreshDailyRollups,
  type EnsureResult,
  type RefreshResult,
  type RollupSettings,
} from '../sinks/daily-rollups.js';

export interface RollupUpdate {
  ensure: EnsureResult;
  refreshed: RefreshResult[];
}

export function rollupSettings(ctx: AppContext): RollupSettings {
  return { schema: ctx.config.pgSchema, biSchema: ctx.config.biSchema, timezone: ctx.config.rollups.timezone };
}

/** `migrate`'s last step: the views made, remade or dropped to match the catalogue (no refresh). */
export function ensureRollups(ctx: AppContext): Promise<EnsureResult> {
  return ensureDailyRollups(ctx.pool, rollupSettings(ctx));
}

/**
 * The daily rollups after loads, in one batch: views made or remade to match the catalogue, then
 * the views of datasets loaded since their last refresh (`datasetIds`: only those; `all`: every
 * view) refreshed concurrently. Run at the end of backfill/sync, by the workers' `refresh-rollups`
 * schedule (which covers nightly runs and windows loaded by any process) and by `refresh-rollups`.
 */
export async function updateDailyRollups(
  ctx: AppContext,
  options: { datasetIds?: string[]; all?: boolean; signal?: AbortSignal } = {},
): Promise<RollupUpdate> {
  const session = await currentSession(ctx);
  if (session) await recordWorkspaceZone(ctx.pool, session.workspace.workspaceId, session.workspace.timezone);
  const settings = rollupSettings(ctx);
  const ensure = await ensureDailyRollups(ctx.pool, settings);
  const refreshed = await refreshDailyRollups(ctx.pool, settings, options);
  for (const e of ensure.errors) ctx.log.warn({ err: e }, 'daily rollup could not be made');
  for (const r of refreshed.filter((x) => x.error)) ctx.log.warn({ dataset: r.datasetId, err: r.error }, 'daily rollup refresh failed');
  if (ensure.created.length > 0 || refreshed.length > 0) {
    ctx.log.info(
      { created: ensure.created, refreshed: refreshed.filter((r) => !r.error).map((r) => `${r.datasetId} ${r.ms} ms`) },
      'daily rollups updated',
    );
  }
  return { ensure, refreshed };
}

/** One line for the CLI: what was made and refreshed, and every failure. */
export function formatRollupUpdate(u: RollupUpdate, biSchema: string): string {
  const ok = u.refreshed.filter((r) => !r.error);
  const secs = (ok.reduce((s, r) => s + r.ms, 0) / 1000).toFixed(1);
  const parts = [
    `Daily rollups in "${biSchema}": ${u.ensure.created.length} created, ${ok.length} refreshed (${secs} s)` +
      (u.ensure.dropped.length ? `, ${u.ensure.dropped.length} dropped` : '') +
      '.',
  ];
  for (const e of u.ensure.errors) parts.push(`  FAILED: ${e}`);
  for (const r of u.refreshed.filter((x) => x.error)) parts.push(`  FAILED: refresh of ${r.view || r.datasetId}: ${r.error}`);
  return parts.join('\n');
}

export function rollupUpdateFailed(u: RollupUpdate): boolean {
  return u.ensure.errors.length > 0 || u.refreshed.some((r) => r.error);
}

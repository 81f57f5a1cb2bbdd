import { connectIntercom, type AppContext } from '../context.js';
import { migrate } from '../db/migrate.js';
import { refreshCatalogue } from '../pipeline/plan-exports.js';
import { reportStatus } from '../pipeline/status-report.js';
import { EXIT_OK } from './command-runner.js';
import { pad } from './run-reports.js';

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

/** `status`: per dataset, windows loaded / pending / failed, last load, rows. */
export async function statusCommand(ctx: AppContext, opts: { json?: boolean }): Promise<number> {
  await migrate(ctx.pool, ctx.config.pgSchema);
  const statuses = await reportStatus(ctx.pool);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(statuses, null, 2)}\n`);
    return EXIT_OK;
  }
  if (statuses.length === 0) {
    process.stdout.write(
      `Nothing loaded yet in schema "${ctx.config.pgSchema}". Run \`intercom-etl backfill\` or \`intercom-etl sync\`.\n`,
    );
    return EXIT_OK;
  }
  const day = (d: Date | null): string => (d ? d.toISOString().replace('T', ' ').slice(0, 16) : '-');
  process.stdout.write(
    `${pad('dataset', 34)}${pad('table', 38)}${pad('loaded', 8)}${pad('pending', 9)}${pad('failed', 8)}${pad('loaded through', 18)}${pad('last load', 18)}rows\n`,
  );
  for (const s of statuses) {
    process.stdout.write(
      `${pad(s.datasetId, 34)}${pad(s.tableName, 38)}${pad(String(s.windowsLoaded), 8)}${pad(String(s.windowsPending), 9)}${pad(String(s.windowsFailed), 8)}${pad(day(s.loadedThrough), 18)}${pad(day(s.lastLoadedAt), 18)}${s.rows}\n`,
    );
  }
  const failed = statuses.filter((s) => s.lastError);
  for (const s of failed) process.stdout.write(`\n${s.datasetId}: last failure: ${s.lastError}`);
  if (failed.length > 0) process.stdout.write('\n');
  return EXIT_OK;
}

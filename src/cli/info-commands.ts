import { connectIntercom, type AppContext } from '../context.js';
import { migrateWarehouse } from '../sinks/bi-views.js';
import { refreshCatalogue } from '../pipeline/plan-exports.js';
import { EXIT_OK } from './command-runner.js';
import { pad } from './format.js';

/** `datasets`: refresh the catalogue from get_datasets and list datasets, attributes and columns. */
export async function datasetsCommand(ctx: AppContext, opts: { json?: boolean }): Promise<number> {
  await migrateWarehouse(ctx.pool, ctx.config);
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
      const flags = [
        c.attributeId === ds.defaultTimeAttributeId ? 'time attribute' : '',
        c.loadColumn !== c.columnName ? `split from ${c.loadColumn}` : '',
        c.widened ? 'widened' : '',
        c.current ? '' : 'no longer listed',
      ]
        .filter(Boolean)
        .join(', ');
      process.stdout.write(`  ${pad(c.qualifiedId ?? c.attributeId, 48)}${pad(c.columnName, 40)}${pad(c.columnType, 12)}${flags}\n`);
    }
  }
  return EXIT_OK;
}

export { statusCommand } from './status-command.js';
export { retryCommand } from './retry-command.js';

import { readFileSync } from 'node:fs';
import { FakeIntercom } from '../fake-intercom/index.js';
import { describeFaultRule, faultRules, parseFaultRules, type FaultOptions } from '../fake-intercom/server/fault-options.js';
import type { FailureRule } from '../fake-intercom/index.js';
import { quoteIdent } from '../db/pool.js';
import { DAY_MS, isoDay, startOfUtcDay } from '../pipeline/time-windows.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, onShutdownSignal, runCommand } from './command-runner.js';
import { formatSummary } from './format.js';
import { runSummaryFields, syncFailed } from '../pipeline/run-sync.js';
import { formatSyncSummary, runSyncCommand } from './run-sync.js';

export const DEMO_TOKEN = 'demo-token';

/**
 * `demo`: the whole pipeline against the fake Intercom, started in this process — catalogue, 7 days
 * of every dataset exported, polled, downloaded and loaded, then a companies scroll and a tickets
 * run — into schema `intercom_demo` (so it never touches real data), ending with a summary of what
 * was loaded.
 */
export async function demoCommand(opts: { days: number; schema: string }): Promise<never> {
  // A workspace of its own per run: export slots are keyed by workspace, and a killed demo's leases must not slow the next.
  const workspace = { idCode: `demo${Date.now().toString(36)}` };
  const fake = await FakeIntercom.start({ tokens: [DEMO_TOKEN], workspace, export: { latencyMs: 800 } });
  process.stdout.write(`Fake Intercom listening on ${fake.url}\n`);
  const end = startOfUtcDay(Date.now());
  const start = end - opts.days * DAY_MS;
  return runCommand(
    async (ctx) => {
      const { signal } = onShutdownSignal();
      try {
        const result = await runSyncCommand(
          ctx,
          { reports: { mode: 'backfill', range: { start, end } }, entities: ['companies', 'tickets'] },
          { signal },
        );
        const summary = result.reports!;
        process.stdout.write(
          `\nDemo backfill ${isoDay(start)} .. ${isoDay(end - 1)} into schema "${ctx.config.pgSchema}":\n${formatSummary(summary)}\n`,
        );
        process.stdout.write(`\n${formatSyncSummary({ reports: null, entities: result.entities })}\n`);
        const { rows } = await ctx.pool.query<{ dataset_id: string; table_name: string }>(
          'SELECT dataset_id, table_name FROM etl_datasets ORDER BY 1',
        );
        process.stdout.write("\nTables (try: psql -c 'SELECT * FROM intercom_demo.report_conversation LIMIT 5'):\n");
        for (const table of [...rows.map((r) => r.table_name), 'companies', 'tickets', 'ticket_types', 'ticket_states']) {
          const n = await ctx.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${quoteIdent(table)}`);
          process.stdout.write(`  ${ctx.config.pgSchema}.${table}: ${n.rows[0]?.n} rows\n`);
        }
        process.stdout.write(
          `\nViews for BI in schema "${ctx.config.biSchema}" (see docs/analytics.md), e.g. SELECT * FROM ${ctx.config.biSchema}.conversations LIMIT 5\n`,
        );
        return { code: syncFailed(result) ? EXIT_FAILED : EXIT_OK, summary: runSummaryFields(result) };
      } finally {
        await fake.close();
      }
    },
    {
      command: 'demo',
      args: opts,
      overrides: {
        INTERCOM_BASE_URL: fake.url,
        INTERCOM_ACCESS_TOKEN: DEMO_TOKEN,
        PG_SCHEMA: opts.schema,
        // Its rollups too stay away from real data, whatever ETL_BI_SCHEMA says.
        ETL_BI_SCHEMA: `${opts.schema}_bi`,
        ETL_QUEUE_PREFIX: 'intercom-etl-demo',
        ETL_POLL_INTERVAL_MS: '300',
      },
    },
  );
}

/**
 * `fake-intercom`: serve the fake on a port until interrupted (for manual runs and docker-compose's
 * demo profile), optionally with injected failures to rehearse them by hand.
 */
export async function fakeIntercomCommand(
  opts: {
    port: number;
    host: string;
    latency: number;
    token: string;
    publicUrl?: string;
  } & Omit<FaultOptions, 'rules'> & { faults?: string },
): Promise<void> {
  const rules = faultRules({ ...opts, ...(opts.faults ? { rules: readFaultsFile(opts.faults) } : {}) });
  const fake = await FakeIntercom.start({
    port: opts.port,
    host: opts.host,
    tokens: [opts.token],
    export: { latencyMs: opts.latency },
    ...(opts.publicUrl ? { publicUrl: opts.publicUrl } : {}),
  });
  for (const rule of rules) fake.injectFailure(rule);
  process.stdout.write(
    `Fake Intercom listening on ${fake.url} (workspace ${fake.workspaceId}).\n` +
      `Use it with: INTERCOM_BASE_URL=${fake.url} INTERCOM_ACCESS_TOKEN=${opts.token}\n` +
      rules.map((r) => `Injected failure: ${describeFaultRule(r)}\n`).join(''),
  );
  const { stopped } = onShutdownSignal();
  await stopped;
  await fake.close();
}

/** The rules of a `--faults` file; a file that cannot be read or is not valid is a usage error (exit 2). */
function readFaultsFile(file: string): FailureRule[] {
  try {
    return parseFaultRules(JSON.parse(readFileSync(file, 'utf8')));
  } catch (err) {
    process.stderr.write(`error: --faults ${file}: ${(err as Error).message}\n`);
    process.exit(EXIT_USAGE);
  }
}

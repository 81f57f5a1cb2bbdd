#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { migrate } from '../db/migrate.js';
import { DAY_MS, parseDay, parseDuration } from '../pipeline/time-windows.js';
import { checkCommand } from './check-command.js';
import { EXIT_FAILED, EXIT_OK, onShutdownSignal, runCommand } from './command-runner.js';
import { datasetsCommand, statusCommand } from './info-commands.js';
import { formatSummary } from './format.js';
import { runReports } from './run-reports.js';
import { formatSyncSummary, runSync, STREAMS, syncFailed, syncRequest, type Stream } from './run-sync.js';
import { workerCommand } from './worker-command.js';

const program = new Command('intercom-etl')
  .description(
    'Loads Intercom reporting data exports into Postgres, on BullMQ workers. Configuration comes from the environment (see README).',
  )
  .showHelpAfterError();

const asDay = (what: string) => (v: string) => {
  try {
    return parseDay(v, what);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};
const asWindow = (v: string): number => {
  try {
    return parseDuration(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};
const asInt = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${JSON.stringify(v)} is not a whole number.`);
  return n;
};
const collect = (v: string, prev: string[]): string[] => [...prev, v];

program
  .command('migrate')
  .description('create or upgrade the tables in PG_SCHEMA (safe to run concurrently)')
  .action(() =>
    runCommand(async (ctx) => {
      const r = await migrate(ctx.pool, ctx.config.pgSchema);
      process.stdout.write(
        `Schema "${ctx.config.pgSchema}": applied ${r.applied.length} migration(s)${r.applied.length ? ` (${r.applied.join(', ')})` : ''}; ${r.alreadyApplied} already applied.\n`,
      );
      return EXIT_OK;
    }),
  );

program
  .command('check')
  .description('check the token (GET /me), the reporting API, Postgres and Redis; one verdict each')
  .action(() => runCommand(checkCommand));

program
  .command('datasets')
  .description('list the reporting datasets, their attributes and the columns they load into')
  .option('--json', 'print JSON')
  .action((opts: { json?: boolean }) => runCommand((ctx) => datasetsCommand(ctx, opts)));

program
  .command('backfill')
  .description('export and load every window of a date range (re-exporting replaces those rows), then exit')
  .requiredOption('--from <YYYY-MM-DD>', 'first day (UTC), inclusive', asDay('--from'))
  .requiredOption('--to <YYYY-MM-DD>', 'last day (UTC), inclusive', asDay('--to'))
  .option('--dataset <id>', 'only this dataset (repeatable); default: all', collect, [])
  .option('--window <duration>', 'window length: 1h…12h dividing a day, or whole days (default ETL_WINDOW, 1d)', asWindow)
  .option('--missing-only', 'skip windows already loaded (default: re-export them)')
  .action((opts: { from: number; to: number; dataset: string[]; window?: number; missingOnly?: boolean }) =>
    runCommand(async (ctx) => {
      if (opts.to < opts.from) throw new InvalidArgumentError('--to is before --from.');
      const { signal } = onShutdownSignal();
      const summary = await runReports(
        ctx,
        {
          mode: 'backfill',
          range: { start: opts.from, end: opts.to + DAY_MS },
          datasetIds: opts.dataset,
          onlyMissing: opts.missingOnly ?? false,
          ...(opts.window ? { windowMs: opts.window } : {}),
        },
        { signal },
      );
      process.stdout.write(`${formatSummary(summary)}\n`);
      return summary.progress.failed === 0 ? EXIT_OK : EXIT_FAILED;
    }),
  );

program
  .command('sync')
  .description('the nightly run, now: reporting lookback windows, a full companies scroll, incremental tickets; then exit')
  .argument('[streams...]', `any of ${STREAMS.join(', ')} (default: all three)`)
  .option('--allow-mass-delete', 'companies: mark companies deleted even if the scroll returned far fewer than are live')
  .action((streams: string[], opts: { allowMassDelete?: boolean }) =>
    runCommand(async (ctx) => {
      const unknown = streams.filter((s) => !(STREAMS as readonly string[]).includes(s));
      if (unknown.length > 0) throw new InvalidArgumentError(`Unknown stream(s) ${unknown.join(', ')}; choose from ${STREAMS.join(', ')}.`);
      const chosen = (streams.length > 0 ? [...new Set(streams)] : [...STREAMS]) as Stream[];
      const { signal } = onShutdownSignal();
      const request = syncRequest(chosen, { allowMassDelete: opts.allowMassDelete === true });
      const summary = await runSync(ctx, request, (line) => process.stderr.write(`${line}\n`), signal);
      process.stdout.write(`${formatSyncSummary(summary)}\n`);
      return syncFailed(summary) ? EXIT_FAILED : EXIT_OK;
    }),
  );

program
  .command('worker')
  .description('run workers and the nightly schedule until SIGTERM/SIGINT (start several to scale out)')
  .action(() => runCommand(workerCommand, { defaultLogLevel: 'info' }));

program
  .command('status')
  .description('per dataset: windows loaded, pending, failed, last load, rows')
  .option('--json', 'print JSON')
  .action((opts: { json?: boolean }) => runCommand((ctx) => statusCommand(ctx, opts)));

program
  .command('demo')
  .description('run the whole pipeline against a fake Intercom started in-process, into schema intercom_demo')
  .option('--days <n>', 'days to backfill', asInt, 7)
  .option('--schema <name>', 'schema to load into', 'intercom_demo')
  // Loaded here, not at the top: only demo and fake-intercom need the fake (src/fake-intercom).
  .action(async (opts: { days: number; schema: string }) => (await import('./demo-command.js')).demoCommand(opts));

program
  .command('fake-intercom')
  .description('serve the fake Intercom API (for manual runs and the docker-compose demo)')
  .option('--port <n>', 'port', asInt, 8787)
  .option('--host <addr>', 'address to listen on', '127.0.0.1')
  .option('--latency <ms>', 'time an export job takes', asInt, 2000)
  .option('--token <token>', 'the access token it accepts', 'demo-token')
  .option('--public-url <url>', 'base URL put in download_url (when clients reach it by another name)')
  .action(async (opts: { port: number; host: string; latency: number; token: string; publicUrl?: string }) =>
    (await import('./demo-command.js')).fakeIntercomCommand(opts),
  );

program.addOption(new Option('--no-color').hideHelp());

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`error: ${(err as Error).message}\n`);
  process.exit(2);
});

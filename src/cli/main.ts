#!/usr/bin/env node
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { migrateWarehouse } from '../sinks/bi-views.js';
import { describeError } from '../errors.js';
import { DAY_MS, isoDay, parseDay, parseDuration, parseWindowLength } from '../pipeline/time-windows.js';
import { checkCommand } from './check-command.js';
import { errorLogFields, EXIT_FAILED, EXIT_OK, EXIT_USAGE, exitOnUncaughtErrors, onShutdownSignal, runCommand } from './command-runner.js';
import type { fakeIntercomCommand } from './demo-command.js';
import { datasetsCommand, retryCommand, statusCommand } from './info-commands.js';
import { dryRunCommand } from './dry-run-command.js';
import { formatSummary } from './format.js';
import type { PlanRequest } from '../pipeline/plan-exports.js';
import { runReports } from './run-reports.js';
import { runSummaryFields, STREAMS, syncFailed, syncRequest, type Stream } from '../pipeline/run-sync.js';
import { ensureRollups, formatRollupUpdate, rollupUpdateFailed, updateDailyRollups } from '../pipeline/update-rollups.js';
import { formatSyncSummary, runSyncCommand } from './run-sync.js';
import { createLogger } from '../log.js';
import { workerCommand } from './worker-command.js';

exitOnUncaughtErrors();

const program = new Command('intercom-etl')
  .description(
    'Loads Intercom reporting data exports into Postgres, on BullMQ workers. Configuration comes from the environment (see README).',
  )
  .showHelpAfterError()
  // Usage errors (unknown command or option, missing option, bad value) exit 2, as the README says;
  // commander would exit 1. Subcommands inherit this.
  .exitOverride();

/** Reports a usage error found after parsing (e.g. --to before --from) the way commander does: exit 2. */
const usageError = (cmd: Command, message: string): never => cmd.error(`error: ${message}`, { exitCode: EXIT_USAGE, code: 'etl.usage' });

const asDay = (what: string) => (v: string) => {
  try {
    return parseDay(v, what);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};
const asWindow = (v: string): number | 'auto' => {
  if (v.trim().toLowerCase() === 'auto') return 'auto';
  try {
    return parseWindowLength(v);
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
const asFraction = (v: string): number => {
  const n = Number(v);
  if (!(n > 0 && n <= 1)) throw new InvalidArgumentError(`${JSON.stringify(v)} is not a fraction in (0, 1], e.g. 0.1.`);
  return n;
};
const asErrorStatus = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 400 || n > 599)
    throw new InvalidArgumentError(`${JSON.stringify(v)} is not an HTTP error status (400-599).`);
  return n;
};

program
  .command('migrate')
  .description('create or upgrade the tables in PG_SCHEMA (safe to run concurrently)')
  .action(() =>
    runCommand(
      async (ctx) => {
        const r = await migrateWarehouse(ctx.pool, ctx.config);
        process.stdout.write(
          `Schema "${ctx.config.pgSchema}": applied ${r.applied.length} migration(s)${r.applied.length ? ` (${r.applied.join(', ')})` : ''}; ${r.alreadyApplied} already applied.\n`,
        );
        process.stdout.write(
          `Views in "${ctx.config.biSchema}": ${r.bi.rebuilt.length} built, ${r.bi.unchanged} unchanged, ${r.bi.dropped.length} dropped.\n`,
        );
        for (const line of r.bi.blocked) process.stdout.write(`warning: ${line}\n`);
        // After the migrations, from the catalogue: the daily rollups (made, remade or dropped to match it).
        const rollups = await ensureRollups(ctx);
        process.stdout.write(
          `Daily rollups in "${ctx.config.biSchema}": ${rollups.created.length} created, ${rollups.kept} up to date, ${rollups.dropped.length} dropped.\n`,
        );
        for (const e of rollups.errors) process.stdout.write(`  FAILED: ${e}\n`);
        return rollups.errors.length === 0 ? EXIT_OK : EXIT_FAILED;
      },
      { command: 'migrate', needs: ['postgres'] },
    ),
  );

program
  .command('refresh-rollups')
  .description('make the daily rollups match the catalogue and refresh those of datasets loaded since their last refresh')
  .option('--dataset <id>', 'only this dataset (repeatable); default: all', collect, [])
  .option('--all', 'refresh every rollup, loaded since or not')
  .action((opts: { dataset: string[]; all?: boolean }) =>
    runCommand(
      async (ctx) => {
        await migrateWarehouse(ctx.pool, ctx.config);
        const known = await ctx.pool.query<{ dataset_id: string }>('SELECT dataset_id FROM etl_datasets');
        const unknown = opts.dataset.filter((d) => !known.rows.some((r) => r.dataset_id === d));
        if (unknown.length > 0) {
          process.stderr.write(
            `error: no dataset ${unknown.join(', ')} in the catalogue (known: ${known.rows.map((r) => r.dataset_id).join(', ') || 'none yet; run `intercom-etl datasets`'}).\n`,
          );
          return EXIT_USAGE;
        }
        const update = await updateDailyRollups(ctx, {
          ...(opts.dataset.length > 0 ? { datasetIds: opts.dataset } : {}),
          all: opts.all === true,
        });
        process.stdout.write(`${formatRollupUpdate(update, ctx.config.biSchema)}\n`);
        for (const r of update.refreshed.filter((x) => !x.error)) {
          process.stdout.write(`  ${r.view}: ${(r.ms / 1000).toFixed(2)} s${r.concurrently ? ' (concurrently)' : ''}\n`);
        }
        return rollupUpdateFailed(update) ? EXIT_FAILED : EXIT_OK;
      },
      { command: 'refresh-rollups', args: opts, needs: ['postgres'] },
    ),
  );

program
  .command('check')
  .description('check the token (GET /me), the reporting API, Postgres and Redis; one verdict each')
  .action(() => runCommand(checkCommand, { command: 'check', needs: [] }));

program
  .command('datasets')
  .description('list the reporting datasets, their attributes and the columns they load into')
  .option('--json', 'print JSON')
  .action((opts: { json?: boolean }) =>
    runCommand((ctx) => datasetsCommand(ctx, opts), { command: 'datasets', args: opts, needs: ['postgres'] }),
  );

const backfill = program
  .command('backfill')
  .description('export and load every window of a date range (re-exporting replaces those rows), then exit')
  .requiredOption('--from <YYYY-MM-DD>', 'first day (UTC), inclusive', asDay('--from'))
  .requiredOption('--to <YYYY-MM-DD>', 'last day (UTC), inclusive', asDay('--to'))
  .option('--dataset <id>', 'only this dataset (repeatable); default: all', collect, [])
  .option(
    '--window <duration>',
    'window length: auto (sized per dataset from its rows per day), 1h…12h dividing a day, or whole days (default ETL_WINDOW, auto)',
    asWindow,
  )
  .option('--missing-only', 'only the parts of the range no loaded window covers (default: re-export everything)')
  .option('--failed-only', 'only the windows of the range that failed')
  .addOption(new Option('--order <order>', 'which windows go first').choices(['newest-first', 'oldest-first']).default('newest-first'))
  .option('--dry-run', 'print the plan (windows per dataset, what is loaded, failed or missing, an estimate) and change nothing')
  .action((opts: BackfillOptions) => {
    if (opts.to < opts.from) usageError(backfill, `--to ${isoDay(opts.to)} is before --from ${isoDay(opts.from)}.`);
    if (opts.missingOnly && opts.failedOnly) usageError(backfill, '--missing-only and --failed-only exclude each other.');
    const request: PlanRequest = {
      mode: 'backfill',
      range: { start: opts.from, end: opts.to + DAY_MS },
      datasetIds: opts.dataset,
      onlyMissing: opts.missingOnly ?? false,
      failedOnly: opts.failedOnly ?? false,
      order: opts.order,
      ...(opts.window !== undefined ? { windowMs: opts.window } : {}),
    };
    const args = { ...opts, from: isoDay(opts.from), to: isoDay(opts.to) };
    if (opts.dryRun) return runCommand((ctx) => dryRunCommand(ctx, request), { command: 'backfill', args, needs: ['postgres'] });
    return runCommand(
      async (ctx) => {
        const { signal } = onShutdownSignal();
        const summary = await runReports(ctx, request, { signal });
        process.stdout.write(`${formatSummary(summary)}\n`);
        return {
          code: summary.progress.failed === 0 ? EXIT_OK : EXIT_FAILED,
          summary: runSummaryFields({ reports: summary, entities: [] }),
        };
      },
      { command: 'backfill', args },
    );
  });

interface BackfillOptions {
  from: number;
  to: number;
  dataset: string[];
  window?: number | 'auto';
  missingOnly?: boolean;
  failedOnly?: boolean;
  order: 'newest-first' | 'oldest-first';
  dryRun?: boolean;
}

const sync = program
  .command('sync')
  .description('the nightly run, now: reporting lookback windows, a full companies scroll, incremental tickets; then exit')
  .argument('[streams...]', `any of ${STREAMS.join(', ')} (default: all three)`)
  .option('--allow-mass-delete', 'companies: mark companies deleted even if the scroll returned far fewer than are live')
  .action((streams: string[], opts: { allowMassDelete?: boolean }) => {
    const unknown = streams.filter((s) => !(STREAMS as readonly string[]).includes(s));
    if (unknown.length > 0) usageError(sync, `unknown stream(s) ${unknown.join(', ')}; choose from ${STREAMS.join(', ')}.`);
    const chosen = (streams.length > 0 ? [...new Set(streams)] : [...STREAMS]) as Stream[];
    return runCommand(
      async (ctx) => {
        const { signal } = onShutdownSignal();
        const request = syncRequest(chosen, { allowMassDelete: opts.allowMassDelete === true });
        const summary = await runSyncCommand(ctx, request, { signal, progressStream: process.stdout });
        process.stdout.write(`${formatSyncSummary(summary)}\n`);
        return { code: syncFailed(summary) ? EXIT_FAILED : EXIT_OK, summary: runSummaryFields(summary) };
      },
      { command: 'sync', args: { streams: chosen, ...opts } },
    );
  });

program
  .command('worker')
  .description('run workers and the nightly schedule until SIGTERM/SIGINT (start several to scale out)')
  .action(() => runCommand(workerCommand, { command: 'worker', defaultLogLevel: 'info' }));

const asMaxAge = (v: string): number => {
  try {
    return parseDuration(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};

program
  .command('status')
  .description(
    'per dataset: contiguous loaded range, gaps, failed and in-flight windows; companies, tickets, nightly runs, queues, workers',
  )
  .option('--json', 'print JSON (shape in the README)')
  .option('--check', 'print one line per problem and exit 1 (stale stream, failed window, failed night); else one OK line, exit 0')
  .option('--max-age <duration>', 'with --check: how old the loaded data may be, e.g. 36h, 2d', asMaxAge, 36 * 3_600_000)
  .action((opts: { json?: boolean; check?: boolean; maxAge: number }) =>
    runCommand((ctx) => statusCommand(ctx, { ...opts, maxAgeMs: opts.maxAge }), { command: 'status', args: opts }),
  );

program
  .command('retry')
  .description('re-run every failed window (of every dataset, or --dataset), with its own bounds, then exit')
  .option('--dataset <id>', 'only this dataset (repeatable); default: all', collect, [])
  .action((opts: { dataset: string[] }) => runCommand((ctx) => retryCommand(ctx, opts), { command: 'retry', args: opts }));

program
  .command('demo')
  .description('run the whole pipeline against a fake Intercom started in-process, into schema intercom_demo')
  .option('--days <n>', 'days to backfill', asInt, 7)
  .option('--schema <name>', 'schema to load into', 'intercom_demo')
  // Only demo and fake-intercom load the fake Intercom (and its fixtures): imported when they run.
  .action(async (opts: { days: number; schema: string }) => (await import('./demo-command.js')).demoCommand(opts));

program
  .command('fake-intercom')
  .description('serve the fake Intercom API (for manual runs and the docker-compose demo)')
  .option('--port <n>', 'port', asInt, 8787)
  .option('--host <addr>', 'address to listen on', '127.0.0.1')
  .option('--latency <ms>', 'time an export job takes', asInt, 2000)
  .option('--token <token>', 'the access token it accepts', 'demo-token') // DEMO_TOKEN of demo-command.ts, not imported: that loads the fake
  .option('--public-url <url>', 'base URL put in download_url (when clients reach it by another name)')
  .option('--fail-rate <fraction>', 'this fraction (0-1] of requests answers --fail-status', asFraction)
  .option('--fail-status <code>', 'status of the --fail-rate failures', asErrorStatus, 500)
  .option('--fail-path <prefix>', 'apply --fail-rate only to paths starting with this (e.g. /companies)')
  .option('--status-404 <n>', 'the next n export status calls answer 404', asInt)
  .option('--download-404 <n>', 'the next n export downloads answer 404', asInt)
  .option('--echo-token', 'injected failures echo the Authorization header in the reason phrase and body')
  .option('--faults <file.json>', 'more failure rules: a JSON array of {method?, path, status, count?, rate?, echoToken?}')
  .action(async (opts: Parameters<typeof fakeIntercomCommand>[0]) => (await import('./demo-command.js')).fakeIntercomCommand(opts));

program.addOption(new Option('--no-color').hideHelp());

program.parseAsync(process.argv).catch((err: unknown) => {
  // Commander has already printed its message (and the help); --help and --version exit 0.
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? EXIT_OK : EXIT_USAGE);
  // Anything else escaped a command: one JSON line (its stack a field), never a raw trace.
  process.stdout.write(`error: ${describeError(err)}\n`);
  createLogger({ destination: process.stderr }).fatal(errorLogFields(err), 'command failed');
  process.exit(EXIT_FAILED);
});

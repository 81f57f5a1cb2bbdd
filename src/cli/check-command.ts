import type { AppContext } from '../context.js';
import { connectIntercom, currentSession } from '../context.js';
import { describeError } from '../errors.js';
import { candidateZones } from '../pipeline/timestamp-zones.js';
import { EXIT_FAILED, EXIT_OK } from './command-runner.js';
import { connectPostgres, connectRedis } from './connections.js';

interface Verdict {
  name: string;
  ok: boolean;
  detail: string;
}

/**
 * `check`: token and /me, Postgres, Redis — one verdict line each; non-zero exit if any failed.
 * Run with `needs: []`: an unreachable service is a FAIL line here, not an error before it.
 */
export async function checkCommand(ctx: AppContext): Promise<number> {
  const verdicts: Verdict[] = [];
  const probe = async (name: string, fn: () => Promise<string>): Promise<void> => {
    try {
      verdicts.push({ name, ok: true, detail: await fn() });
    } catch (err) {
      verdicts.push({ name, ok: false, detail: describeError(err) });
    }
  };
  await probe('Intercom', async () => {
    const { workspace: me } = await connectIntercom(ctx);
    const rl = ctx.intercom.rateLimit;
    return `token accepted by ${ctx.config.intercom.baseUrl} (API ${ctx.config.intercom.version}): workspace ${me.workspaceId} "${me.workspaceName}", region ${me.region}, timezone ${me.timezone}, admin ${me.adminName}${rl ? `; rate limit ${rl.remaining}/${rl.limit} left in this 10 s window` : ''}`;
  });
  await probe('Reporting API', async () => {
    const datasets = await ctx.intercom.getDatasets();
    return `${datasets.length} datasets available (${datasets
      .map((d) => d.id)
      .slice(0, 6)
      .join(', ')}${datasets.length > 6 ? ', …' : ''})`;
  });
  await probe('Postgres', async () => {
    const version = await connectPostgres(ctx);
    if (Number.parseInt(version, 10) < 15) throw new Error(`PostgreSQL ${version} is too old: COPY … HEADER MATCH needs 15 or later.`);
    const mig = await ctx.pool
      .query<{ n: string }>('SELECT count(*) AS n FROM etl_schema_migrations')
      .then((r) => `${r.rows[0]?.n} migration(s) applied`)
      .catch(() => 'not migrated yet: run `intercom-etl migrate`');
    return `PostgreSQL ${version}; schema "${ctx.config.pgSchema}": ${mig}`;
  });
  await probe('Timestamps', async () => {
    const configured = ctx.config.reports.timestampTimezone;
    if (configured !== 'auto') return `ETL_TIMESTAMP_TIMEZONE=${configured}: CSV timestamps are read in ${configured}`;
    const candidates = candidateZones({ configured, workspaceZone: (await currentSession(ctx))?.workspace.timezone ?? '' }).join(' or ');
    const { rows } = await ctx.pool
      .query<{ dataset_id: string; timestamp_zone: string | null }>(
        'SELECT dataset_id, timestamp_zone FROM etl_datasets ORDER BY dataset_id',
      )
      .catch(() => ({ rows: [] as Array<{ dataset_id: string; timestamp_zone: string | null }> }));
    const detected = rows.filter((r) => r.timestamp_zone).map((r) => `${r.dataset_id} ${r.timestamp_zone}`);
    const pending = rows.filter((r) => !r.timestamp_zone).length;
    return (
      `ETL_TIMESTAMP_TIMEZONE=auto: detected per dataset among ${candidates}; ` +
      (detected.length > 0 ? `detected: ${detected.join(', ')}` : 'none detected yet') +
      (pending > 0 ? `; ${pending} dataset(s) not yet detected (detected on their first loaded window)` : '')
    );
  });
  await probe('Redis', async () => {
    const { version, db } = await connectRedis(ctx);
    const [major = 0, minor = 0] = version.split('.').map(Number);
    if (major < 6 || (major === 6 && minor < 2)) throw new Error(`Redis ${version} is too old: BullMQ needs 6.2 or later.`);
    const policy = ((await ctx.redis.config('GET', 'maxmemory-policy').catch(() => [])) as string[])[1];
    const warn = policy && policy !== 'noeviction' ? ` — warning: maxmemory-policy is ${policy}; BullMQ needs noeviction` : '';
    return `Redis ${version}, db ${db}${warn}`;
  });
  for (const v of verdicts) process.stdout.write(`${v.ok ? 'OK  ' : 'FAIL'}  ${v.name.padEnd(14)} ${v.detail}\n`);
  return verdicts.every((v) => v.ok) ? EXIT_OK : EXIT_FAILED;
}

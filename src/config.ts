import { CronExpressionParser } from 'cron-parser';
import { ConfigError } from './errors.js';
import { REGION_BASE_URLS, type IntercomRegion } from './intercom/types.js';
import { parseDay, parseDuration, parseWindowLength } from './pipeline/time-windows.js';

/**
 * The product's whole configuration, read from the environment once (here and nowhere else),
 * validated, and frozen. Every problem is reported in one ConfigError.
 */
export interface Config {
  intercom: {
    /** Bearer token. Empty only for commands that never call Intercom. */
    token: string;
    region: IntercomRegion;
    /** Resolved base URL: INTERCOM_BASE_URL, else the region's host. No trailing slash. */
    baseUrl: string;
    /** `Intercom-Version` header. Default `2.14`. */
    version: string;
    /** OAuth client id, sent as `client_id` on status calls when set. */
    clientId?: string;
    /** Per-request timeout, ms. Default 30000. */
    timeoutMs: number;
  };
  databaseUrl: string;
  redisUrl: string;
  /** Longest wait for the first Redis connection before a command fails naming REDIS_URL, ms. Default 10000. */
  redisConnectTimeoutMs: number;
  /** Schema holding every table of the product. Default `intercom`. */
  pgSchema: string;
  /** Prefix of every BullMQ key in Redis. Default `intercom-etl`. */
  queuePrefix: string;
  /** Schema of the BI objects (the analysts' views and the daily rollups). Default `<pgSchema>_bi`. */
  biSchema: string;
  rollups: {
    /**
     * Zone the rollups' days are cut in: `workspace` (default; the `/me` zone, recorded in
     * etl_workspace, UTC until one is known) or an IANA zone.
     */
    timezone: 'workspace' | string;
    /** How often workers refresh the rollups of datasets loaded since their last refresh, ms. Default 300000. */
    refreshIntervalMs: number;
  };
  reports: {
    /**
     * Window length of backfills, ms, or `auto` (default): sized per dataset from its observed rows
     * per day so that an export holds about `targetRowsPerExport` rows (whole days from 1 to 30, hours
     * only for very dense datasets). Nightly runs use 1 day when `auto`.
     */
    windowMs: number | 'auto';
    /** Rows one export should hold when windows are sized automatically. Default 200000. */
    targetRowsPerExport: number;
    /** Days the nightly run re-exports, ending at the end of yesterday. Default 3. */
    lookbackDays: number;
    /** First day (UTC midnight, ms) of a dataset with no history. Default: 30 days before today. */
    startDate: number;
    /** Dataset ids to load; empty means all. */
    includeDatasets: string[];
    excludeDatasets: string[];
    /** Per-dataset attribute ids to request instead of all of them. */
    attributeOverrides: Record<string, string[]>;
    /**
     * Zone the export's zone-less `YYYY-MM-DD HH:MM:SS` timestamps are read in: `auto` (default)
     * detects it per dataset among UTC and the workspace's zone (from `/me`); an IANA zone forces it.
     */
    timestampTimezone: 'auto' | string;
    /** Reporting data retention, days; earlier starts are clamped with a warning. Default 730. */
    retentionDays: number;
    /** Most unfinished Intercom export jobs across all processes; Intercom allows 5. Default 5. */
    maxUnfinishedExports: number;
    /** First poll delay after enqueue, ms; doubles up to 60 s. Default 2000. */
    pollIntervalMs: number;
    /** Give up on (and re-enqueue) an Intercom job running longer than this, ms. Default 2 h. */
    exportTimeoutMs: number;
    /** Times a window re-enqueues after Intercom reports `failed` before the window fails. Default 3. */
    maxExportFailures: number;
    /** Delay after the "5 pending export jobs" 429, ms. Default 30000. */
    jobLimitBackoffMs: number;
  };
  entities: {
    /** Wait after `scroll_exists` before trying again, ms. Keep ≥ 60000 against Intercom. Default 61000. */
    scrollExistsWaitMs: number;
    /** Waits for another client's scroll before the run fails. Default 10. */
    scrollExistsRetries: number;
    /** Restarts of a scroll that died (500), expired (404) or was given up while Postgres stalled, before the run fails. Default 5. */
    scrollMaxRestarts: number;
    /**
     * Fraction (0–1) of the live companies a completed scroll must return, or the run refuses to
     * mark the rest deleted and changes nothing. 0 disables the check. Default 0.5.
     */
    companiesMinLiveRatio: number;
    /** Skip that check on every run (workers); `sync companies --allow-mass-delete` does it once. Default false. */
    companiesAllowMassDelete: boolean;
    /** Tickets re-fetched before the watermark, ms. Default 1 h. */
    ticketsOverlapMs: number;
    /** Tickets per search page (Intercom's maximum is 150). Default 150. */
    ticketsPageSize: number;
    /** Restarts of a tickets run whose page kept failing (a bad cursor answers 500). Default 3. */
    ticketsMaxRestarts: number;
  };
  schedule: {
    /** Cron pattern of the nightly sync. Default `30 2 * * *`. */
    cron: string;
    /** IANA zone of the cron pattern. Default `UTC`. */
    timezone: string;
    enabled: boolean;
  };
  worker: {
    /** Jobs a worker process runs at once. Default 4. */
    concurrency: number;
    /** Attempts of a job failing with retriable errors. Default 5. */
    attempts: number;
    /**
     * BullMQ lock duration, ms: a killed worker's job is retried after about this long. Also the lease
     * of the companies/tickets run lock (at least 3000), so a killed run's successor is not held up longer. Default 30000.
     */
    lockDurationMs: number;
    /**
     * How often the reconciler compares the export ledger with the queue and re-queues windows
     * whose job was lost (stalled out, removed from Redis, process died mid-load), ms. Default 120000.
     */
    reconcileIntervalMs: number;
    /**
     * After SIGTERM/SIGINT: longest wait for running jobs to finish before the process exits anyway
     * (a job cut off is retried elsewhere), ms. Default 30000.
     */
    shutdownTimeoutMs: number;
  };
  http: {
    /** Port of the worker's HTTP surface (/metrics, /healthz, /readyz, /queues, /); 0 disables it. Default 9464. */
    port: number;
    /** Address it listens on. Default `127.0.0.1`; any other address requires `auth`. */
    host: string;
    /** Basic-auth credentials from `ETL_HTTP_AUTH=user:password`; null: no auth (loopback only). */
    auth: { user: string; password: string } | null;
    /** Lets the /queues dashboard retry, remove and promote jobs. Default false (read-only). */
    dashboardWrite: boolean;
  };
  /** pino level; null lets the command choose (worker: info, interactive commands: warn). */
  logLevel: string | null;
}

type Env = Record<string, string | undefined>;

const DAY_MS = 86_400_000;

/** Reads and validates the configuration. `overrides` win over `env` (tests, demo). */
export function loadConfig(env: Env = process.env, overrides: Env = {}): Config {
  const e: Env = { ...env, ...overrides };
  const problems: string[] = [];
  const str = (name: string, def: string): string => {
    const v = e[name]?.trim();
    return v === undefined || v === '' ? def : v;
  };
  const int = (name: string, def: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const raw = e[name]?.trim();
    if (raw === undefined || raw === '') return def;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name}=${JSON.stringify(raw)} must be a whole number from ${min} to ${max}.`);
      return def;
    }
    return n;
  };
  const ratio = (name: string, def: number): number => {
    const raw = e[name]?.trim();
    if (raw === undefined || raw === '') return def;
    const n = /^\d*\.?\d+$/.test(raw) ? Number(raw) : NaN;
    if (!(n >= 0 && n <= 1)) {
      problems.push(`${name}=${JSON.stringify(raw)} must be a fraction from 0 to 1 (e.g. 0.5 for 50 %).`);
      return def;
    }
    return n;
  };
  const bool = (name: string, def: boolean): boolean => {
    const raw = str(name, String(def)).toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
    if (['0', 'false', 'no', 'off'].includes(raw)) return false;
    problems.push(`${name}=${JSON.stringify(raw)} must be true or false.`);
    return def;
  };
  const list = (name: string): string[] =>
    str(name, '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);

  const regionRaw = str('INTERCOM_REGION', 'us').toLowerCase();
  let region: IntercomRegion = 'us';
  if (regionRaw in REGION_BASE_URLS) region = regionRaw as IntercomRegion;
  else problems.push(`INTERCOM_REGION=${JSON.stringify(regionRaw)} must be one of us, eu, au.`);

  let baseUrl = str('INTERCOM_BASE_URL', REGION_BASE_URLS[region]).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+/.test(baseUrl)) {
    problems.push(`INTERCOM_BASE_URL=${JSON.stringify(baseUrl)} must be an http(s) URL such as https://api.intercom.io.`);
    baseUrl = REGION_BASE_URLS[region];
  }

  const databaseUrl = str('DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/postgres');
  if (!/^postgres(ql)?:\/\//.test(databaseUrl)) problems.push('DATABASE_URL must start with postgres:// or postgresql://.');
  const redisUrl = str('REDIS_URL', 'redis://127.0.0.1:6379');
  if (!/^rediss?:\/\//.test(redisUrl)) problems.push('REDIS_URL must start with redis:// or rediss:// (a /N db index is honoured).');

  const pgSchema = str('PG_SCHEMA', 'intercom');
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(pgSchema)) {
    problems.push(`PG_SCHEMA=${JSON.stringify(pgSchema)} must be a lower-case SQL identifier ([a-z_][a-z0-9_]*).`);
  }
  const biSchema = str('ETL_BI_SCHEMA', `${pgSchema}_bi`);
  // A bad PG_SCHEMA is reported once, not again through the BI schema's default derived from it.
  const biSchemaSet = Boolean(e.ETL_BI_SCHEMA?.trim());
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(biSchema) && (biSchemaSet || /^[a-z_][a-z0-9_]{0,62}$/.test(pgSchema))) {
    problems.push(
      `ETL_BI_SCHEMA=${JSON.stringify(biSchema)} must be a lower-case SQL identifier ([a-z_][a-z0-9_]*, at most 63 characters).`,
    );
  } else if (biSchema === pgSchema) {
    problems.push(`ETL_BI_SCHEMA must differ from PG_SCHEMA (${pgSchema}): the BI schema holds only what BI tools read.`);
  }
  const rollupRaw = str('ETL_ROLLUP_TIMEZONE', 'workspace');
  const rollupTimezone = rollupRaw.toLowerCase() === 'workspace' ? 'workspace' : rollupRaw;
  if (rollupTimezone !== 'workspace' && !isValidTimezone(rollupTimezone)) {
    problems.push(`ETL_ROLLUP_TIMEZONE=${JSON.stringify(rollupRaw)} must be workspace or an IANA time zone (e.g. UTC, Europe/Berlin).`);
  }
  const queuePrefix = str('ETL_QUEUE_PREFIX', 'intercom-etl');
  if (/[:\s]/.test(queuePrefix)) problems.push('ETL_QUEUE_PREFIX must not contain ":" or spaces.');

  let windowMs: number | 'auto' = 'auto';
  const windowRaw = str('ETL_WINDOW', 'auto');
  if (windowRaw.toLowerCase() !== 'auto') {
    try {
      windowMs = parseWindowLength(windowRaw);
    } catch (err) {
      problems.push(`ETL_WINDOW: ${(err as Error).message} Or use auto.`);
    }
  }

  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  let startDate = today - 30 * DAY_MS;
  const startRaw = str('ETL_START_DATE', '');
  if (startRaw) {
    try {
      startDate = parseDay(startRaw, 'ETL_START_DATE');
    } catch (err) {
      problems.push((err as Error).message);
    }
  }

  let attributeOverrides: Record<string, string[]> = {};
  const overridesRaw = str('ETL_DATASET_ATTRIBUTES', '');
  if (overridesRaw) {
    try {
      const parsed: unknown = JSON.parse(overridesRaw);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      for (const [k, v] of Object.entries(parsed)) {
        if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string'))
          throw new Error(`"${k}" is not a non-empty array of strings`);
      }
      attributeOverrides = parsed as Record<string, string[]>;
    } catch (err) {
      problems.push(`ETL_DATASET_ATTRIBUTES must be JSON like {"conversation":["conversation_id","channel"]}: ${(err as Error).message}.`);
    }
  }

  let ticketsOverlapMs = 3_600_000;
  try {
    ticketsOverlapMs = parseDuration(str('ETL_TICKETS_OVERLAP', '1h'));
  } catch (err) {
    problems.push(`ETL_TICKETS_OVERLAP: ${(err as Error).message}`);
  }

  const timestampRaw = str('ETL_TIMESTAMP_TIMEZONE', 'auto');
  const timestampTimezone = timestampRaw.toLowerCase() === 'auto' ? 'auto' : timestampRaw;
  if (timestampTimezone !== 'auto' && !isValidTimezone(timestampTimezone)) {
    problems.push(`ETL_TIMESTAMP_TIMEZONE=${JSON.stringify(timestampRaw)} must be auto or an IANA time zone (e.g. UTC, Europe/Berlin).`);
  }
  const scheduleTimezone = str('ETL_SCHEDULE_TIMEZONE', 'UTC');
  if (!isValidTimezone(scheduleTimezone)) {
    problems.push(`ETL_SCHEDULE_TIMEZONE=${JSON.stringify(scheduleTimezone)} is not an IANA time zone (e.g. UTC, Europe/Berlin).`);
  }
  const cron = str('ETL_SCHEDULE_CRON', '30 2 * * *');
  const cronProblem = cronPatternProblem(cron, scheduleTimezone);
  if (cronProblem) problems.push(`ETL_SCHEDULE_CRON=${JSON.stringify(cron)} ${cronProblem}`);

  const version = str('INTERCOM_VERSION', '2.14');
  if (!/^(\d+\.\d+|Preview|Unstable)$/.test(version))
    problems.push(`INTERCOM_VERSION=${JSON.stringify(version)} must look like 2.14 (or Preview).`);

  const httpHost = str('ETL_HTTP_HOST', '127.0.0.1');
  let httpAuth: Config['http']['auth'] = null;
  const authRaw = e.ETL_HTTP_AUTH?.trim() ?? '';
  if (authRaw) {
    const colon = authRaw.indexOf(':');
    if (colon <= 0 || colon === authRaw.length - 1) problems.push('ETL_HTTP_AUTH must be user:password (both non-empty).');
    else httpAuth = { user: authRaw.slice(0, colon), password: authRaw.slice(colon + 1) };
  }

  const config: Config = {
    intercom: {
      token: str('INTERCOM_ACCESS_TOKEN', ''),
      region,
      baseUrl,
      version,
      ...(e.INTERCOM_CLIENT_ID?.trim() ? { clientId: e.INTERCOM_CLIENT_ID.trim() } : {}),
      timeoutMs: int('INTERCOM_TIMEOUT_MS', 30_000, 1000),
    },
    databaseUrl,
    redisUrl,
    redisConnectTimeoutMs: int('REDIS_CONNECT_TIMEOUT_MS', 10_000, 100),
    pgSchema,
    queuePrefix,
    biSchema,
    rollups: {
      timezone: rollupTimezone,
      refreshIntervalMs: int('ETL_ROLLUP_REFRESH_INTERVAL_MS', 300_000, 1000),
    },
    reports: {
      windowMs,
      targetRowsPerExport: int('ETL_TARGET_ROWS_PER_EXPORT', 200_000, 1000, 10_000_000),
      lookbackDays: int('ETL_LOOKBACK_DAYS', 3, 1, 365),
      startDate,
      includeDatasets: list('ETL_DATASETS'),
      excludeDatasets: list('ETL_EXCLUDE_DATASETS'),
      attributeOverrides,
      timestampTimezone,
      retentionDays: int('ETL_RETENTION_DAYS', 730, 1, 3650),
      maxUnfinishedExports: int('ETL_MAX_UNFINISHED_EXPORTS', 5, 1, 5),
      pollIntervalMs: int('ETL_POLL_INTERVAL_MS', 2000, 100),
      exportTimeoutMs: int('ETL_EXPORT_TIMEOUT_MS', 2 * 3_600_000, 1000),
      maxExportFailures: int('ETL_MAX_EXPORT_FAILURES', 3, 0, 100),
      jobLimitBackoffMs: int('ETL_JOB_LIMIT_BACKOFF_MS', 30_000, 100),
    },
    entities: {
      scrollExistsWaitMs: int('ETL_SCROLL_EXISTS_WAIT_MS', 61_000, 100),
      scrollExistsRetries: int('ETL_SCROLL_EXISTS_RETRIES', 10, 0, 1000),
      scrollMaxRestarts: int('ETL_SCROLL_MAX_RESTARTS', 5, 0, 100),
      companiesMinLiveRatio: ratio('ETL_COMPANIES_MIN_LIVE_RATIO', 0.5),
      companiesAllowMassDelete: bool('ETL_COMPANIES_ALLOW_MASS_DELETE', false),
      ticketsOverlapMs,
      ticketsPageSize: int('ETL_TICKETS_PAGE_SIZE', 150, 1, 150),
      ticketsMaxRestarts: int('ETL_TICKETS_MAX_RESTARTS', 3, 0, 100),
    },
    schedule: {
      cron,
      timezone: scheduleTimezone,
      enabled: !['0', 'false', 'no', 'off'].includes(str('ETL_SCHEDULE_ENABLED', 'true').toLowerCase()),
    },
    worker: {
      concurrency: int('ETL_CONCURRENCY', 4, 1, 100),
      attempts: int('ETL_JOB_ATTEMPTS', 5, 1, 100),
      lockDurationMs: int('ETL_LOCK_DURATION_MS', 30_000, 1000),
      reconcileIntervalMs: int('ETL_RECONCILE_INTERVAL_MS', 120_000, 1000),
      shutdownTimeoutMs: int('ETL_SHUTDOWN_TIMEOUT_MS', 30_000, 0),
    },
    http: {
      port: int('ETL_HTTP_PORT', 9464, 0, 65535),
      host: httpHost,
      auth: httpAuth,
      dashboardWrite: bool('ETL_DASHBOARD_WRITE', false),
    },
    logLevel: str('LOG_LEVEL', '') || null,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(config);
}

/** Commands that call Intercom check this once, before doing anything else. */
export function requireIntercomToken(config: Config): void {
  if (!config.intercom.token) {
    throw new ConfigError([
      'INTERCOM_ACCESS_TOKEN is not set: create an access token in the Intercom Developer Hub (your app → Authentication) and export it.',
    ]);
  }
}

/** True for addresses only this host can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/**
 * The worker checks this before serving HTTP: an address other hosts can reach without
 * credentials would publish the dashboard (and, with ETL_DASHBOARD_WRITE, job control) to them.
 */
export function requireHttpAuth(config: Config): void {
  if (config.http.auth === null && !isLoopbackHost(config.http.host)) {
    throw new ConfigError([
      `ETL_HTTP_HOST=${config.http.host} is reachable from other hosts: set ETL_HTTP_AUTH=user:password for the worker's HTTP surface, or listen on 127.0.0.1 (or ETL_HTTP_PORT=0 to disable it).`,
    ]);
  }
}

/**
 * Parses the pattern the way BullMQ's Job Scheduler will (cron-parser), so a bad pattern fails at
 * start-up instead of when the schedule is registered. Returns what is wrong, or null.
 */
function cronPatternProblem(pattern: string, tz: string): string | null {
  if (!pattern.startsWith('@') && !/^(\S+\s+){4,5}\S+$/.test(pattern)) return 'must be a cron pattern of 5 or 6 fields.';
  try {
    CronExpressionParser.parse(pattern, isValidTimezone(tz) ? { tz } : {});
    return null;
  } catch (err) {
    return `is not a valid cron pattern: ${(err as Error).message}.`;
  }
}

function isValidTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

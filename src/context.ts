import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type pg from 'pg';
import type { Config } from './config.js';
import { requireIntercomToken } from './config.js';
import { createPool } from './db/pool.js';
import { IntercomClient } from './intercom/index.js';
import type { Me } from './intercom/types.js';
import { createLogger, type Logger } from './log.js';
import { registerSecret, withoutPassword } from './redact.js';
import { ExportSlots } from './pipeline/export-slots.js';
import { retryTransient } from './pipeline/retry-transient.js';

export const QUEUE_NAMES = { reports: 'reports', entities: 'entities', control: 'control' } as const;
export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];

/**
 * Everything a command or a job processor needs, built once at start-up and passed down.
 * Nothing below this reads the environment or opens its own connections.
 */
export interface AppContext {
  config: Config;
  log: Logger;
  pool: pg.Pool;
  /** Shared connection for queues and the export slots (BullMQ duplicates it for blocking calls). */
  redis: Redis;
  intercom: IntercomClient;
  queues: Record<keyof typeof QUEUE_NAMES, Queue>;
  close(): Promise<void>;
}

export interface ContextOptions {
  log?: Logger;
}

export function createContext(config: Config, options: ContextOptions = {}): AppContext {
  // Before anything can log or fail: from here on the token is cut out of every string that leaves.
  registerSecret(config.intercom.token);
  const log = options.log ?? createLogger({ level: config.logLevel ?? 'info' });
  const pool = createPool(config.databaseUrl, config.pgSchema);
  // BullMQ needs maxRetriesPerRequest: null so blocking commands survive reconnects.
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: null, lazyConnect: false });
  // ioredis reconnects for ever (BullMQ needs that); log each new kind of failure once, not every retry.
  let lastRedisError = '';
  redis.on('error', (err) => {
    if (err.message !== lastRedisError)
      log.warn({ err: err.message, redisUrl: withoutPassword(config.redisUrl) }, 'redis connection error');
    lastRedisError = err.message;
  });
  redis.on('ready', () => {
    if (lastRedisError) log.info('redis connection ready');
    lastRedisError = '';
  });
  // Built on first use: commands that never call Intercom (migrate, status) need no token.
  let intercom: IntercomClient | null = null;
  const makeIntercom = (): IntercomClient => {
    requireIntercomToken(config);
    return new IntercomClient({
      baseUrl: config.intercom.baseUrl,
      token: config.intercom.token,
      version: config.intercom.version,
      timeoutMs: config.intercom.timeoutMs,
      ...(config.intercom.clientId ? { clientId: config.intercom.clientId } : {}),
      exportJobLimitBackoffMs: config.reports.jobLimitBackoffMs,
      log,
    });
  };
  const queueOpts = { connection: redis, prefix: config.queuePrefix };
  const queues = {
    reports: new Queue(QUEUE_NAMES.reports, queueOpts),
    entities: new Queue(QUEUE_NAMES.entities, queueOpts),
    control: new Queue(QUEUE_NAMES.control, queueOpts),
  };
  // Without a listener BullMQ prints each connection error's stack to stderr; the redis handler above logs them.
  for (const q of Object.values(queues)) q.on('error', (err) => log.debug({ queue: q.name, err: err.message }, 'queue error'));
  const ctx: AppContext = {
    config,
    log,
    pool,
    redis,
    get intercom() {
      return (intercom ??= makeIntercom());
    },
    queues,
    async close() {
      await Promise.allSettled(Object.values(queues).map((q) => q.close()));
      await Promise.allSettled([pool.end(), redis.quit()]);
    },
  };
  return ctx;
}

/** What talking to Intercom needs beyond the context: the token's workspace and its export slots. */
export interface IntercomSession {
  workspace: Me;
  /** Keyed by the workspace only: every installation on this workspace shares Intercom's 5 slots. */
  slots: ExportSlots;
}

/** One session per context, remembered beside it (the context itself is never changed). */
const sessions = new WeakMap<AppContext, Promise<IntercomSession>>();

/**
 * Checks the token once (`GET /me`) and learns the workspace. An invalid token fails here, at once,
 * with Intercom's message — never after a round of retries. Later calls return the same session.
 */
export function connectIntercom(ctx: AppContext): Promise<IntercomSession> {
  let session = sessions.get(ctx);
  if (!session) {
    session = openSession(ctx);
    sessions.set(ctx, session);
    session.catch(() => sessions.delete(ctx)); // a failed check is tried again next time
  }
  return session;
}

/** The session if `connectIntercom` succeeded already; null otherwise (no request made). */
export async function currentSession(ctx: AppContext): Promise<IntercomSession | null> {
  const session = sessions.get(ctx);
  return session ? session.catch(() => null) : null;
}

async function openSession(ctx: AppContext): Promise<IntercomSession> {
  const workspace = await retryTransient(() => ctx.intercom.me());
  const slots = new ExportSlots(
    ctx.redis,
    workspace.workspaceId,
    ctx.config.reports.maxUnfinishedExports,
    `${ctx.config.queuePrefix}/${ctx.config.pgSchema}`,
  );
  return { workspace, slots };
}

import type { AddressInfo } from 'node:net';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serve, type ServerType } from '@hono/node-server';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono } from 'hono';
import { basicAuth } from 'hono/basic-auth';
import { HTTPException } from 'hono/http-exception';
import { requireHttpAuth } from '../config.js';
import type { AppContext } from '../context.js';
import { loadPartitionMap, lastStreamRuns } from './partition-map.js';
import { renderPartitionPage } from './partition-page.js';
import { createMetricsRegistry } from './state-metrics.js';

/** Longest /readyz waits for Postgres or Redis before answering 503. */
const READY_TIMEOUT_MS = 2_000;

export interface HttpServerOptions {
  /** True while this process's BullMQ workers run; /readyz answers 503 otherwise. */
  workersRunning: () => boolean;
  /** Tests: listen on this port instead of ETL_HTTP_PORT (0: any free port). */
  listenPort?: number;
}

export interface RunningHttpServer {
  /** e.g. http://127.0.0.1:9464 */
  url: string;
  close(): Promise<void>;
}

/**
 * The worker's HTTP surface: /healthz and /readyz (open, for probes), and behind basic auth when
 * ETL_HTTP_AUTH is set: /metrics (Prometheus), /queues (bull-board) and / (the partition map).
 */
export function buildApp(ctx: AppContext, options: HttpServerOptions): Hono {
  const app = new Hono();
  const metrics = createMetricsRegistry(ctx);

  app.get('/healthz', (c) => c.text('ok\n'));
  app.get('/readyz', async (c) => {
    const checks = await Promise.all([
      probe('postgres', () => ctx.pool.query('SELECT 1')),
      probe('redis', () => ctx.redis.ping()),
      probe('workers', async () => {
        if (!options.workersRunning()) throw new Error('not running');
      }),
    ]);
    const ready = checks.every((r) => r.ok);
    const body = checks.map((r) => `${r.name}: ${r.ok ? 'ok' : `FAIL ${r.error}`}`).join('\n');
    return c.text(`${body}\n`, ready ? 200 : 503);
  });

  const auth = ctx.config.http.auth;
  if (auth) {
    const guard = basicAuth({ username: auth.user, password: auth.password, realm: 'intercom-etl' });
    for (const path of ['/', '/metrics', '/queues', '/queues/*']) app.use(path, guard);
  }

  app.get('/metrics', async (c) => {
    const text = await metrics.registry.metrics();
    return c.text(text, 200, { 'Content-Type': metrics.registry.contentType });
  });

  app.get('/', async (c) => {
    const [map, runs, schedulers] = await Promise.all([
      loadPartitionMap(ctx.pool, ctx.config),
      lastStreamRuns(ctx.pool),
      ctx.queues.control.getJobSchedulers(),
    ]);
    const nightly = schedulers.find((s) => s.key === 'nightly-sync');
    const page = renderPartitionPage({
      map,
      runs,
      nextRun: nightly ? { at: nightly.next ?? null, pattern: nightly.pattern ?? '', tz: nightly.tz ?? 'UTC' } : null,
      generatedAt: Date.now(),
    });
    return c.html(page);
  });

  const board = new HonoAdapter(serveStatic);
  board.setBasePath('/queues');
  createBullBoard({
    queues: Object.values(ctx.queues).map((q) => new BullMQAdapter(q, { readOnlyMode: !ctx.config.http.dashboardWrite })),
    serverAdapter: board,
    options: { uiConfig: { boardTitle: 'intercom-etl' } },
  });
  app.route('/queues', board.registerPlugin());

  app.onError((err, c) => {
    if (err instanceof HTTPException) return err.getResponse(); // 401 from basic auth
    ctx.log.error({ err: err.message, path: c.req.path }, 'http request failed');
    return c.text(`error: ${err.message}\n`, 500);
  });
  return app;
}

/**
 * Starts the HTTP surface on ETL_HTTP_HOST:ETL_HTTP_PORT, or returns null when the port is 0 or
 * already taken on this host (a warning says so).
 * Refuses (ConfigError) to listen on a non-loopback address without ETL_HTTP_AUTH.
 */
export async function startHttpServer(ctx: AppContext, options: HttpServerOptions): Promise<RunningHttpServer | null> {
  const { host } = ctx.config.http;
  const port = options.listenPort ?? ctx.config.http.port;
  if (options.listenPort === undefined && port === 0) return null;
  requireHttpAuth(ctx.config);
  const app = buildApp(ctx, options);
  let server: ServerType;
  try {
    server = await new Promise((resolve, reject) => {
      const s = serve({ fetch: app.fetch, port, hostname: host }, () => resolve(s));
      s.once('error', reject);
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    // Several workers on one host: the first serves the pages (they show the whole deployment);
    // the others keep working rather than crash.
    ctx.log.warn(
      { port, host },
      `ETL_HTTP_PORT ${port} on ${host} is already in use (another worker on this host?): this worker serves no HTTP; give each process its own ETL_HTTP_PORT to scrape it`,
    );
    return null;
  }
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        // Keep-alive connections (a browser, Prometheus) would hold close() open.
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

async function probe(name: string, check: () => Promise<unknown>): Promise<{ name: string; ok: boolean; error?: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
  });
  try {
    await Promise.race([check(), timeout]);
    return { name, ok: true };
  } catch (err) {
    return { name, ok: false, error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

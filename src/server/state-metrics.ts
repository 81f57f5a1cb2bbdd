import { Gauge, Registry } from 'prom-client';
import type { AppContext } from '../context.js';
import { currentSession } from '../context.js';
import { METRIC_PREFIX, registry as processRegistry } from '../metrics.js';

/** A scrape reuses a snapshot this young: Prometheus and a dashboard refreshing do not each query Postgres. */
const SNAPSHOT_TTL_MS = 5_000;
/** Longest a scrape waits for Postgres and Redis; past that it serves the previous snapshot. */
const SNAPSHOT_TIMEOUT_MS = 2_000;

const JOB_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'failed', 'completed'] as const;

/** What the gauges show: the state of the whole deployment (shared Postgres and Redis), not of this process. */
interface Snapshot {
  takenAt: number;
  windows: Array<{ dataset: string; status: string; count: number }>;
  /** Per dataset: last load (ms) and the end of its contiguous loaded coverage (ms). */
  datasets: Array<{ dataset: string; lastLoadedAt: number | null; coveredThrough: number | null }>;
  entities: Array<{ stream: string; lastCompletedAt: number | null; lastRunFailed: boolean }>;
  jobs: Array<{ queue: string; state: string; count: number }>;
  workers: Array<{ queue: string; count: number }>;
  slots: { inUse: number; waiters: number } | null;
}

/**
 * Gauges computed at scrape time from Postgres and Redis, in a registry of their own merged with
 * the process's instruments. One snapshot serves every gauge of a scrape; it is cached briefly,
 * and a slow or unreachable database makes the scrape serve the last snapshot after
 * SNAPSHOT_TIMEOUT_MS with `intercom_etl_state_up 0`, never hang.
 */
export function createMetricsRegistry(ctx: AppContext): { registry: Registry; snapshot(): Promise<Snapshot | null> } {
  const own = new Registry();
  let last: Snapshot | null = null;
  let lastOk = false;
  let inFlight: Promise<Snapshot> | null = null;

  const snapshot = async (): Promise<Snapshot | null> => {
    if (last && lastOk && Date.now() - last.takenAt < SNAPSHOT_TTL_MS) return last;
    // One read at a time: scrapes arriving while Postgres is slow share it instead of piling up.
    inFlight ??= takeSnapshot(ctx).finally(() => {
      inFlight = null;
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), SNAPSHOT_TIMEOUT_MS);
    });
    try {
      const result = await Promise.race([inFlight, timeout]);
      if (result === 'timeout') {
        lastOk = false;
        ctx.log.warn({ timeoutMs: SNAPSHOT_TIMEOUT_MS }, 'metrics: Postgres or Redis too slow; serving the previous snapshot');
      } else {
        last = result;
        lastOk = true;
      }
    } catch (err) {
      lastOk = false;
      ctx.log.warn({ err: (err as Error).message }, 'metrics: could not read Postgres or Redis');
    } finally {
      clearTimeout(timer);
    }
    return last;
  };

  const gauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge, s: Snapshot) => void): void => {
    new Gauge({
      name: `${METRIC_PREFIX}${name}`,
      help,
      labelNames,
      registers: [own],
      async collect() {
        const s = await snapshot();
        this.reset();
        if (s) fill(this, s);
      },
    });
  };

  new Gauge({
    name: `${METRIC_PREFIX}state_up`,
    help: '1 when the last scrape read Postgres and Redis in time; 0 when the state gauges are stale or missing.',
    registers: [own],
    async collect() {
      await snapshot();
      this.set(lastOk ? 1 : 0);
    },
  });
  gauge('windows', 'Export windows in the ledger, by dataset and status.', ['dataset', 'status'], (g, s) => {
    for (const w of s.windows) g.set({ dataset: w.dataset, status: w.status }, w.count);
  });
  gauge(
    'last_success_timestamp_seconds',
    'When a stream last succeeded (Unix seconds): the last window loaded for a report dataset (stream="reports"), the last completed run for companies and tickets (dataset="").',
    ['stream', 'dataset'],
    (g, s) => {
      for (const d of s.datasets) if (d.lastLoadedAt !== null) g.set({ stream: 'reports', dataset: d.dataset }, d.lastLoadedAt / 1000);
      for (const e of s.entities) if (e.lastCompletedAt !== null) g.set({ stream: e.stream, dataset: '' }, e.lastCompletedAt / 1000);
    },
  );
  gauge(
    'freshness_seconds',
    "Now minus the end of a dataset's contiguous loaded coverage (from its first loaded window to the first gap), seconds.",
    ['dataset'],
    (g, s) => {
      for (const d of s.datasets) if (d.coveredThrough !== null) g.set({ dataset: d.dataset }, (Date.now() - d.coveredThrough) / 1000);
    },
  );
  gauge(
    'last_run_failed',
    'companies and tickets: 1 when the latest run did not complete (failed, refused or interrupted), else 0.',
    ['stream'],
    (g, s) => {
      for (const e of s.entities) g.set({ stream: e.stream }, e.lastRunFailed ? 1 : 0);
    },
  );
  gauge('queue_jobs', 'BullMQ jobs by queue and state.', ['queue', 'state'], (g, s) => {
    for (const j of s.jobs) g.set({ queue: j.queue, state: j.state }, j.count);
  });
  gauge('queue_workers', 'Live BullMQ workers (connections of every worker process) by queue.', ['queue'], (g, s) => {
    for (const w of s.workers) g.set({ queue: w.queue }, w.count);
  });
  gauge('export_slots_in_use', 'Intercom export slots held (the workspace allows 5 unfinished exports).', [], (g, s) => {
    if (s.slots) g.set(s.slots.inUse);
  });
  gauge('export_slot_waiters', 'Export-window jobs waiting for a free export slot.', [], (g, s) => {
    if (s.slots) g.set(s.slots.waiters);
  });

  return { registry: Registry.merge([processRegistry, own]), snapshot };
}

async function takeSnapshot(ctx: AppContext): Promise<Snapshot> {
  const takenAt = Date.now();
  const [windows, datasets, entities, jobs, workers, slots] = await Promise.all([
    ctx.pool.query<{ dataset_id: string; status: string; n: string }>(
      'SELECT dataset_id, status, count(*) AS n FROM etl_export_windows GROUP BY dataset_id, status',
    ),
    // Coverage counts windows ever loaded (their rows are in the table), so a nightly re-export of
    // the lookback days does not make the data look older while it runs.
    ctx.pool.query<{ dataset_id: string; last_loaded_at: Date | null; covered_through: Date | null }>(
      `SELECT dataset_id, max(loaded_at) AS last_loaded_at,
              upper((SELECT r FROM unnest(range_agg(tstzrange(window_start, window_end)) FILTER (WHERE loaded_at IS NOT NULL)) r
                      ORDER BY lower(r) LIMIT 1)) AS covered_through
         FROM etl_export_windows GROUP BY dataset_id`,
    ),
    ctx.pool.query<{ stream: string; last: Date | null; latest_status: string }>(
      `SELECT stream, max(finished_at) FILTER (WHERE status = 'completed') AS last,
              (array_agg(status ORDER BY started_at DESC))[1] AS latest_status
         FROM etl_sync_runs GROUP BY stream`,
    ),
    Promise.all(Object.values(ctx.queues).map(async (q) => ({ queue: q.name, counts: await q.getJobCounts(...JOB_STATES) }))),
    Promise.all(
      // CLIENT LIST may be refused by a managed Redis: then the gauge is left out, not the scrape.
      Object.values(ctx.queues).map(async (q) => ({ queue: q.name, count: await q.getWorkersCount().catch(() => null) })),
    ),
    currentSession(ctx).then((session) => (session ? session.slots.usage() : null)),
  ]);
  return {
    takenAt,
    windows: windows.rows.map((r) => ({ dataset: r.dataset_id, status: r.status, count: Number(r.n) })),
    datasets: datasets.rows.map((r) => ({
      dataset: r.dataset_id,
      lastLoadedAt: r.last_loaded_at?.getTime() ?? null,
      coveredThrough: r.covered_through?.getTime() ?? null,
    })),
    entities: entities.rows.map((r) => ({
      stream: r.stream,
      lastCompletedAt: r.last?.getTime() ?? null,
      lastRunFailed: !['completed', 'running'].includes(r.latest_status),
    })),
    jobs: jobs.flatMap(({ queue, counts }) => Object.entries(counts).map(([state, count]) => ({ queue, state, count }))),
    workers: workers.filter((w): w is { queue: string; count: number } => w.count !== null),
    slots,
  };
}

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The process's Prometheus instruments, low in the layers (no imports from the product) so that
 * src/intercom and src/pipeline record where things happen without knowing about the HTTP server.
 * Gauges that need Postgres or Redis are not here: src/server computes them at scrape time.
 *
 * Every name starts with METRIC_PREFIX and follows Prometheus conventions: counters end in
 * `_total`, durations are `_seconds`, sizes `_bytes`.
 */
export const METRIC_PREFIX = 'intercom_etl_';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });

/** Load durations range from a tiny window (ms) to a big one (many minutes). */
const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];
/** Intercom takes seconds to hours to build an export. */
const EXPORT_WAIT_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200];

export const rowsLoaded = new Counter({
  name: `${METRIC_PREFIX}rows_loaded_total`,
  help: 'Rows loaded into report tables, by dataset.',
  labelNames: ['dataset'] as const,
  registers: [registry],
});

export const bytesDownloaded = new Counter({
  name: `${METRIC_PREFIX}downloaded_bytes_total`,
  help: 'Compressed bytes of export downloads loaded, by dataset.',
  labelNames: ['dataset'] as const,
  registers: [registry],
});

export const windowsFinished = new Counter({
  name: `${METRIC_PREFIX}windows_finished_total`,
  help: 'Export windows this process finished, by dataset and outcome (loaded or failed).',
  labelNames: ['dataset', 'outcome'] as const,
  registers: [registry],
});

export const windowLoadDuration = new Histogram({
  name: `${METRIC_PREFIX}window_load_duration_seconds`,
  help: 'Time to download and load one export window into Postgres, by dataset.',
  labelNames: ['dataset'] as const,
  buckets: DURATION_BUCKETS,
  registers: [registry],
});

export const exportWaitDuration = new Histogram({
  name: `${METRIC_PREFIX}export_wait_duration_seconds`,
  help: 'Time from enqueueing an export at Intercom until it was ready to download, by dataset.',
  labelNames: ['dataset'] as const,
  buckets: EXPORT_WAIT_BUCKETS,
  registers: [registry],
});

export const intercomRequests = new Counter({
  name: `${METRIC_PREFIX}intercom_requests_total`,
  help: 'HTTP requests to Intercom that got a response, by endpoint (path with ids replaced) and status code.',
  labelNames: ['endpoint', 'status'] as const,
  registers: [registry],
});

export const intercomRateLimited = new Counter({
  name: `${METRIC_PREFIX}intercom_rate_limited_total`,
  help: 'Intercom 429 answers, by scope: requests (the per-minute budget) or export_jobs (5 unfinished exports).',
  labelNames: ['scope'] as const,
  registers: [registry],
});

export const intercomRateLimitRemaining = new Gauge({
  name: `${METRIC_PREFIX}intercom_rate_limit_remaining`,
  help: "Requests left in Intercom's current rate-limit window, from the last response's X-RateLimit-Remaining.",
  registers: [registry],
});

export const jobsFinished = new Counter({
  name: `${METRIC_PREFIX}jobs_finished_total`,
  help: 'BullMQ jobs this process finished, by queue, job name (nightly-sync, export-window, sync-companies, sync-tickets) and outcome (completed, or failed after its last attempt).',
  labelNames: ['queue', 'job_name', 'outcome'] as const,
  registers: [registry],
});

/**
 * The endpoint label of an Intercom path: ids and job identifiers replaced by a placeholder, so the
 * label has a handful of values whatever the traffic.
 */
export function endpointLabel(method: string, path: string): string {
  // Matched at the end of the path: a base URL with a path prefix (a proxy) keeps its labels.
  const known: Array<[RegExp, string]> = [
    [/\/export\/reporting_data\/(get_datasets|enqueue)$/, '/export/reporting_data/$1'],
    [/\/export\/reporting_data\/[^/]+$/, '/export/reporting_data/:job'],
    [/\/download\/reporting_data\/[^/]+$/, '/download/reporting_data/:job'],
    [/\/(me|companies\/scroll|companies\/list|companies|tickets\/search|ticket_types|ticket_states)$/, '/$1'],
  ];
  for (const [re, label] of known) {
    const m = re.exec(path);
    if (m) return `${method} ${label.replace('$1', m[1] ?? '')}`;
  }
  return `${method} other`;
}

/** Records one Intercom response (any status) and the rate-limit budget it reported. */
export function recordIntercomResponse(method: string, path: string, status: number, remaining: number | null): void {
  intercomRequests.inc({ endpoint: endpointLabel(method, path), status: String(status) });
  if (remaining !== null) intercomRateLimitRemaining.set(remaining);
}

/** Records a finished window load (rows committed). */
export function recordWindowLoaded(dataset: string, rows: number, bytes: number, seconds: number): void {
  rowsLoaded.inc({ dataset }, rows);
  bytesDownloaded.inc({ dataset }, bytes);
  windowLoadDuration.observe({ dataset }, seconds);
  windowsFinished.inc({ dataset, outcome: 'loaded' });
}

export const rollupRefreshes = new Counter({
  name: `${METRIC_PREFIX}rollup_refreshes_total`,
  help: 'Daily rollup refreshes this process made, by dataset and outcome (refreshed or failed).',
  labelNames: ['dataset', 'outcome'] as const,
  registers: [registry],
});

export const rollupRefreshDuration = new Histogram({
  name: `${METRIC_PREFIX}rollup_refresh_duration_seconds`,
  help: 'Time of one REFRESH MATERIALIZED VIEW CONCURRENTLY of a daily rollup, by dataset.',
  labelNames: ['dataset'] as const,
  buckets: DURATION_BUCKETS,
  registers: [registry],
});

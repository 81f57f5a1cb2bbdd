/**
 * Every job's payload, by job name: the one registry of what goes into Redis. Payloads carry keys
 * and requests only — no secrets, no state (the ledger and etl_sync_runs hold the state). Each job
 * type's `parse` (src/jobs/<job>.ts) validates its payload against these shapes.
 */

/** `export-window`: the window's ledger key. */
export interface ExportWindowPayload {
  datasetId: string;
  /** ISO timestamps of the half-open window. */
  windowStart: string;
  windowEnd: string;
}

/** `sync-companies`, `sync-tickets`: when the run was asked for (also in its job id). */
export interface SyncEntityPayload {
  requestedAt: string;
  /** Companies: mark companies deleted even if the scroll returned far fewer than are live (`--allow-mass-delete`). */
  allowMassDelete?: boolean;
}

/** Produced by Job Schedulers; nothing to carry. */
export type EmptyPayload = Record<string, never>;

export interface JobPayloads {
  'export-window': ExportWindowPayload;
  'sync-companies': SyncEntityPayload;
  'sync-tickets': SyncEntityPayload;
  'nightly-sync': EmptyPayload;
  'reconcile-windows': EmptyPayload;
  'refresh-rollups': EmptyPayload;
}

export type JobName = keyof JobPayloads;

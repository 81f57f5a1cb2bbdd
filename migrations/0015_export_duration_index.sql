-- The poll timing (recentExportDurations in src/pipeline/ledger-history.ts: per dataset, every 30 s
-- in each process) and the dispatcher's order for the last windows (claimQueuedWindows in
-- src/pipeline/dispatch-ledger.ts) read a dataset's latest finished exports: this index serves them
-- the newest first, instead of every ledger row of the dataset (years of windows) each time.
CREATE INDEX etl_export_windows_exported ON etl_export_windows (dataset_id, exported_at DESC)
  WHERE exported_at IS NOT NULL;

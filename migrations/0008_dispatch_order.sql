-- The dispatcher (src/pipeline/dispatch-windows.ts) keeps waiting windows here, not in BullMQ: a
-- `queued` window without `dispatched_at` has no queue job and waits for a free export slot; the
-- dispatcher claims the next ones (FOR UPDATE SKIP LOCKED) in `plan_order`, lowest first, and
-- stamps `dispatched_at` when it hands them a slot and a job. `plan_id` names the plan (backfill or
-- nightly run) that last reset the window, so a run's progress is one aggregate query.
ALTER TABLE etl_export_windows
  ADD COLUMN plan_order bigint NOT NULL DEFAULT 0,
  ADD COLUMN dispatched_at timestamptz,
  ADD COLUMN plan_id text;
CREATE INDEX etl_export_windows_dispatch ON etl_export_windows (plan_order, dataset_id)
  WHERE status = 'queued' AND dispatched_at IS NULL;
CREATE INDEX etl_export_windows_plan ON etl_export_windows (plan_id) WHERE plan_id IS NOT NULL;

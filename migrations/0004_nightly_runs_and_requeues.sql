-- One row per nightly run (the Job Scheduler's job), so that a night that failed shows in `status`
-- and not only in a log line someone has to find.
CREATE TABLE etl_nightly_runs (
  run_id          text PRIMARY KEY,       -- the BullMQ job id of the scheduled run
  status          text NOT NULL CHECK (status IN ('running', 'retrying', 'completed', 'failed')),
  attempts        integer NOT NULL DEFAULT 0,
  started_at      timestamptz NOT NULL DEFAULT now(),
  finished_at     timestamptz,
  windows_queued  integer,
  entity_jobs     integer,
  error           text                    -- last attempt's error; kept on a later success for the record
);
CREATE INDEX etl_nightly_runs_started ON etl_nightly_runs (started_at DESC);

-- Times the reconciler found a window without a job in the queue and queued it again; bounded, so a
-- window whose load kills its process every time fails loudly instead of looping forever.
ALTER TABLE etl_export_windows ADD COLUMN requeues integer NOT NULL DEFAULT 0;

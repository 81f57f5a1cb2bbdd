-- Safer companies/tickets runs (issue 6, item 6).

-- `refused`: the run finished but would have marked too many companies deleted, so it changed
-- nothing (error says why). `interrupted`: the worker shut down mid-run; nothing was merged and the
-- job is retried.
ALTER TABLE etl_sync_runs DROP CONSTRAINT etl_sync_runs_status_check;
ALTER TABLE etl_sync_runs ADD CONSTRAINT etl_sync_runs_status_check
  CHECK (status IN ('running', 'completed', 'failed', 'refused', 'interrupted'));

-- Companies a refused run would have marked deleted, and the live count it was compared with.
ALTER TABLE etl_sync_runs ADD COLUMN live_before bigint;

-- The run that may write a stream, fenced in Postgres itself: a run renews its lease while alive;
-- another run may abandon it (drop its staged rows) only once the lease has expired, and the merge
-- transaction locks this row and checks the lease is still its own.
CREATE TABLE etl_sync_leases (
  stream     text PRIMARY KEY CHECK (stream IN ('companies', 'tickets')),
  run_id     text NOT NULL,
  expires_at timestamptz NOT NULL
);

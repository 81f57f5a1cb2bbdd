-- Daily rollups (src/sinks/daily-rollups.ts): one materialized view `daily_<dataset>` per dataset in
-- the BI schema (ETL_BI_SCHEMA), refreshed in batches after loads, never per window.

-- Per dataset: the rollup's definition and whether it is behind its table. Every window load adds
-- 1 to `load_seq` in the window's own transaction; a refresh reads `load_seq` before it starts and
-- stores it in `refreshed_seq` when it ends. `load_seq > refreshed_seq`: rows were loaded since the
-- data the rollup holds (a load committing during a refresh keeps the dataset dirty: at least once).
CREATE TABLE etl_rollups (
  dataset_id      text PRIMARY KEY,
  view_schema     text,                  -- where the view is (NULL: not created yet)
  view_name       text,
  definition_hash text,                  -- sha256 of its SELECT: a different one drops and recreates it
  load_seq        bigint NOT NULL DEFAULT 0,
  refreshed_seq   bigint NOT NULL DEFAULT 0,
  dirty_since     timestamptz,           -- first load not yet in the rollup; NULL when current
  created_at      timestamptz,           -- when the view was (re)created
  refreshed_at    timestamptz,           -- last refresh (or creation) that read the table
  refresh_ms      integer,
  refresh_count   bigint NOT NULL DEFAULT 0,  -- refreshes ever made (REFRESH statements, not creations)
  last_error      text
);

-- The workspace's zone (`GET /me` timezone), recorded when a command or worker learns it: rollup
-- days are cut in it (ETL_ROLLUP_TIMEZONE=workspace), also by commands that never call Intercom.
CREATE TABLE etl_workspace (
  singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  workspace_id text NOT NULL,
  timezone     text NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now()
);

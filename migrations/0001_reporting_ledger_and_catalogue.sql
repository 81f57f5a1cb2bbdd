-- Runs with search_path set to PG_SCHEMA: every name below lives in that schema.

-- Reporting datasets seen in get_datasets, and the report table each one loads into.
CREATE TABLE etl_datasets (
  dataset_id                text PRIMARY KEY,
  name                      text NOT NULL,
  description               text,
  default_time_attribute_id text NOT NULL,
  table_name                text NOT NULL UNIQUE,
  first_seen_at             timestamptz NOT NULL DEFAULT now(),
  last_seen_at              timestamptz NOT NULL DEFAULT now()
);

-- Attributes of each dataset and the column each one fills. A column name, once given, never changes.
CREATE TABLE etl_attributes (
  dataset_id    text NOT NULL REFERENCES etl_datasets (dataset_id),
  column_name   text NOT NULL,
  attribute_id  text NOT NULL,          -- plain id: also the CSV header Intercom writes
  qualified_id  text,                   -- e.g. standard.conversation_id (API 2.16+), when known
  name          text NOT NULL,
  column_type   text NOT NULL CHECK (column_type IN ('timestamptz', 'numeric', 'text')),
  position      integer NOT NULL,       -- order in the catalogue when first seen
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at  timestamptz NOT NULL DEFAULT now(),
  widened_at    timestamptz,            -- set when a value did not fit the guessed type and the column became text
  PRIMARY KEY (dataset_id, column_name)
);

-- The ledger: one row per (dataset, window) export. It is the source of truth a re-run or a
-- restarted worker resumes from (Intercom job id, status), and what `status` reports.
CREATE TABLE etl_export_windows (
  dataset_id        text NOT NULL,
  window_start      timestamptz NOT NULL,
  window_end        timestamptz NOT NULL,
  status            text NOT NULL CHECK (status IN ('queued', 'exporting', 'loading', 'loaded', 'failed')),
  attribute_ids     text[],
  attribute_set_hash text,
  intercom_job_id   text,
  intercom_status   text,
  enqueue_count     integer NOT NULL DEFAULT 0,
  export_failures   integer NOT NULL DEFAULT 0,
  attempts          integer NOT NULL DEFAULT 0,
  rows_loaded       bigint,
  bytes_downloaded  bigint,
  requested_at      timestamptz NOT NULL DEFAULT now(),
  enqueued_at       timestamptz,
  exported_at       timestamptz,
  loaded_at         timestamptz,
  load_ms           integer,
  error             text,
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (dataset_id, window_start, window_end),
  CHECK (window_end > window_start)
);
CREATE INDEX etl_export_windows_status ON etl_export_windows (status, dataset_id);

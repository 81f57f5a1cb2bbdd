-- Companies and tickets, kept current by full scrolls (companies) and incremental searches (tickets).

-- Lenient casts for values taken from Intercom's JSON: a value of an unexpected shape becomes NULL
-- instead of failing the whole merge (the raw object is what Intercom sent; types are not guaranteed).
CREATE FUNCTION etl_numeric(v jsonb) RETURNS numeric LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN jsonb_typeof(v) = 'number' THEN (v #>> '{}')::numeric
    WHEN jsonb_typeof(v) = 'string' AND (v #>> '{}') ~ '^\s*-?\d+(\.\d+)?([eE][-+]?\d+)?\s*$' THEN (v #>> '{}')::numeric
  END
$$;

-- Intercom times are Unix seconds (numbers, sometimes numeric strings); 0 and negatives mean unset.
CREATE FUNCTION etl_unix_time(v jsonb) RETURNS timestamptz LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN etl_numeric(v) > 0 THEN to_timestamp(etl_numeric(v)::double precision) END
$$;

CREATE FUNCTION etl_boolean(v jsonb) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN jsonb_typeof(v) = 'boolean' THEN (v #>> '{}')::boolean
    WHEN jsonb_typeof(v) = 'string' AND lower(v #>> '{}') IN ('true', 'false') THEN lower(v #>> '{}')::boolean
  END
$$;

-- Text of a scalar (ids may be numbers or strings depending on the API version); NULL for null/absent.
CREATE FUNCTION etl_text(v jsonb) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN jsonb_typeof(v) IN ('string', 'number', 'boolean') THEN v #>> '{}' END
$$;

CREATE TABLE companies (
  id                text PRIMARY KEY,
  company_id        text,
  name              text,
  plan_id           text,
  plan_name         text,
  size              numeric,
  website           text,
  industry          text,
  monthly_spend     numeric,
  session_count     numeric,
  user_count        numeric,
  created_at        timestamptz,
  updated_at        timestamptz,
  remote_created_at timestamptz,
  last_request_at   timestamptz,
  custom_attributes jsonb,
  tags              jsonb,
  segments          jsonb,
  _synced_at        timestamptz NOT NULL,
  _deleted_at       timestamptz         -- set when a completed scroll no longer returned the company
);

CREATE TABLE tickets (
  id                          text PRIMARY KEY,
  ticket_id                   text,
  category                    text,
  title                       text,
  description                 text,
  ticket_attributes           jsonb,
  ticket_state_id             text,
  ticket_state_category       text,
  ticket_state_internal_label text,
  ticket_state_external_label text,
  ticket_type_id              text,
  ticket_type_name            text,
  open                        boolean,
  admin_assignee_id           text,
  team_assignee_id            text,
  contact_ids                 text[],
  linked_objects              jsonb,
  is_shared                   boolean,
  snoozed_until               timestamptz,
  created_at                  timestamptz,
  updated_at                  timestamptz,
  _synced_at                  timestamptz NOT NULL
);
CREATE INDEX tickets_updated_at ON tickets (updated_at);

CREATE TABLE ticket_types (
  id          text PRIMARY KEY,
  name        text,
  description text,
  category    text,
  icon        text,
  archived    boolean,
  is_internal boolean,
  attributes  jsonb,                    -- ticket_type_attributes.data, as Intercom sends them
  created_at  timestamptz,
  updated_at  timestamptz,
  _synced_at  timestamptz NOT NULL
);

CREATE TABLE ticket_states (
  id              text PRIMARY KEY,
  category        text,
  internal_label  text,
  external_label  text,
  archived        boolean,
  ticket_type_ids text[],
  _synced_at      timestamptz NOT NULL
);

-- One row per companies/tickets run: what `status` reports.
CREATE TABLE etl_sync_runs (
  run_id          text PRIMARY KEY,
  stream          text NOT NULL CHECK (stream IN ('companies', 'tickets')),
  status          text NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
  started_at      timestamptz NOT NULL DEFAULT now(),
  finished_at     timestamptz,
  pages           integer NOT NULL DEFAULT 0,
  rows_fetched    bigint NOT NULL DEFAULT 0,
  rows_upserted   bigint,
  rows_deleted    bigint,
  restarts        integer NOT NULL DEFAULT 0,
  range_from      timestamptz,            -- tickets: updated_at lower bound (watermark − overlap)
  range_to        timestamptz,            -- tickets: the run's start, the next watermark
  error           text
);
CREATE INDEX etl_sync_runs_stream ON etl_sync_runs (stream, started_at DESC);

-- Incremental state per stream; the tickets watermark advances only when a run has fully loaded.
CREATE TABLE etl_sync_state (
  stream      text PRIMARY KEY,
  watermark   timestamptz,
  last_run_id text,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Pages fetched by a running sync, merged at its end. UNLOGGED: it is scratch space (a crash loses
-- nothing that a re-run would not fetch again).
CREATE UNLOGGED TABLE etl_entity_stage (
  run_id    text NOT NULL,
  seq       bigserial,
  entity_id text NOT NULL,
  doc       jsonb NOT NULL
);
CREATE INDEX etl_entity_stage_run ON etl_entity_stage (run_id, entity_id);

-- Companies and tickets are staged as typed rows (issue 7, item 5): each page is unpacked from JSON
-- while the scroll or search goes on, so a run's final merge is a plain INSERT … SELECT … ON CONFLICT
-- over narrow rows, instead of unpacking every staged document inside the merge transaction.
-- One row per entity and run (the primary key): a company staged twice in one run keeps its latest
-- copy, a ticket its newest version, decided as each page is staged.
-- UNLOGGED: scratch space (a crash loses nothing that a re-run would not fetch again).

CREATE UNLOGGED TABLE etl_company_stage (
  run_id            text NOT NULL,
  id                text NOT NULL,
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
  PRIMARY KEY (run_id, id)
);

CREATE UNLOGGED TABLE etl_ticket_stage (
  run_id                      text NOT NULL,
  id                          text NOT NULL,
  version                     numeric,     -- updated_at as sent (Unix seconds): picks the newest copy
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
  PRIMARY KEY (run_id, id)
);

-- The JSON stage is no longer written. A run staged there by an older version cannot be merged by
-- this one: it fails (and its job retries it) with nothing changed, as any interrupted run.
DROP TABLE etl_entity_stage;

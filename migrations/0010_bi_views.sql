-- The analysts' views (ETL_BI_SCHEMA, see src/sinks/bi-views.ts): which views the product built in
-- which schema, and a fingerprint of their definition, so a refresh rebuilds only views that changed.
CREATE TABLE etl_bi_views (
  bi_schema   text NOT NULL,
  view_name   text NOT NULL,
  fingerprint text NOT NULL,
  built_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (bi_schema, view_name)
);

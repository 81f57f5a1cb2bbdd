-- Which zone the export's `YYYY-MM-DD HH:MM:SS` timestamps are in (Intercom does not say).

-- Per dataset: the zone its timestamps were found to be in (`detected`), or the configured one.
-- NULL while no loaded window has told UTC and the workspace zone apart.
ALTER TABLE etl_datasets
  ADD COLUMN timestamp_zone        text,
  ADD COLUMN timestamp_zone_source text CHECK (timestamp_zone_source IN ('detected', 'configured')),
  ADD COLUMN timestamp_zone_at     timestamptz,
  -- When Intercom was first seen to read `end_time` inclusively (rows at exactly a window's end came
  -- back); NULL: not seen (exclusive, or no row ever fell on a window's end).
  ADD COLUMN end_time_inclusive_seen_at timestamptz;

-- Per window: the zone its rows were read in, and how its rows fit the window in that zone:
--   fits      only this zone puts every row inside [window_start, window_end)
--   ambiguous several candidate zones do (the rows are re-read once the dataset's zone is known)
--   no_fit    no candidate does: the rows are loaded all the same, and timestamp_flag says why
--   empty     no row with a time value
ALTER TABLE etl_export_windows
  ADD COLUMN timestamp_zone  text,
  ADD COLUMN timestamp_check text CHECK (timestamp_check IN ('fits', 'ambiguous', 'no_fit', 'empty')),
  ADD COLUMN timestamp_flag  text;

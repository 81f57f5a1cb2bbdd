-- Runs with search_path set to PG_SCHEMA: every name below lives in that schema.

-- Report columns may now also be boolean, integer (ratings, counts) or text[] (multi-valued
-- attributes). Columns created by older versions keep their types.
ALTER TABLE etl_attributes DROP CONSTRAINT etl_attributes_column_type_check;
ALTER TABLE etl_attributes ADD CONSTRAINT etl_attributes_column_type_check
  CHECK (column_type IN ('timestamptz', 'numeric', 'integer', 'boolean', 'text[]', 'text'));

-- A text[] column is generated from a text column that COPY fills with the field as exported
-- (COPY cannot split a CSV field into an array). Null for every other column: COPY fills column_name.
ALTER TABLE etl_attributes ADD COLUMN load_column text;

-- Splits a multi-valued field the way Intercom writes it (`billing, refund`): at every comma
-- outside double quotes, spaces around items dropped; an item written in double quotes
-- (`"Smith, Jane", Bob`, quotes inside doubled) keeps its commas. Blank → NULL. Never raises, so a
-- list column never fails a load. SQL-standard bodies are bound when created (no search_path at
-- run time), and etl_split_list is inlined into the generated column's expression.
CREATE FUNCTION etl_split_quoted_list(v text) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ARRAY(
  SELECT CASE WHEN item ~ '^"([^"]|"")*"$' THEN replace(substr(item, 2, length(item) - 2), '""', '"') ELSE item END
    FROM (SELECT btrim(m[1], E' \t\r\n') AS item, i
            FROM regexp_matches(v || ',', '[ \t\r\n]*("([^"]|"")*"|[^,]*)[ \t\r\n]*,', 'g') WITH ORDINALITY AS t(m, i)) AS items
   ORDER BY i);

-- The common forms (`a, b` or `a,b`: no quote, no other spacing around commas) take string_to_array,
-- about 2.5x cheaper per value than a regular expression; the list is then split the same way.
CREATE FUNCTION etl_split_list(v text) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
  WHEN v IS NULL OR btrim(v) = '' THEN NULL
  WHEN strpos(v, '"') > 0 THEN etl_split_quoted_list(v)
  WHEN strpos(v, ' ,') = 0 AND strpos(v, ',  ') = 0 AND strpos(v, E'\t') = 0 AND strpos(v, E'\n') = 0 AND strpos(v, E'\r') = 0
    THEN string_to_array(replace(btrim(v), ', ', ','), ',')
  ELSE regexp_split_to_array(btrim(v), '\s*,\s*')
END;

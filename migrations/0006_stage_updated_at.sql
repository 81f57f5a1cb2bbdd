-- A staged document's `updated_at`, unpacked when it is staged: the merge picks each ticket's newest
-- staged version from this narrow column instead of reading every (TOAST-compressed) document.
ALTER TABLE etl_entity_stage ADD COLUMN updated_at numeric;

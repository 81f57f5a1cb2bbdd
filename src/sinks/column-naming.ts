/**
 * How CSV headers and dataset ids become Postgres names, and which type a column gets.
 * Names are assigned once, recorded in `etl_attributes`, and never change afterwards.
 */

export type ColumnType = 'timestamptz' | 'numeric' | 'integer' | 'boolean' | 'text[]' | 'text';

/** Metadata columns every report table has; attribute columns never take these names. */
export const METADATA_COLUMNS = ['_window_start', '_window_end', '_intercom_job_id', '_loaded_at'] as const;

const MAX_IDENT = 63; // Postgres truncates identifiers longer than this (NAMEDATALEN - 1 bytes)

/** Lower-case, then every character outside `[a-z0-9_]` becomes `_`. An empty result becomes `col`. */
export function sanitizeName(raw: string): string {
  const s = raw.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  return s === '' ? 'col' : s;
}

/**
 * The sanitized name, made unique against `taken` by appending `_2`, `_3`, … (the first holder
 * keeps the plain name), and kept within 63 bytes by cutting the base before the suffix.
 */
export function uniqueName(raw: string, taken: ReadonlySet<string>): string {
  const base = sanitizeName(raw);
  for (let n = 1; ; n++) {
    const suffix = n === 1 ? '' : `_${n}`;
    const candidate = base.slice(0, MAX_IDENT - suffix.length) + suffix;
    if (!taken.has(candidate)) return candidate;
  }
}

/** `report_<dataset id>` with the same sanitizing and collision rule. */
export function reportTableName(datasetId: string, taken: ReadonlySet<string>): string {
  return uniqueName(`report_${datasetId}`, taken);
}

/**
 * Type guess from the attribute's ids and name (Intercom returns no types — brief §3.2, an
 * ASSUMPTION), first rule that matches:
 * - `timestamp.` prefix, or a plain id ending in `_at` → timestamptz
 * - a plain id ending in `_ids`, `_names`, `_emails`, `_types`, or `topics` → text[] (multi-valued,
 *   split by `etl_split_list`; the field as exported is kept in a text column beside it)
 * - `duration.` prefix → numeric (seconds, decimals possible)
 * - an id ending in `_count`, or a rating (`conversation_rating`, `last_teammate_rating`, an id
 *   ending in `_rating`) → integer
 * - a `time` word in the id (`first_response_time`, `time_to_close`) → numeric (seconds)
 * - an id starting `is_`/`has_`/`was_`, ending `_participated`/`_deflected`/`_by_automation`/
 *   `_shared_with_customer`/`_in_office_hours` (the id itself, not a duration's suffix), or a name
 *   starting "Is"/"Has"/"Was" or ending "participated" → boolean
 * - everything else (ids, display names, labels, remarks) → text
 * Ids (`…_id`) are always text. A wrong guess never loses a row: the loader widens the column
 * (integer → numeric or text, anything else → text) and loads again.
 */
export function guessColumnType(attributeId: string, qualifiedId?: string, name = ''): ColumnType {
  const prefix = qualifiedId?.includes('.') ? qualifiedId.slice(0, qualifiedId.indexOf('.')) : '';
  const id = attributeId.toLowerCase();
  if (prefix === 'timestamp' || /_at$/.test(id)) return 'timestamptz';
  if (/(_ids|_names|_emails|_types)$|^topics$/.test(id)) return 'text[]';
  if (/_id$/.test(id)) return 'text';
  if (prefix === 'duration') return 'numeric';
  if (/_count$/.test(id) || /(^|_)rating$/.test(id)) return 'integer';
  if (/(^|_)time(_|$)/.test(id)) return 'numeric';
  if (
    /^(is|has|was)_/.test(id) ||
    /_(participated|deflected|by_automation|shared_with_customer)$/.test(id) ||
    /^(call_)?in_office_hours$/.test(id) ||
    /^(is|has|was)\b/i.test(name.trim()) ||
    /\bparticipated\??$/i.test(name.trim())
  ) {
    return 'boolean';
  }
  return 'text';
}

/** The text column a list column's field is loaded into, as exported (`<column>_text`). */
export function listSourceName(columnName: string, taken: ReadonlySet<string>): string {
  return uniqueName(`${columnName}_text`, taken);
}

/**
 * Type guess from a column's first loaded values (non-empty ones; at least 3 to tell): all
 * `true`/`false` (any case) → boolean; all integers without a leading zero (`007` is a code, not a
 * number) inside ±999,999,999 → integer; all plain decimals → numeric. Null: keep text.
 */
export function guessTypeFromValues(values: readonly string[]): ColumnType | null {
  const filled = values.filter((v) => v !== '');
  if (filled.length < 3) return null;
  if (filled.every((v) => /^(true|false)$/i.test(v))) return 'boolean';
  if (filled.every((v) => /^(0|-?[1-9]\d{0,8})$/.test(v))) return 'integer';
  if (filled.every((v) => /^-?(0|[1-9]\d{0,14})(\.\d{1,12})?$/.test(v))) return 'numeric';
  return null;
}

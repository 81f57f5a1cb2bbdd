/**
 * How CSV headers and dataset ids become Postgres names, and which type a column gets.
 * Names are assigned once, recorded in `etl_attributes`, and never change afterwards.
 */

export type ColumnType = 'timestamptz' | 'numeric' | 'text';

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
 * Type guess from the attribute's ids (Intercom returns no types — brief §3.2, an ASSUMPTION):
 * - `timestamp.` prefix, or a plain id ending in `_at` → timestamptz
 * - `duration.` prefix, an id ending in `_count`, or a `time` word in the id (`first_response_time`,
 *   `time_to_close`, `ticket_time_in_state`) → numeric (seconds / counts)
 * - everything else (ids, names, labels, ratings) → text
 * A wrong guess never loses a row: the loader widens the column to text and loads again.
 */
export function guessColumnType(attributeId: string, qualifiedId?: string): ColumnType {
  const prefix = qualifiedId?.includes('.') ? qualifiedId.slice(0, qualifiedId.indexOf('.')) : '';
  const id = attributeId.toLowerCase();
  if (prefix === 'timestamp' || /_at$/.test(id)) return 'timestamptz';
  if (prefix === 'duration' || /_count$/.test(id) || /(^|_)time(_|$)/.test(id)) {
    return /_id$|_ids$/.test(id) ? 'text' : 'numeric';
  }
  return 'text';
}

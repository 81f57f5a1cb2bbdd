import { defaultTimeAttribute, type AttributeDef, type DatasetDef } from './catalogue.js';
import type { EntityRefs } from './entity-refs.js';
import { describeDayRows, type GeneratorSettings } from './row-generator.js';
import { SECONDS_PER_DAY, parseTimestamp } from './time-format.js';
import { generateValue, type RowContext } from './value-specs.js';

/** A row given through the control API's `setRows`, with its default-time value pre-parsed. */
export interface FixedRow {
  /** Unix seconds of the default time attribute; null when missing/unparseable (never selected). */
  time: number | null;
  values: Readonly<Record<string, string | number | null>>;
}

/** Everything that decides the rows of one export; captured at enqueue so later changes don't leak in. */
export interface RowSelection {
  dataset: DatasetDef;
  /** Requested attributes in order (may repeat, may be an ambiguous plain id resolved to one). */
  attributes: readonly AttributeDef[];
  startTime: number;
  endTime: number;
  endInclusive: boolean;
  /** False before API 2.16 for the conversation dataset. */
  includeRowsWithoutUserReply: boolean;
  generator: GeneratorSettings;
  workspaceId: string;
  /** IANA zone of the CSV's timestamp text (resolved: never `workspace`). */
  timestampZone: string;
  /** The fake's companies and tickets, which report rows refer to. */
  entities: EntityRefs;
  /** When set, these rows replace the generated ones. */
  fixedRows?: readonly FixedRow[];
}

export type RowValues = Array<string | null>;

function inWindow(time: number, selection: RowSelection): boolean {
  return time >= selection.startTime && (selection.endInclusive ? time <= selection.endTime : time < selection.endTime);
}

/** Rows of the selection in export order: by day, and by time within a day (fixed rows: as given). */
export function* selectRows(selection: RowSelection): Generator<RowValues> {
  if (selection.fixedRows !== undefined) {
    yield* selectFixedRows(selection, selection.fixedRows);
    return;
  }
  const { dataset, generator } = selection;
  const hidden = dataset.hidesRowsWithoutUserReply && !selection.includeRowsWithoutUserReply;
  const firstDay = Math.floor(selection.startTime / SECONDS_PER_DAY);
  const lastDay = Math.floor(selection.endTime / SECONDS_PER_DAY);
  for (let day = firstDay; day <= lastDay; day++) {
    for (const row of describeDayRows(dataset, day, generator)) {
      if (!inWindow(row.time, selection) || (hidden && !row.hasUserReply)) continue;
      const context: RowContext = {
        time: row.time,
        rowId: row.rowId,
        day,
        rowsPerDay: generator.rowsPerDay,
        valueSeed: row.valueSeed,
        workspaceId: selection.workspaceId,
        zone: selection.timestampZone,
        entities: selection.entities,
        ticket: dataset.rowsAreTickets ? selection.entities.ticketAt(day, row.index, generator.rowsPerDay) : undefined,
      };
      yield selection.attributes.map((attr) => generateValue(attr.value, attr.hashKey, context));
    }
  }
}

function* selectFixedRows(selection: RowSelection, rows: readonly FixedRow[]): Generator<RowValues> {
  for (const row of rows) {
    if (row.time === null || !inWindow(row.time, selection)) continue;
    yield selection.attributes.map((attr) => fixedValue(row, attr));
  }
}

/** A qualified-id key wins over a plain-id key, so an ambiguous plain id can be set per attribute. */
function fixedValue(row: FixedRow, attr: AttributeDef): string | null {
  const value = Object.hasOwn(row.values, attr.qualifiedId) ? row.values[attr.qualifiedId] : row.values[attr.id];
  if (value === undefined || value === null || value === '') return null;
  return String(value);
}

export function toFixedRows(dataset: DatasetDef, rows: ReadonlyArray<Record<string, string | number | null>>): FixedRow[] {
  const timeAttr = defaultTimeAttribute(dataset);
  return rows.map((values) => {
    const raw = Object.hasOwn(values, timeAttr.qualifiedId) ? values[timeAttr.qualifiedId] : values[timeAttr.id];
    return { time: typeof raw === 'string' ? parseTimestamp(raw) : null, values: { ...values } };
  });
}

/** Whether the selection has at least one row (stops at the first). */
export function hasAnyRow(selection: RowSelection): boolean {
  for (const _row of selectRows(selection)) return true;
  return false;
}

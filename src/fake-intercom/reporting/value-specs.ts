import { intBetween, mix, pick, unit } from './hashing.js';
import type { EntityRefs, TicketRef } from './entity-refs.js';
import { formatTimestamp } from './time-format.js';
import { COMPANIES, PEOPLE, TAGS, TEAMMATES, TEAMS, UNASSIGNED, emailFor } from './value-pools.js';

/** How one attribute's value is generated. Kinds mirror the value formats observed in real exports. */
export type ValueSpec =
  /** The row's own numeric id (dataset id base + day + row index): unique and stable across revisions. */
  | { kind: 'rowId' }
  /** The row's default time attribute; never null. */
  | { kind: 'rowTime' }
  /** Id of a row of another dataset on the same day (e.g. a conversation a part belongs to). */
  | { kind: 'refId'; base: number }
  /** A timestamp some seconds after the row time, or null. */
  | { kind: 'timeAfter'; maxSeconds: number; nullRate: number }
  /** Seconds, sometimes with decimals (clients parse durations as floats). */
  | { kind: 'duration'; maxSeconds: number; nullRate: number; decimals: boolean }
  | { kind: 'count'; max: number }
  /** One of a list of labels/texts, or null. */
  | { kind: 'label'; values: readonly string[]; nullRate: number }
  /** Team display name (`Unassigned` when none) or its numeric raw id (empty when none). */
  | { kind: 'team'; part: 'name' | 'rawId'; unassignedRate: number }
  /** Teammate display name or numeric raw id; null when nobody. */
  | { kind: 'teammate'; part: 'name' | 'rawId'; nullRate: number }
  /** Multi-valued: comma-separated names in one field; null when empty. */
  | { kind: 'teammateList'; max: number }
  | { kind: 'tagList'; max: number }
  | { kind: 'boolean'; trueRate: number }
  /** 1–5 star rating, or null. */
  | { kind: 'rating'; nullRate: number }
  | { kind: 'person'; part: 'name' | 'email' | 'company' }
  /** URL built from a template with `{workspace}` and `{rowId}` (a ticket row: the ticket's id). */
  | { kind: 'url'; template: string }
  /** One of the fake's companies (its `company_id` or name; paired attributes pick the same), or null. */
  | { kind: 'company'; part: 'companyId' | 'name'; nullRate: number }
  /** A field of the ticket the row stands for (tickets dataset); `otherwise` for rows without one. */
  | { kind: 'ticket'; part: 'id' | 'type' | 'state' | 'category' | 'title'; otherwise: ValueSpec };

/** Everything a value may depend on. Values of one row depend on nothing else. */
/** Short constructors for the catalogue's attribute specs. */
export const ROW_ID: ValueSpec = { kind: 'rowId' };
export const ROW_TIME: ValueSpec = { kind: 'rowTime' };
export const label = (values: readonly string[], nullRate = 0): ValueSpec => ({ kind: 'label', values, nullRate });
export const duration = (maxSeconds: number, nullRate: number, decimals = true): ValueSpec => ({
  kind: 'duration',
  maxSeconds,
  nullRate,
  decimals,
});
export const timeAfter = (maxSeconds: number, nullRate: number): ValueSpec => ({ kind: 'timeAfter', maxSeconds, nullRate });
export const team = (part: 'name' | 'rawId'): ValueSpec => ({ kind: 'team', part, unassignedRate: 0.2 });
export const teammate = (part: 'name' | 'rawId', nullRate = 0.15): ValueSpec => ({ kind: 'teammate', part, nullRate });
export const bool = (trueRate: number): ValueSpec => ({ kind: 'boolean', trueRate });
export const company = (part: 'companyId' | 'name', nullRate = 0): ValueSpec => ({ kind: 'company', part, nullRate });
export const ticketField = (part: 'id' | 'type' | 'state' | 'category' | 'title', otherwise: ValueSpec): ValueSpec => ({
  kind: 'ticket',
  part,
  otherwise,
});

export interface RowContext {
  /** Unix seconds of the row's default time attribute. */
  time: number;
  /** Unique, stable numeric id of the row within its dataset. */
  rowId: number;
  /** Days since the Unix epoch of the row. */
  day: number;
  rowsPerDay: number;
  /** Seed of this row's values; changes when a data revision modifies the row. */
  valueSeed: number;
  workspaceId: string;
  /** IANA zone the CSV's timestamps are written in. */
  zone: string;
  /** The fake's companies and tickets, for keys that must match them. */
  entities: EntityRefs;
  /** The ticket this row stands for (tickets dataset only), if any. */
  ticket: TicketRef | undefined;
}

/** Row ids are `base + day * ROW_ID_DAY_STRIDE + index`; well inside 2^53 for any realistic day. */
export const ROW_ID_DAY_STRIDE = 1_000_000;

const TEAMMATE_NAMES = TEAMMATES.map((t) => t.name);

export function generateValue(spec: ValueSpec, attributeHash: number, row: RowContext): string | null {
  const h = mix(row.valueSeed, attributeHash);
  switch (spec.kind) {
    case 'rowId':
      return String(row.rowId);
    case 'rowTime':
      return formatTimestamp(row.time, row.zone);
    case 'refId':
      return String(spec.base + row.day * ROW_ID_DAY_STRIDE + intBetween(h, 0, row.rowsPerDay - 1));
    case 'timeAfter':
      return isNull(h, spec.nullRate) ? null : formatTimestamp(row.time + intBetween(h, 1, spec.maxSeconds), row.zone);
    case 'duration':
      return isNull(h, spec.nullRate) ? null : formatDuration(h, spec.maxSeconds, spec.decimals);
    case 'count':
      return String(intBetween(h, 0, spec.max));
    case 'label':
      return isNull(h, spec.nullRate) ? null : pick(h, spec.values);
    case 'team': {
      if (isNull(h, spec.unassignedRate)) return spec.part === 'name' ? UNASSIGNED : null;
      const team = pick(h, TEAMS);
      return spec.part === 'name' ? team.name : String(team.id);
    }
    case 'teammate': {
      if (isNull(h, spec.nullRate)) return null;
      const teammate = pick(h, TEAMMATES);
      return spec.part === 'name' ? teammate.name : String(teammate.id);
    }
    case 'teammateList':
      return joinList(distinctPicks(h, TEAMMATE_NAMES, spec.max));
    case 'tagList':
      return joinList(distinctPicks(h, TAGS, spec.max));
    case 'boolean':
      return unit(h) < spec.trueRate ? 'true' : 'false';
    case 'rating':
      return isNull(h, spec.nullRate) ? null : String(intBetween(h, 1, 5));
    case 'person': {
      const index = intBetween(h, 0, 9999);
      const person = pick(mix(h, 2), PEOPLE);
      if (spec.part === 'name') return person;
      if (spec.part === 'email') return emailFor(person, index);
      return pick(mix(h, 3), COMPANIES);
    }
    case 'url':
      return spec.template.replace('{workspace}', row.workspaceId).replace('{rowId}', row.ticket?.id ?? String(row.rowId));
    case 'company': {
      const companies = row.entities.companies;
      if (companies.length === 0 || isNull(h, spec.nullRate)) return null;
      const picked = pick(mix(h, 5), companies);
      return spec.part === 'companyId' ? picked.companyId : picked.name;
    }
    case 'ticket':
      return row.ticket === undefined ? generateValue(spec.otherwise, attributeHash, row) : ticketValue(row.ticket, spec.part);
  }
}

function ticketValue(ticket: TicketRef, part: 'id' | 'type' | 'state' | 'category' | 'title'): string | null {
  if (part === 'id') return ticket.id;
  if (part === 'type') return ticket.typeName;
  if (part === 'state') return ticket.stateLabel;
  if (part === 'category') return ticket.categoryLabel;
  return ticket.title;
}

/** Declared once (not a closure per value): the generator runs for millions of values in benchmarks. */
function isNull(h: number, rate: number): boolean {
  return unit(mix(h, 1)) < rate;
}

function formatDuration(h: number, maxSeconds: number, decimals: boolean): string {
  const whole = intBetween(h, 0, maxSeconds);
  if (!decimals || unit(mix(h, 2)) >= 0.4) return String(whole);
  const withFraction = whole + intBetween(mix(h, 3), 1, 99) / 100;
  return String(Number(withFraction.toFixed(2)));
}

function distinctPicks(h: number, values: readonly string[], max: number): string[] {
  const count = intBetween(mix(h, 4), 0, Math.min(max, values.length));
  const chosen: string[] = [];
  for (let i = 0; chosen.length < count; i++) {
    const value = pick(mix(h, 10 + i), values);
    if (!chosen.includes(value)) chosen.push(value);
  }
  return chosen;
}

/**
 * Multi-valued attributes: one field, values separated by ", " (ASSUMPTION, brief §3.9); a value
 * that itself contains a comma (`O'Brien, Pat`) is written in double quotes, its quotes doubled, so
 * it stays one value (ASSUMPTION: the CSV convention applied inside the field).
 */
function joinList(values: string[]): string | null {
  if (values.length === 0) return null;
  return values.map((v) => (v.includes(',') ? `"${v.replaceAll('"', '""')}"` : v)).join(', ');
}

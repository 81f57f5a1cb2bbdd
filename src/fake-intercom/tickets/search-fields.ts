import { attributeByIdOrName, type AttributeDataType, type TicketCategory } from './ticket-catalogue.js';
import type { TicketJson } from './ticket-fixtures.js';

/**
 * The searchable ticket fields (brief §6.1, [2.14 L14040-14056]) and how each reads a ticket. A
 * field yields a list of values because `contact_ids` has many; single-valued fields yield one value,
 * or none when the ticket does not have it (e.g. not snoozed).
 */

export type FieldKind = 'string' | 'date' | 'number' | 'boolean' | 'category';

export interface SearchField {
  name: string;
  kind: FieldKind;
  values(ticket: TicketJson): unknown[];
}

/** Operators each kind accepts; `>`/`<` are strict, `>=`/`<=` inclusive (ASSUMPTION, brief §6.1). */
export const OPERATORS_BY_KIND: Record<FieldKind, readonly string[]> = {
  string: ['=', '!=', 'IN', 'NIN', '~', '!~', '^', '$'],
  date: ['=', '!=', 'IN', 'NIN', '>', '<', '>=', '<='],
  number: ['=', '!=', 'IN', 'NIN', '>', '<', '>=', '<='],
  boolean: ['=', '!=', 'IN', 'NIN'],
  category: ['=', '!=', 'IN', 'NIN'],
};

export const ALL_OPERATORS: readonly string[] = ['=', '!=', 'IN', 'NIN', '>', '<', '>=', '<=', '~', '!~', '^', '$'];

/** Search uses its own words for categories [2.14 L14058-14063]; the display names are accepted too. */
export const CATEGORY_ALIASES: Record<string, TicketCategory> = {
  request: 'Customer',
  task: 'Back-office',
  tracker: 'Tracker',
  customer: 'Customer',
  'back-office': 'Back-office',
};

const one = (value: unknown): unknown[] => (value === undefined || value === null ? [] : [value]);
const attrs = (t: TicketJson) => (t.ticket_attributes ?? {}) as Record<string, unknown>;
const nested = (t: TicketJson, key: string, inner: string) => one((t[key] as Record<string, unknown> | undefined)?.[inner]);
const field = (name: string, kind: FieldKind, values: (t: TicketJson) => unknown[]): SearchField => ({ name, kind, values });

const FIELDS: readonly SearchField[] = [
  field('id', 'string', (t) => one(t.id)),
  field('created_at', 'date', (t) => one(t.created_at)),
  field('updated_at', 'date', (t) => one(t.updated_at)),
  field('title', 'string', (t) => one(attrs(t)._default_title_)),
  field('description', 'string', (t) => one(attrs(t)._default_description_)),
  field('category', 'category', (t) => one(t.category)),
  field('ticket_type_id', 'string', (t) => nested(t, 'ticket_type', 'id')),
  field('contact_ids', 'string', (t) => {
    const contacts = (t.contacts as { contacts?: Array<{ id?: unknown }> } | undefined)?.contacts ?? [];
    return contacts.map((c) => c.id).filter((id) => id !== undefined);
  }),
  // ASSUMPTION: the teammates of a ticket are its assigned admin (the fake has no participants).
  field('teammate_ids', 'string', (t) => (t.admin_assignee_id === '0' ? [] : one(t.admin_assignee_id))),
  field('admin_assignee_id', 'string', (t) => one(t.admin_assignee_id)),
  field('team_assignee_id', 'string', (t) => one(t.team_assignee_id)),
  field('open', 'boolean', (t) => one(t.open)),
  // ASSUMPTION: `state` matches the ticket state's category (submitted, …) or its id.
  field('state', 'string', (t) => [...nested(t, 'ticket_state', 'category'), ...nested(t, 'ticket_state', 'id')]),
  field('snoozed_until', 'date', (t) => one(t.snoozed_until)),
];

const KIND_BY_DATA_TYPE: Record<AttributeDataType, FieldKind> = {
  string: 'string',
  list: 'string',
  integer: 'number',
  decimal: 'number',
  boolean: 'boolean',
  datetime: 'date',
};

const ATTRIBUTE_PREFIX = 'ticket_attribute.';

export function resolveField(name: string): SearchField | undefined {
  if (name.startsWith(ATTRIBUTE_PREFIX)) {
    const attr = attributeByIdOrName(name.slice(ATTRIBUTE_PREFIX.length));
    if (attr === undefined) return undefined;
    return field(name, KIND_BY_DATA_TYPE[attr.dataType], (t) => one(attrs(t)[attr.name]));
  }
  return FIELDS.find((f) => f.name === name);
}

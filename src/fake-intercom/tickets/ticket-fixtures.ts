import { hashString, intBetween, mix, pick, unit } from '../reporting/hashing.js';
import { TEAMMATES, TEAMS } from '../reporting/value-pools.js';
import { TICKET_TYPES, stateById, stateJson, ticketTypeJson, type AttributeDef, type TicketTypeDef } from './ticket-catalogue.js';

/**
 * Deterministic tickets in the 2.14 shape (brief §6.2): ticket n is a pure function of
 * (seed, n, anchor). `updated_at` values spread over the 30 days before the anchor, and every 10th
 * group of three shares one `updated_at`, so ordering ties are exercised on every run.
 */

export type TicketJson = Record<string, unknown>;

/** A ticket plus what only some API versions show (`previous_ticket_state_id`, 2.16+). */
export interface TicketRecord {
  json: TicketJson;
  previousStateId: string | null;
}

export interface TicketFixtureContext {
  seed: number;
  workspaceId: string;
  /** Unix seconds of the fake's clock when it started; every generated `updated_at` is before it. */
  anchorS: number;
}

const DAY_S = 86_400;
/** The newest fixture is this much older than the anchor, so `updated_at < start` catches them all. */
const NEWEST_AGE_S = 120;

const TITLES = [
  'Export fails, "timeout" error',
  'Refund for order #1042',
  'Login loop on Safari 🍎',
  'Invoice shows wrong VAT, again',
  'API returns 500 on /companies',
  'Données manquantes dans le rapport',
  'Payment declined — card OK',
] as const;
const DESCRIPTIONS = [
  'Customer says:\n"It worked yesterday."',
  'Steps: open dashboard, click Export, wait.',
  'Refund requested by finance, see thread.',
  'Multiple customers affected 🚨, priority high',
] as const;
// The workspace's teammates (admins) and teams, as the reporting export names them: a ticket's
// assignee ids are the `…_raw_id` values of report rows (issue 9 §2).
const ADMINS = TEAMMATES.slice(0, 4);
const ADMIN_IDS = ADMINS.map((a) => String(a.id));
const ADMIN_NAMES = ADMINS.map((a) => a.name);
const TEAM_IDS = TEAMS.slice(0, 3).map((t) => String(t.id));

const hex = (value: number) => (value >>> 0).toString(16).padStart(8, '0');

function fieldHash(ctx: TicketFixtureContext, index: number) {
  const base = mix(mix(hashString('ticket'), ctx.seed), index);
  return (field: string) => mix(base, hashString(field));
}

/** Ticket ids: numeric strings, increasing with the index (gaps, like a shared id sequence). */
export function ticketIdFor(ctx: TicketFixtureContext, index: number): string {
  return String(215_400 + index * 7 + (fieldHash(ctx, index)('id') % 7));
}

/** Groups of three (indexes 10k+7, +8, +9) share the first one's `updated_at`: deliberate ties. */
export function fixtureUpdatedAt(ctx: TicketFixtureContext, index: number): number {
  const leader = index % 10 >= 8 ? index - (index % 10) + 7 : index;
  const age = intBetween(fieldHash(ctx, leader)('updated_at'), NEWEST_AGE_S, 30 * DAY_S);
  return ctx.anchorS - age;
}

export function generateTicket(ctx: TicketFixtureContext, index: number): TicketRecord {
  const h = fieldHash(ctx, index);
  const type = pick(h('type'), [TICKET_TYPES[0]!, TICKET_TYPES[0]!, TICKET_TYPES[1]!, TICKET_TYPES[2]!]);
  const liveStates = type.stateIds.filter((id) => !stateById(id)!.archived);
  const state = stateById(pick(h('state'), liveStates))!;
  const updatedAt = fixtureUpdatedAt(ctx, index);
  const createdAt = updatedAt - intBetween(h('created_at'), 0, 20 * DAY_S);
  const id = ticketIdFor(ctx, index);
  const contacts = contactsFor(h, type);
  const open = state.category !== 'resolved';
  const ticket: TicketJson = {
    type: 'ticket',
    id,
    ticket_id: String(index + 1),
    category: type.category,
    ticket_attributes: attributesFor(h, type, updatedAt),
    ticket_state: stateJson(state),
    ticket_type: ticketTypeJson(type, ctx.workspaceId),
    contacts: { type: 'contact.list', contacts },
    admin_assignee_id: unit(h('admin?')) < 0.3 ? '0' : pick(h('admin'), ADMIN_IDS),
    team_assignee_id: unit(h('team?')) < 0.4 ? '0' : pick(h('team'), TEAM_IDS),
    created_at: createdAt,
    updated_at: updatedAt,
    open,
    linked_objects: linkedObjects(ctx, h, type, index),
    ticket_parts: ticketParts(h, index, createdAt, updatedAt, state.category),
    is_shared: type.category === 'Customer' && unit(h('shared')) < 0.8,
  };
  // Not snoozed → no key at all (the schema's integer is not nullable).
  if (open && unit(h('snooze?')) < 0.15) ticket.snoozed_until = updatedAt + intBetween(h('snooze'), 3600, 7 * DAY_S);
  return { json: ticket, previousStateId: state.category === 'submitted' ? null : '8321' };
}

function attributesFor(h: (f: string) => number, type: TicketTypeDef, updatedAt: number): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  for (const attr of type.attributes) attributes[attr.name] = attributeValue(h, attr, updatedAt);
  return attributes;
}

/** Mixed types (string, number, boolean, null) as the attribute's data type says. */
function attributeValue(h: (f: string) => number, attr: AttributeDef, updatedAt: number): unknown {
  const key = `attr:${attr.id}`;
  if (attr.name === '_default_title_') return pick(h(key), TITLES);
  if (unit(h(`${key}?`)) < 0.15) return null;
  switch (attr.dataType) {
    case 'string':
      return attr.name === '_default_description_'
        ? pick(h(key), DESCRIPTIONS)
        : `v${intBetween(h(key), 1, 9)}.${intBetween(h(`${key}.minor`), 0, 20)}, build "${intBetween(h(`${key}.b`), 100, 999)}"`;
    case 'list':
      return pick(h(key), attr.options ?? ['']);
    case 'integer':
      return intBetween(h(key), 0, 5000);
    case 'decimal':
      return Math.round(unit(h(key)) * 100_000) / 100;
    case 'boolean':
      return unit(h(key)) < 0.5;
    case 'datetime':
      return updatedAt + intBetween(h(key), 0, 30 * DAY_S);
  }
}

function contactsFor(h: (f: string) => number, type: TicketTypeDef): Array<Record<string, unknown>> {
  const max = type.category === 'Customer' ? 2 : type.category === 'Back-office' ? 1 : 0;
  const min = type.category === 'Customer' ? 1 : 0;
  return Array.from({ length: intBetween(h('contacts'), min, max) }, (_, i) => {
    const contact: Record<string, unknown> = { type: 'contact', id: `6762f2dd${hex(h(`contact${i}`))}${hex(h(`contact${i}b`))}` };
    contact.external_id = unit(h(`contact${i}ext?`)) < 0.3 ? null : `user-${intBetween(h(`contact${i}ext`), 1000, 99_999)}`;
    return contact;
  });
}

function linkedObjects(ctx: TicketFixtureContext, h: (f: string) => number, type: TicketTypeDef, index: number): Record<string, unknown> {
  const data: Array<Record<string, unknown>> = [];
  const count = type.category === 'Tracker' ? intBetween(h('links'), 1, 3) : intBetween(h('links'), 0, 1);
  for (let i = 0; i < count; i++) {
    if (type.category === 'Customer') {
      data.push({ type: 'conversation', id: String(intBetween(h(`link${i}`), 100_000, 999_999)), category: null });
    } else {
      // Links point at other fixture tickets (ids of earlier indexes exist whatever the count).
      const other = index === 0 ? 0 : intBetween(h(`link${i}`), 0, index - 1);
      data.push({ type: 'ticket', id: ticketIdFor(ctx, other), category: 'Customer' });
    }
  }
  return { type: 'list', total_count: data.length, has_more: false, data };
}

function ticketParts(
  h: (f: string) => number,
  index: number,
  createdAt: number,
  updatedAt: number,
  category: string,
): Record<string, unknown> {
  const adminIndex = intBetween(h('author'), 0, ADMIN_IDS.length - 1);
  const author = { type: 'admin', id: ADMIN_IDS[adminIndex]!, name: ADMIN_NAMES[adminIndex]!, email: `admin${adminIndex + 1}@example.com` };
  const part = (n: number, fields: Record<string, unknown>) => ({
    type: 'ticket_part',
    id: String(176_000 + index * 4 + n),
    ...fields,
    author,
    attachments: [],
    redacted: false,
  });
  const parts = [
    part(0, {
      part_type: 'ticket_state_updated_by_admin',
      ticket_state: 'submitted',
      previous_ticket_state: 'submitted',
      created_at: createdAt,
      updated_at: createdAt,
    }),
  ];
  if (category !== 'submitted') {
    parts.push(
      part(1, {
        part_type: 'ticket_state_updated_by_admin',
        ticket_state: category,
        previous_ticket_state: 'submitted',
        created_at: updatedAt,
        updated_at: updatedAt,
      }),
    );
  }
  if (unit(h('note?')) < 0.4)
    parts.push(
      part(2, { part_type: 'note', body: '<p>Checked the logs, see "details" 👀</p>', created_at: updatedAt, updated_at: updatedAt }),
    );
  return { type: 'ticket_part.list', ticket_parts: parts, total_count: parts.length };
}

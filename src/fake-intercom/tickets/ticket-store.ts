import { TICKET_STATES, stateJson } from './ticket-catalogue.js';
import { generateTicket, type TicketFixtureContext, type TicketRecord } from './ticket-fixtures.js';

/** Top-level ticket fields a patch sets directly; any other key is a ticket attribute. */
const TICKET_FIELDS = new Set([
  'ticket_id',
  'category',
  'ticket_state',
  'ticket_type',
  'contacts',
  'admin_assignee_id',
  'team_assignee_id',
  'created_at',
  'updated_at',
  'open',
  'snoozed_until',
  'linked_objects',
  'ticket_parts',
  'is_shared',
]);

/** The workspace's tickets in the 2.14 shape, keyed by `id`; mutations stamp `updated_at` from the clock. */
export class TicketStore {
  private readonly tickets = new Map<string, TicketRecord>();
  /** Fixture indexes handed out so far; addTicket() continues the sequence. */
  private generated = 0;

  constructor(
    private readonly ctx: TicketFixtureContext,
    count: number,
  ) {
    for (let i = 0; i < count; i++) this.insert(generateTicket(ctx, this.generated++));
  }

  all(): TicketRecord[] {
    return [...this.tickets.values()];
  }

  get(id: string): TicketRecord | undefined {
    return this.tickets.get(id);
  }

  /**
   * `ticket_attributes` (an object) is merged into the ticket's attributes; known ticket fields are
   * set (undefined deletes); any other key is taken as an attribute name. `ticket_state` may also be
   * given as a state id or category. `updated_at` becomes `nowS` unless the patch sets it.
   */
  update(id: string, patch: Record<string, unknown>, nowS: number): void {
    const record = this.require(id);
    const ticket = record.json;
    const attributes = { ...(ticket.ticket_attributes as Record<string, unknown>) };
    ticket.updated_at = nowS;
    for (const [key, value] of Object.entries(structuredClone(patch))) {
      if (key === 'ticket_attributes' && isObject(value)) Object.assign(attributes, value);
      else if (key === 'ticket_state' && typeof value === 'string') this.setState(record, value);
      else if (TICKET_FIELDS.has(key)) {
        if (value === undefined) delete ticket[key];
        else ticket[key] = value;
      } else attributes[key] = value;
    }
    ticket.ticket_attributes = attributes;
  }

  /** A new ticket generated like the fixtures, created and updated at `nowS`; returns its id. */
  add(patch: Record<string, unknown>, nowS: number): string {
    const record = generateTicket(this.ctx, this.generated++);
    record.json.created_at = nowS;
    delete record.json.snoozed_until;
    this.insert(record);
    const id = String(record.json.id);
    this.update(id, patch, nowS);
    return id;
  }

  setUpdatedAt(id: string, unixSeconds: number): void {
    if (!Number.isInteger(unixSeconds)) throw new Error(`updated_at must be integer Unix seconds, got ${unixSeconds}`);
    this.require(id).json.updated_at = unixSeconds;
  }

  private setState(record: TicketRecord, idOrCategory: string): void {
    const state = TICKET_STATES.find((s) => s.id === idOrCategory) ?? TICKET_STATES.find((s) => s.category === idOrCategory && !s.archived);
    if (state === undefined) throw new Error(`no ticket state with id or category '${idOrCategory}'`);
    const previous = record.json.ticket_state as { id?: unknown } | undefined;
    record.previousStateId = typeof previous?.id === 'string' ? previous.id : null;
    record.json.ticket_state = stateJson(state);
    record.json.open = state.category !== 'resolved';
  }

  private insert(record: TicketRecord): void {
    this.tickets.set(String(record.json.id), record);
  }

  private require(id: string): TicketRecord {
    const record = this.tickets.get(id);
    if (record === undefined) throw new Error(`no ticket with id '${id}'`);
    return record;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

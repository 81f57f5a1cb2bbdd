import { versionAtLeast } from '../server/api-version.js';
import type { TicketJson, TicketRecord } from './ticket-fixtures.js';

/**
 * Version-dependent ticket shapes (brief §6.2). The store keeps the 2.14 shape; this renders it for
 * the request's `Intercom-Version`:
 * - < 2.10: no tickets API at all (the routes answer 404);
 * - 2.10, 2.11: `ticket_state` is the category string, labels in `ticket_state_internal_label` and
 *   `ticket_state_external_label` (at the end of the object, as in the 2.11 description);
 * - 2.12 – 2.15: `ticket_state` object (the stored shape);
 * - 2.16+, Preview, Unstable: assignee ids are integers and `previous_ticket_state_id` is added.
 */

export function hasTicketsApi(version: string): boolean {
  return versionAtLeast(version, 2, 10);
}

/** `GET /ticket_states` appears in 2.12. */
export function hasTicketStatesApi(version: string): boolean {
  return versionAtLeast(version, 2, 12);
}

export function renderTicket(record: TicketRecord, version: string): TicketJson {
  const ticket = structuredClone(record.json);
  if (!versionAtLeast(version, 2, 12)) {
    const state = ticket.ticket_state as { category?: unknown; internal_label?: unknown; external_label?: unknown } | undefined;
    ticket.ticket_state = state?.category;
    ticket.ticket_state_internal_label = state?.internal_label;
    ticket.ticket_state_external_label = state?.external_label;
  }
  if (versionAtLeast(version, 2, 16)) {
    ticket.admin_assignee_id = toInteger(ticket.admin_assignee_id);
    ticket.team_assignee_id = toInteger(ticket.team_assignee_id);
    ticket.previous_ticket_state_id = record.previousStateId;
  }
  return ticket;
}

function toInteger(value: unknown): unknown {
  return typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
}

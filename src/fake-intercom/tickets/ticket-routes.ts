import { sendError, sendJson } from '../server/responses.js';
import type { FakeRequest, Route } from '../server/router.js';
import { searchTickets, type SearchDeps } from './search-route.js';
import { TICKET_STATES, TICKET_TYPES, ticketStateListItem, ticketTypeJson } from './ticket-catalogue.js';
import type { TicketRecord } from './ticket-fixtures.js';
import { hasTicketStatesApi, hasTicketsApi, renderTicket } from './ticket-versions.js';

export interface TicketRoutesDeps extends SearchDeps {
  ticket(id: string): TicketRecord | undefined;
  workspaceId: string;
}

/** The tickets endpoint family: search, one ticket, ticket types and states (brief §6). */
export function ticketRoutes(deps: TicketRoutesDeps): Route[] {
  return [
    { method: 'POST', pattern: '/tickets/search', produces: 'json', handle: (req) => searchTickets(deps, req) },
    { method: 'GET', pattern: '/tickets/:id', produces: 'json', handle: (req) => getTicket(deps, req) },
    { method: 'GET', pattern: '/ticket_types', produces: 'json', handle: (req) => listTicketTypes(deps, req) },
    { method: 'GET', pattern: '/ticket_states', produces: 'json', handle: (req) => listTicketStates(req) },
  ];
}

/** Before the version that introduced an endpoint, it does not exist: Intercom's plain 404. */
function missingInVersion(req: FakeRequest, available: boolean): boolean {
  if (!available) sendError(req.res, 404, 'not_found', 'Resource Not Found');
  return !available;
}

function getTicket(deps: TicketRoutesDeps, req: FakeRequest): void {
  if (missingInVersion(req, hasTicketsApi(req.apiVersion))) return;
  const record = deps.ticket(req.params.id ?? '');
  if (record === undefined) sendError(req.res, 404, 'ticket_not_found', 'Ticket not found');
  else sendJson(req.res, 200, renderTicket(record, req.apiVersion));
}

function listTicketTypes(deps: TicketRoutesDeps, req: FakeRequest): void {
  if (missingInVersion(req, hasTicketsApi(req.apiVersion))) return;
  sendJson(req.res, 200, { type: 'list', data: TICKET_TYPES.map((t) => ticketTypeJson(t, deps.workspaceId)) });
}

function listTicketStates(req: FakeRequest): void {
  if (missingInVersion(req, hasTicketStatesApi(req.apiVersion))) return;
  sendJson(req.res, 200, { type: 'list', data: TICKET_STATES.map(ticketStateListItem) });
}

import { sendError, sendJson } from '../server/responses.js';
import type { FakeRequest } from '../server/router.js';
import { compareIds, decodeCursor, encodeCursor, queryKey, type CursorPosition } from './search-cursor.js';
import { QueryError, compileQuery } from './search-query.js';
import type { TicketRecord } from './ticket-fixtures.js';
import { hasTicketsApi, renderTicket } from './ticket-versions.js';

/**
 * `POST /tickets/search` [2.14 L14004-14216]: validate the body, filter, order by `updated_at` then
 * `id` (both ascending; Intercom does not document its order, the fake needs a stable one), and page
 * with an opaque cursor sent back in `pagination.starting_after`. `pages.next` is left out on the
 * last page.
 */

export const DEFAULT_SEARCH_PER_PAGE = 20;
export const MAX_SEARCH_PER_PAGE = 150;

export interface SearchDeps {
  tickets(): TicketRecord[];
  badCursorStatus: () => 400 | 500;
}

export function searchTickets(deps: SearchDeps, req: FakeRequest): void {
  if (!hasTicketsApi(req.apiVersion)) {
    sendError(req.res, 404, 'not_found', 'Resource Not Found');
    return;
  }
  let body: unknown;
  try {
    body = JSON.parse(req.body.toString('utf8'));
  } catch {
    sendError(req.res, 400, 'parameter_invalid', 'Request body is not valid JSON');
    return;
  }
  if (!isObject(body)) {
    sendError(req.res, 400, 'parameter_invalid', 'Request body must be a JSON object');
    return;
  }
  let predicate: ReturnType<typeof compileQuery>;
  try {
    predicate = compileQuery(body.query);
  } catch (err) {
    if (!(err instanceof QueryError)) throw err;
    sendError(req.res, 400, 'parameter_invalid', err.message, 'query');
    return;
  }
  const pagination = body.pagination ?? {};
  if (!isObject(pagination)) {
    sendError(req.res, 400, 'parameter_invalid', "'pagination' must be an object", 'pagination');
    return;
  }
  const perPage = pagination.per_page ?? DEFAULT_SEARCH_PER_PAGE;
  if (typeof perPage !== 'number' || !Number.isInteger(perPage) || perPage < 1 || perPage > MAX_SEARCH_PER_PAGE) {
    // ASSUMPTION: refused rather than clamped, so a client asking for too much learns it at once.
    sendError(req.res, 400, 'parameter_invalid', `per_page must be an integer between 1 and ${MAX_SEARCH_PER_PAGE}`, 'per_page');
    return;
  }
  const key = queryKey(body.query);
  let position: CursorPosition | undefined;
  const startingAfter = pagination.starting_after;
  if (startingAfter !== undefined && startingAfter !== null && startingAfter !== '') {
    position = typeof startingAfter === 'string' ? decodeCursor(startingAfter, key) : undefined;
    if (position === undefined) {
      badCursor(req, deps.badCursorStatus());
      return;
    }
  }
  sendJson(req.res, 200, searchPage(deps.tickets(), predicate, perPage, key, position, req.apiVersion));
}

function badCursor(req: FakeRequest, status: 400 | 500): void {
  // Observed: Intercom answers an unusable cursor with a 500 (airbyte #60235).
  if (status === 500) sendError(req.res, 500, 'server_error', 'Request failed due to an internal error');
  else sendError(req.res, 400, 'parameter_invalid', 'Invalid starting_after cursor', 'starting_after');
}

const sortMs = (record: TicketRecord) => Number(record.json.updated_at) * 1000;

function compareRecords(a: TicketRecord, b: TicketRecord): number {
  return sortMs(a) - sortMs(b) || compareIds(String(a.json.id), String(b.json.id));
}

function searchPage(
  tickets: TicketRecord[],
  predicate: ReturnType<typeof compileQuery>,
  perPage: number,
  key: string,
  position: CursorPosition | undefined,
  apiVersion: string,
): Record<string, unknown> {
  const matches = tickets.filter((r) => predicate(r.json)).sort(compareRecords);
  let start = 0;
  if (position !== undefined) {
    // First ticket strictly after the cursor's (updated_at, id): a position, not an offset.
    const after = matches.findIndex(
      (r) => sortMs(r) - position.sortMs > 0 || (sortMs(r) === position.sortMs && compareIds(String(r.json.id), position.id) > 0),
    );
    start = after < 0 ? matches.length : after;
  }
  const page = position?.page ?? 1;
  const served = matches.slice(start, start + perPage);
  const pages: Record<string, unknown> = { type: 'pages', page, per_page: perPage, total_pages: Math.ceil(matches.length / perPage) };
  const last = served.at(-1);
  if (last !== undefined && start + served.length < matches.length) {
    pages.next = {
      per_page: perPage,
      starting_after: encodeCursor({ sortMs: sortMs(last), id: String(last.json.id), page: page + 1 }, key),
    };
  }
  return { type: 'ticket.list', tickets: served.map((r) => renderTicket(r, apiVersion)), total_count: matches.length, pages };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

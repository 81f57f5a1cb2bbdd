import { FatalError, type HttpDetails } from '../errors.js';
import { object, unexpected } from './responses.js';
import type { CompanyListPage, CompanyScrollPage, IntercomObject, TicketSearchPage, TicketSearchPagination } from './types.js';

/**
 * Response mapping for the companies and tickets endpoints (brief §5, §6). Unlike the reporting
 * endpoints these hand Intercom's objects through untouched — the sinks normalise them — so only the
 * envelope is checked: the list key, the paging fields, and that every item is a JSON object. A
 * missing list is a FatalError, as in `responses.ts`: a body that parsed but has the wrong shape is a
 * contract change, and retrying the same request would only get the same body again.
 */

/** Intercom's documented maximum page size for search (brief §6.1). */
export const MAX_SEARCH_PER_PAGE = 150;

const SCROLL_WHERE = 'GET /companies/scroll';
const SEARCH_WHERE = 'POST /tickets/search';
const LIST_COMPANIES_WHERE = 'POST /companies/list';

/** Older API wording has no `scroll_exists` code, only this message (brief §5.1: "…for this app"). */
const SCROLL_EXISTS_MESSAGE = /scroll already exists/i;

/** `GET /companies/scroll` → `{data:[…], scroll_param}`. `pages` and `total_count` are always null. */
export function toCompanyScrollPage(body: unknown): CompanyScrollPage {
  const list = object(body, SCROLL_WHERE, 'body');
  return {
    companies: objectList(list.data, SCROLL_WHERE, 'data'),
    scrollParam: nonEmptyString(list.scroll_param),
  };
}

/** `POST /companies/list` → `{data:[…], total_count, pages:{page, per_page, total_pages, next}}`. */
export function toCompanyListPage(body: unknown, requestedPage: number): CompanyListPage {
  const list = object(body, LIST_COMPANIES_WHERE, 'body');
  const companies = objectList(list.data, LIST_COMPANIES_WHERE, 'data');
  const pages = isObject(list.pages) ? list.pages : {};
  const page = positiveInt(pages.page) ?? requestedPage;
  const totalPages = nonNegativeInt(pages.total_pages);
  return { companies, totalPages, nextPage: nextPageNumber(pages.next, page, totalPages) };
}

/** `POST /tickets/search` → `{tickets:[…], total_count, pages:{next:{starting_after}}}`. */
export function toTicketSearchPage(body: unknown, sentCursor: string | null): TicketSearchPage {
  const list = object(body, SEARCH_WHERE, 'body');
  const tickets = objectList(list.tickets, SEARCH_WHERE, 'tickets');
  const pages = isObject(list.pages) ? list.pages : {};
  const next = isObject(pages.next) ? nonEmptyString(pages.next.starting_after) : null;
  // Paging stops only when `next` disappears; a cursor that points back at itself would never end.
  if (next !== null && next === sentCursor) {
    throw new FatalError(`Intercom ${SEARCH_WHERE} returned the cursor it was sent as the next one; stopping to avoid a loop`);
  }
  return { tickets, totalCount: nonNegativeInt(list.total_count), nextCursor: next };
}

/** `{type:'list', data:[…]}` bodies: `/ticket_types`, `/ticket_states`. */
export function toObjectList(body: unknown, where: string): IntercomObject[] {
  return objectList(object(body, where, 'body').data, where, 'data');
}

/** `GET /tickets/{id}`: the ticket itself; an `id` is required because everything keys on it. */
export function toTicket(body: unknown, where: string): IntercomObject {
  const ticket = object(body, where, 'body');
  if (nonEmptyString(ticket.id) === null && typeof ticket.id !== 'number') throw unexpected(where, 'id');
  return ticket;
}

/** The JSON body of a search request; rejects page sizes Intercom would refuse or silently cap. */
export function searchBody(query: IntercomObject, pagination: TicketSearchPagination): IntercomObject {
  const { perPage } = pagination;
  if (!Number.isInteger(perPage) || perPage < 1 || perPage > MAX_SEARCH_PER_PAGE) {
    throw new FatalError(`Tickets search per_page must be an integer from 1 to ${MAX_SEARCH_PER_PAGE}, got ${perPage}`);
  }
  const cursor = pagination.startingAfter ?? null;
  // In the body, not the query string: Intercom ignores `starting_after` in the URL of a search.
  const paging: IntercomObject = { per_page: perPage };
  if (cursor !== null && cursor !== '') paging.starting_after = cursor;
  return { query, pagination: paging };
}

/** Page numbers are 1-based positive integers; anything else is a bug in the caller. */
export function checkPaging(page: number, perPage: number): void {
  if (!Number.isInteger(page) || page < 1 || !Number.isInteger(perPage) || perPage < 1) {
    throw new FatalError(`Companies list paging needs positive integers, got page=${page} per_page=${perPage}`);
  }
}

/**
 * Gives a scroll_exists 400 its code when Intercom sent only the older message, so callers can rely
 * on `code === 'scroll_exists'` alone. Everything else passes through unchanged.
 */
export function normaliseScrollError(err: unknown): unknown {
  if (!(err instanceof FatalError) || err.status !== 400 || err.code === 'scroll_exists') return err;
  if (!SCROLL_EXISTS_MESSAGE.test(err.message)) return err;
  const details: HttpDetails & { cause: unknown } = { status: 400, code: 'scroll_exists', cause: err };
  if (err.requestId !== undefined) details.requestId = err.requestId;
  return new FatalError(err.message, details);
}

function objectList(value: unknown, where: string, path: string): IntercomObject[] {
  if (!Array.isArray(value)) throw unexpected(where, `${path} (not an array)`);
  return value.map((item, i) => object(item, where, `${path}[${i}]`));
}

/**
 * `pages.next` of page-based lists comes as a URL (`…?page=3`), an object (`{page: 3}`) or null
 * depending on the endpoint and version; `total_pages` is the fallback when it says nothing.
 */
function nextPageNumber(next: unknown, page: number, totalPages: number | null): number | null {
  if (typeof next === 'string' && next !== '') {
    const fromUrl = /[?&]page=(\d+)/.exec(next)?.[1];
    return fromUrl !== undefined ? Number(fromUrl) : page + 1;
  }
  if (isObject(next)) return positiveInt(next.page) ?? page + 1;
  return totalPages !== null && page < totalPages ? page + 1 : null;
}

function nonEmptyString(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function positiveInt(value: unknown): number | null {
  const n = nonNegativeInt(value);
  return n !== null && n > 0 ? n : null;
}

/** Counts are documented as integers; a numeric string is accepted too, since a count is not worth failing a page over. */
function nonNegativeInt(value: unknown): number | null {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : null;
}

function isObject(value: unknown): value is IntercomObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

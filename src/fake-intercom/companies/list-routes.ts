import { sendError, sendJson } from '../server/responses.js';
import type { FakeRequest, Route } from '../server/router.js';
import type { CompanyJson } from './company-fixtures.js';
import type { CompanyStore } from './company-store.js';

/**
 * Page-based company lists (brief §5.2): `POST /companies/list`, `GET /companies` (with the
 * `company_id`/`name` lookups and `tag_id`/`segment_id` filters) and `GET /companies/{id}`.
 * Only the first 10,000 companies are reachable by paging; beyond that Intercom points at the scroll.
 */

export const DEFAULT_PER_PAGE = 15; // the parameter's documented default [2.14 L3877]
export const MAX_PER_PAGE = 150; // ASSUMPTION: "the max amount for any API is 150"
export const PAGING_CAP = 10_000;
export const PAGE_LIMIT_MESSAGE = 'page limit reached, please use scroll API';

export function companyListRoutes(store: CompanyStore): Route[] {
  return [
    { method: 'POST', pattern: '/companies/list', produces: 'json', handle: (req) => listCompanies(store, req) },
    { method: 'GET', pattern: '/companies', produces: 'json', handle: (req) => getCompanies(store, req) },
    { method: 'GET', pattern: '/companies/:id', produces: 'json', handle: (req) => getCompany(store, req) },
  ];
}

type Paging = { ok: true; page: number; perPage: number } | { ok: false; status: number; code: string; message: string; field?: string };

function paging(query: URLSearchParams): Paging {
  const page = integerParam(query, 'page', 1);
  const perPage = integerParam(query, 'per_page', DEFAULT_PER_PAGE);
  if (page === undefined || page < 1) return invalid('page', 'page must be a positive integer');
  if (perPage === undefined || perPage < 1 || perPage > MAX_PER_PAGE) {
    return invalid('per_page', `per_page must be an integer between 1 and ${MAX_PER_PAGE}`);
  }
  // PostHog saw the 400 at per_page=60&page=167: the page would reach past company 10,000.
  if (page * perPage > PAGING_CAP) return { ok: false, status: 400, code: 'bad_request', message: PAGE_LIMIT_MESSAGE };
  return { ok: true, page, perPage };
}

function invalid(field: string, message: string): Paging {
  return { ok: false, status: 400, code: 'parameter_invalid', message, field };
}

function integerParam(query: URLSearchParams, name: string, fallback: number): number | undefined {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  return /^\d+$/.test(raw) ? Number(raw) : undefined;
}

/** Companies without users are invisible in lists (brief §5.2); order by last_request_at, then id. */
function visibleSorted(store: CompanyStore, order: 'asc' | 'desc'): CompanyJson[] {
  const sign = order === 'asc' ? 1 : -1;
  const lastRequest = (c: CompanyJson) => (typeof c.last_request_at === 'number' ? c.last_request_at : 0);
  return store
    .all()
    .filter((c) => typeof c.user_count === 'number' && c.user_count > 0)
    .sort((a, b) => sign * (lastRequest(a) - lastRequest(b)) || String(a.id).localeCompare(String(b.id)));
}

function sendPage(req: FakeRequest, companies: CompanyJson[]): void {
  const paged = paging(req.query);
  if (!paged.ok) {
    sendError(req.res, paged.status, paged.code, paged.message, paged.field);
    return;
  }
  const { page, perPage } = paged;
  const totalPages = Math.ceil(companies.length / perPage);
  sendJson(req.res, 200, {
    type: 'list',
    data: companies.slice((page - 1) * perPage, page * perPage),
    total_count: companies.length,
    // `next` is null on the last page; otherwise the next page number (the list is page-based).
    pages: {
      type: 'pages',
      page,
      per_page: perPage,
      total_pages: totalPages,
      next: page < totalPages ? { page: page + 1, per_page: perPage } : null,
    },
  });
}

function listCompanies(store: CompanyStore, req: FakeRequest): void {
  const order = req.query.get('order') ?? 'desc';
  if (order !== 'asc' && order !== 'desc') {
    sendError(req.res, 400, 'parameter_invalid', "order must be 'asc' or 'desc'", 'order');
    return;
  }
  sendPage(req, visibleSorted(store, order));
}

function getCompanies(store: CompanyStore, req: FakeRequest): void {
  const { query } = req;
  const companyId = query.get('company_id');
  const name = query.get('name');
  if (companyId !== null || name !== null) {
    // A lookup finds any company, with or without users.
    const found = store.all().filter((c) => (companyId !== null ? c.company_id === companyId : c.name === name));
    if (found.length === 0) sendError(req.res, 404, 'company_not_found', 'Company Not Found');
    else sendPage(req, found);
    return;
  }
  const tagId = query.get('tag_id');
  const segmentId = query.get('segment_id');
  const listed = visibleSorted(store, 'desc').filter(
    (c) =>
      (tagId === null || listIds(c.tags, 'tags').includes(tagId)) &&
      (segmentId === null || listIds(c.segments, 'segments').includes(segmentId)),
  );
  sendPage(req, listed);
}

function getCompany(store: CompanyStore, req: FakeRequest): void {
  const company = store.find(req.params.id ?? '');
  if (company === undefined) sendError(req.res, 404, 'company_not_found', 'Company Not Found');
  else sendJson(req.res, 200, company);
}

function listIds(list: unknown, key: string): string[] {
  const items = (list as Record<string, unknown> | undefined)?.[key];
  return Array.isArray(items) ? items.map((item) => String((item as { id?: unknown }).id)) : [];
}

import { inspect } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FatalError, NotFoundError, RetriableError } from '../src/errors.js';
import { FakeIntercom, type FakeIntercomOptions } from '../src/fake-intercom/index.js';
import { normaliseScrollError, toCompanyListPage, toCompanyScrollPage, toTicketSearchPage } from '../src/intercom/companies-tickets.js';
import { IntercomClient, type IntercomObject, type TicketSearchPage } from '../src/intercom/index.js';

const TOKEN = 'fake-token-companies-tickets';
/** Matches every ticket of the fake: all `updated_at` values are positive Unix seconds. */
const ALL_TICKETS = { field: 'updated_at', operator: '>=', value: 0 };

let fake: FakeIntercom | undefined;

/** A fresh fake per test: scroll state (the one open scroll, the clock) must not leak between tests. */
async function start(options: FakeIntercomOptions = {}): Promise<{ fake: FakeIntercom; client: IntercomClient }> {
  fake = await FakeIntercom.start({ tokens: [TOKEN], ...options });
  return { fake, client: new IntercomClient({ baseUrl: fake.url, token: TOKEN, timeoutMs: 5_000 }) };
}

afterEach(async () => {
  vi.restoreAllMocks();
  await fake?.close();
  fake = undefined;
});

function ids(objects: IntercomObject[]): string[] {
  return objects.map((o) => String(o.id));
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
}

/** Records what the client actually put on the wire (URL and JSON body), then lets fetch proceed. */
function recordFetches(): Array<{ url: string; body: unknown }> {
  const sent: Array<{ url: string; body: unknown }> = [];
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, 'fetch').mockImplementation((input, init) => {
    const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined;
    sent.push({ url: String(input), body });
    return realFetch(input, init);
  });
  return sent;
}

describe('IntercomClient companies scroll', () => {
  it('scrolls 250 companies: 100 + 100 + 50, then an empty page; same scroll_param throughout', async () => {
    const { fake, client } = await start({ companies: { count: 250 } });
    const first = await client.scrollCompanies();
    expect(first.companies).toHaveLength(100);
    expect(first.scrollParam).toEqual(expect.any(String));
    const pages = [first];
    for (let param = first.scrollParam; pages.length < 10;) {
      const page = await client.scrollCompanies(param);
      pages.push(page);
      if (page.companies.length === 0) break;
      // Intercom repeats the param on every page: the client must pass it through, not treat it as the end.
      expect(page.scrollParam).toBe(first.scrollParam);
      param = page.scrollParam;
    }
    expect(pages.map((p) => p.companies.length)).toEqual([100, 100, 50, 0]);
    const seen = pages.flatMap((p) => ids(p.companies));
    expect(new Set(seen).size).toBe(250);
    expect(new Set(seen)).toEqual(new Set(ids(fake.companies() as IntercomObject[])));
    // Raw objects pass through untouched for the sinks.
    expect(pages[0]!.companies[0]).toMatchObject({ type: 'company', id: expect.anything() });
    const scrollCalls = fake.stats().requests.filter((r) => r.path === '/companies/scroll');
    expect(scrollCalls.map((r) => r.status)).toEqual([200, 200, 200, 200]);
  });

  it('with endWith404 the page after the partial last page is a NotFoundError', async () => {
    const { client } = await start({ companies: { count: 150, endWith404: true } });
    const first = await client.scrollCompanies(null);
    const second = await client.scrollCompanies(first.scrollParam);
    expect([first.companies.length, second.companies.length]).toEqual([100, 50]);
    const err = await rejection(client.scrollCompanies(second.scrollParam));
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).status).toBe(404);
  });

  it("400 scroll_exists (another client's scroll is open) → FatalError with code scroll_exists", async () => {
    const { fake, client } = await start({ companies: { count: 250 } });
    fake.openScrollAsOtherClient();
    const err = await rejection(client.scrollCompanies());
    expect(err).toBeInstanceOf(FatalError);
    expect(err).not.toBeInstanceOf(NotFoundError);
    const e = err as FatalError;
    expect(e.status).toBe(400);
    expect(e.code).toBe('scroll_exists');
    expect(e.message).toMatch(/scroll already exists/);
    for (const text of [String(e), JSON.stringify(e), e.stack ?? '', inspect(e), inspect(client)]) {
      expect(text).not.toContain(TOKEN);
    }
    // The other scroll idles out after 60 s; then a new scroll may start.
    fake.advanceClock(61_000);
    expect((await client.scrollCompanies()).companies).toHaveLength(100);
  });

  it('an expired scroll_param (60 s idle) → NotFoundError', async () => {
    const { fake, client } = await start({ companies: { count: 250 } });
    const first = await client.scrollCompanies();
    fake.advanceClock(61_000);
    const err = await rejection(client.scrollCompanies(first.scrollParam));
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).status).toBe(404);
  });

  it('an injected expiry mid-scroll → NotFoundError', async () => {
    const { fake, client } = await start({ companies: { count: 250 } });
    fake.injectScrollFailure({ afterPages: 1, kind: 'expire' });
    const first = await client.scrollCompanies();
    expect(first.companies).toHaveLength(100);
    expect(await rejection(client.scrollCompanies(first.scrollParam))).toBeInstanceOf(NotFoundError);
  });

  it('an injected 500 → RetriableError with status 500, and a restarted scroll begins again', async () => {
    const { fake, client } = await start({ companies: { count: 250 } });
    fake.injectScrollFailure({ afterPages: 1, kind: 'server_error' });
    const first = await client.scrollCompanies();
    const err = await rejection(client.scrollCompanies(first.scrollParam));
    expect(err).toBeInstanceOf(RetriableError);
    expect((err as RetriableError).status).toBe(500);
    // The 500 killed the scroll, so starting over is allowed at once and returns the first page again.
    const restarted = await client.scrollCompanies();
    expect(ids(restarted.companies)).toEqual(ids(first.companies));
  });
});

describe('IntercomClient companies list (page-based)', () => {
  it('pages through POST /companies/list with page/per_page until nextPage is null', async () => {
    const { fake, client } = await start({ companies: { count: 120 } });
    const seen: string[] = [];
    let page: number | null = 1;
    let totalPages: number | null = null;
    let calls = 0;
    while (page !== null && calls < 20) {
      const res = await client.listCompaniesPage(page, 50);
      calls += 1;
      expect(res.companies.length).toBeLessThanOrEqual(50);
      seen.push(...ids(res.companies));
      totalPages = res.totalPages;
      if (res.nextPage !== null) expect(res.nextPage).toBe(page + 1);
      page = res.nextPage;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBeGreaterThan(0);
    // Intercom leaves companies without users out of lists (brief §5.2).
    const listable = (fake.companies() as IntercomObject[]).filter((c) => Number(c.user_count) > 0);
    expect(new Set(seen)).toEqual(new Set(ids(listable)));
    expect(totalPages).toBe(Math.ceil(seen.length / 50));
    expect(calls).toBe(totalPages);
    const listCalls = fake.stats().requests.filter((r) => r.path === '/companies/list');
    expect(listCalls.every((r) => r.method === 'POST' && r.status === 200)).toBe(true);
  });

  it('rejects non-positive paging before sending anything', async () => {
    const { fake, client } = await start({ companies: { count: 10 } });
    await expect(client.listCompaniesPage(0, 50)).rejects.toBeInstanceOf(FatalError);
    expect(fake.stats().requests.filter((r) => r.path === '/companies/list')).toHaveLength(0);
  });
});

describe('IntercomClient tickets', () => {
  it('search pages 150 at a time over all tickets, cursor in the body, no duplicates, stable order', async () => {
    const { fake, client } = await start({ tickets: { count: 420 } });
    const sent = recordFetches();
    const pages: TicketSearchPage[] = [];
    let cursor: string | null = null;
    do {
      const page: TicketSearchPage = await client.searchTickets(ALL_TICKETS, { perPage: 150, startingAfter: cursor });
      pages.push(page);
      cursor = page.nextCursor;
    } while (cursor !== null && pages.length < 10);

    expect(pages.map((p) => p.tickets.length)).toEqual([150, 150, 120]);
    expect(pages.every((p) => p.totalCount === 420)).toBe(true);
    const seen = pages.flatMap((p) => ids(p.tickets));
    expect(new Set(seen).size).toBe(420);
    expect(new Set(seen)).toEqual(new Set(ids(fake.tickets() as IntercomObject[])));
    // Ordered by updated_at ascending (the fake's stable order), across page boundaries too.
    const updated = pages.flatMap((p) => p.tickets.map((t) => Number(t.updated_at)));
    expect(updated).toEqual([...updated].sort((a, b) => a - b));

    // On the wire: POST /tickets/search, no query string, the cursor of page n in the body of page n+1.
    const searches = sent.filter((s) => new URL(s.url).pathname === '/tickets/search');
    expect(searches).toHaveLength(3);
    expect(searches.every((s) => new URL(s.url).search === '')).toBe(true);
    expect(searches[0]!.body).toEqual({ query: ALL_TICKETS, pagination: { per_page: 150 } });
    expect(searches[1]!.body).toEqual({ query: ALL_TICKETS, pagination: { per_page: 150, starting_after: pages[0]!.nextCursor } });
    expect(searches[2]!.body).toEqual({ query: ALL_TICKETS, pagination: { per_page: 150, starting_after: pages[1]!.nextCursor } });
    const recorded = fake.stats().requests.filter((r) => r.path === '/tickets/search');
    expect(recorded.map((r) => [r.method, r.status])).toEqual([
      ['POST', 200],
      ['POST', 200],
      ['POST', 200],
    ]);
  });

  it('sees a ticket updated after the first run at the end of a new search (ordered by updated_at)', async () => {
    const { fake, client } = await start({ tickets: { count: 30 } });
    const target = String((fake.tickets() as IntercomObject[])[0]!.id);
    fake.updateTicket(target);
    const page = await client.searchTickets(ALL_TICKETS, { perPage: 150 });
    expect(page.nextCursor).toBeNull();
    expect(ids(page.tickets).at(-1)).toBe(target);
  });

  it('a bad cursor → RetriableError with status 500', async () => {
    const { client } = await start({ tickets: { count: 30 } });
    const err = await rejection(client.searchTickets(ALL_TICKETS, { perPage: 20, startingAfter: 'not-a-cursor' }));
    expect(err).toBeInstanceOf(RetriableError);
    expect((err as RetriableError).status).toBe(500);
  });

  it('a bad cursor with badCursorStatus 400 → FatalError with status 400', async () => {
    const { client } = await start({ tickets: { count: 30, badCursorStatus: 400 } });
    const err = await rejection(client.searchTickets(ALL_TICKETS, { perPage: 20, startingAfter: 'not-a-cursor' }));
    expect(err).toBeInstanceOf(FatalError);
    expect((err as FatalError).status).toBe(400);
  });

  it('rejects per_page outside 1..150 before sending anything', async () => {
    const { fake, client } = await start({ tickets: { count: 5 } });
    await expect(client.searchTickets(ALL_TICKETS, { perPage: 151 })).rejects.toBeInstanceOf(FatalError);
    await expect(client.searchTickets(ALL_TICKETS, { perPage: 0 })).rejects.toBeInstanceOf(FatalError);
    expect(fake.stats().requests).toHaveLength(0);
  });

  it('lists ticket types and ticket states as raw objects', async () => {
    const { client } = await start({ tickets: { count: 5 } });
    const types = await client.listTicketTypes();
    expect(types.length).toBeGreaterThan(0);
    for (const t of types) expect(t).toMatchObject({ type: 'ticket_type', id: expect.anything() });
    const states = await client.listTicketStates();
    expect(states.length).toBeGreaterThan(0);
    for (const s of states) expect(s).toMatchObject({ type: 'ticket_state', id: expect.anything() });
  });

  it('getTicket returns the ticket; an unknown id → NotFoundError', async () => {
    const { fake, client } = await start({ tickets: { count: 5 } });
    const known = (fake.tickets() as IntercomObject[])[2]!;
    const ticket = await client.getTicket(String(known.id));
    expect(ticket).toMatchObject({ type: 'ticket', id: known.id });

    const err = await rejection(client.getTicket('999999999999'));
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).status).toBe(404);
    expect((err as NotFoundError).code).toBe('ticket_not_found');
  });
});

/** Shapes the fake does not produce, checked on the mapping functions directly. */
describe('companies/tickets response mapping', () => {
  it('a body without its list is a FatalError naming the field, like the other endpoints', () => {
    expect(() => toCompanyScrollPage({ type: 'list', companies: [] })).toThrow(/data \(not an array\)/);
    expect(() => toTicketSearchPage({ type: 'ticket.list' }, null)).toThrow(FatalError);
    expect(() => toCompanyScrollPage({ data: [1] })).toThrow(/data\[0\]/);
    expect(() => toCompanyListPage(null, 1)).toThrow(FatalError);
  });

  it('nextCursor is null when pages.next is absent, empty or null', () => {
    expect(toTicketSearchPage({ tickets: [], pages: {} }, null).nextCursor).toBeNull();
    expect(toTicketSearchPage({ tickets: [], pages: { next: null } }, null).nextCursor).toBeNull();
    expect(toTicketSearchPage({ tickets: [], pages: { next: { starting_after: '' } } }, null).nextCursor).toBeNull();
    expect(toTicketSearchPage({ tickets: [], total_count: 0 }, null)).toEqual({ tickets: [], totalCount: 0, nextCursor: null });
  });

  it('a search that hands back the cursor it was sent is refused instead of looping', () => {
    expect(() => toTicketSearchPage({ tickets: [], pages: { next: { starting_after: 'abc' } } }, 'abc')).toThrow(FatalError);
  });

  it('a missing scroll_param is null (the caller keeps the previous one)', () => {
    expect(toCompanyScrollPage({ data: [], scroll_param: null }).scrollParam).toBeNull();
  });

  it('nextPage follows pages.next as a URL, an object, or total_pages', () => {
    const url = 'https://api.intercom.io/companies/list?per_page=50&page=4';
    expect(toCompanyListPage({ data: [], pages: { page: 3, total_pages: 9, next: url } }, 3).nextPage).toBe(4);
    expect(toCompanyListPage({ data: [], pages: { page: 3, next: { page: 4, starting_after: 'x' } } }, 3).nextPage).toBe(4);
    expect(toCompanyListPage({ data: [], pages: { page: 2, total_pages: 3, next: null } }, 2)).toMatchObject({
      totalPages: 3,
      nextPage: 3,
    });
    expect(toCompanyListPage({ data: [], pages: { page: 3, total_pages: 3, next: null } }, 3).nextPage).toBeNull();
  });

  it("scroll_exists in older wording (no code) still gets code 'scroll_exists'", () => {
    const old = new FatalError('Intercom rejected GET /companies/scroll (400 Bad Request): scroll already exists for this app', {
      status: 400,
      requestId: 'req-1',
    });
    const e = normaliseScrollError(old) as FatalError;
    expect(e).toBeInstanceOf(FatalError);
    expect({ status: e.status, code: e.code, requestId: e.requestId }).toEqual({ status: 400, code: 'scroll_exists', requestId: 'req-1' });
    const other = new FatalError('Intercom rejected GET /companies/scroll (400 bad_request): nope', { status: 400, code: 'bad_request' });
    expect(normaliseScrollError(other)).toBe(other);
  });
});

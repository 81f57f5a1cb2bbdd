/**
 * The fake's companies API over real HTTP (brief §5, §9): the scroll's rules (one per workspace,
 * constant scroll_param, 60 s idle expiry, end by empty page or 404, injected 500/expiry, snapshot
 * isolation) and the page-based lists (users-only, ordering, 10k cap). Time moves with advanceClock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeIntercom } from '../src/fake-intercom/index.js';
import { TEST_NOW, expectErrorList, fakeStarter, rawRequest, type RawResponse } from './fixtures/fake-intercom-http.js';

const fakes = fakeStarter(TEST_NOW);
afterEach(() => fakes.closeAll());

const start = async (companies: { count?: number; scrollIdleMs?: number; endWith404?: boolean } = {}) =>
  (await fakes.start({ companies })).fake;

const scroll = (fake: FakeIntercom, param?: string) =>
  rawRequest(fake, param === undefined ? '/companies/scroll' : `/companies/scroll?scroll_param=${encodeURIComponent(param)}`);

const ids = (res: RawResponse) => (res.json.data as Array<{ id: string }>).map((c) => c.id);

/** Scroll to the end; returns the page bodies (the end page/404 excluded) and the final response. */
async function scrollAll(fake: FakeIntercom) {
  const pages: RawResponse[] = [];
  let res = await scroll(fake);
  while (res.status === 200 && res.json.data.length > 0) {
    pages.push(res);
    res = await scroll(fake, res.json.scroll_param);
  }
  return { pages, end: res };
}

describe('GET /companies/scroll', () => {
  it('serves 2,500 companies in 25 full pages under one scroll_param, then an empty page that ends the scroll', async () => {
    const fake = await start({ count: 2500 });
    const { pages, end } = await scrollAll(fake);
    expect(pages).toHaveLength(25);
    const param = pages[0]!.json.scroll_param;
    expect(param).toMatch(/^[0-9a-f-]{36}$/);
    for (const page of pages) {
      expect(page.json).toMatchObject({ type: 'list', pages: null, total_count: null, scroll_param: param });
      expect(page.json.data).toHaveLength(100);
    }
    expect(end.status).toBe(200);
    expect(end.json).toMatchObject({ type: 'list', data: [], scroll_param: param });
    expect(pages.flatMap(ids)).toEqual(fake.companies().map((c) => c.id));
    // The scroll is over: its param is dead and a new scroll can open at once.
    expectErrorList(await scroll(fake, param), 'not_found');
    expect((await scroll(fake)).status).toBe(200);
    const stats = fake.scrollStats();
    expect(stats).toMatchObject({ scrollsOpened: 2, scrollExistsRejections: 0, pagesServed: 26 });
    expect(stats.sessions[0]).toEqual({ openedAt: TEST_NOW, closedAt: TEST_NOW, pages: 25, endedBy: 'empty' });
    expect(stats.sessions[1]).toMatchObject({ pages: 1, closedAt: null, endedBy: null });
  });

  it('ends with a 404 after the last page in endWith404 mode; a partial last page comes first', async () => {
    const fake = await start({ count: 250, endWith404: true });
    const { pages, end } = await scrollAll(fake);
    expect(pages.map((p) => p.json.data.length)).toEqual([100, 100, 50]);
    expect(end.status).toBe(404);
    expectErrorList(end, 'not_found');
    expect(fake.scrollStats().sessions).toEqual([{ openedAt: TEST_NOW, closedAt: TEST_NOW, pages: 3, endedBy: '404' }]);
    expect((await scroll(fake)).status).toBe(200);
  });

  it('answers 400 scroll_exists while a scroll is open, and lets a new one open once it has idled out', async () => {
    const fake = await start();
    const first = await scroll(fake);
    expect(first.status).toBe(200);
    const second = await scroll(fake);
    expect(second.status).toBe(400);
    expectErrorList(second, 'scroll_exists', 'scroll already exists for this workspace');
    fake.advanceClock(59_000);
    expect((await scroll(fake)).status).toBe(400);
    fake.advanceClock(2_000); // 61 s idle
    const third = await scroll(fake);
    expect(third.status).toBe(200);
    expect(third.json.scroll_param).not.toBe(first.json.scroll_param);
    expectErrorList(await scroll(fake, first.json.scroll_param), 'not_found'); // expired
    const stats = fake.scrollStats();
    expect(stats.scrollExistsRejections).toBe(2);
    expect(stats.sessions[0]).toEqual({ openedAt: TEST_NOW, closedAt: TEST_NOW + 60_000, pages: 1, endedBy: 'expired' });
    expect(stats.sessions[1]!.openedAt).toBeGreaterThanOrEqual(stats.sessions[0]!.closedAt!);
  });

  it('measures idleness from the last page served, with a configurable idle time', async () => {
    const fake = await start({ count: 1000, scrollIdleMs: 5_000 });
    let res = await scroll(fake);
    for (let i = 0; i < 4; i++) {
      fake.advanceClock(4_000); // 16 s in total, never 5 s idle
      res = await scroll(fake, res.json.scroll_param);
      expect(res.status).toBe(200);
    }
    fake.advanceClock(5_000);
    expectErrorList(await scroll(fake, res.json.scroll_param), 'not_found');
  });

  it('blocks our scroll while another client of the workspace has one open', async () => {
    const fake = await start();
    fake.openScrollAsOtherClient();
    expectErrorList(await scroll(fake), 'scroll_exists');
    fake.advanceClock(61_000);
    const ours = await scroll(fake);
    expect(ours.status).toBe(200);
    const { sessions, scrollsOpened } = fake.scrollStats();
    expect(scrollsOpened).toBe(1); // counts scrolls opened over HTTP
    expect(sessions[0]).toEqual({ openedAt: TEST_NOW, closedAt: TEST_NOW + 60_000, pages: 0, endedBy: 'expired' });
  });

  it('answers 404 for a scroll_param that never existed', async () => {
    const fake = await start();
    expectErrorList(await scroll(fake, 'c0ffee00-0000-4000-8000-000000000000'), 'not_found');
  });

  it('an injected 500 kills the scroll: its param is dead and a new scroll opens straight away', async () => {
    const fake = await start({ count: 2500 });
    fake.injectScrollFailure({ afterPages: 2, kind: 'server_error' }); // before opening: applies to the next scroll
    const page1 = await scroll(fake);
    const page2 = await scroll(fake, page1.json.scroll_param);
    expect(page2.status).toBe(200);
    const failed = await scroll(fake, page1.json.scroll_param);
    expect(failed.status).toBe(500);
    expectErrorList(failed, 'server_error', 'Request failed due to an internal network error. Please restart the scroll operation.');
    expectErrorList(await scroll(fake, page1.json.scroll_param), 'not_found');
    // One-shot: the restarted scroll runs to the end.
    const { pages, end } = await scrollAll(fake);
    expect(pages).toHaveLength(25);
    expect(end.json.data).toEqual([]);
    const [dead, restarted] = fake.scrollStats().sessions;
    expect(dead).toMatchObject({ pages: 2, endedBy: 'server_error', closedAt: TEST_NOW });
    expect(restarted).toMatchObject({ pages: 25, endedBy: 'empty' });
  });

  it('an injected expiry on the open scroll makes the next page a 404', async () => {
    const fake = await start({ count: 500 });
    const page1 = await scroll(fake);
    fake.injectScrollFailure({ afterPages: 1, kind: 'expire' });
    expectErrorList(await scroll(fake, page1.json.scroll_param), 'not_found');
    expect((await scroll(fake)).status).toBe(200); // no scroll_exists: the expired scroll is gone
    expect(fake.scrollStats().sessions[0]).toMatchObject({ pages: 1, endedBy: 'expired', closedAt: TEST_NOW });
  });

  it('a failure on page 1 fails the opening request', async () => {
    const fake = await start();
    fake.injectScrollFailure({ afterPages: 0, kind: 'server_error' });
    expect((await scroll(fake)).status).toBe(500);
    expect((await scroll(fake)).status).toBe(200);
    expect(() => fake.injectScrollFailure({ afterPages: 0, kind: 'expire' })).toThrow(/afterPages/);
  });

  it('serves the list as it was when the scroll opened, whatever changes meanwhile', async () => {
    const fake = await start({ count: 300 });
    const before = fake.companies();
    const page1 = await scroll(fake);
    fake.removeCompany(before[150]!.id as string);
    fake.advanceClock(10_000);
    fake.updateCompany(before[250]!.id as string, { name: 'Renamed, "Corp" 🎉' });
    fake.setCompanyCount(5);
    const rest = [page1];
    let res = await scroll(fake, page1.json.scroll_param);
    while (res.json.data.length > 0) {
      rest.push(res);
      res = await scroll(fake, res.json.scroll_param);
    }
    const served = rest.flatMap((p) => p.json.data as Array<Record<string, unknown>>);
    expect(served).toEqual(before);
    // A new scroll sees the changes.
    expect(fake.companies()).toHaveLength(5);
    expect(fake.companies()).toEqual(before.slice(0, 5)); // company k does not depend on the count
  });

  it('updateCompany stamps updated_at from the fake clock and removeCompany drops the company', async () => {
    const fake = await start({ count: 20 });
    const [a, b] = fake.companies();
    fake.advanceClock(3_600_000);
    fake.updateCompany(a!.id as string, { industry: 'Space', custom_attributes: { tier: 'platinum' } });
    const updated = fake.companies()[0]!;
    expect(updated).toMatchObject({ id: a!.id, industry: 'Space', custom_attributes: { tier: 'platinum' } });
    expect(updated.updated_at).toBe(Math.floor((TEST_NOW + 3_600_000) / 1000));
    fake.removeCompany(b!.id as string);
    expect(fake.companies().map((c) => c.id)).not.toContain(b!.id);
    expect(() => fake.removeCompany(b!.id as string)).toThrow(/no company/);
  });
});

describe('company fixtures', () => {
  it('have every documented field, mixed custom attribute types, tricky names and companies without users', async () => {
    const fake = await start({ count: 400 });
    const companies = fake.companies();
    for (const c of companies) {
      expect(c).toMatchObject({ type: 'company', app_id: fake.workspaceId });
      expect(c.id).toMatch(/^[0-9a-f]{24}$/);
      for (const key of ['name', 'plan', 'company_id', 'created_at', 'updated_at', 'monthly_spend', 'session_count', 'user_count']) {
        expect(c, key).toHaveProperty(key);
      }
      expect(c.tags).toMatchObject({ type: 'tag.list' });
      expect(c.segments).toMatchObject({ type: 'segment.list' });
    }
    expect(new Set(companies.map((c) => c.id)).size).toBe(400);
    const some = (test: (c: Record<string, any>) => boolean) => expect(companies.some(test)).toBe(true);
    for (const key of ['remote_created_at', 'last_request_at', 'size', 'website', 'industry']) {
      some((c) => typeof c[key] === 'number' || typeof c[key] === 'string');
      some((c) => !(key in c));
    }
    some((c) => c.user_count === 0);
    some((c) => Object.keys(c.plan).length === 0);
    some((c) => c.plan.type === 'plan' && typeof c.plan.id === 'string');
    some((c) => c.name.includes(','));
    some((c) => c.name.includes('"'));
    some((c) => /\p{Extended_Pictographic}/u.test(c.name));
    some((c) => c.tags.tags.length > 0 && c.tags.tags.every((t: any) => t.type === 'tag'));
    some((c) => c.segments.segments.length > 0);
    const values = companies.flatMap((c) => Object.values(c.custom_attributes as object));
    for (const type of ['string', 'number', 'boolean'])
      expect(
        values.some((v) => typeof v === type),
        type,
      ).toBe(true);
    expect(values).toContain(null);
  });

  it('are deterministic for a seed', async () => {
    const a = await start({ count: 50 });
    const b = await start({ count: 50 });
    expect(a.companies()).toEqual(b.companies());
    const other = (await fakes.start({ seed: 7, companies: { count: 50 } })).fake;
    expect(other.companies()[0]!.id).not.toBe(a.companies()[0]!.id);
  });
});

describe('POST /companies/list and GET /companies', () => {
  const list = (fake: FakeIntercom, query = '') => rawRequest(fake, `/companies/list${query}`, { method: 'POST' });

  it('lists only companies with users, by last_request_at descending, 15 per page by default', async () => {
    const fake = await start({ count: 100 });
    const visible = fake.companies().filter((c) => (c.user_count as number) > 0);
    expect(visible.length).toBeLessThan(100);
    const res = await list(fake);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      type: 'list',
      total_count: visible.length,
      pages: { type: 'pages', page: 1, per_page: 15, total_pages: Math.ceil(visible.length / 15), next: { page: 2, per_page: 15 } },
    });
    const all: Array<Record<string, any>> = [];
    for (let page = 1; page <= res.json.pages.total_pages; page++) {
      const body = (await list(fake, `?page=${page}`)).json;
      if (page === res.json.pages.total_pages) expect(body.pages.next).toBeNull();
      all.push(...body.data);
    }
    expect(all.map((c) => c.id).sort()).toEqual(visible.map((c) => c.id).sort());
    const lastRequest = all.map((c) => c.last_request_at ?? 0);
    expect(lastRequest).toEqual([...lastRequest].sort((x, y) => y - x));
    const asc = (await list(fake, '?order=asc&per_page=150')).json.data.map((c: any) => c.last_request_at ?? 0);
    expect(asc).toEqual([...asc].sort((x: number, y: number) => x - y));
  });

  it('refuses to page past 10,000 companies with the observed 400', async () => {
    const fake = await start({ count: 12_000 });
    const ok = await list(fake, '?per_page=60&page=166');
    expect(ok.status).toBe(200);
    expect(ok.json.data).toHaveLength(60);
    const capped = await list(fake, '?per_page=60&page=167');
    expect(capped.status).toBe(400);
    expectErrorList(capped, 'bad_request', 'page limit reached, please use scroll API');
    expect((await list(fake, '?per_page=150&page=67')).status).toBe(400);
    expect((await rawRequest(fake, '/companies?per_page=150&page=67')).status).toBe(400);
  });

  it('validates per_page (max 150), page and order', async () => {
    const fake = await start();
    expect((await list(fake, '?per_page=150')).json.data).toHaveLength(150);
    expectErrorList(await list(fake, '?per_page=151'), 'parameter_invalid');
    expectErrorList(await list(fake, '?page=0'), 'parameter_invalid');
    expectErrorList(await list(fake, '?order=sideways'), 'parameter_invalid');
  });

  it('looks companies up by company_id and name, with 404 company_not_found for unknown ones', async () => {
    const fake = await start();
    const target = fake.companies().find((c) => String(c.name).includes(','))!;
    const byId = await rawRequest(fake, `/companies?company_id=${encodeURIComponent(String(target.company_id))}`);
    expect(byId.json).toMatchObject({ type: 'list', total_count: 1, data: [target] });
    const byName = await rawRequest(fake, `/companies?name=${encodeURIComponent(String(target.name))}`);
    expect(byName.json.data).toEqual([target]);
    const missing = await rawRequest(fake, '/companies?company_id=nope');
    expect(missing.status).toBe(404);
    expectErrorList(missing, 'company_not_found', 'Company Not Found');
    expect((await rawRequest(fake, `/companies/${target.id}`)).json).toEqual(target);
    expectErrorList(await rawRequest(fake, '/companies/000000000000000000000000'), 'company_not_found');
  });

  it('filters GET /companies by tag_id', async () => {
    const fake = await start({ count: 100 });
    const res = await rawRequest(fake, '/companies?tag_id=7522909&per_page=150');
    expect(res.json.data.length).toBeGreaterThan(0);
    for (const c of res.json.data) expect(c.tags.tags.map((t: any) => t.id)).toContain('7522909');
  });
});

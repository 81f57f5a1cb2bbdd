/**
 * The fake's tickets API over real HTTP (brief §6, §9): search grammar and its limits, ordering and
 * cursor paging, bad cursors, version-dependent shapes, ticket types/states and the test controls.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeIntercom } from '../src/fake-intercom/index.js';
import { TEST_NOW, expectErrorList, fakeStarter, rawRequest, type RawResponse } from './fixtures/fake-intercom-http.js';

const fakes = fakeStarter(TEST_NOW);
afterEach(() => fakes.closeAll());

type Ticket = Record<string, any>;
const start = async (tickets: { count?: number; badCursorStatus?: 400 | 500 } = {}) => (await fakes.start({ tickets })).fake;

const search = (fake: FakeIntercom, body: unknown, version?: string): Promise<RawResponse> =>
  rawRequest(fake, '/tickets/search', { method: 'POST', body, ...(version === undefined ? {} : { version }) });

/** `tickets()` is typed loosely (JSON objects); tests read nested fields freely. */
const ticketsOf = (fake: FakeIntercom) => fake.tickets() as Ticket[];

const ALL = { field: 'updated_at', operator: '>', value: 0 };

/** Every page of a search; fails the test on a non-200. */
async function searchAll(fake: FakeIntercom, query: unknown, perPage = 150): Promise<{ tickets: Ticket[]; pages: RawResponse[] }> {
  const pages: RawResponse[] = [];
  let startingAfter: string | undefined;
  do {
    const res = await search(fake, {
      query,
      pagination: { per_page: perPage, ...(startingAfter ? { starting_after: startingAfter } : {}) },
    });
    expect(res.status, res.text).toBe(200);
    pages.push(res);
    startingAfter = res.json.pages.next?.starting_after;
  } while (startingAfter !== undefined);
  return { tickets: pages.flatMap((p) => p.json.tickets), pages };
}

const idNum = (t: Ticket) => Number(t.id);
const inOrder = (tickets: Ticket[]) => [...tickets].sort((a, b) => a.updated_at - b.updated_at || idNum(a) - idNum(b));
const ids = (tickets: Ticket[]) => tickets.map((t) => t.id);

/** Search with `query` and compare with the same filter applied to ticketsOf(fake). */
async function expectSearch(fake: FakeIntercom, query: unknown, expected: (t: Ticket) => boolean) {
  const want = ids(inOrder(ticketsOf(fake).filter(expected)));
  expect(want.length, `fixture has matches for ${JSON.stringify(query)}`).toBeGreaterThan(0);
  expect(want.length).toBeLessThan(ticketsOf(fake).length);
  expect(ids((await searchAll(fake, query)).tickets), JSON.stringify(query)).toEqual(want);
}

describe('ticket fixtures', () => {
  it('have the documented fields, deliberate updated_at ties, and all are older than the start', async () => {
    const fake = await start();
    const tickets = ticketsOf(fake);
    expect(tickets).toHaveLength(60);
    const startS = Math.floor(TEST_NOW / 1000);
    for (const t of tickets) {
      expect(t).toMatchObject({ type: 'ticket', ticket_state: { type: 'ticket_state' }, ticket_type: { type: 'ticket_type' } });
      expect(t.ticket_attributes).toHaveProperty('_default_title_');
      expect(t.ticket_attributes).toHaveProperty('_default_description_');
      expect(['Customer', 'Back-office', 'Tracker']).toContain(t.category);
      expect(t.updated_at).toBeLessThan(startS - 60);
      expect(t.updated_at).toBeGreaterThanOrEqual(startS - 30 * 86_400);
      expect(t.created_at).toBeLessThanOrEqual(t.updated_at);
      expect(typeof t.ticket_id).toBe('string');
    }
    const updatedAts = tickets.map((t) => t.updated_at);
    expect(new Set(updatedAts).size).toBeLessThan(updatedAts.length);
    const some = (test: (t: Ticket) => boolean) => expect(tickets.some(test)).toBe(true);
    some((t) => t.admin_assignee_id === '0');
    some((t) => t.admin_assignee_id !== '0');
    some((t) => t.team_assignee_id === '0');
    some((t) => typeof t.snoozed_until === 'number');
    some((t) => t.contacts.contacts.length > 0);
    some((t) => t.linked_objects.data.length > 0);
    some((t) => t.is_shared === true);
    some((t) => t.open === false);
    const categories = new Set(tickets.map((t) => t.ticket_state.category));
    expect([...categories].sort()).toEqual(['in_progress', 'resolved', 'submitted', 'waiting_on_customer']);
    const values = tickets.flatMap((t) => Object.values(t.ticket_attributes));
    for (const type of ['string', 'number', 'boolean'])
      expect(
        values.some((v) => typeof v === type),
        type,
      ).toBe(true);
    expect(values).toContain(null);
  });
});

describe('POST /tickets/search paging', () => {
  it('defaults to 20 per page and reports total_count and total_pages', async () => {
    const fake = await start();
    const res = await search(fake, { query: ALL });
    expect(res.status).toBe(200);
    expect(res.json.type).toBe('ticket.list');
    expect(res.json.tickets).toHaveLength(20);
    expect(res.json.total_count).toBe(60);
    expect(res.json.pages).toMatchObject({ type: 'pages', page: 1, per_page: 20, total_pages: 3, next: { per_page: 20 } });
    expect(typeof res.json.pages.next.starting_after).toBe('string');
  });

  it('pages 450 tickets 150 at a time in updated_at, id order: none missing, none twice, no next at the end', async () => {
    const fake = await start({ count: 450 });
    const { tickets, pages } = await searchAll(fake, ALL, 150);
    expect(pages.map((p) => p.json.pages.page)).toEqual([1, 2, 3]);
    expect(pages.map((p) => p.json.tickets.length)).toEqual([150, 150, 150]);
    expect(pages.at(-1)!.json.pages).not.toHaveProperty('next');
    expect(ids(tickets)).toEqual(ids(inOrder(ticketsOf(fake))));
    expect(new Set(ids(tickets)).size).toBe(450);
  });

  it('keeps ties in order across page boundaries with small pages', async () => {
    const fake = await start({ count: 120 });
    const { tickets } = await searchAll(fake, ALL, 7);
    expect(ids(tickets)).toEqual(ids(inOrder(ticketsOf(fake))));
  });

  it('the cursor is a position: a ticket updated between pages moves to the end instead of being skipped', async () => {
    const fake = await start({ count: 300 });
    const first = await search(fake, { query: ALL, pagination: { per_page: 150 } });
    const notYetServed = inOrder(ticketsOf(fake))[200]!;
    fake.advanceClock(1000);
    fake.updateTicket(notYetServed.id, { _default_title_: 'moved' });
    const second = await search(fake, { query: ALL, pagination: { per_page: 150, starting_after: first.json.pages.next.starting_after } });
    const served = [...first.json.tickets, ...second.json.tickets];
    expect(ids(served).sort()).toEqual(ids(ticketsOf(fake)).sort());
    expect(second.json.tickets.at(-1)).toMatchObject({ id: notYetServed.id, ticket_attributes: { _default_title_: 'moved' } });
  });

  it('refuses per_page above 150 or below 1', async () => {
    const fake = await start();
    expect((await search(fake, { query: ALL, pagination: { per_page: 150 } })).status).toBe(200);
    expectErrorList(await search(fake, { query: ALL, pagination: { per_page: 151 } }), 'parameter_invalid');
    expectErrorList(await search(fake, { query: ALL, pagination: { per_page: 0 } }), 'parameter_invalid');
  });

  it('answers a malformed cursor, or one from another query, with 500 (400 when configured)', async () => {
    const fake = await start();
    const page1 = await search(fake, { query: ALL });
    const cursor = page1.json.pages.next.starting_after;
    const garbage = await search(fake, { query: ALL, pagination: { starting_after: 'not-a-cursor' } });
    expect(garbage.status).toBe(500);
    expectErrorList(garbage, 'server_error');
    const otherQuery = { field: 'updated_at', operator: '>', value: 1 };
    expect((await search(fake, { query: otherQuery, pagination: { starting_after: cursor } })).status).toBe(500);
    // The same query with keys in another order is the same query.
    expect(
      (await search(fake, { query: { value: 0, operator: '>', field: 'updated_at' }, pagination: { starting_after: cursor } })).status,
    ).toBe(200);
    const strict = await start({ badCursorStatus: 400 });
    expectErrorList(await search(strict, { query: ALL, pagination: { starting_after: 'WzEsMl0=' } }), 'parameter_invalid');
  });
});

describe('POST /tickets/search filters', () => {
  it('supports every operator with strict > and <', async () => {
    const fake = await start({ count: 200 });
    const sorted = inOrder(ticketsOf(fake));
    const pivot = sorted[100]!.updated_at;
    const one = sorted[3]!;
    const lower = (t: Ticket) => String(t.ticket_attributes._default_title_).toLowerCase();
    await expectSearch(fake, { field: 'id', operator: '=', value: one.id }, (t) => t.id === one.id);
    await expectSearch(fake, { field: 'updated_at', operator: '>', value: pivot }, (t) => t.updated_at > pivot);
    await expectSearch(fake, { field: 'updated_at', operator: '>=', value: pivot }, (t) => t.updated_at >= pivot);
    await expectSearch(fake, { field: 'updated_at', operator: '<', value: String(pivot) }, (t) => t.updated_at < pivot);
    await expectSearch(fake, { field: 'updated_at', operator: '<=', value: pivot }, (t) => t.updated_at <= pivot);
    await expectSearch(fake, { field: 'category', operator: '!=', value: 'request' }, (t) => t.category !== 'Customer');
    await expectSearch(fake, { field: 'category', operator: '=', value: 'task' }, (t) => t.category === 'Back-office');
    await expectSearch(fake, { field: 'category', operator: '=', value: 'tracker' }, (t) => t.category === 'Tracker');
    await expectSearch(fake, { field: 'ticket_type_id', operator: 'IN', value: ['67', 69] }, (t) =>
      ['67', '69'].includes(t.ticket_type.id),
    );
    await expectSearch(fake, { field: 'admin_assignee_id', operator: 'NIN', value: ['0'] }, (t) => t.admin_assignee_id !== '0');
    await expectSearch(fake, { field: 'title', operator: '~', value: 'EXPORT' }, (t) => lower(t).includes('export'));
    await expectSearch(fake, { field: 'title', operator: '!~', value: 'export' }, (t) => !lower(t).includes('export'));
    await expectSearch(fake, { field: 'title', operator: '^', value: 'refund' }, (t) => lower(t).startsWith('refund'));
    await expectSearch(fake, { field: 'title', operator: '$', value: 'again' }, (t) => lower(t).endsWith('again'));
    await expectSearch(fake, { field: 'open', operator: '=', value: false }, (t) => t.open === false);
    await expectSearch(fake, { field: 'state', operator: '=', value: 'resolved' }, (t) => t.ticket_state.category === 'resolved');
    const contact = ticketsOf(fake).find((t) => t.contacts.contacts.length > 0)!.contacts.contacts[0].id;
    await expectSearch(fake, { field: 'contact_ids', operator: '=', value: contact }, (t) =>
      t.contacts.contacts.some((c: Ticket) => c.id === contact),
    );
    await expectSearch(fake, { field: 'snoozed_until', operator: '!=', value: null }, (t) => t.snoozed_until !== undefined);
    await expectSearch(
      fake,
      { field: 'ticket_attribute.168', operator: '=', value: true },
      (t) => t.ticket_attributes.Reproducible === true,
    );
    await expectSearch(
      fake,
      { field: 'ticket_attribute.169', operator: '>', value: 2500 },
      (t) => (t.ticket_attributes['Affected users'] ?? -1) > 2500,
    );
  });

  it('combines AND and OR groups, nested two levels deep', async () => {
    const fake = await start({ count: 200 });
    const pivot = inOrder(ticketsOf(fake))[80]!.updated_at;
    await expectSearch(
      fake,
      {
        operator: 'AND',
        value: [
          {
            operator: 'OR',
            value: [
              { field: 'category', operator: '=', value: 'request' },
              { field: 'category', operator: '=', value: 'tracker' },
            ],
          },
          {
            operator: 'OR',
            value: [
              { field: 'open', operator: '=', value: true },
              { field: 'updated_at', operator: '<', value: pivot },
            ],
          },
        ],
      },
      (t) => (t.category === 'Customer' || t.category === 'Tracker') && (t.open === true || t.updated_at < pivot),
    );
  });

  it('rejects a third nesting level and more than 15 filters in a group', async () => {
    const fake = await start();
    const leaf = { field: 'open', operator: '=', value: true };
    const deep = { operator: 'AND', value: [{ operator: 'OR', value: [{ operator: 'AND', value: [leaf] }] }] };
    const tooDeep = await search(fake, { query: deep });
    expect(tooDeep.status).toBe(400);
    expectErrorList(tooDeep, 'parameter_invalid');
    expect(tooDeep.json.errors[0].message).toMatch(/nested at most 2 levels/);
    expect((await search(fake, { query: { operator: 'OR', value: Array(15).fill(leaf) } })).status).toBe(200);
    const wide = await search(fake, { query: { operator: 'OR', value: Array(16).fill(leaf) } });
    expect(wide.status).toBe(400);
    expect(wide.json.errors[0].message).toMatch(/at most 15 filters, got 16/);
  });

  it('rejects unknown fields and operators, wrong operator types and malformed bodies with 400', async () => {
    const fake = await start();
    const bad = async (body: unknown, message: RegExp) => {
      const res = await search(fake, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expectErrorList(res, 'parameter_invalid');
      expect(res.json.errors[0].message).toMatch(message);
    };
    await bad({ query: { field: 'colour', operator: '=', value: 'red' } }, /Unsupported field 'colour'/);
    await bad({ query: { field: 'title', operator: 'LIKE', value: 'x' } }, /Unsupported operator "LIKE"/);
    await bad({ query: { field: 'updated_at', operator: '~', value: 1 } }, /cannot be used with field 'updated_at'/);
    await bad({ query: { field: 'title', operator: '>', value: 'a' } }, /cannot be used with field 'title'/);
    await bad({ query: { field: 'created_at', operator: '>', value: 'foobar' } }, /Unix timestamp/);
    await bad({ query: { field: 'id', operator: 'IN', value: '1' } }, /needs an array/);
    await bad({ query: { field: 'category', operator: '=', value: 'Gadgets' } }, /request, task, tracker/);
    await bad({ query: { field: 'ticket_attribute.9999', operator: '=', value: 1 } }, /Unsupported field/);
    await bad({ query: { operator: 'XOR', value: [] } }, /AND or OR/);
    await bad({ pagination: { per_page: 5 } }, /'query' is required/);
    const notJson = await rawRequest(fake, '/tickets/search', { method: 'POST', rawBody: '{"query":' });
    expectErrorList(notJson, 'parameter_invalid');
  });
});

describe('ticket shapes by Intercom-Version', () => {
  it('2.11: ticket_state is the category string plus label fields; 2.14: an object; 2.16: integer assignees', async () => {
    const fake = await start();
    const source = ticketsOf(fake).find((t) => t.admin_assignee_id !== '0' && t.team_assignee_id !== '0')!;
    const query = { field: 'id', operator: '=', value: source.id };
    const v211 = (await search(fake, { query }, '2.11')).json.tickets[0];
    expect(v211.ticket_state).toBe(source.ticket_state.category);
    expect(v211.ticket_state_internal_label).toBe(source.ticket_state.internal_label);
    expect(v211.ticket_state_external_label).toBe(source.ticket_state.external_label);
    const v214 = (await search(fake, { query }, '2.14')).json.tickets[0];
    expect(v214).toEqual(source);
    for (const version of ['2.16', 'Unstable']) {
      const v216 = (await rawRequest(fake, `/tickets/${source.id}`, { version })).json;
      expect(v216.admin_assignee_id).toBe(Number(source.admin_assignee_id));
      expect(v216.team_assignee_id).toBe(Number(source.team_assignee_id));
      expect(v216).toHaveProperty('previous_ticket_state_id');
      expect(v216.ticket_state).toEqual(source.ticket_state);
    }
  });

  it('has no tickets API before 2.10 and no /ticket_states before 2.12', async () => {
    const fake = await start();
    expectErrorList(await search(fake, { query: ALL }, '2.9'), 'not_found');
    expect((await rawRequest(fake, '/ticket_types', { version: '2.8' })).status).toBe(404);
    expect((await search(fake, { query: ALL }, '2.10')).status).toBe(200);
    expect((await rawRequest(fake, '/ticket_states', { version: '2.11' })).status).toBe(404);
    expect((await rawRequest(fake, '/ticket_states', { version: '2.12' })).status).toBe(200);
  });
});

describe('GET /tickets/{id}, /ticket_types, /ticket_states', () => {
  it('returns one ticket by id, and 404 ticket_not_found for an unknown one', async () => {
    const fake = await start();
    const t = ticketsOf(fake)[5]!;
    expect((await rawRequest(fake, `/tickets/${t.id}`)).json).toEqual(t);
    const missing = await rawRequest(fake, '/tickets/1');
    expect(missing.status).toBe(404);
    expectErrorList(missing, 'ticket_not_found', 'Ticket not found');
  });

  it('lists ticket types with their attributes and states', async () => {
    const fake = await start();
    const res = await rawRequest(fake, '/ticket_types');
    expect(res.json.type).toBe('list');
    expect(res.json.data.length).toBeGreaterThanOrEqual(2);
    for (const type of res.json.data) {
      expect(type).toMatchObject({ type: 'ticket_type', workspace_id: fake.workspaceId, ticket_type_attributes: { type: 'list' } });
      const names = type.ticket_type_attributes.data.map((a: Ticket) => a.name);
      expect(names).toEqual(expect.arrayContaining(['_default_title_', '_default_description_']));
      expect(type.ticket_states.data.length).toBeGreaterThan(0);
    }
    const embedded = ticketsOf(fake)[0]!.ticket_type;
    expect(res.json.data.find((t: Ticket) => t.id === embedded.id)).toEqual(embedded);
  });

  it('lists ticket states with archived and their ticket types', async () => {
    const fake = await start();
    const res = await rawRequest(fake, '/ticket_states');
    const states = res.json.data as Ticket[];
    expect(states.map((s) => s.category)).toEqual(expect.arrayContaining(['submitted', 'in_progress', 'waiting_on_customer', 'resolved']));
    for (const s of states) {
      expect(s).toMatchObject({ type: 'ticket_state', archived: expect.any(Boolean), ticket_types: { type: 'list' } });
      expect(typeof s.internal_label).toBe('string');
    }
    expect(states.some((s) => s.archived)).toBe(true);
  });
});

describe('ticket controls', () => {
  it('updateTicket sets updated_at to the fake clock and moves the ticket to the end of an updated_at search', async () => {
    const fake = await start();
    const first = inOrder(ticketsOf(fake))[0]!;
    fake.advanceClock(5_000);
    fake.updateTicket(first.id, { ticket_attributes: { _default_title_: 'Changed, "again" ✅' }, admin_assignee_id: '991267463' });
    const { tickets } = await searchAll(fake, ALL);
    const moved = tickets.at(-1)!;
    expect(moved.id).toBe(first.id);
    expect(moved.updated_at).toBe(Math.floor((TEST_NOW + 5_000) / 1000));
    expect(moved.ticket_attributes).toEqual({ ...first.ticket_attributes, _default_title_: 'Changed, "again" ✅' });
    expect(moved.admin_assignee_id).toBe('991267463');
    fake.updateTicket(first.id, { ticket_state: 'resolved' });
    expect(ticketsOf(fake).find((t) => t.id === first.id)).toMatchObject({ open: false, ticket_state: { category: 'resolved' } });
    expect(() => fake.updateTicket('nope')).toThrow(/no ticket/);
  });

  it('addTicket and setTicketUpdatedAt', async () => {
    const fake = await start();
    fake.advanceClock(60_000);
    const id = fake.addTicket({ _default_title_: 'Brand new' });
    const nowS = Math.floor((TEST_NOW + 60_000) / 1000);
    const added = ticketsOf(fake).find((t) => t.id === id)!;
    expect(added).toMatchObject({ created_at: nowS, updated_at: nowS, ticket_attributes: { _default_title_: 'Brand new' } });
    expect(ticketsOf(fake)).toHaveLength(61);
    fake.setTicketUpdatedAt(id, 1_000);
    expect(ids((await search(fake, { query: ALL })).json.tickets)[0]).toBe(id);
  });
});

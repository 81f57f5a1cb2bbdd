import { beforeEach, describe, expect, it } from 'vitest';
import { syncTickets } from '../src/pipeline/sync-tickets.js';
import { useTestEnv, type TestEnv } from './helpers/test-env.js';

const getEnv = useTestEnv({ fake: { tickets: { count: 400 } } });
let env: TestEnv;
beforeEach(() => {
  env = getEnv();
});

type Ticket = Record<string, any>;
/**
 * A run fetches `updated_at < its start second`; an update in that same second belongs to the next
 * run. Tests that expect the very next run to see an update let the clock reach the next second.
 */
const nextSecond = () => new Promise((r) => setTimeout(r, 1005 - (Date.now() % 1000)));
const tableIds = async () => (await env.query<{ id: string }>('SELECT id FROM tickets ORDER BY id')).map((r) => r.id);
const searchBodies = () =>
  env.fake
    .stats()
    .requests.filter((r) => r.method === 'POST' && r.path === '/tickets/search')
    .map((r) => r.status);

describe('tickets sync (incremental search)', () => {
  it('loads every ticket in pages of 150 with every column, and refreshes ticket types and states', async () => {
    const result = await syncTickets(env.ctx);
    expect(result).toMatchObject({ fetched: 400, pages: 3, upserted: 400 });
    expect(await tableIds()).toEqual(
      env.fake
        .tickets()
        .map((t) => String(t.id))
        .sort(),
    );
    const source = env.fake.tickets().find((t: Ticket) => t.ticket_state && t.contacts?.contacts?.length) as Ticket;
    const [row] = await env.query<Record<string, any>>('SELECT * FROM tickets WHERE id = $1', [source.id]);
    expect(row).toMatchObject({
      ticket_id: String(source.ticket_id),
      category: source.category,
      title: source.ticket_attributes._default_title_ ?? null,
      ticket_state_id: String(source.ticket_state.id),
      ticket_state_category: source.ticket_state.category,
      ticket_state_internal_label: source.ticket_state.internal_label,
      ticket_type_id: String(source.ticket_type.id),
      ticket_type_name: source.ticket_type.name,
      open: source.open,
      contact_ids: source.contacts.contacts.map((c: Ticket) => String(c.id)),
    });
    expect(row!.updated_at.getTime()).toBe(source.updated_at * 1000);
    expect(row!.ticket_attributes).toEqual(source.ticket_attributes);
    expect(Number((await env.query<{ n: string }>('SELECT count(*) AS n FROM ticket_types'))[0]!.n)).toBeGreaterThan(0);
    expect(Number((await env.query<{ n: string }>('SELECT count(*) AS n FROM ticket_states'))[0]!.n)).toBeGreaterThan(0);
    const [state] = await env.query<{ watermark: Date }>(`SELECT watermark FROM etl_sync_state WHERE stream = 'tickets'`);
    expect(state!.watermark.toISOString()).toBe(result.watermark);
  });

  it('picks up updates in the next run, including a late ticket inside the overlap, but not one before it', async () => {
    await syncTickets(env.ctx);
    const [{ watermark }] = (await env.query<{ watermark: Date }>(`SELECT watermark FROM etl_sync_state WHERE stream = 'tickets'`)) as [
      { watermark: Date },
    ];
    const wm = Math.floor(watermark.getTime() / 1000);
    const [a, b, c] = env.fake.tickets() as Ticket[];
    env.fake.updateTicket(a!.id, { ticket_attributes: { ...a!.ticket_attributes, _default_title_: 'Changed title' } });
    // Tickets that show up late in search with older updated_at: one inside the 1 h overlap, one before it.
    env.fake.updateTicket(b!.id, { ticket_attributes: { ...b!.ticket_attributes, _default_title_: 'Late, inside overlap' } });
    env.fake.setTicketUpdatedAt(b!.id, wm - 1800);
    env.fake.updateTicket(c!.id, { ticket_attributes: { ...c!.ticket_attributes, _default_title_: 'Late, before overlap' } });
    env.fake.setTicketUpdatedAt(c!.id, wm - 7200);
    await nextSecond();
    const second = await syncTickets(env.ctx);
    const titles = Object.fromEntries(
      (await env.query<{ id: string; title: string }>('SELECT id, title FROM tickets WHERE id = ANY($1)', [[a!.id, b!.id, c!.id]])).map(
        (r) => [r.id, r.title],
      ),
    );
    expect(titles[a!.id]).toBe('Changed title');
    expect(titles[b!.id]).toBe('Late, inside overlap');
    expect(titles[c!.id]).not.toBe('Late, before overlap'); // outside the overlap: by design not re-read
    expect(second.fetched).toBeLessThan(50); // incremental, not a full reload
  });

  it('a run with no changed tickets completes and advances the watermark', async () => {
    const first = await syncTickets(env.ctx);
    await nextSecond();
    const quiet = await syncTickets(env.newContext({ ETL_TICKETS_OVERLAP: '0' }));
    expect(quiet).toMatchObject({ fetched: 0, upserted: 0 });
    expect(Date.parse(quiet.watermark!)).toBeGreaterThan(Date.parse(first.watermark!));
    expect((await tableIds()).length).toBe(400);
  });

  it('a ticket updated after the run started is not lost: the next run picks it up', async () => {
    const runStart = Date.now();
    const [t] = env.fake.tickets() as Ticket[];
    env.fake.updateTicket(t!.id, { ticket_attributes: { ...t!.ticket_attributes, _default_title_: 'Updated mid-run' } });
    // The run's start was taken before the update: the update belongs to the next run.
    const first = await syncTickets(env.ctx, () => runStart);
    expect(first.watermark).toBe(new Date(Math.floor(runStart / 1000) * 1000).toISOString());
    const [before] = await env.query<{ title: string | null }>('SELECT title FROM tickets WHERE id = $1', [t!.id]);
    expect(before?.title ?? null).not.toBe('Updated mid-run');
    await nextSecond();
    await syncTickets(env.ctx);
    const [after] = await env.query<{ title: string }>('SELECT title FROM tickets WHERE id = $1', [t!.id]);
    expect(after!.title).toBe('Updated mid-run');
  });

  it('retries a page that answers 500 (bad cursor), then restarts from the watermark', async () => {
    env.fake.injectFailure({ method: 'POST', path: '/tickets/search', status: 500, count: 2 });
    const once = await syncTickets(env.ctx);
    expect(once).toMatchObject({ fetched: 400, restarts: 0 });
    env.fake.injectFailure({ method: 'POST', path: '/tickets/search', status: 500, count: 5 });
    const restarted = await syncTickets(env.newContext({ ETL_TICKETS_OVERLAP: '30d' }));
    expect(restarted.restarts).toBe(1);
    expect(searchBodies().filter((s) => s === 500).length).toBe(7);
    expect((await tableIds()).length).toBe(400);
  });

  it('reads ticket_state as a string (API 2.11) and as an object (2.14), and integer assignee ids (2.16)', async () => {
    const v211 = await syncTickets(env.newContext({ INTERCOM_VERSION: '2.11' }));
    expect(v211.fetched).toBe(400);
    const old = await env.query<{ ticket_state_id: string | null; ticket_state_category: string; ticket_state_internal_label: string }>(
      'SELECT ticket_state_id, ticket_state_category, ticket_state_internal_label FROM tickets',
    );
    expect(old.every((r) => r.ticket_state_id === null && r.ticket_state_category && r.ticket_state_internal_label)).toBe(true);

    await env.query(`DELETE FROM etl_sync_state`);
    await syncTickets(env.newContext({ INTERCOM_VERSION: '2.16' }));
    const current = await env.query<{ ticket_state_id: string | null; ticket_state_category: string; admin_assignee_id: string | null }>(
      'SELECT ticket_state_id, ticket_state_category, admin_assignee_id FROM tickets',
    );
    expect(current.every((r) => r.ticket_state_id !== null && r.ticket_state_category)).toBe(true);
    expect(current.some((r) => r.admin_assignee_id !== null && /^\d+$/.test(r.admin_assignee_id))).toBe(true);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { fakeStarter, utc } from './fixtures/fake-intercom-http.js';

// Issue 9 §2: the fake's report rows refer to its own companies and tickets, as Intercom's do.
const NOW = Date.UTC(2026, 5, 1, 12);
const DAY_S = 86_400;
const START_DAY = utc(2026, 6, 1); // utc() months are 1-based: the day of NOW
const fakes = fakeStarter(NOW);
afterEach(() => fakes.closeAll());

describe('fake Intercom: report keys match its companies and tickets', () => {
  it('tickets rows of the days before the start are the fake tickets, with their type, state and title', async () => {
    const { fake } = await fakes.start({ export: { rowsPerDay: 24 }, tickets: { count: 60 } });
    const tickets = fake.tickets();
    const rows = fake.expectedRows('tickets', START_DAY - 3 * DAY_S, START_DAY - 1);
    const byId = new Map(tickets.map((t) => [String(t.id), t]));
    const matched = rows.filter((r) => byId.has(r.ticket_id!));
    // 60 tickets laid out 24 a day over the 3 days before the start day: every ticket has its row.
    expect(new Set(matched.map((r) => r.ticket_id)).size).toBe(60);
    for (const row of matched) {
      const ticket = byId.get(row.ticket_id!)! as Record<string, any>;
      expect(row.ticket_type_id).toBe(ticket.ticket_type.name);
      expect(row.current_ticket_custom_state_id).toBe(ticket.ticket_state.internal_label);
      expect(row.ticket_title).toBe(ticket.ticket_attributes._default_title_);
      expect(row.ticket_url).toContain(`/conversation/${ticket.id}`);
    }
    // Ticket ids stay unique across the dataset: older rows keep their own row ids.
    const all = fake.expectedRows('tickets', START_DAY - 10 * DAY_S, START_DAY - 1);
    expect(new Set(all.map((r) => r.ticket_id)).size).toBe(all.length);
  });

  it('conversation and tickets rows carry the company_id of a fake company, and the tickets row its name', async () => {
    const { fake } = await fakes.start({ companies: { count: 40 } });
    const companies = new Map(fake.companies().map((c) => [String(c.company_id), String(c.name)]));
    const conversations = fake.expectedRows('conversation', START_DAY - 2 * DAY_S, START_DAY - 1);
    const withCompany = conversations.filter((r) => r.company_id !== null);
    expect(withCompany.length).toBeGreaterThan(conversations.length / 2);
    expect(withCompany.every((r) => companies.has(r.company_id!))).toBe(true);
    const tickets = fake.expectedRows('tickets', START_DAY - 2 * DAY_S, START_DAY - 1).filter((r) => r.company_id !== null);
    expect(tickets.length).toBeGreaterThan(0);
    for (const row of tickets) expect(row.company_name).toBe(companies.get(row.company_id!));
  });

  it('tickets rows name a conversation id of the same day', async () => {
    const { fake } = await fakes.start({ export: { rowsPerDay: 24 } });
    const day = START_DAY - 2 * DAY_S;
    const conversationIds = new Set(
      fake.expectedRows('conversation', day, day + DAY_S - 1, { apiVersion: '2.16' }).map((r) => r.conversation_id),
    );
    const tickets = fake.expectedRows('tickets', day, day + DAY_S - 1);
    expect(tickets.every((r) => conversationIds.has(r.conversation_id))).toBe(true);
  });
});

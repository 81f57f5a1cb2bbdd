import { describe, expect, it } from 'vitest';
import { withTransaction } from '../src/db/pool.js';
import { mergeCompanies, mergeTickets } from '../src/sinks/entity-merge.js';
import { EntityStage } from '../src/sinks/entity-stage.js';
import { useTestEnv } from './helpers/test-env.js';

/** The final merge of a companies or tickets run, straight from staged documents. */
const getEnv = useTestEnv();

async function stage(stream: 'companies' | 'tickets', runId: string, pages: Array<Array<Record<string, unknown>>>): Promise<void> {
  const stager = new EntityStage(getEnv().ctx.pool, stream, runId);
  for (const page of pages) stager.push(page);
  await stager.drain();
}

describe('entity merge', () => {
  it('keeps the newest staged version of a ticket fetched twice in one run, whatever the order it was staged in', async () => {
    const env = getEnv();
    const ticket = (updatedAt: number | string, title: string) => ({
      type: 'ticket',
      id: '77',
      ticket_id: '12',
      category: 'Customer',
      ticket_attributes: { _default_title_: title },
      ticket_state: { id: '1', category: 'submitted', internal_label: 'Submitted', external_label: 'Submitted' },
      created_at: 1_700_000_000,
      updated_at: updatedAt,
    });
    // The newer version first, then a stale copy (an overlapping page), then one whose updated_at is a numeric string.
    await stage('tickets', 'run-t', [
      [ticket(1_700_000_500, 'newest')],
      [ticket(1_700_000_100, 'stale')],
      [ticket('1700000300', 'middle')],
    ]);
    await withTransaction(env.ctx.pool, (c) => mergeTickets(c, 'run-t'));
    const rows = await env.query<{ title: string; updated_at: Date }>('SELECT title, updated_at FROM tickets');
    expect(rows).toEqual([{ title: 'newest', updated_at: new Date(1_700_000_500_000) }]);
  });

  it("keeps a company's last staged copy and unpacks every field", async () => {
    const env = getEnv();
    const company = (name: string) => ({
      type: 'company',
      id: 'c1',
      company_id: 'C-1',
      name,
      plan: { id: '9', name: 'Pro' },
      size: '42',
      monthly_spend: 12.5,
      created_at: 1_600_000_000,
      custom_attributes: { tier: 'gold' },
      tags: { tags: [{ id: 't1', name: 'vip' }] },
      segments: { segments: [] },
    });
    await stage('companies', 'run-c', [[company('Acme, first copy')], [company('Acme "latest" — Zürich 🚀 \\ \t')]]);
    const result = await withTransaction(env.ctx.pool, (c) => mergeCompanies(c, 'run-c'));
    expect(result).toEqual({ upserted: 1, deleted: 0 });
    const rows = await env.query(
      'SELECT id, company_id, name, plan_id, plan_name, size, monthly_spend, created_at, custom_attributes, tags FROM companies',
    );
    expect(rows).toEqual([
      {
        id: 'c1',
        company_id: 'C-1',
        name: 'Acme "latest" — Zürich 🚀 \\ \t',
        plan_id: '9',
        plan_name: 'Pro',
        size: '42',
        monthly_spend: '12.5',
        created_at: new Date(1_600_000_000_000),
        custom_attributes: { tier: 'gold' },
        tags: [{ id: 't1', name: 'vip' }],
      },
    ]);
  });
});

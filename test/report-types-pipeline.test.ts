import { parse } from 'csv-parse/sync';
import { beforeEach, describe, expect, it } from 'vitest';
import { runReports } from '../src/cli/run-reports.js';
import { useTestEnv, type TestEnv } from './helpers/test-env.js';

/** Typed columns end to end: the fake's conversation export through a backfill into Postgres. */
const DAY = 86_400_000;
const D0 = Math.floor(Date.now() / DAY) * DAY - 20 * DAY;

const getEnv = useTestEnv();
let env: TestEnv;
beforeEach(() => {
  env = getEnv();
});

/** An independent reading of a list field: CSV rules inside the field, spaces trimmed. */
function splitReference(raw: string): string[] {
  return (parse(raw, { trim: true, relax_quotes: true }) as string[][])[0]!;
}

describe('typed report columns through a backfill from the fake', () => {
  it('loads booleans, integers and lists as such, every list item as the fake wrote it', async () => {
    const summary = await runReports(
      env.ctx,
      { mode: 'backfill', range: { start: D0, end: D0 + 2 * DAY }, datasetIds: ['conversation'] },
      { progress: () => {} },
    );
    expect(summary.progress).toMatchObject({ loaded: 2, failed: 0 });
    const types = await env.query<{ column_name: string; data_type: string }>(
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'report_conversation'
        AND column_name IN ('fin_ai_agent_participated', 'last_teammate_rating', 'teammate_replies_count', 'conversation_tag_ids',
                            'reply_participant_teammate_ids', 'conversation_first_response_time', 'conversation_started_at')
        ORDER BY column_name`,
      [env.schema],
    );
    expect(Object.fromEntries(types.map((t) => [t.column_name, t.data_type]))).toEqual({
      conversation_first_response_time: 'numeric',
      conversation_started_at: 'timestamp with time zone',
      conversation_tag_ids: 'ARRAY',
      fin_ai_agent_participated: 'boolean',
      last_teammate_rating: 'integer',
      reply_participant_teammate_ids: 'ARRAY',
      teammate_replies_count: 'integer',
    });
    const want = new Map(
      env.fake.expectedRows('conversation', D0 / 1000, (D0 + 2 * DAY) / 1000 - 1).map((r) => [r.conversation_id!, r] as const),
    );
    const rows = await env.query<{
      id: string;
      p: boolean;
      rating: number | null;
      teammates: string[] | null;
      teammates_text: string | null;
      tags: string[] | null;
    }>(
      `SELECT conversation_id AS id, fin_ai_agent_participated AS p, last_teammate_rating AS rating,
              reply_participant_teammate_ids AS teammates, reply_participant_teammate_ids_text AS teammates_text, conversation_tag_ids AS tags
         FROM report_conversation`,
    );
    expect(rows.length).toBe(want.size);
    let quotedItems = 0;
    for (const r of rows) {
      const w = want.get(r.id)!;
      expect(r.p).toBe(w.fin_ai_agent_participated === 'true');
      expect(r.rating).toBe(w.last_teammate_rating ? Number(w.last_teammate_rating) : null);
      expect(r.teammates_text).toBe(w.reply_participant_teammate_ids ?? null);
      expect(r.teammates).toEqual(w.reply_participant_teammate_ids ? splitReference(w.reply_participant_teammate_ids) : null);
      expect(r.tags).toEqual(w.conversation_tag_ids ? splitReference(w.conversation_tag_ids) : null);
      if (r.teammates?.includes("O'Brien, Pat")) quotedItems++;
    }
    expect(quotedItems).toBeGreaterThan(0); // the quoted-item case really occurred
  });
});

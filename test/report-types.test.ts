import { Readable } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import type { DatasetAttribute } from '../src/intercom/types.js';
import { guessColumnType } from '../src/sinks/column-naming.js';
import { columnsForRequest, loadReportDataset, syncCatalogue, type ReportDataset } from '../src/sinks/report-catalogue.js';
import { loadReportWindow } from '../src/sinks/report-loader.js';
import { useTestEnv, type TestEnv } from './helpers/test-env.js';

/**
 * Types that fit the data (issue 9 §1): booleans, integers (ratings, counts) and lists (text[]),
 * each still lossless — a value that does not fit widens its column and no row is lost — plus
 * column/table comments and the column order of new tables.
 */
const D1 = Date.parse('2026-03-01T00:00:00Z');
const WINDOW = { start: D1, end: D1 + 86_400_000 };
const ATTRS: DatasetAttribute[] = [
  { id: 'conversation_id', name: 'Conversation ID', qualifiedId: 'standard.conversation_id' },
  { id: 'conversation_started_at', name: 'Conversation started at', qualifiedId: 'timestamp.conversation_started_at' },
  { id: 'fin_ai_agent_participated', name: 'Fin AI Agent participated', qualifiedId: 'standard.fin_ai_agent_participated' },
  { id: 'last_teammate_rating', name: 'Last teammate rating', qualifiedId: 'standard.last_teammate_rating' },
  { id: 'conversation_tag_ids', name: 'Conversation tags', qualifiedId: 'standard.conversation_tag_ids' },
  { id: 'first_response_time', name: 'First response time', qualifiedId: 'duration.first_response_time' },
];
const HEADER =
  'conversation_id,conversation_started_at,fin_ai_agent_participated,last_teammate_rating,conversation_tag_ids,first_response_time\n';

const getEnv = useTestEnv();
let env: TestEnv;
let dataset: ReportDataset;

async function refresh(attributes = ATTRS, description = 'Conversation-level details.'): Promise<void> {
  await syncCatalogue(env.ctx.pool, env.schema, [
    { id: 'conversation', name: 'Conversation', description, defaultTimeAttributeId: 'conversation_started_at', attributes },
  ]);
  dataset = (await loadReportDataset(env.ctx.pool, 'conversation'))!;
}

beforeEach(async () => {
  env = getEnv();
  await refresh();
});

function load(text: string, attributes = ATTRS) {
  return loadReportWindow(env.ctx.pool, env.schema, {
    dataset,
    columns: columnsForRequest(
      dataset,
      attributes.map((a) => a.qualifiedId ?? a.id),
    ),
    window: WINDOW,
    intercomJobId: 'job-types',
    timestampTimezone: 'UTC',
    openCsv: async () => Readable.from([Buffer.from(text, 'utf8')]),
  });
}

async function columns(): Promise<string[]> {
  const rows = await env.query<{ column_name: string; data_type: string; is_generated: string }>(
    `SELECT column_name, data_type, is_generated FROM information_schema.columns
      WHERE table_schema = $1 AND table_name = 'report_conversation' ORDER BY ordinal_position`,
    [env.schema],
  );
  return rows.map((c) => `${c.column_name}:${c.data_type}${c.is_generated === 'ALWAYS' ? ' generated' : ''}`);
}

describe('typed report columns', () => {
  it('guesses boolean, integer and list types from ids and names', () => {
    expect(guessColumnType('fin_ai_agent_participated')).toBe('boolean');
    expect(
      guessColumnType('rating_participant_fin_ai_agent', 'standard.rating_participant_fin_ai_agent', 'Fin AI Agent participated'),
    ).toBe('boolean');
    expect(guessColumnType('is_resolved_on_first_contact')).toBe('boolean');
    expect(guessColumnType('action_by_automation')).toBe('boolean');
    expect(guessColumnType('ticket_shared_with_customer')).toBe('boolean');
    expect(guessColumnType('conversation_rating')).toBe('integer');
    expect(guessColumnType('last_teammate_rating')).toBe('integer');
    expect(guessColumnType('teammate_replies_count')).toBe('integer');
    expect(guessColumnType('conversation_rating_remark')).toBe('text');
    expect(guessColumnType('conversation_rating_id')).toBe('text');
    expect(guessColumnType('conversation_tag_ids')).toBe('text[]');
    expect(guessColumnType('reply_participant_teammate_ids', 'teammate.reply_participant_teammate_ids')).toBe('text[]');
    expect(guessColumnType('topics')).toBe('text[]');
    expect(guessColumnType('response_time_in_office_hours', 'duration.response_time_in_office_hours')).toBe('numeric');
    expect(guessColumnType('time_to_close_in_office_hours')).toBe('numeric');
    expect(guessColumnType('currently_assigned_team_raw_id')).toBe('text');
  });

  it('splits lists at commas outside double quotes, trimming spaces, the same on every path of etl_split_list', async () => {
    const cases: [string | null, string[] | null][] = [
      [null, null],
      ['  ', null],
      ['x', ['x']],
      ['billing, refund', ['billing', 'refund']],
      ['a,b', ['a', 'b']],
      [' a ,b,  c ', ['a', 'b', 'c']],
      ['a,\tb', ['a', 'b']],
      ['a,,b', ['a', '', 'b']],
      ['"Smith, Jane", Bob', ['Smith, Jane', 'Bob']],
      ['a, "b ""x"", c"', ['a', 'b "x", c']],
      ['"unterminated, q', ['"unterminated', 'q']],
      ['O"Brien, Ann', ['O"Brien', 'Ann']],
      ['Ana "Nina" Souza, needs "review"', ['Ana "Nina" Souza', 'needs "review"']],
      ['"Nina" Souza, b', ['"Nina" Souza', 'b']],
      ['"O\'Brien, Pat", Ana "Nina" Souza', ["O'Brien, Pat", 'Ana "Nina" Souza']],
    ];
    const rows = await env.query<{ v: string | null; a: string[] | null }>(
      'SELECT v, etl_split_list(v) AS a FROM unnest($1::text[]) WITH ORDINALITY AS t(v, i) ORDER BY i',
      [cases.map((c) => c[0])],
    );
    expect(rows.map((r) => [r.v, r.a])).toEqual(cases);
  });

  it('creates a new table with data columns first, list sources next, metadata last', async () => {
    expect(await columns()).toEqual([
      'conversation_id:text',
      'conversation_started_at:timestamp with time zone',
      'fin_ai_agent_participated:boolean',
      'last_teammate_rating:integer',
      'conversation_tag_ids:ARRAY generated',
      'first_response_time:numeric',
      'conversation_tag_ids_text:text',
      '_window_start:timestamp with time zone',
      '_window_end:timestamp with time zone',
      '_intercom_job_id:text',
      '_loaded_at:timestamp with time zone',
    ]);
    const attrs = await env.query(
      `SELECT column_name, column_type, load_column FROM etl_attributes WHERE dataset_id = 'conversation' ORDER BY position`,
    );
    expect(attrs[4]).toEqual({ column_name: 'conversation_tag_ids', column_type: 'text[]', load_column: 'conversation_tag_ids_text' });
    expect(attrs[2]).toEqual({ column_name: 'fin_ai_agent_participated', column_type: 'boolean', load_column: null });
  });

  it('loads booleans, integers and lists; a quoted item keeps its comma; blank is NULL', async () => {
    const text =
      HEADER +
      '1,2026-03-01 00:00:00,true,5,"billing, refund",94.5\n' +
      '2,2026-03-01 00:00:01,FALSE,,,\n' +
      '3,2026-03-01 00:00:02,"","","""Smith, Jane"", Bob",""\n' +
      '4,2026-03-01 00:00:03,false,1,"vip",0\n' +
      '5,2026-03-01 00:00:04,true,3,"a,b , ""c """"quoted"""", d""",7\n';
    expect(await load(text)).toEqual({ rows: 5, widened: [] });
    const rows = await env.query(
      `SELECT conversation_id AS id, fin_ai_agent_participated AS p, last_teammate_rating AS r, conversation_tag_ids AS tags,
              conversation_tag_ids_text AS raw, first_response_time::text AS frt
         FROM report_conversation ORDER BY conversation_id`,
    );
    expect(rows).toEqual([
      { id: '1', p: true, r: 5, tags: ['billing', 'refund'], raw: 'billing, refund', frt: '94.5' },
      { id: '2', p: false, r: null, tags: null, raw: null, frt: null },
      { id: '3', p: null, r: null, tags: ['Smith, Jane', 'Bob'], raw: '"Smith, Jane", Bob', frt: null },
      { id: '4', p: false, r: 1, tags: ['vip'], raw: 'vip', frt: '0' },
      { id: '5', p: true, r: 3, tags: ['a', 'b', 'c "quoted", d'], raw: 'a,b , "c ""quoted"", d"', frt: '7' },
    ]);
  });

  it('widens a boolean column receiving `maybe` to text, losing no row', async () => {
    const r = await load(`${HEADER}1,2026-03-01 00:00:00,true,5,a,1\n2,2026-03-01 00:00:01,maybe,4,b,2\n`);
    expect(r).toEqual({ rows: 2, widened: ['fin_ai_agent_participated'] });
    expect(await env.query('SELECT fin_ai_agent_participated AS p FROM report_conversation ORDER BY conversation_id')).toEqual([
      { p: 'true' },
      { p: 'maybe' },
    ]);
    const attr = await env.query<{ column_type: string; widened: boolean }>(
      `SELECT column_type, widened_at IS NOT NULL AS widened FROM etl_attributes WHERE column_name = 'fin_ai_agent_participated'`,
    );
    expect(attr).toEqual([{ column_type: 'text', widened: true }]);
    const comment = await env.query<{ c: string }>(
      `SELECT col_description('report_conversation'::regclass, attnum) AS c FROM pg_attribute
        WHERE attrelid = 'report_conversation'::regclass AND attname = 'fin_ai_agent_participated'`,
    );
    expect(comment[0]!.c).toMatch(/Loaded as text: a value did not fit/);
  });

  it('widens an integer column receiving `4.5` to numeric, and then to text for `N/A`, losing no row', async () => {
    const r = await load(`${HEADER}1,2026-03-01 00:00:00,true,4.5,a,1\n2,2026-03-01 00:00:01,false,5,b,2\n`);
    expect(r).toEqual({ rows: 2, widened: ['last_teammate_rating'] });
    expect(await columns()).toContain('last_teammate_rating:numeric');
    expect(await env.query('SELECT last_teammate_rating::text AS r FROM report_conversation ORDER BY conversation_id')).toEqual([
      { r: '4.5' },
      { r: '5' },
    ]);
    const r2 = await load(`${HEADER}1,2026-03-01 00:00:00,true,4.5,a,1\n2,2026-03-01 00:00:01,false,N/A,b,2\n`);
    expect(r2).toEqual({ rows: 2, widened: ['last_teammate_rating'] });
    expect(await env.query('SELECT last_teammate_rating AS r FROM report_conversation ORDER BY conversation_id')).toEqual([
      { r: '4.5' },
      { r: 'N/A' },
    ]);
    expect(await env.query(`SELECT column_type FROM etl_attributes WHERE column_name = 'last_teammate_rating'`)).toEqual([
      { column_type: 'text' },
    ]);
  });

  it('widens an integer column straight to text when the value is no number, in one load even after numeric', async () => {
    const r = await load(`${HEADER}1,2026-03-01 00:00:00,true,4.5,a,1\n2,2026-03-01 00:00:01,false,great,b,2\n`);
    expect(r).toEqual({ rows: 2, widened: ['last_teammate_rating'] });
    expect(await env.query('SELECT last_teammate_rating AS r FROM report_conversation ORDER BY conversation_id')).toEqual([
      { r: '4.5' },
      { r: 'great' },
    ]);
  });

  it('comments the table and every column from the catalogue, and keeps them current', async () => {
    const comments = async () =>
      env.query<{ col: string | null; c: string | null }>(
        `SELECT NULL AS col, obj_description('report_conversation'::regclass, 'pg_class') AS c
         UNION ALL SELECT attname::text, col_description(attrelid, attnum) FROM pg_attribute
          WHERE attrelid = 'report_conversation'::regclass AND attnum > 0 AND NOT attisdropped`,
      );
    const before = new Map((await comments()).map((r) => [r.col, r.c]));
    expect(before.get(null)).toBe(
      'Conversation: Conversation-level details. (Intercom reporting dataset conversation; rows are assigned to export windows by conversation_started_at. Loaded by intercom-etl.)',
    );
    expect(before.get('last_teammate_rating')).toBe('Last teammate rating (Intercom attribute standard.last_teammate_rating).');
    expect(before.get('first_response_time')).toBe('First response time (Intercom attribute duration.first_response_time). Seconds.');
    expect(before.get('conversation_tag_ids')).toMatch(
      /^Conversation tags \(Intercom attribute standard.conversation_tag_ids\)\. A list: .*conversation_tag_ids_text\.$/,
    );
    expect(before.get('conversation_tag_ids_text')).toMatch(/^Conversation tags as exported/);
    expect(before.get('_window_start')).toMatch(/^Start \(inclusive, UTC\) of the export window/);
    for (const [col, c] of before) expect(c, `comment of ${col ?? 'the table'}`).toBeTruthy();

    await refresh(
      ATTRS.map((a) => (a.id === 'last_teammate_rating' ? { ...a, name: 'Teammate rating (1-5)' } : a)),
      'Conversations, one row each.',
    );
    const after = new Map((await comments()).map((r) => [r.col, r.c]));
    expect(after.get(null)).toMatch(/^Conversation: Conversations, one row each\. /);
    expect(after.get('last_teammate_rating')).toBe('Teammate rating (1-5) (Intercom attribute standard.last_teammate_rating).');
  });

  it('adds a new list attribute to an existing table after its columns, and loads it', async () => {
    const more = [...ATTRS, { id: 'user_manual_tag_ids', name: 'User tags', qualifiedId: 'people.user_manual_tag_ids' }];
    await refresh(more);
    const cols = await columns();
    expect(cols.slice(-2)).toEqual(['user_manual_tag_ids_text:text', 'user_manual_tag_ids:ARRAY generated']);
    await load(`${HEADER.trimEnd()},user_manual_tag_ids\n1,2026-03-01 00:00:00,true,5,a,1,"x, y"\n`, more);
    expect(await env.query('SELECT user_manual_tag_ids AS t FROM report_conversation')).toEqual([{ t: ['x', 'y'] }]);
  });

  it('leaves a table made by an older version as it is (types, column order), comments it, and types only new attributes', async () => {
    // What versions before migration 0009 made: metadata columns first, booleans and ratings as text, counts numeric.
    await env.query(`INSERT INTO etl_datasets (dataset_id, name, description, default_time_attribute_id, table_name)
                     VALUES ('legacy', 'Legacy', 'old table', 'created_at', 'report_legacy')`);
    await env.query(`INSERT INTO etl_attributes (dataset_id, column_name, attribute_id, name, column_type, position) VALUES
                     ('legacy', 'created_at', 'created_at', 'Created at', 'timestamptz', 0),
                     ('legacy', 'is_open', 'is_open', 'Is open', 'text', 1),
                     ('legacy', 'replies_count', 'replies_count', 'Replies', 'numeric', 2),
                     ('legacy', 'tag_ids', 'tag_ids', 'Tags', 'text', 3)`);
    await env.query(`CREATE TABLE report_legacy (_window_start timestamptz NOT NULL DEFAULT current_setting('intercom_etl.window_start', true)::timestamptz,
                     _window_end timestamptz NOT NULL DEFAULT current_setting('intercom_etl.window_end', true)::timestamptz,
                     _intercom_job_id text DEFAULT current_setting('intercom_etl.intercom_job_id', true), _loaded_at timestamptz NOT NULL DEFAULT now(),
                     created_at timestamptz, is_open text, replies_count numeric, tag_ids text)`);
    const attrs: DatasetAttribute[] = [
      { id: 'created_at', name: 'Created at' },
      { id: 'is_open', name: 'Is open' },
      { id: 'replies_count', name: 'Replies' },
      { id: 'tag_ids', name: 'Tags' },
      { id: 'is_spam', name: 'Is spam' },
    ];
    await syncCatalogue(env.ctx.pool, env.schema, [
      { id: 'legacy', name: 'Legacy', description: 'old table', defaultTimeAttributeId: 'created_at', attributes: attrs },
    ]);
    const cols = await env.query<{ c: string }>(
      `SELECT column_name || ':' || data_type AS c FROM information_schema.columns
        WHERE table_schema = $1 AND table_name = 'report_legacy' ORDER BY ordinal_position`,
      [env.schema],
    );
    expect(cols.map((r) => r.c)).toEqual([
      '_window_start:timestamp with time zone',
      '_window_end:timestamp with time zone',
      '_intercom_job_id:text',
      '_loaded_at:timestamp with time zone',
      'created_at:timestamp with time zone',
      'is_open:text',
      'replies_count:numeric',
      'tag_ids:text',
      'is_spam:boolean',
    ]);
    const legacy = (await loadReportDataset(env.ctx.pool, 'legacy'))!;
    const r = await loadReportWindow(env.ctx.pool, env.schema, {
      dataset: legacy,
      columns: columnsForRequest(
        legacy,
        attrs.map((a) => a.id),
      ),
      window: WINDOW,
      intercomJobId: 'job-legacy',
      timestampTimezone: 'UTC',
      openCsv: async () =>
        Readable.from([Buffer.from('created_at,is_open,replies_count,tag_ids,is_spam\n2026-03-01 01:00:00,true,3,"a, b",false\n')]),
    });
    expect(r).toEqual({ rows: 1, widened: [] });
    expect(await env.query('SELECT is_open, replies_count::text AS n, tag_ids, is_spam FROM report_legacy')).toEqual([
      { is_open: 'true', n: '3', tag_ids: 'a, b', is_spam: false },
    ]);
    const comment = await env.query<{ c: string }>(`SELECT obj_description('report_legacy'::regclass, 'pg_class') AS c`);
    expect(comment[0]!.c).toMatch(/^Legacy: old table \(Intercom reporting dataset legacy;/);
  });
});

describe('types from the first loaded values', () => {
  const CUSTOM: DatasetAttribute[] = [
    { id: 'created_at', name: 'Created at' },
    { id: 'Csat score', name: 'Csat score', qualifiedId: 'conversation.Csat score' },
    { id: 'Escalated', name: 'Escalated', qualifiedId: 'conversation.Escalated' },
    { id: 'Order code', name: 'Order code', qualifiedId: 'conversation.Order code' },
    { id: 'Amount', name: 'Amount', qualifiedId: 'conversation.Amount' },
    { id: 'Sparse', name: 'Sparse', qualifiedId: 'conversation.Sparse' },
  ];
  const CUSTOM_HEADER = 'created_at,Csat score,Escalated,Order code,Amount,Sparse\n';
  let custom: ReportDataset;

  beforeEach(async () => {
    await syncCatalogue(env.ctx.pool, env.schema, [
      { id: 'custom', name: 'Custom', description: 'custom attributes', defaultTimeAttributeId: 'created_at', attributes: CUSTOM },
    ]);
    custom = (await loadReportDataset(env.ctx.pool, 'custom'))!;
  });

  const loadCustom = (text: string, window = WINDOW) =>
    loadReportWindow(env.ctx.pool, env.schema, {
      dataset: custom,
      columns: columnsForRequest(
        custom,
        CUSTOM.map((a) => a.qualifiedId ?? a.id),
      ),
      window,
      intercomJobId: 'job-custom',
      timestampTimezone: 'UTC',
      // In 16 KiB chunks, as a download arrives: the sample reads only the first 256 KiB.
      openCsv: async () => {
        const buf = Buffer.from(text, 'utf8');
        const chunks: Buffer[] = [];
        for (let i = 0; i < buf.length; i += 16_384) chunks.push(buf.subarray(i, i + 16_384));
        return Readable.from(chunks);
      },
    });
  const types = async () =>
    Object.fromEntries(
      (
        await env.query<{ column_name: string; column_type: string }>(
          `SELECT column_name, column_type FROM etl_attributes WHERE dataset_id = 'custom' ORDER BY position`,
        )
      ).map((r) => [r.column_name, r.column_type]),
    );
  const row = (i: number, csat: string, esc: string, code: string, amount: string, sparse = '') =>
    `2026-03-01 00:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')},${csat},${esc},${code},${amount},${sparse}\n`;

  it('types text columns of an empty table from their first values; codes with leading zeros and sparse columns stay text', async () => {
    const text =
      CUSTOM_HEADER +
      row(1, '5', 'true', '007', '12.50', 'x') +
      row(2, '3', 'FALSE', '012', '3') +
      row(3, '', 'false', '123', '0.5') +
      row(4, '1', 'true', '9', '100');
    expect(await loadCustom(text)).toEqual({ rows: 4, widened: [] });
    expect(await types()).toEqual({
      created_at: 'timestamptz',
      csat_score: 'integer',
      escalated: 'boolean',
      order_code: 'text',
      amount: 'numeric',
      sparse: 'text',
    });
    expect(
      await env.query('SELECT csat_score, escalated, order_code, amount::text AS amount FROM report_custom ORDER BY created_at'),
    ).toEqual([
      { csat_score: 5, escalated: true, order_code: '007', amount: '12.50' },
      { csat_score: 3, escalated: false, order_code: '012', amount: '3' },
      { csat_score: null, escalated: false, order_code: '123', amount: '0.5' },
      { csat_score: 1, escalated: true, order_code: '9', amount: '100' },
    ]);
  });

  it('never retypes a table that has rows: a column whose first values were all empty stays text', async () => {
    await loadCustom(CUSTOM_HEADER + row(1, '', '', '', '') + row(2, '', '', '', ''));
    await loadCustom(CUSTOM_HEADER + row(1, '4', 'true', '1', '2') + row(2, '5', 'false', '2', '3') + row(3, '3', 'true', '3', '4'), {
      start: WINDOW.end,
      end: WINDOW.end + 86_400_000,
    });
    expect((await types()).csat_score).toBe('text');
  });

  it('a value past the sample that does not fit widens the column, losing no row', async () => {
    let text = CUSTOM_HEADER;
    const n = 6000; // ~300 KB: past the 256 KiB sample
    for (let i = 0; i < n; i++) text += row(i, String((i % 5) + 1), 'true', 'A1', '1', 'padding to make the file bigger than the sample');
    text += row(n, 'N/A', 'maybe', 'A1', '1');
    expect(text.length).toBeGreaterThan(256 * 1024);
    const r = await loadCustom(text);
    expect(r.rows).toBe(n + 1);
    expect(r.widened.sort()).toEqual(['csat_score', 'escalated']);
    expect((await types()).csat_score).toBe('text');
    const last = await env.query(`SELECT csat_score, escalated FROM report_custom WHERE csat_score = 'N/A'`);
    expect(last).toEqual([{ csat_score: 'N/A', escalated: 'maybe' }]);
    const widened = await env.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM etl_attributes WHERE dataset_id = 'custom' AND widened_at IS NOT NULL`,
    );
    expect(widened[0]!.n).toBe(2);
  });
});

import { Readable } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import { FatalError } from '../src/errors.js';
import { recordLoaded, planWindows, getWindow } from '../src/pipeline/export-ledger.js';
import { syncCatalogue, columnsForRequest, loadReportDataset, type ReportDataset } from '../src/sinks/report-catalogue.js';
import { loadReportWindow } from '../src/sinks/report-loader.js';
import { useTestEnv, type TestEnv } from './helpers/test-env.js';

/**
 * The sink conformance suite: every edge case a CSV can throw at the load path, checked against
 * the rows that end up in Postgres.
 */
const DAY = 86_400_000;
const D1 = Date.parse('2026-03-01T00:00:00Z');
const ATTRS = [
  { id: 'item_id', name: 'Item' },
  { id: 'created_at', name: 'Created at', qualifiedId: 'timestamp.created_at' },
  { id: 'note', name: 'Note' },
  { id: 'reply_count', name: 'Replies' },
  { id: 'handling_time', name: 'Handling time', qualifiedId: 'duration.handling_time' },
];

const getEnv = useTestEnv();
let env: TestEnv;
let dataset: ReportDataset;

beforeEach(async () => {
  env = getEnv();
  await syncCatalogue(env.ctx.pool, env.schema, [
    { id: 'sample', name: 'Sample', description: 'test', defaultTimeAttributeId: 'created_at', attributes: ATTRS },
  ]);
  dataset = (await loadReportDataset(env.ctx.pool, 'sample'))!;
});

function csv(text: string, chunkSize = 0): () => Promise<Readable> {
  return async () => {
    const buf = Buffer.from(text, 'utf8');
    if (!chunkSize) return Readable.from([buf]);
    const chunks: Buffer[] = [];
    for (let i = 0; i < buf.length; i += chunkSize) chunks.push(buf.subarray(i, i + chunkSize));
    return Readable.from(chunks);
  };
}

async function load(
  text: string | null | (() => Promise<Readable>),
  window = { start: D1, end: D1 + DAY },
  chunkSize = 0,
  extra: Partial<Parameters<typeof loadReportWindow>[2]> = {},
) {
  return loadReportWindow(env.ctx.pool, env.schema, {
    dataset,
    columns: columnsForRequest(
      dataset,
      ATTRS.map((a) => a.qualifiedId ?? a.id),
    ),
    window,
    intercomJobId: 'job-test',
    timestampTimezone: 'UTC',
    openCsv: text === null ? null : typeof text === 'string' ? csv(text, chunkSize) : text,
    ...extra,
  });
}

const HEADER = 'item_id,created_at,note,reply_count,handling_time\n';

describe('report loader (sink conformance)', () => {
  it('creates one typed column per attribute plus metadata columns', async () => {
    const cols = await env.query<{ column_name: string; data_type: string }>(
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'report_sample' ORDER BY ordinal_position`,
      [env.schema],
    );
    expect(cols.map((c) => `${c.column_name}:${c.data_type}`)).toEqual([
      'item_id:text',
      'created_at:timestamp with time zone',
      'note:text',
      'reply_count:integer',
      'handling_time:numeric',
      '_window_start:timestamp with time zone',
      '_window_end:timestamp with time zone',
      '_intercom_job_id:text',
      '_loaded_at:timestamp with time zone',
    ]);
  });

  it('keeps quoted commas, quotes, newlines and unicode exactly; empty fields are NULL, quoted empty is empty', async () => {
    const note = 'He said "hi", then\nleft 🙂 — ünïcødé\r\nline3';
    const text = `${HEADER}1,2026-03-01 00:00:00,"${note.replace(/"/g, '""')}",3,94.5\n2,2026-03-01 12:30:00,,,\n3,2026-03-01 23:59:59,"",0,0\n`;
    const r = await load(text, undefined, 7);
    expect(r.rows).toBe(3);
    const rows = await env.query<{
      item_id: string;
      created_at: Date;
      note: string | null;
      reply_count: number | null;
      handling_time: string | null;
    }>('SELECT item_id, created_at, note, reply_count, handling_time FROM report_sample ORDER BY item_id');
    expect(rows[0]).toEqual({ item_id: '1', created_at: new Date('2026-03-01T00:00:00Z'), note, reply_count: 3, handling_time: '94.5' });
    expect(rows[1]).toMatchObject({ item_id: '2', note: null, reply_count: null, handling_time: null });
    expect(rows[2]).toMatchObject({ item_id: '3', note: '', reply_count: 0, created_at: new Date('2026-03-01T23:59:59Z') });
  });

  it('accepts CRLF line ends and keeps duplicate rows (report rows have no key)', async () => {
    const text = HEADER.replace('\n', '\r\n') + '7,2026-03-01 01:00:00,a,1,1\r\n7,2026-03-01 01:00:00,a,1,1\r\n';
    expect((await load(text)).rows).toBe(2);
    const meta = await env.query<{ n: string; w: Date; j: string }>(
      'SELECT count(*) AS n, min(_window_start) AS w, min(_intercom_job_id) AS j FROM report_sample',
    );
    expect(meta[0]).toEqual({ n: '2', w: new Date(D1), j: 'job-test' });
  });

  it('fails on a header that does not match the requested attributes and loads nothing', async () => {
    await load(`${HEADER}1,2026-03-01 00:00:00,keep,1,1\n`);
    const bad = 'item_id,created_at,notes,reply_count,handling_time\n2,2026-03-01 02:00:00,x,1,1\n';
    const err = await load(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FatalError);
    expect((err as Error).message).toMatch(/column 3 is "notes", expected "note"/);
    const rows = await env.query<{ note: string }>('SELECT note FROM report_sample');
    expect(rows).toEqual([{ note: 'keep' }]); // the earlier load is untouched, nothing new
  });

  it('rolls back the whole window when the stream breaks half way', async () => {
    await load(`${HEADER}1,2026-03-01 00:00:00,old,1,1\n`);
    const broken = async () =>
      Readable.from(
        (async function* () {
          yield Buffer.from(`${HEADER}2,2026-03-01 02:00:00,new,1,1\n`);
          throw new Error('connection reset');
        })(),
      );
    await expect(load(broken)).rejects.toThrow(/connection reset/);
    expect(await env.query('SELECT note FROM report_sample')).toEqual([{ note: 'old' }]);
  });

  it('widens a column to text when a value does not fit its guessed type, losing no row', async () => {
    const text = `${HEADER}1,2026-03-01 00:00:00,a,3,fast\n2,2026-03-01 00:00:01,b,4,12\n`;
    const r = await load(text);
    expect(r).toEqual({ rows: 2, widened: ['handling_time'] });
    expect(await env.query('SELECT handling_time FROM report_sample ORDER BY item_id')).toEqual([
      { handling_time: 'fast' },
      { handling_time: '12' },
    ]);
    const attr = await env.query<{ column_type: string }>(`SELECT column_type FROM etl_attributes WHERE column_name = 'handling_time'`);
    expect(attr[0]!.column_type).toBe('text');
  });

  it('replaces exactly the rows of the window, whatever windows loaded them before', async () => {
    const rowsFor = (day: number, tag: string) =>
      [0, 1].map((i) => `${day}${i},2026-03-0${day} ${i === 0 ? '00:00:00' : '23:59:59'},${tag},1,1`).join('\n');
    // Load days 1..3 with one 3-day window.
    await load(`${HEADER}${rowsFor(1, 'v1')}\n${rowsFor(2, 'v1')}\n${rowsFor(3, 'v1')}\n`, { start: D1, end: D1 + 3 * DAY });
    // Re-load day 2 alone with new data.
    await load(`${HEADER}${rowsFor(2, 'v2')}\n`, { start: D1 + DAY, end: D1 + 2 * DAY });
    const rows = await env.query<{ item_id: string; note: string }>('SELECT item_id, note FROM report_sample ORDER BY item_id');
    expect(rows).toEqual([
      { item_id: '10', note: 'v1' },
      { item_id: '11', note: 'v1' },
      { item_id: '20', note: 'v2' },
      { item_id: '21', note: 'v2' },
      { item_id: '30', note: 'v1' },
      { item_id: '31', note: 'v1' },
    ]);
    // An empty export (no_data) of day 3 empties day 3 only.
    await load(null, { start: D1 + 2 * DAY, end: D1 + 3 * DAY });
    expect((await env.query('SELECT item_id FROM report_sample')).length).toBe(4);
  });

  it('commits the ledger update with the rows, in the same transaction', async () => {
    const key = { datasetId: 'sample', window: { start: D1, end: D1 + DAY } };
    await planWindows(env.ctx.pool, 'sample', [key.window], ['item_id'], 'h', false);
    await load(`${HEADER}1,2026-03-01 00:00:00,a,1,1\n`, key.window, 0, {
      onLoaded: (client, rows, zone) =>
        recordLoaded(client, key, { rows, bytes: 10, loadMs: 5, timestampZone: zone, timestampCheck: 'fits', timestampFlag: null }),
    });
    const row = await getWindow(env.ctx.pool, key);
    expect(row).toMatchObject({ status: 'loaded', rowsLoaded: 1, bytesDownloaded: 10 });
  });

  it('reads timestamps in the configured zone', async () => {
    await load(`${HEADER}1,2026-03-01 00:00:00,a,1,1\n`, undefined, 0, { timestampTimezone: 'America/New_York' });
    const rows = await env.query<{ created_at: Date }>('SELECT created_at FROM report_sample');
    expect(rows[0]!.created_at.toISOString()).toBe('2026-03-01T05:00:00.000Z');
  });
});

import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { beforeEach, describe, expect, it } from 'vitest';
import { FatalError, NotReadyError, RetriableError } from '../src/errors.js';
import type { DownloadOverride } from '../src/fake-intercom/index.js';
import { advanceExportWindow } from '../src/pipeline/advance-export.js';
import { getWindow, type WindowKey } from '../src/pipeline/export-ledger.js';
import { planReportExports } from '../src/pipeline/plan-exports.js';
import { columnsInHeaderOrder } from '../src/sinks/header-order.js';
import type { ReportColumn } from '../src/sinks/report-catalogue.js';
import { useTestEnv, type TestEnv } from './helpers/test-env.js';

/**
 * The sink conformance suite: bodies a download can have, served over real HTTP by the fake and
 * taken through the product's load path (poll → download → decode → header check → COPY → ledger).
 * Each case either loads exactly (the table holds exactly its rows) or fails the window with an
 * error naming the cause and leaves the window's previous rows untouched.
 */

const DAY = 86_400_000;
const TODAY = Math.floor(Date.now() / DAY) * DAY;
const W = { start: TODAY - 3 * DAY, end: TODAY - 2 * DAY };
const DATASET = 'admin_status_change';
const KEY: WindowKey = { datasetId: DATASET, window: W };
const day = new Date(W.start).toISOString().slice(0, 10);

const COLUMNS = [
  'teammate_status_id',
  'teammate_status_period_started_at',
  'teammate_status_period_ended_at',
  'teammate_id',
  'teammate_raw_id',
  'teammate_status',
  'teammate_away_reason',
  'time_on_status',
];
const HEADER = COLUMNS.join(',');
type Row = string[];

/** Rows as a table returns them: text, timestamps in UTC, NULL as null. */
const row = (id: string, time: string, status: string, reason: string | null, seconds: string | null): Row =>
  [id, `${day} ${time}`, `${day} 23:00:00`, 'Ann', '7', status, reason, seconds] as Row;
const A = row('1', '00:00:00', 'Active', null, '60');
const B = row('2', '12:30:00', 'Away', 'Lunch, then "coffee"', '1800.5');
const PREVIOUS = [row('90', '01:00:00', 'Away', 'Old', '1'), row('91', '02:00:00', 'Active', null, '2')];

/** CSV lines of rows (NULL → empty field; quoted when needed). */
function lines(rows: Row[], eol = '\n'): string {
  const field = (v: string | null) => (v === null ? '' : /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  return rows.map((r) => r.map(field).join(',') + eol).join('');
}

function csv(rows: Row[], eol = '\n', header = HEADER): string {
  return header + eol + lines(rows, eol);
}

/** A text body with `bytes` spliced in as the 7th field of the second data row (line 3). */
function withRawField(bytes: Buffer): Buffer {
  const text = csv([A, row('2', '12:30:00', 'Away', '@@', '5')]);
  const [before, after] = text.split('@@') as [string, string];
  return Buffer.concat([Buffer.from(before), bytes, Buffer.from(after)]);
}

const BIG = 'x'.repeat(50 * 1024 * 1024);
const gzip = gzipSync(Buffer.from(csv([A, B])));
const corruptGzip = Buffer.from(gzip);
corruptGzip[10] = 0xff; // the first deflate block header: BTYPE 11 is invalid

type Expected = { rows: Row[]; widened?: string[] } | { error: RegExp; kind: typeof FatalError | typeof RetriableError };

interface Case {
  name: string;
  body: string | DownloadOverride;
  expected: Expected;
  /** Downloads served this body (a widened column reloads from a fresh download). */
  downloads?: number;
}

const cases: Case[] = [
  { name: 'plain CSV', body: csv([A, B]), expected: { rows: [A, B] } },
  { name: 'gzip', body: { body: csv([A, B]), encoding: 'gzip' }, expected: { rows: [A, B] } },
  { name: 'gzip as HTTP Content-Encoding', body: { body: csv([A, B]), encoding: 'gzip-content-encoding' }, expected: { rows: [A, B] } },
  { name: 'zip', body: { body: csv([A, B]), encoding: 'zip' }, expected: { rows: [A, B] } },
  { name: 'UTF-8 BOM', body: `\uFEFF${csv([A, B])}`, expected: { rows: [A, B] } },
  { name: 'CRLF line ends', body: csv([A, B], '\r\n'), expected: { rows: [A, B] } },
  {
    name: 'quoted newlines, quotes, commas and unicode',
    body: csv([A, row('2', '12:30:00', 'Away', 'line 1\nline 2\r\n"3", ünï 🙂', '5')]),
    expected: { rows: [A, row('2', '12:30:00', 'Away', 'line 1\nline 2\r\n"3", ünï 🙂', '5')] },
  },
  { name: 'header only: a complete export with no rows', body: `${HEADER}\n`, expected: { rows: [] } },
  {
    name: 'a value that does not fit the guessed type (widened to text)',
    body: csv([A, row('2', '12:30:00', 'Away', null, 'n/a')]),
    expected: { rows: [A, row('2', '12:30:00', 'Away', null, 'n/a')], widened: ['time_on_status'] },
    downloads: 2,
  },
  {
    name: 'a 50 MB field',
    body: csv([A, row('2', '12:30:00', 'Away', BIG, '5')]),
    expected: { rows: [A, row('2', '12:30:00', 'Away', BIG, '5')] },
  },
  {
    name: 'empty body although the export is complete',
    body: '',
    expected: {
      kind: RetriableError,
      error: /download of Intercom export \S+ for dataset admin_status_change is empty \(not even a header line\)/,
    },
  },
  {
    name: 'empty zip entry',
    body: { body: '', encoding: 'zip' },
    expected: { kind: RetriableError, error: /is empty \(not even a header line\)/ },
  },
  {
    name: 'empty gzip body',
    body: { body: '', encoding: 'gzip' },
    expected: { kind: RetriableError, error: /is empty \(not even a header line\)/ },
  },
  {
    name: 'truncated gzip',
    body: { body: gzip.subarray(0, gzip.length - 20), encoding: 'as-is' },
    expected: { kind: RetriableError, error: /export download is not valid gzip: unexpected end of file/ },
  },
  {
    name: 'corrupt gzip',
    body: { body: corruptGzip, encoding: 'as-is' },
    expected: { kind: RetriableError, error: /export download is not valid gzip/ },
  },
  {
    name: 'connection reset mid-download',
    body: { body: csv([A, B, A, B]), encoding: 'plain', resetAfterBytes: HEADER.length + 30 },
    expected: { kind: RetriableError, error: /Intercom GET \/download\/reporting_data\/\S+ failed: network error/ },
  },
  {
    name: 'header with an extra column',
    body: csv([A.concat('x')], '\n', `${HEADER},surprise`),
    expected: { kind: FatalError, error: /does not match the requested attributes.*Expected 8 columns, got 9; column 9 is "surprise"/ },
  },
  {
    name: 'header with a missing column',
    body: csv([A.slice(0, 7)], '\n', COLUMNS.slice(0, 7).join(',')),
    expected: { kind: FatalError, error: /does not match the requested attributes.*Expected 8 columns, got 7; column 8 is "\(missing\)"/ },
  },
  {
    name: 'header with reordered columns (loaded by name)',
    body: csv(
      [[A[1], A[0], ...A.slice(2)] as Row, [B[1], B[0], ...B.slice(2)] as Row],
      '\n',
      [COLUMNS[1], COLUMNS[0], ...COLUMNS.slice(2)].join(','),
    ),
    expected: { rows: [A, B] },
  },
  {
    name: 'header with a column renamed',
    body: csv([A], '\n', HEADER.replace('teammate_status,', 'teammate_state,')),
    expected: { kind: FatalError, error: /column 6 is "teammate_state", expected "teammate_status"/ },
  },
  {
    name: 'ragged row: a field too many',
    body: csv([A]) + lines([B.concat('x')]),
    expected: { kind: FatalError, error: /at line 3: extra data after last expected column \(SQLSTATE 22P04\)\. The CSV is malformed/ },
  },
  {
    name: 'ragged row: a field too few',
    body: csv([A]) + lines([B.slice(0, 7)]),
    expected: { kind: FatalError, error: /at line 3: missing data for column "time_on_status" \(SQLSTATE 22P04\)/ },
  },
  {
    name: 'unterminated quoted field',
    body: `${csv([A])}2,${day} 12:30:00,${day} 23:00:00,Ann,7,Away,"no end,5\n`,
    expected: { kind: FatalError, error: /at line 4: unterminated CSV quoted field/ },
  },
  {
    name: 'mixed line ends',
    body: `${HEADER}\r\n${lines([A, B])}`,
    expected: { kind: FatalError, error: /at line 2: unquoted newline found in data/ },
  },
  {
    name: 'invalid UTF-8',
    body: { body: withRawField(Buffer.from([0x4f, 0xff, 0xfe])), encoding: 'plain' },
    expected: {
      kind: FatalError,
      error: /at line 3: invalid byte sequence for encoding "UTF8": 0xff.*not valid UTF-8/,
    },
  },
  {
    name: 'NUL byte',
    body: { body: withRawField(Buffer.from('a\0b')), encoding: 'gzip' },
    expected: { kind: FatalError, error: /at line 3: invalid byte sequence for encoding "UTF8": 0x00.*or contains a NUL byte/ },
  },
];

const getEnv = useTestEnv({ env: { ETL_START_DATE: new Date(W.start).toISOString().slice(0, 10) } });
let env: TestEnv;

beforeEach(async () => {
  env = getEnv();
  env.fake.setExportLatency(0);
  env.fake.setEncoding('plain');
  // The window's previous rows: what every failing case must leave in place.
  env.fake.overrideNextDownload(DATASET, csv(PREVIOUS));
  expect(await exportWindow()).toEqual({ outcome: 'loaded', rows: 2 });
  expect(await tableRows()).toEqual(PREVIOUS);
});

/** (Re-)plans the window and drives it through the pipeline until it loads or fails; returns the outcome or the error. */
async function exportWindow(): Promise<unknown> {
  await planReportExports(env.ctx, { mode: 'backfill', range: W, datasetIds: [DATASET], windowMs: DAY });
  for (let i = 0; i < 100; i++) {
    try {
      return await advanceExportWindow(env.ctx, KEY);
    } catch (err) {
      if (!(err instanceof NotReadyError)) return err;
      await new Promise((r) => setTimeout(r, Math.min(err.pollAfterMs, 50)));
    }
  }
  throw new Error('the window neither loaded nor failed');
}

/** The table's rows as text, in id order; a field longer than 1 kB as its length and md5 (a 50 MB field). */
async function tableRows(): Promise<Row[]> {
  const cols = COLUMNS.map((c) =>
    c.endsWith('_at')
      ? `to_char(${c} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')`
      : `CASE WHEN length(${c}::text) > 1024 THEN 'len ' || length(${c}::text) || ' md5 ' || md5(${c}::text) ELSE ${c}::text END`,
  );
  const rows = await env.query<Record<string, string | null>>(
    `SELECT ${cols.map((c, i) => `${c} AS c${i}`).join(', ')} FROM report_admin_status_change ORDER BY teammate_status_id::numeric`,
  );
  return rows.map((r) => COLUMNS.map((_, i) => r[`c${i}`] ?? null) as Row);
}

/** Expected rows the way tableRows() shows them. */
function shown(rows: Row[]): Row[] {
  return rows.map((r) =>
    r.map((v) => (v !== null && v.length > 1024 ? `len ${v.length} md5 ${createHash('md5').update(v).digest('hex')}` : v)),
  );
}

describe('sink conformance: what a download can hold, through the real load path', () => {
  it.each(cases)('$name', async ({ body, expected, downloads = 1 }) => {
    for (let i = 0; i < downloads; i++) env.fake.overrideNextDownload(DATASET, body);
    const outcome = await exportWindow();
    const ledger = await getWindow(env.ctx.pool, KEY);
    if ('rows' in expected) {
      expect(outcome).toEqual({ outcome: 'loaded', rows: expected.rows.length });
      expect(await tableRows()).toEqual(shown(expected.rows));
      expect(ledger).toMatchObject({ status: 'loaded', rowsLoaded: expected.rows.length });
      const widened = await env.query<{ column_name: string }>(
        `SELECT column_name FROM etl_attributes WHERE dataset_id = $1 AND widened_at IS NOT NULL ORDER BY column_name`,
        [DATASET],
      );
      expect(widened.map((w) => w.column_name)).toEqual(expected.widened ?? []);
    } else {
      expect(outcome).toBeInstanceOf(expected.kind);
      if (expected.kind === RetriableError) expect(outcome).not.toBeInstanceOf(FatalError);
      expect((outcome as Error).message).toMatch(expected.error);
      // Nothing partial: the window keeps exactly its previous rows, and the ledger does not call it loaded.
      expect(await tableRows()).toEqual(PREVIOUS);
      expect(ledger!.status).not.toBe('loaded');
    }
  });
});

describe('header order', () => {
  const column = (attributeId: string, qualifiedId: string | null): ReportColumn => ({
    columnName: attributeId.toLowerCase() + (qualifiedId ?? ''),
    loadColumn: attributeId.toLowerCase() + (qualifiedId ?? ''),
    widened: false,
    attributeId,
    qualifiedId,
    name: attributeId,
    columnType: 'text',
    current: true,
  });
  const cols = [column('id', null), column('Brand', 'conversation.Brand'), column('Brand', 'people.Brand'), column('at', 'timestamp.at')];

  it('keeps the requested order, matches a reordered header by name, and refuses to guess between equal plain ids', () => {
    expect(columnsInHeaderOrder(['id', 'Brand', 'Brand', 'at'], cols)).toEqual(cols);
    expect(columnsInHeaderOrder(['id', 'Brand', 'Brand', 'timestamp.at'], cols)).toEqual(cols);
    expect(columnsInHeaderOrder(['at', 'Brand', 'Brand', 'id'], cols)).toBeNull(); // which Brand is which?
    expect(columnsInHeaderOrder(['at', 'id'], [cols[0]!, cols[3]!])).toEqual([cols[3], cols[0]]);
    expect(columnsInHeaderOrder(['at', 'at'], [cols[0]!, cols[3]!])).toBeNull();
    expect(columnsInHeaderOrder(['id'], [cols[0]!, cols[3]!])).toBeNull();
  });
});

import { crc32, gunzipSync, inflateRawSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeIntercom } from '../src/fake-intercom/index.js';
import { download, exportJob, fakeStarter, rawRequest, utc, type EnqueueBody } from './fixtures/fake-intercom-http.js';

const NOW = Date.UTC(2026, 5, 1, 12);
const D = utc(2026, 5, 28); // a UTC midnight
const DAY_S = 86_400;

// Plain CSV unless a test says otherwise: easiest to read in a failure message.
const fakes = fakeStarter(NOW, { export: { encoding: 'plain' } });
const start = fakes.start;
const defaultFakes = fakeStarter(NOW);
afterEach(async () => {
  await Promise.all([fakes.closeAll(), defaultFakes.closeAll()]);
});

/** Export and download; returns the raw response. */
async function exportAndDownload(fake: FakeIntercom, clock: { advance(ms: number): void }, body: EnqueueBody, version?: string) {
  const jobId = await exportJob(fake, clock, body, version === undefined ? {} : { version });
  const res = await download(fake, jobId, version === undefined ? {} : { version });
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toBe('application/octet-stream');
  return res;
}

function parseCsv(text: string): string[][] {
  return parse(text, { bom: true, relax_column_count: false }) as string[][];
}

/** expectedRows() objects as CSV cells (null → ''), in the order of `header`. */
function asCells(rows: Array<Record<string, string | null>>, header: string[]): string[][] {
  return rows.map((row) => header.map((id) => row[id] ?? ''));
}

const CONVERSATION_ATTRS = [
  'standard.conversation_id',
  'timestamp.conversation_started_at',
  'channel',
  'team.currently_assigned_team_id',
  'currently_assigned_team_raw_id',
  'reply_participant_teammate_ids',
  'duration.first_response_time_excluding_bot_inbox',
  'conversation_tag_ids',
  'teammate_replies_count',
  'last_teammate_rating_remark',
  'fin_ai_agent_participated',
  'language',
  'Csat Overall Experience',
  'timestamp.conversation_first_closed_at',
];
const WEEK = { start_time: D - 6 * DAY_S, end_time: D + DAY_S - 1 };

describe('fake Intercom download: CSV content', () => {
  it('writes a header of plain ids in requested order and rows that round-trip through a CSV parser', async () => {
    const { fake, clock } = await start();
    const res = await exportAndDownload(fake, clock, { dataset_id: 'conversation', attribute_ids: CONVERSATION_ATTRS, ...WEEK });
    const [header, ...rows] = parseCsv(res.text);
    const plainIds = CONVERSATION_ATTRS.map((id) => id.slice(id.indexOf('.') + 1));
    expect(header).toEqual(plainIds);
    const expected = fake.expectedRows('conversation', WEEK.start_time, WEEK.end_time, { attributeIds: CONVERSATION_ATTRS });
    expect(rows).toEqual(asCells(expected, plainIds));
    expect(rows.length).toBeGreaterThan(100);
    // The tricky cases really occur, quoted the RFC-4180 way, with \n line ends.
    expect(res.text).toContain('"VIP ""Gold"" Customers"');
    expect(res.text).toContain('"Line one\nLine two"');
    expect(res.text).toContain('"Tier 2, Escalations"');
    expect(res.text).toMatch(/🇫🇷|💎|😊/u);
    expect(res.text.endsWith('\n')).toBe(true);
    expect(res.text.split('\n')[0]).not.toContain('\r');
  });

  it('formats timestamps, durations, counts, booleans, name-valued ids and their raw ids as observed', async () => {
    const { fake, clock } = await start();
    const res = await exportAndDownload(fake, clock, { dataset_id: 'conversation', attribute_ids: CONVERSATION_ATTRS, ...WEEK });
    const [header, ...rows] = parseCsv(res.text);
    const col = (id: string) => rows.map((r) => r[header!.indexOf(id)]!);
    expect(col('conversation_started_at').every((v) => /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(v))).toBe(true);
    expect(col('teammate_replies_count').every((v) => /^\d+$/.test(v))).toBe(true);
    expect(new Set(col('fin_ai_agent_participated'))).toEqual(new Set(['true', 'false']));
    const durations = col('first_response_time_excluding_bot_inbox').filter((v) => v !== '');
    expect(durations.every((v) => /^\d+(\.\d+)?$/.test(v))).toBe(true);
    expect(durations.some((v) => v.includes('.'))).toBe(true);
    expect(col('first_response_time_excluding_bot_inbox')).toContain(''); // nulls are empty fields
    const teams = col('currently_assigned_team_id');
    const rawIds = col('currently_assigned_team_raw_id');
    teams.forEach((team, i) => {
      if (team === 'Unassigned') expect(rawIds[i]).toBe('');
      else expect(rawIds[i]).toMatch(/^\d+$/);
    });
    expect(teams).toContain('Unassigned');
    expect(col('conversation_tag_ids').some((v) => v.includes(', '))).toBe(true); // multi-valued in one field
    // A listed value containing the separator is quoted inside the field, so it stays one value.
    expect(col('reply_participant_teammate_ids').some((v) => v.includes('"O\'Brien, Pat"'))).toBe(true);
    const closed = col('conversation_first_closed_at');
    closed.forEach((v, i) => {
      if (v !== '') expect(v > col('conversation_started_at')[i]!).toBe(true);
    });
  });

  it('writes duplicate columns for an ambiguous id requested both ways; a plain ambiguous id means the first', async () => {
    const { fake, clock } = await start();
    const ids = ['conversation_id', 'Brand', 'people.Brand', 'conversation.Brand'];
    const res = await exportAndDownload(fake, clock, {
      dataset_id: 'conversation',
      attribute_ids: ids,
      start_time: D,
      end_time: D + DAY_S - 1,
    });
    const [header, ...rows] = parseCsv(res.text);
    expect(header).toEqual(['conversation_id', 'Brand', 'Brand', 'Brand']);
    expect(rows.every((r) => r[1] === r[3])).toBe(true);
    expect(rows.some((r) => r[1] !== r[2])).toBe(true);
    const people = new Set(rows.map((r) => r[2]).filter((v) => v !== ''));
    expect([...people].every((v) => ['Initech', 'Umbrella', 'Hooli'].includes(v!))).toBe(true);
  });

  it('selects rows by the default time attribute: start inclusive, end inclusive by default', async () => {
    const { fake, clock } = await start({ export: { rowsPerDay: 24 } });
    const body = { dataset_id: 'tickets', attribute_ids: ['ticket_id', 'ticket_created_at'], start_time: D, end_time: D + DAY_S };
    const [, ...rows] = parseCsv((await exportAndDownload(fake, clock, body)).text);
    expect(rows).toHaveLength(25);
    expect(rows[0]![1]).toBe('2026-05-28 00:00:00');
    expect(rows[23]![1]).toBe('2026-05-28 23:59:59');
    expect(rows[24]![1]).toBe('2026-05-29 00:00:00');
    expect(fake.expectedRows('tickets', D, D + DAY_S)).toHaveLength(25);
  });

  it('excludes rows at end_time when endInclusive is false', async () => {
    const { fake, clock } = await start({ export: { endInclusive: false } });
    const body = { dataset_id: 'tickets', attribute_ids: ['ticket_created_at'], start_time: D, end_time: D + DAY_S };
    const [, ...rows] = parseCsv((await exportAndDownload(fake, clock, body)).text);
    expect(rows).toHaveLength(24);
    expect(rows.at(-1)).toEqual(['2026-05-28 23:59:59']);
    expect(fake.expectedRows('tickets', D, D + DAY_S)).toHaveLength(24);
  });

  it('hides conversations without a user reply before API 2.16 only', async () => {
    const { fake, clock } = await start();
    const body = { dataset_id: 'conversation', attribute_ids: ['conversation_id'], ...WEEK };
    const old = parseCsv((await exportAndDownload(fake, clock, body, '2.14')).text)
      .slice(1)
      .map((r) => r[0]);
    const recent = parseCsv((await exportAndDownload(fake, clock, body, '2.16')).text)
      .slice(1)
      .map((r) => r[0]);
    expect(recent).toHaveLength(7 * 24);
    expect(old.length).toBeLessThan(recent.length);
    expect(recent).toEqual(expect.arrayContaining(old));
    expect(fake.expectedRows('conversation', WEEK.start_time, WEEK.end_time, { apiVersion: 'Preview' })).toHaveLength(7 * 24);
    expect(fake.expectedRows('conversation', WEEK.start_time, WEEK.end_time)).toHaveLength(old.length); // default 2.14
  });
});

describe('fake Intercom download: encodings', () => {
  const body = {
    dataset_id: 'admin_status_change',
    attribute_ids: ['teammate_status_id', 'teammate_away_reason'],
    start_time: D,
    end_time: D + DAY_S - 1,
  };

  it('gzips the body by default without Content-Encoding', async () => {
    const { fake, clock } = await defaultFakes.start();
    const res = await exportAndDownload(fake, clock, body);
    expect([...res.body.subarray(0, 2)]).toEqual([0x1f, 0x8b]);
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(gunzipSync(res.body).toString('utf8').startsWith('teammate_status_id,teammate_away_reason\n')).toBe(true);
  });

  it('serves plain CSV, gzip with Content-Encoding, and an optional BOM', async () => {
    const { fake, clock } = await start();
    const plain = await exportAndDownload(fake, clock, body);
    expect(plain.text.startsWith('teammate_status_id,')).toBe(true);

    fake.setEncoding('gzip-content-encoding');
    const encoded = await exportAndDownload(fake, clock, body);
    expect(encoded.headers['content-encoding']).toBe('gzip');
    expect([...encoded.body.subarray(0, 2)]).toEqual([0x1f, 0x8b]);
    expect(gunzipSync(encoded.body).equals(plain.body)).toBe(true);

    fake.setEncoding('plain');
    fake.setBom(true);
    const withBom = await exportAndDownload(fake, clock, body);
    expect([...withBom.body.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(withBom.body.subarray(3).equals(plain.body)).toBe(true);
  });

  it('serves a valid single-entry zip with correct CRC and central directory', async () => {
    const { fake, clock } = await start();
    const plain = await exportAndDownload(fake, clock, body);
    fake.setEncoding('zip');
    const zip = (await exportAndDownload(fake, clock, body)).body;
    expect(zip.readUInt32LE(0)).toBe(0x04034b50); // PK\x03\x04
    expect(zip.readUInt16LE(8)).toBe(8); // deflate
    const crc = zip.readUInt32LE(14);
    const compressedSize = zip.readUInt32LE(18);
    const size = zip.readUInt32LE(22);
    const nameLength = zip.readUInt16LE(26);
    const name = zip.subarray(30, 30 + nameLength).toString('utf8');
    expect(name).toMatch(/^admin_status_change_[a-z0-9]+\.csv$/);
    const dataStart = 30 + nameLength + zip.readUInt16LE(28);
    const content = inflateRawSync(zip.subarray(dataStart, dataStart + compressedSize));
    expect(content.equals(plain.body)).toBe(true);
    expect(size).toBe(content.length);
    expect(crc).toBe(crc32(content));
    const eocd = zip.length - 22;
    expect(zip.readUInt32LE(eocd)).toBe(0x06054b50);
    expect(zip.readUInt16LE(eocd + 10)).toBe(1);
    const centralOffset = zip.readUInt32LE(eocd + 16);
    expect(zip.readUInt32LE(centralOffset)).toBe(0x02014b50);
    expect(zip.readUInt32LE(centralOffset + 16)).toBe(crc);
    expect(centralOffset + zip.readUInt32LE(eocd + 12)).toBe(eocd);
  });
});

describe('fake Intercom download: determinism and data control', () => {
  const tickets = {
    dataset_id: 'tickets',
    attribute_ids: ['ticket_id', 'ticket_created_at', 'ticket_title', 'current_ticket_state_category'],
  };

  it('produces identical bytes for the same seed and different data for another seed', async () => {
    const a = await start({ seed: 7, export: { encoding: 'gzip' } });
    const b = await start({ seed: 7, export: { encoding: 'gzip' } });
    const c = await start({ seed: 8, export: { encoding: 'gzip' } });
    const body = { dataset_id: 'conversation', attribute_ids: CONVERSATION_ATTRS, ...WEEK };
    const bytesA = (await exportAndDownload(a.fake, a.clock, body)).body;
    const bytesB = (await exportAndDownload(b.fake, b.clock, body)).body;
    const bytesC = (await exportAndDownload(c.fake, c.clock, body)).body;
    expect(bytesA.equals(bytesB)).toBe(true);
    expect(bytesA.equals(bytesC)).toBe(false);
  });

  it('shows a row identically in a 1-day and a 7-day export', async () => {
    const { fake, clock } = await start();
    const week = parseCsv((await exportAndDownload(fake, clock, { ...tickets, ...WEEK })).text).slice(1);
    const day = parseCsv(
      (await exportAndDownload(fake, clock, { ...tickets, start_time: D - 2 * DAY_S, end_time: D - DAY_S - 1 })).text,
    ).slice(1);
    expect(day).toHaveLength(24);
    expect(week).toHaveLength(7 * 24);
    expect(week.slice(4 * 24, 5 * 24)).toEqual(day);
  });

  it('changes data deterministically per revision: values change, rows vanish and appear, boundaries stay', async () => {
    const { fake } = await start();
    const ids = (rows: Array<Record<string, string | null>>) => rows.map((r) => r.ticket_id!);
    const rev0 = fake.expectedRows('tickets', WEEK.start_time, WEEK.end_time);
    fake.setDataRevision(1);
    const rev1 = fake.expectedRows('tickets', WEEK.start_time, WEEK.end_time);
    expect(fake.expectedRows('tickets', WEEK.start_time, WEEK.end_time)).toEqual(rev1);
    const vanished = ids(rev0).filter((id) => !ids(rev1).includes(id));
    const appeared = ids(rev1).filter((id) => !ids(rev0).includes(id));
    expect(vanished.length).toBeGreaterThan(0);
    expect(appeared.length).toBeGreaterThan(0);
    const byId = new Map(rev0.map((r) => [r.ticket_id, r]));
    const kept = rev1.filter((r) => byId.has(r.ticket_id));
    const changed = kept.filter((r) => JSON.stringify(r) !== JSON.stringify(byId.get(r.ticket_id)));
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.length).toBeLessThan(kept.length);
    expect(kept.every((r) => r.ticket_created_at === byId.get(r.ticket_id)!.ticket_created_at)).toBe(true);
    const times = rev1.map((r) => r.ticket_created_at);
    expect(times).toContain('2026-05-28 00:00:00');
    expect(times).toContain('2026-05-28 23:59:59');
    expect([...times].sort()).toEqual(times);
    fake.setDataRevision(0);
    expect(fake.expectedRows('tickets', WEEK.start_time, WEEK.end_time)).toEqual(rev0);
  });

  it('snapshots the data at enqueue: a revision set later does not change the file', async () => {
    const { fake, clock } = await start();
    const before = fake.expectedRows('tickets', WEEK.start_time, WEEK.end_time, { attributeIds: tickets.attribute_ids });
    const jobId = await exportJob(fake, clock, { ...tickets, ...WEEK });
    fake.setDataRevision(3);
    const rows = parseCsv((await download(fake, jobId)).text);
    expect(rows.slice(1)).toEqual(asCells(before, rows[0]!));
  });

  it('serves setRows rows filtered by the default time attribute, with empty fields for missing/null', async () => {
    const { fake, clock } = await start();
    fake.setRows('conversation', [
      { conversation_id: 1, conversation_started_at: '2026-05-28 00:00:00', channel: 'Chat', Brand: 'Both', 'people.Brand': 'People' },
      { conversation_id: 2, conversation_started_at: '2026-05-28 12:00:00', channel: null, last_teammate_rating_remark: 'Says "hi",\nbye' },
      { conversation_id: 3, conversation_started_at: '2026-05-29 00:00:00', channel: 'Email' },
      { conversation_id: 4, channel: 'no time: never exported' },
    ]);
    const body = {
      dataset_id: 'conversation',
      attribute_ids: ['conversation_id', 'channel', 'conversation.Brand', 'people.Brand', 'last_teammate_rating_remark'],
      start_time: D,
      end_time: D + DAY_S - 1,
    };
    const rows = parseCsv((await exportAndDownload(fake, clock, body)).text);
    expect(rows).toEqual([
      ['conversation_id', 'channel', 'Brand', 'Brand', 'last_teammate_rating_remark'],
      ['1', 'Chat', 'Both', 'People', ''],
      ['2', '', '', '', 'Says "hi",\nbye'],
    ]);
    expect(fake.expectedRows('conversation', D, D + DAY_S).map((r) => r.conversation_id)).toEqual(['1', '2', '3']);
  });

  it('serves an overridden CSV verbatim for the next download of that dataset only', async () => {
    const { fake, clock } = await start();
    const body = { ...tickets, start_time: D, end_time: D + DAY_S - 1 };
    const job1 = await exportJob(fake, clock, body);
    const job2 = await exportJob(fake, clock, body);
    fake.overrideNextDownload('tickets', 'unexpected_column,ticket_id\nx,1\n');
    expect((await download(fake, job1)).text).toBe('unexpected_column,ticket_id\nx,1\n');
    expect((await download(fake, job2)).text.startsWith('ticket_id,ticket_created_at,')).toBe(true);
  });

  it('adds attributes to the catalogue and exports them', async () => {
    const { fake, clock } = await start();
    fake.addAttribute('conversation', { id: 'Escalation Reason', name: 'Escalation Reason' });
    const datasets = await rawRequest(fake, '/export/reporting_data/get_datasets', { version: '2.16' });
    const attrs = datasets.json.data.find((d: any) => d.id === 'conversation').attributes;
    expect(attrs.at(-1)).toEqual({ id: 'Escalation Reason', name: 'Escalation Reason', qualified_id: 'conversation.Escalation Reason' });
    const body = { dataset_id: 'conversation', attribute_ids: ['conversation_id', 'conversation.Escalation Reason'], ...WEEK };
    const [header, ...rows] = parseCsv((await exportAndDownload(fake, clock, body)).text);
    expect(header).toEqual(['conversation_id', 'Escalation Reason']);
    expect(rows.some((r) => r[1] !== '')).toBe(true);
    expect(() => fake.addAttribute('conversation', { id: 'Escalation Reason', name: 'again' })).toThrow();
    expect(() => fake.setRows('imaginary', [])).toThrow(/unknown dataset/);
  });

  it('streams large exports with chunked transfer encoding', async () => {
    const { fake, clock } = await start({ export: { rowsPerDay: 50_000 } });
    const body = {
      dataset_id: 'call_team_stats',
      attribute_ids: ['call_id', 'call_initiated_at', 'call_state', 'call_talk_time'],
      start_time: D,
      end_time: D + DAY_S - 1,
    };
    const res = await exportAndDownload(fake, clock, body);
    expect(res.headers['transfer-encoding']).toBe('chunked');
    const lines = res.text.split('\n');
    expect(lines).toHaveLength(50_000 + 2); // header, rows, and the empty string after the last \n
    expect(lines[1]).toMatch(/^\d+,2026-05-28 00:00:00,/);
    expect(lines[50_000]).toMatch(/^\d+,2026-05-28 23:59:59,/);
  });
});

describe('fake Intercom download: timestamp text', () => {
  it('formats any second as YYYY-MM-DD HH:MM:SS UTC', async () => {
    const { formatTimestamp, parseTimestamp } = await import('../src/fake-intercom/reporting/time-format.js');
    for (let t = utc(2024, 2, 28, 23, 59, 58); t < utc(2024, 3, 2); t += 3607) {
      const iso = new Date(t * 1000).toISOString();
      expect(formatTimestamp(t)).toBe(`${iso.slice(0, 10)} ${iso.slice(11, 19)}`);
      expect(parseTimestamp(formatTimestamp(t))).toBe(t);
    }
    expect(formatTimestamp(utc(2026, 5, 28, 23, 59, 59))).toBe('2026-05-28 23:59:59');
    expect(parseTimestamp('not a time')).toBeNull();
  });
});

import { mulberry32 } from '../src/fake-intercom/reporting/hashing.js';
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

/**
 * Writes a gzipped CSV shaped like Intercom's `conversation` reporting export, streaming: rows are
 * produced in batches by a generator and flow through gzip with backpressure, so memory stays flat
 * whatever the row count. Deterministic (seeded PRNG), so every run loads the same bytes.
 */

export const CONVERSATION_HEADER = [
  'conversation_id',
  'conversation_started_at',
  'channel',
  'currently_assigned_team_id',
  'currently_assigned_team_raw_id',
  'first_response_time_excluding_bot_inbox',
  'conversation_tag_ids',
  'teammate_replies_count',
  'last_teammate_rating_remark',
] as const;

export interface GenerateOptions {
  rows: number;
  /** Every `conversation_started_at` lies in `[windowStart, windowStart + spanMs)`. */
  windowStart: number;
  spanMs: number;
  seed?: number;
}

export interface GeneratedFile {
  path: string;
  rows: number;
  rawBytes: number;
  gzBytes: number;
  /** Rows whose remark is a quoted value with a comma, a doubled quote and an embedded newline. */
  trickyRows: number;
  /** Sum of the non-empty `teammate_replies_count` values (to check the loads against). */
  repliesSum: number;
}

const ROWS_PER_CHUNK = 1000;
const CHANNELS = ['conversation', 'email', 'chat', 'whatsapp', 'facebook', 'instagram', 'sms', 'phone_call'];
const REMARKS = ['Quick and helpful', 'Solved my problem 🎉', 'ok', 'Très bien merci 😊', 'Took a while 😐', 'Great support 👍🏽'];
const TRICKY_REMARKS = [
  'Great, thanks! She said "this is fixed" 🙌\nWould recommend, again',
  'Slow, but "fine" in the end\nSecond line, with a comma 🐢',
  'He wrote: "see attached, page 2"\n— and it worked 💯',
];

/** Quotes a value when CSV needs it (comma, quote, newline), doubling inner quotes. */
function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** `YYYY-MM-DD HH:MM:SS` in UTC, as the reporting export writes timestamps. */
function formatTimestamp(ms: number): string {
  const d = new Date(ms);
  return (
    `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ` +
    `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`
  );
}

export async function generateConversationCsv(path: string, opts: GenerateOptions): Promise<GeneratedFile> {
  const rand = mulberry32(opts.seed ?? 20260501);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const spanSeconds = Math.floor(opts.spanMs / 1000);
  let rawBytes = 0;
  let trickyRows = 0;
  let repliesSum = 0;

  function row(i: number): string {
    const tricky = i % 7 === 3;
    if (tricky) trickyRows++;
    const id = String(215_000_000_000_000 + i);
    const startedAt = formatTimestamp(opts.windowStart + Math.floor(rand() * spanSeconds) * 1000);
    const team = rand() < 0.15 ? '' : String(5_000_000 + Math.floor(rand() * 40));
    const teamRaw = team === '' ? '' : `${team}`;
    const r = rand();
    const frt = r < 0.2 ? '' : r < 0.25 ? (rand() * 3600).toFixed(1) : String(Math.floor(rand() * 86_400));
    let tags = '';
    if (tricky) tags = `"${8_100_000 + (i % 50)},${8_200_000 + (i % 13)}"`;
    else if (rand() < 0.5) tags = String(8_100_000 + Math.floor(rand() * 50));
    let replies = '';
    if (rand() >= 0.05) {
      const n = Math.floor(rand() * 25);
      repliesSum += n;
      replies = String(n);
    }
    let remark = '';
    if (tricky) remark = csvField(pick(TRICKY_REMARKS));
    else if (rand() < 0.35) remark = csvField(pick(REMARKS));
    return `${id},${startedAt},${pick(CHANNELS)},${team},${teamRaw},${frt},${tags},${replies},${remark}\n`;
  }

  async function* chunks(): AsyncGenerator<Buffer> {
    const header = Buffer.from(`${CONVERSATION_HEADER.join(',')}\n`, 'utf8');
    rawBytes += header.length;
    yield header;
    for (let i = 0; i < opts.rows; i += ROWS_PER_CHUNK) {
      let text = '';
      const end = Math.min(opts.rows, i + ROWS_PER_CHUNK);
      for (let j = i; j < end; j++) text += row(j);
      const buf = Buffer.from(text, 'utf8');
      rawBytes += buf.length;
      yield buf;
    }
  }

  await pipeline(Readable.from(chunks(), { objectMode: false }), createGzip(), createWriteStream(path));
  const gzBytes = (await stat(path)).size;
  return { path, rows: opts.rows, rawBytes, gzBytes, trickyRows, repliesSum };
}

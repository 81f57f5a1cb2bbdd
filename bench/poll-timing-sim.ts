/**
 * Poll-timing simulation (issue 7 §2): replays a backfill's export slots in simulated time with the
 * product's own poll schedule (`nextPollDelay`, `durationFromSamples`, `finishedAtEstimate` of
 * src/pipeline/export-timing.ts) against the fake's latency model (each dataset its own latency in
 * the range, ±5 % per export), so a change to the timing can be judged over many runs in seconds
 * instead of one 27-minute `bench:backfill`. What it models: 5 slots; windows in plan order (newest
 * day first, then dataset), the last 10 longest expected export first as the dispatcher claims them;
 * the expectation cache (30 s, 2 s with under 4 samples); the next enqueue 15 ms after the poll that
 * saw a finish (measured). What it leaves out: start-up, downloads, exit, and the wake-up lateness
 * of a real worker (~5 ms with wake-on-time). So its shares run ~1–2 points above `bench:backfill`.
 *
 *   npm run bench:poll-sim -- [--days 60] [--datasets 4] [--latency 10000-60000] [--runs 40]
 */
import { parseArgs } from 'node:util';
import { buildCatalogue } from '../src/fake-intercom/reporting/catalogue.js';
import { datasetLatencyMs } from '../src/fake-intercom/index.js';
import type { AppContext } from '../src/context.js';
import {
  durationFromSamples,
  finishedAtEstimate,
  nextPollDelay,
  noteRunning,
  type ExpectedDuration,
} from '../src/pipeline/export-timing.js';

const SLOTS = 5;
const POLL_INTERVAL_MS = 2000; // ETL_POLL_INTERVAL_MS's default
const REFILL_MS = 15; // poll that saw a finish → next enqueue (bench:backfill measures 13–14 ms)
const SAMPLES = 40;
const TAIL = 2 * SLOTS;

const { values: args } = parseArgs({
  options: {
    days: { type: 'string', default: '60' },
    datasets: { type: 'string', default: '4' },
    latency: { type: 'string', default: '10000-60000' },
    runs: { type: 'string', default: '40' },
  },
});
const [lo, hi] = String(args.latency).split('-').map(Number) as [number, number];
const latencies = buildCatalogue()
  .slice(0, Number(args.datasets))
  .map((d) => datasetLatencyMs(d.id, [lo, hi ?? lo]));
const days = Number(args.days);
const runs = Number(args.runs);

interface Export {
  dataset: number;
  rank: number;
  enqueuedAt: number;
  finishAt: number;
  polls: number;
}

/** A seeded generator: every run of the bench replays the same exports. */
function random(seed: number): () => number {
  return () => (seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

function simulate(run: number) {
  const rand = random(run * 7919 + 1);
  const ctx = {} as AppContext; // keys export-timing's per-process notes only
  const waiting = Array.from({ length: days * latencies.length }, (_, i) => ({ dataset: i % latencies.length }));
  const samples = latencies.map(() => [] as number[]);
  const cache: Array<{ at: number; expected: ExpectedDuration | null; n: number } | undefined> = [];
  const ranks = latencies.map(() => 0);
  let now = 0;
  const expected = (d: number) => {
    const c = cache[d];
    if (!c || now - c.at > (c.n < 4 ? 2000 : 30_000)) {
      const recent = samples[d]!.slice(-SAMPLES).sort((a, b) => a - b);
      cache[d] = { at: now, expected: durationFromSamples(recent, 1), n: recent.length };
    }
    return cache[d]!.expected;
  };
  const usual = (d: number) => {
    const recent = samples[d]!.slice(-SAMPLES).sort((a, b) => a - b);
    const mid = recent.length >> 1;
    return recent.length === 0 ? Infinity : recent.length % 2 ? recent[mid]! : (recent[mid - 1]! + recent[mid]!) / 2;
  };
  const coldFloor = (d: number) => {
    const others = samples.flatMap((s, i) => (i === d ? [] : s));
    return others.length === 0 ? null : Math.min(...others);
  };
  const polls: Array<{ at: number; ex: Export }> = [];
  const done: Export[] = [];
  const start = (at: number) => {
    // The dispatcher's order for the last windows: longest usual export first (the median of the
    // dataset's last 40), a dataset without history first.
    if (waiting.length <= TAIL) waiting.sort((a, b) => usual(b.dataset) - usual(a.dataset));
    const w = waiting.shift();
    if (!w) return;
    const enqueuedAt = at + REFILL_MS;
    const ex = {
      dataset: w.dataset,
      rank: ++ranks[w.dataset]!,
      enqueuedAt,
      finishAt: enqueuedAt + latencies[w.dataset]! * (0.95 + rand() * 0.1),
      polls: 0,
    };
    const e = expected(w.dataset);
    polls.push({ at: enqueuedAt + nextPollDelay(0, e, POLL_INTERVAL_MS, e ? null : coldFloor(w.dataset)), ex });
  };
  for (let i = 0; i < SLOTS; i++) start(0);
  while (polls.length > 0) {
    polls.sort((a, b) => a.at - b.at);
    const { at, ex } = polls.shift()!;
    now = at;
    ex.polls++;
    const id = `${run}-${ex.dataset}-${ex.rank}`;
    const e = expected(ex.dataset);
    if (at < ex.finishAt) {
      noteRunning(ctx, id, at);
      polls.push({ at: at + nextPollDelay(at - ex.enqueuedAt, e, POLL_INTERVAL_MS, e ? null : coldFloor(ex.dataset)), ex });
      continue;
    }
    samples[ex.dataset]!.push(finishedAtEstimate(ctx, id, at, { enqueuedAt: ex.enqueuedAt, expected: e }) - ex.enqueuedAt);
    done.push(Object.assign(ex, { seenAt: at }));
    start(at);
  }
  return done as Array<Export & { seenAt: number }>;
}

/** Share of [0, end] with every slot holding an unfinished export. */
function allBusyShare(exports: Export[]): { share: number; end: number } {
  const events = exports.flatMap((x) => [[x.enqueuedAt, 1] as const, [x.finishAt, -1] as const]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let last = 0;
  let full = 0;
  for (const [t, d] of events) {
    if (open >= SLOTS) full += t - last;
    last = t;
    open += d;
  }
  return { share: full / last, end: last };
}

const shares: number[] = [];
let calls = 0;
const byRank = { first: { polls: 0, late: 0, n: 0 }, few: { polls: 0, late: 0, n: 0 }, steady: { polls: 0, late: 0, n: 0 } };
for (let run = 0; run < runs; run++) {
  const exports = simulate(run);
  shares.push(allBusyShare(exports).share);
  for (const x of exports) {
    calls += x.polls;
    const r = x.rank === 1 ? byRank.first : x.rank <= 4 ? byRank.few : byRank.steady;
    r.polls += x.polls;
    r.late += (x.seenAt - x.finishAt) / (x.finishAt - x.enqueuedAt);
    r.n++;
  }
}
shares.sort((a, b) => a - b);
const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
const rank = (r: { polls: number; late: number; n: number }) =>
  `${(r.polls / r.n).toFixed(2)} status calls, seen ${pct(r.late / r.n)} of the export late`;
process.stdout.write(
  [
    `poll-timing simulation: ${latencies.length} datasets × ${days} days (${latencies.length * days} windows), latency ${args.latency} ms, ${runs} runs`,
    `all 5 busy                 mean ${pct(shares.reduce((a, b) => a + b, 0) / runs)}, min ${pct(shares[0]!)}, max ${pct(shares[runs - 1]!)}`,
    `status calls per window    ${(calls / runs / (latencies.length * days)).toFixed(2)}`,
    `  1st export of a dataset  ${rank(byRank.first)}`,
    `  2nd–4th                  ${rank(byRank.few)}`,
    `  5th on                   ${rank(byRank.steady)}`,
  ].join('\n') + '\n',
);

import { describe, expect, it } from 'vitest';
import type { AppContext } from '../src/context.js';
import { durationFromSamples, finishedAtEstimate, nextPollDelay, noteRunning } from '../src/pipeline/export-timing.js';

describe('poll timing (issue 7 §2)', () => {
  it('without history: the poll interval first, then 15 % of the time waited, at most 60 s', () => {
    for (let i = 0; i < 20; i++) {
      const first = nextPollDelay(0, null, 2000);
      expect(first).toBeGreaterThanOrEqual(1800);
      expect(first).toBeLessThanOrEqual(2200);
      expect(nextPollDelay(4_000, null, 2000)).toBeGreaterThanOrEqual(1800); // never below the poll interval
      const later = nextPollDelay(40_000, null, 2000);
      expect(later).toBeGreaterThanOrEqual(5400);
      expect(later).toBeLessThanOrEqual(6600);
      expect(nextPollDelay(10 * 3_600_000, null, 2000)).toBeLessThanOrEqual(66_000);
    }
  });

  it("without history but with other datasets' history: first at 0.8 × their quickest export, then as without", () => {
    for (let i = 0; i < 20; i++) {
      const first = nextPollDelay(0, null, 2000, 20_000);
      expect(first).toBeGreaterThanOrEqual(14_400);
      expect(first).toBeLessThanOrEqual(17_600);
      const after = nextPollDelay(16_000, null, 2000, 20_000);
      expect(after).toBeGreaterThanOrEqual(2160);
      expect(after).toBeLessThanOrEqual(2640);
      // A floor within the poll interval changes nothing.
      expect(nextPollDelay(0, null, 2000, 2500)).toBeLessThanOrEqual(2200);
    }
  });

  it('a 10–60 s export without history is seen finished within 17 % of its duration or the poll interval (was up to 50 %, then 30 %)', () => {
    for (const actual of [10_000, 23_000, 35_000, 47_000, 60_000]) {
      let t = 0;
      let polls = 0;
      do {
        t += nextPollDelay(t, null, 2000);
        polls++;
      } while (t < actual);
      expect(t - actual).toBeLessThanOrEqual(Math.max(actual * 0.17, 2200)); // a step of 15 % ± 10 % jitter, or the poll interval
      expect(polls).toBeLessThanOrEqual(22);
    }
  });

  it('with history: 5 polls across the usual range, in shrinking steps; then growing steps past it', () => {
    const expected = { lowMs: 30_000, highMs: 40_000 }; // polls at 33.35, 36.03, 38.02, 39.35 and 40 s
    expect(nextPollDelay(0, expected, 2000)).toBe(33_350);
    expect(nextPollDelay(33_350, expected, 2000)).toBe(2_680);
    expect(nextPollDelay(36_030, expected, 2000)).toBe(1_990);
    expect(nextPollDelay(38_020, expected, 2000)).toBe(1_330);
    expect(nextPollDelay(39_350, expected, 2000)).toBe(650); // the last at the usual latest finish
    // A poll off the points (the expectation moved since the last) waits for a point at least half its step on.
    expect(nextPollDelay(34_800, expected, 2000)).toBe(3_220);
    expect(nextPollDelay(44_000, expected, 2000)).toBe(4_500); // past the range: a quarter of it plus half the time past it
    expect(nextPollDelay(10 * 3_600_000, expected, 2000)).toBe(60_000);
    // Steps are never shorter than 100 ms.
    expect(nextPollDelay(30_000, { lowMs: 30_000, highMs: 30_000 }, 2000)).toBe(100);
  });

  it('learns the ends of the spread (median ∓ 2 MAD), scaled to the window; around the smallest of few samples', () => {
    expect(durationFromSamples([], 1000)).toBeNull();
    expect(durationFromSamples([2, 3, 4], 1000)).toEqual({ lowMs: 1900, highMs: 2100 });
    const samples = Array.from({ length: 21 }, (_, i) => 1 + i / 20); // 1.00 … 2.00
    const even = durationFromSamples(samples, 1000)!;
    expect(even.lowMs).toBeCloseTo(1000, 6);
    expect(even.highMs).toBeCloseTo(2000, 6);
    // Identical samples still leave a range of ±1 %.
    expect(durationFromSamples([3, 3, 3, 3], 1000)).toEqual({ lowMs: 2970, highMs: 3030 });
  });

  it('a few coarse samples (from polls with little history) do not stretch the spread', () => {
    // Five exports of ±2 % and one first export whose finish was bracketed 40 % late.
    const learned = durationFromSamples([0.98, 0.99, 1.0, 1.01, 1.02, 1.4], 10_000)!;
    expect(learned.lowMs).toBeGreaterThan(9_700);
    expect(learned.highMs).toBeLessThan(10_400); // the plain 90th percentile was the outlier: 14,000
  });

  it('polls a 10–60 s export with ±5 % jitter 2.33 times on average, and sees it finished ~1.23 % of its duration late', () => {
    for (const base of [10_000, 35_000, 60_000]) {
      const expected = { lowMs: base * 0.95, highMs: base * 1.05 }; // the ends of ±5 %
      let sumPolls = 0;
      let sumLate = 0;
      const points = 101;
      for (let i = 0; i < points; i++) {
        const actual = base * (0.95 + (0.1 * i) / (points - 1));
        let t = 0;
        let polls = 0;
        do {
          t += nextPollDelay(t, expected, 2000);
          polls++;
        } while (t < actual);
        expect(polls).toBeLessThanOrEqual(5);
        expect(t - actual).toBeLessThanOrEqual(base * 0.0335 + 1); // the first step: 33.5 % of the range
        sumPolls += polls;
        sumLate += t - actual;
      }
      // The earlier schedule (first poll before the usual earliest finish, steps of the spread ÷ 2.5): ~3 polls, 1.6 % late.
      expect(sumPolls / points).toBeLessThanOrEqual(2.33);
      // 10 s exports too: their last step (90 ms) is stretched to the 100 ms floor, not skipped.
      expect(sumLate / points).toBeLessThanOrEqual(base * 0.0125);
    }
  });

  it('an export seen running, then finished, is taken to have finished midway; without a running poll, midway since a range before', () => {
    const ctx = {} as AppContext; // a context only keys the per-process notes
    expect(finishedAtEstimate(ctx, 'job-a', 50_000)).toBe(50_000);
    noteRunning(ctx, 'job-a', 40_000);
    noteRunning(ctx, 'job-a', 44_000);
    expect(finishedAtEstimate(ctx, 'job-a', 50_000)).toBe(47_000);
    expect(finishedAtEstimate(ctx, 'job-a', 52_000)).toBe(52_000); // the note is used once
    for (let i = 0; i < 1_001; i++) noteRunning(ctx, `job-${i}`, 1_000);
    expect(finishedAtEstimate(ctx, 'job-0', 3_000)).toBe(3_000); // the oldest note went: at most 1,000 kept
    expect(finishedAtEstimate(ctx, 'job-1000', 3_000)).toBe(2_000);
    // The first poll saw it finished: as if a poll had seen it running the usual range's width
    // earlier (never before the enqueue), so a quicker export than usual lowers what is learned.
    const expected = { lowMs: 30_000, highMs: 34_000 };
    expect(finishedAtEstimate(ctx, 'job-b', 131_000, { enqueuedAt: 100_000, expected })).toBe(129_000);
    expect(finishedAtEstimate(ctx, 'job-c', 102_000, { enqueuedAt: 100_000, expected })).toBe(101_000);
    expect(finishedAtEstimate(ctx, 'job-d', 131_000, { enqueuedAt: 100_000, expected: null })).toBe(131_000);
  });
});

import { describe, expect, it } from 'vitest';
import type { AppContext } from '../src/context.js';
import { durationFromSamples, finishedAtEstimate, nextPollDelay, noteRunning } from '../src/pipeline/export-timing.js';

describe('poll timing (issue 7 §2)', () => {
  it('without history: the poll interval first, then a quarter of the time waited, at most 60 s', () => {
    for (let i = 0; i < 20; i++) {
      const first = nextPollDelay(0, null, 2000);
      expect(first).toBeGreaterThanOrEqual(1800);
      expect(first).toBeLessThanOrEqual(2200);
      expect(nextPollDelay(4_000, null, 2000)).toBeGreaterThanOrEqual(1800); // never below the poll interval
      const later = nextPollDelay(20_000, null, 2000);
      expect(later).toBeGreaterThanOrEqual(4500);
      expect(later).toBeLessThanOrEqual(5500);
      expect(nextPollDelay(10 * 3_600_000, null, 2000)).toBeLessThanOrEqual(66_000);
    }
  });

  it("without history but with other datasets' history: first at 0.8 × their quickest export, then as without", () => {
    for (let i = 0; i < 20; i++) {
      const first = nextPollDelay(0, null, 2000, 20_000);
      expect(first).toBeGreaterThanOrEqual(14_400);
      expect(first).toBeLessThanOrEqual(17_600);
      const after = nextPollDelay(16_000, null, 2000, 20_000);
      expect(after).toBeGreaterThanOrEqual(3600);
      expect(after).toBeLessThanOrEqual(4400);
      // A floor within the poll interval changes nothing.
      expect(nextPollDelay(0, null, 2000, 2500)).toBeLessThanOrEqual(2200);
    }
  });

  it('a 10–60 s export without history is seen finished within 30 % of its duration (was up to 50 %)', () => {
    for (const actual of [10_000, 23_000, 35_000, 47_000, 60_000]) {
      let t = 0;
      let polls = 0;
      do {
        t += nextPollDelay(t, null, 2000);
        polls++;
      } while (t < actual);
      expect(t - actual).toBeLessThanOrEqual(actual * 0.3);
      expect(polls).toBeLessThanOrEqual(15);
    }
  });

  it('with history: first just before the usual earliest finish, then steps of the spread / 2.5, growing past the usual latest', () => {
    const expected = { lowMs: 30_000, highMs: 33_000 };
    expect(nextPollDelay(0, expected, 2000)).toBe(29_700); // a tenth of the spread early
    expect(nextPollDelay(29_700, expected, 2000)).toBe(1_200);
    expect(nextPollDelay(35_000, expected, 2000)).toBe(2_200); // plus half the time past the latest
    expect(nextPollDelay(10 * 3_600_000, expected, 2000)).toBe(60_000);
    // A spread of nothing is taken as 2 % of the duration, and steps are never shorter than 250 ms.
    expect(nextPollDelay(30_000, { lowMs: 30_000, highMs: 30_000 }, 2000)).toBe(250);
    expect(nextPollDelay(60_000, { lowMs: 60_000, highMs: 60_000 }, 2000)).toBe(480);
  });

  it('learns the 10th and 90th percentiles of the samples, scaled to the window; around the smallest of few samples', () => {
    expect(durationFromSamples([], 1000)).toBeNull();
    expect(durationFromSamples([2, 3, 4], 1000)).toEqual({ lowMs: 1900, highMs: 2100 });
    const samples = Array.from({ length: 21 }, (_, i) => 1 + i / 20); // 1.00 … 2.00
    const even = durationFromSamples(samples, 1000)!;
    expect(even.lowMs).toBeCloseTo(1100, 6);
    expect(even.highMs).toBeCloseTo(1900, 6);
  });

  it('a few coarse samples (from polls with little history) do not stretch the spread', () => {
    // Five exports of ±2 % and one first export whose finish was bracketed 40 % late.
    const learned = durationFromSamples([0.98, 0.99, 1.0, 1.01, 1.02, 1.4], 10_000)!;
    expect(learned.lowMs).toBeGreaterThan(9_700);
    expect(learned.highMs).toBeLessThan(10_400); // the plain 90th percentile was the outlier: 14,000
  });

  it('polls a 10–60 s export with ±5 % jitter ≤ 3 times on average, and sees it finished within 5 % of its duration', () => {
    for (const base of [10_000, 35_000, 60_000]) {
      const expected = { lowMs: base * 0.96, highMs: base * 1.04 }; // the percentiles of ±5 %
      let sumPolls = 0;
      const points = 21;
      for (let i = 0; i < points; i++) {
        const actual = base * (0.95 + (0.1 * i) / (points - 1));
        let t = 0;
        let polls = 0;
        do {
          t += nextPollDelay(t, expected, 2000);
          polls++;
        } while (t < actual);
        expect(polls).toBeLessThanOrEqual(5); // 5 only past the usual latest finish
        expect(t - actual).toBeLessThanOrEqual(base * 0.05);
        sumPolls += polls;
      }
      expect(sumPolls / points).toBeLessThanOrEqual(3);
    }
  });

  it('an export seen running, then finished, is taken to have finished midway; without a running poll, when seen', () => {
    const ctx = {} as AppContext; // a context only keys the per-process notes
    expect(finishedAtEstimate(ctx, 'job-a', 50_000)).toBe(50_000);
    noteRunning(ctx, 'job-a', 40_000);
    noteRunning(ctx, 'job-a', 44_000);
    expect(finishedAtEstimate(ctx, 'job-a', 50_000)).toBe(47_000);
    expect(finishedAtEstimate(ctx, 'job-a', 52_000)).toBe(52_000); // the note is used once
    for (let i = 0; i < 1_001; i++) noteRunning(ctx, `job-${i}`, 1_000);
    expect(finishedAtEstimate(ctx, 'job-0', 3_000)).toBe(3_000); // the oldest note went: at most 1,000 kept
    expect(finishedAtEstimate(ctx, 'job-1000', 3_000)).toBe(2_000);
  });
});

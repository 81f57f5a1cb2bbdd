import { describe, expect, it } from 'vitest';
import { nextPollDelay } from '../src/pipeline/export-timing.js';

describe('poll timing (issue 7 §2)', () => {
  it('without history: the poll interval first, then half the time waited, at most 60 s', () => {
    for (let i = 0; i < 20; i++) {
      const first = nextPollDelay(0, null, 2000);
      expect(first).toBeGreaterThanOrEqual(1800);
      expect(first).toBeLessThanOrEqual(2200);
      const later = nextPollDelay(20_000, null, 2000);
      expect(later).toBeGreaterThanOrEqual(9000);
      expect(later).toBeLessThanOrEqual(11_000);
      expect(nextPollDelay(10 * 3_600_000, null, 2000)).toBeLessThanOrEqual(66_000);
    }
  });

  it('with an expected duration: first just before it, then short steps growing past it', () => {
    expect(nextPollDelay(0, 30_000, 2000)).toBe(28_500);
    expect(nextPollDelay(28_500, 30_000, 2000)).toBe(1_500); // 5 % of the expectation
    expect(nextPollDelay(31_000, 30_000, 2000)).toBe(2_000); // plus half the time past it
    expect(nextPollDelay(10 * 3_600_000, 30_000, 2000)).toBe(60_000);
  });

  it('polls a 10–60 s export at most three times when it finishes within 5 % of the expectation, four within 10 %', () => {
    for (const expected of [10_000, 35_000, 60_000]) {
      for (const actual of [expected * 0.9, expected * 0.95, expected, expected * 1.05, expected * 1.1]) {
        let t = 0;
        let polls = 0;
        do {
          t += nextPollDelay(t, expected, 2000);
          polls++;
        } while (t < actual);
        expect(polls).toBeLessThanOrEqual(actual <= expected * 1.05 ? 3 : 4);
        expect(t - actual).toBeLessThanOrEqual(expected * 0.1); // the slot is idle for < 10 % of it
      }
    }
  });
});

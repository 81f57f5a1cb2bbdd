import type { RateLimitState } from './types.js';

/**
 * Remembers Intercom's request budget from the `X-RateLimit-*` headers of the last response.
 *
 * Intercom splits the per-minute limit into 10-second windows and reports, on every authenticated
 * response, the window's limit, what is left of it and when it resets (Unix seconds). Waiting for the
 * reset when nothing is left is cheaper than collecting a 429 and backing off for longer.
 */
export class RateLimitTracker {
  #state: RateLimitState | null = null;

  /** The last budget Intercom reported, or null before the first authenticated response. */
  get state(): RateLimitState | null {
    return this.#state === null ? null : { ...this.#state };
  }

  /** Reads the three headers; ignores the response unless all three are present and numeric. */
  update(headers: Headers): void {
    const limit = parseNumber(headers.get('x-ratelimit-limit'));
    const remaining = parseNumber(headers.get('x-ratelimit-remaining'));
    const reset = parseNumber(headers.get('x-ratelimit-reset'));
    if (limit === null || remaining === null || reset === null) return;
    this.#state = { limit, remaining, resetAt: reset * 1000 };
  }

  /**
   * Milliseconds to wait before the next request: time until the window resets when the budget is
   * used up, never more than `maxWaitMs` (a clock skew or a far-away reset must not stall a worker;
   * if the budget really is gone the server answers 429 and the job backs off properly).
   */
  delayBeforeNextRequest(now: number, maxWaitMs: number): number {
    const state = this.#state;
    if (state === null || state.remaining > 0) return 0;
    return Math.max(0, Math.min(state.resetAt - now, maxWaitMs));
  }
}

function parseNumber(value: string | null): number | null {
  if (value === null || value.trim() === '') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

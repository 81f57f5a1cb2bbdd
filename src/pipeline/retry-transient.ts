import { setTimeout as sleep } from 'node:timers/promises';
import { isEtlError, RateLimitedError } from '../errors.js';

export interface RetryOptions {
  /** Tries in all, the first included. Default 5. */
  attempts?: number;
  /** The wait after the n-th failed try, ms. Default 500 · 2^(n-1). A 429 waits its own `retryAfterMs` instead (at most a minute). */
  delayMs?: (failures: number) => number;
  /** Errors worth another try. Default: anything outside the taxonomy (src/errors.ts), `retriable` and `rate_limited`. */
  transient?: (err: unknown) => boolean;
  /**
   * A 429 asking to wait at most this long is waited out without using a try (a scroll or search
   * must not lose its cursor to the per-10-second budget); at most RATE_LIMIT_WAITS such waits per
   * call. Default 0: a 429 is a try like any other.
   */
  rateLimitGraceMs?: number;
  /** Aborts the waits; an error after it fired is thrown at once. */
  signal?: AbortSignal;
}

/** Free waits for short 429s per call: the loop has a bound even if Intercom keeps answering 429. */
const RATE_LIMIT_WAITS = 50;

const defaultTransient = (err: unknown): boolean => !isEtlError(err) || err.kind === 'retriable' || err.kind === 'rate_limited';

/**
 * The one retry helper, for Intercom calls where no BullMQ job retries (the CLI's planning: /me,
 * get_datasets) or where a retry must stay inside the job (a page of a companies scroll or a
 * tickets search): transient errors are retried a bounded number of times with backoff; anything
 * else (a bad token, a 4xx) is thrown at once, and so is the last failure.
 */
export async function retryTransient<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 5;
  const transient = options.transient ?? defaultTransient;
  const grace = options.rateLimitGraceMs ?? 0;
  let rateLimitWaits = 0;
  for (let failures = 1; ; failures++) {
    try {
      return await fn();
    } catch (err) {
      if (options.signal?.aborted) throw err;
      if (err instanceof RateLimitedError && err.retryAfterMs <= grace && rateLimitWaits < RATE_LIMIT_WAITS) {
        rateLimitWaits += 1;
        failures -= 1;
        await sleep(err.retryAfterMs, undefined, { signal: options.signal });
        continue;
      }
      if (!transient(err) || failures >= attempts) throw err;
      const delay = err instanceof RateLimitedError ? err.retryAfterMs : (options.delayMs?.(failures) ?? 500 * 2 ** (failures - 1));
      await sleep(Math.min(delay, 60_000), undefined, { signal: options.signal });
    }
  }
}

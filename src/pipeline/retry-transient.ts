import { setTimeout as sleep } from 'node:timers/promises';
import { isEtlError, RateLimitedError } from '../errors.js';

/**
 * For the few Intercom calls made outside a BullMQ job (the CLI's planning: /me, get_datasets),
 * where there is no job to retry: transient errors and 429s are retried a bounded number of
 * times; fatal errors (bad token, 4xx) are thrown at once.
 */
export async function retryTransient<T>(fn: () => Promise<T>, attempts = 5, baseDelayMs = 500): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const transient = !isEtlError(err) || err.kind === 'retriable' || err.kind === 'rate_limited';
      if (!transient || attempt >= attempts) throw err;
      const delay = err instanceof RateLimitedError ? err.retryAfterMs : baseDelayMs * 2 ** (attempt - 1);
      await sleep(Math.min(delay, 60_000));
    }
  }
}

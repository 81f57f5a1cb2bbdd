import { DelayedError, RateLimitError, UnrecoverableError, type Job, type Queue } from 'bullmq';
import { describeError, FatalError, NotReadyError, RateLimitedError } from '../errors.js';
import { redactError } from '../redact.js';
import { wakeOnTime } from './wake-on-time.js';

/**
 * The one place the error taxonomy (src/errors.ts) becomes BullMQ behaviour:
 * - NotReadyError, and the "5 pending export jobs" 429 → job.moveToDelayed + DelayedError
 *   (no attempt used, no worker slot held while Intercom works; a NotReadyError's job is promoted
 *   by this process when its delay ends: see wake-on-time.ts);
 * - the per-10-second 429 → queue.rateLimit + RateLimitError (the whole queue pauses: the budget is shared);
 * - FatalError → UnrecoverableError (fails now, whatever `attempts` says);
 * - anything else is retriable: rethrown, BullMQ retries with backoff until attempts run out;
 * - anything after `signal` aborted (the worker is shutting down) → moveToDelayed + DelayedError:
 *   the job goes back to the queue at once without using an attempt.
 * `onFinalFailure` runs before a job fails for good, so the ledger records why.
 */
export async function runJob<T>(
  job: Job,
  token: string | undefined,
  queue: Queue,
  body: () => Promise<T>,
  onFinalFailure: (message: string) => Promise<void>,
  signal?: AbortSignal,
): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (signal?.aborted) {
      await job.moveToDelayed(Date.now() + 1000, token);
      throw new DelayedError();
    }
    if (err instanceof NotReadyError) {
      await job.moveToDelayed(Date.now() + err.pollAfterMs, token);
      wakeOnTime(job, err.pollAfterMs); // on time, not up to 100 ms late (Redis's timeout resolution)
      throw new DelayedError();
    }
    if (err instanceof RateLimitedError) {
      if (err.scope === 'export_jobs') {
        await job.moveToDelayed(Date.now() + err.retryAfterMs, token);
        throw new DelayedError();
      }
      await queue.rateLimit(err.retryAfterMs);
      throw new RateLimitError();
    }
    const message = describeError(err);
    if (err instanceof FatalError) {
      await onFinalFailure(message);
      throw new UnrecoverableError(message);
    }
    const attempts = job.opts.attempts ?? 1;
    if (job.attemptsMade + 1 >= attempts) await onFinalFailure(`${message} (gave up after ${attempts} attempts)`);
    // BullMQ stores the message as failedReason and the stack in the job's stacktrace.
    throw redactError(err);
  }
}

import type { Job } from 'bullmq';

/**
 * Redis checks the timeouts of blocking commands at its `hz` (10 times a second by default), so a
 * worker blocked until a delayed job is due wakes 0–100 ms late: 53 ms on average, measured with
 * BullMQ 6.7 and Redis 7. For an export poll that lateness is slot time lost at Intercom on every
 * export. So the process that delays a job also promotes it itself when the delay ends (5 ms late
 * on average); promotion adds a marker, which wakes a blocked worker at once.
 *
 * Only a hint: if this process dies, or BullMQ moved the job first, or another process took it, the
 * promotion fails quietly and BullMQ's own schedule stands. Timers are unref'd (they never keep a
 * process alive) and only for delays up to `MAX_DELAY_MS`, so at most one per job this process
 * delayed lately.
 */
const MAX_DELAY_MS = 5 * 60_000;

export function wakeOnTime(job: Job, delayMs: number): void {
  if (!(delayMs > 0 && delayMs <= MAX_DELAY_MS)) return;
  setTimeout(() => {
    job.promote().catch(() => {}); // not delayed any more (or the connection closed): nothing to do
  }, delayMs).unref();
}

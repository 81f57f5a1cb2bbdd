import type { Job } from 'bullmq';

/**
 * Redis checks the timeouts of blocking commands at its `hz` (10 times a second by default), so a
 * worker blocked until a delayed job is due wakes 0–100 ms late: 53 ms on average, measured with
 * BullMQ 6.7 and Redis 7. For an export poll that lateness is slot time lost at Intercom on every
 * export. So the process that delays a job also promotes it itself when the delay ends (5 ms late
 * on average); promotion adds a marker, which wakes a blocked worker at once.
 *
 * Only a hint. If this process dies, BullMQ's own schedule stands; a job that is no longer delayed
 * (BullMQ moved it first) or gone is left alone. Delaying a job again replaces this process's timer
 * for it. One race remains: a timer that fires late (this event loop busy) after another process
 * ran the job and delayed it again promotes that later delay early — one status poll early, which
 * is safe, as every step re-reads the ledger. Timers are unref'd (they never keep a process alive),
 * one per job at most, and only for delays up to `MAX_DELAY_MS`.
 */
const MAX_DELAY_MS = 5 * 60_000;

const timers = new Map<string, NodeJS.Timeout>();

export function wakeOnTime(job: Job, delayMs: number): void {
  const key = `${job.queueQualifiedName}|${job.id}`;
  clearTimeout(timers.get(key));
  timers.delete(key);
  if (!(delayMs > 0 && delayMs <= MAX_DELAY_MS)) return;
  const timer = setTimeout(() => {
    timers.delete(key);
    job.promote().catch(() => {}); // not delayed any more (or the connection closed): nothing to do
  }, delayMs);
  timer.unref();
  timers.set(key, timer);
}

/** Jobs this process will promote (for tests). */
export function pendingWakes(): number {
  return timers.size;
}

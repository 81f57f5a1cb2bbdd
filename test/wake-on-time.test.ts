import { beforeEach, describe, expect, it } from 'vitest';
import { Worker } from 'bullmq';
import { NotReadyError } from '../src/errors.js';
import { runJob } from '../src/jobs/job-outcome.js';
import { pendingWakes, wakeOnTime } from '../src/jobs/wake-on-time.js';
import { waitFor } from './helpers/cli-process.js';
import { useTestEnv, type TestEnv } from './helpers/test-env.js';

/**
 * A delayed job is promoted by the process that delayed it when its delay ends, instead of waiting
 * for Redis to time out a worker's blocking call (checked 10 times a second: 0–100 ms late).
 */

const getEnv = useTestEnv({ migrate: false });
let env: TestEnv;
beforeEach(() => {
  env = getEnv();
});

describe('wakeOnTime', () => {
  it('promotes a delayed job when the given time has passed, not when BullMQ would', async () => {
    const queue = env.ctx.queues.reports;
    const job = await queue.add('probe', {}, { jobId: 'wake-probe', delay: 120_000 });
    expect(await job.getState()).toBe('delayed');
    wakeOnTime(job, 50);
    // BullMQ alone keeps it delayed for 2 minutes; the wake moves it to waiting within moments.
    await waitFor(async () => (await job.getState()) === 'waiting', 20_000, 'the job to be promoted');
  });

  it('a job that runJob delays for a poll is promoted even when no worker is left to do it', async () => {
    const queue = env.ctx.queues.reports;
    const worker = new Worker(
      queue.name,
      (job, token) =>
        runJob(
          job,
          token,
          queue,
          () => Promise.reject(new NotReadyError('export still running', 1_000)),
          async () => {},
        ),
      { connection: env.ctx.redis, prefix: env.config.queuePrefix },
    );
    worker.on('error', () => {});
    const job = await queue.add('poll', {}, { jobId: 'wake-poll' });
    try {
      await waitFor(async () => (await job.getState()) === 'delayed', 20_000, 'the job to be delayed by runJob');
    } finally {
      await worker.close(); // from here nothing of BullMQ's would ever move the job out of the delayed set
    }
    await waitFor(async () => (await job.getState()) === 'waiting', 20_000, 'the job to be promoted by the wake');
  });

  it('leaves alone a job that is not delayed any more, or is gone, without an unhandled rejection', async () => {
    const queue = env.ctx.queues.reports;
    const waiting = await queue.add('probe', {}, { jobId: 'wake-waiting' });
    const gone = await queue.add('probe', {}, { jobId: 'wake-gone', delay: 120_000 });
    await gone.remove();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      wakeOnTime(waiting, 10);
      wakeOnTime(gone, 10);
      await waitFor(() => pendingWakes() === 0, 5_000, 'both timers to fire');
      await new Promise((r) => setTimeout(r, 100));
      expect(unhandled).toEqual([]);
      expect(await waiting.getState()).toBe('waiting');
      expect(await queue.getJob('wake-gone')).toBeUndefined();
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('keeps one timer per job: delaying again replaces it; a delay past 5 minutes sets none', async () => {
    const job = await env.ctx.queues.reports.add('probe', {}, { jobId: 'wake-timers', delay: 120_000 });
    const before = pendingWakes();
    wakeOnTime(job, 10 * 60_000); // BullMQ's own schedule only
    expect(pendingWakes()).toBe(before);
    wakeOnTime(job, 60_000);
    wakeOnTime(job, 30_000); // the job was delayed again: the earlier timer would promote the new delay early
    expect(pendingWakes()).toBe(before + 1);
    wakeOnTime(job, 10 * 60_000);
    expect(pendingWakes()).toBe(before);
  });
});

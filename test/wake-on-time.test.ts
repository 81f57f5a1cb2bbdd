import { beforeEach, describe, expect, it } from 'vitest';
import { wakeOnTime } from '../src/jobs/wake-on-time.js';
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

  it('leaves alone a job that is not delayed any more, or is gone; and ignores delays it does not cover', async () => {
    const queue = env.ctx.queues.reports;
    const waiting = await queue.add('probe', {}, { jobId: 'wake-waiting' });
    const gone = await queue.add('probe', {}, { jobId: 'wake-gone', delay: 120_000 });
    await gone.remove();
    const far = await queue.add('probe', {}, { jobId: 'wake-far', delay: 120_000 });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      wakeOnTime(waiting, 10);
      wakeOnTime(gone, 10);
      wakeOnTime(far, 10 * 60_000); // past 5 minutes: BullMQ's own schedule only, no timer
      await new Promise((r) => setTimeout(r, 300));
      expect(unhandled).toEqual([]);
      expect(await waiting.getState()).toBe('waiting');
      expect(await queue.getJob('wake-gone')).toBeUndefined();
      expect(await far.getState()).toBe('delayed');
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

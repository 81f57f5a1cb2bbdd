import { describe, expect, it } from 'vitest';
import { FatalError, RateLimitedError, RetriableError } from '../src/errors.js';
import { retryTransient } from '../src/pipeline/retry-transient.js';

/** The one retry helper (planning calls, and the pages of a companies scroll or tickets search). */
function failing(errors: unknown[]): { fn: () => Promise<string>; calls: () => number } {
  let calls = 0;
  return {
    fn: async () => {
      const err = errors[calls++];
      if (err !== undefined) throw err;
      return 'ok';
    },
    calls: () => calls,
  };
}

describe('retryTransient', () => {
  it('retries transient errors up to `attempts` tries, then throws the last', async () => {
    const ok = failing([new RetriableError('503'), new RetriableError('503')]);
    await expect(retryTransient(ok.fn, { attempts: 3, delayMs: () => 1 })).resolves.toBe('ok');
    expect(ok.calls()).toBe(3);
    const never = failing(Array.from({ length: 10 }, () => new RetriableError('503')));
    await expect(retryTransient(never.fn, { attempts: 3, delayMs: () => 1 })).rejects.toThrow('503');
    expect(never.calls()).toBe(3);
  });

  it('throws a fatal error at once, and whatever `transient` rejects', async () => {
    const fatal = failing([new FatalError('401')]);
    await expect(retryTransient(fatal.fn, { delayMs: () => 1 })).rejects.toThrow('401');
    expect(fatal.calls()).toBe(1);
    const picky = failing([new RetriableError('500', { status: 500 })]);
    const transient = (err: unknown) => err instanceof RetriableError && err.status !== 500;
    await expect(retryTransient(picky.fn, { transient, delayMs: () => 1 })).rejects.toThrow('500');
    expect(picky.calls()).toBe(1);
  });

  it('waits out short 429s without using a try, but not for ever', async () => {
    const short = () => new RateLimitedError('429', 1, 'requests');
    const some = failing([short(), short(), short(), short(), new RetriableError('503')]);
    await expect(retryTransient(some.fn, { attempts: 2, delayMs: () => 1, rateLimitGraceMs: 10 })).resolves.toBe('ok');
    expect(some.calls()).toBe(6);
    const endless = failing(Array.from({ length: 200 }, short));
    await expect(retryTransient(endless.fn, { attempts: 2, rateLimitGraceMs: 10 })).rejects.toThrow('429');
    expect(endless.calls()).toBe(52); // 50 free waits, then two tries
  });
});

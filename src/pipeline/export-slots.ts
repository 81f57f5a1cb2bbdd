import type { Redis } from 'ioredis';

/**
 * Intercom allows at most 5 unfinished reporting export jobs per workspace. Every worker process on
 * every host takes a slot here, in Redis, before it enqueues at Intercom, and gives it back once
 * Intercom reports the job finished. A slot is a member of a sorted set scored by its lease expiry,
 * so a slot of a killed process frees itself after `leaseMs`; the window's retried job re-takes
 * the same member (it is keyed by window), so a resumed poll never needs a second slot.
 *
 * Jobs that find every slot taken register as waiters; whoever releases a slot pops the oldest
 * waiter so it can be woken at once. Waiters therefore sleep long without wasting a free slot,
 * and a backfill of thousands of windows does not spin.
 */
const ACQUIRE = `
local key, member, now, expires, max = KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
if redis.call('ZSCORE', key, member) then
  redis.call('ZADD', key, expires, member)
  return 1
end
if redis.call('ZCARD', key) < max then
  redis.call('ZADD', key, expires, member)
  return 1
end
return 0`;

export class ExportSlots {
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly max: number,
    /** How long a slot stays taken without renewal, ms. Polls renew it. */
    private readonly leaseMs = 10 * 60_000,
  ) {}

  /** Takes (or renews) the slot of `holder`. False when all slots are taken. */
  async acquire(holder: string): Promise<boolean> {
    const now = Date.now();
    const res = await this.redis.eval(ACQUIRE, 1, this.key, holder, String(now), String(now + this.leaseMs), String(this.max));
    return res === 1;
  }

  /** Frees the slot and returns the oldest waiters (up to `wake`), to be woken by the caller. */
  async release(holder: string, wake = 3): Promise<string[]> {
    const res = await this.redis.multi().zrem(this.key, holder).zpopmin(this.waitersKey, wake).exec();
    const popped = (res?.[1]?.[1] as string[] | undefined) ?? [];
    return popped.filter((_, i) => i % 2 === 0); // ZPOPMIN answers member, score, member, score…
  }

  /** Registers `waiter` (a job id) to be woken when a slot frees; keeps its place if already waiting. */
  async addWaiter(waiter: string): Promise<void> {
    await this.redis.zadd(this.waitersKey, 'NX', Date.now(), waiter);
  }

  async removeWaiter(waiter: string): Promise<void> {
    await this.redis.zrem(this.waitersKey, waiter);
  }

  /** Slots held now (unexpired leases) and jobs waiting for one; read by the metrics. */
  async usage(): Promise<{ inUse: number; waiters: number }> {
    const res = await this.redis.multi().zcount(this.key, `(${Date.now()}`, '+inf').zcard(this.waitersKey).exec();
    return { inUse: Number(res?.[0]?.[1] ?? 0), waiters: Number(res?.[1]?.[1] ?? 0) };
  }

  private get waitersKey(): string {
    return `${this.key}:waiters`;
  }
}

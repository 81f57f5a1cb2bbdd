import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * A lock shared by every process and host on the same Redis: held with a TTL and renewed while the
 * holder works, so a killed holder frees it within `ttlMs`. Used for "one companies scroll per
 * workspace" (Intercom allows only one) and "one tickets run at a time".
 */
export class RedisLock {
  private readonly token = randomUUID();
  private timer: NodeJS.Timeout | null = null;
  private lost = false;

  constructor(
    private readonly redis: Redis,
    readonly key: string,
    /** Lease length, ms; renewed every third of it. */
    private readonly ttlMs = 30_000,
  ) {}

  /** Takes the lock if free; starts renewing it. */
  async acquire(): Promise<boolean> {
    const ok = await this.redis.set(this.key, this.token, 'PX', this.ttlMs, 'NX');
    if (ok !== 'OK') return false;
    this.timer = setInterval(
      () => {
        this.redis
          .eval(RENEW, 1, this.key, this.token, String(this.ttlMs))
          .then((r) => {
            if (r !== 1) this.lost = true;
          })
          .catch(() => {});
      },
      Math.max(1000, Math.floor(this.ttlMs / 3)),
    );
    this.timer.unref();
    return true;
  }

  /** True when a renewal found the lock gone (expired while Redis was unreachable, say). */
  get isLost(): boolean {
    return this.lost;
  }

  /** Asks Redis now (renewing the lease): true if the lock is still ours. */
  async confirm(): Promise<boolean> {
    const held = (await this.redis.eval(RENEW, 1, this.key, this.token, String(this.ttlMs))) === 1;
    if (!held) this.lost = true;
    return held;
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.redis.eval(RELEASE, 1, this.key, this.token).catch(() => {});
  }
}

import type { Redis } from 'ioredis';
import type { WindowKey } from './export-ledger.js';

/**
 * Intercom allows at most 5 unfinished reporting export jobs per workspace. This module is the one
 * place that knows how those 5 are shared; the dispatcher (dispatch-windows.ts) and the export
 * steps (advance-export.ts) both go through it. The rules:
 *
 * 1. One sorted set per Intercom workspace (the `/me` id), nothing else in the key: two
 *    installations (other queue prefix, other schema) on one workspace share its 5.
 * 2. A slot is a member scored by its lease expiry. Take one before enqueueing at Intercom
 *    (`acquire`); renew it before every status poll (`renew`) and look at the answer: a lost lease
 *    (the process was away longer than the lease and someone else took it) must be re-acquired
 *    before polling again — never poll without a slot.
 * 3. Give it back as soon as Intercom reports the job finished (`release`), and on every path that
 *    ends the window's export without a running Intercom job (fatal error, attempts exhausted,
 *    shutdown before the enqueue was recorded).
 * 4. When we stop watching an Intercom job that may still be running (export timeout, a window that
 *    failed for good while exporting), the slot is not freed: it becomes an orphan
 *    (`orphan`) that keeps its lease until it expires or until someone sees Intercom report the
 *    job finished (the reconciler, `orphans` + `releaseOrphan`).
 * 5. A slot of a killed process frees itself when its lease expires; the window's retried job takes
 *    the same member back (members are keyed by installation and window), so resuming a poll never
 *    needs a second slot.
 *
 * 6. Windows without a slot wait in the ledger, not in the queue: the dispatcher takes slots for
 *    the next windows (`free`, then `acquireMany` for the windows it claimed) before it gives them
 *    a queue job, and every release is followed by a dispatch. A window's job that finds no slot
 *    (its lease ran out while it slept) goes back to the ledger instead of waiting.
 *
 * The waiters list (`addWaiter`, popped by `release`) is kept for jobs queued by older versions.
 */
/** Free slots now (expired leases dropped first). */
const FREE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]))
return tonumber(ARGV[2]) - redis.call('ZCARD', KEYS[1])`;

/** ACQUIRE for several members at once; returns 1/0 per member, in order. */
const ACQUIRE_MANY = `
local key, now, expires, max = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
local got = {}
for i = 4, #ARGV do
  if redis.call('ZSCORE', key, ARGV[i]) or redis.call('ZCARD', key) < max then
    redis.call('ZADD', key, expires, ARGV[i])
    got[#got + 1] = 1
  else
    got[#got + 1] = 0
  end
end
if #ARGV >= 4 then redis.call('PEXPIREAT', key, expires) end
return got`;

const ACQUIRE = `
local key, member, now, expires, max = KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
if redis.call('ZSCORE', key, member) or redis.call('ZCARD', key) < max then
  redis.call('ZADD', key, expires, member)
  redis.call('PEXPIREAT', key, expires) -- no member outlives this: an abandoned workspace's key goes away
  return 1
end
return 0`;

/** Extends a lease that is still held; 0 when it expired (and may be someone else's slot now). */
const RENEW = `
local key, member, now, expires = KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
if redis.call('ZSCORE', key, member) then
  redis.call('ZADD', key, expires, member)
  redis.call('PEXPIREAT', key, expires)
  return 1
end
return 0`;

/** Turns a held slot into an orphan with the same expiry; 0 when the slot was not held any more. */
const ORPHAN = `
local key, member, orphan, now = KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
local expires = redis.call('ZSCORE', key, member)
if not expires then return 0 end
redis.call('ZREM', key, member)
redis.call('ZADD', key, expires, orphan)
return 1`;

/** Frees a slot; only a slot really freed pops waiters to wake (ZPOPMIN: member, score, …). */
const RELEASE = `
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  return redis.call('ZPOPMIN', KEYS[2], tonumber(ARGV[2]))
end
return {}`;

/** Frees a slot and returns how many are free now, for the dispatch that follows every release. */
const RELEASE_COUNT = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[2]))
return tonumber(ARGV[3]) - redis.call('ZCARD', KEYS[1])`;

const ORPHAN_PREFIX = 'orphan|';
/** Waiters re-register every time they wake; a list nobody touched for this long is abandoned. */
const WAITERS_TTL_MS = 3_600_000;

export class ExportSlots {
  readonly key: string;

  constructor(
    private readonly redis: Redis,
    /** The Intercom workspace (`/me` id): the only thing the slots are keyed by. */
    workspaceId: string,
    private readonly max: number,
    /** Who is asking (queue prefix and schema): names members and the waiters list. */
    private readonly installation: string,
    /** How long a slot stays taken without renewal, ms. Polls renew it. */
    private readonly leaseMs = 10 * 60_000,
  ) {
    this.key = exportSlotsKey(workspaceId);
  }

  /** How many unfinished exports the workspace allows (Intercom's 5). */
  get capacity(): number {
    return this.max;
  }

  /** The member naming one window of this installation. */
  holderOf(key: WindowKey): string {
    return `${this.installation}|${key.datasetId}|${key.window.start}|${key.window.end}`;
  }

  /** Takes the slot of `holder`, or renews it if already held. False when all slots are taken. */
  async acquire(holder: string): Promise<boolean> {
    const now = Date.now();
    const res = await this.redis.eval(ACQUIRE, 1, this.key, holder, String(now), String(now + this.leaseMs), String(this.max));
    return res === 1;
  }

  /** How many slots are free right now (never negative). */
  async free(): Promise<number> {
    const res = (await this.redis.eval(FREE, 1, this.key, String(Date.now()), String(this.max))) as number;
    return Math.max(0, res);
  }

  /** `acquire` for several holders in one round trip; true for each one that got (or kept) its slot. */
  async acquireMany(holders: string[]): Promise<boolean[]> {
    if (holders.length === 0) return [];
    const now = Date.now();
    const res = (await this.redis.eval(
      ACQUIRE_MANY,
      1,
      this.key,
      String(now),
      String(now + this.leaseMs),
      String(this.max),
      ...holders,
    )) as number[];
    return res.map((r) => r === 1);
  }

  /** Extends the lease of a slot `holder` still holds. False: the lease was lost; acquire before polling. */
  async renew(holder: string): Promise<boolean> {
    const now = Date.now();
    const res = await this.redis.eval(RENEW, 1, this.key, holder, String(now), String(now + this.leaseMs));
    return res === 1;
  }

  /** Frees the slot and returns the oldest waiters of this installation (up to `wake`), to be woken by the caller. */
  async release(holder: string, wake = 3): Promise<string[]> {
    const popped = (await this.redis.eval(RELEASE, 2, this.key, this.waitersKey, holder, String(wake))) as string[];
    return popped.filter((_, i) => i % 2 === 0);
  }

  /** Frees the slot (a no-op when not held) and returns how many slots are free now. */
  async releaseCountingFree(holder: string): Promise<number> {
    const res = (await this.redis.eval(RELEASE_COUNT, 1, this.key, holder, String(Date.now()), String(this.max))) as number;
    return Math.max(0, res);
  }

  /**
   * Keeps the slot for an Intercom job nobody watches any more (rule 4): it stays taken until its
   * lease expires or `releaseOrphan` is called once Intercom reports the job finished.
   */
  async orphan(holder: string, intercomJobId: string): Promise<boolean> {
    const res = await this.redis.eval(ORPHAN, 1, this.key, holder, `${ORPHAN_PREFIX}${intercomJobId}`, String(Date.now()));
    return res === 1;
  }

  /** Intercom job ids of the orphaned slots still taken. */
  async orphans(): Promise<string[]> {
    const members = await this.redis.zrangebyscore(this.key, String(Date.now()), '+inf');
    return members.filter((m) => m.startsWith(ORPHAN_PREFIX)).map((m) => m.slice(ORPHAN_PREFIX.length));
  }

  async releaseOrphan(intercomJobId: string): Promise<string[]> {
    return this.release(`${ORPHAN_PREFIX}${intercomJobId}`);
  }

  /** Slots taken right now (expired leases not counted). */
  async taken(): Promise<string[]> {
    return this.redis.zrangebyscore(this.key, String(Date.now()), '+inf');
  }

  /** Registers `waiter` (a job id) to be woken when a slot frees; keeps its place if already waiting. */
  async addWaiter(waiter: string): Promise<void> {
    await this.redis.multi().zadd(this.waitersKey, 'NX', Date.now(), waiter).pexpire(this.waitersKey, WAITERS_TTL_MS).exec();
  }

  /** This installation's waiters, oldest first. */
  async waiters(): Promise<string[]> {
    return this.redis.zrange(this.waitersKey, '0', '-1');
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
    return `${this.key}:waiters:${this.installation}`;
  }
}

/** The Redis key of a workspace's slots: deliberately outside any queue prefix (rule 1). */
export function exportSlotsKey(workspaceId: string): string {
  return `intercom-etl:export-slots:${workspaceId}`;
}

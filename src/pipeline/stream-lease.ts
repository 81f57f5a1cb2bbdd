import type pg from 'pg';
import type { EntityStream } from './sync-runs.js';

/**
 * Which run may write a companies/tickets stream, fenced in Postgres itself (`etl_sync_leases`):
 * the Redis lock keeps two scrolls from running at once, but only Postgres can make "this run still
 * owns the stream" and "merge its rows" one atomic step. A run holds a lease that it renews while
 * it is alive; another run may take the stream over (and drop the old run's staged rows) only once
 * that lease has expired; the merge transaction locks the lease row and checks it is still its own,
 * so a run that was taken over can never merge, and a live run's rows are never dropped.
 */
export class StreamLease {
  private timer: NodeJS.Timeout | null = null;
  private lostReason: string | null = null;
  private renewedAt = 0;

  constructor(
    private readonly pool: pg.Pool,
    readonly stream: EntityStream,
    readonly runId: string,
    /** Lease length, ms; renewed every third of it. A dead run's stream is free after this long. */
    private readonly ttlMs = 30_000,
  ) {}

  /**
   * Takes the lease if it is free or expired, in the caller's transaction (so the takeover and the
   * clean-up of the previous run's rows commit together). Returns the live holder otherwise.
   */
  async acquire(client: pg.PoolClient): Promise<{ holder: string; expiresAt: Date } | null> {
    const taken = await client.query(
      `INSERT INTO etl_sync_leases (stream, run_id, expires_at) VALUES ($1, $2, now() + $3 * interval '1 millisecond')
       ON CONFLICT (stream) DO UPDATE SET run_id = EXCLUDED.run_id, expires_at = EXCLUDED.expires_at
        WHERE etl_sync_leases.expires_at <= now()
       RETURNING run_id`,
      [this.stream, this.runId, this.ttlMs],
    );
    if (taken.rowCount === 0) {
      const { rows } = await client.query<{ run_id: string; expires_at: Date }>(
        'SELECT run_id, expires_at FROM etl_sync_leases WHERE stream = $1',
        [this.stream],
      );
      return { holder: rows[0]?.run_id ?? 'unknown', expiresAt: rows[0]?.expires_at ?? new Date() };
    }
    this.renewedAt = Date.now();
    this.timer = setInterval(() => void this.renew(), Math.max(500, Math.floor(this.ttlMs / 3)));
    this.timer.unref();
    return null;
  }

  /** Why the lease is no longer ours (taken over, or not renewed in time), or null while it is. */
  get lost(): string | null {
    if (this.lostReason === null && this.timer !== null && Date.now() - this.renewedAt >= this.ttlMs) {
      this.lostReason = `its Postgres lease could not be renewed for ${this.ttlMs} ms (Postgres unreachable?)`;
    }
    return this.lostReason;
  }

  /**
   * In the merge transaction: locks the lease row until commit and checks it is still this run's
   * and unexpired. A takeover waits for the row lock, so it cannot happen between check and commit.
   */
  async verify(client: pg.PoolClient): Promise<string | null> {
    const { rows } = await client.query<{ run_id: string; live: boolean }>(
      'SELECT run_id, expires_at > now() AS live FROM etl_sync_leases WHERE stream = $1 FOR UPDATE',
      [this.stream],
    );
    const row = rows[0];
    if (!row || row.run_id !== this.runId) return `run ${row?.run_id ?? '(none)'} has taken the ${this.stream} stream over`;
    if (!row.live) return `its Postgres lease expired (the process stalled or Postgres was unreachable for ${this.ttlMs} ms)`;
    return this.lost;
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.pool.query('DELETE FROM etl_sync_leases WHERE stream = $1 AND run_id = $2', [this.stream, this.runId]).catch(() => {});
  }

  private async renew(): Promise<void> {
    try {
      const res = await this.pool.query(
        `UPDATE etl_sync_leases SET expires_at = now() + $3 * interval '1 millisecond'
          WHERE stream = $1 AND run_id = $2 AND expires_at > now()`,
        [this.stream, this.runId, this.ttlMs],
      );
      if (res.rowCount === 0) this.lostReason ??= `its Postgres lease was taken over or expired`;
      else this.renewedAt = Date.now();
    } catch {
      // Postgres unreachable: `lost` notices once the lease has run out.
    }
  }
}

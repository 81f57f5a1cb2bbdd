import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { withClient } from '../db/pool.js';

type Doc = Record<string, unknown>;

/**
 * Staging for a companies/tickets run. `push()` only appends to memory and returns at once, so the
 * page fetcher never waits for Postgres (a companies scroll expires after 60 s idle); a background
 * loop COPYs whatever has accumulated into `etl_entity_stage` in batches. The run merges the staged
 * rows at its end, in one transaction.
 */
export class EntityStage {
  private buffer: Doc[] = [];
  private flushing: Promise<void> | null = null;
  private failure: unknown = null;
  staged = 0;

  constructor(
    private readonly pool: pg.Pool,
    readonly runId: string,
  ) {}

  /** Queues documents for staging. Throws if an earlier background flush failed. */
  push(docs: Doc[]): void {
    if (this.failure) throw this.failure;
    if (docs.length === 0) return;
    for (const d of docs) this.buffer.push(d);
    // Reset through .finally, which runs after this assignment: were flushLoop to finish
    // synchronously and reset the field itself, a stale settled promise would stay behind and
    // drain() would spin on it forever.
    this.flushing ??= this.flushLoop().finally(() => {
      this.flushing = null;
    });
  }

  /** Waits until everything pushed is in Postgres. */
  async drain(): Promise<number> {
    while (this.flushing) await this.flushing;
    if (this.failure) throw this.failure;
    return this.staged;
  }

  /** Deletes this run's staged rows (after a merge, or when the run is abandoned). */
  async clear(): Promise<void> {
    while (this.flushing) await this.flushing.catch(() => {});
    this.buffer = [];
    await this.pool.query('DELETE FROM etl_entity_stage WHERE run_id = $1', [this.runId]);
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.buffer.length > 0 && !this.failure) {
        const batch = this.buffer;
        this.buffer = [];
        await this.copy(batch);
        this.staged += batch.length;
      }
    } catch (err) {
      this.failure = err;
    }
  }

  private async copy(batch: Doc[]): Promise<void> {
    const runId = escapeCopyText(this.runId);
    // COPY text format: tab-separated, backslash escapes. JSON.stringify never emits raw tabs or
    // newlines, so doubling backslashes is the only escaping needed.
    const lines = batch.map((d) => `${runId}\t${escapeCopyText(String(d.id ?? ''))}\t${escapeCopyText(JSON.stringify(d))}\n`);
    await withClient(this.pool, async (client) => {
      const copy = client.query(copyFrom('COPY etl_entity_stage (run_id, entity_id, doc) FROM STDIN'));
      await pipeline(Readable.from(lines), copy);
    });
  }
}

function escapeCopyText(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

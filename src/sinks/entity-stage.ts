import type pg from 'pg';
import { ENTITY_COLUMNS, stagingStatement, type EntityStream } from './entity-columns.js';

type Doc = Record<string, unknown>;

export interface StageLimits {
  /** Pages held in memory at most — waiting, plus being staged. Default 20 (2,000 companies). */
  maxBufferedPages: number;
  /**
   * Bytes of JSON held at most, waiting plus being staged: a page of tickets (150, ~5 kB each)
   * is seven times a page of companies. Default 4 MiB (about 5 pages of tickets). The fetcher may
   * overshoot by one page (room is checked before a page is fetched).
   */
  maxBufferedBytes: number;
}

export const DEFAULT_STAGE_LIMITS: StageLimits = { maxBufferedPages: 20, maxBufferedBytes: 4 * 1024 * 1024 };

const COMMA = Buffer.from(',');
/** jsonb's binary input format (a Buffer parameter is sent binary): a version byte, 1, then the JSON text. */
const JSONB_ARRAY_START = Buffer.from([1, 0x5b]);
const ARRAY_END = Buffer.from(']');

/** The staging statement of each stream, built once. */
const STAGING_SQL: Record<EntityStream, string> = {
  companies: stagingStatement(ENTITY_COLUMNS.companies),
  tickets: stagingStatement(ENTITY_COLUMNS.tickets),
};

/** Deletes the staged rows of these runs (after a merge, or when a run is abandoned). */
export async function deleteStagedRows(db: pg.Pool | pg.PoolClient, stream: EntityStream, runIds: string[]): Promise<void> {
  await db.query(`DELETE FROM ${ENTITY_COLUMNS[stream].stageTable} WHERE run_id = ANY($1)`, [runIds]);
}

/**
 * Staging for a companies/tickets run. `push()` only appends to memory and returns at once, and a
 * background loop sends what has accumulated to Postgres in batches, where each batch is unpacked
 * from JSON into typed rows of the stream's stage table (`etl_company_stage`, `etl_ticket_stage`)
 * while the fetcher goes on; the run merges the staged rows at its end, in one transaction, with
 * nothing left to unpack (entity-merge.ts). Memory is bounded: the fetcher calls
 * `waitForRoom()` before fetching another page, which waits while `maxBufferedPages` pages or
 * `maxBufferedBytes` of JSON are held (a companies scroll gives up waiting before it would expire;
 * see sync-companies.ts).
 */
export class EntityStage {
  /**
   * Pages waiting to be staged, each held as its documents' JSON (UTF-8, comma-separated) and
   * their count: a page of parsed tickets takes several times the memory of its text, and the text
   * is what the staging statement is sent anyway. Bytes, not one string: each document is
   * stringified alone and copied out of V8's heap, because a string of a whole page or batch
   * (100 kB–4 MB) goes straight into V8's large-object space, which only a full GC frees — measured:
   * tens of MB of such garbage between full GCs at 100 pages a second.
   */
  private pages: Array<{ json: Buffer; count: number }> = [];
  private inFlightPages = 0;
  private bufferedBytes = 0;
  private flushing: Promise<void> | null = null;
  private failure: unknown = null;
  private roomWaiters: Array<() => void> = [];
  private readonly limits: StageLimits;
  staged = 0;
  /** Observability (tests, logs): the most pages ever held at once, and how often the fetcher had to wait. */
  readonly counters = { peakBufferedPages: 0, waitsForRoom: 0 };

  constructor(
    private readonly pool: pg.Pool,
    readonly stream: EntityStream,
    readonly runId: string,
    limits: Partial<StageLimits> = {},
  ) {
    this.limits = { ...DEFAULT_STAGE_LIMITS, ...limits };
  }

  /** Pages in memory now: waiting to be staged, or in the batch being staged. */
  get bufferedPages(): number {
    return this.pages.length + this.inFlightPages;
  }

  /** True while the fetcher is blocked in waitForRoom(). */
  get waitingForRoom(): boolean {
    return this.roomWaiters.length > 0;
  }

  /** Queues one page of documents for staging. Throws if an earlier background flush failed. */
  push(docs: Doc[]): void {
    if (this.failure) throw this.failure;
    if (docs.length === 0) return;
    const parts: Buffer[] = [];
    for (const doc of docs) {
      if (parts.length > 0) parts.push(COMMA);
      parts.push(Buffer.from(JSON.stringify(doc)));
    }
    const json = Buffer.concat(parts);
    this.pages.push({ json, count: docs.length });
    this.bufferedBytes += json.length;
    this.counters.peakBufferedPages = Math.max(this.counters.peakBufferedPages, this.bufferedPages);
    // Reset through .finally, which runs after this assignment: were flushLoop to finish
    // synchronously and reset the field itself, a stale settled promise would stay behind and
    // drain() would spin on it forever.
    this.flushing ??= this.flushLoop().finally(() => {
      this.flushing = null;
    });
  }

  /**
   * Resolves true once another page fits (at once when it already does), false if `timeoutMs`
   * passes first. Throws if a background flush failed, or if `signal` aborts.
   */
  async waitForRoom(timeoutMs = Infinity, signal?: AbortSignal): Promise<boolean> {
    if (this.failure) throw this.failure;
    if (this.hasRoom()) return true;
    this.counters.waitsForRoom += 1;
    let timer: NodeJS.Timeout | undefined;
    let wake!: () => void;
    let giveUp!: () => void;
    const room = new Promise<boolean>((resolve) => {
      wake = () => resolve(true);
      giveUp = () => resolve(false);
      this.roomWaiters.push(wake);
      if (Number.isFinite(timeoutMs)) timer = setTimeout(giveUp, timeoutMs);
      signal?.addEventListener('abort', giveUp, { once: true });
    });
    try {
      const fits = await room;
      signal?.throwIfAborted();
      if (this.failure) throw this.failure;
      return fits;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', giveUp);
      this.roomWaiters = this.roomWaiters.filter((w) => w !== wake);
    }
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
    this.pages = [];
    this.bufferedBytes = 0;
    await deleteStagedRows(this.pool, this.stream, [this.runId]);
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.pages.length > 0 && !this.failure) {
        const batch = this.pages.splice(0, this.batchSize());
        const bytes = batch.reduce((n, page) => n + page.json.length, 0);
        const docs = Buffer.concat([
          JSONB_ARRAY_START,
          ...batch.flatMap((page, i) => (i === 0 ? [page.json] : [COMMA, page.json])),
          ARRAY_END,
        ]);
        this.inFlightPages = batch.length;
        await this.pool.query(STAGING_SQL[this.stream], [this.runId, docs]);
        this.staged += batch.reduce((n, page) => n + page.count, 0);
        this.inFlightPages = 0;
        this.bufferedBytes -= bytes;
        this.wakeWaiters();
      }
    } catch (err) {
      this.failure = err;
      this.inFlightPages = 0;
    }
    this.wakeWaiters();
  }

  private hasRoom(): boolean {
    return this.bufferedPages < this.limits.maxBufferedPages && this.bufferedBytes < this.limits.maxBufferedBytes;
  }

  /** Pages for the next batch: at most half of each allowance (at least one page), so the fetcher can fill the other half meanwhile. */
  private batchSize(): number {
    const maxPages = Math.max(1, Math.floor(this.limits.maxBufferedPages / 2));
    let pages = 0;
    let bytes = 0;
    while (
      pages < Math.min(maxPages, this.pages.length) &&
      (pages === 0 || bytes + this.pages[pages]!.json.length <= this.limits.maxBufferedBytes / 2)
    ) {
      bytes += this.pages[pages]!.json.length;
      pages += 1;
    }
    return pages;
  }

  private wakeWaiters(): void {
    for (const wake of this.roomWaiters) wake();
  }
}

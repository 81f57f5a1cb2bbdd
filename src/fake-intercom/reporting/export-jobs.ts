import { randomBytes } from 'node:crypto';
import type { ExportSettings } from '../options.js';
import { hasAnyRow, type RowSelection } from './row-source.js';

/**
 * Reporting export jobs and their lazy state machine: a job's status is computed from the clock on
 * every read (no timers), so an injected clock can step a job through its life instantly.
 *
 *   pending ──(latency/2)──▶ in_progress ──(latency)──▶ complete | failed | no_data
 *
 * `in_progress` is optional (settings.inProgressPhase); `failed` comes from failNextExports();
 * `no_data` only in noDataMode for a job without rows (otherwise such a job completes with a
 * header-only file).
 */

export type JobStatus = 'pending' | 'in_progress' | 'complete' | 'failed' | 'no_data';

export interface ExportJob {
  id: string;
  selection: RowSelection;
  enqueuedAtMs: number;
  latencyMs: number;
  inProgressPhase: boolean;
  outcome: 'complete' | 'failed';
  /** Set by expireDownloads(): the file is gone although the TTL has not passed. */
  forcedExpired: boolean;
  /** Cached answer to "does the job have rows?" (only computed in noDataMode). */
  hasRows?: boolean;
}

export interface JobCounters {
  enqueued: number;
  maxUnfinishedSeen: number;
  rejectedByJobLimit: number;
}

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Opaque, unique, URL-safe and without `:` (clients may use `:` in their own composite keys). */
function newJobIdentifier(): string {
  return [...randomBytes(20)].map((b) => ID_ALPHABET[b % ID_ALPHABET.length]).join('');
}

export class ExportJobStore {
  private readonly jobs = new Map<string, ExportJob>();
  private failuresToInject = 0;
  readonly counters: JobCounters = { enqueued: 0, maxUnfinishedSeen: 0, rejectedByJobLimit: 0 };

  constructor(
    private readonly now: () => number,
    private readonly settings: ExportSettings,
  ) {}

  /** Jobs not yet finished (pending or in progress): what the 5-job limit counts. */
  unfinishedCount(): number {
    const nowMs = this.now();
    let count = 0;
    for (const job of this.jobs.values()) if (nowMs < completedAtMs(job)) count++;
    return count;
  }

  hasFreeSlot(): boolean {
    return this.unfinishedCount() < this.settings.maxUnfinishedJobs;
  }

  create(selection: RowSelection): ExportJob {
    let id = newJobIdentifier();
    while (this.jobs.has(id)) id = newJobIdentifier();
    const job: ExportJob = {
      id,
      selection,
      enqueuedAtMs: this.now(),
      latencyMs: this.latencyFor(selection),
      inProgressPhase: this.settings.inProgressPhase,
      outcome: this.failuresToInject > 0 ? 'failed' : 'complete',
      forcedExpired: false,
    };
    if (this.failuresToInject > 0) this.failuresToInject--;
    this.jobs.set(id, job);
    this.counters.enqueued++;
    this.counters.maxUnfinishedSeen = Math.max(this.counters.maxUnfinishedSeen, this.unfinishedCount());
    return job;
  }

  /** The latency of a new job: the fixed one, or the dataset's own within latencyRangeMs. */
  private latencyFor(selection: RowSelection): number {
    const range = this.settings.latencyRangeMs;
    if (!range) return this.settings.latencyMs;
    return Math.round(datasetLatencyMs(selection.dataset.id, range) * (0.95 + Math.random() * 0.1));
  }

  /**
   * Every job's life on the fake's clock (enqueue, finish), for benchmarks: with these the share of
   * time during which N jobs were unfinished can be computed without parsing logs.
   */
  timeline(): Array<{ id: string; datasetId: string; enqueuedAtMs: number; finishedAtMs: number }> {
    return [...this.jobs.values()].map((j) => ({
      id: j.id,
      datasetId: j.selection.dataset.id,
      enqueuedAtMs: j.enqueuedAtMs,
      finishedAtMs: completedAtMs(j),
    }));
  }

  get(id: string): ExportJob | undefined {
    return this.jobs.get(id);
  }

  failNext(count: number): void {
    if (!Number.isInteger(count) || count < 0) throw new Error(`failNextExports count must be a non-negative integer, got ${count}`);
    this.failuresToInject += count;
  }

  status(job: ExportJob): JobStatus {
    const elapsed = this.now() - job.enqueuedAtMs;
    if (elapsed < job.latencyMs) return job.inProgressPhase && elapsed >= job.latencyMs / 2 ? 'in_progress' : 'pending';
    if (job.outcome === 'failed') return 'failed';
    if (this.settings.noDataMode) {
      job.hasRows ??= hasAnyRow(job.selection);
      if (!job.hasRows) return 'no_data';
    }
    return 'complete';
  }

  /** Unix ms after which the download is gone (the TTL counts from completion, like content exports). */
  downloadExpiresAtMs(job: ExportJob): number {
    return completedAtMs(job) + this.settings.downloadTtlMs;
  }

  /** A finished, successful job whose file is still there. */
  isDownloadable(job: ExportJob): boolean {
    return this.status(job) === 'complete' && !job.forcedExpired && this.now() < this.downloadExpiresAtMs(job);
  }

  /** Expire the download of every job finished by now; running jobs keep theirs. */
  expireFinished(): void {
    const nowMs = this.now();
    for (const job of this.jobs.values()) if (nowMs >= completedAtMs(job)) job.forcedExpired = true;
  }
}

function completedAtMs(job: ExportJob): number {
  return job.enqueuedAtMs + job.latencyMs;
}

/**
 * A dataset's own export latency within `range` (before the ±5 % of each job): fixed by its id, as
 * a bigger dataset is slower. Exported for the poll-timing simulation (bench/poll-timing-sim.ts).
 */
export function datasetLatencyMs(datasetId: string, range: [number, number]): number {
  let h = 0;
  for (let i = 0; i < datasetId.length; i++) h = (h * 31 + datasetId.charCodeAt(i)) >>> 0;
  return range[0] + ((h % 1000) / 999) * (range[1] - range[0]);
}

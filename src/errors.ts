/**
 * The one error taxonomy of the product. Everything that can go wrong is one of these four kinds,
 * and `src/jobs/job-outcome.ts` maps them onto BullMQ in exactly one place:
 *
 * | class              | meaning                                   | BullMQ                                   |
 * |--------------------|-------------------------------------------|------------------------------------------|
 * | RetriableError     | transient: 5xx, network, timeout          | rethrown: uses an attempt, with backoff  |
 * | RateLimitedError   | 429: wait `retryAfterMs`, then try again  | queue.rateLimit / moveToDelayed          |
 * | NotReadyError      | work is in progress elsewhere: look later | moveToDelayed + DelayedError             |
 * | FatalError         | retrying cannot help (401, 400, bad data) | UnrecoverableError: fails at once        |
 *
 * Messages name the thing that failed and what to do about it; they never contain secrets.
 */

import { redactSecrets } from './redact.js';

export type ErrorKind = 'retriable' | 'rate_limited' | 'not_ready' | 'fatal';

export interface HttpDetails {
  /** HTTP status, when the error came from a response. */
  status?: number;
  /** Intercom's error code (`errors[0].code`), e.g. `unauthorized`, `rate_limit_exceeded`. */
  code?: string;
  /** Intercom's `request_id`, for support tickets. */
  requestId?: string;
}

export abstract class EtlError extends Error {
  abstract readonly kind: ErrorKind;
  readonly status?: number;
  readonly code?: string;
  readonly requestId?: string;

  constructor(message: string, details: HttpDetails & { cause?: unknown } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    if (details.status !== undefined) this.status = details.status;
    if (details.code !== undefined) this.code = details.code;
    if (details.requestId !== undefined) this.requestId = details.requestId;
  }
}

/** Transient failure: try again later with backoff (5xx, network error, timeout, dropped DB connection). */
export class RetriableError extends EtlError {
  readonly kind = 'retriable' as const;
}

/**
 * Intercom answered 429. `scope` tells which limit:
 * - `requests`: the per-10-second request budget; clears within seconds.
 * - `export_jobs`: "5 pending reporting dataset export jobs"; clears only when a job finishes.
 */
export class RateLimitedError extends EtlError {
  readonly kind = 'rate_limited' as const;
  constructor(
    message: string,
    readonly retryAfterMs: number,
    readonly scope: 'requests' | 'export_jobs',
    details: HttpDetails & { cause?: unknown } = {},
  ) {
    super(message, details);
  }
}

/** The work is not finished elsewhere yet (an Intercom export still running, no free export slot). */
export class NotReadyError extends EtlError {
  readonly kind = 'not_ready' as const;
  constructor(
    message: string,
    readonly pollAfterMs: number,
  ) {
    super(message);
  }
}

/** Retrying cannot help: bad token, bad request, bad data. Fails the job at once. */
export class FatalError extends EtlError {
  readonly kind = 'fatal' as const;
}

/** 404 from Intercom. Fatal on its own; the export pipeline turns it into "re-enqueue" where that is right. */
export class NotFoundError extends FatalError {}

/** Configuration is invalid. `problems` lists every problem found, one sentence each. */
export class ConfigError extends FatalError {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export function isEtlError(err: unknown): err is EtlError {
  return err instanceof EtlError;
}

/** A short, single-line description of any thrown value, safe for logs and the ledger (secrets redacted). */
export function describeError(err: unknown): string {
  return redactSecrets(err instanceof Error ? err.message : String(err));
}

import { STATUS_CODES } from 'node:http';
import { FatalError, NotFoundError, RateLimitedError, RetriableError, type EtlError, type HttpDetails } from '../errors.js';

/**
 * Turns Intercom's failures into the error taxonomy of `src/errors.ts`. Every message names the call
 * (method + path, never the query or headers) and carries Intercom's own explanation, because that
 * explanation is usually the only thing an operator needs ("attribute_ids invalid for …").
 */

/** What we could read out of an error response body. */
export interface IntercomErrorBody {
  /** `errors[0].code`, e.g. `unauthorized`. */
  code?: string;
  /** Every `errors[].message` (or code when a message is null), in order. */
  messages: string[];
  requestId?: string;
}

/** What the HTTP client knows about a failed response. */
export interface FailedResponse {
  method: string;
  /** URL path only: queries may carry ids we would rather not repeat, headers never appear. */
  path: string;
  status: number;
  statusText: string;
  headers: Headers;
  /** The body as text (possibly truncated); may be empty or not JSON at all. */
  bodyText: string;
}

export interface ClassifyOptions {
  /** Clock, Unix ms. */
  now: number;
  /** Back-off for the "5 pending reporting dataset export jobs" 429, in ms. */
  exportJobLimitBackoffMs: number;
  /** Removes secrets from any text that came from outside before it goes into a message. */
  redact: (text: string) => string;
}

/** Back-off when a 429 says nothing about when to come back: one 10-second window. */
const DEFAULT_RATE_LIMIT_WAIT_MS = 10_000;
/** Never tell a caller to retry sooner than this: a reset time in the past means clock skew. */
const MIN_RATE_LIMIT_WAIT_MS = 1_000;
const EXPORT_JOB_LIMIT = /pending reporting dataset export jobs/i;

/**
 * Reads `{type:'error.list', request_id, errors:[{code,message}]}` without trusting it: proxies and
 * load balancers answer with HTML or plain text, and Intercom itself sometimes uses `{type:'error'}`.
 */
export function parseErrorBody(text: string): IntercomErrorBody {
  const trimmed = text.trim();
  if (trimmed === '') return { messages: [] };
  let json: unknown;
  try {
    json = JSON.parse(trimmed);
  } catch {
    // Short plain text is worth showing; an HTML error page is not.
    const plain = trimmed.startsWith('<') ? '' : trimmed.replace(/\s+/g, ' ').slice(0, 200);
    return { messages: plain === '' ? [] : [plain] };
  }
  if (!isObject(json)) return { messages: [] };

  const result: IntercomErrorBody = { messages: [] };
  if (typeof json.request_id === 'string' && json.request_id !== '') result.requestId = json.request_id;
  const errors = Array.isArray(json.errors) ? json.errors.filter(isObject) : [];
  for (const e of errors) {
    const code = typeof e.code === 'string' && e.code !== '' ? e.code : undefined;
    if (result.code === undefined && code !== undefined) result.code = code;
    const message = typeof e.message === 'string' && e.message !== '' ? e.message : code;
    if (message !== undefined) result.messages.push(message);
  }
  if (errors.length === 0 && typeof json.message === 'string' && json.message !== '') {
    result.messages.push(json.message);
    if (typeof json.code === 'string' && json.code !== '') result.code = json.code;
  }
  return result;
}

/** The taxonomy error for a non-2xx response. */
export function errorForResponse(res: FailedResponse, opts: ClassifyOptions): EtlError {
  const body = parseErrorBody(res.bodyText);
  const messages = body.messages.map((m) => opts.redact(m));
  const code = body.code === undefined ? undefined : opts.redact(body.code);
  // The reason phrase is the server's free text too: a proxy may echo request headers into it.
  const label = `${res.status} ${code ?? (opts.redact(res.statusText) || STATUS_CODES[res.status] || 'error')}`;
  const said = messages.join('; ');
  const call = `${res.method} ${res.path}`;
  const details: HttpDetails = { status: res.status };
  if (code !== undefined) details.code = code;
  if (body.requestId !== undefined) details.requestId = opts.redact(body.requestId);

  const { status } = res;
  if (status === 429) {
    if (EXPORT_JOB_LIMIT.test(said)) {
      // Not a per-second limit: a slot frees only when one of the workspace's jobs finishes.
      const retryAfter = retryAfterHeaderMs(res.headers, opts.now) ?? 0;
      const waitMs = Math.max(opts.exportJobLimitBackoffMs, retryAfter);
      return new RateLimitedError(
        `Intercom ${call} refused a new export (${label}: ${said}); retry in ${waitMs} ms`,
        waitMs,
        'export_jobs',
        details,
      );
    }
    const waitMs = requestLimitWaitMs(res.headers, opts.now);
    return new RateLimitedError(
      `Intercom ${call} rate limited (${label}${said ? `: ${said}` : ''}); retry in ${waitMs} ms`,
      waitMs,
      'requests',
      details,
    );
  }
  if (status === 408 || status >= 500) {
    return new RetriableError(`Intercom ${call} failed: ${label}${said ? ` (${said})` : ''}`, details);
  }
  if (status === 401) {
    return new FatalError(
      `Intercom rejected the access token (${label}${said ? `: ${said}` : ''}). ` + 'Check INTERCOM_ACCESS_TOKEN and the region/base URL.',
      details,
    );
  }
  if (status === 403) {
    return new FatalError(
      `Intercom refused ${call} (${label}${said ? `: ${said}` : ''}). ` +
        "Check the app's permissions (the reporting export needs the export_reporting_data scope) " +
        "and that the workspace's plan includes this feature.",
      details,
    );
  }
  if (status === 404) {
    return new NotFoundError(`Intercom ${call} found nothing (${label})${said ? `: ${said}` : ''}`, details);
  }
  return new FatalError(`Intercom rejected ${call} (${label})${said ? `: ${said}` : ''}`, details);
}

/** The taxonomy error for a request that got no response: network failure, timeout or abort. */
export function errorForNoResponse(
  method: string,
  path: string,
  why: { timedOutAfterMs?: number; aborted?: boolean; cause?: unknown },
  redact: (text: string) => string,
): RetriableError {
  const call = `${method} ${path}`;
  if (why.timedOutAfterMs !== undefined) {
    return new RetriableError(`Intercom ${call} timed out after ${why.timedOutAfterMs} ms`);
  }
  if (why.aborted) return new RetriableError(`Intercom ${call} was aborted by the caller`);
  const cause = why.cause;
  return new RetriableError(`Intercom ${call} failed: network error (${redact(describeCause(cause))})`, {
    cause: safeCause(cause, redact),
  });
}

/** `fetch failed` alone says nothing: undici puts the useful part (ECONNREFUSED …) in `cause`. */
function describeCause(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const inner = err.cause;
  if (inner instanceof Error) {
    const code = (inner as { code?: unknown }).code;
    return `${typeof code === 'string' ? `${code}: ` : ''}${inner.message}`;
  }
  return err.message;
}

/** Keeps the original error for debugging unless some text in it holds a secret. */
function safeCause(err: unknown, redact: (text: string) => string): unknown {
  const text = err instanceof Error ? `${err.message}\n${err.stack ?? ''}\n${String(err.cause)}` : String(err);
  return redact(text) === text ? err : new Error(redact(describeCause(err)));
}

/** `Retry-After` in seconds or as an HTTP date; Intercom is not known to send it, but proxies do. */
function retryAfterHeaderMs(headers: Headers, now: number): number | null {
  const value = headers.get('retry-after')?.trim();
  if (!value) return null;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.max(MIN_RATE_LIMIT_WAIT_MS, Math.ceil(Number(value) * 1000));
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(MIN_RATE_LIMIT_WAIT_MS, at - now);
}

function requestLimitWaitMs(headers: Headers, now: number): number {
  const retryAfter = retryAfterHeaderMs(headers, now);
  if (retryAfter !== null) return retryAfter;
  const reset = Number(headers.get('x-ratelimit-reset') ?? NaN);
  if (Number.isFinite(reset) && reset > 0) return Math.max(MIN_RATE_LIMIT_WAIT_MS, reset * 1000 - now);
  return DEFAULT_RATE_LIMIT_WAIT_MS;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, FatalError, RateLimitedError, RetriableError } from '../errors.js';
import type { Logger } from '../log.js';
import { redactSecrets, registerSecret } from '../redact.js';
import { intercomRateLimited, recordIntercomResponse } from '../metrics.js';
import { errorForNoResponse, errorForResponse } from './http-errors.js';
import { RateLimitTracker } from './rate-limit.js';
import type { RateLimitState } from './types.js';
import { WebBodyReadable } from './web-body-stream.js';

/** Options shared by `IntercomHttp` and `IntercomClient`. */
export interface IntercomHttpOptions {
  /** Regional API origin, e.g. `https://api.intercom.io` (see `REGION_BASE_URLS`). Required; a path prefix is kept. */
  baseUrl: string;
  /** Access token, sent only as `Authorization: Bearer …`; never logged nor put into errors. Required. */
  token: string;
  /** `Intercom-Version` header. Default `'2.14'` (the first version with the reporting export). */
  version?: string;
  /**
   * Milliseconds a request may take. JSON calls: the whole exchange. Downloads: until the response
   * headers, then the longest wait for the next body chunk (a large export may take minutes in total).
   * Default 30000.
   */
  timeoutMs?: number;
  /** OAuth client id of the app, sent as `client_id` on export status calls. Default: not sent. */
  clientId?: string;
  /** Logger for debug lines (method, path, status, ms, budget left). Default: no logging. */
  log?: Logger;
  /** Milliseconds to back off after "5 pending reporting dataset export jobs" (429). Default 30000. */
  exportJobLimitBackoffMs?: number;
  /** Longest wait in ms before sending when the rate-limit window is used up. Default 15000. */
  maxRateLimitWaitMs?: number;
}

export interface HttpRequest {
  method: 'GET' | 'POST';
  /** Path under the base URL (`/me`), or an absolute URL on the base URL's origin. */
  path: string;
  /** Query parameters; `undefined` values are left out. */
  query?: Record<string, string | undefined>;
  /** Sent as JSON. */
  body?: unknown;
  signal?: AbortSignal;
}

/** A successful streaming response: the body is not read yet. */
export interface HttpStream {
  status: number;
  headers: Headers;
  body: Readable;
  /** Bytes received from the network so far. */
  bytesReceived(): number;
}

const USER_AGENT = 'intercom-reporting-etl';
/** Error bodies are small; a misbehaving proxy's is not worth holding in memory. */
const MAX_ERROR_BODY_CHARS = 64 * 1024;

/**
 * The one place that talks HTTP to Intercom: auth and version headers, timeouts, the rate-limit
 * budget, and the translation of every failure into the error taxonomy.
 */
export class IntercomHttp {
  readonly baseUrl: string;
  readonly version: string;
  readonly timeoutMs: number;
  readonly clientId: string | undefined;
  readonly exportJobLimitBackoffMs: number;
  readonly maxRateLimitWaitMs: number;
  // Private (#) so that util.inspect, console.log and JSON.stringify of the client cannot show it.
  readonly #token: string;
  readonly #log: Logger | undefined;
  readonly #origin: string;
  readonly #limits = new RateLimitTracker();

  constructor(options: IntercomHttpOptions) {
    const token = (options.token ?? '').trim();
    // fetch echoes an invalid header value in its error message, so reject bad tokens up front.
    if (!/^[\x21-\x7e]+$/.test(token)) {
      throw new ConfigError(['The Intercom access token is empty or contains spaces or control characters.']);
    }
    let base: URL;
    try {
      base = new URL(options.baseUrl);
    } catch {
      throw new ConfigError([`The Intercom base URL is not a valid URL: ${JSON.stringify(options.baseUrl)}.`]);
    }
    if (base.protocol !== 'https:' && base.protocol !== 'http:') {
      throw new ConfigError([`The Intercom base URL must be http(s): ${JSON.stringify(options.baseUrl)}.`]);
    }
    this.#token = token;
    registerSecret(token);
    this.baseUrl = `${base.origin}${base.pathname.replace(/\/+$/, '')}`;
    this.#origin = base.origin;
    this.version = options.version ?? '2.14';
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.clientId = options.clientId;
    this.#log = options.log;
    this.exportJobLimitBackoffMs = options.exportJobLimitBackoffMs ?? 30_000;
    this.maxRateLimitWaitMs = options.maxRateLimitWaitMs ?? 15_000;
  }

  /** The budget Intercom reported on the last authenticated response, or null before one. */
  get rateLimit(): RateLimitState | null {
    return this.#limits.state;
  }

  /** True when `url` is absolute and on the base URL's origin (the only place the token may go). */
  isSameOrigin(url: string): boolean {
    try {
      return new URL(url).origin === this.#origin;
    } catch {
      return false;
    }
  }

  /** Sends a JSON request and returns the parsed JSON body of a 2xx response. */
  async requestJson(req: HttpRequest): Promise<unknown> {
    const url = this.#url(req);
    const call = { method: req.method, path: url.pathname };
    await this.#waitForBudget(call, req.signal);

    // The timeout covers the whole exchange, body included: JSON bodies are small.
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = req.signal ? AbortSignal.any([timeout, req.signal]) : timeout;
    const why = () => (req.signal?.aborted ? { aborted: true } : timeout.aborted ? { timedOutAfterMs: this.timeoutMs } : {});
    const started = Date.now();

    const res = await this.#fetch(url, req, 'application/json', signal, call, why);
    if (!res.ok) throw await this.#failure(res, call, started);
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw errorForNoResponse(call.method, call.path, { ...why(), cause: err }, this.#redact);
    }
    this.#logDone(call, res.status, started);
    if (text.trim() === '') return null;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // A 2xx that is not JSON is a proxy or a truncated response, not a decision by Intercom.
      throw new RetriableError(`Intercom ${call.method} ${call.path} returned a body that is not JSON`, {
        status: res.status,
      });
    }
  }

  /**
   * Sends a GET expecting a binary body and returns it as a stream once a 2xx status arrived;
   * error statuses are classified (and thrown) before anything is returned.
   */
  async openStream(req: HttpRequest): Promise<HttpStream> {
    const url = this.#url(req);
    const call = { method: req.method, path: url.pathname };
    await this.#waitForBudget(call, req.signal);

    // Not AbortSignal.timeout: that would cut a long download short. The timer bounds the wait for
    // headers here, then WebBodyReadable bounds each wait for body bytes.
    const controller = new AbortController();
    const signal = req.signal ? AbortSignal.any([controller.signal, req.signal]) : controller.signal;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    const why = () => (req.signal?.aborted ? { aborted: true } : timedOut ? { timedOutAfterMs: this.timeoutMs } : {});
    const started = Date.now();

    let res: Response;
    try {
      res = await this.#fetch(url, req, 'application/octet-stream', signal, call, why);
      if (!res.ok) throw await this.#failure(res, call, started);
    } finally {
      clearTimeout(timer);
    }
    this.#logDone(call, res.status, started);

    const body = new WebBodyReadable(res.body, {
      idleTimeoutMs: this.timeoutMs,
      ...(req.signal ? { callerSignal: req.signal } : {}),
      abort: () => controller.abort(),
      errorFor: (failure) => errorForNoResponse(call.method, call.path, failure, this.#redact),
      onEnd: (bytes) => this.#log?.debug({ ...call, bytes, ms: Date.now() - started }, 'intercom download finished'),
    });
    return { status: res.status, headers: res.headers, body, bytesReceived: () => body.bytesReceived };
  }

  async #fetch(
    url: URL,
    req: HttpRequest,
    accept: string,
    signal: AbortSignal,
    call: { method: string; path: string },
    why: () => { aborted?: boolean; timedOutAfterMs?: number },
  ): Promise<Response> {
    const headers: Record<string, string> = {
      Authorization: `Bearer ${this.#token}`,
      'Intercom-Version': this.version,
      Accept: accept,
      'User-Agent': USER_AGENT,
    };
    if (req.body !== undefined) headers['Content-Type'] = 'application/json';
    try {
      const res = await fetch(url, {
        method: req.method,
        headers,
        ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
        signal,
        // Never cache: scroll endpoints answer identical URLs with different pages.
        cache: 'no-store',
      });
      this.#limits.update(res.headers);
      return res;
    } catch (err) {
      this.#log?.debug({ ...call, error: this.#redact(String(err)) }, 'intercom request failed');
      throw errorForNoResponse(call.method, call.path, { ...why(), cause: err }, this.#redact);
    }
  }

  /** Reads the error body (bounded) and classifies the response. */
  async #failure(res: Response, call: { method: string; path: string }, started: number): Promise<Error> {
    let bodyText = '';
    try {
      bodyText = (await res.text()).slice(0, MAX_ERROR_BODY_CHARS);
    } catch {
      // The status alone still classifies the failure.
    }
    this.#logDone(call, res.status, started);
    const error = errorForResponse(
      { ...call, status: res.status, statusText: res.statusText, headers: res.headers, bodyText },
      { now: Date.now(), exportJobLimitBackoffMs: this.exportJobLimitBackoffMs, redact: this.#redact },
    );
    if (error instanceof RateLimitedError) intercomRateLimited.inc({ scope: error.scope });
    return error;
  }

  /** Waits for the rate-limit window to reset when the last response said nothing is left. */
  async #waitForBudget(call: { method: string; path: string }, signal: AbortSignal | undefined): Promise<void> {
    const waitMs = this.#limits.delayBeforeNextRequest(Date.now(), this.maxRateLimitWaitMs);
    if (waitMs <= 0) return;
    this.#log?.debug({ ...call, waitMs }, 'intercom rate-limit window used up; waiting for reset');
    try {
      await sleep(waitMs, undefined, signal ? { signal } : {});
    } catch {
      throw errorForNoResponse(call.method, call.path, { aborted: true }, this.#redact);
    }
  }

  #url(req: HttpRequest): URL {
    const absolute = /^https?:\/\//i.test(req.path);
    if (absolute && !this.isSameOrigin(req.path)) {
      // The bearer token must never be sent to another host.
      throw new FatalError(`Refusing to send the Intercom token to another origin than ${this.#origin}`);
    }
    const url = new URL(absolute ? req.path : `${this.baseUrl}${req.path}`);
    for (const [key, value] of Object.entries(req.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, value);
    }
    return url;
  }

  #logDone(call: { method: string; path: string }, status: number, started: number): void {
    recordIntercomResponse(call.method, call.path, status, this.#limits.state?.remaining ?? null);
    this.#log?.debug(
      { ...call, status, ms: Date.now() - started, rateLimitRemaining: this.#limits.state?.remaining ?? null },
      'intercom request',
    );
  }

  /** Whatever text came from outside must not carry the token (the one redactor, src/redact.ts). */
  readonly #redact = redactSecrets;
}

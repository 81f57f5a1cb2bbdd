import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from '../../log.js';
import { accepts, notAcceptableMessage } from './accept.js';
import { resolveApiVersion } from './api-version.js';
import type { FailureInjector } from './failure-injector.js';
import { rateLimitHeaders, rateLimitMessage, type RateLimiter } from './rate-limiter.js';
import { defaultErrorFor, sendError } from './responses.js';
import type { Router } from './router.js';

export interface RequestRecord {
  method: string;
  path: string;
  status: number;
  /** When the status line was written, on the fake's clock (ms). */
  at: number;
}

export interface RequestHandlerDeps {
  tokens: ReadonlySet<string>;
  defaultVersion: string;
  limiter: RateLimiter;
  injector: FailureInjector;
  router: Router;
  logger: Logger;
  record(entry: Omit<RequestRecord, 'at'>): void;
}

/** Bodies are small JSON documents; anything bigger is a client bug, not something to buffer. */
const MAX_BODY_BYTES = 1_000_000;

/**
 * The order of checks every request goes through, the same for all endpoint families:
 * auth (401, no rate-limit headers) → request budget (429) → injected failure → Intercom-Version (400)
 * → route (404) → Accept (406) → handler. Everything after auth carries rate-limit headers.
 */
export function createRequestHandler(deps: RequestHandlerDeps) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = (req.method ?? 'GET').toUpperCase();
    // Concatenated, not resolved: a path like `//me` must stay a path, not become a host.
    const url = new URL(`http://fake.invalid${req.url ?? '/'}`);
    const pathname = url.pathname;
    onWriteHead(res, (status) => {
      deps.record({ method, path: pathname, status });
      deps.logger.debug({ method, path: pathname, status }, 'fake intercom request');
    });
    try {
      const body = await readBody(req);
      if (body === undefined) {
        sendError(res, 413, 'parameter_invalid', `Request body larger than ${MAX_BODY_BYTES} bytes`);
        return;
      }

      const token = bearerToken(req.headers.authorization);
      if (token === undefined || !deps.tokens.has(token)) {
        sendError(res, 401, 'unauthorized', 'Access Token Invalid');
        return;
      }

      const budget = deps.limiter.take(token);
      if (!budget.allowed) {
        setHeaders(res, rateLimitHeaders(budget));
        sendError(res, 429, 'rate_limit_exceeded', rateLimitMessage(budget.limit));
        return;
      }

      const injected = deps.injector.take(method, pathname);
      if (injected !== undefined) {
        const { status } = injected;
        if (injected.echoToken) {
          // The adversarial mode, as a misbehaving proxy answers: the credentials come back in the
          // reason phrase and in a plain-text body (no error code to fall back on).
          const auth = req.headers.authorization ?? '';
          const text = `${STATUS_CODES[status] ?? 'Error'} for ${auth}`;
          res.writeHead(status, text, { 'Content-Type': 'text/plain; charset=utf-8' });
          res.end(`${text}\n`);
        } else if (status === 429) {
          const exhausted = deps.limiter.exhausted();
          setHeaders(res, rateLimitHeaders(exhausted));
          if (injected.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(injected.retryAfterSeconds));
          sendError(res, 429, 'rate_limit_exceeded', rateLimitMessage(exhausted.limit));
        } else {
          if (status !== 401) setHeaders(res, rateLimitHeaders(budget)); // Intercom sends none on 401
          const { code, message } = defaultErrorFor(status);
          sendError(res, status, code, message);
        }
        return;
      }
      setHeaders(res, rateLimitHeaders(budget));

      const version = resolveApiVersion(req.headers['intercom-version'], deps.defaultVersion);
      if (!version.ok) {
        sendError(res, 400, 'bad_request', version.message, 'Intercom-Version');
        return;
      }

      const match = deps.router.match(method, pathname);
      if (match === undefined) {
        sendError(res, 404, 'not_found', 'Resource Not Found');
        return;
      }
      if (!accepts(req.headers.accept, match.route.produces)) {
        sendError(res, 406, 'unsupported', notAcceptableMessage(match.route.produces), 'Accept');
        return;
      }

      await match.route.handle({
        method,
        pathname,
        params: match.params,
        query: url.searchParams,
        headers: req.headers,
        body,
        apiVersion: version.version,
        res,
      });
    } catch (err) {
      deps.logger.error({ err, method, path: pathname }, 'fake intercom handler failed');
      if (!res.headersSent) sendError(res, 500, 'server_error', 'Request failed due to an internal error');
      else res.destroy(err instanceof Error ? err : new Error(String(err)));
    }
  };
}

/**
 * Record a response when its status line is written, not on 'finish': a test may read stats() as
 * soon as it has the body, which can be before the server sees the socket write complete, and an
 * aborted download never finishes at all. Every response of the fake goes through writeHead.
 */
function onWriteHead(res: ServerResponse, listener: (status: number) => void): void {
  const writeHead = res.writeHead;
  res.writeHead = ((...args: Parameters<typeof writeHead>) => {
    listener(args[0]);
    return writeHead.apply(res, args);
  }) as typeof writeHead;
}

function bearerToken(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

function setHeaders(res: ServerResponse, headers: Record<string, string>): void {
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';

/** Intercom's error body [2.14 L19839]: every failure answers with an `error.list`. */
export interface ErrorList {
  type: 'error.list';
  request_id: string;
  errors: Array<{ code: string; message: string; field?: string }>;
}

export function errorList(code: string, message: string, field?: string): ErrorList {
  const error = field === undefined ? { code, message } : { code, message, field };
  return { type: 'error.list', request_id: randomUUID(), errors: [error] };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(payload)),
    ...headers,
  });
  res.end(payload);
}

export function sendError(res: ServerResponse, status: number, code: string, message: string, field?: string): void {
  const body = errorList(code, message, field);
  // Intercom echoes the request id as a header too; handy when a test prints a failed response.
  sendJson(res, status, body, { 'X-Request-Id': body.request_id });
}

/** The error code Intercom uses for a bare HTTP status (used by failure injection). */
export function defaultErrorFor(status: number): { code: string; message: string } {
  switch (status) {
    case 400:
      return { code: 'bad_request', message: 'Bad request' };
    case 401:
      return { code: 'unauthorized', message: 'Access Token Invalid' };
    case 403:
      return { code: 'forbidden', message: 'Forbidden' };
    case 404:
      return { code: 'not_found', message: 'Resource Not Found' };
    case 408:
      return { code: 'request_timeout', message: 'Request timed out' };
    case 409:
      return { code: 'conflict', message: 'Conflict' };
    case 422:
      return { code: 'unprocessable_entity', message: 'Unprocessable entity' };
    case 503:
      return { code: 'service_unavailable', message: 'Service Unavailable' };
    default:
      if (status >= 500) return { code: 'server_error', message: 'Request failed due to an internal error' };
      return { code: 'client_error', message: `Request failed with status ${status}` };
  }
}
